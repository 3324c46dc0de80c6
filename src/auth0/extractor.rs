//! Extractors for handlers: [`AuthUser`] requires a logged-in user, [`MaybeUser`] does not.
//! Either asks the backend whether the session is still live, once per request.

use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use actix_web::{HttpResponseBuilder, ResponseError};
use futures_util::future::LocalBoxFuture;

use super::error::Auth0Error;
use super::session::AuthSession;
use super::{Auth0, LOGIN_PATH};

/// A logged-in user. Pages that take it send anonymous visitors to `/login?next=<this page>`;
/// requests that ask for JSON get `401` instead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthUser {
    /// The id your [`Auth0Backend`](super::Auth0Backend) returned at login.
    pub id: String,
    /// Auth0's subject identifier.
    pub sub: String,
    /// This login's random session id (for backends that revoke sessions).
    pub session_id: String,
}

/// The user if one is logged in: for pages that show both faces.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

/// The result of checking this request's session, kept in the request's extensions.
#[derive(Clone)]
pub(crate) struct CheckedUser(pub Option<AuthUser>);

/// The logged-in user of this request: from the session, confirmed live by the backend. A dead
/// session is purged, so its cookie is cleared.
pub(crate) async fn current_user(req: &HttpRequest) -> Result<Option<AuthUser>, Auth0Error> {
    if let Some(CheckedUser(user)) = req.extensions().get::<CheckedUser>() {
        return Ok(user.clone());
    }
    let session = req.get_session();
    let mut user = AuthSession(&session).user();
    if let Some(candidate) = &user {
        let auth0 = req
            .app_data::<web::Data<Auth0>>()
            .ok_or_else(|| Auth0Error::Session("the auth0 module is not mounted".into()))?;
        let live = auth0
            .backend()
            .session_is_active(candidate)
            .await
            .map_err(|e| Auth0Error::Backend(e.to_string()))?;
        if !live {
            session.purge();
            user = None;
        }
    }
    req.extensions_mut().insert(CheckedUser(user.clone()));
    Ok(user)
}

impl FromRequest for AuthUser {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match current_user(&req).await? {
                Some(user) => Ok(user),
                None => Err(LoginRequired::for_request(&req).into()),
            }
        })
    }
}

impl FromRequest for MaybeUser {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(MaybeUser(current_user(&req).await?)) })
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
        let mut response = HttpResponseBuilder::new(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if self.wants_json {
            return response
                .insert_header((header::WWW_AUTHENTICATE, "Session"))
                .json(serde_json::json!({ "error": "login_required" }));
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &self.next)
            .finish();
        response
            .insert_header((header::LOCATION, format!("{LOGIN_PATH}?{query}")))
            .finish()
    }
}
