//! Logs as operators read them: `LOG_FORMAT=json` gives one JSON object per line, carrying the
//! request id; a bad `LOG_FORMAT` stops startup. (The binary on its default SQLite file: logging
//! does not depend on the engine.)

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::first_line_matching;

/// How long a started binary may take to say something.
const WAIT: Duration = Duration::from_secs(20);

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
