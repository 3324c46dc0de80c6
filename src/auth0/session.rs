//! The module's typed view of the session: which keys it owns and what they hold. For a
//! logged-in user: the app's user id, `sub` and the session id; never tokens or the profile.

use std::time::Duration;

use actix_session::{Session, SessionInsertError};
use serde::{Deserialize, Serialize};

use super::settings::{Auth0Settings, SessionLifetime};
use super::transaction::{self, PendingLogin};
use super::user::{AuthUser, UserOrganization};

const USER: &str = "auth0.user";
const LOGINS: &str = "auth0.logins";
const CSRF: &str = "auth0.csrf";

/// Last activity is written back at most this often (or a quarter of the idle timeout, if that
/// is shorter), so a busy session does not get a new cookie on every request; the idle timeout is
/// precise to this much.
pub const ACTIVITY_GRANULARITY_SECS: i64 = 60;

/// How often activity is recorded: [`ACTIVITY_GRANULARITY_SECS`], or a quarter of the idle
/// timeout if that is shorter (at least a second).
pub fn activity_granularity(lifetime: &SessionLifetime) -> i64 {
    ACTIVITY_GRANULARITY_SECS
        .min(lifetime.rolling.as_secs() as i64 / 4)
        .max(1)
}

/// The logged-in user as the cookie holds them, with the times the lifetimes are checked against.
/// In the cookie the user's fields sit beside the login's, one flat JSON object ([`Stored`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Stored", into = "Stored")]
pub struct LoggedIn {
    /// Who logged in.
    pub user: AuthUser,
    /// Unix seconds of the login.
    pub logged_in_at: i64,
    /// Unix seconds of the last request that used the session (to a minute).
    pub seen_at: i64,
    /// The issuer that logged the user in: a cookie from another tenant (sharing `SESSION_KEY`,
    /// say staging and production) is not a login here.
    pub iss: String,
    /// The client the login was for, likewise.
    pub aud: String,
    /// The ID token's `sid`: the tenant's session, named in RP-Initiated Logout's `logout_hint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// When the user last entered their credentials (the ID token's `auth_time`), Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// [`LoggedIn`] as the cookie holds it: [`AuthUser`]'s fields and the login's in one object,
/// the shape `#[serde(flatten)]` gives, read without serde's buffering of a flattened struct
/// (every request of a logged-in user reads it).
#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    sub: String,
    session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization: Option<UserOrganization>,
    logged_in_at: i64,
    seen_at: i64,
    iss: String,
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

impl From<Stored> for LoggedIn {
    fn from(s: Stored) -> Self {
        let user = AuthUser {
            id: s.id,
            sub: s.sub,
            session_id: s.session_id,
            organization: s.organization,
        };
        Self {
            user,
            logged_in_at: s.logged_in_at,
            seen_at: s.seen_at,
            iss: s.iss,
            aud: s.aud,
            sid: s.sid,
            auth_time: s.auth_time,
        }
    }
}

impl From<LoggedIn> for Stored {
    fn from(l: LoggedIn) -> Self {
        Self {
            id: l.user.id,
            sub: l.user.sub,
            session_id: l.user.session_id,
            organization: l.user.organization,
            logged_in_at: l.logged_in_at,
            seen_at: l.seen_at,
            iss: l.iss,
            aud: l.aud,
            sid: l.sid,
            auth_time: l.auth_time,
        }
    }
}

impl LoggedIn {
    /// When the absolute lifetime ends (Unix seconds).
    pub fn expires_at(&self, lifetime: &SessionLifetime) -> i64 {
        self.logged_in_at
            .saturating_add(lifetime.absolute.as_secs() as i64)
    }

    /// Whether this login came from the tenant and client of `settings`.
    pub fn is_for(&self, settings: &Auth0Settings) -> bool {
        self.iss == settings.issuer.as_str() && self.aud == settings.client_id
    }

    /// Whether the session is past its absolute lifetime or sat idle too long at `now`.
    pub fn is_expired(&self, now: i64, lifetime: &SessionLifetime) -> bool {
        let older_than = |since: i64, limit: Duration| now - since > limit.as_secs() as i64;
        older_than(self.logged_in_at, lifetime.absolute)
            || older_than(self.seen_at, lifetime.rolling)
            // A login time in the future is not one this app wrote.
            || self.logged_in_at > now + ACTIVITY_GRANULARITY_SECS
    }
}

/// A thin wrapper over [`Session`] with the module's keys. Unreadable values count as absent:
/// a session written by an older version must not turn into an error page.
pub struct AuthSession<'a>(pub &'a Session);

