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
}

/// A live session's profile, read in one query with the session check.
#[derive(sqlx::FromRow)]
pub(super) struct SessionProfile {
    #[sqlx(flatten)]
    pub profile: Profile,
    pub session_expires_at: DateTime<Utc>,
}
