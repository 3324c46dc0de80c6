//! The API's side: access tokens sent as `Authorization: Bearer ...` to the app's own API,
//! checked as an Auth0 API (a resource server) must. [`BearerUser`] is the extractor; a handler
//! that needs more than a valid token asks [`BearerUser::require_permission`].
//!
//! A token is accepted only when all of these hold (RFC 6750, RFC 9068, Auth0's "Validate Access
//! Tokens"): it comes in the `Authorization` header (never a query or form parameter); its `typ`
//! is `JWT` (as Auth0 sends it) or `at+jwt` (RFC 9068); it is signed with RS256 (never `none`,
//! never HS256, whatever the header says) by a key in the tenant's key set (fetched through
//! discovery, cached, refetched once for an unknown `kid`); `iss` is the tenant; `aud` (a string
//! or an array) names `AUTH0_AUDIENCE`; `exp` and `nbf` hold with the login's clock leeway; it has
//! a `sub`; and it is not an ID token (addressed to this web client, or carrying a `nonce`).

use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use super::Auth0;

/// The caller of an API route, from a valid access token.
#[derive(Debug, Clone)]
pub struct BearerUser {
    /// The token's subject: the user (`auth0|...`), or a client (`...@clients`) for a
    /// machine-to-machine token.
    pub sub: String,
    /// The scopes granted (`scope`, space-separated in the token).
    pub scopes: Vec<String>,
    /// Auth0 RBAC permissions (`permissions`, when the API adds them to its tokens).
    pub permissions: Vec<String>,
}

impl BearerUser {
    /// Whether the token grants this permission.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// `Ok` when the token grants every one of these permissions; otherwise the 403 that
    /// RFC 6750 §3.1 describes (`insufficient_scope`), naming what is missing.
    pub fn require_permission(&self, permissions: &[&str]) -> Result<(), BearerError> {
        let missing: Vec<&str> = permissions
            .iter()
            .copied()
            .filter(|p| !self.has_permission(p))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(BearerError::InsufficientScope(missing.join(" ")))
        }
    }
}

/// What an access token carries, as this module reads it (the rest is checked and dropped).
#[derive(Debug, Deserialize)]
pub(crate) struct AccessTokenClaims {
    pub(crate) sub: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    aud: Audience,
    #[serde(default)]
    nonce: Option<serde_json::Value>,
}

/// `aud`: one string or an array of them (RFC 7519 §4.1.3).
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(a) => a == wanted,
            Audience::Many(all) => all.iter().any(|a| a == wanted),
            Audience::None => false,
        }
    }
}

impl AccessTokenClaims {
    /// Whether these are an ID token's claims: addressed to the web client, or bound to a login
    /// by a `nonce`. An ID token proves a login to this app; it grants nothing at an API.
    pub(crate) fn is_id_token(&self, client_id: &str) -> bool {
        self.aud.contains(client_id) || self.nonce.is_some()
    }

    pub(crate) fn into_user(self) -> BearerUser {
        BearerUser {
            sub: self.sub,
            scopes: self
                .scope
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            permissions: self.permissions,
        }
    }
}

/// Whether a JOSE `typ` header is one an access token may have: `JWT` or `at+jwt` (either with
/// the `application/` prefix RFC 7515 §4.1.9 allows), compared case-insensitively.
pub(crate) fn is_access_token_type(typ: Option<&str>) -> bool {
    let Some(typ) = typ else { return false };
    let lower = typ.to_ascii_lowercase();
    let bare = lower.strip_prefix("application/").unwrap_or(&lower);
    matches!(bare, "jwt" | "at+jwt")
}

/// Why an API request was refused: each becomes the answer RFC 6750 §3 describes.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// No `Authorization: Bearer` header: 401 with a bare challenge (no error code).
    #[error("no bearer token")]
    Missing,
    /// The token is not valid here: 401 `invalid_token`. The reason is logged, not sent.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Valid, but without these permissions: 403 `insufficient_scope`.
    #[error("missing permission: {0}")]
    InsufficientScope(String),
    /// The tenant's keys could not be had (discovery or the key set is down): 503.
    #[error("the tenant's keys are unavailable")]
    Unavailable,
    /// `AUTH0_AUDIENCE` is not set: this app has no API to protect.
    #[error("AUTH0_AUDIENCE is not set")]
    NoAudience,
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            BearerError::Missing | BearerError::Invalid(_) => StatusCode::UNAUTHORIZED,
            BearerError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            BearerError::Unavailable | BearerError::NoAudience => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (challenge, error, description) = match self {
            BearerError::Missing => (
                "Bearer realm=\"api\"".to_owned(),
                "invalid_request",
                "An access token is required (Authorization: Bearer).".to_owned(),
            ),
            BearerError::Invalid(_) => (
                "Bearer realm=\"api\", error=\"invalid_token\", \
                 error_description=\"The access token is not valid.\""
                    .to_owned(),
                "invalid_token",
                "The access token is not valid.".to_owned(),
            ),
            BearerError::InsufficientScope(missing) => (
                format!(
                    "Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"{missing}\", \
                     error_description=\"Missing permission: {missing}\""
                ),
                "insufficient_scope",
                format!("Missing permission: {missing}"),
            ),
            BearerError::Unavailable | BearerError::NoAudience => (
                String::new(),
                "temporarily_unavailable",
                "Access tokens cannot be checked right now.".to_owned(),
            ),
        };
        if let BearerError::Invalid(reason) = self {
            tracing::info!(reason = %super::error::printable(reason), "api: token refused");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if !challenge.is_empty() {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        response.json(serde_json::json!({
            "error": error,
            "error_description": description,
        }))
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 6750 §2.1).
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl FromRequest for BearerUser {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth0 = Auth0::of(&req)?.clone();
            let token = bearer_token(&req).ok_or(BearerError::Missing)?;
            Ok(auth0.client().verify_access_token(token).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwt_and_at_jwt_types_are_access_tokens() {
        for ok in ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt"] {
            assert!(is_access_token_type(Some(ok)), "{ok}");
        }
        for bad in [
            None,
            Some(""),
            Some("JOSE"),
            Some("logout+jwt"),
            Some("at+jwt "),
        ] {
            assert!(!is_access_token_type(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_permission_is_named() {
        let user = BearerUser {
            sub: "auth0|1".into(),
            scopes: vec![],
            permissions: vec!["read:messages".into()],
        };
        assert!(user.require_permission(&["read:messages"]).is_ok());
        match user.require_permission(&["read:messages", "read:admin-messages"]) {
            Err(BearerError::InsufficientScope(missing)) => {
                assert_eq!(missing, "read:admin-messages")
            }
            other => panic!("{other:?}"),
        }
    }
}
