//! `POST /backchannel-logout`: OpenID Connect Back-Channel Logout 1.0. The tenant posts a logout
//! token when a session ends there (the user logged out of another app, an administrator ended
//! it); every session of this app that the token names ends here, on every instance.
//!
//! The token is checked as §2.6 says, in this order: RS256 signature by a key the tenant
//! publishes, `typ`, `iss`, `aud` (this client), `exp` if present, `iat` neither in the future
//! nor older than [`LOGOUT_TOKEN_MAX_AGE_SECS`], a `jti`, the `events` member, no `nonce`, and
//! `sid` or `sub`. Only then is its `jti` remembered (through the backend, so a replay is refused
//! on every instance), and the sessions are ended: by `sid` (the ID token's, stored with each
//! session), or all of the user's by `sub`; with both, the sessions that match both.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::backend::{LogoutTarget, SeenLogoutToken};
use super::client::{JwtError, CLOCK_LEEWAY};
use super::error::printable;
use super::transaction::now;
use super::Auth0;

/// The `events` member that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The oldest logout token accepted, by its `iat` (plus the clock leeway). The tenant sends
/// tokens as sessions end.
pub const LOGOUT_TOKEN_MAX_AGE_SECS: i64 = 300;
/// How long a logout token is remembered: far past [`LOGOUT_TOKEN_MAX_AGE_SECS`], whatever the
/// clocks of the instances and the database, and past any login started before it (a code
/// redeemed late is refused while the token is remembered).
pub const LOGOUT_TOKEN_MEMORY_SECS: i64 = 24 * 3600;
/// The longest logout token read (Auth0's are under 1 KiB).
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// The longest `sid`, `sub` or `jti` accepted.
const MAX_CLAIM_LEN: usize = 255;

/// `typ` of a logout token: `logout+jwt` (recommended by §2.4), `JWT`, or none (Auth0's).
pub(crate) fn is_logout_token_type(typ: Option<&str>) -> bool {
    let Some(typ) = typ else { return true };
    let lower = typ.to_ascii_lowercase();
    let bare = lower.strip_prefix("application/").unwrap_or(&lower);
    matches!(bare, "jwt" | "logout+jwt")
}

/// The claims of a logout token (signature, `iss`, `aud` and `exp` already checked).
#[derive(Debug, Deserialize)]
pub(crate) struct LogoutTokenClaims {
    /// A string: an array is not an issuer.
    iss: String,
    iat: Option<i64>,
    jti: Option<String>,
    events: Option<serde_json::Map<String, serde_json::Value>>,
    nonce: Option<serde_json::Value>,
    sid: Option<String>,
    sub: Option<String>,
}

/// A logout token's checked request: end these sessions; remember `jti` until `until`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LogoutRequest {
    pub(crate) issuer: String,
    pub(crate) jti: String,
    pub(crate) issued_at: i64,
    pub(crate) until: i64,
    pub(crate) sub: Option<String>,
    pub(crate) sid: Option<String>,
}

impl LogoutTokenClaims {
    /// The checks of §2.6 that the JWT library does not make, at `now` (Unix seconds).
    pub(crate) fn check(self, now: i64) -> Result<LogoutRequest, String> {
        let leeway = CLOCK_LEEWAY.as_secs() as i64;
        let iat = self.iat.ok_or("no `iat`")?;
        if iat > now + leeway {
            return Err(format!("`iat` is {}s in the future", iat - now));
        }
        if iat < now - LOGOUT_TOKEN_MAX_AGE_SECS - leeway {
            return Err(format!("`iat` is {}s old", now - iat));
        }
        let jti = self
            .jti
            .filter(|j| !j.is_empty() && j.len() <= MAX_CLAIM_LEN)
            .ok_or("no `jti` (or an empty or oversized one)")?;
        let events = self.events.ok_or("no `events`")?;
        if !events
            .get(BACKCHANNEL_LOGOUT_EVENT)
            .is_some_and(serde_json::Value::is_object)
        {
            return Err(format!("`events` has no {BACKCHANNEL_LOGOUT_EVENT} object"));
        }
        if self.nonce.is_some() {
            return Err("a `nonce` (an ID token?)".into());
        }
        let bounded = |claim: Option<String>, name: &str| match claim {
            Some(value) if value.is_empty() || value.len() > MAX_CLAIM_LEN => {
                Err(format!("an empty or oversized `{name}`"))
            }
            other => Ok(other),
        };
        let sub = bounded(self.sub, "sub")?;
        let sid = bounded(self.sid, "sid")?;
        if sub.is_none() && sid.is_none() {
            return Err("neither `sid` nor `sub`".into());
        }
        Ok(LogoutRequest {
            issuer: self.iss,
            jti,
            issued_at: iat,
            until: iat + LOGOUT_TOKEN_MEMORY_SECS,
            sub,
            sid,
        })
    }
}

