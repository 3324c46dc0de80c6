//! Everything Auth0, liftable into another actix-web app by copying this folder.
//!
//! Read in the order a login passes through it:
//! - `env.rs`, `secret.rs`, `urls.rs`: reading variables, the secrets, the URL rules;
//! - `settings.rs`: `AUTH0_*` configuration, with errors that name the variable;
//! - `user.rs`: the types that cross the seam (`Auth0Profile`, `AuthUser`);
//! - `redirect.rs`, `transaction.rs`: where a login may return to, and a login in flight;
//! - `session.rs`, `revoked.rs`: the module's keys in the session, lifetimes, logouts seen here;
//! - `http.rs`: the HTTP client to the tenant (no redirects, timeouts, capped bodies);
//! - `jwk.rs`: the tenant's signing keys, RS256 verified by ring;
//! - `client.rs`: the OpenID Connect relying party (discovery, code + PKCE, ID token, userinfo,
//!   refresh, revocation, access-token checks);
//! - `claims.rs`: the ID token and userinfo claims, the checks left to us, the profile made of them;
//! - `handlers.rs`: `GET /login`, `GET <callback>`, `POST /logout`, mounted by [`configure`];
//! - `backchannel.rs`: `POST /backchannel-logout`, the tenant ending sessions (logout tokens);
//! - `error.rs`: why a login failed (status, safe message, logged cause);
//! - `extractor.rs`: [`AuthUser`] and [`MaybeUser`] for your handlers;
//! - `tokens.rs`, `access_token.rs`: the login's tokens, sealed and kept by the backend, and
//!   [`AccessToken`] for handlers that call an API as the user (refreshed once under load);
//! - `bearer.rs`: [`BearerUser`], for the app's own API: access tokens checked as a resource
//!   server must;
//! - `context.rs`: [`Auth0Context`], what page templates need (never the client secret);
//! - `lock.rs`: [`LockWidget`], the embedded Lock widget with a server-side transaction;
//! - `backend.rs`: [`Auth0Backend`], the one seam: what your app does with a user who logged in.
//!
//! The module renders no pages: its errors are plain text carrying a [`PublicError`] that a host
//! can render through its own layout.
//!
//! # Mounting
//!
//! One `configure` call and the session middleware; then [`AuthUser`] protects any handler:
//!
//! ```
//! use actix_web::{cookie::Key, test, web, App, HttpResponse};
//! use auth0_actix::auth0::{self, Auth0, Auth0Settings, AuthUser};
//!
//! async fn dashboard(user: AuthUser) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello {}", user.sub))
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! // Usually `Auth0Settings::from_env()`; spelled out here.
//! let settings = Auth0Settings::from_lookup(&|name| match name {
//!     "AUTH0_DOMAIN" => Some("your-tenant.eu.auth0.com".into()),
//!     "AUTH0_CLIENT_ID" => Some("your-client-id".into()),
//!     "AUTH0_SECRET" => Some("your-client-secret".into()),
//!     "AUTH0_CALLBACK_URL" => Some("https://app.example/callback".into()),
//!     _ => None,
//! })
//! .unwrap();
//! // The backend: how your app knows the user who logged in (here: by their Auth0 `sub`).
//! let auth0 = Auth0::new(settings, auth0::from_fn(|profile| Ok(profile.sub.clone())));
//!
//! let app = test::init_service(
//!     App::new()
//!         .wrap(auth0.session_middleware(Key::generate()))
//!         .configure(auth0::configure(auth0.clone()))
//!         .route("/dashboard", web::get().to(dashboard)),
//! )
//! .await;
//!
//! // An anonymous visitor is sent to log in, and will come back to the dashboard.
//! let request = test::TestRequest::get().uri("/dashboard").to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 302);
//! assert_eq!(response.headers().get("location").unwrap(), "/login?next=%2Fdashboard");
//! # });
//! ```

#![warn(missing_docs)]

mod access_token;
mod backchannel;
mod backend;
pub mod bearer;
pub mod claims;
pub mod client;
mod context;
pub mod env;
mod error;
mod extractor;
mod handlers;
mod http;
pub mod jwk;
pub mod lock;
pub mod login_options;
pub mod redirect;
mod revoked;
pub mod secret;
mod session;
pub mod session_cookie;
pub mod settings;
pub mod tokens;
mod transaction;
pub mod urls;
mod user;

use actix_web::cookie::Key;
use actix_web::web;

