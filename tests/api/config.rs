//! The binary refuses bad configuration with one line naming the variable, no panic.

use std::process::Command;

fn run_with(vars: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth0-actix"));
    command
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap());
    for (k, v) in vars {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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
    let key = "k".repeat(64);
    let (code, stderr) = run_with(&[
        ("AUTH0_DOMAIN", "tenant.auth0.com"),
        ("AUTH0_CLIENT_ID", "c"),
        ("AUTH0_SECRET", "s"),
        ("SESSION_KEY", &key),
        ("BIND_ADDR", "127.0.0.1:0"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("configuration error: AUTH0_CALLBACK_URL:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}
