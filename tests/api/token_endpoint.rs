//! The code exchange: a failing, lying, huge, redirecting or hanging token endpoint fails the
//! login cleanly.

use std::time::Duration;

use serde_json::json;

use crate::support::hostile_idp::{
    assert_rejected, callback, spawn_with_hostile_idp, start, token_response, TokenAnswer,
};

async fn rejects(
    answer: impl FnOnce(&crate::support::hostile_idp::HostileIdp, &str) -> TokenAnswer,
) {
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    idp.answer_token(answer(&idp, &login.nonce));
    let response = callback(&app, &login).await;
    assert_rejected(&app, response, &[]).await;
    assert_eq!(idp.userinfo_calls(), 0);
}

#[actix_web::test]
async fn a_500_from_the_token_endpoint_is_rejected() {
    crate::engine!();
    rejects(|_, _| TokenAnswer::Status(500, "oops".into())).await;
}

#[actix_web::test]
async fn invalid_grant_is_rejected() {
    crate::engine!();
    rejects(|_, _| {
        TokenAnswer::Status(
            403,
            json!({"error": "invalid_grant", "error_description": "Invalid authorization code"})
                .to_string(),
        )
    })
    .await;
}

#[actix_web::test]
async fn a_non_json_body_is_rejected() {
    crate::engine!();
    rejects(|_, _| TokenAnswer::Status(200, "<html>not json</html>".into())).await;
}

#[actix_web::test]
async fn a_response_without_an_id_token_is_rejected() {
    crate::engine!();
    rejects(|_, _| TokenAnswer::Json(json!({"access_token": "x", "token_type": "Bearer"}))).await;
}

#[actix_web::test]
async fn a_10_mb_response_is_cut_off_and_rejected() {
    crate::engine!();
    // Valid in every other way: without the size cap this login would succeed.
    rejects(|idp, nonce| {
        let mut body = token_response(&idp.rs256(&idp.claims(nonce)));
        body["padding"] = json!("x".repeat(10 * 1024 * 1024));
        TokenAnswer::Json(body)
    })
    .await;
}

#[actix_web::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    // Where the redirect leads, a valid answer waits: following it would log the user in.
    idp.answer_token(TokenAnswer::Redirect(idp.rs256(&idp.claims(&login.nonce))));
    let response = callback(&app, &login).await;
    assert_rejected(&app, response, &[]).await;
    assert_eq!(
        idp.calls()
            .token_elsewhere
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[actix_web::test]
async fn a_hanging_token_endpoint_fails_the_login_while_other_pages_answer() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    idp.answer_token(TokenAnswer::Hang);
    let other = crate::support::Browser::new();
    let home = app.url("/");
    let (response, pages) = tokio::join!(callback(&app, &login), async {
        // While the callback waits on the tenant, another visitor's pages still load.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let page = other
                .get(home.clone())
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            statuses.push(page.map(|r| r.status().as_u16()).unwrap_or(0));
        }
        statuses
    });
    assert_eq!(pages, vec![200; 5]);
    assert_rejected(&app, response, &[]).await;
}

#[actix_web::test]
async fn a_callback_with_an_unknown_state_makes_no_network_call() {
    crate::engine!();
    // The state is checked before anything else: a forged callback never reaches the tenant,
    // even when the tenant would answer with a valid token.
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    idp.answer_token(TokenAnswer::IdToken(idp.rs256(&idp.claims(&login.nonce))));
    let forged = crate::support::hostile_idp::StartedLogin {
        state: "forged-state".into(),
        nonce: login.nonce.clone(),
    };
    let response = callback(&app, &forged).await;
    assert_rejected(&app, response, &[]).await;
    assert_eq!(
        idp.calls().token.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}
