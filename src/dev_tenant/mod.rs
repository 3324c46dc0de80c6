//! A local development tenant: an identity provider that speaks the same protocol as Auth0 for
//! this app, so a fresh clone logs in with no Auth0 account and every test has a real identity
//! provider to talk to. It is NOT Auth0 and says so loudly; it binds to loopback only and is never
//! started when `AUTH0_DOMAIN` is set.
//!
//! Endpoints, as Auth0 has them: `/.well-known/openid-configuration`, `/.well-known/jwks.json`,
//! `/authorize` (then `/u/login`, a small form: any email, any non-empty password),
//! `/oauth/token` (codes single-use, short-lived, bound to client, `redirect_uri` and PKCE),
//! `/userinfo`, `/oauth/revoke`, `/v2/logout` and `/oidc/logout`, `/avatars/*.svg` so that
//! pictures never leave the machine, the endpoints the Lock widget calls (`/client/{id}.js`,
//! `/co/authenticate`, `/dbconnections/signup`, ...); and its own pages: `/dev/stats` (request
//! counts, for the benchmark), `/dev/sessions` (its sessions, "Log out everywhere") and
//! `/dev/invitations` (Organizations invitation links).
//!
//! One file per thing a tenant does, read in the order a login passes through them:
//! - `state.rs`: what it remembers (registration, logins in flight, codes, tickets, tokens, counts);
//! - `universal_login.rs`: `/authorize`, the `/u/login` form (log in, sign up, single sign-on,
//!   organizations, invitations), codes back to the app;
//! - `organizations.rs`: its two organizations and the invitation links;
//! - `sessions.rs`: its sessions (`sid`), logout tokens sent to the apps, `/dev/sessions`;
//! - `lock.rs`: the endpoints Lock calls (client settings, `/co/authenticate`, login tickets);
//! - `token.rs`: discovery, keys, `/oauth/token`, the ID token, `/userinfo`;
//! - `pages.rs`: `/v2/logout`, stats, avatars, and the response helpers;
//! - `keys.rs`: the RSA signing key;
//! - `driver.rs`: the browser's side of a login here, for the tests and the benchmark;
//! - `standalone.rs`: `cargo run -- dev-tenant`, one tenant shared by several apps or instances.

pub mod driver;
pub mod keys;
mod lock;
pub mod organizations;
mod pages;
mod sessions;
pub mod standalone;
mod state;
mod token;
mod universal_login;

use std::net::{SocketAddr, TcpListener};

use actix_web::http::Method;
use actix_web::{web, App, HttpServer};
use url::Url;

use crate::auth0::secret::Secret;
use crate::auth0::settings::TenantSettings;
use crate::auth0::BACKCHANNEL_LOGOUT_PATH;
use state::TenantState;

/// The application registered with the tenant: its Allowed Callback URLs (exact match, as Auth0
/// does) and Allowed Logout URLs (where `/v2/logout` may send the user back to). An app running
/// as several instances behind one URL, or several apps on this machine, share one registration.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_name: String,
    pub callback_urls: Vec<Url>,
    pub logout_urls: Vec<Url>,
    /// Where logout tokens go when a session ends here (OpenID Connect Back-Channel Logout):
    /// [`BACKCHANNEL_LOGOUT_PATH`] on each callback's origin.
    pub backchannel_logout_urls: Vec<Url>,
    /// How long the access tokens it issues are good for (`DEV_TENANT_ACCESS_TOKEN_TTL`).
    pub access_token_ttl: std::time::Duration,
    /// Auth0's per-user rate limit on `/userinfo`: at most this many calls a minute per user, then
    /// `429 Too Many Requests`. `None`: no limit.
    pub userinfo_per_minute: Option<u32>,
}

impl Registration {
    /// An application at these callback URLs; each one's logout URL is the home page on its
    /// origin.
    pub fn for_callbacks(client_name: &str, callback_urls: Vec<Url>) -> Self {
        let on_origin = |path: &str| -> Vec<Url> {
            let mut urls: Vec<Url> = Vec::new();
            for callback in &callback_urls {
                let mut url = callback.clone();
                url.set_path(path);
                url.set_query(None);
                url.set_fragment(None);
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
            urls
        };
        let logout_urls = on_origin("/");
        let backchannel_logout_urls = on_origin(BACKCHANNEL_LOGOUT_PATH);
        Self {
            client_name: client_name.to_owned(),
            callback_urls,
            logout_urls,
            backchannel_logout_urls,
            access_token_ttl: state::ACCESS_TOKEN_LIFETIME,
            userinfo_per_minute: None,
        }
    }

    /// The origins the app is served from (its Allowed Web Origins, for Lock's CORS calls).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.callback_urls
            .iter()
            .any(|url| url.origin().ascii_serialization() == origin)
    }
}

