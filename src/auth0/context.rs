//! The context helper: what every page template gets from this module, the Rust form of
//! django-auth0's `context_processors.auth0`. It never holds the client secret.

use actix_session::SessionExt;
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::extractor::{current_user, AuthUser, CheckedUser};
use super::session::AuthSession;
use super::{Auth0, LOGIN_PATH, LOGOUT_PATH};

/// Auth0 settings and the current user, for templates.
#[derive(Debug, Clone)]
pub struct Auth0Context {
    pub client_id: String,
    pub domain: String,
    pub callback_url: String,
    pub scope: String,
    pub audience: Option<String>,
    /// The Lock widget's script URL (`AUTH0_LOCK_URL`).
    pub lock_script_url: String,
    /// Lock's `configurationBaseUrl` when the tenant is not an `*.auth0.com` host.
    pub lock_configuration_base_url: Option<String>,
    pub login_path: &'static str,
    pub logout_path: &'static str,
    pub user: Option<AuthUser>,
    /// The token the logout form must post back; present when a user is logged in.
    pub csrf_token: Option<String>,
}

impl Auth0Context {
    /// The context for a request whose user was already checked (by an extractor); otherwise
    /// the user is left out. `None` when the module is not mounted.
    pub fn for_request(req: &HttpRequest) -> Option<Self> {
        let user = req
            .extensions()
            .get::<CheckedUser>()
            .and_then(|checked| checked.0.clone());
        Self::with_user(req, user)
    }

    fn with_user(req: &HttpRequest, user: Option<AuthUser>) -> Option<Self> {
        let auth0 = req.app_data::<web::Data<Auth0>>()?;
        let settings = auth0.settings();
        let csrf_token = user
            .as_ref()
            .and_then(|_| AuthSession(&req.get_session()).csrf_token());
        Some(Self {
            client_id: settings.client_id.clone(),
            domain: settings.domain.clone(),
            callback_url: settings.callback_url.to_string(),
            scope: settings.scope.clone(),
            audience: settings.audience.clone(),
            lock_script_url: settings.lock_url.clone(),
            lock_configuration_base_url: settings.lock_configuration_base_url(),
            login_path: LOGIN_PATH,
            logout_path: LOGOUT_PATH,
            user,
            csrf_token,
        })
    }
}

impl FromRequest for Auth0Context {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = current_user(&req).await?;
            Self::with_user(&req, user).ok_or_else(|| {
                actix_web::error::ErrorInternalServerError("the auth0 module is not mounted")
            })
        })
    }
}
