//! Postgres, the engine for more than one instance: the same tables as SQLite's, migrations under
//! an advisory lock (sqlx takes one), so instances that start together take turns; and a listener
//! that hears every session row that goes, so each instance drops it from its cache at once.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;

use super::profiles::{Profile, SessionProfile};
use super::sessions::SessionCache;
use crate::auth0::{Auth0Profile, NewSession};

/// Connections per instance: a login holds one for its transaction (a few milliseconds).
const MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a connection: with the server down, pages that need it answer
/// 503 within this (sqlx retries the connection until then).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The channel the `user_sessions` trigger notifies (see the migration).
const REVOKED_CHANNEL: &str = "user_sessions_revoked";
/// How long the listener waits before reconnecting after it lost the server.
const LISTEN_RETRY: Duration = Duration::from_millis(500);
/// How often the listener probes its connection: it notifies a channel of its own, through that
/// connection, and hears the notification back after every revocation committed before it.
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// How long after a probe was sent the cache may serve, once the probe came back: a revocation
/// committed after that probe is heard by the next one, or the cache stops serving. The bound
/// on how stale a cached session can be, whatever the path does (drops, delays, or a task that
/// stalls).
const LEASE: Duration = Duration::from_millis(700);
/// A probe not back within this means the connection is lost: a new one listens. (A late probe
/// only lets the lease run out first.)
const PROBE_GIVE_UP: Duration = Duration::from_secs(3);
/// How long connecting and `LISTEN` may take before the attempt is given up and retried.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects (the database must exist) and runs pending migrations.
pub async fn connect(database_url: &str) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(database_url)?;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}

/// Keeps `cache` in step with the database for as long as the runtime runs: listens on the
/// revocation channel and forgets each session named there. While the listener is not
/// connected, nothing could tell this instance of a logout elsewhere, so the cache serves
/// nothing (every request asks the database) until it listens again.
pub fn follow_revocations(pool: &PgPool, cache: Arc<SessionCache>) {
    let options = (*pool.connect_options()).clone();
    let probe_channel = format!("user_sessions_probe_{:016x}", rand::random::<u64>());
    // On the Tokio runtime itself, not actix's local task set: sqlx's connections spawn a task
    // when dropped, which only works inside the runtime (actix drops its local tasks outside).
    tokio::spawn(async move {
        // Should this task ever end (a panic), the cache must not go on trusting itself.
        let _deaf_when_gone = Unfollow(cache.clone());
        let mut said_why = false;
        loop {
            // Its own connection, outside the pool that serves requests, and a new one each
            // time: a connection that went silent must not come back from a pool.
            let listener_pool = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(options.clone());
            let listening =
                tokio::time::timeout(LISTEN_TIMEOUT, listen(&listener_pool, &probe_channel))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {LISTEN_TIMEOUT:?}")));
            let why = match listening {
                Ok(mut listener) => {
                    let (followed, why) = follow(&mut listener, &probe_channel, &cache).await;
                    cache.unfollow();
                    if followed {
                        said_why = false;
                        tracing::warn!("stopped following session revocations: {why}");
                        None
                    } else {
                        Some(why)
                    }
                }
                Err(why) => Some(why),
            };
            // Once per outage, not every retry.
            if let Some(why) = why.filter(|_| !said_why) {
                said_why = true;
                tracing::warn!("cannot follow session revocations ({why}); retrying");
            }
            // Closing marks the pool closed at once (the listener's connection is closed, not
            // kept), then says goodbye; on a dead connection that must not hold up the retry.
            let _ = tokio::time::timeout(LISTEN_RETRY, listener_pool.close()).await;
            tokio::time::sleep(LISTEN_RETRY).await;
        }
    });
}

/// Follows revocations on `listener` until its connection is lost: whether the cache followed
/// at all, and why it stopped.
///
/// Every [`PROBE_EVERY`] the listener notifies `probe_channel` through its own connection.
/// Postgres delivers a connection's notifications in commit order, so a probe heard back means
/// every revocation committed before it was sent has been heard: the cache may serve for
/// [`LEASE`] from that moment. A connection a NAT or firewall dropped without a word, a path that
/// delivers late, or this task stalling all end the same way: the lease runs out. The cache
/// follows only once the first probe came back (a `LISTEN` behind a pooler may never deliver).
async fn follow(
    listener: &mut PgListener,
    probe_channel: &str,
    cache: &SessionCache,
) -> (bool, String) {
    let mut following = false;
    // When the probe in flight was sent and what it says, and when the next one is due.
    let mut in_flight: Option<(Instant, String)> = None;
    let mut next_probe = Instant::now();
    let why = loop {
        let deadline = match &in_flight {
            Some((sent, _)) => *sent + PROBE_GIVE_UP,
            None => next_probe,
        };
        match tokio::time::timeout_at(deadline.into(), listener.try_recv()).await {
            Ok(Ok(Some(n))) if n.channel() == REVOKED_CHANNEL => {
                if n.payload().is_empty() {
                    cache.forget_all();
                } else {
                    cache.forget(n.payload());
                }
            }
            Ok(Ok(Some(n))) if n.channel() == probe_channel => {
                // Only the probe in flight renews the lease: not one an earlier connection of
                // this process sent, which may commit late, after this one listens.
                let ours = in_flight
                    .as_ref()
                    .is_some_and(|(_, said)| said == n.payload());
                if let Some((sent, _)) = in_flight.take_if(|_| ours) {
                    if !following {
                        following = true;
                        cache.follow();
                        tracing::info!("following session revocations ({REVOKED_CHANNEL})");
                    }
                    cache.renew_lease(sent + LEASE);
                    next_probe = sent + PROBE_EVERY;
                }
            }
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => break "the connection closed".to_owned(),
            Ok(Err(e)) => break e.to_string(),
            Err(_deadline) if in_flight.is_some() => {
                break format!("its probe did not come back within {PROBE_GIVE_UP:?}")
            }
            Err(_deadline) => {
                let sent = Instant::now();
                let says = format!("{:016x}", rand::random::<u64>());
                if let Err(e) = probe(listener, probe_channel, &says).await {
                    break e;
                }
                in_flight = Some((sent, says));
            }
        }
    };
    (following, why)
}