pub use access_token::{AccessToken, MAX_CONCURRENT_REFRESHES, REFRESH_MARGIN_SECS};
pub use backchannel::{BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_MAX_AGE_SECS};
pub use backend::{
    from_fn, Auth0Backend, BackendError, FnBackend, LoginRefused, LogoutTarget, NewSession,
    SeenLogoutToken, TokenUpdate, MAX_USER_AGENT,
};
pub use bearer::{BearerError, BearerUser};
use client::Auth0Client;
pub use context::{Auth0Context, TenantContext};
pub use env::ConfigError;
pub use error::{log_line, Auth0Error, PublicError};
pub use extractor::{AuthUser, LoginRequired, MaybeUser, RecentLogin};
pub use lock::LockWidget;
pub use secret::{secure_eq, session_key, session_key_from_env, Secret};
pub use settings::{Auth0Settings, SessionLifetime};
pub use user::{Auth0Profile, UserOrganization};

/// Where anonymous users are sent to log in.
pub const LOGIN_PATH: &str = "/login";
/// Starts a login on the tenant's sign-up form (`screen_hint=signup`).
pub const SIGNUP_PATH: &str = "/signup";
/// Where the logout form posts.
pub const LOGOUT_PATH: &str = "/logout";
/// Where the tenant posts back-channel logout tokens: register
/// `<your app's origin>/backchannel-logout` as the application's Back-Channel Logout URI.
pub const BACKCHANNEL_LOGOUT_PATH: &str = "/backchannel-logout";
/// The session cookie's name when the app is served over plain http (loopback only).
pub const SESSION_COOKIE: &str = "auth0_session";
/// The session cookie's name over https. The `__Host-` prefix makes browsers accept it only with
/// `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot plant or overwrite it
/// (RFC 6265bis §4.1.3.2).
pub const SECURE_SESSION_COOKIE: &str = "__Host-auth0_session";

/// The module's shared state: settings, the OIDC client and your backend.
pub struct Auth0 {
    client: Auth0Client,
    backend: Box<dyn Auth0Backend>,
    /// Sessions logged out in this process (for every backend).
    revoked: revoked::RevokedSessions,
    /// Logout tokens' `jti`s seen in this process, for a backend that keeps none.
    seen_logout_tokens: revoked::RevokedSessions,
    /// When this process last reported each session's activity to the backend (Unix seconds).
    activity: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Derived from the settings once, not per page.
    lock_csp: String,
    lock_template: lock::LockTemplate,
    tenant_context: std::sync::Arc<TenantContext>,
    /// Seals the tokens kept server-side; its key comes from the session key
    /// ([`Auth0::session_middleware`]).
    sealer: std::sync::OnceLock<tokens::Sealer>,
    /// One refresh at a time per session in this process (the backend's lock covers the rest).
    refreshing: access_token::RefreshLocks,
}

impl Auth0 {
    /// The module's state for these settings and your backend, ready for [`configure`].
    pub fn new(settings: Auth0Settings, backend: impl Auth0Backend) -> web::Data<Self> {
        let tenant_context = TenantContext::new(&settings);
        web::Data::new(Self {
            lock_csp: lock::content_security_policy(&settings),
            lock_template: lock::LockTemplate::new(
                &settings,
                tenant_context.lock_configuration_base_url.as_deref(),
            ),
            tenant_context: std::sync::Arc::new(tenant_context),
            sealer: std::sync::OnceLock::new(),
            refreshing: access_token::RefreshLocks::default(),
            client: Auth0Client::new(std::sync::Arc::new(settings)),
            backend: Box::new(backend),
            revoked: revoked::RevokedSessions::default(),
            seen_logout_tokens: revoked::RevokedSessions::default(),
            activity: Default::default(),
        })
    }

    /// The settings the module runs with.
    pub fn settings(&self) -> &Auth0Settings {
        self.client.settings()
    }

    /// The module's state in a request's app data; [`Auth0Error::NotMounted`] if the app never
    /// called [`configure`]. The one place extractors, the context and Lock look it up.
    pub(crate) fn of(req: &actix_web::HttpRequest) -> Result<&web::Data<Self>, Auth0Error> {
        req.app_data::<web::Data<Self>>()
            .ok_or(Auth0Error::NotMounted)
    }

    pub(crate) fn client(&self) -> &Auth0Client {
        &self.client
    }

    pub(crate) fn revoked(&self) -> &revoked::RevokedSessions {
        &self.revoked
    }

