//! Calling an API as the user: the login's tokens kept server-side (sealed), `/messages` calling
//! the app's API with them, one refresh for many requests, rotation, a refused refresh ending the
//! session, an outage keeping it, logout revoking the refresh token, and `/userinfo`'s rate limit.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::{spawn_app_with_tenant, TestApp};
use crate::support::browser::{location, Browser};
use crate::support::hostile_idp::{self, spawn_with_hostile_idp_and, TokenAnswer};
use auth0_actix::dev_tenant::DevTenant;

const AUDIENCE: &str = "https://api.example/messages";
const SCOPE: &str = "openid profile email offline_access";

async fn spawn() -> (TestApp, DevTenant) {
    spawn_app_with_tenant(&[("AUTH0_AUDIENCE", AUDIENCE), ("AUTH0_SCOPE", SCOPE)]).await
}

/// Logs `email` in through the tenant's form, with the admin box ticked or not.
async fn log_in(app: &TestApp, browser: &Browser, email: &str, admin: bool) {
    let authorize = app.start_login_in(browser, None).await;
    let mut fields = vec![("email", email), ("password", "pw"), ("action", "login")];
    if admin {
        fields.push(("admin", "on"));
    }
    let answer = browser.post_tenant_form(&authorize, &fields).await;
    assert_eq!(answer.status(), StatusCode::FOUND);
    let landed = browser.get(location(&answer)).send().await.unwrap();
    assert_eq!(landed.status(), StatusCode::FOUND, "the callback logs in");
}

async fn messages(app: &TestApp, browser: &Browser) -> (StatusCode, String) {
    let response = browser.get(app.url("/messages")).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[track_caller]
fn assert_shows(body: &str, name: &str, status: &str) {
    let marker = format!("id=\"status-{name}\">{status}");
    assert!(body.contains(&marker), "{marker} not in {body}");
}

#[actix_web::test]
async fn messages_calls_the_api_with_the_users_token_which_stays_on_the_server() {
    crate::engine!();
    let (app, _tenant) = spawn().await;
    let browser = Browser::new();
    log_in(&app, &browser, "reader@example.com", false).await;
    let (status, body) = messages(&app, &browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_shows(&body, "protected", "200 OK");
    assert!(body.contains("This is a protected message."), "{body}");
    assert_shows(&body, "admin", "403 Forbidden");
    assert!(body.contains("insufficient_scope"), "{body}");

    // Kept server-side, one row for the session (sealed: see `auth0::tokens`' tests); the cookie
    // holds no token (a JWT starts `eyJ`).
    let rows = app
        .query_texts("SELECT session_id FROM session_tokens", &[])
        .await;
    assert_eq!(rows.len(), 1);
    let cookie = browser.session_cookie(&app.address).unwrap();
    assert!(!cookie.contains("eyJ"));
    assert!(!body.contains("eyJ"), "the page never shows the token");
}

#[actix_web::test]
async fn an_admin_login_reads_the_admin_message() {
    crate::engine!();
    let (app, _tenant) = spawn().await;
    let browser = Browser::new();
    log_in(&app, &browser, "admin@example.com", true).await;
    let (status, body) = messages(&app, &browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_shows(&body, "admin", "200 OK");
    assert!(body.contains("This is an admin message."), "{body}");
}

#[actix_web::test]
async fn anonymous_visitors_go_to_log_in_and_without_an_audience_the_page_says_what_to_set() {
    crate::engine!();
    let (app, _tenant) = spawn().await;
    let response = Browser::new().get(app.url("/messages")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).as_str().contains("/login?next=%2Fmessages"));

    let (plain, _tenant) = spawn_app_with_tenant(&[]).await;
    let browser = Browser::new();
    log_in(&plain, &browser, "plain@example.com", false).await;
    let (status, body) = messages(&plain, &browser).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"no-audience\""), "{body}");
}

#[actix_web::test]
async fn twenty_concurrent_requests_with_an_expiring_token_make_one_refresh() {
    crate::engine!();
    let (app, tenant) = spawn().await;
    // Tokens that live 30 s are inside the 60 s refresh margin from the start.
    tenant.set_access_token_ttl(Duration::from_secs(30));
    let browser = Browser::new();
    log_in(&app, &browser, "busy@example.com", false).await;
    assert_eq!(tenant.stats().refresh, 0);
    // The refresh will give an hour.
    tenant.set_access_token_ttl(Duration::from_secs(3600));
    let requests = (0..20).map(|_| messages(&app, &browser));
    for (status, body) in futures_util::future::join_all(requests).await {
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_shows(&body, "protected", "200 OK");
    }
    assert_eq!(tenant.stats().refresh, 1, "one refresh grant for 20 requests");
}

#[actix_web::test]
async fn each_refresh_uses_the_rotated_refresh_token() {
    crate::engine!();
    let (app, tenant) = spawn().await;
    // Every token is inside the refresh margin: each page refreshes.
    tenant.set_access_token_ttl(Duration::from_secs(30));
    let browser = Browser::new();
    log_in(&app, &browser, "rotating@example.com", false).await;
    for round in 1..=3 {
        let (status, body) = messages(&app, &browser).await;
        assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        assert_shows(&body, "protected", "200 OK");
    }
    assert_eq!(tenant.stats().refresh, 3);
    // Presenting a retired refresh token again would have revoked the family (reuse detection)
    // and ended the session.
    assert_eq!(tenant.revoked_refresh_families(), 0, "no reuse was detected");
    assert!(!app.is_anonymous_in(&browser).await);
}

