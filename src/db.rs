//! SQLite: the pool (WAL, busy timeout), migrations, the profile and session queries. A login's
//! profile write is one statement (`INSERT ... ON CONFLICT(sub) DO UPDATE`), in one transaction
//! with its session row, so nothing is ever half-written and concurrent logins count correctly.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::auth0::{Auth0Backend, Auth0Profile, AuthUser, BackendError};

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
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Whether the database answers.
pub async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// A stored profile, as `/profile` shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Profile {
    pub id: i64,
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub claims: String,
    pub login_count: i64,
    pub first_login_at: String,
    pub last_login_at: String,
    pub updated_at: String,
}

/// Records a login: creates the row, or refreshes the claims and counts the login. Returns the id.
pub async fn upsert_profile(
    db: impl sqlx::SqliteExecutor<'_>,
    p: &Auth0Profile,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO user_profiles (sub, email, email_verified, name, nickname, picture,
             given_name, family_name, locale, claims, login_count,
             first_login_at, last_login_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1,
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         ON CONFLICT (sub) DO UPDATE SET
             email = excluded.email,
             email_verified = excluded.email_verified,
             name = excluded.name,
             nickname = excluded.nickname,
             picture = excluded.picture,
             given_name = excluded.given_name,
             family_name = excluded.family_name,
             locale = excluded.locale,
             claims = excluded.claims,
             login_count = user_profiles.login_count + 1,
             last_login_at = excluded.last_login_at,
             updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(&p.sub)
    .bind(&p.email)
    .bind(p.email_verified)
    .bind(&p.name)
    .bind(&p.nickname)
    .bind(&p.picture)
    .bind(&p.given_name)
    .bind(&p.family_name)
    .bind(&p.locale)
    .bind(p.claims.to_string())
    .fetch_one(db)
    .await
}

/// How long a login lasts at most; the session row expires then, whatever the cookie says.
pub const SESSION_LIFETIME_DAYS: u32 = 7;

/// Records a login and its session in one transaction: the profile upsert, the session row, and
/// a sweep of expired sessions. Returns the profile id. Either all of it is written or nothing.
pub async fn record_login(
    pool: &SqlitePool,
    profile: &Auth0Profile,
    session_id: &str,
) -> Result<i64, sqlx::Error> {
    // IMMEDIATE takes the write lock up front, so the busy timeout applies (a deferred
    // transaction that upgrades from read to write can fail at once with SQLITE_BUSY).
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = upsert_profile(&mut *tx, profile).await?;
    sqlx::query(
        "INSERT INTO user_sessions (id, profile_id, created_at, expires_at)
         VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3))",
    )
    .bind(session_id)
    .bind(id)
    .bind(format!("+{SESSION_LIFETIME_DAYS} days"))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM user_sessions WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A live session's profile, read in one query with the session check.
#[derive(sqlx::FromRow)]
struct SessionProfile {
    #[sqlx(flatten)]
    profile: Profile,
    session_expires_at: String,
}

/// The profile of a live session: the session row exists for this profile and has not expired.
pub async fn session_profile(
    pool: &SqlitePool,
    session_id: &str,
    profile_id: i64,
) -> Result<Option<(Profile, String)>, sqlx::Error> {
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

/// How long this process trusts a live session (and its profile) without asking the database.
/// A logout here takes effect at once; one in another process sharing the database, within this.
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// Past this many entries the cache is swept (expired entries), then cleared if still full.
const SESSION_CACHE_MAX: usize = 10_000;

/// Live sessions and their profiles, cached for [`SESSION_CACHE_TTL`]: a logged-in page costs one
/// query (session and profile together) at most every few seconds, not one or two per request.
/// (Each sqlx SQLite query is a round trip to the connection's thread; the benchmark showed
/// those hand-offs, not SQLite, dominating `/profile`.)
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, CachedSession>>,
}

struct CachedSession {
    profile: Arc<Profile>,
    session_expires_at: chrono::DateTime<chrono::Utc>,
    fetched: Instant,
}

impl SessionCache {
    /// The profile of `user`'s session if it is live, from the cache or the database.
    pub async fn profile(
        &self,
        pool: &SqlitePool,
        user: &AuthUser,
    ) -> Result<Option<Arc<Profile>>, sqlx::Error> {
        let Ok(profile_id) = user.id.parse::<i64>() else {
            return Ok(None);
        };
        if let Some(profile) = self.fresh(&user.session_id, profile_id) {
            return Ok(Some(profile));
        }
        let Some((profile, expires_at)) =
            session_profile(pool, &user.session_id, profile_id).await?
        else {
            self.forget(&user.session_id);
            return Ok(None);
        };
        let profile = Arc::new(profile);
        let Ok(expires_at) = chrono::DateTime::parse_from_rfc3339(&expires_at) else {
            return Ok(Some(profile));
        };
        let mut entries = self.entries.lock().expect("session cache lock");
        if entries.len() >= SESSION_CACHE_MAX {
            entries.retain(|_, e| e.fetched.elapsed() < SESSION_CACHE_TTL);
            if entries.len() >= SESSION_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(
            user.session_id.clone(),
            CachedSession {
                profile: profile.clone(),
                session_expires_at: expires_at.with_timezone(&chrono::Utc),
                fetched: Instant::now(),
            },
        );
        Ok(Some(profile))
    }

    fn fresh(&self, session_id: &str, profile_id: i64) -> Option<Arc<Profile>> {
        let entries = self.entries.lock().expect("session cache lock");
        let entry = entries.get(session_id)?;
        let fresh = entry.fetched.elapsed() < SESSION_CACHE_TTL
            && entry.session_expires_at > chrono::Utc::now()
            && entry.profile.id == profile_id;
        fresh.then(|| entry.profile.clone())
    }

    pub fn forget(&self, session_id: &str) {
        self.entries
            .lock()
            .expect("session cache lock")
            .remove(session_id);
    }
}

pub async fn end_session(pool: &SqlitePool, session_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_sessions WHERE id = ?1")
        .bind(session_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// The app's [`Auth0Backend`]: a login upserts the profile row (its id is the user id) and
/// records the session, which logout deletes.
pub struct SqliteBackend {
    pool: SqlitePool,
    sessions: Arc<SessionCache>,
}

impl SqliteBackend {
    pub fn new(pool: SqlitePool, sessions: Arc<SessionCache>) -> Self {
        Self { pool, sessions }
    }
}

impl Auth0Backend for SqliteBackend {
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            let id = record_login(&self.pool, profile, session_id).await?;
            Ok(id.to_string())
        })
    }

    fn session_is_active<'a>(
        &'a self,
        user: &'a AuthUser,
    ) -> LocalBoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { Ok(self.sessions.profile(&self.pool, user).await?.is_some()) })
    }

    fn logout<'a>(&'a self, user: &'a AuthUser) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            end_session(&self.pool, &user.session_id).await?;
            self.sessions.forget(&user.session_id);
            Ok(())
        })
    }
}
