//! The benchmark: pages and logins measured against the server's own limit.
//!
//! ```sh
//! cargo run --release --example bench            # full run (~1 minute), writes BENCHMARKS.md
//! cargo run --release --example bench -- --quick # under 30 s: checks it runs without errors
//! ```
//!
//! Built in release by that command, it starts the app (dev tenant, a fresh SQLite file,
//! `RUST_LOG=warn`) as its own process, and measures with wrk (Debian's `wrk`), 64 connections, after a warm-up:
//! 1. the limit: the same server serving a static file with the bytes of the rendered home page;
//! 2. `GET /` anonymous (with the Lock widget and its login transaction);
//! 3. `GET /profile` logged in (session lookup in SQLite + profile read);
//! 4. full logins through the dev tenant over HTTP (login, authorize, form, callback, profile),
//!    16 at a time, driven from this process with reqwest.
//!
//! The server and the load generators share this machine's cores: requests/s are relative. The
//! app's own CPU time per request and per login (from `/proc/PID/stat`, user + system) does not
//! depend on what the load generator takes; a login's includes the embedded dev tenant's work
//! (it runs in the app's process).

mod logins;
mod report;
mod server;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::Duration;

use server::Server;

/// wrk's connections.
const CONNECTIONS: u32 = 64;
/// Logins in flight at once.
const LOGIN_CONCURRENCY: usize = 16;

struct Mode {
    quick: bool,
    warmup: Duration,
    duration: Duration,
}

#[derive(Debug, Clone)]
struct Measure {
    name: &'static str,
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// The app's own CPU time (user + system, from `/proc`) per request or login, in µs.
    cpu_us: f64,
}

fn main() {
    if std::env::args().any(|a| a == "--serve-app") {
        return serve_app();
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let mode = Mode {
        quick,
        warmup: Duration::from_secs(if quick { 1 } else { 3 }),
        duration: Duration::from_secs(if quick { 3 } else { 10 }),
    };
    if let Err(e) = run(&mode) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

/// The server side: this same binary, started again with `--serve-app`, runs the app exactly
/// as `src/main.rs` does (one release build serves both roles; the server is its own process,
/// so its peak RSS is its own).
fn serve_app() {
    let system = actix_web::rt::System::new();
    let result = system.block_on(async {
        auth0_actix::telemetry::init(Default::default());
        let config = auth0_actix::config::Config::from_env().map_err(|e| e.to_string())?;
        let app = auth0_actix::startup::Application::build(config)
            .await
            .map_err(|e| e.to_string())?;
        println!("Open {} and log in.", app.home_url());
        app.run_until_stopped().await.map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        eprintln!("bench server: {e}");
        std::process::exit(1);
    }
}

fn run(mode: &Mode) -> Result<(), String> {
    wrk::require_wrk()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    // A scratch working directory: the app's static files plus the home page copy, and the db.
    let work = std::env::temp_dir().join(format!("auth0-actix-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&root.join("static"), &work.join("static"))?;
    let this = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut server = Server::start(&this, &work)?;
    let result = measure_all(mode, &server, &work);
    let peak_rss_kb = server.peak_rss_kb();
    server.stop();
    let _ = std::fs::remove_dir_all(&work);
    let (measures, stats) = result?;
    report::report(mode, &measures, peak_rss_kb?, &stats)
}

fn measure_all(
    mode: &Mode,
    server: &Server,
    work: &Path,
) -> Result<(Vec<Measure>, serde_json::Value), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let base = server.url.clone();
    let pid = server.pid();
    // The rendered anonymous home page, saved as a static file: the server's own limit.
    let home = rt.block_on(async { reqwest::get(base.clone()).await?.bytes().await });
    let home = home.map_err(|e| format!("GET /: {e}"))?;
    std::fs::write(work.join("static/bench-home.html"), &home).map_err(|e| e.to_string())?;
    // One logged-in session for /profile.
    let cookie = rt.block_on(logins::login_cookie(&base))?;

    let mut measures = vec![
        wrk::wrk(
            mode,
            "static file (limit)",
            base.join("/static/bench-home.html").unwrap(),
            None,
            pid,
        )?,
        wrk::wrk(mode, "GET / anonymous", base.clone(), None, pid)?,
        wrk::wrk(
            mode,
            "GET /profile",
            base.join("/profile").unwrap(),
            Some(&cookie),
            pid,
        )?,
    ];
    measures.push(rt.block_on(logins::logins(mode, &base, pid))?);
    let stats = rt.block_on(logins::tenant_stats(&base))?;
    Ok((measures, stats))
}

/// Copies a folder of files (the app's `static/`) into the scratch directory.
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
