//! Sessions end whatever the backend: an absolute lifetime and an idle timeout, carried in the
//! encrypted cookie and enforced by the module; an expired session's server-side row is deleted.
//! (These tests wait for real time to pass: the lifetimes are set to a few seconds.)

use std::time::Duration;

use auth0_actix::auth0::SessionLifetime;
use reqwest::StatusCode;
use url::Url;

use crate::helpers::{client, location, spawn_app_with, spawn_module_app, submit_tenant_form_in};

/// A browser logged in at a module-only app (a `from_fn` backend: no server-side record).
async fn logged_in_browser(home: &Url) -> reqwest::Client {
    let browser = client();
    let login = browser
        .get(home.join("/login").unwrap())
        .send()
        .await
        .unwrap();
    let back = submit_tenant_form_in(&browser, &location(&login), "ada@example.com", "pw").await;
    assert_eq!(
        browser.get(back).send().await.unwrap().status(),
        StatusCode::FOUND
    );
    browser
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
    let app = spawn_app_with(&[("SESSION_ABSOLUTE_DURATION", "2s")]).await;
    app.login_as("ada@example.com").await;
    let copied = app.session_cookie().unwrap();
    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM user_sessions")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(rows().await, 1);
    assert!(!app.is_anonymous().await);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(app.is_anonymous().await);
    assert_eq!(rows().await, 0, "the expired session's row is deleted");
    // A copy of the cookie taken before is just as dead.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/profile"))
        .header("cookie", copied)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[actix_web::test]
async fn bad_lifetimes_are_configuration_errors_naming_the_variable() {
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
