//! The module's typed view of the session: which keys it owns and what they hold. Only the
//! user's app id and `sub` are stored for a logged-in user, never tokens or the whole profile.

use actix_session::Session;
use serde::{Deserialize, Serialize};

use super::transaction::{self, PendingLogin};

const USER: &str = "auth0.user";
const LOGINS: &str = "auth0.logins";
const CSRF: &str = "auth0.csrf";

/// The logged-in user as the session knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    /// The id the app's backend returned for this user.
    pub id: String,
    /// Auth0's subject identifier (`sub`), e.g. `auth0|64b1...`.
    pub sub: String,
}

/// A thin wrapper over [`Session`] with the module's keys. Unreadable values count as absent:
/// a session written by an older version must not turn into an error page.
pub struct AuthSession<'a>(pub &'a Session);

impl AuthSession<'_> {
    pub fn user(&self) -> Option<SessionUser> {
        self.0.get(USER).ok().flatten()
    }

    pub fn csrf_token(&self) -> Option<String> {
        self.0.get(CSRF).ok().flatten()
    }

    /// Logs `user` in: a new session id (no fixation), the user and a fresh logout CSRF token.
    pub fn log_in(&self, user: &SessionUser) -> Result<(), String> {
        self.0.renew();
        self.0.insert(USER, user).map_err(|e| e.to_string())?;
        let csrf = openidconnect::CsrfToken::new_random().into_secret();
        self.0.insert(CSRF, csrf).map_err(|e| e.to_string())
    }

    /// Forgets everything: user, CSRF token and pending logins.
    pub fn log_out(&self) {
        self.0.purge();
    }

    pub fn push_login(&self, login: PendingLogin) -> Result<(), String> {
        let mut pending = self.pending();
        transaction::push(&mut pending, login);
        self.0.insert(LOGINS, pending).map_err(|e| e.to_string())
    }

    /// Removes the pending login with this state; `None` if unknown, used or expired.
    pub fn take_login(&self, state: &str) -> Result<Option<PendingLogin>, String> {
        let mut pending = self.pending();
        let login = transaction::take(&mut pending, state);
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
