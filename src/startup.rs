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

use crate::auth0::settings::{AppSettings, Auth0Settings};
use crate::auth0::{self, Auth0, ConfigError};
use crate::backend::DatabaseBackend;
use crate::config::{dev_tenant_off_loopback, Config, DEFAULT_DEV_TENANT_ADDR};
use crate::db::{self, Database, SessionCache};
use crate::dev_tenant::DevTenant;
use crate::layout::DevTenantInUse;
use crate::{api, error, limits, monitoring, pages, telemetry};

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
    #[error("cannot listen on {addr} (METRICS_ADDR): {source}")]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the database (DATABASE_URL={}): {source}", db::redacted(.url))]
    Database { url: String, source: sqlx::Error },
    #[error("cannot start the local dev tenant: {0}")]
    DevTenant(std::io::Error),
    #[error("cannot start the server: {0}")]
    Server(std::io::Error),
}

pub struct Application {
    local: SocketAddr,
    metrics: Option<SocketAddr>,
    server: Server,
    home_url: Url,
    auth0: web::Data<Auth0>,
    dev_tenant: Option<DevTenant>,
    db: Database,
}

impl Application {
    /// Binds `BIND_ADDR` and builds the app. The dev tenant, if used, listens on
    /// `DEV_TENANT_ADDR` (default `127.0.0.1:4000`), so its issuer, and so the users' profile
    /// rows, stay the same from one run to the next; a free port if that one is taken.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with_routes(config, |_| {}).await
    }

    /// Like [`Application::build`], with routes of your own beside the app's: they get the
    /// same middleware (session, security headers, request log and id, limits) and app data
    /// (`web::Data<Auth0>`, the database, the session cache). They are registered after the
    /// app's own routes, so they cannot take `/login`, `/callback` or `/logout`; they are trusted
    /// code (they could replace app data). The benchmark adds its in-memory limit this way.
    pub async fn build_with_routes(
        config: Config,
        routes: fn(&mut web::ServiceConfig),
    ) -> Result<Self, StartupError> {
        let addr = config.bind_addr;
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let mut tenant_listener = None;
        if config.tenant.is_none() {
            let wanted = config.dev_tenant_addr.unwrap_or(DEFAULT_DEV_TENANT_ADDR);
            match TcpListener::bind(wanted) {
                Ok(bound) => tenant_listener = Some(bound),
                Err(e) => tracing::warn!(
                    "dev tenant: cannot listen on {wanted} ({e}); using a free port, so its \
                     issuer (and the users it knows) differ from the last run"
                ),
            }
        }
        Self::build_on(config, listener, tenant_listener, routes).await
    }

    /// Builds the app on a listener the caller bound (`BIND_ADDR` is then ignored). The dev
    /// tenant, if used, listens on `DEV_TENANT_ADDR` if set, else on a free loopback port.
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        let tenant_listener = match (&config.tenant, config.dev_tenant_addr) {
            (None, Some(addr)) => Some(
                TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr, source })?,
            ),
            _ => None,
        };
        Self::build_on(config, listener, tenant_listener, |_| {}).await
    }

    /// The app on `listener`: its tenant's settings (starting the dev tenant if none is
    /// configured), the database, the session key, the auth0 module with the app's backend, then
    /// the server.
    async fn build_on(
        config: Config,
        listener: TcpListener,
        tenant_listener: Option<TcpListener>,
        routes: fn(&mut web::ServiceConfig),
    ) -> Result<Self, StartupError> {
        let local = listener.local_addr().map_err(StartupError::Server)?;
        let (settings, dev_tenant) = match config.tenant {
            Some(tenant) => (Auth0Settings::new(tenant, config.app, None)?, None),
            None => start_dev_tenant(config.app, local, tenant_listener)?,
        };
        if let (Some(tenant), Some(ttl)) = (&dev_tenant, config.dev_tenant_access_token_ttl) {
            tenant.set_access_token_ttl(ttl);
        }
        let db = open_database(&config.database_url).await?;
        let key = session_key(config.session_key);
        let home_url = settings.home_url();
        log_dashboard_settings(&settings);

        let sessions = web::Data::from(db.session_cache());
        let lifetime = settings.session.absolute;
        let backend = DatabaseBackend::new(db.clone(), sessions.clone().into_inner(), lifetime);
        let auth0 = Auth0::new(settings, backend);
        warm_up_in_background(auth0.clone());

        let dev_notice = dev_tenant.as_ref().map(|t| DevTenantInUse {
            issuer: t.issuer().clone(),
        });
        let server = build_server(
            listener,
            auth0.clone(),
            key,
            db.clone(),
            sessions,
            dev_notice,
            routes,
        )?;
        let metrics = match config.metrics_addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .map_err(|source| StartupError::MetricsBind { addr, source })?;
                let (bound, server) =
                    monitoring::serve(listener, db.clone()).map_err(StartupError::Server)?;
                actix_web::rt::spawn(server);
                tracing::info!("metrics on http://{bound}/metrics");
                Some(bound)
            }
            None => None,
        };
        // The address bound and the public URL differ behind a proxy: log both.
        tracing::info!("listening on {local}; public URL {home_url}");
        Ok(Self {
            local,
            metrics,
            server,
            home_url,
            auth0,
            dev_tenant,
            db,
        })
    }

    /// The address the server listens on (what `BIND_ADDR` resolved to, the port if it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where metrics are served (`METRICS_ADDR`, its port resolved), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    pub fn port(&self) -> u16 {
        self.local.port()
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

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _tenant = self.dev_tenant;
        self.server.await
    }
}

