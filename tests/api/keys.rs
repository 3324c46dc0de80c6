//! Signing keys: rotation is followed (one JWKS refetch), unknown key ids cannot force a refetch
//! per token, and a failing JWKS endpoint rejects the login without taking the app down.

use serde_json::json;

use crate::support::hostile_idp::{
    assert_rejected, callback, jwt, rotated_key, spawn_with_hostile_idp, start, Signer, TokenAnswer,
};

#[actix_web::test]
async fn after_a_key_rotation_one_refetch_lets_the_login_through() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp().await;
    // Discovery has fetched the old key set once.
    let login = start(&app).await;
    let before = idp.jwks_calls();
    assert_eq!(before, 1);
    // The tenant rotates: a new key with a new kid, and only it is published.
    idp.publish_keys(Some(rotated_key()));
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "rotated-key-2" });
    idp.answer_token(TokenAnswer::IdToken(jwt(
        &header,
        &idp.claims(&login.nonce),
        Signer::Rsa(rotated_key()),
    )));
    let response = callback(&app, &login).await;
    assert_eq!(response.status(), 302, "{}", response.text().await.unwrap());
    assert_eq!(idp.jwks_calls(), before + 1, "exactly one refetch");
    assert!(!app.is_anonymous().await);
}

#[actix_web::test]
async fn tokens_with_random_unknown_kids_refetch_the_key_set_at_most_once_per_cooldown() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp().await;
    let mut logins = Vec::new();
    for _ in 0..6 {
        logins.push(start(&app).await);
    }
    let before = idp.jwks_calls();
    let mut browsers = Vec::new();
    for (i, login) in logins.iter().enumerate() {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": format!("random-kid-{i}") });
        let token = jwt(
            &header,
            &idp.claims(&login.nonce),
            Signer::Rsa(rotated_key()),
        );
        idp.answer_token(TokenAnswer::IdToken(token));
        browsers.push(callback(&app, login).await.status());
    }
    assert!(
        browsers
            .iter()
            .all(|s| s.is_client_error() || s.is_server_error()),
        "{browsers:?}"
    );
    assert!(
        idp.jwks_calls() - before <= 1,
        "{} refetches",
        idp.jwks_calls() - before
    );
}

#[actix_web::test]
async fn a_failing_jwks_endpoint_rejects_the_login_and_the_app_stays_up() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    idp.publish_keys(None);
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "rotated-key-2" });
    let token = jwt(
        &header,
        &idp.claims(&login.nonce),
        Signer::Rsa(rotated_key()),
    );
    idp.answer_token(TokenAnswer::IdToken(token.clone()));
    let response = callback(&app, &login).await;
    assert_rejected(&app, response, &[&token]).await;
    assert_eq!(idp.userinfo_calls(), 0);
    assert_eq!(app.get("/healthz").await.status(), 200);
}
