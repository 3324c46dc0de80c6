//! What operators need: a request id on every response and on every log line of its request,
//! and Prometheus metrics (`logging.rs` has the JSON log lines).

use reqwest::StatusCode;

use crate::support::spawn_app;

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    crate::engine!();
    let app = spawn_app().await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for path in ["/", "/login", "/nowhere", "/static/style.css", "/healthz"] {
        let response = raw.get(app.url(path)).send().await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 24, "{path}: {id}");
        assert!(seen.insert(id), "a new id for each request");
    }
    let too_large = raw
        .get(app.url("/"))
        .header("x-padding", "p".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        too_large.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert!(too_large.headers().contains_key("x-request-id"));
}

#[actix_web::test]
async fn a_sane_request_id_from_the_proxy_is_kept_and_any_other_replaced() {
    crate::engine!();
    let app = spawn_app().await;
    let with_id = |id: &'static str| {
        reqwest::Client::new()
            .get(app.url("/healthz"))
            .header("x-request-id", id)
            .send()
    };
    let kept = with_id("nginx-7f3a.9_b").await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "nginx-7f3a.9_b");
    for insane in ["has spaces", "quote\"d", "x=1;y=2"] {
        let replaced = with_id(insane).await.unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, insane);
        assert_eq!(id.len(), 24);
    }
}

#[actix_web::test]
async fn metrics_count_requests_logins_by_outcome_upstream_calls_and_the_pool() {
    crate::engine!();
    let app = crate::support::spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let metrics = app.metrics.clone().expect("metrics are served");
    assert_ne!(
        metrics.port(),
        app.address.port(),
        "on a listener of their own"
    );
    app.login_as("ada@example.com").await;
    assert_eq!(app.get("/profile").await.status(), StatusCode::OK);
    // A refused login: a callback with a state this browser never started.
    app.get("/callback?state=forged&code=x").await;
    let body = reqwest::get(metrics).await.unwrap().text().await.unwrap();
    for expected in [
        r#"auth0_logins_total{outcome="success"}"#,
        r#"auth0_logins_total{outcome="unknown_state"}"#,
        r#"http_requests_total{route="/profile",method="GET",status="200"}"#,
        r#"http_request_duration_seconds_bucket{route="/profile",method="GET",status="200""#,
        r#"auth0_upstream_duration_seconds_bucket{endpoint="/oauth/token",outcome="ok""#,
        r#"db_pool_connections{state="idle"}"#,
    ] {
        assert!(body.contains(expected), "{expected} in:\n{body}");
    }
    // Routes, never raw paths: a label per URL would grow without bound.
    app.get("/nowhere-1").await;
    let body = reqwest::get(app.metrics.clone().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("nowhere-1"), "{body}");
    assert!(
        app.get("/metrics").await.status().is_client_error(),
        "not on the public port"
    );
}
