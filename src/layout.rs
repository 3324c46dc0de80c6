//! What the base layout needs on every page, error pages included: the auth0 module's
//! [`Auth0Context`], and whether the local dev tenant is in use (then every page says so).

use std::ops::Deref;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use url::Url;

use crate::auth0::Auth0Context;

/// Registered as app data only while the local dev tenant stands in for Auth0.
#[derive(Debug, Clone)]
pub struct DevTenantInUse {
    /// The dev tenant's issuer, shown in the banner.
    pub issuer: Url,
}

/// The layout's context. It derefs to [`Auth0Context`], so templates write `ctx.user`.
#[derive(Debug, Clone)]
pub struct PageContext {
    auth0: Auth0Context,
    /// `Some` while the dev tenant is in use: the layout shows a banner.
    pub dev_tenant: Option<web::Data<DevTenantInUse>>,
}

impl PageContext {
    fn new(req: &HttpRequest, auth0: Auth0Context) -> Self {
        let dev_tenant = req.app_data::<web::Data<DevTenantInUse>>().cloned();
        Self { auth0, dev_tenant }
    }

    /// For an error page: the context of a request whose user was already checked, if any.
    /// `None` when the auth0 module is not mounted.
    pub fn for_request(req: &HttpRequest) -> Option<Self> {
        Auth0Context::for_request(req).map(|auth0| Self::new(req, auth0))
    }
}

impl Deref for PageContext {
    type Target = Auth0Context;
    fn deref(&self) -> &Auth0Context {
        &self.auth0
    }
}

impl FromRequest for PageContext {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let auth0 = Auth0Context::from_request(&req, payload);
        Box::pin(async move { Ok(Self::new(&req, auth0.await?)) })
    }
}
