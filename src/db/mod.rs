//! SQLite: the pool (WAL, busy timeout) and migrations; the profile table in `profiles.rs`, login
//! sessions and their cache in `sessions.rs`. A login's profile write is one statement
//! (`INSERT ... ON CONFLICT(issuer, sub) DO UPDATE`), in one transaction with its session row, so
//! nothing is ever half-written and concurrent logins count correctly.

mod profiles;
mod sessions;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use profiles::{upsert_profile, Profile};
pub use sessions::{
    end_session, record_login, session_profile, SessionCache, Ticket, SESSION_CACHE_TTL,
};

/// How long a writer waits for another one before SQLite says "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite allows one writer at a time; a few connections serve readers on these 2 cores.
const MAX_CONNECTIONS: u32 = 4;

/// Opens (creating file and folder if needed) the database and runs pending migrations.
pub async fn connect(database_url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL is durable across application crashes; only a power loss can drop
        // the last commits. https://www.sqlite.org/pragma.html#pragma_synchronous
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    if let Some(parent) = options.get_filename().parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    // Instances started together on one new file would each switch it to WAL and apply the
    // migrations (SQLite has no advisory lock, and sqlx takes none for it): one instance at a
    // time opens and migrates, under an exclusive lock on a file beside the database.
    let lock = startup_lock(options.get_filename()).await?;
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await?;
    let migrated = sqlx::migrate!("./migrations").run(&pool).await;
    drop(lock);
    migrated?;
    Ok(pool)
}

/// An exclusive lock on `<database>.migrate-lock`, held until dropped (none for `:memory:`).
async fn startup_lock(database: &std::path::Path) -> Result<Option<std::fs::File>, sqlx::Error> {
    if database
        .as_os_str()
        .to_string_lossy()
        .starts_with(":memory:")
    {
        return Ok(None);
    }
    let path = database.with_extension("migrate-lock");
    tokio::task::spawn_blocking(move || -> std::io::Result<Option<std::fs::File>> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok(Some(file))
    })
    .await
    .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
    .map_err(sqlx::Error::Io)
}

/// Whether the database answers.
pub async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}
