//! A login in flight: what `/login` (or the Lock widget) started and `/callback` must finish.
//! It lives in the encrypted session cookie, is single-use, and expires after ten minutes.
//! Several can be pending at once, so two tabs that each started a login can both complete.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};
use serde::{Deserialize, Serialize};

/// How many Universal Logins (`/login`) may be pending in one browser; the oldest is dropped
/// past this (or past [`MAX_PENDING_BYTES`]).
pub const MAX_PENDING: usize = 4;
/// How many Lock transactions may be pending: one per home page still open. They are counted
/// apart, so reloading the home page never evicts a Universal Login in flight.
pub const MAX_PENDING_LOCK: usize = 2;
/// The most the pending Universal Logins may take, serialised. The session cookie must stay under
/// the browsers' 4,096 bytes (a larger one is silently dropped) once encrypted and base64-encoded
/// (x4/3, plus 28 bytes): about 3,000 bytes of session data in all. Lock entries (~200 bytes each,
/// no `next`) and the logged-in user (~300) share the rest with what the host app stores.
pub const MAX_PENDING_BYTES: usize = 1600;

/// Which way a login was started: Universal Login or the embedded Lock widget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Started {
    /// `GET /login`, a redirect to Universal Login.
    #[default]
    Universal,
    /// The Lock widget on a page (a transaction opened per page load).
    Lock,
}

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
    /// Universal Login or Lock (they are bounded separately).
    #[serde(default)]
    pub started: Started,
    /// `max_age` sent with the login: the ID token's `auth_time` must be within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// The organization id the ID token's `org_id` must be (`AUTH0_ORGANIZATION`, an invitation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// The organization name the ID token's `org_name` must be (ignoring case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
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
    /// A fresh Universal Login with new random state, nonce and PKCE verifier.
    pub fn new(next: Option<String>) -> Self {
        Self::started(Started::Universal, next)
    }

    /// A fresh login started this way.
    pub fn started(started: Started, next: Option<String>) -> Self {
        // As openidconnect makes them (`CsrfToken::new_random`, `Nonce::new_random`,
        // `PkceCodeChallenge::new_random_sha256`): 16, 16 and 32 random bytes, base64url. Drawn
        // here in one call, and the challenge is not hashed until a page or URL needs it.
        let mut bytes = [0u8; 64];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        let encode = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        Self {
            state: encode(&bytes[..16]),
            nonce: encode(&bytes[16..32]),
            pkce_verifier: encode(&bytes[32..]),
            next,
            created_at: now(),
            started,
            max_age: None,
            org_id: None,
            org_name: None,
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

/// Adds `login` to the pending ones, dropping expired entries, then the oldest of the same kind
/// beyond its count and the oldest Universal Logins beyond [`MAX_PENDING_BYTES`]. The new login is
/// always kept, and a Lock transaction never evicts a Universal Login.
pub fn push(pending: &mut Vec<PendingLogin>, login: PendingLogin, max_age_secs: i64) {
    let now = now();
    pending.retain(|p| !p.is_expired(now, max_age_secs));
    let started = login.started;
    pending.push(login);
    let cap = match started {
        Started::Universal => MAX_PENDING,
        Started::Lock => MAX_PENDING_LOCK,
    };
    while pending.iter().filter(|p| p.started == started).count() > cap {
        drop_oldest(pending, started);
    }
    while universal_bytes(pending) > MAX_PENDING_BYTES
        && pending
            .iter()
            .filter(|p| p.started == Started::Universal)
            .count()
            > 1
    {
        drop_oldest(pending, Started::Universal);
    }
}

fn drop_oldest(pending: &mut Vec<PendingLogin>, started: Started) {
    if let Some(index) = pending.iter().position(|p| p.started == started) {
        pending.remove(index);
    }
}

/// What the Universal Logins take in the session: their JSON, escaped again as the session
/// stores each value as a JSON string.
fn universal_bytes(pending: &[PendingLogin]) -> usize {
    let universal: Vec<&PendingLogin> = pending
        .iter()
        .filter(|p| p.started == Started::Universal)
        .collect();
    let json = serde_json::to_string(&universal).expect("pending logins serialise");
    serde_json::to_string(&json)
        .expect("a string serialises")
        .len()
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

    /// The default login lifetime, in the seconds these functions take.
    const MAX_AGE_SECS: i64 = crate::auth0::settings::DEFAULT_LOGIN_MAX_AGE.as_secs() as i64;

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

    fn lock() -> PendingLogin {
        PendingLogin::started(Started::Lock, None)
    }

    #[test]
    fn lock_transactions_never_evict_a_universal_login() {
        let mut pending = Vec::new();
        let universal = PendingLogin::new(Some("/profile".into()));
        let state = universal.state.clone();
        push(&mut pending, universal, MAX_AGE_SECS);
        for _ in 0..20 {
            push(&mut pending, lock(), MAX_AGE_SECS);
        }
        let locks = pending
            .iter()
            .filter(|p| p.started == Started::Lock)
            .count();
        assert_eq!(locks, MAX_PENDING_LOCK);
        assert!(take(&mut pending, &state, MAX_AGE_SECS).is_some());
    }

    #[test]
    fn long_nexts_are_bounded_by_size_and_the_newest_login_is_kept() {
        let long = format!(
            "/{}",
            "n".repeat(crate::auth0::redirect::MAX_NEXT_BYTES - 1)
        );
        let mut pending = Vec::new();
        for _ in 0..2 {
            push(&mut pending, lock(), MAX_AGE_SECS);
        }
        let mut newest = String::new();
        for _ in 0..20 {
            let login = PendingLogin::new(Some(long.clone()));
            newest = login.state.clone();
            push(&mut pending, login, MAX_AGE_SECS);
            assert!(universal_bytes(&pending) <= MAX_PENDING_BYTES);
        }
        assert!(
            pending
                .iter()
                .filter(|p| p.started == Started::Universal)
                .count()
                >= 2
        );
        assert_eq!(
            pending
                .iter()
                .filter(|p| p.started == Started::Lock)
                .count(),
            2
        );
        assert!(take(&mut pending, &newest, MAX_AGE_SECS).is_some());
    }

    #[test]
    fn the_worst_case_session_fits_a_browser_cookie() {
        // Everything the module can store at once, at its largest, sealed as the session cookie
        // is: under 4,096 bytes with the cookie's name, leaving room for the host app's own keys.
        let long = format!(
            "/{}",
            "n".repeat(crate::auth0::redirect::MAX_NEXT_BYTES - 1)
        );
        let org_id = format!(
            "org_{}",
            "o".repeat(crate::auth0::login_options::MAX_ORG_ID - 4)
        );
        let mut pending = Vec::new();
        for i in 0..40 {
            let mut login = if i % 3 == 0 {
                lock()
            } else {
                PendingLogin::new(Some(long.clone()))
            };
            // What AUTH0_ORGANIZATION (or an invitation) and AUTH0_MAX_AGE add to each.
            login.org_id = Some(org_id.clone());
            login.max_age = Some(crate::auth0::login_options::MAX_MAX_AGE_SECS);
            push(&mut pending, login, MAX_AGE_SECS);
        }
        // The user at the bounds the module keeps: sid 128, organization id and name.
        let user = crate::auth0::session::LoggedIn {
            user: crate::auth0::AuthUser {
                id: "9".repeat(19),
                sub: format!("google-oauth2|{}", "1".repeat(100)),
                session_id: "s".repeat(43),
                organization: Some(crate::auth0::UserOrganization {
                    id: org_id.clone(),
                    name: Some("n".repeat(crate::auth0::login_options::MAX_ORG_NAME)),
                }),
            },
            logged_in_at: i64::MAX,
            seen_at: i64::MAX,
            iss: format!("https://{}.eu.auth0.com/", "t".repeat(40)),
            aud: "a".repeat(32),
            sid: Some("d".repeat(128)),
            auth_time: Some(i64::MAX),
        };
        let state = [
            ("auth0.logins", serde_json::to_string(&pending).unwrap()),
            ("auth0.user", serde_json::to_string(&user).unwrap()),
            ("auth0.csrf", format!("{:?}", "c".repeat(22))),
        ];
        let state = state.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let cookie = crate::auth0::session_cookie::sealed_len("__Host-auth0_session", &state);
        assert!(cookie < 3600, "{cookie} bytes: keep 500 for the host app");
    }
}
