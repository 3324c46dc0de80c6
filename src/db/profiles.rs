//! The user-profile table from django-auth0's roadmap: one row per user of an issuer.

use chrono::{DateTime, Utc};
use serde::Serialize;

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
    /// Every claim userinfo returned at the last login, as a JSON object.
    pub claims: String,
    pub login_count: i64,
    pub first_login_at: DateTime<Utc>,
    pub last_login_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `claims`, pretty-printed once (a cached profile serves many pages).
    #[sqlx(skip)]
    #[serde(skip)]
    pub(super) claims_pretty: std::sync::OnceLock<String>,
}

impl Profile {
    /// The claims as pages show them: pretty-printed JSON (as stored, if it does not parse).
    pub fn claims_pretty(&self) -> &str {
        self.claims_pretty.get_or_init(|| {
            serde_json::from_str::<serde_json::Value>(&self.claims)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| self.claims.clone())
        })
    }
}

/// A live session's profile, read in one query with the session check.
#[derive(sqlx::FromRow)]
pub(super) struct SessionProfile {
    #[sqlx(flatten)]
    pub profile: Profile,
    pub session_expires_at: DateTime<Utc>,
}
