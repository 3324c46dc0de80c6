//! Runs the app: `.env`, logging, configuration, then serve until Ctrl-C.

use std::process::ExitCode;

use auth0_actix::config::Config;
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
