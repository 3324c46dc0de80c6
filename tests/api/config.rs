//! The binary refuses bad configuration with one line naming the variable, no panic.

use std::process::Command;

/// Runs the binary with only `vars` set; its exit code and stderr. A binary that is still running
/// after 10 s (it started serving instead of refusing) is killed and reported as such.
fn run_with(vars: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth0-actix"));
    command
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in vars {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            let stderr = reader.join().unwrap();
            panic!("{vars:?}: the app started instead of refusing to:\n{stderr}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (code, reader.join().unwrap())
}

#[test]
fn a_bad_variable_stops_startup_with_a_line_naming_it() {
    for (vars, name) in [
        (
            vec![("AUTH0_DOMAIN", "http://tenant.example.com")],
            "AUTH0_DOMAIN",
        ),
        (
            vec![("AUTH0_DOMAIN", "tenant.auth0.com")],
            "AUTH0_CLIENT_ID",
        ),
        (
            vec![
                ("AUTH0_DOMAIN", "tenant.auth0.com"),
                ("AUTH0_CLIENT_ID", "c"),
            ],
            "AUTH0_SECRET",
        ),
        (
            vec![
                ("AUTH0_DOMAIN", "tenant.auth0.com"),
                ("AUTH0_CLIENT_ID", "c"),
                ("AUTH0_SECRET", "s"),
                ("AUTH0_CALLBACK_URL", "https://app.example/callback"),
            ],
            "SESSION_KEY",
        ),
        (vec![("PORT", "eighty")], "PORT"),
        (vec![("SESSION_KEY", "too-short")], "SESSION_KEY"),
        (
            vec![("AUTH0_SUCCESS_URL", "https://evil.example/")],
            "AUTH0_SUCCESS_URL",
        ),
    ] {
        let (code, stderr) = run_with(&vars);
        assert_eq!(code, 2, "{vars:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("configuration error: {name}:")),
            "{vars:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn a_missing_callback_url_with_a_real_tenant_is_named() {
    let (code, stderr) = run_with(&[
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_CLIENT_ID", "c"),
        ("AUTH0_SECRET", "s"),
        ("SESSION_KEY", crate::support::TEST_SESSION_KEY),
        ("BIND_ADDR", "127.0.0.1:0"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("configuration error: AUTH0_CALLBACK_URL:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn a_blank_domain_beside_real_tenant_settings_never_starts_the_dev_tenant() {
    for domain in ["", "   "] {
        let (code, stderr) = run_with(&[
            ("AUTH0_DOMAIN", domain),
            ("AUTH0_CLIENT_ID", "client"),
            ("AUTH0_SECRET", "secret"),
            ("AUTH0_CALLBACK_URL", "https://app.example.com/callback"),
            ("SESSION_KEY", crate::support::TEST_SESSION_KEY),
            ("BIND_ADDR", "127.0.0.1:0"),
        ]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.starts_with("configuration error: AUTH0_DOMAIN:"),
            "{stderr}"
        );
        assert!(!stderr.contains("DEVELOPMENT TENANT"), "{stderr}");
    }
}

#[test]
fn the_dev_tenant_refuses_an_address_other_machines_can_reach() {
    let (code, stderr) = run_with(&[("BIND_ADDR", "0.0.0.0:0")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("configuration error: BIND_ADDR:"),
        "{stderr}"
    );
}

#[test]
fn startup_logs_the_address_bound_apart_from_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth0-actix"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DEV_TENANT_ADDR", "127.0.0.1:0")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let line = crate::support::first_line_matching(
        child.stderr.take().unwrap(),
        |l| l.contains("; public URL"),
        std::time::Duration::from_secs(20),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.expect("a `listening on` line");
    let bound = line
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    let addr: std::net::SocketAddr = bound.parse().unwrap_or_else(|_| panic!("{line}"));
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{line}");
    assert!(
        line.contains(&format!("public URL http://{addr}/")),
        "{line}"
    );
}

#[test]
fn the_env_example_parses_and_means_the_dev_tenant() {
    // Copying .env.example to .env must give a working app, not a parse error (dotenvy refuses
    // unquoted values with spaces) nor a tenant configuration error.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example");
    let vars: std::collections::HashMap<String, String> = dotenvy::from_path_iter(&path)
        .expect(".env.example is readable")
        .map(|item| item.expect(".env.example parses"))
        .collect();
    let config = auth0_actix::config::Config::from_lookup(&|name| vars.get(name).cloned())
        .expect(".env.example is a valid configuration");
    assert!(config.tenant.is_none(), "no tenant setting is filled in");
}
