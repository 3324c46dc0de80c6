//! Why a login did not happen. Each case has a status, a message that is safe to show, and a
//! detailed reason that is logged but never shown (it may name issuers, key ids or claims; it
//! never holds a code, token, cookie or secret).
//!
//! The module renders no pages: an error response is plain text and carries a [`PublicError`] in
//! its extensions, so the host app can render it through its own layout (this app does so in its `error` module).

use std::sync::Arc;

use actix_session::SessionInsertError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use super::backend::BackendError;
use super::http::HttpError;
use super::login_options::BadLoginParameter;

/// Why the tenant could not be reached or used; shared, as one failed discovery answers every
/// login that waited for it.
pub type UpstreamError = Arc<dyn std::error::Error + Send + Sync>;

/// What the host needs to render an error page: safe to show to anyone.
#[derive(Debug, Clone)]
pub struct PublicError {
    /// A short title, e.g. "Login expired".
    pub title: &'static str,
    /// What happened, in words for the user (escaped when rendered).
    pub message: String,
    /// What to do next.
    pub hint: &'static str,
}

#[derive(Debug, thiserror::Error)]
/// Why a login, callback or logout was refused (see the module docs for what each shows).
pub enum Auth0Error {
    #[error("the callback has no state parameter")]
    /// The callback has no `state`.
    MissingState,
    #[error("no pending login matches the callback's state (unknown, used or expired)")]
    /// No pending login in this browser has that `state` (forged, used, or expired).
    UnknownState,
    #[error("the callback has no code")]
    /// The callback has no `code`.
    MissingCode,
    #[error(
        "the identity provider returned error `{}`: {}",
        printable(.error.as_deref().unwrap_or("(not a standard code)")),
        printable(.description)
    )]
    /// The tenant sent `?error=` (and `error_description`) instead of a code, for a login this
    /// browser started.
    Denied {
        /// The OAuth error code, e.g. `access_denied`; `None` when it is not a standard one.
        error: Option<String>,
        /// The tenant's `error_description`, shown escaped.
        description: String,
    },
    #[error("an error `{}` came with no login this browser started", printable(.error))]
    /// `?error=` without a state that matches a login this browser started: anyone can craft
    /// that link, so nothing of it is shown.
    UnsolicitedError {
        /// What `error` said (logged escaped, never shown).
        error: String,
    },
    #[error("the tenant is unavailable: {during}")]
    /// Discovery or the key set could not be fetched (or discovery lacks an endpoint).
    Unavailable {
        /// What the module was doing, e.g. "discovery".
        during: String,
        /// Why.
        #[source]
        source: UpstreamError,
    },
    #[error("the token endpoint refused the code: {0}")]
    /// The token endpoint refused the code (an OAuth error such as `invalid_grant`).
    TokenRejected(String),
    #[error("the token endpoint could not be reached")]
    /// The token endpoint hung, refused the connection, or answered too much.
    TokenEndpointUnreachable(#[source] HttpError),
    #[error("the token endpoint answered badly: {0}")]
    /// The token endpoint's answer was not a usable token response.
    TokenEndpoint(String),
    #[error("the ID token is invalid: {0}")]
    /// The ID token failed validation.
    InvalidIdToken(String),
    #[error("the userinfo response is invalid: {0}")]
    /// Userinfo was for another subject, or its claims had the wrong types.
    InvalidUserInfo(String),
    #[error("the userinfo endpoint could not be reached")]
    /// The userinfo endpoint hung, refused the connection, or answered too much.
    UserInfoEndpointUnreachable(#[source] HttpError),
    #[error("the userinfo endpoint failed: {0}")]
    /// The userinfo endpoint answered with an error.
    UserInfoEndpoint(String),
    #[error("the app's backend failed")]
    /// The app's backend failed to record the login or check the session.
    Backend(#[source] BackendError),
    #[error("the logout request carried no CSRF token")]
    /// `POST /logout` without the form's CSRF token (no body, or no `csrf` field).
    CsrfMissing,
    #[error("the logout form's CSRF token is wrong or stale")]
    /// The logout form's CSRF token did not match this session's.
    Csrf,
    #[error("the session could not be written")]
    /// The session could not be written.
    Session(#[from] SessionInsertError),
    #[error("the session ended: the tenant refused its refresh token ({0})")]
    /// The tenant refused the session's refresh token (revoked, reused, expired): the session
    /// is over, and the user must log in again.
    SessionEnded(String),
    #[error("the access token could not be refreshed: {0}")]
    /// The token endpoint could not be reached for a refresh; the session is kept.
    TokensUnavailable(String),
    #[error("the auth0 module is not mounted (auth0::configure)")]
    /// An extractor or the Lock widget was used in an app that did not mount the module.
    NotMounted,
    #[error("the login request's `{}` is not {}", .0.parameter, .0.expects)]
    /// A `/login` parameter that is not allowed or not well formed (named, never echoed).
    BadLoginParameter(BadLoginParameter),
}

const TRY_AGAIN: &str = "Go back to the home page and log in again.";

impl Auth0Error {
    /// What may be shown to the user about this error.
    pub fn public(&self) -> PublicError {
        use Auth0Error::*;
        let (title, message, hint) = match self {
            MissingState | UnknownState | MissingCode => (
                "Login expired",
                "This login link is not valid any more: it was already used, it is more \
                 than ten minutes old, or it was started in another browser."
                    .to_owned(),
                TRY_AGAIN,
            ),
            Denied { error, description } => (
                "Login was not completed",
                match (error, description.is_empty()) {
                    (_, false) => description.clone(),
                    (Some(code), true) => format!("The identity provider answered `{code}`."),
                    (None, true) => "The identity provider did not complete the login.".to_owned(),
                },
                "If you cancelled, just log in again. Otherwise check the application's \
                 settings in the Auth0 dashboard (Allowed Callback URLs, connections).",
            ),
            Unavailable { .. } => (
                "Login is unavailable",
                "The identity provider cannot be reached right now.".to_owned(),
                "Try again in a moment. If this persists, check AUTH0_DOMAIN and the network.",
            ),
            TokenRejected(_) | InvalidIdToken(_) | InvalidUserInfo(_) => (
                "Login failed",
                "The identity provider's answer could not be verified, so you were not logged in."
                    .to_owned(),
                TRY_AGAIN,
            ),
            TokenEndpoint(_)
            | TokenEndpointUnreachable(_)
            | UserInfoEndpoint(_)
            | UserInfoEndpointUnreachable(_) => (
                "Login failed",
                "The identity provider did not answer properly.".to_owned(),
                "Try again in a moment.",
            ),
            Backend(_) | Session(_) | NotMounted => (
                "Login could not be saved",
                "You were authenticated, but this app could not record the login.".to_owned(),
                "Try again in a moment.",
            ),
            SessionEnded(_) => (
                "Your session has ended",
                "The identity provider no longer accepts this login (it was revoked, or it \
                 expired), so you were logged out."
                    .to_owned(),
                "Log in again to continue.",
            ),
            TokensUnavailable(_) => (
                "The identity provider is unavailable",
                "Your access could not be renewed because the identity provider cannot be \
                 reached right now. You are still logged in."
                    .to_owned(),
                "Try again in a moment.",
            ),
            BadLoginParameter(bad) => (
                "This login link is not valid",
                format!("Its `{}` must be {}.", bad.parameter, bad.expects),
                "Log in from the app's own buttons instead.",
            ),
            UnsolicitedError { .. } => (
                "Login was not completed",
                "This login did not complete, and this browser has no login in progress."
                    .to_owned(),
                TRY_AGAIN,
            ),
            CsrfMissing => (
                "Logout was refused",
                "The logout request carried no form token, so it may not have come from this \
                 site. You are still logged in."
                    .to_owned(),
                "Open the logout page and use its button.",
            ),
            Csrf => (
                "Logout was refused",
                "The logout form was stale or did not come from this site.".to_owned(),
                "Open the logout page again and use its button.",
            ),
        };
        PublicError {
            title,
            message,
            hint,
        }
    }
}

impl Auth0Error {
    /// A short, stable name for the kind of failure: the `outcome` label of the login metrics.
    pub fn kind(&self) -> &'static str {
        use Auth0Error::*;
        match self {
            MissingState => "missing_state",
            UnknownState => "unknown_state",
            MissingCode => "missing_code",
            Denied { .. } => "denied",
            UnsolicitedError { .. } => "unsolicited_error",
            Unavailable { .. } => "tenant_unavailable",
            TokenRejected(_) => "token_rejected",
            TokenEndpointUnreachable(_) | TokenEndpoint(_) => "token_endpoint",
            InvalidIdToken(_) => "invalid_id_token",
            InvalidUserInfo(_) => "invalid_userinfo",
            UserInfoEndpointUnreachable(_) | UserInfoEndpoint(_) => "userinfo_endpoint",
            Backend(_) => "backend",
            SessionEnded(_) => "session_ended",
            TokensUnavailable(_) => "tokens_unavailable",
            CsrfMissing | Csrf => "csrf",
            Session(_) => "session",
            NotMounted => "not_mounted",
            BadLoginParameter(_) => "bad_login_parameter",
        }
    }
}

impl ResponseError for Auth0Error {
    fn status_code(&self) -> StatusCode {
        use Auth0Error::*;
        match self {
            MissingState | UnknownState | MissingCode | TokenRejected(_) | BadLoginParameter(_) => {
                StatusCode::BAD_REQUEST
            }
            Denied { error, .. } if error.as_deref() == Some("access_denied") => {
                StatusCode::FORBIDDEN
            }
            Denied { .. } | UnsolicitedError { .. } => StatusCode::BAD_REQUEST,
            InvalidIdToken(_) | InvalidUserInfo(_) => StatusCode::UNAUTHORIZED,
            TokenEndpoint(_)
            | TokenEndpointUnreachable(_)
            | UserInfoEndpoint(_)
            | UserInfoEndpointUnreachable(_) => StatusCode::BAD_GATEWAY,
            Unavailable { .. } | Backend(_) | TokensUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SessionEnded(_) => StatusCode::UNAUTHORIZED,
            Csrf | CsrfMissing => StatusCode::FORBIDDEN,
            Session(_) | NotMounted => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        tracing::warn!(
            status = status.as_u16(),
            reason = %log_line(self),
            "auth0: request refused"
        );
        let public = self.public();
        let mut response = HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "{}\n\n{}\n\n{}\n",
                public.title, public.message, public.hint
            ));
        response.extensions_mut().insert(public);
        response
    }
}

/// Control characters, and the invisible ones that reorder or split a line when shown (line
/// and paragraph separators, zero-width and bidirectional marks, the byte-order mark).
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// An error and its causes (`a: b: c`) as one log line, each cause with its control and
/// invisible characters escaped: causes can carry the tenant's words (a discovery document, an
/// `error_description`), and no tenant may forge log lines.
pub fn log_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = printable(&error.to_string());
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&printable(&cause.to_string()));
        source = cause.source();
    }
    line
}

