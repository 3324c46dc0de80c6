//! What the app knows of each session beyond its liveness: the tenant's `sid`, the browser, the
//! last activity (for the "Signed-in sessions" list), the lookups back-channel logout makes, and
//! the logout tokens already acted on.

use chrono::{DateTime, Utc};

use super::Database;
use crate::auth0::{LogoutTarget, SeenLogoutToken};

/// A live session of a user, as the sessions list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The last activity recorded (at most once a minute); `None` before the first.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
}

/// A live session a back-channel logout names: its id, its profile (the app's user id) and `sub`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedSession {
    pub id: String,
    pub profile_id: i64,
    pub sub: String,
}

/// The columns [`SessionRow`] reads.
const SESSION_ROW: &str = "id, created_at, last_seen_at, user_agent";

impl Database {
    /// Records activity on a live session at `at` (Unix seconds).
    pub async fn touch_session(&self, session_id: &str, at: i64) -> Result<(), sqlx::Error> {
        match self {
            Database::Sqlite(pool) => sqlx::query(
                "UPDATE user_sessions
                 SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?2, 'unixepoch')
                 WHERE id = ?1 AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            )
            .bind(session_id)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ()),
            Database::Postgres(pool) => sqlx::query(
                "UPDATE user_sessions SET last_seen_at = to_timestamp($2)
                 WHERE id = $1 AND expires_at > now()",
            )
            .bind(session_id)
            .bind(at as f64)
            .execute(pool)
            .await
            .map(|_| ()),
        }
    }

    /// The live sessions of a profile, the most recently active first.
    pub async fn live_sessions(&self, profile_id: i64) -> Result<Vec<SessionRow>, sqlx::Error> {
        match self {
            Database::Sqlite(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_ROW} FROM user_sessions
                     WHERE profile_id = ?1 AND expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                     ORDER BY coalesce(last_seen_at, created_at) DESC, created_at DESC"
                )))
                .bind(profile_id)
                .fetch_all(pool)
                .await
            }
            Database::Postgres(pool) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {SESSION_ROW} FROM user_sessions
                     WHERE profile_id = $1 AND expires_at > now()
                     ORDER BY coalesce(last_seen_at, created_at) DESC, created_at DESC"
                )))
                .bind(profile_id)
                .fetch_all(pool)
                .await
            }
        }
    }

    /// The live sessions of `target.issuer`'s users that a logout token names: by `sub`, by
    /// `sid`, or (both given) by both.
    pub async fn sessions_named(
        &self,
        target: &LogoutTarget<'_>,
    ) -> Result<Vec<NamedSession>, sqlx::Error> {
        match self {
            Database::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT s.id, s.profile_id, p.sub
                     FROM user_sessions s JOIN user_profiles p ON p.id = s.profile_id
                     WHERE p.issuer = ?1 AND (?2 IS NULL OR p.sub = ?2)
                       AND (?3 IS NULL OR s.sid = ?3)
                       AND s.expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                )
                .bind(target.issuer)
                .bind(target.sub)
                .bind(target.sid)
                .fetch_all(pool)
                .await
            }
            Database::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT s.id, s.profile_id, p.sub
                     FROM user_sessions s JOIN user_profiles p ON p.id = s.profile_id
                     WHERE p.issuer = $1 AND ($2::text IS NULL OR p.sub = $2)
                       AND ($3::text IS NULL OR s.sid = $3) AND s.expires_at > now()",
                )
                .bind(target.issuer)
                .bind(target.sub)
                .bind(target.sid)
                .fetch_all(pool)
                .await
            }
        }
    }

    /// Remembers a logout token (by issuer and `jti`) until `token.until`: `true` the first
    /// time, `false` if it is already remembered. Expired ones are swept first.
    pub async fn remember_logout_token(
        &self,
        token: &SeenLogoutToken<'_>,
    ) -> Result<bool, sqlx::Error> {
        let inserted = match self {
            Database::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(
                    "DELETE FROM logout_tokens_seen
                     WHERE expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                )
                .execute(&mut *tx)
                .await?;
                let done = sqlx::query(
                    "INSERT INTO logout_tokens_seen (issuer, jti, sid, sub, issued_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%fZ', ?5, 'unixepoch'),
                             strftime('%Y-%m-%dT%H:%M:%fZ', ?6, 'unixepoch'))
                     ON CONFLICT (issuer, jti) DO NOTHING",
                )
                .bind(token.issuer)
                .bind(token.jti)
                .bind(token.sid)
                .bind(token.sub)
                .bind(token.issued_at)
                .bind(token.until)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                done.rows_affected()
            }
            Database::Postgres(pool) => {
                sqlx::query("DELETE FROM logout_tokens_seen WHERE expires_at < now()")
                    .execute(pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO logout_tokens_seen (issuer, jti, sid, sub, issued_at, expires_at)
                     VALUES ($1, $2, $3, $4, to_timestamp($5), to_timestamp($6))
                     ON CONFLICT (issuer, jti) DO NOTHING",
                )
                .bind(token.issuer)
                .bind(token.jti)
                .bind(token.sid)
                .bind(token.sub)
                .bind(token.issued_at as f64)
                .bind(token.until as f64)
                .execute(pool)
                .await?
                .rows_affected()
            }
        };
        Ok(inserted == 1)
    }

    /// Forgets a logout token whose logout failed (the tenant may send it again).
    pub async fn forget_logout_token(
        &self,
        token: &SeenLogoutToken<'_>,
    ) -> Result<(), sqlx::Error> {
        let sql = "DELETE FROM logout_tokens_seen WHERE issuer = $1 AND jti = $2";
        match self {
            Database::Sqlite(pool) => sqlx::query(sql)
                .bind(token.issuer)
                .bind(token.jti)
                .execute(pool)
                .await
                .map(|_| ()),
            Database::Postgres(pool) => sqlx::query(sql)
                .bind(token.issuer)
                .bind(token.jti)
                .execute(pool)
                .await
                .map(|_| ()),
        }
    }
}
