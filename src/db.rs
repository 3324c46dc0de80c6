//! SQLite: the pool (WAL, busy timeout), migrations, the profile and session queries. A login's
//! profile write is one statement (`INSERT ... ON CONFLICT(issuer, sub) DO UPDATE`), in one
//! transaction with its session row, so nothing is ever half-written and concurrent logins count
//! correctly. Profiles are keyed by issuer and `sub`: a `sub` is unique only within its issuer.

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
    pub issuer: String,
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
        "INSERT INTO user_profiles (issuer, sub, email, email_verified, name, nickname, picture,
             given_name, family_name, locale, claims, login_count,
             first_login_at, last_login_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1,
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         ON CONFLICT (issuer, sub) DO UPDATE SET
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
    .bind(&p.issuer)
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

/// Records a login and its session in one transaction: the profile upsert, the session row
/// (expiring after `lifetime`, the module's absolute session lifetime), and a sweep of expired
/// sessions. Returns the profile id. Either all of it is written or nothing.
pub async fn record_login(
    pool: &SqlitePool,
    profile: &Auth0Profile,
    session_id: &str,
    lifetime: Duration,
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
    .bind(format!("+{} seconds", lifetime.as_secs()))
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
///
/// A revocation here can race a request that read the session just before it: that request
/// must not put the revoked session back. Each read takes a [`Ticket`] before its query, and its
/// result is cached only if no session was revoked since.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_session: HashMap<String, CachedSession>,
    /// How many revocations this cache has seen: a read that started before one is not cached.
    revocations: u64,
}

struct CachedSession {
    profile: Arc<Profile>,
    session_expires_at: chrono::DateTime<chrono::Utc>,
    fetched: Instant,
}

/// Taken before a database read; [`SessionCache::store`] honours it only if no revocation came
/// in between.
#[derive(Clone, Copy)]
pub struct Ticket(u64);

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
        let ticket = self.ticket();
        let Some((profile, expires_at)) =
            session_profile(pool, &user.session_id, profile_id).await?
        else {
            // Not a revocation here, just a miss: reads under way stay cacheable.
            self.lock().by_session.remove(&user.session_id);
            return Ok(None);
        };
        let profile = Arc::new(profile);
        if let Ok(expires_at) = chrono::DateTime::parse_from_rfc3339(&expires_at) {
            self.store(
                ticket,
                &user.session_id,
                profile.clone(),
                expires_at.to_utc(),
            );
        }
        Ok(Some(profile))
    }

    /// A ticket for a read that is about to start.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().revocations)
    }

    /// Caches a live session read under `ticket`, unless a session was revoked since.
    pub fn store(
        &self,
        ticket: Ticket,
        session_id: &str,
        profile: Arc<Profile>,
        session_expires_at: chrono::DateTime<chrono::Utc>,
    ) {
        let mut entries = self.lock();
        if entries.revocations != ticket.0 {
            return;
        }
        let map = &mut entries.by_session;
        if map.len() >= SESSION_CACHE_MAX {
            map.retain(|_, e| e.fetched.elapsed() < SESSION_CACHE_TTL);
            if map.len() >= SESSION_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(
            session_id.to_owned(),
            CachedSession {
                profile,
                session_expires_at,
                fetched: Instant::now(),
            },
        );
    }

    /// The cached profile of a live session, if the cache is fresh.
    pub fn fresh(&self, session_id: &str, profile_id: i64) -> Option<Arc<Profile>> {
        let entries = self.lock();
        let entry = entries.by_session.get(session_id)?;
        let fresh = entry.fetched.elapsed() < SESSION_CACHE_TTL
            && entry.session_expires_at > chrono::Utc::now()
            && entry.profile.id == profile_id;
        fresh.then(|| entry.profile.clone())
    }

    /// Drops a revoked session; reads already under way will not cache it again.
    pub fn forget(&self, session_id: &str) {
        let mut entries = self.lock();
        entries.by_session.remove(session_id);
        entries.revocations += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().expect("session cache lock")
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
    /// The module's absolute session lifetime: session rows expire with it.
    lifetime: Duration,
}

impl SqliteBackend {
    pub fn new(pool: SqlitePool, sessions: Arc<SessionCache>, lifetime: Duration) -> Self {
        Self {
            pool,
            sessions,
            lifetime,
        }
    }
}

impl Auth0Backend for SqliteBackend {
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            let id = record_login(&self.pool, profile, session_id, self.lifetime).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: i64) -> Arc<Profile> {
        let now = "2026-12-01T00:00:00.000Z".to_owned();
        Arc::new(Profile {
            id,
            issuer: "https://tenant.example/".into(),
            sub: "auth0|x".into(),
            email: None,
            email_verified: None,
            name: None,
            nickname: None,
            picture: None,
            given_name: None,
            family_name: None,
            locale: None,
            claims: "{}".into(),
            login_count: 1,
            first_login_at: now.clone(),
            last_login_at: now.clone(),
            updated_at: now,
        })
    }

    fn in_an_hour() -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::hours(1)
    }

    #[test]
    fn a_read_stored_after_no_revocation_is_cached() {
        let cache = SessionCache::default();
        let ticket = cache.ticket();
        cache.store(ticket, "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_some());
    }

    #[test]
    fn a_read_that_started_before_a_logout_does_not_bring_the_session_back() {
        let cache = SessionCache::default();
        // A request reads the live session from the database...
        let ticket = cache.ticket();
        // ...meanwhile a logout deletes the row and drops the cache entry...
        cache.forget("s1");
        // ...and then the request's (stale) read arrives.
        cache.store(ticket, "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_none());
    }
}
