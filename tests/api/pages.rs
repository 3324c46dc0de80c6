//! Pages, error pages, headers, and what must never be shown.

use reqwest::StatusCode;

use crate::helpers::{assert_is_redirect_to, spawn_app};

#[actix_web::test]
async fn the_home_page_offers_login_to_anonymous_visitors() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<a class="button" id="login" href="/login">Log in</a>"#));
}

#[actix_web::test]
async fn the_home_page_greets_a_logged_in_user_with_name_and_avatar() {
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("Welcome, ada@example.com"));
    assert!(html.contains("/avatars/A.svg"));
    assert!(html.contains(r#"href="/profile""#));
    assert!(html.contains(r#"href="/logout""#));
}

#[actix_web::test]
async fn the_profile_page_sends_anonymous_visitors_to_log_in() {
    let app = spawn_app().await;
    assert_is_redirect_to(&app.get("/profile").await, "/login?next=%2Fprofile");
}

#[actix_web::test]
async fn the_profile_page_answers_json_clients_with_401() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/profile"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"login_required"}"#
    );
}

#[actix_web::test]
async fn unknown_paths_get_a_404_page_through_the_layout() {
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains(r#"<link rel="stylesheet" href="/static/style.css">"#));
}

#[actix_web::test]
async fn static_files_are_served() {
    let app = spawn_app().await;
    let response = app.get("/static/style.css").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[actix_web::test]
async fn html_responses_carry_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/no/such/page"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(csp.contains("script-src 'self'"), "{path}");
    }
}

#[actix_web::test]
async fn the_client_secret_appears_in_no_page() {
    let app = spawn_app().await;
    let mut pages = Vec::new();
    for path in [
        "/",
        "/logout",
        "/nope",
        "/callback",
        "/callback?error=x&error_description=y",
    ] {
        pages.push(app.get(path).await.text().await.unwrap());
    }
    app.login_as("ada@example.com").await;
    for path in ["/", "/profile", "/logout"] {
        pages.push(app.get(path).await.text().await.unwrap());
    }
    assert!(app.client_secret.len() >= 32);
    for page in pages {
        assert!(!page.contains(&app.client_secret));
    }
}

#[actix_web::test]
async fn a_tampered_session_cookie_is_anonymous_not_an_error() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let response = client
        .get(app.url("/"))
        .header("cookie", "auth0_session=dGFtcGVyZWQ%3D")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains(r#"id="anonymous""#));
}
