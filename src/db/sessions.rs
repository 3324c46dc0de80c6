//! Login sessions: recorded with the profile at login, looked up (with a short per-process
//! cache) on each page that needs the user, deleted at logout or expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::SqlitePool;

use super::profiles::{upsert_profile, Profile};
use crate::auth0::{Auth0Profile, AuthUser};

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
/// result is cached only if that session was not revoked since (other logouts do not matter).
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_session: HashMap<String, CachedSession>,
    /// How many revocations this cache has seen: the clock tickets are read from.
    revocations: u64,
    /// Each revoked session, with the count at its revocation and when it was: a read of that
    /// session that started before is not cached. Kept well past any read's duration.
    revoked: HashMap<String, (u64, Instant)>,
}

/// How long a revocation is remembered against reads that started before it (a read waits at
/// most the pool's acquire timeout, 30 s, plus its query).
const REVOKED_MEMORY: Duration = Duration::from_secs(120);

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

    /// Caches a live session read under `ticket`, unless that session was revoked since.
    pub fn store(
        &self,
        ticket: Ticket,
        session_id: &str,
        profile: Arc<Profile>,
        session_expires_at: chrono::DateTime<chrono::Utc>,
    ) {
        let mut entries = self.lock();
        let revoked_since = entries
            .revoked
            .get(session_id)
            .is_some_and(|(at, _)| *at > ticket.0);
        if revoked_since {
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
        let count = entries.revocations;
        if entries.revoked.len() >= SESSION_CACHE_MAX {
            entries
                .revoked
                .retain(|_, (_, when)| when.elapsed() < REVOKED_MEMORY);
        }
        entries
            .revoked
            .insert(session_id.to_owned(), (count, Instant::now()));
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
    fn a_logout_of_another_session_does_not_stop_this_one_from_being_cached() {
        let cache = SessionCache::default();
        let ticket = cache.ticket();
        cache.forget("another");
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
