//! The per-process cache of live sessions: a logged-in page asks the database about its session
//! at most every few seconds, not on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::profiles::Profile;
use super::session_rows::SessionRow;
use super::Database;
use crate::auth0::AuthUser;

/// How long this process trusts a live session (and its profile) without asking the database.
/// A logout here takes effect at once; on SQLite, one in another process sharing the file within
/// this (on Postgres every instance hears it at once: [`SessionCache::forget`] from a listener).
pub const SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// Past this many entries the cache is swept (expired entries), then cleared if still full.
const SESSION_CACHE_MAX: usize = 10_000;
/// Expired sessions (and revocations past [`REVOKED_MEMORY`]) are dropped this often: the cache
/// holds little more than [`SESSION_CACHE_TTL`]'s worth of sessions, not [`SESSION_CACHE_MAX`]
/// stale ones (at hundreds of logins a second, megabytes of profiles nobody asks for). The
/// session lists are dropped whole at every login or revocation seen here.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Live sessions and their profiles, cached for [`SESSION_CACHE_TTL`]: a logged-in page costs one
/// query (session and profile together) at most every few seconds, not one or two per request.
/// (Each sqlx SQLite query is a round trip to the connection's thread; the benchmark showed
/// those hand-offs, not SQLite, dominating `/profile`.)
///
/// A revocation here can race a request that read the session just before it: that request
/// must not put the revoked session back. Each read takes a [`Ticket`] before its query, and its
/// result is cached only if that session was not revoked since (other logouts do not matter).
///
/// A cache that follows another process's revocations (Postgres) may serve only while it hears
/// them: [`SessionCache::unfollow`] when the listener loses the server, [`SessionCache::follow`]
/// once it listens again (both forget everything, and reads that started before), and then only
/// under a lease the listener renews ([`SessionCache::renew_lease`]).
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
    /// Each profile's list of live sessions (the "Signed-in sessions" section), for
    /// [`SESSION_CACHE_TTL`]; dropped whole at any revocation or login seen here.
    lists: Mutex<HashMap<i64, CachedList>>,
}

/// A profile's live sessions, and when they were read.
type CachedList = (Instant, Arc<Vec<SessionRow>>);

#[derive(Default)]
struct Entries {
    by_session: HashMap<String, CachedSession>,
    /// How many revocations this cache has seen: the clock tickets are read from.
    revocations: u64,
    /// Each revoked session, with the count at its revocation and when it was: a read of that
    /// session that started before is not cached. Kept for [`REVOKED_MEMORY`].
    revoked: HashMap<String, (u64, Instant)>,
    /// Reads that started before this count are not cached (everything was forgotten since).
    cleared_at: u64,
    /// Revocations elsewhere are not heard just now: serve and store nothing.
    deaf: bool,
    /// When expired entries were last dropped.
    swept_at: Option<Instant>,
    /// Serves only while a lease runs ([`SessionCache::renew_lease`]): a cache that follows
    /// another process's revocations.
    leased: bool,
    /// Until when the revocations heard are known to be current.
    trusted_until: Option<Instant>,
}

