//! Transport hardening: over https, HSTS on every response and a `__Host-` session cookie; the
//! request head is capped at 16 KiB, bodies at actix's limit, and wrong methods get 405.

use reqwest::StatusCode;

use crate::support::{spawn_app, spawn_app_with_tenant_at};

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn over_https_the_session_cookie_has_the_host_prefix_and_its_rules() {
    crate::engine!();
    let (app, _tenant) = spawn_app_with_tenant_at("https://app.example/callback", &[]).await;
    let cookies = set_cookies(&app.get("/login").await);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("__Host-auth0_session="))
        .unwrap_or_else(|| panic!("a __Host- session cookie: {cookies:?}"));
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    assert!(!cookies.iter().any(|c| c.starts_with("auth0_session=")));
}

#[actix_web::test]
async fn over_https_every_response_carries_hsts() {
    crate::engine!();
    let (app, _tenant) = spawn_app_with_tenant_at("https://app.example/callback", &[]).await;
    for path in [
        "/",
        "/login",
        "/profile",
        "/static/style.css",
        "/nowhere",
        "/healthz",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            response
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path} ({})",
            response.status()
        );
    }
}

#[actix_web::test]
async fn over_plain_http_on_loopback_there_is_no_hsts_and_no_prefix() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app.get("/login").await;
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
    assert!(set_cookies(&response)
        .iter()
        .any(|c| c.starts_with("auth0_session=") && !c.contains("Secure")));
}

#[actix_web::test]
async fn a_request_head_over_16_kib_gets_431_and_the_server_stays_healthy() {
    crate::engine!();
    let app = spawn_app().await;
    let raw = reqwest::Client::new();
    let with_header = |bytes: usize| {
        raw.get(app.url("/"))
            .header("x-padding", "p".repeat(bytes))
            .send()
    };
    // The control: a large head under the limit is served.
    assert_eq!(
        with_header(15 * 1024).await.unwrap().status(),
        StatusCode::OK
    );
    let response = with_header(17 * 1024).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // Many small headers count too.
    let mut many = raw.get(app.url("/"));
    for i in 0..40 {
        many = many.header(format!("x-h{i}"), "v".repeat(500));
    }
    assert_eq!(
        many.send().await.unwrap().status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn over_https_a_431_carries_hsts_too() {
    crate::engine!();
    let (app, _tenant) = spawn_app_with_tenant_at("https://app.example/callback", &[]).await;
    let response = reqwest::Client::new()
        .get(app.url("/"))
        .header("x-padding", "p".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_some());
}

#[actix_web::test]
async fn oversized_requests_and_wrong_methods_get_4xx_and_the_server_stays_healthy() {
    crate::engine!();
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
