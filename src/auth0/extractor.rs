//! Extractors for handlers: [`AuthUser`] requires a logged-in user, [`MaybeUser`] does not.
//! Either asks the backend whether the session is still live, once per request.

use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use actix_web::{HttpResponseBuilder, ResponseError};
use futures_util::future::LocalBoxFuture;

use super::error::Auth0Error;
use super::session::AuthSession;
use super::transaction::now;
pub use super::user::{AuthUser, MaybeUser};
use super::{Auth0, LOGIN_PATH};

/// The result of checking this request's session, kept in the request's extensions.
#[derive(Clone)]
pub(crate) struct CheckedUser(pub Option<AuthUser>);

/// The logged-in user of this request: from the session, for this tenant and client, within its
/// lifetimes, not revoked here, and confirmed live by the backend. Otherwise the user is dropped
/// from the session (the logins in flight stay); an expired session is also ended at the backend
/// (its server-side row, where there is one, is deleted).
pub(crate) async fn current_user(req: &HttpRequest) -> Result<Option<AuthUser>, Auth0Error> {
    if let Some(CheckedUser(user)) = req.extensions().get::<CheckedUser>() {
        return Ok(user.clone());
    }
    let session = req.get_session();
    let auth = AuthSession(&session);
    let user = match auth.logged_in() {
        None => None,
        Some(logged_in) => {
            let auth0 = Auth0::of(req)?;
            let settings = auth0.settings();
            let now = now();
            let live = if !logged_in.is_for(settings) {
                tracing::info!("auth0: a session of another tenant or client is ignored");
                false
            } else if logged_in.is_expired(now, &settings.session) {
                tracing::info!(sub = %logged_in.user.sub, "auth0: session expired");
                if let Err(e) = auth0.backend().logout(&logged_in.user).await {
                    tracing::warn!(
                        error = &*e as &dyn std::error::Error,
                        "auth0: could not end an expired session"
                    );
                }
                false
            } else if auth0.revoked().contains(&logged_in.user.session_id, now) {
                false
            } else {
                auth0
                    .backend()
                    .session_is_active(&logged_in.user)
                    .await
                    .map_err(Auth0Error::Backend)?
            };
            if live {
                let user = logged_in.user.clone();
                auth.touch(logged_in, now, &settings.session)?;
                Some(user)
            } else {
                auth.forget_user();
                None
            }
        }
    };
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
