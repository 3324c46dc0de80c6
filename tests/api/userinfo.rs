//! Userinfo (`AUTH0_USERINFO=true`): after a valid ID token, a userinfo answer for someone else,
//! an error, a hang, an oversized body or claims of the wrong type all fail the login. Without
//! it, the profile is the ID token's claims and userinfo is never called.

use serde_json::json;

use crate::support::hostile_idp::{
    assert_rejected, at_hash, callback, spawn_with_hostile_idp, spawn_with_hostile_idp_and, start,
    TokenAnswer, UserinfoAnswer, ACCESS_TOKEN, CLIENT_ID, SUB,
};

async fn rejects(answer: UserinfoAnswer) {
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    idp.answer_token(TokenAnswer::IdToken(idp.rs256(&idp.claims(&login.nonce))));
    idp.answer_userinfo(answer);
    let response = callback(&app, &login).await;
    assert_rejected(&app, response, &[]).await;
    assert_eq!(idp.userinfo_calls(), 1);
}

#[actix_web::test]
async fn userinfo_for_another_subject_is_rejected() {
    crate::engine!();
    rejects(UserinfoAnswer::Json(
        json!({"sub": "auth0|someone-else", "name": "Mallory"}),
    ))
    .await;
}

#[actix_web::test]
async fn userinfo_401_is_rejected() {
    crate::engine!();
    rejects(UserinfoAnswer::Status(401)).await;
}

#[actix_web::test]
async fn userinfo_500_is_rejected() {
    crate::engine!();
    rejects(UserinfoAnswer::Status(500)).await;
}

#[actix_web::test]
async fn a_hanging_userinfo_endpoint_fails_the_login() {
    crate::engine!();
    rejects(UserinfoAnswer::Hang).await;
}

#[actix_web::test]
async fn an_oversized_userinfo_body_is_rejected() {
    crate::engine!();
    // Valid but for its size: without the cap this login would succeed.
    rejects(UserinfoAnswer::Json(
        json!({"sub": SUB, "padding": "x".repeat(2 * 1024 * 1024)}),
    ))
    .await;
}

#[actix_web::test]
async fn userinfo_claims_of_the_wrong_type_are_rejected() {
    crate::engine!();
    for claims in [
        json!({"sub": SUB, "email_verified": "perhaps"}),
        json!({"sub": SUB, "name": 42}),
        json!({"sub": 7}),
    ] {
        rejects(UserinfoAnswer::Json(claims)).await;
    }
}

#[actix_web::test]
async fn without_auth0_userinfo_the_profile_is_the_id_tokens_and_userinfo_is_not_called() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp_and(&[("AUTH0_USERINFO", "false")]).await;
    let login = start(&app).await;
    // Every protocol claim the profile leaves out, with values the ID token checks accept.
    let mut claims = idp.claims(&login.nonce);
    let now = chrono::Utc::now().timestamp();
    for (name, value) in [
        ("nbf", json!(now - 10)),
        ("at_hash", at_hash(ACCESS_TOKEN)),
        ("c_hash", json!("aGFzaA")),
        ("azp", json!(CLIENT_ID)),
        ("auth_time", json!(now - 10)),
        ("sid", json!("tenant-session")),
        ("jti", json!("token-id")),
    ] {
        claims[name] = value;
    }
    idp.answer_token(TokenAnswer::IdToken(idp.rs256(&claims)));
    // Called, this answer would fail the login (another subject).
    idp.answer_userinfo(UserinfoAnswer::Json(
        json!({"sub": "auth0|someone-else", "name": "Mallory"}),
    ));
    let response = callback(&app, &login).await;
    assert_eq!(response.status(), reqwest::StatusCode::FOUND);
    assert_eq!(idp.userinfo_calls(), 0);
    let profile = app
        .query_texts(
            "SELECT name, email, CAST(claims AS TEXT) FROM user_profiles WHERE sub = $1",
            &[SUB],
        )
        .await;
    let (name, email) = (profile[0].as_deref(), profile[1].as_deref());
    assert_eq!((name, email), (Some("Hostile User"), Some("hostile@example.com")));
    // The stored claims are the profile's, without the ID token's protocol claims.
    let claims: serde_json::Value = serde_json::from_str(profile[2].as_deref().unwrap()).unwrap();
    assert_eq!(claims["sub"], SUB);
    for protocol in [
        "iss",
        "aud",
        "exp",
        "iat",
        "nbf",
        "nonce",
        "at_hash",
        "c_hash",
        "azp",
        "auth_time",
        "sid",
        "jti",
    ] {
        assert!(claims.get(protocol).is_none(), "{protocol} in {claims}");
    }
}
