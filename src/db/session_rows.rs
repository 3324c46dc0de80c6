//! What the app knows of each session beyond its liveness: the tenant's `sid`, the browser, the
//! last activity (for the "Signed-in sessions" list), the lookups back-channel logout makes, and
//! the logout tokens already acted on.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

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
    /// How pages show it, derived once (a cached list serves many pages).
    #[sqlx(skip)]
    shown: std::sync::OnceLock<ShownSession>,
}

/// What the sessions list shows of a session.
#[derive(Debug, Clone)]
pub struct ShownSession {
    /// Names the session in forms: a hash of its id (the id stays server-side).
    pub handle: String,
    /// "Firefox on Linux".
    pub browser: String,
    pub started: String,
    pub last_seen: String,
}

impl SessionRow {
    /// How pages show this session (derived on first use).
    pub fn shown(&self) -> &ShownSession {
        self.shown.get_or_init(|| {
            let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            ShownSession {
                handle: handle(&self.id),
                browser: describe_browser(self.user_agent.as_deref()),
                started: time(&self.created_at),
                last_seen: time(self.last_seen_at.as_ref().unwrap_or(&self.created_at)),
            }
        })
    }
}

/// A session's handle in pages: 128 bits of SHA-256 of its id, hex.
pub fn handle(session_id: &str) -> String {
    Sha256::digest(session_id.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// "Firefox on Linux", from a User-Agent: the browser and the system, roughly, as account pages
/// name sessions. Unknown parts are left out.
pub fn describe_browser(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Unknown browser".into();
    };
    let has = |needle: &str| ua.contains(needle);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("HeadlessChrome/") {
        "Headless Chrome"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        ""
    };
    let system = if has("Windows") {
        "Windows"
    } else if has("Android") {
        "Android"
    } else if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    // Not a known browser: the first product token (`curl/8.5.0` is "curl").
    let product: String;
    let browser = if browser.is_empty() {
        product = ua
            .split(['/', ' '])
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        product.as_str()
    } else {
        browser
    };
    match (browser.is_empty(), system.is_empty()) {
        (true, true) => "Unknown browser".into(),
        (false, true) => browser.to_owned(),
        (true, false) => format!("A browser on {system}"),
        (false, false) => format!("{browser} on {system}"),
    }
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
                let mut tx = pool.begin().await?;
                // After any login of this user or tenant session under way (see record_login).
                super::postgres::lock_logouts_of(&mut tx, token.issuer, token.sub, token.sid)
                    .await?;
                sqlx::query("DELETE FROM logout_tokens_seen WHERE expires_at < now()")
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query(
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
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                done.rows_affected()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_roughly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_browser(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                      Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe_browser(Some(chrome)), "Chrome on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_browser(Some(safari)), "Safari on iOS");
        assert_eq!(describe_browser(Some("curl/8.5.0")), "curl");
        assert_eq!(describe_browser(None), "Unknown browser");
    }

    #[test]
    fn a_handle_does_not_show_the_session_id() {
        let id = "0123456789abcdef0123456789abcdef0123456789a";
        let h = handle(id);
        assert_eq!(h.len(), 32);
        assert!(!id.contains(&h) && !h.contains(&id[..8]));
    }
}
