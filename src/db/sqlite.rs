//! SQLite, the embedded default: one file, one machine. WAL and a busy timeout; one writer at a
//! time, so a login's transaction takes the write lock up front.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::profiles::{Profile, SessionProfile};
use crate::auth0::{Auth0Profile, NewSession};

/// How long a writer waits for another one before SQLite says "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// One connection. SQLite has one writer at a time anyway, and with several connections each
/// write made the others drop their page cache (the next read on each reread its pages, and
/// with a memory map, unmapped it: a TLB shootdown on every core). sqlx runs each connection
/// on a thread of its own, so every statement is a hand-off to that thread and back; one
/// connection keeps its cache warm and the hand-offs few. Measured in BENCHMARKS.md.
const MAX_CONNECTIONS: u32 = 1;

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
        // An embedded file has no server to lose: no ping (one more hand-off) before each use.
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    let migrated = sqlx::migrate!("./migrations/sqlite").run(&pool).await;
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

/// Records a login in one transaction: the profile upsert (one statement, so concurrent logins
/// of a user count exactly), the session row, and now and then a sweep of expired sessions.
/// `None`, with nothing written, when a logout token already named this login.
pub async fn record_login(
    pool: &SqlitePool,
    p: &Auth0Profile,
    session: &NewSession,
    lifetime: Duration,
) -> Result<Option<(Profile, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    // IMMEDIATE takes the write lock up front, so the busy timeout applies (a deferred
    // transaction that upgrades from read to write can fail at once with SQLITE_BUSY).
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let profile: Profile = bind_profile!(
        sqlx::query_as(profile_upsert!(
            "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1,
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
         strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            "*"
        )),
        p
    )
    .fetch_one(&mut *tx)
    .await?;
    // The session row, unless a logout token already named this login (by its tenant session,
    // or by its user since it authenticated): then no row, and the transaction rolls back, the
    // profile's upsert with it. One statement: each is a hand-off to SQLite's thread.
    let expires_at: Option<_> = sqlx::query_scalar(
        "INSERT INTO user_sessions (id, profile_id, created_at, expires_at, sid, user_agent)
         SELECT ?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3), ?4, ?5
         WHERE NOT EXISTS (
             SELECT 1 FROM logout_tokens_seen
             WHERE issuer = ?6 AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
               AND ((sid IS NOT NULL AND sid = ?4 AND (sub IS NULL OR sub = ?7))
                 OR (sid IS NULL AND sub = ?7
                     AND issued_at >= strftime('%Y-%m-%dT%H:%M:%fZ', ?8, 'unixepoch'))))
         RETURNING expires_at",
    )
    .bind(&session.id)
    .bind(profile.id)
    .bind(format!("+{} seconds", lifetime.as_secs()))
    .bind(&session.sid)
    .bind(&session.user_agent)
    .bind(&p.issuer)
    .bind(&p.sub)
    .bind(session.authenticated_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(expires_at) = expires_at else {
        tx.rollback().await?;
        return Ok(None);
    };
    if super::sweep_due() {
        sqlx::query(
            "DELETE FROM user_sessions WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some((profile, expires_at)))
}

/// The profile of a live session, and when the session expires.
pub async fn session_profile(
    pool: &SqlitePool,
    session_id: &str,
    profile_id: i64,
) -> Result<Option<(Profile, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    let row: Option<SessionProfile> = sqlx::query_as(
        "SELECT p.*, s.expires_at AS session_expires_at
         FROM user_sessions s JOIN user_profiles p ON p.id = s.profile_id
         WHERE s.id = ?1 AND s.profile_id = ?2
           AND s.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    )
    .bind(session_id)
    .bind(profile_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.profile, r.session_expires_at)))
}

pub async fn end_session(pool: &SqlitePool, session_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_sessions WHERE id = ?1")
        .bind(session_id)
        .execute(pool)
        .await
        .map(|_| ())
}
