//! ID-token validation (OIDC Core §3.1.3.7): every malformed or forged token is rejected before
//! userinfo is called. The first test proves the hostile IdP's good token is accepted, so the
//! rejections below are not vacuous.

use serde_json::{json, Value};

use crate::support::hostile_idp::{
    accepts_id_token, at_hash, jwt, rejects_id_token, rotated_key, Signer, ACCESS_TOKEN,
    CLIENT_ID, CLIENT_SECRET,
};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The good claims with one change.
fn with(
    idp: &crate::support::hostile_idp::HostileIdp,
    nonce: &str,
    change: impl FnOnce(&mut Value),
) -> String {
    let mut claims = idp.claims(nonce);
    change(&mut claims);
    idp.rs256(&claims)
}

#[actix_web::test]
async fn a_well_formed_token_is_accepted() {
    crate::engine!();
    let app = accepts_id_token(|idp, nonce| idp.rs256(&idp.claims(nonce))).await;
    assert_eq!(app.profile_rows().await, 1);
}

#[actix_web::test]
async fn a_token_expired_within_the_60_second_leeway_is_accepted() {
    crate::engine!();
    accepts_id_token(|idp, nonce| with(idp, nonce, |c| c["exp"] = json!(now() - 30))).await;
}

#[actix_web::test]
async fn a_bad_rs256_signature_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        let token = idp.rs256(&idp.claims(nonce));
        // Flip the first character of the signature.
        let (head, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        format!("{head}.{flipped}{}", &signature[1..])
    })
    .await;
}

#[actix_web::test]
async fn alg_none_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        jwt(
            &json!({ "alg": "none", "typ": "JWT" }),
            &idp.claims(nonce),
            Signer::Unsigned,
        )
    })
    .await;
}

#[actix_web::test]
async fn hs256_signed_with_the_client_secret_is_rejected_though_discovery_lists_it() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        let header = json!({ "alg": "HS256", "typ": "JWT" });
        jwt(
            &header,
            &idp.claims(nonce),
            Signer::Hmac(CLIENT_SECRET.as_bytes()),
        )
    })
    .await;
}

#[actix_web::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        // The classic key-confusion attack: the public key's bytes used as an HMAC secret.
        let public =
            serde_json::to_vec(&auth0_actix::dev_tenant::keys::signing_key().jwks).unwrap();
        let header = json!({ "alg": "HS256", "typ": "JWT", "kid": "dev-tenant-key-1" });
        jwt(&header, &idp.claims(nonce), Signer::Hmac(&public))
    })
    .await;
}

#[actix_web::test]
async fn a_wrong_issuer_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["iss"] = json!("https://evil.example/")))
        .await;
}

#[actix_web::test]
async fn an_issuer_without_the_trailing_slash_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        let iss = idp.issuer().as_str().trim_end_matches('/').to_owned();
        with(idp, nonce, |c| c["iss"] = json!(iss))
    })
    .await;
}

#[actix_web::test]
async fn a_missing_issuer_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            drop(c.as_object_mut().unwrap().remove("iss"))
        })
    })
    .await;
}

#[actix_web::test]
async fn a_wrong_audience_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["aud"] = json!("another-client"))).await;
}

#[actix_web::test]
async fn a_missing_audience_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            drop(c.as_object_mut().unwrap().remove("aud"))
        })
    })
    .await;
}

#[actix_web::test]
async fn several_audiences_without_azp_are_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            c["aud"] = json!([CLIENT_ID, "another-client"])
        })
    })
    .await;
}

#[actix_web::test]
async fn an_azp_that_is_not_our_client_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["azp"] = json!("another-client"))).await;
}

#[actix_web::test]
async fn an_azp_that_is_our_client_is_accepted() {
    crate::engine!();
    accepts_id_token(|idp, nonce| with(idp, nonce, |c| c["azp"] = json!(CLIENT_ID))).await;
}

#[actix_web::test]
async fn a_token_expired_beyond_the_leeway_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["exp"] = json!(now() - 120))).await;
}

#[actix_web::test]
async fn a_missing_exp_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            drop(c.as_object_mut().unwrap().remove("exp"))
        })
    })
    .await;
}

#[actix_web::test]
async fn a_missing_iat_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            drop(c.as_object_mut().unwrap().remove("iat"))
        })
    })
    .await;
}

#[actix_web::test]
async fn an_iat_an_hour_ahead_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["iat"] = json!(now() + 3600))).await;
}

#[actix_web::test]
async fn an_nbf_an_hour_ahead_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["nbf"] = json!(now() + 3600))).await;
}

#[actix_web::test]
async fn a_missing_sub_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            drop(c.as_object_mut().unwrap().remove("sub"))
        })
    })
    .await;
}

#[actix_web::test]
async fn an_empty_sub_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["sub"] = json!(""))).await;
}

#[actix_web::test]
async fn a_missing_nonce_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| {
            drop(c.as_object_mut().unwrap().remove("nonce"))
        })
    })
    .await;
}

#[actix_web::test]
async fn a_wrong_nonce_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| with(idp, nonce, |c| c["nonce"] = json!("another-nonce"))).await;
}

#[actix_web::test]
async fn a_token_signed_by_a_key_the_tenant_does_not_publish_is_rejected() {
    crate::engine!();
    rejects_id_token(|idp, nonce| {
        let header = json!({ "alg": "RS256", "typ": "JWT", "kid": "dev-tenant-key-1" });
        jwt(&header, &idp.claims(nonce), Signer::Rsa(rotated_key()))
    })
    .await;
}

#[actix_web::test]
async fn an_id_token_replayed_from_an_earlier_login_is_rejected() {
    crate::engine!();
    use crate::support::hostile_idp::{
        assert_rejected, callback, spawn_with_hostile_idp, start, TokenAnswer,
    };
    let (app, idp) = spawn_with_hostile_idp().await;
    // A first, good login, whose ID token the attacker keeps.
    let first = start(&app).await;
    let old_token = idp.rs256(&idp.claims(&first.nonce));
    idp.answer_token(TokenAnswer::IdToken(old_token.clone()));
    assert_eq!(callback(&app, &first).await.status(), 302);
    // A fresh browser; its login gets the old token back.
    let app = app.in_a_new_browser();
    app.execute("DELETE FROM user_profiles").await;
    let userinfo_before = idp.userinfo_calls();
    let second = start(&app).await;
    let response = callback(&app, &second).await;
    assert_rejected(&app, response, &[&old_token]).await;
    assert_eq!(idp.userinfo_calls(), userinfo_before);
}

#[actix_web::test]
async fn an_at_hash_of_the_access_token_is_accepted() {
    crate::engine!();
    accepts_id_token(|idp, nonce| with(idp, nonce, |c| c["at_hash"] = at_hash(ACCESS_TOKEN)))
        .await;
}

#[actix_web::test]
async fn an_at_hash_of_another_access_token_is_rejected() {
    crate::engine!();
    // An ID token whose `at_hash` names another access token than the one it came with.
    rejects_id_token(|idp, nonce| {
        with(idp, nonce, |c| c["at_hash"] = at_hash("another-login-s-token"))
    })
    .await;
}
