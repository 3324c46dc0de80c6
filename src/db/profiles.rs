//! The user-profile table from django-auth0's roadmap: one row per user of an issuer.

use serde::Serialize;

use crate::auth0::Auth0Profile;

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
    pub claims: String,
    pub login_count: i64,
    pub first_login_at: String,
    pub last_login_at: String,
    pub updated_at: String,
}

/// Records a login: creates the row, or refreshes the claims and counts the login. Returns the id.
pub async fn upsert_profile(
    db: impl sqlx::SqliteExecutor<'_>,
    p: &Auth0Profile,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO user_profiles (issuer, sub, email, email_verified, name, nickname, picture,
             given_name, family_name, locale, claims, login_count,
             first_login_at, last_login_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1,
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
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
         RETURNING id",
    )
    .bind(&p.issuer)
    .bind(&p.sub)
    .bind(&p.email)
    .bind(p.email_verified)
    .bind(&p.name)
    .bind(&p.nickname)
    .bind(&p.picture)
    .bind(&p.given_name)
    .bind(&p.family_name)
    .bind(&p.locale)
    .bind(p.claims.to_string())
    .fetch_one(db)
    .await
}