impl AuthSession<'_> {
    /// The user with the login's times, not yet checked (see [`LoggedIn::is_expired`]).
    pub fn logged_in(&self) -> Option<LoggedIn> {
        self.0.get(USER).ok().flatten()
    }

    /// Records activity at `now`, if the last record is older than the granularity; returns
    /// whether it did (at most once a granularity per session).
    pub fn touch(
        &self,
        mut logged_in: LoggedIn,
        now: i64,
        lifetime: &SessionLifetime,
    ) -> Result<bool, SessionInsertError> {
        if now - logged_in.seen_at < activity_granularity(lifetime) {
            return Ok(false);
        }
        logged_in.seen_at = now;
        self.0.insert(USER, logged_in).map(|()| true)
    }

    pub fn csrf_token(&self) -> Option<String> {
        self.0.get(CSRF).ok().flatten()
    }

    /// Logs `user` in: a new session id (no fixation), the user and a fresh logout CSRF token.
    pub fn log_in(
        &self,
        user: AuthUser,
        sid: Option<String>,
        auth_time: Option<i64>,
        settings: &Auth0Settings,
    ) -> Result<(), SessionInsertError> {
        self.0.renew();
        let now = transaction::now();
        let logged_in = LoggedIn {
            user,
            logged_in_at: now,
            seen_at: now,
            iss: settings.issuer.to_string(),
            aud: settings.client_id.clone(),
            sid,
            auth_time,
        };
        self.0.insert(USER, logged_in)?;
        let csrf = openidconnect::CsrfToken::new_random().into_secret();
        self.0.insert(CSRF, csrf)
    }

    /// Forgets everything: user, CSRF token and pending logins.
    pub fn log_out(&self) {
        self.0.purge();
    }

    /// Forgets the user of a dead or expired session but keeps the logins in flight: a page
    /// that then opens a Lock transaction (or a Universal Login started before) still works.
    /// (A purged session ignores later writes.)
    pub fn forget_user(&self) {
        self.0.remove(USER);
        self.0.remove(CSRF);
        self.0.renew();
    }

    pub fn push_login(
        &self,
        login: PendingLogin,
        max_age: Duration,
    ) -> Result<(), SessionInsertError> {
        let mut pending = self.pending();
        transaction::push(&mut pending, login, max_age.as_secs() as i64);
        self.0.insert(LOGINS, pending)
    }

    /// Removes the pending login with this state; `None` if unknown, used or expired.
    pub fn take_login(
        &self,
        state: &str,
        max_age: Duration,
    ) -> Result<Option<PendingLogin>, SessionInsertError> {
        let mut pending = self.pending();
        let login = transaction::take(&mut pending, state, max_age.as_secs() as i64);
        if pending.is_empty() {
            self.0.remove(LOGINS);
        } else {
            self.0.insert(LOGINS, pending)?;
        }
        Ok(login)
    }

    fn pending(&self) -> Vec<PendingLogin> {
        self.0.get(LOGINS).ok().flatten().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cookie's JSON is the one earlier versions wrote (the user's fields flattened beside
    /// the login's): sessions made before an upgrade stay logged in, and back.
    #[test]
    fn a_logged_in_user_keeps_its_cookie_shape() {
        let written = r#"{"id":"7","sub":"auth0|1","session_id":"s","organization":{"id":"org_1","name":"Acme"},"logged_in_at":10,"seen_at":20,"iss":"https://t.example/","aud":"c","sid":"x","auth_time":5}"#;
        let read: LoggedIn = serde_json::from_str(written).unwrap();
        assert_eq!(
            read.user,
            AuthUser {
                id: "7".into(),
                sub: "auth0|1".into(),
                session_id: "s".into(),
                organization: Some(UserOrganization {
                    id: "org_1".into(),
                    name: Some("Acme".into()),
                }),
            }
        );
        assert_eq!(
            (
                read.logged_in_at,
                read.seen_at,
                read.sid.as_deref(),
                read.auth_time
            ),
            (10, 20, Some("x"), Some(5))
        );
        assert_eq!(serde_json::to_string(&read).unwrap(), written);
        // A field a later version adds is ignored, not a logout.
        let newer = written.replace(r#""id":"7","#, r#""id":"7","added_later":[1],"#);
        let read_newer: LoggedIn = serde_json::from_str(&newer).unwrap();
        assert_eq!(serde_json::to_string(&read_newer).unwrap(), written);
        let minimal = r#"{"id":"7","sub":"auth0|1","session_id":"s","logged_in_at":10,"seen_at":20,"iss":"https://t.example/","aud":"c"}"#;
        let read: LoggedIn = serde_json::from_str(minimal).unwrap();
        assert_eq!(serde_json::to_string(&read).unwrap(), minimal);
        assert_eq!(
            (read.user.organization, read.sid, read.auth_time),
            (None, None, None)
        );
    }
}
