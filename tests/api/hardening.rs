//! Web and session hardening: `next`, old logins, cookies, revocation, hostile profile data,
//! oversized requests, and the database under concurrent logins or failing writes.

use std::time::Duration;

use auth0_actix::dev_tenant::DevTenant;
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

use crate::helpers::{assert_is_redirect_to, client, spawn_app};
use crate::hostile_idp::{
    callback, spawn_with_hostile_idp, start, TokenAnswer, UserinfoAnswer, SUB,
};

#[actix_web::test]
async fn a_next_that_could_leave_the_site_falls_back_to_the_success_url() {
    let mut app = spawn_app().await;
    for next in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\/evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "  /profile",
        "\t/profile",
        "/\t/evil.com",
        "/profile\r\nLocation: https://evil.com",
        "/%0d%0aSet-Cookie:x=1",
    ] {
        app.client = client();
        let response = app.login_with_next("ada@example.com", Some(next)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{next:?}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location == "/profile" || location == "/%0d%0aSet-Cookie:x=1",
            "{next:?} led to {location:?}"
        );
    }
}

async fn module_app_with_login_max_age(max_age: Duration) -> (Url, DevTenant) {
    crate::helpers::spawn_module_app(|settings| settings.login_max_age = max_age).await
}

#[actix_web::test]
async fn a_login_older_than_its_lifetime_is_refused() {
    let (home, _tenant) = module_app_with_login_max_age(Duration::from_secs(1)).await;
    let browser = client();
    let start = |b: &reqwest::Client| b.get(home.join("/login").unwrap()).send();
    // In time: accepted (the control).
    let authorize = crate::helpers::location(&start(&browser).await.unwrap());
    let back =
        crate::helpers::submit_tenant_form_in(&browser, &authorize, "ada@example.com", "pw").await;
    assert_is_redirect_to(&browser.get(back).send().await.unwrap(), "/me");
    // Too late: refused, no session.
    let late = client();
    let authorize = crate::helpers::location(&start(&late).await.unwrap());
    let back =
        crate::helpers::submit_tenant_form_in(&late, &authorize, "ada@example.com", "pw").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = late.get(back).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let me = late.get(home.join("/me").unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::FOUND);
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("auth0_session="))
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn status_with_cookie(app: &crate::helpers::TestApp, path: &str, cookie: &str) -> StatusCode {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    response.status()
}

#[actix_web::test]
async fn a_cookie_planted_before_login_is_not_logged_in_afterwards() {
    let app = spawn_app().await;
    // A browser without a cookie store: every cookie is handled by hand, as a browser would.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The attacker gets a session cookie (any visit to /login sets one) and plants it.
    let planted = cookie_value(&session_cookie(&app.get("/login").await).unwrap());
    // The victim starts a login carrying the planted cookie; the app updates it.
    let response = browser
        .get(app.url("/login"))
        .header("cookie", &planted)
        .send()
        .await
        .unwrap();
    let pending = cookie_value(&session_cookie(&response).unwrap());
    let authorize = crate::helpers::location(&response);
    let tenant_browser = client();
    let back = crate::helpers::submit_tenant_form_in(
        &tenant_browser,
        &authorize,
        "victim@example.com",
        "pw",
    )
    .await;
    let done = browser
        .get(back)
        .header("cookie", &pending)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    let logged_in = cookie_value(&session_cookie(&done).expect("a new session cookie at login"));
    assert_eq!(
        status_with_cookie(&app, "/profile", &logged_in).await,
        StatusCode::OK
    );
    // Neither the planted cookie nor the pre-login one is logged in.
    assert_eq!(
        status_with_cookie(&app, "/profile", &planted).await,
        StatusCode::FOUND
    );
    assert_eq!(
        status_with_cookie(&app, "/profile", &pending).await,
        StatusCode::FOUND
    );
}

#[actix_web::test]
async fn a_cookie_from_another_app_key_is_anonymous_with_200() {
    let (one, two) = (spawn_app().await, spawn_app().await);
    let response = one.login_as("ada@example.com").await;
    let cookie = cookie_value(&session_cookie(&response).unwrap());
    assert_eq!(
        status_with_cookie(&one, "/profile", &cookie).await,
        StatusCode::OK
    );
    assert_eq!(status_with_cookie(&two, "/", &cookie).await, StatusCode::OK);
    assert_eq!(
        status_with_cookie(&two, "/profile", &cookie).await,
        StatusCode::FOUND
    );
}

