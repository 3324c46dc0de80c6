//! Runs the app: `.env`, logging, configuration, then serve until Ctrl-C or SIGTERM. With the
//! argument `dev-tenant`, runs the local dev tenant alone instead.

use std::process::ExitCode;

use auth0_actix::config::Config;
use auth0_actix::dev_tenant::standalone::{self, StandaloneConfig};
use auth0_actix::startup::{Application, StartupError};
use auth0_actix::telemetry;

#[actix_web::main]
async fn main() -> ExitCode {
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("error: cannot read .env: {e}");
            return ExitCode::from(2);
        }
    }
    let format = match telemetry::LogFormat::from_lookup(&|name| std::env::var(name).ok()) {
        Ok(format) => format,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(format);
    if std::env::args().nth(1).as_deref() == Some("dev-tenant") {
        return run_dev_tenant().await;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e @ StartupError::Config(_)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    println!("Open {} and log in.", app.home_url());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo run -- dev-tenant`: the local dev tenant alone, shared by several apps or instances.
async fn run_dev_tenant() -> ExitCode {
    let config = match StandaloneConfig::from_lookup(&|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    match standalone::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the dev tenant stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
