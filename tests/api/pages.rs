//! Pages, error pages, headers, and what must never be shown (hostile profile data included).

use reqwest::StatusCode;
use serde_json::json;

use crate::support::hostile_idp::{
    callback, spawn_with_hostile_idp_and, start, TokenAnswer, UserinfoAnswer, SUB,
};
use crate::support::{assert_is_redirect_to, session_set_cookie, spawn_app};

#[actix_web::test]
async fn the_home_page_offers_login_to_anonymous_visitors() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<a class="button" id="login" href="/login">Log in</a>"#));
}

#[actix_web::test]
async fn the_home_page_greets_a_logged_in_user_with_name_and_avatar() {
    crate::engine!();
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
    crate::engine!();
    let app = spawn_app().await;
    assert_is_redirect_to(&app.get("/profile").await, "/login?next=%2Fprofile");
}

#[actix_web::test]
async fn the_profile_page_answers_json_clients_with_401() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app
        .browser
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
    crate::engine!();
    let app = spawn_app().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.unwrap();
    assert!(html.contains("Page not found"));
    assert!(html.contains(r#"<link rel="stylesheet" href="/static/style.css">"#));
}

#[actix_web::test]
async fn static_files_are_served() {
    crate::engine!();
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
    crate::engine!();
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
    crate::engine!();
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
    crate::engine!();
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

#[actix_web::test]
async fn authenticated_pages_are_not_cached() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    for path in ["/", "/profile", "/logout"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

#[actix_web::test]
async fn hostile_profile_data_is_escaped_and_stored_byte_for_byte() {
    crate::engine!();
    // From the ID token (the default) and from userinfo (`AUTH0_USERINFO=true`).
    for userinfo in ["false", "true"] {
        let (app, idp) = spawn_with_hostile_idp_and(&[("AUTH0_USERINFO", userinfo)]).await;
        let long_name = "N".repeat(200_000);
        let sql = "Robert'); DROP TABLE user_profiles;--";
        for (picture, expected) in [
            ("javascript:alert(1)", "/static/avatar.svg"),
            ("JaVaScRiPt:alert(1)", "/static/avatar.svg"),
            ("data:image/svg+xml;base64,PHN2Zz4=", "/static/avatar.svg"),
            ("https://cdn.example/a.png", "https://cdn.example/a.png"),
        ] {
            let login = start(&app).await;
            let hostile = json!({
                "sub": SUB,
                "name": "<script>alert(1)</script>",
                "nickname": "<img src=x onerror=alert(1)>",
                "given_name": sql,
                "family_name": long_name,
                "picture": picture,
            });
            let mut claims = idp.claims(&login.nonce);
            if userinfo == "true" {
                idp.answer_userinfo(UserinfoAnswer::Json(hostile));
            } else {
                let object = claims.as_object_mut().unwrap();
                object.extend(hostile.as_object().unwrap().clone());
            }
            idp.answer_token(TokenAnswer::IdToken(idp.rs256(&claims)));
            let response = callback(&app, &login).await;
            assert_eq!(response.status(), StatusCode::FOUND, "userinfo {userinfo}");
            let cookie = session_set_cookie(&response).unwrap();
            assert!(
                cookie.len() < 600,
                "the cookie stays small: {} bytes",
                cookie.len()
            );
            let page = app.get("/profile").await;
            assert_eq!(page.status(), StatusCode::OK);
            let html = page.text().await.unwrap();
            assert!(!html.contains("<script>alert(1)</script>"));
            assert!(!html.contains("<img src=x"));
            assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
            assert!(
                html.contains(&format!(r#"<img class="avatar" src="{expected}""#)),
                "{picture}, userinfo {userinfo}"
            );
        }
        let names = app
            .query_texts(
                "SELECT given_name, family_name FROM user_profiles WHERE sub = $1",
                &[SUB],
            )
            .await;
        assert_eq!(names, [Some(sql.to_owned()), Some(long_name)]);
        assert_eq!(app.profile_rows().await, 1);
        assert_eq!(idp.userinfo_calls(), if userinfo == "true" { 4 } else { 0 });
    }
}
