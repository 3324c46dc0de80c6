//! The database, chosen by `DATABASE_URL`'s scheme: SQLite (`sqlite://`, the embedded default,
//! one machine) or Postgres (`postgres://`, for several instances). The same tables on both
//! (`migrations/<engine>/`, run at startup), the same behaviour: a login's profile write is one
//! upsert statement, in one transaction with its session row, so nothing is ever half-written
//! and concurrent logins count exactly. Live sessions are cached per process (`sessions.rs`);
//! on Postgres every instance hears each revocation at once.

/// A login's profile upsert, for both engines: `INSERT ... VALUES ($values) ON CONFLICT (issuer,
/// sub) DO UPDATE ... RETURNING ...`, one statement, so concurrent logins of a user count
/// exactly. Only the `VALUES` (placeholders, the clock) and the `RETURNING` columns differ between
/// the dialects.
macro_rules! profile_upsert {
    ($values:literal, $returning:literal) => {
        concat!(
            "INSERT INTO user_profiles (issuer, sub, email, email_verified, name, nickname,
                 picture, given_name, family_name, locale, claims, login_count,
                 first_login_at, last_login_at, updated_at)
             VALUES (",
            $values,
            ")
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
             RETURNING ",
            $returning
        )
    };
}

/// Binds a login's profile to [`profile_upsert!`]'s eleven placeholders, in their order.
macro_rules! bind_profile {
    ($query:expr, $p:expr) => {
        $query
            .bind(&$p.issuer)
            .bind(&$p.sub)
            .bind(&$p.email)
            .bind($p.email_verified)
            .bind(&$p.name)
            .bind(&$p.nickname)
            .bind(&$p.picture)
            .bind(&$p.given_name)
            .bind(&$p.family_name)
            .bind(&$p.locale)
            .bind($p.claims.to_string())
    };
}

/// Expired session rows are swept by a login at most this often (per process): the sweep is a
/// statement, and an expired row is refused by every read anyway.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Whether a login should sweep expired sessions now (and counts it as done). On the monotonic
/// clock: a wall clock stepped back must not stop the sweeps.
fn sweep_due() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    // Seconds since START of the last sweep, plus one (0: never).
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_secs() + 1;
    let last = LAST.load(Ordering::Relaxed);
    (last == 0 || now >= last + SWEEP_EVERY.as_secs())
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

mod postgres;
mod profiles;
mod session_rows;
mod sessions;
mod sqlite;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgPool, SqlitePool};

use crate::auth0::{Auth0Profile, NewSession};

pub use postgres::ACQUIRE_TIMEOUT as POSTGRES_ACQUIRE_TIMEOUT;
pub use profiles::{safe_picture, Profile, Shown, PLACEHOLDER_AVATAR};
pub use session_rows::{describe_browser, handle, NamedSession, SessionRow, ShownSession};
pub use sessions::{SessionCache, Ticket, SESSION_CACHE_TTL};

/// The two engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a `DATABASE_URL` names, by its scheme.
    pub fn of_url(url: &str) -> Option<Engine> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Engine::Sqlite),
            "postgres" | "postgresql" => Some(Engine::Postgres),
            _ => None,
        }
    }
}

/// A `DATABASE_URL` fit for a log line or an error: the password (in the user info or a
/// `password` parameter) replaced; a URL that does not parse shows only its scheme, since a
/// password with `/`, `#` or `?` in it is what makes it fail to parse.
pub fn redacted(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        return format!("{scheme}:(the rest withheld: it may hold a password)");
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("redacted"));
    }
    if parsed.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" {
                    "redacted".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// An open database: a pool of either engine.
