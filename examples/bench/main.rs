//! The benchmark: pages and logins measured against the server's own limit.
//!
//! ```sh
//! cargo run --release --example bench            # full run (~4 minutes), writes BENCHMARKS.md
//! cargo run --release --example bench -- --quick # under a minute: checks it runs without errors
//! cargo run --release --example bench -- --only login --rounds 1 --seconds 60  # for `perf`
//! ```
//!
//! `--only` runs the SQLite rows named (`limit`, `work`, `home`, `profile`, `login`,
//! comma-separated; the limit always runs), prints them with the app's PID first
//! (`perf record -p PID`), and writes nothing. `--rounds N` runs the SQLite rows N times
//! (default 6, or 1 with `--quick`), `--seconds` each (default 3) after a 2 s warm-up: this
//! VM's speed drifts within seconds, so each row samples the whole run, every other round in
//! reverse order (a steady trend cancels out), and each row's figures pool its rounds.
//!
//! Built in release by that command, it starts the dev tenant in this process and the app
//! (configured for that tenant, a fresh SQLite file, `RUST_LOG=warn`) as a process of its own, and
//! measures with wrk (Debian's `wrk`), 64 connections, after a warm-up:
//! 1. the limit: the same server, with the same middleware, answering the bytes of the rendered
//!    home page from memory (`/bench/limit`, added through `Application::build_with_routes`);
//! 2. the limit plus as much pure computation again as the limit's own CPU (calibrated in this
//!    process before any load): what a page's own work costs the app under this load;
//! 3. `GET /` anonymous (with the Lock widget and its login transaction);
//! 4. `GET /profile` logged in (session check + profile, through the session cache);
//! 5. full logins through the dev tenant over HTTP (login, authorize, form, callback, profile),
//!    16 at a time, driven from this process with reqwest;
//! 6. `GET /messages` logged in, on an app with `AUTH0_AUDIENCE`: the user's access token (kept
//!    server-side, sealed) and two calls to the app's own API over HTTP, served by the same
//!    process (its CPU includes them);
//! 7. with a Postgres server (`TEST_POSTGRES_URL`, as the tests use; `.ci/postgres start`):
//!    `GET /profile` on Postgres, and with Debian's nginx too, `GET /profile` through nginx (TLS)
//!    in front of three instances on Postgres (`deploy/nginx.conf`).
//!
//! The server and the load generators share this machine's cores: requests/s are relative. The
//! app's own CPU time per request and per login (from `/proc/PID/stat`, user + system, and the
//! user part alone) leaves out what the load generators and the dev tenant (in this process)
//! spend. It still depends on the load in one way: a slower page finds wrk idle more often, and
//! waking it, and being switched out for it, is kernel time charged to the app (row 2 measures
//! how much).

mod logins;
/// The tests' nginx (deploy/nginx.conf with test ports and a test certificate), shared.
#[path = "../../tests/api/support/nginx.rs"]
#[allow(dead_code, reason = "the tests use more of it")]
mod nginx;
mod report;
mod server;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::Duration;

use auth0_actix::dev_tenant::{DevTenant, Registration};
use server::Server;
use url::Url;

/// wrk's connections.
const CONNECTIONS: u32 = 64;
/// Logins in flight at once.
const LOGIN_CONCURRENCY: usize = 16;
/// The row of the limit plus known work.
const WORK_ROW: &str = "limit + its CPU as work";

#[derive(Clone)]
struct Mode {
    quick: bool,
    /// `--only`: the SQLite rows to run (empty: all of them, and BENCHMARKS.md).
    only: Vec<String>,
    /// How many rounds the SQLite rows run in, taking turns (`--rounds`).
    rounds: usize,
    warmup: Duration,
    duration: Duration,
}