/// Request counts, so a benchmark or test can see discovery and keys fetched once, not per login.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TenantStats {
    pub discovery: u64,
    pub jwks: u64,
    pub authorize: u64,
    pub token: u64,
    pub userinfo: u64,
    /// Refresh token grants answered (successful or not).
    pub refresh: u64,
    /// `/oauth/revoke` calls.
    pub revoke: u64,
    /// Logout tokens an app accepted (200).
    pub backchannel: u64,
    /// Logout tokens an app refused, or that could not be delivered.
    pub backchannel_failed: u64,
}

/// A running dev tenant. It serves on the actix runtime that started it, until that ends.
pub struct DevTenant {
    state: web::Data<TenantState>,
}

impl DevTenant {
    /// Binds `127.0.0.1:0`, registers the app and starts serving on the current actix runtime.
    pub async fn start(registration: Registration) -> std::io::Result<Self> {
        Self::start_on(TcpListener::bind("127.0.0.1:0")?, registration)
    }

    /// The tenant an app on `app` (a loopback address) starts for itself when no tenant is
    /// configured: on `listener`, or a free loopback port; its callback is `/callback` there.
    pub fn start_for_app_on(
        app: SocketAddr,
        listener: Option<TcpListener>,
    ) -> std::io::Result<Self> {
        let listener = match listener {
            Some(bound) => bound,
            None => TcpListener::bind(("127.0.0.1", 0))?,
        };
        let callback = Url::parse(&format!("http://{app}/callback")).expect("a socket address URL");
        Self::start_for_app(listener, callback)
    }

    /// The tenant an app starts for itself when no tenant is configured: on `listener`
    /// (loopback only), with one application registered for `callback`, whose logout URL is the
    /// home page on the callback's origin.
    pub fn start_for_app(listener: TcpListener, callback: Url) -> std::io::Result<Self> {
        let registration = Registration::for_callbacks("auth0-actix sample", vec![callback]);
        Self::start_on(listener, registration)
    }

    /// The application registered with this tenant.
    pub fn registration(&self) -> &Registration {
        &self.state.registration
    }

    /// Serves on a listener the caller bound (a loopback address), on the current actix runtime,
    /// until that ends.
    pub fn start_on(listener: TcpListener, registration: Registration) -> std::io::Result<Self> {
        let (tenant, server) = Self::server(listener, registration, false)?;
        actix_web::rt::spawn(server);
        Ok(tenant)
    }