/// The local dev tenant for an app on `local` (loopback only), on `listener` or a free port, and
/// the settings that point the app at it.
fn start_dev_tenant(
    app: AppSettings,
    local: SocketAddr,
    listener: Option<TcpListener>,
) -> Result<(Auth0Settings, Option<DevTenant>), StartupError> {
    if !local.ip().is_loopback() {
        return Err(dev_tenant_off_loopback(local).into());
    }
    let tenant = DevTenant::start_for_app_on(local, listener).map_err(StartupError::DevTenant)?;
    tracing::warn!("{}", tenant.banner());
    let callback = tenant.registration().callback_urls[0].clone();
    let settings = Auth0Settings::new(tenant.tenant_settings(), app, Some(callback))?;
    Ok((settings, Some(tenant)))
}

/// Opens the database (creating it) and runs its migrations.
async fn open_database(url: &str) -> Result<Database, StartupError> {
    Database::connect(url)
        .await
        .map_err(|source| StartupError::Database {
            url: url.to_owned(),
            source,
        })
}

/// `SESSION_KEY`, or (dev tenant only: the configuration requires it otherwise) a random one.
fn session_key(configured: Option<Key>) -> Key {
    configured.unwrap_or_else(|| {
        tracing::warn!(
            "SESSION_KEY is not set: using a random key, so sessions end when the app restarts"
        );
        Key::generate()
    })
}

/// Discovers the tenant in the background: if it is unreachable the app still starts, and
/// `/login` answers 503 and retries discovery.
fn warm_up_in_background(auth0: web::Data<Auth0>) {
    actix_web::rt::spawn(async move {
        if let Err(e) = auth0.warm_up().await {
            let reason = crate::auth0::log_line(&e);
            tracing::warn!(%reason, "auth0: tenant not reachable yet; login will retry");
        }
    });
}

fn build_server(
    listener: TcpListener,
    auth0: web::Data<Auth0>,
    key: Key,
    db: Database,
    sessions: web::Data<SessionCache>,
    dev_tenant: Option<DevTenantInUse>,
    routes: fn(&mut web::ServiceConfig),
) -> Result<Server, StartupError> {
    let static_dir = static_dir();
    let csp = content_security_policy(auth0.settings());
    let https = auth0.settings().is_https();
    let db = web::Data::new(db);
    let dev_tenant = dev_tenant.map(web::Data::new);
    let server = HttpServer::new(move || {
        let mut app = App::new()
            .wrap(
                ErrorHandlers::new()
                    .default_handler_client(error::render_error_page)
                    .default_handler_server(error::render_error_page),
            )
            .wrap(auth0.session_middleware(key.clone()))
            // Before the session is read, but inside the headers: a 431 carries HSTS too.
            .wrap(from_fn(limits::request_head))
            .wrap(security_headers(&csp, https))
            .wrap(from_fn(telemetry::log_request))
            .app_data(db.clone())
            .app_data(sessions.clone());
        if let Some(dev_tenant) = &dev_tenant {
            app = app.app_data(dev_tenant.clone());
        }
        app.configure(auth0::configure(auth0.clone()))
            .configure(pages::configure)
            .configure(api::configure)
            .configure(routes)
            .service(Files::new("/static", &static_dir))
            .default_service(web::to(error::not_found))
    })
    // Without TCP_NODELAY, a response written in two parts (headers, then a file's body) waits
    // for the client's delayed ACK: ~40 ms per static file.
    .tcp_nodelay(true)
    // On SIGTERM/SIGINT: stop accepting, give requests in flight this long to finish (a callback
    // takes at most two upstream timeouts, 20 s), then exit.
    .shutdown_timeout(30)
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
/// in the callback URL must not leak to other sites). Over https, HSTS too: a browser that has
/// seen the site once never tries plain http again, so the cookie cannot be stripped of TLS.
fn security_headers(csp: &str, https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, csp.to_owned()))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"));
    if https {
        // One year, the value hstspreload.org asks for; no `includeSubDomains`, which would
        // bind sibling hosts this app does not own.
        headers.add((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
    } else {
        headers
    }
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

/// What to register in the Auth0 dashboard for this app (Application > Settings).
fn log_dashboard_settings(settings: &Auth0Settings) {
    let home = settings.home_url();
    let backchannel = home
        .join(auth0::BACKCHANNEL_LOGOUT_PATH)
        .expect("a path joins a base URL");
    tracing::info!(
        "Auth0 dashboard settings for this app:\n  Allowed Callback URLs: {}\n  \
         Allowed Logout URLs:   {}\n  Allowed Web Origins:   {}\n  \
         Back-Channel Logout URI: {backchannel}",
        settings.callback_url,
        home,
        home.origin().ascii_serialization()
    );
}