#[derive(Debug, Clone)]
struct Measure {
    name: &'static str,
    requests_per_sec: f64,
    /// Requests (or logins) measured.
    count: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// Whether this row is the in-memory limit the others are compared with.
    limit: bool,
    /// The app's own CPU time (user + system, from `/proc`) over the `count` measured, in s.
    cpu_s: f64,
    /// The user-mode part of it: the app's code and libraries, without the kernel's.
    user_s: f64,
    /// For the work row: the computation each request adds, in µs (as calibrated).
    added_work_us: Option<f64>,
    /// For a row run in rounds, each round in the order run: the app's CPU (µs) and that over
    /// the same round's limit's. The row's own figures pool its rounds.
    rounds: Vec<Round>,
}

fn main() {
    if std::env::args().any(|a| a == "--serve-app") {
        return serve_app();
    }
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let quick = args.iter().any(|a| a == "--quick");
    let seconds = value("--seconds").map(|s| {
        s.parse::<u64>()
            .unwrap_or_else(|_| usage(&format!("--seconds takes a number, not {s:?}")))
    });
    let rounds = value("--rounds").map(|s| match s.parse::<usize>() {
        Ok(n) if n > 0 => n,
        _ => usage(&format!("--rounds takes a number above 0, not {s:?}")),
    });
    let only: Vec<String> = value("--only")
        .map(|only| only.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(unknown) = only.iter().find(|o| !ONLY_ROWS.contains(&o.as_str())) {
        usage(&format!(
            "--only takes {}, not {unknown:?}",
            ONLY_ROWS.join(",")
        ));
    }
    let mode = Mode {
        quick,
        rounds: rounds.unwrap_or(if quick { 1 } else { 6 }),
        only,
        warmup: Duration::from_secs(if quick { 1 } else { 2 }),
        duration: Duration::from_secs(seconds.unwrap_or(3)),
    };
    let result = actix_web::rt::System::new().block_on(run(&mode));
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

/// What `--only` may name.
const ONLY_ROWS: [&str; 5] = ["limit", "work", "home", "profile", "login"];

/// A bad argument: what was wrong, and exit 2.
fn usage(why: &str) -> ! {
    eprintln!("bench: {why}");
    std::process::exit(2);
}

/// The server side: this same binary, started again with `--serve-app`, runs the app exactly
/// as `src/main.rs` does, plus the in-memory limit route (one release build serves both roles;
/// the server is its own process, so its CPU time and peak RSS are its own).
fn serve_app() {
    let system = actix_web::rt::System::new();
    let result = system.block_on(async {
        auth0_actix::telemetry::init(Default::default());
        let config = auth0_actix::config::Config::from_env().map_err(|e| e.to_string())?;
        let app = auth0_actix::startup::Application::build_with_routes(config, limit_route)
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

/// `GET /bench/limit`: the rendered home page's bytes (saved by the driver to
/// `static/bench-home.html`, read once), from memory, as a page is sent: what the server and
/// its middleware cost with no work of the app's.
///
/// `GET /bench/limit/work/N`: the same, after `N` rounds of [`work`]: a page whose own work is
/// known exactly, to see what a microsecond of a page's work costs the app under this load.
fn limit_route(config: &mut actix_web::web::ServiceConfig) {
    use actix_web::{http::header, web, HttpResponse};
    static BODY: std::sync::OnceLock<actix_web::web::Bytes> = std::sync::OnceLock::new();
    let page = || {
        let body = BODY.get_or_init(|| {
            std::fs::read("static/bench-home.html")
                .unwrap_or_default()
                .into()
        });
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body.clone())
    };
    config
        .route("/bench/limit", web::get().to(move || async move { page() }))
        .route(
            "/bench/limit/work/{rounds}",
            web::get().to(move |rounds: web::Path<u64>| async move {
                std::hint::black_box(work(rounds.into_inner()));
                page()
            }),
        );
}

/// Pure computation, no system calls or heap: `rounds` dependent multiply-adds (each through
/// `black_box`, a store and a load on the stack, so the compiler cannot fold the loop).
fn work(rounds: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..rounds {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
    x
}

/// How many rounds of [`work`] take a microsecond on this machine (the fastest of a few tries,
/// before any load starts).
fn work_rounds_per_us() -> f64 {
    const ROUNDS: u64 = 2_000_000;
    let fastest = (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            std::hint::black_box(work(ROUNDS));
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    ROUNDS as f64 / (fastest.as_secs_f64() * 1e6).max(f64::MIN_POSITIVE)
}

/// A free loopback port (bound, then released for a server to take).
fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

async fn run(mode: &Mode) -> Result<(), String> {
    wrk::require_wrk()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // A scratch working directory: the app's static files plus the home page copy, and the db.
    let work = std::env::temp_dir().join(format!("auth0-actix-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&root.join("static"), &work.join("static"))?;
    let result = measure_all(mode, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    let (measures, stats, peak_rss_kb, servers) = result?;
    if !mode.only.is_empty() {
        return report::print_only(&measures);
    }
    report::report(mode, &measures, peak_rss_kb, &stats, servers)
}

/// Where each app process listens, and the tenant they share.
struct Setup {
    sqlite: std::net::SocketAddr,
    /// The app with an API (`AUTH0_AUDIENCE`), for `/messages`.
    api: std::net::SocketAddr,
    postgres: Option<(String, std::net::SocketAddr)>,
    behind_nginx: Option<(Vec<std::net::SocketAddr>, u16)>,
}

async fn measure_all(
    mode: &Mode,
    work: &Path,
) -> Result<(Vec<Measure>, serde_json::Value, u64, u64), String> {
    let postgres = match std::env::var("TEST_POSTGRES_URL") {
        Ok(admin) => Some(new_postgres_database(&admin).await?),
        Err(_) => {
            println!(
                "SKIPPED the Postgres rows: TEST_POSTGRES_URL is not set (.ci/postgres start)"
            );
            None
        }
    };
    let nginx_available = std::path::Path::new("/usr/sbin/nginx").is_file();
    if postgres.is_some() && !nginx_available {
        println!("SKIPPED the nginx row: no /usr/sbin/nginx (Debian's nginx)");
    }
    let setup = Setup {
        sqlite: free_addr(),
        api: free_addr(),
        postgres: postgres.clone().map(|db| (db, free_addr())),
        behind_nginx: postgres
            .as_ref()
            .filter(|_| nginx_available)
            .map(|_| ((0..3).map(|_| free_addr()).collect(), free_addr().port())),
    };
    let mut callbacks = vec![
        format!("http://{}/callback", setup.sqlite),
        format!("http://{}/callback", setup.api),
    ];
    if let Some((_, addr)) = &setup.postgres {
        callbacks.push(format!("http://{addr}/callback"));
    }
    if let Some((_, port)) = &setup.behind_nginx {
        callbacks.push(format!("https://127.0.0.1:{port}/callback"));
    }
    let callbacks: Vec<Url> = callbacks.iter().map(|c| Url::parse(c).unwrap()).collect();
    let tenant = DevTenant::start(Registration::for_callbacks("bench", callbacks.clone()))
        .await
        .map_err(|e| format!("dev tenant: {e}"))?;
    let this = std::env::current_exe().map_err(|e| e.to_string())?;
    let key = server::session_key();
    let start_with =
        |addr: std::net::SocketAddr, callback: &Url, database: &str, extra: &[(&str, &str)]| {
            Server::start(&this, work, addr, &tenant, callback, database, &key, extra)
        };
    let start = |addr: std::net::SocketAddr, callback: &Url, database: &str| {
        start_with(addr, callback, database, &[])
    };

    // Before any load: the machine is otherwise idle.
    let rounds_per_us = work_rounds_per_us();
    let sqlite_url = format!("sqlite://{}", work.join("bench.db").display());
    let mut app = start(setup.sqlite, &callbacks[0], &sqlite_url)?;
    let mut servers = 1;
    let base = app.url.clone();
    let pid = app.pid();
    // The rendered anonymous home page, saved for the in-memory limit.
    let home = async { reqwest::get(base.clone()).await?.bytes().await }.await;
    let home = home.map_err(|e| format!("GET /: {e}"))?;
    std::fs::write(work.join("static/bench-home.html"), &home).map_err(|e| e.to_string())?;
    let runs = |name: &str| mode.only.is_empty() || mode.only.iter().any(|o| o == name);
    if !mode.only.is_empty() {
        println!("app PID {pid}");
    }

    // The SQLite rows, in short rounds: this VM's speed drifts within seconds, so each row
    // samples the whole run, and the report pools each row's rounds. The pages and the limit
    // run in turn, every other round in reverse (A B C D, D C B A), so that each sits as
    // often early in a round as late and a steady trend in the VM's speed cancels out; the
    // logins, whose target is absolute, end each round.
    let rows: Vec<&str> = ["limit", "work", "home", "profile"]
        .into_iter()
        .filter(|row| *row == "limit" || runs(row))
        .collect();
    let mut work_rounds = None;
    let mut rounds = Vec::new();
    for round in 1..=mode.rounds {
        let mut order = rows.clone();
        if round % 2 == 0 {
            order.reverse();
        }
        let mut measures: Vec<Option<Measure>> = vec![None; rows.len()];
        for row in order {
            let measure = match row {
                "limit" => {
                    let limit = wrk::wrk(
                        mode,
                        "in-memory limit",
                        base.join("/bench/limit").unwrap(),
                        None,
                        &[pid],
                    )
                    .await?
                    .into_limit();
                    if work_rounds.is_none() {
                        // The work row adds as much pure computation again as the first
                        // limit's whole CPU, the same in every round: were the app's costs
                        // linear in its work, that row would be 2.00x the limit's.
                        let cpu_us = limit.cpu_us();
                        if !(cpu_us.is_finite() && (0.1..1000.0).contains(&cpu_us)) {
                            return Err(format!(
                                "the limit's CPU per request ({cpu_us} µs) is no base for the \
                                 work row"
                            ));
                        }
                        work_rounds = Some((cpu_us * rounds_per_us).round() as u64);
                    }
                    limit
                }
                "work" => {
                    let n = work_rounds.expect("the first round measures the limit first");
                    let url = base.join(&format!("/bench/limit/work/{n}")).unwrap();
                    let mut measure = wrk::wrk(mode, WORK_ROW, url, None, &[pid]).await?;
                    measure.added_work_us = Some(n as f64 / rounds_per_us);
                    measure
                }
                "home" => wrk::wrk(mode, "GET / anonymous", base.clone(), None, &[pid]).await?,
                _ => {
                    // Logged in just before: wrk replays this one cookie, while a browser keeps
                    // the one the app re-sets once a minute (last activity); an older cookie
                    // would be re-set on every request, which no browser causes. A user of its
                    // own each round, so every round's page lists one session, not one more
                    // than the round before.
                    let email = format!("bench-{round}@example.com");
                    let cookie = logins::login_cookie(&base, &email).await?;
                    let url = base.join("/profile").unwrap();
                    wrk::wrk(mode, "GET /profile", url, Some(&cookie), &[pid]).await?
                }
            };
            let at = rows
                .iter()
                .position(|r| *r == row)
                .expect("a row of the list");
            measures[at] = Some(measure);
        }
        let mut measures: Vec<Measure> = measures.into_iter().flatten().collect();
        if runs("login") {
            measures.push(logins::logins(mode, &base, pid).await?);
        }
        if !mode.only.is_empty() && mode.rounds > 1 {
            report::print_round(round, &measures);
        }
        rounds.push(measures);
    }
    let mut measures = report::pool_rounds(rounds)?;
    let peak_rss_kb = app.peak_rss_kb()?;
    app.stop();
    if !mode.only.is_empty() {
        // Printed without the tenant's counts.
        return Ok((measures, serde_json::Value::Null, peak_rss_kb, servers));
    }

    // The rows after the rounds run once each, on apps of their own, and are compared with the
    // pooled limit above: a run as long as before the rounds came.
    let single = mode.single();

    // `/messages`: the same app with an API (AUTH0_AUDIENCE); each page calls the app's own API
    // twice over HTTP with the user's access token, so its CPU includes serving those calls.
    let api_db = format!("sqlite://{}", work.join("bench-api.db").display());
    let mut api_app = start_with(
        setup.api,
        &callbacks[1],
        &api_db,
        &[("AUTH0_AUDIENCE", "https://api.example/messages")],
    )?;
    servers += 1;
    let cookie = logins::login_cookie(&api_app.url, "bench@example.com").await?;
    measures.push(
        wrk::wrk(
            &single,
            "GET /messages (2 API calls)",
            api_app.url.join("/messages").unwrap(),
            Some(&cookie),
            &[api_app.pid()],
        )
        .await?,
    );
    api_app.stop();

    if let Some((database, addr)) = &setup.postgres {
        let mut app = start(*addr, &callbacks[2], database)?;
        servers += 1;
        let cookie = logins::login_cookie(&app.url, "bench@example.com").await?;
        let url = app.url.join("/profile").unwrap();
        measures.push(
            wrk::wrk(
                &single,
                "GET /profile (Postgres)",
                url,
                Some(&cookie),
                &[app.pid()],
            )
            .await?,
        );
        app.stop();
    }
    if let (Some((database, _)), Some((addrs, port))) = (&setup.postgres, &setup.behind_nginx) {
        let callback = callbacks.last().unwrap();
        let mut apps = Vec::new();
        for addr in addrs {
            apps.push(start(*addr, callback, database)?);
            servers += 1;
        }
        let proxy = nginx::Nginx::start(*port, addrs)?;
        let public = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
        let cookie = logins::login_cookie_trusting(&public, &proxy.certificate).await?;
        let pids: Vec<u32> = apps.iter().map(Server::pid).collect();
        let url = public.join("/profile").unwrap();
        measures.push(
            wrk::wrk(
                &single,
                "GET /profile (3 on Postgres, nginx)",
                url,
                Some(&cookie),
                &pids,
            )
            .await?,
        );
        drop(proxy);
        for app in &mut apps {
            app.stop();
        }
    }
    let stats = logins::tenant_stats(tenant.issuer()).await?;
    Ok((measures, stats, peak_rss_kb, servers))
}

/// A new database on the Postgres server `admin` names; its URL.
async fn new_postgres_database(admin: &str) -> Result<String, String> {
    use sqlx::Connection;
    let name = format!("auth0_bench_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .map_err(|e| format!("TEST_POSTGRES_URL: {e}"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let mut url = Url::parse(admin).map_err(|e| e.to_string())?;
    url.set_path(&name);
    Ok(url.to_string())
}

impl Mode {
    /// For a row run once: 10 s (or `--seconds`, if longer) after a 3 s warm-up.
    fn single(&self) -> Mode {
        if self.quick {
            return self.clone();
        }
        Mode {
            warmup: Duration::from_secs(3),
            duration: self.duration.max(Duration::from_secs(10)),
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Round {
    cpu_us: f64,
    ratio: f64,
}

impl Measure {
    fn into_limit(mut self) -> Self {
        self.limit = true;
        self
    }

    /// The app's CPU per request or login, in µs (not a number when none was measured).
    fn cpu_us(&self) -> f64 {
        self.cpu_s * 1e6 / self.count
    }

    /// The user-mode part of [`Self::cpu_us`].
    fn user_us(&self) -> f64 {
        self.user_s * 1e6 / self.count
    }
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
