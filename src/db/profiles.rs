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
    /// How pages show it, derived once (a cached profile serves many pages).
    #[sqlx(skip)]
    #[serde(skip)]
    pub(super) shown: std::sync::OnceLock<Shown>,
}

/// What pages show of a profile that takes work to derive: parsing the picture's URL and
/// pretty-printing the claims cost more than the rest of a page together.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    /// The claims as pretty-printed JSON (as stored, if they do not parse), HTML-escaped by
    /// askama's escaper once here rather than on every page (the page's largest text).
    pub claims_html: String,
    /// The picture, if it is an absolute http(s) URL, else [`PLACEHOLDER_AVATAR`]: safe in `src`.
    pub picture_url: String,
    /// The times as RFC 3339, UTC, milliseconds.
    pub first_login_at: String,
    pub last_login_at: String,
}

/// `text` escaped for HTML, as askama escapes a `{{ value }}`.
fn escape_html(text: &str) -> String {
    match askama::filters::escape(text, askama::filters::Html) {
        Ok(escaped) => escaped.to_string(),
        Err(never) => match never {},
    }
}

/// Shown where a profile has no picture, or one that is not a plain http(s) URL.
pub const PLACEHOLDER_AVATAR: &str = "/static/avatar.svg";

impl Profile {
    /// How pages show this profile (derived on first use).
    pub fn shown(&self) -> &Shown {
        self.shown.get_or_init(|| Shown {
            claims_html: escape_html(
                &serde_json::from_str::<serde_json::Value>(&self.claims)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| self.claims.clone()),
            ),
            picture_url: safe_picture(self.picture.as_deref()),
            first_login_at: shown_time(&self.first_login_at),
            last_login_at: shown_time(&self.last_login_at),
        })
    }
}

/// `picture` comes from the identity provider: only an absolute http(s) URL goes into `src`.
pub fn safe_picture(picture: Option<&str>) -> String {
    picture
        .and_then(|p| url::Url::parse(p).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .map_or_else(|| PLACEHOLDER_AVATAR.to_owned(), |u| u.to_string())
}

fn shown_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A live session's profile, read in one query with the session check.
#[derive(sqlx::FromRow)]
pub(super) struct SessionProfile {
    #[sqlx(flatten)]
    pub profile: Profile,
    pub session_expires_at: DateTime<Utc>,
}
