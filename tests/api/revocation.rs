//! Server-side revocation: logout kills copied cookies, only the browser that logged out, and a
//! session ended by another process sharing the database ends here too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use auth0_actix::auth0::{
    Auth0Backend, Auth0Profile, AuthUser, BackendError, NewSession, SessionLifetime,
};
use futures_util::future::LocalBoxFuture;
use reqwest::StatusCode;

use crate::support::{
    log_in_at_module_app, session_cookie_set_by, spawn_app, spawn_module_app_with,
    status_with_cookie, Browser,
};

#[actix_web::test]
async fn logout_revokes_a_copied_session_cookie() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app.login_as("ada@example.com").await;
    let copied = session_cookie_set_by(&response).unwrap();
    assert_eq!(
        status_with_cookie(app.url("/profile"), &copied).await,
        StatusCode::OK
    );
    let logout = app.log_out().await;
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(
        status_with_cookie(app.url("/profile"), &copied).await,
        StatusCode::FOUND
    );
    let home = reqwest::Client::new()
        .get(app.url("/"))
        .header("cookie", &copied)
        .send()
        .await
        .unwrap();
    assert!(home.text().await.unwrap().contains(r#"id="anonymous""#));
}

#[actix_web::test]
async fn a_new_login_in_the_same_browser_ends_the_session_it_replaces() {
    crate::engine!();
    let app = spawn_app().await;
    let first = app.login_as("ada@example.com").await;
    let copied = session_cookie_set_by(&first).unwrap();
    let second = app.login_as("bob@example.com").await;
    assert_eq!(second.status(), StatusCode::FOUND);
    assert_eq!(
        status_with_cookie(app.url("/profile"), &copied).await,
        StatusCode::FOUND,
        "the replaced session is over"
    );
    assert!(!app.is_anonymous().await, "the new one lives");
    assert_eq!(app.session_rows().await, 1);
}

#[actix_web::test]
async fn logging_out_one_browser_leaves_the_others_logged_in() {
    crate::engine!();
    let app = spawn_app().await;
    let other = Browser::new();
    app.login_in(&other, "ada@example.com", None).await;
    app.login_as("ada@example.com").await;
    app.log_out().await;
    assert!(app.is_anonymous().await);
    assert!(!app.is_anonymous_in(&other).await);
}

#[actix_web::test]
async fn a_session_ended_by_another_process_ends_here_within_the_cache_ttl() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    assert!(!app.is_anonymous().await);
    // Another process sharing the database logs this session out: its row goes.
    app.execute("DELETE FROM user_sessions").await;
    tokio::time::sleep(auth0_actix::db::SESSION_CACHE_TTL + Duration::from_millis(200)).await;
    assert!(app.is_anonymous().await);
}

/// A backend that counts the sessions it is asked to end.
#[derive(Clone, Default)]
struct CountingBackend {
    logouts: Arc<AtomicUsize>,
}

impl Auth0Backend for CountingBackend {
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        _session: &'a NewSession,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(async move { Ok(profile.sub.clone()) })
    }

    fn logout<'a>(&'a self, _user: &'a AuthUser) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        self.logouts.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[actix_web::test]
async fn a_replayed_logout_or_expired_cookie_reaches_the_backend_once() {
    crate::engine!();
    let backend = CountingBackend::default();
    let lifetime = SessionLifetime {
        absolute: Duration::from_secs(2),
        rolling: Duration::from_secs(2),
    };
    let (home, _tenant) = spawn_module_app_with(backend.clone(), |s| s.session = lifetime).await;
    let post_logout = |cookie: String, csrf: String| {
        let url = home.join("/logout").unwrap();
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(url)
                .header("cookie", cookie)
                .form(&[("csrf", csrf)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // A logout, replayed with the same cookie and token: the backend hears of it once.
    let (browser, cookie) = log_in_at_module_app(&home).await;
    let csrf = csrf_of(&browser, &home).await;
    for _ in 0..3 {
        assert_eq!(
            post_logout(cookie.clone(), csrf.clone()).await,
            StatusCode::FOUND
        );
    }
    assert_eq!(backend.logouts.load(Ordering::SeqCst), 1);
    // An expired cookie, replayed: ended at the backend by the first request only.
    let (_browser, cookie) = log_in_at_module_app(&home).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for _ in 0..3 {
        let status = status_with_cookie(home.join("/me").unwrap(), &cookie).await;
        assert_eq!(status, StatusCode::FOUND);
    }
    assert_eq!(backend.logouts.load(Ordering::SeqCst), 2);
}

async fn csrf_of(browser: &Browser, home: &url::Url) -> String {
    let csrf = browser
        .get(home.join("/csrf").unwrap())
        .send()
        .await
        .unwrap();
    csrf.text().await.unwrap()
}

#[actix_web::test]
async fn a_logout_posted_with_another_tenants_session_does_not_end_it() {
    crate::engine!();
    // Staging and production share SESSION_KEY and the database; a staging cookie (with its own
    // CSRF token) posted to production's logout is not production's to end.
    let (staging, _t1) = crate::support::spawn_app_with_tenant(&[]).await;
    staging.login_as("ada@example.com").await;
    let cookie = staging.session_cookie().unwrap();
    let csrf = staging.csrf_token().await.unwrap();
    let (production, _t2) =
        crate::support::spawn_app_with_tenant(&[("DATABASE_URL", &staging.database_url)]).await;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(production.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "its cookie is cleared there"
    );
    assert_eq!(
        staging.session_rows().await,
        1,
        "staging's session row is still there"
    );
    assert_eq!(
        status_with_cookie(staging.url("/profile"), &cookie).await,
        StatusCode::OK,
        "still logged in at staging"
    );
}