#[derive(Clone)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Database {
    /// Opens the database `url` names (creating an SQLite file and its folder; a Postgres
    /// database must exist) and runs pending migrations.
    pub async fn connect(url: &str) -> Result<Database, sqlx::Error> {
        match Engine::of_url(url) {
            Some(Engine::Postgres) => postgres::connect(url).await.map(Database::Postgres),
            _ => sqlite::connect(url).await.map(Database::Sqlite),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Database::Sqlite(_) => Engine::Sqlite,
            Database::Postgres(_) => Engine::Postgres,
        }
    }

    /// A session cache for this database. On Postgres it follows revocations from every
    /// instance (and serves nothing while it cannot); on SQLite it trusts a session for
    /// [`SESSION_CACHE_TTL`], the delay with which a logout in another process is seen.
    pub fn session_cache(&self) -> Arc<SessionCache> {
        match self {
            Database::Sqlite(_) => Arc::new(SessionCache::default()),
            Database::Postgres(pool) => {
                let cache = Arc::new(SessionCache::unfollowed());
                postgres::follow_revocations(pool, cache.clone());
                cache
            }
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        const PING: &str = "SELECT 1";
        match self {
            Database::Sqlite(pool) => sqlx::query(PING).execute(pool).await.map(|_| ()),
            Database::Postgres(pool) => sqlx::query(PING).execute(pool).await.map(|_| ()),
        }
    }

    /// The pool's connections: (open, idle).
    pub fn connections(&self) -> (u32, u32) {
        match self {
            Database::Sqlite(pool) => (pool.size(), pool.num_idle() as u32),
            Database::Postgres(pool) => (pool.size(), pool.num_idle() as u32),
        }
    }

    /// Records a login and its session (expiring after `lifetime`, the module's absolute session
    /// lifetime) in one transaction, and sweeps expired sessions now and then. Returns the
    /// stored profile and when the session expires (the page after a login needs no query);
    /// `None`, writing nothing, for a login a remembered logout token ended already (its `sid`,
    /// or its user since before it authenticated).
    pub async fn record_login(
        &self,
        profile: &Auth0Profile,
        session: &NewSession,
        lifetime: Duration,
    ) -> Result<Option<(Profile, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
        match self {
            Database::Sqlite(pool) => sqlite::record_login(pool, profile, session, lifetime).await,
            Database::Postgres(pool) => {
                postgres::record_login(pool, profile, session, lifetime).await
            }
        }
    }

    /// The profile of a live session (its row exists for this profile and has not expired), and
    /// when the session expires; read in one query.
    pub async fn session_profile(
        &self,
        session_id: &str,
        profile_id: i64,
    ) -> Result<Option<(Profile, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
        match self {
            Database::Sqlite(pool) => sqlite::session_profile(pool, session_id, profile_id).await,
            Database::Postgres(pool) => {
                postgres::session_profile(pool, session_id, profile_id).await
            }
        }
    }

    /// Deletes a session row (logout, revocation).
    pub async fn end_session(&self, session_id: &str) -> Result<(), sqlx::Error> {
        match self {
            Database::Sqlite(pool) => sqlite::end_session(pool, session_id).await,
            Database::Postgres(pool) => postgres::end_session(pool, session_id).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_engine() {
        assert_eq!(Engine::of_url("sqlite://data/app.db"), Some(Engine::Sqlite));
        assert_eq!(Engine::of_url("sqlite::memory:"), Some(Engine::Sqlite));
        assert_eq!(Engine::of_url("postgres://u@h/db"), Some(Engine::Postgres));
        assert_eq!(
            Engine::of_url("PostgreSQL://u@h/db"),
            Some(Engine::Postgres)
        );
        assert_eq!(Engine::of_url("mysql://u@h/db"), None);
        assert_eq!(Engine::of_url("data/app.db"), None);
    }

    #[test]
    fn a_password_never_reaches_a_log_line() {
        let shown = redacted("postgres://app:s3cr3t@db.internal:5432/app");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("app:redacted@db.internal"), "{shown}");
        assert_eq!(redacted("sqlite://data/app.db"), "sqlite://data/app.db");
        for url in [
            "postgres://app:s3/cr3t@db/app",
            "postgres://app:s3#cr3t@db/app",
            "postgres://app:s3?cr3t@db/app",
            "postgres://app:s3cr3t@db:99999/app",
            "postgres://db/app?sslmode=require&password=s3cr3t",
        ] {
            let shown = redacted(url);
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("cr3t"),
                "{url}: {shown}"
            );
        }
    }
}
