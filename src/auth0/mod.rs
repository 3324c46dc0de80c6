//! Everything Auth0, liftable into another actix-web app by copying this folder.
//!
//! - [`settings`]: `AUTH0_*` configuration, with errors that name the variable;
//! - [`client`]: the OpenID Connect relying party (discovery, code + PKCE, ID token, userinfo);
//! - [`handlers`]: `GET /login`, `GET <callback>`, `POST /logout`, mounted by [`configure`];
//! - [`extractor`]: [`AuthUser`] and [`MaybeUser`] for your handlers;
//! - [`context`]: [`Auth0Context`], what page templates need (never the client secret);
//! - [`backend`]: [`Auth0Backend`], the one seam: what your app does with a user who logged in.
//!
//! The module renders no pages: its errors are plain text carrying a [`PublicError`] that a host
//! can render through its own layout.

pub mod backend;
pub mod client;
pub mod context;
pub mod error;
pub mod extractor;
pub mod handlers;
pub mod http;
pub mod redirect;
pub mod session;
pub mod settings;
pub mod transaction;

use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::web;

pub use backend::{Auth0Backend, BackendError};
pub use client::{Auth0Client, Auth0Profile};
pub use context::Auth0Context;
pub use error::{Auth0Error, PublicError};
pub use extractor::{AuthUser, LoginRequired, MaybeUser};
pub use settings::{Auth0Settings, ConfigError};

/// Where anonymous users are sent to log in.
pub const LOGIN_PATH: &str = "/login";
/// Where the logout form posts.
pub const LOGOUT_PATH: &str = "/logout";
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "auth0_session";

/// The module's shared state: settings, the OIDC client and your backend.
pub struct Auth0 {
    client: Auth0Client,
    backend: Box<dyn Auth0Backend>,
}

impl Auth0 {
    pub fn new(settings: Auth0Settings, backend: impl Auth0Backend) -> web::Data<Self> {
        web::Data::new(Self {
            client: Auth0Client::new(std::sync::Arc::new(settings)),
            backend: Box::new(backend),
        })
    }

    pub fn settings(&self) -> &Auth0Settings {
        self.client.settings()
    }

    pub fn client(&self) -> &Auth0Client {
        &self.client
    }

    pub fn backend(&self) -> &dyn Auth0Backend {
        self.backend.as_ref()
    }

    /// The session middleware the module expects: an encrypted cookie (the session holds pending
    /// logins), HttpOnly, SameSite=Lax (the callback is a top-level cross-site GET), and Secure
    /// when the app's callback URL is https.
    pub fn session_middleware(&self, key: Key) -> SessionMiddleware<CookieSessionStore> {
        SessionMiddleware::builder(CookieSessionStore::default(), key)
            .cookie_name(SESSION_COOKIE.to_owned())
            .cookie_secure(self.settings().is_https())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .build()
    }
}

/// Mounts the module's routes and state: `app.configure(auth0::configure(auth0.clone()))`.
pub fn configure(auth0: web::Data<Auth0>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let callback_path = auth0.settings().callback_path().to_owned();
        cfg.app_data(auth0)
            .route(LOGIN_PATH, web::get().to(handlers::login))
            .route(&callback_path, web::get().to(handlers::callback))
            .route(LOGOUT_PATH, web::post().to(handlers::logout));
    }
}

/// Compares two secrets in constant time.
pub fn secure_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
