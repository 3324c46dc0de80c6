//! Builds the application: binds its listener (port 0 in tests), starts the local dev tenant
//! when no tenant is configured, opens the database, and assembles the actix-web app.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use actix_files::Files;
use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use url::Url;

use crate::auth0::settings::Auth0Settings;
use crate::auth0::{self, Auth0, ConfigError};
use crate::config::Config;
use crate::db::{self, SessionCache, SqliteBackend};
use crate::dev_tenant::{DevTenant, Registration};
use crate::{error, pages, telemetry};

/// Why the app could not start: one line for the operator, no backtrace.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr} (BIND_ADDR/PORT): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the database (DATABASE_URL={url}): {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("cannot start the local dev tenant: {0}")]
    DevTenant(std::io::Error),
    #[error("cannot start the server: {0}")]
    Server(std::io::Error),
}

pub struct Application {
    port: u16,
    server: Server,
    home_url: Url,
    auth0: web::Data<Auth0>,
    dev_tenant: Option<DevTenant>,
    pool: sqlx::SqlitePool,
}

impl Application {
    /// Binds `BIND_ADDR` and builds the app.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let addr = config.bind_addr;
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        Self::build_with_listener(config, listener).await
    }

    /// Builds the app on a listener the caller bound (`BIND_ADDR` is then ignored).
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let local = listener.local_addr().map_err(StartupError::Server)?;

        let (settings, dev_tenant) = match config.tenant {
            Some(tenant) => (Auth0Settings::new(tenant, config.app, None)?, None),
            None => {
                let callback = config
                    .app
                    .callback_url
                    .clone()
                    .unwrap_or_else(|| default_callback(local));
                let mut home = callback.clone();
                home.set_path("/");
                home.set_query(None);
                let tenant = DevTenant::start(Registration {
                    client_name: "auth0-actix sample".into(),
                    callback_url: callback.clone(),
                    logout_url: home,
                })
                .await
                .map_err(StartupError::DevTenant)?;
                tracing::warn!("{}", tenant.banner());
                let settings =
                    Auth0Settings::new(tenant.tenant_settings(), config.app, Some(callback))?;
                (settings, Some(tenant))
            }
        };

        let pool =
            db::connect(&config.database_url)
                .await
                .map_err(|source| StartupError::Database {
                    url: config.database_url.clone(),
                    source,
                })?;

        let key = config.session_key.unwrap_or_else(|| {
            tracing::warn!(
                "SESSION_KEY is not set: using a random key, so sessions end when the app restarts"
            );
            Key::generate()
        });

        let home_url = settings.home_url();
        log_dashboard_settings(&settings);
        let sessions = web::Data::new(SessionCache::default());
        let backend = SqliteBackend::new(pool.clone(), sessions.clone().into_inner());
        let auth0 = Auth0::new(settings, backend);

        // Discover the tenant in the background: if it is unreachable the app still starts, and
        // `/login` answers 503 and retries discovery.
        let warm = auth0.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = warm.warm_up().await {
                tracing::warn!(reason = %e, "auth0: tenant not reachable yet; login will retry");
            }
        });

        let server = build_server(listener, auth0.clone(), key, pool.clone(), sessions)?;
        tracing::info!("listening on {home_url}");
        Ok(Self {
            port: local.port(),
            server,
            home_url,
            auth0,
            dev_tenant,
            pool,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The app's home URL, from the callback URL's origin.
    pub fn home_url(&self) -> &Url {
        &self.home_url
    }

    pub fn settings(&self) -> &Auth0Settings {
        self.auth0.settings()
    }

    pub fn dev_tenant(&self) -> Option<&DevTenant> {
        self.dev_tenant.as_ref()
    }

    pub fn pool(&self) -> &sqlx::SqlitePool {
        &self.pool
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _tenant = self.dev_tenant;
        self.server.await
    }
}

fn build_server(
    listener: TcpListener,
    auth0: web::Data<Auth0>,
    key: Key,
    pool: sqlx::SqlitePool,
    sessions: web::Data<SessionCache>,
) -> Result<Server, StartupError> {
    let static_dir = static_dir();
    let csp = content_security_policy(auth0.settings());
    let pool = web::Data::new(pool);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(
                ErrorHandlers::new()
                    .default_handler_client(error::render_error_page)
                    .default_handler_server(error::render_error_page),
            )
            .wrap(auth0.session_middleware(key.clone()))
            .wrap(security_headers(&csp))
            .wrap(from_fn(telemetry::log_request))
            .app_data(pool.clone())
            .app_data(sessions.clone())
            .configure(auth0::configure(auth0.clone()))
            .configure(pages::configure)
            .service(Files::new("/static", &static_dir))
            .default_service(web::to(error::not_found))
    })
    // Without TCP_NODELAY, a response written in two parts (headers, then a file's body) waits
    // for the client's delayed ACK: ~40 ms per static file.
    .tcp_nodelay(true)
    .listen(listener)
    .map_err(StartupError::Server)?
    .run();
    Ok(server)
}

/// A Content-Security-Policy that allows only this origin and the tenant (logout's form posts
/// here and is redirected there, and `form-action` covers redirects).
fn content_security_policy(settings: &Auth0Settings) -> String {
    let tenant = settings.issuer.origin().ascii_serialization();
    format!(
        "default-src 'self'; img-src 'self' https: {tenant}; script-src 'self'; \
         style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
         form-action 'self' {tenant}"
    )
}

/// Headers for every response: the CSP, no sniffing, no framing, and no referrer (a `?code=`
/// in the callback URL must not leak to other sites).
fn security_headers(csp: &str) -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, csp.to_owned()))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// `static/` next to the working directory (`cargo run`), else next to the crate's manifest.
fn static_dir() -> PathBuf {
    let local = PathBuf::from("static");
    if local.is_dir() {
        local
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static")
    }
}

/// The callback on the address we listen on; an unspecified address becomes loopback.
fn default_callback(addr: SocketAddr) -> Url {
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    Url::parse(&format!("http://{host}:{}/callback", addr.port())).expect("valid URL")
}

/// What to register in the Auth0 dashboard for this app (Application > Settings).
fn log_dashboard_settings(settings: &Auth0Settings) {
    let home = settings.home_url();
    tracing::info!(
        "Auth0 dashboard settings for this app:\n  Allowed Callback URLs: {}\n  \
         Allowed Logout URLs:   {}\n  Allowed Web Origins:   {}",
        settings.callback_url,
        home,
        home.origin().ascii_serialization()
    );
}

pub use telemetry::init as init_logging;
