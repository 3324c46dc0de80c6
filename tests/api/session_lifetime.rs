//! Sessions end whatever the backend: an absolute lifetime and an idle timeout, carried in the
//! encrypted cookie and enforced by the module; an expired session's server-side row is deleted.
//! (These tests wait for real time to pass: the lifetimes are set to a few seconds.)

use std::time::Duration;

use auth0_actix::auth0::SessionLifetime;
use reqwest::StatusCode;
use url::Url;

use crate::support::{
    location, log_in_at_module_app, spawn_app_with, spawn_module_app, status_with_cookie, Browser,
};

/// A browser logged in at a module-only app (a `from_fn` backend: no server-side record).
async fn logged_in_browser(home: &Url) -> Browser {
    log_in_at_module_app(home).await.0
}

async fn me(browser: &reqwest::Client, home: &Url) -> StatusCode {
    browser
        .get(home.join("/me").unwrap())
        .send()
        .await
        .unwrap()
        .status()
}

#[actix_web::test]
async fn a_session_past_its_absolute_lifetime_is_anonymous_even_when_active() {
    crate::engine!();
    let lifetime = SessionLifetime {
        absolute: Duration::from_secs(3),
        rolling: Duration::from_secs(3600),
    };
    let (home, _tenant) = spawn_module_app(|s| s.session = lifetime).await;
    let browser = logged_in_browser(&home).await;
    // Active all along...
    for _ in 0..4 {
        assert_eq!(me(&browser, &home).await, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // ...and still over after three seconds (the cookie's times are whole seconds).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(me(&browser, &home).await, StatusCode::FOUND);
}

#[actix_web::test]
async fn a_session_left_idle_past_the_rolling_timeout_is_anonymous_and_activity_extends_it() {
    crate::engine!();
    let lifetime = SessionLifetime {
        absolute: Duration::from_secs(3600),
        rolling: Duration::from_secs(2),
    };
    let (home, _tenant) = spawn_module_app(|s| s.session = lifetime).await;
    let browser = logged_in_browser(&home).await;
    // A request every second for five seconds keeps a two-second idle timeout alive.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(me(&browser, &home).await, StatusCode::OK);
    }
    // Idle for longer than that: over.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(me(&browser, &home).await, StatusCode::FOUND);
}

#[actix_web::test]
async fn an_expired_session_loses_its_server_side_row() {
    crate::engine!();
    let app = spawn_app_with(&[("SESSION_ABSOLUTE_DURATION", "2s")]).await;
    app.login_as("ada@example.com").await;
    let copied = app.session_cookie().unwrap();
    let rows = || app.session_rows();
    assert_eq!(rows().await, 1);
    assert!(!app.is_anonymous().await);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(app.is_anonymous().await);
    assert_eq!(rows().await, 0, "the expired session's row is deleted");
    // A copy of the cookie taken before is just as dead.
    assert_eq!(
        status_with_cookie(app.url("/profile"), &copied).await,
        StatusCode::FOUND
    );
}

#[actix_web::test]
async fn bad_lifetimes_are_configuration_errors_naming_the_variable() {
    crate::engine!();
    for (name, value) in [
        ("SESSION_ABSOLUTE_DURATION", "forever"),
        ("SESSION_ROLLING_DURATION", "0"),
        ("SESSION_ROLLING_DURATION", "10w"),
    ] {
        let err =
            auth0_actix::config::Config::from_lookup(&|n| (n == name).then(|| value.to_owned()))
                .err()
                .unwrap_or_else(|| panic!("{name}={value} accepted"));
        assert_eq!(err.variable, name);
    }
}

#[actix_web::test]
async fn with_a_cookie_only_backend_a_cookie_copied_before_logout_is_dead_after_it() {
    crate::engine!();
    // `from_fn` keeps no record of sessions: the module remembers the logouts it saw.
    let (home, _tenant) = spawn_module_app(|_| {}).await;
    let (browser, cookie) = log_in_at_module_app(&home).await;
    let replay = || status_with_cookie(home.join("/me").unwrap(), &cookie);
    assert_eq!(
        replay().await,
        StatusCode::OK,
        "the copy works before logout"
    );
    let csrf = browser
        .get(home.join("/csrf").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logout = browser
        .post(home.join("/logout").unwrap())
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(replay().await, StatusCode::FOUND, "and is dead after it");
}

#[actix_web::test]
async fn a_session_from_another_tenant_sharing_the_key_and_database_is_anonymous() {
    crate::engine!();
    // Staging and production with the same SESSION_KEY and database: a staging login is not a
    // production login.
    let (staging, _t1) = crate::support::spawn_app_with_tenant(&[]).await;
    staging.login_as("ada@example.com").await;
    let cookie = staging.session_cookie().unwrap();
    let (production, _t2) =
        crate::support::spawn_app_with_tenant(&[("DATABASE_URL", &staging.database_url)]).await;
    let at = |app: &crate::support::TestApp| status_with_cookie(app.url("/profile"), &cookie);
    assert_eq!(at(&staging).await, StatusCode::OK, "the control");
    assert_eq!(at(&production).await, StatusCode::FOUND);
}

#[actix_web::test]
async fn after_a_session_expires_the_home_page_lock_login_still_works() {
    crate::engine!();
    let app = spawn_app_with(&[("SESSION_ROLLING_DURATION", "2s")]).await;
    app.login_as("ada@example.com").await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // The first page after expiry drops the user and opens a Lock transaction in one response.
    let config = super::lock::lock_config(&app).await;
    let response = super::lock::co_authenticate(&app, "ada@example.com", "pw").await;
    let ticket: serde_json::Value = response.json().await.unwrap();
    let authorize =
        super::lock::authorize_with_ticket(&app, &config, ticket["login_ticket"].as_str().unwrap());
    let back = location(&app.get_url(&authorize).await);
    let landed = app.get_url(&back).await;
    assert_eq!(
        landed.status(),
        StatusCode::FOUND,
        "{}",
        landed.text().await.unwrap()
    );
    assert_eq!(crate::support::location_str(&landed), "/profile");
}

#[actix_web::test]
async fn a_rolling_timeout_longer_than_the_absolute_lifetime_is_refused() {
    crate::engine!();
    let vars = [
        ("SESSION_ABSOLUTE_DURATION", "1h"),
        ("SESSION_ROLLING_DURATION", "2h"),
    ];
    let err = auth0_actix::config::Config::from_lookup(&|n| {
        vars.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.to_string())
    })
    .err()
    .unwrap();
    assert_eq!(err.variable, "SESSION_ROLLING_DURATION");
}
