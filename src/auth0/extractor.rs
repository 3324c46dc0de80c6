//! Extractors for handlers: [`AuthUser`] requires a logged-in user, [`MaybeUser`] does not.
//! Either asks the backend whether the session is still live, once per request.

use std::rc::Rc;

use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use actix_web::{HttpResponseBuilder, ResponseError};
use futures_util::future::LocalBoxFuture;

use super::error::{log_line, printable, Auth0Error};
use super::session::{AuthSession, LoggedIn};
use super::transaction::now;
pub use super::user::{AuthUser, MaybeUser};
use super::{Auth0, LOGIN_PATH};

/// The check of this request's session, kept in the request's extensions and done once: a
/// handler's extractors run concurrently, and each asks for the user.
#[derive(Clone, Default)]
pub(crate) struct CheckedUser(Rc<tokio::sync::OnceCell<Option<AuthUser>>>);

impl CheckedUser {
    /// The result, if the check is done.
    pub(crate) fn get(req: &HttpRequest) -> Option<Option<AuthUser>> {
        req.extensions().get::<Self>()?.0.get().cloned()
    }
}

/// The logged-in user of this request: from the session, for this tenant and client, within its
/// lifetimes, not revoked here, and confirmed live by the backend. Otherwise the user is dropped
/// from the session (the logins in flight stay); an expired session is also ended at the backend
/// (its server-side row, where there is one, is deleted).
pub(crate) async fn current_user(req: &HttpRequest) -> Result<Option<AuthUser>, Auth0Error> {
    let checked = {
        let mut extensions = req.extensions_mut();
        match extensions.get::<CheckedUser>() {
            Some(checked) => checked.clone(),
            None => {
                let checked = CheckedUser::default();
                extensions.insert(checked.clone());
                checked
            }
        }
    };
    checked
        .0
        .get_or_try_init(|| check_session(req))
        .await
        .cloned()
}

async fn check_session(req: &HttpRequest) -> Result<Option<AuthUser>, Auth0Error> {
    let session = req.get_session();
    let auth = AuthSession(&session);
    let user = match auth.logged_in() {
        None => None,
        Some(logged_in) => {
            let auth0 = Auth0::of(req)?;
            let settings = auth0.settings();
            let now = now();
            let until = logged_in.expires_at(&settings.session);
            let live = if !logged_in.is_for(settings) {
                tracing::info!("auth0: a session of another tenant or client is ignored");
                false
            } else if auth0.revoked().contains(&logged_in.user.session_id, until) {
                false
            } else if logged_in.is_expired(now, &settings.session) {
                end_session(auth0, &logged_in, now, "expired").await;
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
                if auth.touch(logged_in, now, &settings.session)? {
                    // Activity, at most once a minute per session: for a "last seen" time.
                    if let Err(e) = auth0.backend().session_seen(&user, now).await {
                        tracing::warn!(error = %log_line(&*e), "auth0: activity not recorded");
                    }
                }
                Some(user)
            } else {
                auth.forget_user();
                None
            }
        }
    };
    Ok(user)
}

/// Ends a session of this tenant at the backend, once: the first request that finds it
/// expired (or the logout) does, and a replayed cookie never reaches the backend again.
///
/// The backend call runs as a task of its own, awaited here: once the session is marked ended,
/// its end must reach the backend even if this request's future is dropped (actix drops the
/// other extractors of a request when one fails, and a client may hang up).
pub(crate) async fn end_session(
    auth0: &web::Data<Auth0>,
    logged_in: &LoggedIn,
    now: i64,
    why: &'static str,
) {
    let until = logged_in.expires_at(&auth0.settings().session);
    end_session_until(auth0, &logged_in.user, until, now, why).await;
}

/// [`end_session`] for a session whose absolute lifetime ends at `until` (Unix seconds).
pub(crate) async fn end_session_until(
    auth0: &web::Data<Auth0>,
    user: &AuthUser,
    until: i64,
    now: i64,
    why: &'static str,
) {
    if !auth0.revoked().revoke(&user.session_id, until, now) {
        return;
    }
    let (auth0, user) = (auth0.clone(), user.clone());
    let ending = actix_web::rt::spawn(async move {
        let sub = printable(&user.sub);
        match auth0.backend().logout(&user).await {
            Ok(()) => tracing::info!(%sub, "auth0: session ended ({why})"),
            Err(e) => tracing::error!(
                %sub,
                error = %log_line(&*e),
                "auth0: session ended here ({why}), but the backend could not end it"
            ),
        }
    });
    let _ = ending.await;
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
    pub(crate) fn for_request(req: &HttpRequest) -> Self {
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
