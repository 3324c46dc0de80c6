//! What the dev tenant remembers: its registration, keys and discovery document, the logins
//! waiting for the form, codes, Lock tickets and access tokens, and the request counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use super::keys;
use super::organizations::{resolve as resolve_organization, DevOrganization};
use super::{Registration, TenantStats};

/// How long a code may wait for its exchange (Auth0: 10 minutes; shorter is fine locally).
pub(super) const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a visitor may take on the login form.
pub(super) const LOGIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long an access token is good for, unless the registration says otherwise (Auth0's
/// default for an API: 24 hours; an hour is enough here).
pub(super) const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// The permission the login form's "admin" box grants (the sample API's admin role).
pub(super) const ADMIN_PERMISSION: &str = "read:admin-messages";
/// Auth0's default ID token lifetime: 10 hours.
pub(super) const ID_TOKEN_LIFETIME_SECS: i64 = 36_000;
/// How long a `/co/authenticate` login ticket is good for.
pub(super) const TICKET_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The one database connection, named as Auth0 names its default.
pub(super) const CONNECTION: &str = "Username-Password-Authentication";
/// The tenant's cross-origin session cookie, set by `/co/authenticate`.
pub(super) const CO_COOKIE: &str = "dev_tenant_co";
/// Past this many pending entries in any map, expired ones are swept out.
pub(super) const SWEEP_AT: usize = 1024;

/// Request counts, read as [`TenantStats`].
#[derive(Default)]
pub(super) struct Counters {
    pub(super) discovery: AtomicU64,
    pub(super) jwks: AtomicU64,
    pub(super) authorize: AtomicU64,
    pub(super) token: AtomicU64,
    pub(super) userinfo: AtomicU64,
    pub(super) refresh: AtomicU64,
    pub(super) revoke: AtomicU64,
    pub(super) backchannel: AtomicU64,
    pub(super) backchannel_failed: AtomicU64,
}

impl Counters {
    pub(super) fn snapshot(&self) -> TenantStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TenantStats {
            discovery: read(&self.discovery),
            jwks: read(&self.jwks),
            authorize: read(&self.authorize),
            token: read(&self.token),
            userinfo: read(&self.userinfo),
            refresh: read(&self.refresh),
            revoke: read(&self.revoke),
            backchannel: read(&self.backchannel),
            backchannel_failed: read(&self.backchannel_failed),
        }
    }
}

pub(super) struct TenantState {
    pub(super) issuer: Url,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) registration: Registration,
    pub(super) discovery: String,
    pub(super) jwks: String,
    /// `/authorize` requests waiting for the login form, by the form's `state`.
    pub(super) logins: Mutex<HashMap<String, AuthorizeRequest>>,
    pub(super) codes: Mutex<HashMap<String, Grant>>,
    /// Lock's login tickets from `/co/authenticate`, redeemed at `/authorize`.
    pub(super) tickets: Mutex<HashMap<String, Ticket>>,
    pub(super) access_tokens: Mutex<HashMap<String, (DevUser, Instant)>>,
    /// How long access tokens are good for (`DEV_TENANT_ACCESS_TOKEN_TTL`).
    access_token_ttl_secs: AtomicU64,
    /// How long a refresh grant takes to answer (a slow tenant), in milliseconds.
    pub(super) refresh_delay_ms: AtomicU64,
    /// Refresh tokens, by value; each belongs to a family (one login's chain of rotations).
    pub(super) refresh_tokens: Mutex<RefreshTokens>,
    /// `/userinfo` calls per user in the current minute: (when the minute started, calls).
    pub(super) userinfo_calls: Mutex<HashMap<String, (Instant, u32)>>,
    /// The browsers' sessions at the tenant, by `sid`.
    pub(super) sessions: Mutex<super::sessions::TenantSessions>,
    /// The users who logged in or signed up (lowercased emails): sign-up refuses them.
    pub(super) users: Mutex<std::collections::HashSet<String>>,
    /// Organizations invitations, by id.
    pub(super) invitations: Mutex<HashMap<String, super::organizations::Invitation>>,
    pub(super) counters: Counters,
}

