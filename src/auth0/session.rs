//! The module's typed view of the session: which keys it owns and what they hold. For a
//! logged-in user: the app's user id, `sub` and the session id; never tokens or the profile.

use std::time::Duration;

use actix_session::Session;

use super::extractor::AuthUser;
use super::transaction::{self, PendingLogin};

const USER: &str = "auth0.user";
const LOGINS: &str = "auth0.logins";
const CSRF: &str = "auth0.csrf";

/// A thin wrapper over [`Session`] with the module's keys. Unreadable values count as absent:
/// a session written by an older version must not turn into an error page.
pub struct AuthSession<'a>(pub &'a Session);

impl AuthSession<'_> {
    /// The user this session logged in, not yet checked with the backend (use the extractors).
    pub fn user(&self) -> Option<AuthUser> {
        self.0.get(USER).ok().flatten()
    }

    pub fn csrf_token(&self) -> Option<String> {
        self.0.get(CSRF).ok().flatten()
    }

    /// Logs `user` in: a new session id (no fixation), the user and a fresh logout CSRF token.
    pub fn log_in(&self, user: &AuthUser) -> Result<(), String> {
        self.0.renew();
        self.0.insert(USER, user).map_err(|e| e.to_string())?;
        let csrf = openidconnect::CsrfToken::new_random().into_secret();
        self.0.insert(CSRF, csrf).map_err(|e| e.to_string())
    }

    /// Forgets everything: user, CSRF token and pending logins.
    pub fn log_out(&self) {
        self.0.purge();
    }

    pub fn push_login(&self, login: PendingLogin, max_age: Duration) -> Result<(), String> {
        let mut pending = self.pending();
        transaction::push(&mut pending, login, max_age.as_secs() as i64);
        self.0.insert(LOGINS, pending).map_err(|e| e.to_string())
    }

    /// Removes the pending login with this state; `None` if unknown, used or expired.
    pub fn take_login(
        &self,
        state: &str,
        max_age: Duration,
    ) -> Result<Option<PendingLogin>, String> {
        let mut pending = self.pending();
        let login = transaction::take(&mut pending, state, max_age.as_secs() as i64);
        if pending.is_empty() {
            self.0.remove(LOGINS);
        } else {
            self.0.insert(LOGINS, pending).map_err(|e| e.to_string())?;
        }
        Ok(login)
    }

    fn pending(&self) -> Vec<PendingLogin> {
        self.0.get(LOGINS).ok().flatten().unwrap_or_default()
    }
}