    /// Whether this process should report `session_id`'s activity at `now`: not if it did less
    /// than a granularity ago (and it notes that it does now).
    pub(crate) fn activity_due(&self, session_id: &str, now: i64) -> bool {
        /// Past this many sessions, the old entries are swept (then all, if still full).
        const MAX_TRACKED: usize = 100_000;
        let granularity = session::activity_granularity(&self.settings().session);
        let mut activity = self.activity.lock().expect("activity lock");
        if activity
            .get(session_id)
            .is_some_and(|last| now - last < granularity)
        {
            return false;
        }
        if activity.len() >= MAX_TRACKED {
            activity.retain(|_, last| now - *last < granularity);
            if activity.len() >= MAX_TRACKED {
                activity.clear();
            }
        }
        activity.insert(session_id.to_owned(), now);
        true
    }

    pub(crate) fn seen_logout_tokens(&self) -> &revoked::RevokedSessions {
        &self.seen_logout_tokens
    }

    /// Checks a form's posted CSRF token against the session's (made at login), in constant
    /// time: for the app's own POST forms, as `POST /logout` does.
    pub fn check_csrf(session: &actix_session::Session, posted: &str) -> Result<(), Auth0Error> {
        if posted.is_empty() {
            return Err(Auth0Error::CsrfMissing);
        }
        let expected = session::AuthSession(session)
            .csrf_token()
            .ok_or(Auth0Error::Csrf)?;
        if secure_eq(&expected, posted) {
            Ok(())
        } else {
            Err(Auth0Error::Csrf)
        }
    }

    pub(crate) fn backend(&self) -> &dyn Auth0Backend {
        self.backend.as_ref()
    }

    /// The token sealer; set by [`Auth0::session_middleware`].
    pub(crate) fn sealer(&self) -> Result<&tokens::Sealer, Auth0Error> {
        self.sealer.get().ok_or(Auth0Error::NotMounted)
    }

    pub(crate) fn refreshing(&self) -> &access_token::RefreshLocks {
        &self.refreshing
    }

    /// Runs OIDC discovery now, if it has not succeeded yet. Optional: `/login` discovers on
    /// demand and retries after a failure. Call it at startup to log an unreachable tenant early.
    pub async fn warm_up(&self) -> Result<(), Auth0Error> {
        self.client.warm_up().await
    }

    /// The session cookie's name: [`SECURE_SESSION_COOKIE`] over https, else [`SESSION_COOKIE`].
    pub fn session_cookie_name(&self) -> &'static str {
        if self.settings().is_https() {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// The session middleware the module expects: an encrypted cookie (the session holds pending
    /// logins), HttpOnly, SameSite=Lax (the callback is a top-level cross-site GET), and over
    /// https Secure with the `__Host-` prefix (`Path=/`, no `Domain`).
    /// The session key also seals the tokens kept server-side (under a key HKDF derives from it).
    pub fn session_middleware(&self, key: Key) -> session_cookie::SessionCookie {
        self.sealer
            .get_or_init(|| tokens::Sealer::new(key.master()));
        let https = self.settings().is_https();
        session_cookie::SessionCookie::new(key, self.session_cookie_name(), https)
    }
}

/// Ends these sessions (other than the request's own: back-channel logout, a "sign out" of
/// another session) at the backend, which must keep sessions: each one's refresh token is
/// revoked at the tenant, then the backend ends it. The caller checked they may be ended. Every
/// one is tried; the first failure (a log line) is returned, and the caller must not report
/// success: those sessions may still be live.
pub async fn end_sessions(
    auth0: &web::Data<Auth0>,
    sessions: &[AuthUser],
    why: &'static str,
) -> Result<(), String> {
    let mut failed = None;
    for user in sessions {
        handlers::revoke_refresh_token(auth0, &user.session_id).await;
        if let Err(e) = extractor::end_at_backend(auth0, user, why).await {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Mounts the module's routes and state: `app.configure(auth0::configure(auth0.clone()))`.
pub fn configure(auth0: web::Data<Auth0>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let callback_path = auth0.settings().callback_path().to_owned();
        cfg.app_data(auth0)
            .route(LOGIN_PATH, web::get().to(handlers::login))
            .route(SIGNUP_PATH, web::get().to(handlers::signup))
            .route(&callback_path, web::get().to(handlers::callback))
            .route(LOGOUT_PATH, web::post().to(handlers::logout))
            .route(
                BACKCHANNEL_LOGOUT_PATH,
                web::post().to(backchannel::backchannel_logout),
            );
    }
}