/// Why a back-channel logout was refused: all are a 400 with a JSON error (§2.8), except a
/// backend that keeps no sessions (501: this app cannot do what the token asks).
#[derive(Debug)]
enum Refusal {
    /// Not a logout token this app accepts (logged with why).
    Invalid(String),
    /// The same `jti` came before.
    Replayed,
    /// The tenant's keys or the backend could not be reached: the logout did not happen.
    Failed(String),
    /// The backend keeps no sessions to end.
    Unsupported,
}

impl Refusal {
    fn kind(&self) -> &'static str {
        match self {
            Refusal::Invalid(_) => "invalid",
            Refusal::Replayed => "replayed",
            Refusal::Failed(_) => "failed",
            Refusal::Unsupported => "unsupported",
        }
    }

    fn response(&self) -> HttpResponse {
        let (status, error, description) = match self {
            Refusal::Invalid(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The logout token is not valid.",
            ),
            Refusal::Replayed => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "This logout token was used before.",
            ),
            Refusal::Failed(_) => (
                StatusCode::BAD_REQUEST,
                "temporarily_unavailable",
                "The logout could not be done now.",
            ),
            Refusal::Unsupported => (
                StatusCode::NOT_IMPLEMENTED,
                "unsupported",
                "This application keeps no server-side sessions to end.",
            ),
        };
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": error, "error_description": description }))
    }
}

