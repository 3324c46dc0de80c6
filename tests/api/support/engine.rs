//! Which database a test's app uses. The suite is compiled twice (see `main.rs`), as
//! `on_sqlite::...` and `on_postgres::...`. Each test of it starts with `engine!()`, which takes
//! the engine from the module the test was compiled into, and returns early (printing
//! `SKIPPED ... why`) when that engine is not available here. Under `CI=true` that is a failure.
//!
//! A test outside the suite that starts an app also begins with `engine!()`: it gets SQLite.
//!
//! SQLite is always available (a file in the test's temp folder). Postgres is the server
//! `TEST_POSTGRES_URL` names (`postgres://postgres@127.0.0.1:5433/postgres`: a role that may
//! create databases); each app gets a new database of its own there. `.ci/run` starts one;
//! `.ci/postgres start` does it on a developer machine.

use std::cell::Cell;
use std::path::Path;

use sqlx::Connection;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

thread_local! {
    /// The engine of the test running on this thread (each test has its own thread and runtime).
    static CURRENT: Cell<Option<Engine>> = const { Cell::new(None) };
}

/// The engine of the suite this test was compiled into; returns from the test (skipping it)
/// when that engine is not available.
#[macro_export]
macro_rules! engine {
    () => {
        match $crate::support::engine::enter(module_path!()) {
            Some(engine) => engine,
            None => return,
        }
    };
}

/// Enters the engine of the suite `module` belongs to, if it is available.
pub fn enter(module: &str) -> Option<Engine> {
    let engine = if module.split("::").any(|m| m == "on_postgres") {
        Engine::Postgres
    } else {
        Engine::Sqlite
    };
    if engine == Engine::Postgres && postgres_admin_url().is_none() {
        skip("TEST_POSTGRES_URL is not set (`.ci/postgres start` starts a server and prints it)");
        return None;
    }
    CURRENT.set(Some(engine));
    Some(engine)
}

/// The engine `engine!()` entered for this test.
pub fn current() -> Engine {
    CURRENT
        .get()
        .expect("a test of the suite starts with `engine!()`, which picks its database")
}

/// Prints why this test does not run; under `CI=true` a test may not skip, so it fails.
pub fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("this test");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test} cannot run under CI=true: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// The Postgres server for tests, if one is configured.
pub fn postgres_admin_url() -> Option<Url> {
    let url = std::env::var("TEST_POSTGRES_URL").ok()?;
    Some(Url::parse(&url).expect("TEST_POSTGRES_URL is a postgres:// URL"))
}

/// A new, empty database for this test's engine: a file in `dir`, or a new database on the
/// Postgres server.
pub async fn fresh_database_url(dir: &Path) -> String {
    match current() {
        Engine::Sqlite => format!("sqlite://{}", dir.join("app.db").display()),
        Engine::Postgres => {
            let admin = postgres_admin_url().expect("entered only with a server");
            new_postgres_database(&admin).await
        }
    }
}

/// Creates a database with a fresh name on the server `admin` connects to; returns its URL.
pub async fn new_postgres_database(admin: &Url) -> String {
    let name = format!("auth0_test_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(admin.as_str())
        .await
        .expect("the test Postgres server answers");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let _ = conn.close().await;
    let mut url = admin.clone();
    url.set_path(&name);
    url.to_string()
}
