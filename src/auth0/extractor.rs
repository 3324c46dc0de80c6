//! Extractors for handlers: [`AuthUser`] requires a logged-in user, [`MaybeUser`] does not.
//! Either asks the backend whether the session is still live, once per request.

use std::rc::Rc;

use actix_session::SessionExt;
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use actix_web::{HttpResponseBuilder, ResponseError};
use futures_util::future::LocalBoxFuture;

use super::client::CLOCK_LEEWAY;
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
                // Activity, at most once a minute per session, for a "last seen" time: the
                // cookie says when it was last recorded, and so does this process (a replayed
                // old cookie must not write on every request).
                if auth.touch(logged_in, now, &settings.session)?
                    && auth0.activity_due(&user.session_id, now)
                {
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
    if !auth0
        .revoked()
        .revoke(&logged_in.user.session_id, until, now)
    {
        return;
    }
    if let Err(e) = end_at_backend(auth0, &logged_in.user, why).await {
        tracing::error!(
            sub = %printable(&logged_in.user.sub),
            error = %e,
            "auth0: session ended here ({why}), but the backend could not end it"
        );
    }
}

/// Ends a session at the backend, as a task of its own (see [`end_session`]); the backend's
/// error, as a log line, if it could not.
pub(crate) async fn end_at_backend(
    auth0: &web::Data<Auth0>,
    user: &AuthUser,
    why: &'static str,
) -> Result<(), String> {
    let (auth0, user) = (auth0.clone(), user.clone());
    let ending = actix_web::rt::spawn(async move {
        let ended = auth0.backend().logout(&user).await;
        if ended.is_ok() {
            tracing::info!(sub = %printable(&user.sub), "auth0: session ended ({why})");
        }
        ended.map_err(|e| log_line(&*e))
    });
    ending
        .await
        .unwrap_or_else(|_| Err("the task ending the session failed".into()))
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

/// A user whose last entry of credentials (the ID token's `auth_time`) is at most `MAX_AGE_SECS`
/// old (plus the clock leeway the callback allows, so a step-up never loops): for handlers that
/// need a recent login (step-up), e.g. `async fn delete_account(user: RecentLogin<300>)`. An
/// older session, or one whose token had no `auth_time` (Auth0 sends it only when `max_age` was
/// asked: a silent re-login must not count as entering credentials), is sent through
/// `/login?prompt=login&max_age=MAX_AGE_SECS` and comes back here; that login's ID token must
/// then carry an `auth_time` within the age (checked at the callback).
#[derive(Debug, Clone)]
pub struct RecentLogin<const MAX_AGE_SECS: u64>(pub AuthUser);

impl<const MAX_AGE_SECS: u64> FromRequest for RecentLogin<MAX_AGE_SECS> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = AuthUser::extract(&req).await?;
            let authenticated = AuthSession(&req.get_session())
                .logged_in()
                .and_then(|l| l.auth_time);
            let leeway = CLOCK_LEEWAY.as_secs() as i64;
            let recent = authenticated.is_some_and(|at| {
                let age = now() - at;
                age <= MAX_AGE_SECS as i64 + leeway && age >= -leeway
            });
            if recent {
                Ok(Self(user))
            } else {
                let mut again = LoginRequired::for_request(&req);
                again.max_age = Some(MAX_AGE_SECS);
                Err(again.into())
            }
        })
    }
}

/// The answer to an anonymous request for a protected resource, or to a session whose login is
/// older than a [`RecentLogin`] allows (then it asks for the credentials again, with `max_age`).
#[derive(Debug)]
pub struct LoginRequired {
    next: String,
    wants_json: bool,
    /// Set for a step-up: `prompt=login&max_age=...`.
    max_age: Option<u64>,
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
            max_age: None,
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
            let body = match self.max_age {
                None => serde_json::json!({ "error": "login_required" }),
                Some(max_age) => {
                    serde_json::json!({ "error": "login_required", "max_age": max_age })
                }
            };
            return response
                .insert_header((header::WWW_AUTHENTICATE, "Session"))
                .json(body);
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(max_age) = self.max_age {
            query
                .append_pair("prompt", "login")
                .append_pair("max_age", &max_age.to_string());
        }
        let query = query.append_pair("next", &self.next).finish();
        response
            .insert_header((header::LOCATION, format!("{LOGIN_PATH}?{query}")))
            .finish()
    }
}