    /// The tenant and its server, not yet awaited. With `signals`, the server stops on SIGINT
    /// and SIGTERM (the standalone tenant); embedded in an app, it stops with the app.
    pub fn server(
        listener: TcpListener,
        registration: Registration,
        signals: bool,
    ) -> std::io::Result<(Self, actix_web::dev::Server)> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(
                "the dev tenant only binds to loopback addresses",
            ));
        }
        let issuer = Url::parse(&format!("http://{addr}/")).expect("socket address URL");
        let state = web::Data::new(TenantState::new(issuer, registration));
        let app_state = state.clone();
        let mut server =
            HttpServer::new(move || App::new().app_data(app_state.clone()).configure(routes))
                .workers(1)
                .tcp_nodelay(true)
                // Longer than the app's pooled connections idle (30 s), so the tenant never
                // closes one the app is about to reuse.
                .keep_alive(std::time::Duration::from_secs(60));
        if !signals {
            server = server.disable_signals();
        }
        let server = server.listen(listener)?.run();
        Ok((Self { state }, server))
    }

    pub fn issuer(&self) -> &Url {
        &self.state.issuer
    }

    /// What the app needs to use this tenant, as if read from `AUTH0_*`.
    pub fn tenant_settings(&self) -> TenantSettings {
        TenantSettings {
            domain: self.state.issuer.as_str().trim_end_matches('/').to_owned(),
            issuer: self.state.issuer.clone(),
            client_id: self.state.client_id.clone(),
            client_secret: Secret::new(self.state.client_secret.clone()),
        }
    }

    pub fn stats(&self) -> TenantStats {
        self.state.counters.snapshot()
    }

    /// Changes how long the access tokens issued from now on are good for.
    pub fn set_access_token_ttl(&self, ttl: std::time::Duration) {
        self.state.set_access_token_ttl(ttl);
    }

    /// Makes refresh grants answer after `delay` (a slow tenant), so requests that refresh at
    /// once overlap.
    pub fn set_refresh_delay(&self, delay: std::time::Duration) {
        self.state.refresh_delay_ms.store(
            delay.as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Revokes every refresh token issued so far, as an administrator revoking a user's grants
    /// in the dashboard: the next refresh of each is `invalid_grant`.
    pub fn revoke_all_refresh_tokens(&self) {
        let mut tokens = self.state.refresh_tokens.lock().expect("lock");
        let families: Vec<String> = tokens.by_token.values().map(|g| g.family.clone()).collect();
        tokens.revoked_families.extend(families);
    }

    /// How many refresh-token families are revoked (by `/oauth/revoke`, reuse, or the above).
    pub fn revoked_refresh_families(&self) -> usize {
        self.state
            .refresh_tokens
            .lock()
            .expect("lock")
            .revoked_families
            .len()
    }

    /// A logout token from this tenant for its client, naming `sub` and/or `sid`, as it sends
    /// them when a session ends (for tests that post one themselves).
    pub fn logout_token(&self, sub: Option<&str>, sid: Option<&str>) -> String {
        self.state.logout_token(sub, sid)
    }

    /// A new invitation of `email` to `organization` (an id or name of
    /// [`organizations::ORGANIZATIONS`]): the link Auth0 would email, to the app's `/login`.
    pub fn invite(&self, organization: &str, email: &str) -> Option<Url> {
        let organization = organizations::resolve(organization)?;
        Some(self.state.invite(organization, email))
    }

    /// `claims` signed as this tenant signs its tokens (RS256, its published key), with the JOSE
    /// `typ` given: for tests of what the app makes of a token's claims alone.
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> String {
        keys::signing_key().sign(typ, claims)
    }

    /// The banner printed at startup: nobody should mistake this for Auth0.
    pub fn banner(&self) -> String {
        let line = "=".repeat(78);
        format!(
            "\n{line}\n  LOCAL DEVELOPMENT TENANT at {} -- this is NOT Auth0.\n  \
             AUTH0_DOMAIN is not set, so logins go to this built-in test identity provider:\n  \
             any email address with any non-empty password logs in. Set AUTH0_DOMAIN,\n  \
             AUTH0_CLIENT_ID, AUTH0_SECRET and AUTH0_CALLBACK_URL to use your Auth0 tenant.\n{line}",
            self.state.issuer
        )
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(token::discovery),
    )
    .route("/.well-known/jwks.json", web::get().to(token::jwks))
    .route("/authorize", web::get().to(universal_login::authorize))
    .route("/u/login", web::get().to(universal_login::login_form))
    .route("/u/login", web::post().to(universal_login::login_submit))
    .route("/oauth/token", web::post().to(token::token))
    .route("/oauth/revoke", web::post().to(token::revoke))
    .route("/userinfo", web::get().to(token::userinfo))
    .route("/v2/logout", web::get().to(pages::logout))
    .route("/oidc/logout", web::get().to(pages::oidc_logout))
    .route(
        "/client/{client_file}",
        web::get().to(lock::client_settings),
    )
    .route(
        "/usernamepassword/challenge",
        web::post().to(lock::challenge),
    )
    .route(
        "/usernamepassword/challenge",
        web::method(Method::OPTIONS).to(lock::preflight),
    )
    .route("/co/authenticate", web::post().to(lock::co_authenticate))
    .route("/dbconnections/signup", web::post().to(lock::signup))
    .route(
        "/dbconnections/signup",
        web::method(Method::OPTIONS).to(lock::preflight),
    )
    .route(
        "/co/authenticate",
        web::method(Method::OPTIONS).to(lock::preflight),
    )
    .route("/avatars/{initial}.svg", web::get().to(pages::avatar))
    .route("/dev/stats", web::get().to(pages::stats))
    .route("/dev/sessions", web::get().to(sessions::list))
    .route("/dev/invitations", web::get().to(organizations::page))
    .route("/dev/invitations", web::post().to(organizations::invite))
    .route(
        "/dev/sessions/logout-everywhere",
        web::post().to(sessions::log_out_everywhere),
    );
}