/// The handler: `200` once the sessions are ended, else the refusal; counted in
/// `auth0_backchannel_logouts_total{outcome}`.
pub async fn backchannel_logout(auth0: web::Data<Auth0>, body: web::Bytes) -> HttpResponse {
    let outcome = handle(&auth0, &body).await;
    let kind = match &outcome {
        Ok(_) => "success",
        Err(refusal) => refusal.kind(),
    };
    metrics::counter!("auth0_backchannel_logouts_total", "outcome" => kind).increment(1);
    match outcome {
        Ok(ended) => {
            tracing::info!(sessions = ended, "auth0: back-channel logout done");
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Err(refusal) => {
            match &refusal {
                Refusal::Invalid(why) => {
                    tracing::warn!(why = %printable(why), "auth0: back-channel logout refused")
                }
                Refusal::Replayed => tracing::warn!("auth0: a logout token was replayed"),
                Refusal::Failed(why) => tracing::error!(%why, "auth0: back-channel logout failed"),
                Refusal::Unsupported => tracing::error!(
                    "auth0: a back-channel logout came, but the backend keeps no sessions"
                ),
            }
            refusal.response()
        }
    }
}

async fn handle(auth0: &web::Data<Auth0>, body: &[u8]) -> Result<usize, Refusal> {
    let token = url::form_urlencoded::parse(body)
        .find(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Refusal::Invalid("no `logout_token` form field".into()))?;
    if token.len() > MAX_TOKEN_LEN {
        return Err(Refusal::Invalid("an oversized logout token".into()));
    }
    let claims = auth0
        .client()
        .verify_logout_token(&token)
        .await
        .map_err(|e| match e {
            JwtError::Unavailable => Refusal::Failed("the tenant's keys are unavailable".into()),
            JwtError::Invalid(why) => Refusal::Invalid(why),
        })?;
    let request = claims.check(now()).map_err(Refusal::Invalid)?;
    let seen = SeenLogoutToken {
        issuer: &request.issuer,
        jti: &request.jti,
        sid: request.sid.as_deref(),
        sub: request.sub.as_deref(),
        issued_at: request.issued_at,
        until: request.until,
    };
    let failed = |e: super::BackendError| Refusal::Failed(super::log_line(&*e));
    let first = match auth0
        .backend()
        .remember_logout_token(&seen)
        .await
        .map_err(failed)?
    {
        Some(first) => first,
        None => auth0
            .seen_logout_tokens()
            .revoke(&request.jti, request.until, now()),
    };
    if !first {
        return Err(Refusal::Replayed);
    }
    match end_named_sessions(auth0, &request).await {
        Ok(ended) => Ok(ended),
        Err(refusal) => {
            // Not done: the tenant may send it again, and it must not then be a replay.
            auth0.seen_logout_tokens().remove(&request.jti);
            if let Err(e) = auth0.backend().forget_logout_token(&seen).await {
                tracing::error!(error = %super::log_line(&*e), "auth0: a failed logout token stays remembered");
            }
            Err(refusal)
        }
    }
}

/// Ends the sessions a logout token names; how many.
async fn end_named_sessions(
    auth0: &web::Data<Auth0>,
    request: &LogoutRequest,
) -> Result<usize, Refusal> {
    let target = LogoutTarget {
        issuer: &request.issuer,
        sub: request.sub.as_deref(),
        sid: request.sid.as_deref(),
    };
    let sessions = auth0
        .backend()
        .sessions_to_log_out(&target)
        .await
        .map_err(|e| Refusal::Failed(super::log_line(&*e)))?
        .ok_or(Refusal::Unsupported)?;
    super::end_sessions(auth0, &sessions, "back-channel logout")
        .await
        .map_err(Refusal::Failed)?;
    Ok(sessions.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> serde_json::Value {
        serde_json::json!({
            "iss": "https://tenant.example/",
            "iat": now,
            "jti": "j1",
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
            "sid": "s1",
        })
    }

    fn check(value: serde_json::Value, now: i64) -> Result<LogoutRequest, String> {
        serde_json::from_value::<LogoutTokenClaims>(value)
            .map_err(|e| e.to_string())?
            .check(now)
    }

    #[test]
    fn a_logout_token_names_its_sessions() {
        let request = check(claims(1_000), 1_000).unwrap();
        assert_eq!(request.sid.as_deref(), Some("s1"));
        assert_eq!(request.sub, None);
        assert_eq!(request.until, 1_000 + LOGOUT_TOKEN_MEMORY_SECS);
    }

    #[test]
    fn each_missing_or_wrong_claim_is_refused() {
        let now = 10_000;
        let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
        let with = |edit: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
            let mut c = claims(now);
            edit(c.as_object_mut().unwrap());
            c
        };
        cases.push(("no iat", with(&|c| drop(c.remove("iat")))));
        cases.push((
            "future iat",
            with(&|c| drop(c.insert("iat".into(), (now + 120).into()))),
        ));
        cases.push((
            "old iat",
            with(&|c| drop(c.insert("iat".into(), (now - 400).into()))),
        ));
        cases.push(("no jti", with(&|c| drop(c.remove("jti")))));
        cases.push(("no events", with(&|c| drop(c.remove("events")))));
        cases.push((
            "other event",
            with(&|c| drop(c.insert("events".into(), serde_json::json!({"x": {}})))),
        ));
        cases.push((
            "event not an object",
            with(&|c| {
                drop(c.insert(
                    "events".into(),
                    serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" }),
                ))
            }),
        ));
        cases.push((
            "nonce",
            with(&|c| drop(c.insert("nonce".into(), "n".into()))),
        ));
        cases.push(("neither sid nor sub", with(&|c| drop(c.remove("sid")))));
        cases.push((
            "empty sid",
            with(&|c| drop(c.insert("sid".into(), "".into()))),
        ));
        cases.push((
            "iss array",
            with(&|c| drop(c.insert("iss".into(), serde_json::json!(["a"])))),
        ));
        for (name, value) in cases {
            assert!(check(value, now).is_err(), "{name}");
        }
    }

    #[test]
    fn logout_token_types() {
        for ok in [
            None,
            Some("JWT"),
            Some("logout+jwt"),
            Some("application/logout+jwt"),
        ] {
            assert!(is_logout_token_type(ok), "{ok:?}");
        }
        for bad in [Some("at+jwt"), Some(""), Some("JOSE")] {
            assert!(!is_logout_token_type(bad), "{bad:?}");
        }
    }
}