/// `text` as one log line: control characters (CR, LF, ESC...) escaped, so a value from a URL
/// cannot forge log lines or terminal sequences; cut at 200 characters.
pub fn printable(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    let mut out: String = text
        .chars()
        .take(MAX_CHARS)
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if is_unprintable(c) {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect();
    if text.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{printable, Auth0Error};

    #[test]
    fn a_chain_of_causes_is_one_escaped_line() {
        let cause = std::io::Error::other("line one\nINFO forged");
        let error = Auth0Error::Unavailable {
            during: "discovery".into(),
            source: std::sync::Arc::new(cause),
        };
        let line = super::log_line(&error);
        assert_eq!(
            line,
            "the tenant is unavailable: discovery: line one\\nINFO forged"
        );
    }

    #[test]
    fn a_crafted_error_cannot_forge_a_log_line() {
        let forged = "x\n2026-12-01T00:00:00Z  INFO auth0: logged in sub=admin";
        for error in [
            Auth0Error::UnsolicitedError {
                error: forged.into(),
            },
            Auth0Error::Denied {
                error: None,
                description: forged.into(),
            },
        ] {
            let logged = error.to_string();
            assert!(!logged.contains('\n'), "{logged}");
            assert!(logged.contains("\\n2026"), "{logged}");
        }
    }

    #[test]
    fn control_characters_are_escaped_for_logs() {
        assert_eq!(printable("a\r\nINFO forged"), "a\\r\\nINFO forged");
        assert_eq!(printable("\u{1b}[31m"), "\\u{1b}[31m");
        assert_eq!(printable("a\u{2028}b\u{202e}c"), "a\\u{2028}b\\u{202e}c");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
    }
}
