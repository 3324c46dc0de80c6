//! Extractors for handlers: [`AuthUser`] requires a logged-in user, [`MaybeUser`] does not.

use std::future::{ready, Ready};

use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, FromRequest, HttpRequest, HttpResponse, ResponseError};

use super::session::{AuthSession, SessionUser};
use super::LOGIN_PATH;

/// A logged-in user. Pages that take it send anonymous visitors to `/login?next=<this page>`;
/// requests that ask for JSON get `401` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The id your [`Auth0Backend`](super::Auth0Backend) returned at login.
    pub id: String,
    /// Auth0's subject identifier.
    pub sub: String,
}

/// The user if one is logged in: for pages that show both faces.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

impl From<SessionUser> for AuthUser {
    fn from(user: SessionUser) -> Self {
        Self {
            id: user.id,
            sub: user.sub,
        }
    }
}

fn session_user(req: &HttpRequest) -> Option<AuthUser> {
    AuthSession(&req.get_session()).user().map(AuthUser::from)
}

impl FromRequest for AuthUser {
    type Error = LoginRequired;
    type Future = Ready<Result<Self, LoginRequired>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(session_user(req).ok_or_else(|| LoginRequired::for_request(req)))
    }
}

impl FromRequest for MaybeUser {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(MaybeUser(session_user(req))))
    }
}

/// The answer to an anonymous request for a protected resource.
#[derive(Debug)]
pub struct LoginRequired {
    next: String,
    wants_json: bool,
}

impl LoginRequired {
    fn for_request(req: &HttpRequest) -> Self {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Self {
            next: req
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned(),
            wants_json: accept.contains("application/json") && !accept.contains("text/html"),
        }
    }
}

impl std::fmt::Display for LoginRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("login required")
    }
}

impl ResponseError for LoginRequired {
    fn status_code(&self) -> StatusCode {
        if self.wants_json {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FOUND
        }
    }

    fn error_response(&self) -> HttpResponse {
        if self.wants_json {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Session"))
                .json(serde_json::json!({ "error": "login_required" }));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &self.next)
            .finish();
        let location = format!("{LOGIN_PATH}?{query}");
        HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    }
}
