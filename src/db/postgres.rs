//! Postgres, the engine for more than one instance: the same tables as SQLite's, migrations under
//! an advisory lock (sqlx takes one), so instances that start together take turns; and a listener
//! that hears every session row that goes, so each instance drops it from its cache at once.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
/// How often each instance notifies a channel of its own, through the request pool, so its
/// listener hears something even when no session ends.
const HEARTBEAT: Duration = Duration::from_millis(200);
/// A listener that hears nothing for this long, not even its heartbeat, counts as lost: a
/// connection a NAT or firewall dropped without a word never reports an error, and would
/// otherwise leave the cache trusting itself while deaf. (Its last heartbeat came at most
/// [`HEARTBEAT`] before, so a revocation still reaches this instance within a second.)
const SILENCE_LIMIT: Duration = Duration::from_millis(700);
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
    let heartbeat_channel = format!("user_sessions_heartbeat_{:016x}", rand::random::<u64>());
    // On the Tokio runtime itself, not actix's local task set: sqlx's connections spawn a task
    // when dropped, which only works inside the runtime (actix drops its local tasks outside).
    tokio::spawn(heartbeat(pool.clone(), heartbeat_channel.clone()));
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
                tokio::time::timeout(LISTEN_TIMEOUT, listen(&listener_pool, &heartbeat_channel))
                    .await
                    .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut));
            match listening {
                Ok(mut listener) => {
                    cache.follow();
                    said_why = false;
                    tracing::info!("following session revocations ({REVOKED_CHANNEL})");
                    let why = loop {
                        match tokio::time::timeout(SILENCE_LIMIT, listener.try_recv()).await {
                            Err(_) => {
                                break format!(
                                    "nothing heard for {SILENCE_LIMIT:?}, not even this \
                                     instance's heartbeat"
                                )
                            }
                            Ok(Ok(Some(n))) if n.channel() != REVOKED_CHANNEL => {}
                            Ok(Ok(Some(n))) if n.payload().is_empty() => cache.forget_all(),
                            Ok(Ok(Some(n))) => cache.forget(n.payload()),
                            Ok(Ok(None)) => break "the connection closed".to_owned(),
                            Ok(Err(e)) => break e.to_string(),
                        }
                    };
                    cache.unfollow();
                    tracing::warn!("stopped following session revocations: {why}");
                }
                // Once per outage, not every retry.
                Err(e) if !said_why => {
                    said_why = true;
                    tracing::warn!(error = %e, "cannot listen for session revocations; retrying");
                }
                Err(_) => {}
            }
            // Closing sends a goodbye and closes the socket; on a dead connection it must not
            // hold up the next attempt.
            let _ = tokio::time::timeout(LISTEN_RETRY, listener_pool.close()).await;
            tokio::time::sleep(LISTEN_RETRY).await;
        }
    });
}

/// Notifies `channel` every [`HEARTBEAT`], for as long as the runtime runs. A failed or slow
/// notification is skipped: the listener then hears nothing and stops trusting the cache, which
/// is the safe side.
async fn heartbeat(pool: PgPool, channel: String) {
    let mut every = tokio::time::interval(HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let notify = sqlx::query("SELECT pg_notify($1, '')")
            .bind(&channel)
            .execute(&pool);
        let _ = tokio::time::timeout(HEARTBEAT, notify).await;
    }
}

/// Makes the cache deaf when dropped.
struct Unfollow(Arc<SessionCache>);

impl Drop for Unfollow {
    fn drop(&mut self) {
        self.0.unfollow();
    }
}

async fn listen(pool: &PgPool, heartbeat_channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Report a lost connection at once (this loop reconnects), not after a reconnect attempt.
    listener.eager_reconnect(false);
    listener
        .listen_all([REVOKED_CHANNEL, heartbeat_channel])
        .await?;
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
