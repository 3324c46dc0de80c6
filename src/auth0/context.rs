//! The context helper: what every page template gets from this module, the Rust form of
//! django-auth0's `context_processors.auth0`. It never holds the client secret.

use std::ops::Deref;
use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::error::Auth0Error;
use super::extractor::{current_user, AuthUser, CheckedUser};
use super::session::AuthSession;
use super::settings::Auth0Settings;
use super::{Auth0, LOGIN_PATH, LOGOUT_PATH};

/// The tenant's side of the context: the same for every page, so built once when the module is
/// made and shared (a page clones an `Arc`, not these strings).
#[derive(Debug)]
pub struct TenantContext {
    /// `AUTH0_CLIENT_ID`, for Lock.
    pub client_id: String,
    /// `AUTH0_DOMAIN` as given, for Lock.
    pub domain: String,
    /// `AUTH0_CALLBACK_URL`: Lock's `auth.redirectUrl`.
    pub callback_url: String,
    /// `AUTH0_SCOPE`.
    pub scope: String,
    /// `AUTH0_AUDIENCE`, if set.
    pub audience: Option<String>,
    /// The Lock widget's script URL (`AUTH0_LOCK_URL`).
    pub lock_script_url: String,
    /// Lock's `configurationBaseUrl` when the tenant is not an `*.auth0.com` host.
    pub lock_configuration_base_url: Option<String>,
    /// Where the Log in link goes (Universal Login).
    pub login_path: &'static str,
    /// Where the logout form posts.
    pub logout_path: &'static str,
}

impl TenantContext {
    pub(super) fn new(settings: &Auth0Settings) -> Self {
        Self {
            client_id: settings.client_id.clone(),
            domain: settings.domain.clone(),
            callback_url: settings.callback_url.to_string(),
            scope: settings.scope.clone(),
            audience: settings.audience.clone(),
            lock_script_url: settings.lock_url.clone(),
            lock_configuration_base_url: super::lock::configuration_base_url(settings),
            login_path: LOGIN_PATH,
            logout_path: LOGOUT_PATH,
        }
    }
}

/// Auth0 settings and the current user, for templates. It derefs to [`TenantContext`], so a
/// template writes `ctx.client_id` as it writes `ctx.user`.
#[derive(Debug, Clone)]
pub struct Auth0Context {
    tenant: Arc<TenantContext>,
    /// The logged-in user, once an extractor has checked the session.
    pub user: Option<AuthUser>,
    /// The token the logout form must post back; present when a user is logged in.
    pub csrf_token: Option<String>,
}

impl Deref for Auth0Context {
    type Target = TenantContext;
    fn deref(&self) -> &TenantContext {
        &self.tenant
    }
}

impl Auth0Context {
    /// The context for a request whose user was already checked (by an extractor); otherwise
    /// the user is left out. `None` when the module is not mounted.
    pub fn for_request(req: &HttpRequest) -> Option<Self> {
        let user = CheckedUser::get(req).flatten();
        Self::with_user(req, user).ok()
    }

    fn with_user(req: &HttpRequest, user: Option<AuthUser>) -> Result<Self, Auth0Error> {
        let auth0 = Auth0::of(req)?;
        let csrf_token = user
            .as_ref()
            .and_then(|_| AuthSession(&req.get_session()).csrf_token());
        Ok(Self {
            tenant: auth0.tenant_context.clone(),
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
            Ok(Self::with_user(&req, user)?)
        })
    }
}