impl TenantState {
    pub(super) fn new(issuer: Url, registration: Registration) -> Self {
        let key = keys::signing_key();
        let endpoint = |path: &str| issuer.join(path).expect("issuer is a base URL").to_string();
        // Shaped like Auth0's, HS256 included: the app must pin RS256 rather than trust this list.
        let discovery = json!({
            "issuer": issuer.as_str(),
            "authorization_endpoint": endpoint("authorize"),
            "token_endpoint": endpoint("oauth/token"),
            "userinfo_endpoint": endpoint("userinfo"),
            "end_session_endpoint": endpoint("oidc/logout"),
            "jwks_uri": endpoint(".well-known/jwks.json"),
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "claims_supported": ["aud", "auth_time", "email", "email_verified", "exp", "iat",
                "iss", "name", "nickname", "picture", "sub", "updated_at"],
        });
        Self {
            client_id: format!("dev-{}", random_token(12)),
            client_secret: random_token(32),
            access_token_ttl_secs: AtomicU64::new(registration.access_token_ttl.as_secs()),
            refresh_delay_ms: AtomicU64::new(0),
            registration,
            discovery: discovery.to_string(),
            jwks: serde_json::to_string(&key.jwks).expect("a key set serialises"),
            logins: Mutex::default(),
            codes: Mutex::default(),
            tickets: Mutex::default(),
            access_tokens: Mutex::default(),
            refresh_tokens: Mutex::default(),
            userinfo_calls: Mutex::default(),
            sessions: Mutex::default(),
            users: Mutex::default(),
            invitations: Mutex::default(),
            counters: Counters::default(),
            issuer,
        }
    }
}

