//! The tenant down, and races with a logout.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::support::{spawn_app, spawn_app_for_domain, status_with_cookie, Browser};

#[actix_web::test]
async fn while_the_tenant_hangs_twenty_logins_get_503_within_one_upstream_timeout() {
    crate::engine!();
    // A tenant that accepts connections and never answers: the kernel completes the handshake
    // (the listener's backlog), nobody reads.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = spawn_app_for_domain(&format!("http://{}", black_hole.local_addr().unwrap())).await;
    let started = Instant::now();
    let logins = (0..20).map(|_| {
        let app = &app;
        async move {
            let response = Browser::new().get(app.url("/login")).send().await.unwrap();
            (response.status(), started.elapsed())
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == StatusCode::SERVICE_UNAVAILABLE),
        "{answers:?}"
    );
    // One upstream timeout (10 s) for all, not one each (200 s): the attempt is shared, and its
    // failure remembered for a few seconds.
    let slowest = answers.iter().map(|(_, took)| *took).max().unwrap();
    assert!(
        slowest < Duration::from_secs(16),
        "the slowest took {slowest:?}"
    );
    // Pages that need no tenant kept answering.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    drop(black_hole);
}

#[actix_web::test]
async fn a_logout_cannot_be_undone_by_requests_that_read_the_session_before_it() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    let cookie = app.session_cookie().expect("logged in");
    // A client with no cookie jar: it sends the copied cookie and nothing else.
    let copied = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = app.csrf_token().await.unwrap();
    // Readers of the same session race the logout; once it is done, none may have put the
    // session back into the cache.
    let readers = (0..50).map(|_| {
        copied
            .get(app.url("/profile"))
            .header("cookie", &cookie)
            .send()
    });
    let logout = app
        .browser
        .post(app.url("/logout"))
        .form(&[("csrf", csrf)])
        .send();
    let (_, logout) = tokio::join!(futures_util::future::join_all(readers), logout);
    assert_eq!(logout.unwrap().status(), StatusCode::FOUND);
    assert_eq!(
        status_with_cookie(app.url("/profile"), &cookie).await,
        StatusCode::FOUND,
        "anonymous at once"
    );
}
