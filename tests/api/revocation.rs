//! Server-side revocation: logout kills copied cookies, only the browser that logged out, and a
//! session ended by another process sharing the database ends here too.

use std::time::Duration;

use reqwest::StatusCode;

use crate::support::{session_cookie_set_by, spawn_app, status_with_cookie, Browser};

#[actix_web::test]
async fn logout_revokes_a_copied_session_cookie() {
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
async fn logging_out_one_browser_leaves_the_others_logged_in() {
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
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    assert!(!app.is_anonymous().await);
    // Another process sharing the database logs this session out: its row goes.
    sqlx::query("DELETE FROM user_sessions")
        .execute(&app.pool)
        .await
        .unwrap();
    tokio::time::sleep(auth0_actix::db::SESSION_CACHE_TTL + Duration::from_millis(200)).await;
    assert!(app.is_anonymous().await);
}
