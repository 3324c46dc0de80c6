//! `cargo run -- dev-tenant`: one local tenant, served on its own, that several apps (or
//! instances of one) log in through.

use std::net::TcpListener;
use std::process::Command;

use crate::support::processes::standalone_tenant;
use crate::support::{assert_is_redirect_to, spawn_app_for_tenant, TenantClient};

#[actix_web::test]
async fn two_apps_log_in_through_one_standalone_tenant_which_stops_on_sigterm() {
    // Outside the per-engine suite: SQLite (the tenant does not depend on the engine).
    crate::engine!();
    let apps = [
        TcpListener::bind("127.0.0.1:0").unwrap(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
    ];
    let callbacks: Vec<String> = apps
        .iter()
        .map(|l| format!("http://{}/callback", l.local_addr().unwrap()))
        .collect();
    let (tenant, printed) = standalone_tenant(&callbacks).await;
    assert!(
        printed["AUTH0_DOMAIN"].starts_with("http://127.0.0.1:"),
        "{printed:?}"
    );
    let client = TenantClient {
        domain: &printed["AUTH0_DOMAIN"],
        client_id: &printed["AUTH0_CLIENT_ID"],
        client_secret: &printed["AUTH0_SECRET"],
    };
    let [first, second] = apps;
    let one = spawn_app_for_tenant(first, &client, &callbacks[0], &[]).await;
    let two = spawn_app_for_tenant(second, &client, &callbacks[1], &[]).await;
    for app in [&one, &two] {
        assert_is_redirect_to(&app.login_as("ada@example.com").await, "/profile");
        assert_eq!(app.login_count("ada@example.com").await, Some(1));
    }

    tenant.terminate();
    assert_eq!(tenant.exit_code().await, Some(0));
}

#[test]
fn the_standalone_tenant_refuses_an_address_other_machines_can_reach() {
    let output = Command::new(env!("CARGO_BIN_EXE_auth0-actix"))
        .arg("dev-tenant")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("DEV_TENANT_ADDR", "0.0.0.0:4000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("configuration error: DEV_TENANT_ADDR:"),
        "{stderr}"
    );
}