/// Notifies `channel` with `says` through the listener's own connection, within
/// [`PROBE_GIVE_UP`].
async fn probe(listener: &mut PgListener, channel: &str, says: &str) -> Result<(), String> {
    let notify = sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(says)
        .execute(&mut *listener);
    match tokio::time::timeout(PROBE_GIVE_UP, notify).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("its probe failed: {e}")),
        Err(_) => Err(format!("its probe got no answer within {PROBE_GIVE_UP:?}")),
    }
}

/// Makes the cache deaf when dropped.
struct Unfollow(Arc<SessionCache>);

impl Drop for Unfollow {
    fn drop(&mut self) {
        self.0.unfollow();
    }
}

async fn listen(pool: &PgPool, probe_channel: &str) -> Result<PgListener, String> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(|e| e.to_string())?;
    // Report a lost connection at once (this loop reconnects), not after a reconnect attempt.
    listener.eager_reconnect(false);
    // A probe is a transaction of its own: its commit need not wait for the disk.
    sqlx::query("SET synchronous_commit = off")
        .execute(&mut listener)
        .await
        .map_err(|e| e.to_string())?;
    listener
        .listen_all([REVOKED_CHANNEL, probe_channel])
        .await
        .map_err(|e| e.to_string())?;
    Ok(listener)
}

/// Records a login in one transaction: the profile upsert (one statement; Postgres makes
/// concurrent upserts of one row take turns, so each login counts), the session row, and now and
/// then a sweep of expired sessions.
pub async fn record_login(
    pool: &PgPool,
    p: &Auth0Profile,
    session: &NewSession,
    lifetime: Duration,
) -> Result<Option<(Profile, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A logout token naming this user or tenant session waits for this transaction (it takes
    // the same locks), so its session lookup sees the session this login adds; a token that
    // came first is seen here.
    lock_logouts_of(&mut tx, &p.issuer, Some(&p.sub), session.sid.as_deref()).await?;
    let ended: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM logout_tokens_seen
         WHERE issuer = $1 AND expires_at > now()
           AND ((sid IS NOT NULL AND sid = $2 AND (sub IS NULL OR sub = $3))
             OR (sid IS NULL AND sub = $3 AND issued_at >= to_timestamp($4)))
         LIMIT 1",
    )
    .bind(&p.issuer)
    .bind(&session.sid)
    .bind(&p.sub)
    .bind(session.authenticated_at as f64)
    .fetch_optional(&mut *tx)
    .await?;
    if ended.is_some() {
        return Ok(None);
    }
    let profile: Profile = bind_profile!(
        sqlx::query_as(profile_upsert!(
            "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, 1, now(), now(), now()",
            "id, issuer, sub, email, email_verified, name, nickname, picture, given_name,
         family_name, locale, claims::text AS claims, login_count, first_login_at, last_login_at,
         updated_at"
        )),
        p
    )
    .fetch_one(&mut *tx)
    .await?;
    let expires_at = sqlx::query_scalar(
        "INSERT INTO user_sessions (id, profile_id, created_at, expires_at, sid, user_agent)
         VALUES ($1, $2, now(), now() + make_interval(secs => $3), $4, $5)
         RETURNING expires_at",
    )
    .bind(&session.id)
    .bind(profile.id)
    .bind(lifetime.as_secs_f64())
    .bind(&session.sid)
    .bind(&session.user_agent)
    .fetch_one(&mut *tx)
    .await?;
    if super::sweep_due() {
        sqlx::query("DELETE FROM user_sessions WHERE expires_at < now()")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some((profile, expires_at)))
}

/// Takes the transaction-scoped advisory locks that order a login and a logout token naming the
/// same user (`sub`) or tenant session (`sid`), always in that order.
pub(super) async fn lock_logouts_of(
    tx: &mut sqlx::PgConnection,
    issuer: &str,
    sub: Option<&str>,
    sid: Option<&str>,
) -> Result<(), sqlx::Error> {
    for (kind, value) in [("sub", sub), ("sid", sid)] {
        if let Some(value) = value {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("auth0-logout {issuer} {kind} {value}"))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// The profile of a live session, and when the session expires.
pub async fn session_profile(
    pool: &PgPool,
    session_id: &str,
    profile_id: i64,
) -> Result<Option<(Profile, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    let row: Option<SessionProfile> = sqlx::query_as(
        "SELECT p.id, p.issuer, p.sub, p.email, p.email_verified, p.name, p.nickname, p.picture,
                p.given_name, p.family_name, p.locale, p.claims::text AS claims, p.login_count,
                p.first_login_at, p.last_login_at, p.updated_at,
                s.expires_at AS session_expires_at
         FROM user_sessions s JOIN user_profiles p ON p.id = s.profile_id
         WHERE s.id = $1 AND s.profile_id = $2 AND s.expires_at > now()",
    )
    .bind(session_id)
    .bind(profile_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.profile, r.session_expires_at)))
}

/// Deletes the session row; its trigger tells every instance.
pub async fn end_session(pool: &PgPool, session_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_sessions WHERE id = $1")
        .bind(session_id)
        .execute(pool)
        .await
        .map(|_| ())
}
