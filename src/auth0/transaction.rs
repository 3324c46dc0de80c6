//! A login in flight: what `/login` (or the Lock widget) started and `/callback` must finish.
//! It lives in the encrypted session cookie, is single-use, and expires after ten minutes.
//! Several can be pending at once, so two tabs that each started a login can both complete.

use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier};
use serde::{Deserialize, Serialize};

/// How long a user may take between starting a login and coming back to the callback, by
/// default (`Auth0Settings::login_max_age`).
pub const MAX_AGE_SECS: i64 = 10 * 60;
/// How many logins may be pending in one browser; the oldest is dropped past this. Each entry
/// costs ~200 bytes of cookie, and the whole cookie must stay under the browsers' 4 KiB.
pub const MAX_PENDING: usize = 4;

#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The OAuth `state`: binds the callback to this browser (CSRF protection).
    pub state: String,
    /// The OIDC `nonce`: binds the ID token to this login (replay protection).
    pub nonce: String,
    /// The PKCE `code_verifier` (RFC 7636): binds the code to this login.
    pub pkce_verifier: String,
    /// Where to go after the login: always a local path (see `redirect::local_path`).
    pub next: Option<String>,
    /// Unix seconds when the login started.
    pub created_at: i64,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("next", &self.next)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl PendingLogin {
    /// A fresh login with new random state, nonce and PKCE verifier.
    pub fn new(next: Option<String>) -> Self {
        let (_, verifier) = PkceCodeChallenge::new_random_sha256();
        Self {
            state: CsrfToken::new_random().into_secret(),
            nonce: Nonce::new_random().secret().clone(),
            pkce_verifier: verifier.into_secret(),
            next,
            created_at: now(),
        }
    }

    pub fn pkce_challenge(&self) -> PkceCodeChallenge {
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            self.pkce_verifier.clone(),
        ))
    }

    pub fn is_expired(&self, now: i64, max_age_secs: i64) -> bool {
        now - self.created_at > max_age_secs || self.created_at > now + 60
    }
}

/// Adds `login` to the pending ones, dropping expired entries and the oldest beyond the cap.
pub fn push(pending: &mut Vec<PendingLogin>, login: PendingLogin, max_age_secs: i64) {
    let now = now();
    pending.retain(|p| !p.is_expired(now, max_age_secs));
    pending.push(login);
    if pending.len() > MAX_PENDING {
        let excess = pending.len() - MAX_PENDING;
        pending.drain(..excess);
    }
}

/// Removes and returns the login with this state, if it exists and has not expired.
pub fn take(
    pending: &mut Vec<PendingLogin>,
    state: &str,
    max_age_secs: i64,
) -> Option<PendingLogin> {
    let now = now();
    let index = pending
        .iter()
        .position(|p| super::secure_eq(&p.state, state))?;
    let login = pending.remove(index);
    pending.retain(|p| !p.is_expired(now, max_age_secs));
    (!login.is_expired(now, max_age_secs)).then_some(login)
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_can_be_taken_once() {
        let mut pending = Vec::new();
        let login = PendingLogin::new(None);
        let state = login.state.clone();
        push(&mut pending, login, MAX_AGE_SECS);
        assert!(take(&mut pending, &state, MAX_AGE_SECS).is_some());
        assert!(take(&mut pending, &state, MAX_AGE_SECS).is_none());
    }

    #[test]
    fn an_expired_login_cannot_be_taken() {
        let mut pending = Vec::new();
        let mut login = PendingLogin::new(None);
        login.created_at -= MAX_AGE_SECS + 1;
        let state = login.state.clone();
        pending.push(login);
        assert!(take(&mut pending, &state, MAX_AGE_SECS).is_none());
        assert!(pending.is_empty());
    }

    #[test]
    fn the_oldest_logins_are_dropped_beyond_the_cap() {
        let mut pending = Vec::new();
        let first = PendingLogin::new(None);
        let first_state = first.state.clone();
        push(&mut pending, first, MAX_AGE_SECS);
        for _ in 0..MAX_PENDING {
            push(&mut pending, PendingLogin::new(None), MAX_AGE_SECS);
        }
        assert_eq!(pending.len(), MAX_PENDING);
        assert!(take(&mut pending, &first_state, MAX_AGE_SECS).is_none());
    }

    #[test]
    fn each_login_gets_its_own_secrets() {
        let (a, b) = (PendingLogin::new(None), PendingLogin::new(None));
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.pkce_verifier, b.pkce_verifier);
        assert!(a.pkce_verifier.len() >= 43, "RFC 7636 minimum length");
    }
}