/// How long a revocation is remembered against reads of its session that started before it:
/// far longer than a read takes. A read older than a forgotten revocation is not cached at all
/// (see `Entries::drop_revocations`), so this bounds memory, not safety.
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
    /// A cache that serves nothing until [`SessionCache::follow`] says revocations are heard,
    /// and then only while [`SessionCache::renew_lease`] says they are current.
    pub fn unfollowed() -> Self {
        let cache = Self::default();
        let mut entries = cache.lock();
        entries.deaf = true;
        entries.leased = true;
        drop(entries);
        cache
    }

    /// Revocations elsewhere are heard from now on: the cache may serve again, under a lease
    /// (what it held, and reads that started before, are forgotten).
    pub fn follow(&self) {
        let mut entries = self.lock();
        entries.deaf = false;
        entries.trusted_until = None;
        entries.clear();
        drop(entries);
        self.forget_lists();
    }

    /// Revocations elsewhere are no longer heard: serve nothing until [`SessionCache::follow`].
    pub fn unfollow(&self) {
        let mut entries = self.lock();
        entries.deaf = true;
        entries.trusted_until = None;
        entries.clear();
        drop(entries);
        self.forget_lists();
    }

    /// Every revocation committed until a moment was heard: a leased cache may serve until
    /// `until` (the listener's probe, sent at that moment, came back; see `db::postgres`).
    pub fn renew_lease(&self, until: Instant) {
        let mut entries = self.lock();
        if !entries.deaf {
            entries.trusted_until = Some(entries.trusted_until.map_or(until, |t| t.max(until)));
        }
    }

    /// Every session was revoked (an operator emptied the table).
    pub fn forget_all(&self) {
        self.lock().clear();
        self.forget_lists();
    }

    /// The live sessions of a profile, from the cache or the database: a list shown on every
    /// `/profile` costs a query at most every few seconds. A revocation or a login in this
    /// process (or heard from another, on Postgres) shows at once; a login on another
    /// instance within [`SESSION_CACHE_TTL`].
    pub async fn session_list(
        &self,
        db: &Database,
        profile_id: i64,
    ) -> Result<Arc<Vec<SessionRow>>, sqlx::Error> {
        let (serves, ticket) = {
            let entries = self.lock();
            (entries.serves(Instant::now()), Ticket(entries.revocations))
        };
        if serves {
            let lists = self.lists.lock().expect("session list lock");
            if let Some((fetched, list)) = lists.get(&profile_id) {
                if fetched.elapsed() < SESSION_CACHE_TTL {
                    return Ok(list.clone());
                }
            }
        }
        let list = Arc::new(db.live_sessions(profile_id).await?);
        // Cached only if nothing was revoked meanwhile, checked and stored under one lock: a
        // revocation counts itself first, then drops every list.
        let entries = self.lock();
        if entries.revocations == ticket.0 && !entries.deaf {
            let mut lists = self.lists.lock().expect("session list lock");
            if lists.len() >= SESSION_CACHE_MAX {
                lists.clear();
            }
            lists.insert(profile_id, (Instant::now(), list.clone()));
        }
        drop(entries);
        Ok(list)
    }

    /// Drops every cached list (a session started or ended).
    pub fn forget_lists(&self) {
        self.lists.lock().expect("session list lock").clear();
    }

    /// The profile of `user`'s session if it is live, from the cache or the database.
    pub async fn profile(
        &self,
        db: &Database,
        user: &AuthUser,
    ) -> Result<Option<Arc<Profile>>, sqlx::Error> {
        let Ok(profile_id) = user.id.parse::<i64>() else {
            return Ok(None);
        };
        if let Some(profile) = self.fresh(&user.session_id, profile_id) {
            return Ok(Some(profile));
        }
        let ticket = self.ticket();
        let Some((profile, expires_at)) = db.session_profile(&user.session_id, profile_id).await?
        else {
            // Not a revocation here, just a miss: reads under way stay cacheable.
            self.lock().by_session.remove(&user.session_id);
            return Ok(None);
        };
        let profile = Arc::new(profile);
        self.store(ticket, &user.session_id, profile.clone(), expires_at);
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
        self.store_at(
            ticket,
            session_id,
            profile,
            session_expires_at,
            Instant::now(),
        );
    }

    fn store_at(
        &self,
        ticket: Ticket,
        session_id: &str,
        profile: Arc<Profile>,
        session_expires_at: chrono::DateTime<chrono::Utc>,
        now: Instant,
    ) {
        let mut entries = self.lock();
        entries.sweep(now);
        let revoked_since = entries.deaf
            || entries.cleared_at > ticket.0
            || entries
                .revoked
                .get(session_id)
                .is_some_and(|(at, _)| *at > ticket.0);
        if revoked_since {
            return;
        }
        if entries.by_session.len() >= SESSION_CACHE_MAX {
            entries.drop_expired(now);
            if entries.by_session.len() >= SESSION_CACHE_MAX {
                entries.by_session.clear();
            }
        }
        entries.by_session.insert(
            session_id.to_owned(),
            CachedSession {
                profile,
                session_expires_at,
                fetched: now,
            },
        );
    }

    /// The cached profile of a live session, if the cache is fresh.
    pub fn fresh(&self, session_id: &str, profile_id: i64) -> Option<Arc<Profile>> {
        let entries = self.lock();
        if !entries.serves(Instant::now()) {
            return None;
        }
        let entry = entries.by_session.get(session_id)?;
        let fresh = entry.fetched.elapsed() < SESSION_CACHE_TTL
            && entry.session_expires_at > chrono::Utc::now()
            && entry.profile.id == profile_id;
        fresh.then(|| entry.profile.clone())
    }

    /// Drops a revoked session; reads already under way will not cache it again.
    pub fn forget(&self, session_id: &str) {
        self.forget_at(session_id, Instant::now());
    }

    fn forget_at(&self, session_id: &str, now: Instant) {
        let mut entries = self.lock();
        entries.by_session.remove(session_id);
        entries.revocations += 1;
        let count = entries.revocations;
        if entries.revoked.len() >= SESSION_CACHE_MAX {
            entries.drop_expired(now);
            if entries.revoked.len() >= SESSION_CACHE_MAX {
                // A burst of logouts: forget them all (reads under way are not cached).
                entries.drop_revocations(|_| false);
            }
        }
        entries.revoked.insert(session_id.to_owned(), (count, now));
        drop(entries);
        // After the count: a list read before it is either dropped here or not stored.
        self.forget_lists();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().expect("session cache lock")
    }
}