impl TenantState {
    /// How long the access tokens it issues now are good for.
    pub(super) fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs.load(Ordering::Relaxed))
    }

    pub(super) fn set_access_token_ttl(&self, ttl: Duration) {
        self.access_token_ttl_secs
            .store(ttl.as_secs(), Ordering::Relaxed);
    }

    /// Counts a `/userinfo` call of `sub`: false past the registration's per-minute limit.
    pub(super) fn userinfo_allowed(&self, sub: &str) -> bool {
        let Some(limit) = self.registration.userinfo_per_minute else {
            return true;
        };
        let mut calls = self.userinfo_calls.lock().expect("lock");
        let entry = calls.entry(sub.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Duration::from_secs(60) {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        entry.1 <= limit
    }
}

/// A user of the dev tenant, derived from the email address alone.
#[derive(Debug, Clone)]
pub(super) struct DevUser {
    pub(super) sub: String,
    pub(super) email: String,
    pub(super) nickname: String,
    pub(super) picture: String,
    /// Whether this login was granted the API's admin permission (the form's checkbox).
    pub(super) admin: bool,
}

impl DevUser {
    pub(super) fn from_email(issuer: &Url, email: &str) -> Self {
        let email = email.trim().to_owned();
        let digest = Sha256::digest(email.to_lowercase().as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let nickname = email.split('@').next().unwrap_or_default().to_owned();
        let initial = nickname
            .chars()
            .find(|c| c.is_ascii_alphanumeric())
            .unwrap_or('u')
            .to_ascii_uppercase();
        Self {
            // Auth0's database connection users look like `auth0|<id>`.
            sub: format!("auth0|{hex}"),
            picture: issuer
                .join(&format!("avatars/{initial}.svg"))
                .expect("avatar URL")
                .to_string(),
            email,
            nickname,
            admin: false,
        }
    }

    /// The API permissions this login carries (Auth0 RBAC's `permissions` claim).
    pub(super) fn permissions(&self) -> Vec<&'static str> {
        if self.admin {
            vec![ADMIN_PERMISSION]
        } else {
            Vec::new()
        }
    }

    /// The profile claims, as Auth0 sends them (`name` is the email for database users, and
    /// `updated_at` is an RFC 3339 string, not a number).
    pub(super) fn claims(&self) -> serde_json::Value {
        json!({
            "sub": self.sub,
            "name": self.email,
            "nickname": self.nickname,
            "picture": self.picture,
            "email": self.email,
            "email_verified": true,
            "updated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct AuthorizeQuery {
    pub(super) client_id: Option<String>,
    pub(super) redirect_uri: Option<String>,
    pub(super) response_type: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) code_challenge_method: Option<String>,
    /// The API the access token is for (Auth0's `audience`).
    pub(super) audience: Option<String>,
    /// Set by Lock (auth0.js) after `/co/authenticate`.
    pub(super) login_ticket: Option<String>,
    /// `signup`: open on the sign-up form.
    pub(super) screen_hint: Option<String>,
    /// An email address to prefill.
    pub(super) login_hint: Option<String>,
    /// The connection to use: this tenant has one.
    pub(super) connection: Option<String>,
    /// `login`: ask for the credentials even with a session here.
    pub(super) prompt: Option<String>,
    /// The most seconds since the credentials were entered, for a session here to count.
    pub(super) max_age: Option<String>,
    /// An organization's id or name.
    pub(super) organization: Option<String>,
    /// An invitation id (with its `organization`).
    pub(super) invitation: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct AuthorizeRequest {
    pub(super) redirect_uri: Url,
    pub(super) state: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) scope: String,
    pub(super) started: Instant,
    /// Open on the sign-up form.
    pub(super) signup: bool,
    pub(super) login_hint: Option<String>,
    /// `prompt=login`: no "continue as" with a session here.
    pub(super) prompt_login: bool,
    /// `max_age` in seconds: a session here older than this does not count.
    pub(super) max_age: Option<i64>,
    /// The organization the app asked for (fixed on the form), if any.
    pub(super) organization: Option<DevOrganization>,
    /// The invitation being accepted (its id).
    pub(super) invitation: Option<String>,
}

impl AuthorizeRequest {
    /// The request as `/authorize` received it, for a redirect URI already checked (and an
    /// organization already resolved).
    pub(super) fn new(redirect_uri: Url, query: &AuthorizeQuery) -> Self {
        Self {
            redirect_uri,
            state: query.state.clone(),
            nonce: query.nonce.clone(),
            code_challenge: query.code_challenge.clone(),
            audience: query.audience.clone().filter(|a| !a.is_empty()),
            scope: query.scope.clone().unwrap_or_default(),
            started: Instant::now(),
            signup: query.screen_hint.as_deref() == Some("signup"),
            login_hint: query.login_hint.clone().filter(|h| !h.is_empty()),
            prompt_login: query
                .prompt
                .as_deref()
                .is_some_and(|p| p.split_whitespace().any(|p| p == "login")),
            max_age: query.max_age.as_deref().and_then(|a| a.parse().ok()),
            organization: query.organization.as_deref().and_then(resolve_organization),
            invitation: query.invitation.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Ticket {
    pub(super) user: DevUser,
    /// The id in the tenant's cookie of the browser that authenticated.
    pub(super) co_id: String,
    pub(super) issued: Instant,
}

#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub(super) redirect_uri: String,
    pub(super) nonce: Option<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) scope: String,
    pub(super) user: DevUser,
    /// The tenant session the login belongs to (the ID token's `sid`).
    pub(super) sid: String,
    /// When the user entered their credentials (Unix seconds): the ID token's `auth_time`.
    pub(super) auth_time: i64,
    /// The organization the user logged in to.
    pub(super) organization: Option<DevOrganization>,
    pub(super) issued: Instant,
}

/// A refresh token as the tenant remembers it.
#[derive(Debug, Clone)]
pub(super) struct RefreshGrant {
    /// The login it descends from: reusing any used token of a family revokes the family.
    pub(super) family: String,
    pub(super) user: DevUser,
    pub(super) audience: Option<String>,
    pub(super) scope: String,
    /// Exchanged already (rotation): presenting it again is reuse.
    pub(super) used: bool,
}

/// Refresh tokens with rotation and reuse detection, as Auth0's "Refresh Token Rotation": each
/// exchange returns a new token and retires the old one; a retired token presented again
/// (stolen, or replayed) revokes its whole family.
#[derive(Default)]
pub(super) struct RefreshTokens {
    pub(super) by_token: HashMap<String, RefreshGrant>,
    pub(super) revoked_families: std::collections::HashSet<String>,
}

impl RefreshTokens {
    /// A new token for a family (a new family at login).
    pub(super) fn issue(&mut self, grant: RefreshGrant) -> String {
        let token = random_token(32);
        self.by_token.insert(token.clone(), grant);
        token
    }

    /// Exchanges `token`: its grant, if it is live; a retired token revokes its family.
    pub(super) fn exchange(&mut self, token: &str) -> Result<RefreshGrant, &'static str> {
        let grant = self
            .by_token
            .get_mut(token)
            .ok_or("Unknown or invalid refresh token.")?;
        if self.revoked_families.contains(&grant.family) {
            return Err("Unknown or invalid refresh token.");
        }
        if grant.used {
            let family = grant.family.clone();
            self.revoked_families.insert(family);
            return Err(
                "Unknown or invalid refresh token (reuse detected: the family is revoked).",
            );
        }
        grant.used = true;
        Ok(grant.clone())
    }

    /// Revokes the family of `token`, if it is one of these.
    pub(super) fn revoke(&mut self, token: &str) {
        if let Some(family) = self.by_token.get(token).map(|g| g.family.clone()) {
            self.revoked_families.insert(family);
        }
    }
}

/// Inserts into a map, sweeping out entries that are no longer `live` once it grows large.
pub(super) fn insert_swept<V>(
    map: &Mutex<HashMap<String, V>>,
    key: String,
    value: V,
    live: impl Fn(&V) -> bool,
) {
    let mut map = map.lock().expect("lock");
    if map.len() >= SWEEP_AT {
        map.retain(|_, v| live(v));
    }
    map.insert(key, value);
}

pub(super) fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_refresh_token_revokes_its_family() {
        let issuer = Url::parse("http://127.0.0.1:1/").unwrap();
        let mut tokens = RefreshTokens::default();
        let grant = |family: &str| RefreshGrant {
            family: family.into(),
            user: DevUser::from_email(&issuer, "a@example.com"),
            audience: None,
            scope: "openid offline_access".into(),
            used: false,
        };
        let first = tokens.issue(grant("f"));
        let other_family = tokens.issue(grant("g"));
        assert!(tokens.exchange(&first).is_ok());
        let second = tokens.issue(grant("f"));
        // The retired token again: refused, and the family's newest token with it.
        assert!(tokens.exchange(&first).is_err());
        assert!(tokens.exchange(&second).is_err());
        assert!(tokens.exchange(&other_family).is_ok(), "other logins go on");
        assert!(tokens.exchange("made-up").is_err());
    }

    #[test]
    fn the_same_email_is_the_same_user_whatever_its_case() {
        let issuer = Url::parse("http://127.0.0.1:1/").unwrap();
        let a = DevUser::from_email(&issuer, "Ada@Example.com");
        let b = DevUser::from_email(&issuer, "ada@example.com");
        let c = DevUser::from_email(&issuer, "bob@example.com");
        assert_eq!(a.sub, b.sub);
        assert_ne!(a.sub, c.sub);
        assert!(a.sub.starts_with("auth0|"));
        assert_eq!(a.nickname, "Ada");
    }
}