#[actix_web::test]
async fn a_refresh_the_tenant_refuses_ends_the_session_with_a_clear_page() {
    crate::engine!();
    let (app, tenant) = spawn().await;
    tenant.set_access_token_ttl(Duration::from_secs(30));
    let browser = Browser::new();
    log_in(&app, &browser, "revoked@example.com", false).await;
    let copied = browser.session_cookie(&app.address).unwrap();
    tenant.revoke_all_refresh_tokens();
    let (status, body) = messages(&app, &browser).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("Your session has ended"), "{body}");
    assert!(app.is_anonymous_in(&browser).await);
    // The session is over everywhere: a copy of the cookie is anonymous too.
    let profile = crate::support::browser::status_with_cookie(app.url("/profile"), &copied).await;
    assert_eq!(profile, StatusCode::FOUND);
    assert_eq!(app.session_rows().await, 0);
}

/// A login at the scripted IdP whose access token (30 s) is already inside the refresh margin.
async fn hostile_login_with_an_expiring_token() -> (TestApp, hostile_idp::HostileIdp) {
    let (app, idp) =
        spawn_with_hostile_idp_and(&[("AUTH0_AUDIENCE", AUDIENCE), ("AUTH0_SCOPE", SCOPE)]).await;
    let login = hostile_idp::start(&app).await;
    let id_token = idp.rs256(&idp.claims(&login.nonce));
    idp.answer_token(TokenAnswer::Json(json!({
        "access_token": "opaque-access-token",
        "refresh_token": "opaque-refresh-token",
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": 30,
    })));
    let landed = hostile_idp::callback(&app, &login).await;
    assert_eq!(landed.status(), StatusCode::FOUND);
    (app, idp)
}

#[actix_web::test]
async fn a_tenant_that_cannot_refresh_gives_a_503_and_keeps_the_session() {
    crate::engine!();
    let (app, idp) = hostile_login_with_an_expiring_token().await;
    for outage in [
        TokenAnswer::Status(503, "<html>down</html>".into()),
        TokenAnswer::Status(
            500,
            json!({ "error": "server_error" }).to_string(),
        ),
    ] {
        idp.answer_token(outage);
        let response = app.get("/messages").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = response.text().await.unwrap();
        assert!(body.contains("still logged in"), "{body}");
        assert!(!body.contains("opaque-refresh-token"));
        assert!(!app.is_anonymous().await, "the session is kept");
    }
}

#[actix_web::test]
async fn a_refresh_the_tenants_actions_deny_ends_the_session() {
    crate::engine!();
    let (app, idp) = hostile_login_with_an_expiring_token().await;
    idp.answer_token(TokenAnswer::Status(
        403,
        json!({ "error": "access_denied", "error_description": "blocked" }).to_string(),
    ));
    let response = app.get("/messages").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("Your session has ended"));
    assert!(app.is_anonymous().await);
    assert_eq!(app.session_rows().await, 0);
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token_at_the_tenant() {
    crate::engine!();
    let (app, tenant) = spawn().await;
    log_in(&app, &app.browser, "leaving@example.com", false).await;
    assert_eq!(tenant.revoked_refresh_families(), 0);
    let response = app.log_out().await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(tenant.stats().revoke, 1);
    assert_eq!(tenant.revoked_refresh_families(), 1, "the login's family is revoked");
}

#[actix_web::test]
async fn fifty_concurrent_logins_of_one_user_pass_userinfos_rate_limit() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant_limited().await;
    let logins = (0..50).map(|_| async {
        let browser = Browser::new();
        log_in(&app, &browser, "popular@example.com", false).await;
    });
    futures_util::future::join_all(logins).await;
    assert_eq!(app.login_count("popular@example.com").await, Some(50));
    assert_eq!(tenant.stats().userinfo, 50, "each login asked");
    // Most were refused (5 a minute), and the profile still has its claims (from the ID token).
    let emails = app
        .query_texts("SELECT email FROM user_profiles", &[])
        .await;
    assert_eq!(emails, vec![Some("popular@example.com".to_owned())]);
}

/// An app that calls `/userinfo` (`AUTH0_USERINFO=true`), whose tenant limits it to 5 calls a
/// minute per user, as Auth0 does.
async fn spawn_app_with_tenant_limited() -> (TestApp, DevTenant) {
    crate::support::app::spawn_app_with_tenant_setup(
        "/callback",
        &[("AUTH0_USERINFO", "true")],
        |registration| registration.userinfo_per_minute = Some(5),
    )
    .await
}

#[actix_web::test]
async fn a_slow_tenant_refreshing_many_sessions_leaves_the_database_to_the_other_pages() {
    crate::engine!();
    let (app, tenant) = spawn().await;
    tenant.set_access_token_ttl(Duration::from_secs(30));
    let mut browsers = Vec::new();
    for i in 0..10 {
        let browser = Browser::new();
        log_in(&app, &browser, &format!("slow{i}@example.com"), false).await;
        browsers.push(browser);
    }
    // Each refresh takes 6 s: on Postgres it holds the token row's lock, and a connection.
    tenant.set_refresh_delay(Duration::from_secs(6));
    let refreshing = futures_util::future::join_all(browsers.iter().map(|b| messages(&app, b)));
    let meanwhile = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while tenant.stats().refresh < auth0_actix::auth0::MAX_CONCURRENT_REFRESHES as u64 {
            assert!(std::time::Instant::now() < deadline, "the refreshes started");
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        // While those wait on the tenant, pages that need the database still get it at once.
        let started = std::time::Instant::now();
        let health = app.get("/healthz").await;
        let login = Browser::new();
        log_in(&app, &login, "bystander@example.com", false).await;
        (health.status(), started.elapsed())
    };
    let (answers, (health, took)) = futures_util::future::join(refreshing, meanwhile).await;
    assert_eq!(health, StatusCode::OK);
    assert!(took < Duration::from_secs(2), "{took:?}");
    for (status, body) in answers {
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}: {body}"
        );
    }
}