impl Entries {
    /// Whether the cache may serve at `now`: it hears revocations, and (when leased) knows
    /// them to be current.
    fn serves(&self, now: Instant) -> bool {
        !self.deaf && (!self.leased || self.trusted_until.is_some_and(|until| now < until))
    }

    /// Drops expired entries and old revocations, at most every [`SWEEP_EVERY`].
    fn sweep(&mut self, now: Instant) {
        if self
            .swept_at
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_EVERY)
        {
            return;
        }
        self.swept_at = Some(now);
        self.drop_expired(now);
    }

    /// Drops the sessions past [`SESSION_CACHE_TTL`] and the revocations past
    /// [`REVOKED_MEMORY`] at `now`.
    fn drop_expired(&mut self, now: Instant) {
        self.by_session
            .retain(|_, e| now.saturating_duration_since(e.fetched) < SESSION_CACHE_TTL);
        self.drop_revocations(|at| now.saturating_duration_since(at) < REVOKED_MEMORY);
    }

    /// Forgets the revocations `keep` (given when each was) does not keep. A read that started
    /// before one of them can no longer be checked against it, so no read that started before
    /// the newest of them is cached: however long a read takes, it never brings back a session
    /// revoked while it ran.
    fn drop_revocations(&mut self, keep: impl Fn(Instant) -> bool) {
        let mut newest_dropped = None;
        self.revoked.retain(|_, (count, at)| {
            let kept = keep(*at);
            if !kept {
                newest_dropped = newest_dropped.max(Some(*count));
            }
            kept
        });
        if let Some(count) = newest_dropped {
            self.cleared_at = self.cleared_at.max(count);
        }
    }

    /// Forgets every entry, and makes reads under way uncacheable.
    fn clear(&mut self) {
        self.by_session.clear();
        self.revocations += 1;
        self.cleared_at = self.revocations;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: i64) -> Arc<Profile> {
        let now = chrono::Utc::now();
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
            first_login_at: now,
            last_login_at: now,
            updated_at: now,
            shown: Default::default(),
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

    #[test]
    fn expired_entries_are_dropped_by_a_later_store_not_kept_until_the_cache_is_full() {
        let cache = SessionCache::default();
        let start = Instant::now();
        cache.store_at(cache.ticket(), "s1", profile(1), in_an_hour(), start);
        cache.forget_at("revoked", start);
        let soon = start + SESSION_CACHE_TTL / 2;
        cache.store_at(cache.ticket(), "s2", profile(2), in_an_hour(), soon);
        assert_eq!(cache.lock().by_session.len(), 2, "nothing expired yet");
        // s1 is past the TTL, s2 is not, and a sweep is due again.
        let later = start + SESSION_CACHE_TTL.max(SWEEP_EVERY) + Duration::from_secs(1);
        assert!(later - soon < SESSION_CACHE_TTL && later - soon >= SWEEP_EVERY);
        cache.store_at(cache.ticket(), "s3", profile(3), in_an_hour(), later);
        let entries = cache.lock();
        let mut kept: Vec<&str> = entries.by_session.keys().map(String::as_str).collect();
        kept.sort();
        assert_eq!(kept, ["s2", "s3"], "s1 expired and is dropped");
        assert!(entries.revoked.contains_key("revoked"), "remembered longer");
        drop(entries);
        let much_later = later + REVOKED_MEMORY;
        cache.store_at(cache.ticket(), "s4", profile(4), in_an_hour(), much_later);
        assert!(
            cache.lock().revoked.is_empty(),
            "an old revocation is dropped"
        );
    }

    #[test]
    fn a_read_older_than_a_forgotten_revocation_is_not_cached() {
        let cache = SessionCache::default();
        let start = Instant::now();
        // A read of s1 starts, and stalls...
        let stalled = cache.ticket();
        // ...s1 is logged out...
        cache.forget_at("s1", start);
        // ...and long after, that revocation is forgotten...
        let much_later = start + REVOKED_MEMORY + SWEEP_EVERY;
        cache.store_at(cache.ticket(), "s2", profile(2), in_an_hour(), much_later);
        assert!(cache.lock().revoked.is_empty());
        // ...when the stalled read arrives: it must not bring s1 back.
        cache.store_at(stalled, "s1", profile(1), in_an_hour(), much_later);
        assert!(!cache.lock().by_session.contains_key("s1"));
        assert!(
            cache.lock().by_session.contains_key("s2"),
            "a read after it is"
        );
    }

    #[test]
    fn a_following_cache_serves_only_while_its_lease_runs() {
        let cache = SessionCache::unfollowed();
        cache.follow();
        cache.store(cache.ticket(), "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_none(), "no lease yet");
        cache.renew_lease(Instant::now() + Duration::from_secs(60));
        assert!(cache.fresh("s1", 1).is_some(), "under a lease");
        let lapsed = SessionCache::unfollowed();
        lapsed.follow();
        lapsed.renew_lease(Instant::now());
        lapsed.store(lapsed.ticket(), "s1", profile(1), in_an_hour());
        assert!(lapsed.fresh("s1", 1).is_none(), "the lease ran out");
        cache.unfollow();
        cache.renew_lease(Instant::now() + Duration::from_secs(60));
        cache.store(cache.ticket(), "s1", profile(1), in_an_hour());
        assert!(
            cache.fresh("s1", 1).is_none(),
            "a deaf cache takes no lease"
        );
    }

    #[test]
    fn a_cache_that_cannot_hear_revocations_serves_nothing() {
        let cache = SessionCache::unfollowed();
        cache.store(cache.ticket(), "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_none(), "stored while deaf");
        cache.follow();
        cache.renew_lease(Instant::now() + Duration::from_secs(60));
        cache.store(cache.ticket(), "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_some(), "stored while following");
        cache.unfollow();
        assert!(cache.fresh("s1", 1).is_none(), "served while deaf");
    }

    #[test]
    fn a_read_that_started_before_the_listener_reconnected_is_not_cached() {
        let cache = SessionCache::unfollowed();
        // A read starts while the listener is down (a logout elsewhere may go unheard)...
        let ticket = cache.ticket();
        // ...the listener reconnects...
        cache.follow();
        cache.renew_lease(Instant::now() + Duration::from_secs(60));
        // ...and the read's result must not be trusted.
        cache.store(ticket, "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_none());
        cache.store(cache.ticket(), "s1", profile(1), in_an_hour());
        assert!(cache.fresh("s1", 1).is_some(), "a read after it is");
    }

    #[test]
    fn forgetting_all_sessions_drops_entries_and_reads_under_way() {
        let cache = SessionCache::default();
        cache.store(cache.ticket(), "s1", profile(1), in_an_hour());
        let ticket = cache.ticket();
        cache.forget_all();
        assert!(cache.fresh("s1", 1).is_none());
        cache.store(ticket, "s2", profile(2), in_an_hour());
        assert!(cache.fresh("s2", 2).is_none());
    }
}