#[actix_web::test]
async fn logout_revokes_a_copied_session_cookie() {
    let app = spawn_app().await;
    let response = app.login_as("ada@example.com").await;
    let copied = cookie_value(&session_cookie(&response).unwrap());
    assert_eq!(
        status_with_cookie(&app, "/profile", &copied).await,
        StatusCode::OK
    );
    let csrf = app.csrf_token().await.unwrap();
    let logout = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FOUND);
    assert_eq!(
        status_with_cookie(&app, "/profile", &copied).await,
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
    let mut app = spawn_app().await;
    let other = client();
    app.login_in(&other, "ada@example.com", None).await;
    app.login_as("ada@example.com").await;
    let csrf = app.csrf_token().await.unwrap();
    app.client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert!(app.is_anonymous().await);
    app.client = other;
    assert!(!app.is_anonymous().await);
}

#[actix_web::test]
async fn authenticated_pages_are_not_cached() {
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
    let (app, idp) = spawn_with_hostile_idp().await;
    let long_name = "N".repeat(200_000);
    let sql = "Robert'); DROP TABLE user_profiles;--";
    for (picture, expected) in [
        ("javascript:alert(1)", "/static/avatar.svg"),
        ("JaVaScRiPt:alert(1)", "/static/avatar.svg"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "/static/avatar.svg"),
        ("https://cdn.example/a.png", "https://cdn.example/a.png"),
    ] {
        let login = start(&app).await;
        idp.answer_token(TokenAnswer::IdToken(idp.rs256(&idp.claims(&login.nonce))));
        idp.answer_userinfo(UserinfoAnswer::Json(json!({
            "sub": SUB,
            "name": "<script>alert(1)</script>",
            "nickname": "<img src=x onerror=alert(1)>",
            "given_name": sql,
            "family_name": long_name,
            "picture": picture,
        })));
        let response = callback(&app, &login).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let cookie = session_cookie(&response).unwrap();
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
            "{picture}"
        );
    }
    let (given, family): (String, String) =
        sqlx::query_as("SELECT given_name, family_name FROM user_profiles WHERE sub = ?1")
            .bind(SUB)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(given, sql);
    assert_eq!(family, long_name);
    assert_eq!(app.profile_rows().await, 1);
}

#[actix_web::test]
async fn oversized_requests_and_wrong_methods_get_4xx_and_the_server_stays_healthy() {
    let app = spawn_app().await;
    let raw = reqwest::Client::new();
    let huge_header = raw
        .get(app.url("/"))
        .header("x-big", "h".repeat(200 * 1024))
        .send()
        .await;
    match huge_header {
        Ok(response) => assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        ),
        Err(e) => panic!("the server should answer 431, not drop the connection: {e}"),
    }
    let huge_body = raw
        .post(app.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", "b".repeat(1024 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge_body.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for (method, path) in [
        ("DELETE", "/"),
        ("PUT", "/login"),
        ("POST", "/profile"),
        ("GET", "/callback2"),
    ] {
        let response = raw
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        let expected = if path == "/callback2" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::METHOD_NOT_ALLOWED
        };
        assert_eq!(response.status(), expected, "{method} {path}");
    }
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn fifty_parallel_logins_of_one_user_make_one_row_counting_fifty() {
    let app = spawn_app().await;
    let logins = (0..50).map(|_| {
        let app = &app;
        async move {
            app.login_in(&client(), "ada@example.com", None)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(logins).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::FOUND),
        "{statuses:?}"
    );
    assert_eq!(app.profile_rows().await, 1);
    assert_eq!(app.login_count("ada@example.com").await, Some(50));
}

#[actix_web::test]
async fn two_hundred_parallel_logins_succeed_while_others_read_their_profiles() {
    let app = spawn_app().await;
    let reader = client();
    app.login_in(&reader, "reader@example.com", None).await;
    let logins = (0..200).map(|i| {
        let app = &app;
        async move {
            let email = format!("user{i}@example.com");
            app.login_in(&client(), &email, None).await.status()
        }
    });
    let reads = (0..200).map(|_| {
        let (app, reader) = (&app, &reader);
        async move {
            reader
                .get(app.url("/profile"))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let (logins, reads) = tokio::join!(
        futures_util::future::join_all(logins),
        futures_util::future::join_all(reads)
    );
    assert!(logins.iter().all(|s| *s == StatusCode::FOUND), "{logins:?}");
    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    assert_eq!(app.profile_rows().await, 201);
}

#[actix_web::test]
async fn a_database_that_cannot_be_written_gives_a_503_page_and_no_session() {
    let app = spawn_app().await;
    for trigger in [
        "CREATE TRIGGER refuse_insert BEFORE INSERT ON user_profiles BEGIN SELECT RAISE(ABORT, 'disk is full'); END",
        "CREATE TRIGGER refuse_update BEFORE UPDATE ON user_profiles BEGIN SELECT RAISE(ABORT, 'disk is full'); END",
    ] {
        sqlx::query(trigger).execute(&app.pool).await.unwrap();
    }
    let response = app.login_as("ada@example.com").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = response.text().await.unwrap();
    assert!(html.contains("could not record the login"), "{html}");
    assert!(app.is_anonymous().await);
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((app.profile_rows().await, sessions), (0, 0));
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
