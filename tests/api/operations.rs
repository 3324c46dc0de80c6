//! What operators need: a request id on every response and on every log line of its request,
//! and logs as JSON lines when asked.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::support::{first_line_matching, spawn_app};

/// How long a started binary may take to say something.
const WAIT: Duration = Duration::from_secs(20);

#[actix_web::test]
async fn every_response_carries_a_request_id() {
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

#[test]
fn with_log_format_json_each_line_is_json_and_carries_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth0-actix"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("BIND_ADDR", addr.to_string())
        .env("DEV_TENANT_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The app says it is ready on stdout.
    let ready = first_line_matching(
        child.stdout.take().unwrap(),
        |l| l.starts_with("Open "),
        WAIT,
    );
    assert!(ready.is_some(), "the app started");
    let response = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: probe-42\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .join()
    .unwrap();
    assert!(response.contains("x-request-id: probe-42"), "{response}");
    let line = first_line_matching(
        child.stderr.take().unwrap(),
        |l| l.contains("probe-42") && l.contains("\"request\""),
        WAIT,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.expect("a log line with the request id");
    let json: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(json["message"], "request", "{line}");
    assert_eq!(json["path"], "/healthz", "{line}");
    assert_eq!(json["span"]["id"], "probe-42", "{line}");
}

#[test]
fn a_bad_log_format_is_a_configuration_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_auth0-actix"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("configuration error: LOG_FORMAT:"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn metrics_count_requests_logins_by_outcome_upstream_calls_and_the_pool() {
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
