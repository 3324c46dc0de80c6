//! The embedded Lock widget, Universal Login and pending logins in a real browser: headless
//! Chromium, driven by `tests/browser/*.mjs` (playwright-core), against the app with the dev tenant. Lock is
//! installed from npm at test time (`npm ci --prefix tests/browser && npm run --prefix
//! tests/browser bundle`) and served from its own loopback origin through AUTH0_LOCK_URL.
//!
//! Under CI (`CI=true`) a missing browser or npm install is a failure. On a developer machine
//! the test says on stderr that it skipped and why.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use actix_files::Files;
use actix_web::{App, HttpServer};

use crate::support::{spawn_app_with, TestApp};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Why the browser test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let dir = browser_dir();
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no `node` on PATH".into());
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Some(
            "tests/browser/node_modules is missing (npm ci --prefix tests/browser)".into(),
        );
    }
    if !dir.join("dist/lock.js").exists() {
        return Some("Lock is not bundled (npm run --prefix tests/browser bundle)".into());
    }
    None
}

/// The app (dev tenant, Lock from its own loopback origin) and a browser script run against it:
/// its stdout, once it exited 0. `None` (after saying why) when the prerequisites are missing
/// on a developer machine; under CI that fails the test.
async fn run_browser_script(test: &str, script: &str) -> Option<(TestApp, String)> {
    if let Some(why) = missing_prerequisite() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the browser test cannot run under CI: {why}");
        }
        // Written straight to stderr, past libtest's capture, so the skip is seen.
        let _ = writeln!(std::io::stderr(), "SKIPPED browser::{test}: {why}");
        return None;
    }

    // Lock's bundle on its own origin, like a CDN.
    let dist = browser_dir().join("dist");
    let lock_server = HttpServer::new(move || App::new().service(Files::new("/", dist.clone())))
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
    let lock_port = lock_server.addrs()[0].port();
    actix_web::rt::spawn(lock_server.run());
    let lock_url = format!("http://127.0.0.1:{lock_port}/lock.js");
    let app = spawn_app_with(&[("AUTH0_LOCK_URL", &lock_url)]).await;

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let script = browser_dir().join(script);
    let url = app.address.to_string();
    let shots_arg = shots.clone();
    // Blocking work off the runtime: the app and tenant keep serving while the browser runs.
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(url)
            .arg(shots_arg)
            .current_dir(browser_dir())
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser test failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    Some((app, stdout))
}

#[actix_web::test]
async fn lock_and_universal_login_work_in_a_real_browser() {
    crate::engine!();
    let test = "lock_and_universal_login_work_in_a_real_browser";
    let Some((app, stdout)) = run_browser_script(test, "lock_e2e.mjs").await else {
        return;
    };
    assert!(stdout.contains("6 passed, 0 failed"), "{stdout}");
    // The logins were stored (Universal Login's user logged in from two browsers).
    assert_eq!(app.login_count("lock.user@example.com").await, Some(1));
    assert_eq!(app.login_count("lock.signup@example.com").await, Some(1));
    assert_eq!(app.login_count("universal.user@example.com").await, Some(2));
    // Of the second browser's session, signed out from the first, nothing is left.
    assert_eq!(app.session_rows().await, 0);

    // `UPDATE_SCREENSHOTS=1 cargo test browser` refreshes the README's pictures.
    if std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        for name in ["home-lock", "profile"] {
            std::fs::copy(
                shots.join(format!("{name}.png")),
                docs.join(format!("{name}.png")),
            )
            .unwrap();
        }
    }
}

#[actix_web::test]
async fn pending_logins_survive_many_tabs_long_nexts_and_reloads_in_a_real_browser() {
    crate::engine!();
    let test = "pending_logins_survive_many_tabs_long_nexts_and_reloads_in_a_real_browser";
    let Some((app, stdout)) = run_browser_script(test, "pending_logins.mjs").await else {
        return;
    };
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
    assert_eq!(app.login_count("tabs.user@example.com").await, Some(3));
    assert_eq!(app.login_count("inflight.user@example.com").await, Some(1));
}
