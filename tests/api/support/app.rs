//! `spawn_app()` and its variants: the real app on port 0 with a fresh database, and the tenant
//! it talks to (its own dev tenant, or one configured as a real tenant would be).

use std::collections::HashMap;

use auth0_actix::auth0::settings::{
    AppSettings, Auth0Settings, TenantSettings, DEFAULT_LOCK_URL, DEFAULT_SCOPE,
};
use auth0_actix::auth0::SessionLifetime;
use auth0_actix::config::Config;
use auth0_actix::db::Database;
use auth0_actix::dev_tenant::{DevTenant, Registration};
use auth0_actix::startup::Application;
use reqwest::{Response, StatusCode};
use url::Url;

use super::browser::{location, location_str, Browser};

pub struct TestApp {
    pub address: Url,
    pub tenant: Option<Url>,
    /// The test's own browser (its cookies; redirects are not followed, so every hop is
    /// asserted). Other browsers are `Browser::new()`, passed to the `_in` methods.
    pub browser: Browser,
    /// Where the app serves metrics, with `METRICS_ADDR` set.
    pub metrics: Option<Url>,
    /// The app's database, e.g. for a second app on the same one.
    pub database_url: String,
    /// The app's own pool (of either engine): see [`TestApp::execute`] and the queries below.
    pub db: Database,
    pub client_secret: String,
    pub client_id: String,
    _dir: tempfile::TempDir,
}

/// Starts the app with the dev tenant, both on port 0, and a fresh database of the test's engine
/// (`engine!()`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with extra environment variables.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    spawn_app_on(listener, vars).await
}

/// Like [`spawn_app_with`], on a listener the test bound (to know the port beforehand).
pub async fn spawn_app_on(listener: std::net::TcpListener, vars: &[(&str, &str)]) -> TestApp {
    init_test_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert(
        "DATABASE_URL".into(),
        super::engine::fresh_database_url(dir.path()).await,
    );
    // Later values win, so `vars` may override what a helper set.
    for (k, v) in vars {
        env.insert(k.to_string(), v.to_string());
    }
    let database_url = env["DATABASE_URL"].clone();
    let ip = listener.local_addr().expect("a bound listener").ip();
    let config = Config::from_lookup(&|name| env.get(name).cloned()).expect("test config");
    let app = Application::build_with_listener(config, listener)
        .await
        .expect("app starts");
    let bound = std::net::SocketAddr::new(ip, app.port());
    let address = Url::parse(&format!("http://{bound}/")).unwrap();
    let metrics = app
        .metrics_addr()
        .map(|addr| Url::parse(&format!("http://{addr}/metrics")).unwrap());
    let tenant = app.dev_tenant().map(|t| t.issuer().clone());
    let db = app.database().clone();
    let client_secret = app.settings().client_secret.expose().to_owned();
    let client_id = app.settings().client_id.clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        tenant,
        browser: Browser::new(),
        metrics,
        database_url,
        db,
        client_secret,
        client_id,
        _dir: dir,
    }
}

/// A session key for tests that configure a tenant (64 characters that look random).
pub const TEST_SESSION_KEY: &str =
    "tE5t-k3y_N0t-f0r-Pr0duct10n_9aQ2wX7vB4nM8cL1zK6jH3gF0dS5aP2oI9uY";

/// The app configured as for a real tenant (`AUTH0_DOMAIN` and the rest, nothing embedded), the
/// tenant being a dev tenant of the test's own, registered for the app's `/callback`. `vars` come
/// on top.
pub async fn spawn_app_with_tenant(vars: &[(&str, &str)]) -> (TestApp, DevTenant) {
    spawn_app_with_tenant_at("/callback", vars).await
}

/// Like [`spawn_app_with_tenant`], with `AUTH0_CALLBACK_URL` set to `callback`: a path on the
/// app's address, or a full URL. The tenant registers it.
pub async fn spawn_app_with_tenant_at(
    callback: &str,
    vars: &[(&str, &str)],
) -> (TestApp, DevTenant) {
    spawn_app_with_tenant_setup(callback, vars, |_| {}).await
}

/// The app for a dev tenant whose registration `tweak` changes, at `callback`, with `vars`.
pub async fn spawn_app_with_tenant_setup(
    callback: &str,
    vars: &[(&str, &str)],
    tweak: impl FnOnce(&mut Registration),
) -> (TestApp, DevTenant) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let home = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let callback = home.join(callback).expect("a callback URL");
    let mut registration =
        Registration::for_callbacks("a real-tenant configuration", vec![callback.clone()]);
    tweak(&mut registration);
    let tenant = DevTenant::start(registration).await.unwrap();
    let settings = tenant.tenant_settings();
    let client = TenantClient::of(&settings);
    let app = spawn_app_for_tenant(listener, &client, callback.as_str(), vars).await;
    (app, tenant)
}

/// A real-tenant configuration's tenant and client: what `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and
/// `AUTH0_SECRET` say.
pub struct TenantClient<'a> {
    pub domain: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

impl TenantClient<'_> {
    /// The client a dev tenant registered (its settings, as it prints them).
    pub fn of(settings: &TenantSettings) -> TenantClient<'_> {
        TenantClient {
            domain: &settings.domain,
            client_id: &settings.client_id,
            client_secret: settings.client_secret.expose(),
        }
    }

    /// A client of a tenant at `domain` that nobody registered: for a tenant that is down.
    pub fn made_up(domain: &str) -> TenantClient<'_> {
        TenantClient {
            domain,
            client_id: "client",
            client_secret: "not-a-real-secret",
        }
    }
}

/// The app on `listener`, configured as for a real tenant: the one place that writes that
/// environment (`AUTH0_DOMAIN`, the client, `AUTH0_CALLBACK_URL`, `SESSION_KEY`). `vars` come
/// on top.
pub async fn spawn_app_for_tenant(
    listener: std::net::TcpListener,
    tenant: &TenantClient<'_>,
    callback: &str,
    vars: &[(&str, &str)],
) -> TestApp {
    let mut env = vec![
        ("AUTH0_DOMAIN", tenant.domain),
        ("AUTH0_CLIENT_ID", tenant.client_id),
        ("AUTH0_SECRET", tenant.client_secret),
        ("AUTH0_CALLBACK_URL", callback),
        ("SESSION_KEY", TEST_SESSION_KEY),
    ];
    env.extend_from_slice(vars);
    spawn_app_on(listener, &env).await
}

/// The app configured for a tenant at `domain` with a made-up client, its callback on a port
/// nobody serves: for a tenant that is down, hangs, or refuses.
pub async fn spawn_app_for_domain(domain: &str) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let tenant = TenantClient::made_up(domain);
    spawn_app_for_tenant(listener, &tenant, "http://127.0.0.1:9/callback", &[]).await
}

/// A dev tenant registered for an app that will serve on `listener`, and that app's settings
/// (as a host of the auth0 module would build them). Returns the app's home URL too.
pub async fn dev_tenant_for(
    listener: &std::net::TcpListener,
    success_url: &str,
) -> (Url, DevTenant, Auth0Settings) {
    let home = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let callback = home.join("/callback").unwrap();
    let tenant = DevTenant::start(Registration::for_callbacks(
        "a host app",
        vec![callback.clone()],
    ))
    .await
    .unwrap();
    let app_settings = AppSettings {
        callback_url: Some(callback),
        success_url: success_url.into(),
        scope: DEFAULT_SCOPE.into(),
        audience: None,
        lock_url: DEFAULT_LOCK_URL.into(),
        session: SessionLifetime::DEFAULT,
        logout: Default::default(),
        login: Default::default(),
    };
    let settings = Auth0Settings::new(tenant.tenant_settings(), app_settings, None).unwrap();
    (home, tenant, settings)
}

/// The auth0 module mounted on its own (no database: a `from_fn` backend) against a dev tenant,
/// with its settings adjusted by `tweak`. `/me` answers the user's `sub`, `/csrf` the logout
/// form's token. Returns the app's home.
pub async fn spawn_module_app(tweak: impl FnOnce(&mut Auth0Settings)) -> (Url, DevTenant) {
    let backend = auth0_actix::auth0::from_fn(|p| Ok(p.sub.clone()));
    spawn_module_app_with(backend, tweak).await
}

/// Like [`spawn_module_app`], with the backend of the test's choice.
pub async fn spawn_module_app_with(
    backend: impl auth0_actix::auth0::Auth0Backend,
    tweak: impl FnOnce(&mut Auth0Settings),
) -> (Url, DevTenant) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    use auth0_actix::auth0::{self, Auth0, AuthUser};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (home, tenant, mut settings) = dev_tenant_for(&listener, "/me").await;
    tweak(&mut settings);
    let auth0 = Auth0::new(settings, backend);
    let key = actix_web::cookie::Key::generate();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(auth0.session_middleware(key.clone()))
            .configure(auth0::configure(auth0.clone()))
            .route(
                "/me",
                web::get().to(|u: AuthUser| async move { HttpResponse::Ok().body(u.sub) }),
            )
            .route(
                "/csrf",
                web::get().to(|ctx: auth0::Auth0Context| async move {
                    HttpResponse::Ok().body(ctx.csrf_token.unwrap_or_default())
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    (home, tenant)
}

/// A browser logged in at a module app (`spawn_module_app`) as ada, and the session cookie
/// (`name=value`) the login set, to replay from elsewhere.
pub async fn log_in_at_module_app(home: &Url) -> (Browser, String) {
    let browser = Browser::new();
    let login = browser
        .get(home.join("/login").unwrap())
        .send()
        .await
        .unwrap();
    let back = browser
        .submit_tenant_form(&location(&login), "ada@example.com", "pw")
        .await;
    let done = browser.get(back).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    let cookie = super::session_cookie_set_by(&done).expect("a session cookie at login");
    (browser, cookie)
}

/// `POST /logout` at the app at `home` (directly or through a proxy) with the logout page's CSRF
/// token, as its button does.
pub async fn log_out_at(browser: &Browser, home: &Url) -> Response {
    let csrf = csrf_token_at(browser, home)
        .await
        .expect("the logout page has a CSRF token");
    browser
        .post(home.join("/logout").unwrap())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("POST /logout")
}

/// The logout form's CSRF token, read from the logout page of the app at `home`.
async fn csrf_token_at(browser: &Browser, home: &Url) -> Option<String> {
    let page = browser
        .get(home.join("/logout").unwrap())
        .send()
        .await
        .ok()?;
    let html = page.text().await.unwrap();
    let start = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Logs go through libtest's capture: shown for failing tests only.
fn init_test_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("RUST_LOG")
                .unwrap_or_else(|_| auth0_actix::telemetry::DEFAULT_FILTER.into()),
        ))
        .with_test_writer()
        .try_init();
}

impl TestApp {
    pub fn url(&self, path: &str) -> Url {
        self.address.join(path).expect("path")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.browser.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_url(&self, url: &Url) -> Response {
        self.browser.get(url.clone()).send().await.expect("GET")
    }

    /// `GET /login[?next=]`: returns the tenant's `/authorize` URL the app redirected to.
    pub async fn start_login(&self, next: Option<&str>) -> Url {
        self.start_login_in(&self.browser, next).await
    }

    pub async fn start_login_in(&self, browser: &Browser, next: Option<&str>) -> Url {
        let mut url = self.url("/login");
        if let Some(next) = next {
            url.query_pairs_mut().append_pair("next", next);
        }
        let response = browser.get(url).send().await.expect("GET /login");
        assert_eq!(response.status(), StatusCode::FOUND, "/login redirects");
        location(&response)
    }

    /// Follows `/authorize` to the tenant's form and submits it; returns where the tenant sent
    /// the browser (the app's callback with `code` and `state`, or an error).
    pub async fn submit_tenant_form(&self, authorize: &Url, email: &str, password: &str) -> Url {
        self.browser
            .submit_tenant_form(authorize, email, password)
            .await
    }

    /// A login started here and completed at the tenant's form: the callback URL it returns
    /// to, not yet visited.
    pub async fn tenant_callback(&self, email: &str) -> Url {
        let authorize = self.start_login(None).await;
        self.submit_tenant_form(&authorize, email, "pw").await
    }

    /// A whole login as `email`; returns the callback's response (a redirect on success).
    pub async fn login_as(&self, email: &str) -> Response {
        self.login_in(&self.browser, email, None).await
    }

    pub async fn login_with_next(&self, email: &str, next: Option<&str>) -> Response {
        self.login_in(&self.browser, email, next).await
    }

    /// A whole login in another browser (its own cookies).
    pub async fn login_in(&self, browser: &Browser, email: &str, next: Option<&str>) -> Response {
        let authorize = self.start_login_in(browser, next).await;
        let callback = browser.submit_tenant_form(&authorize, email, "pw").await;
        browser.get(callback).send().await.expect("GET callback")
    }

    /// `POST /logout` with the logout page's CSRF token, as its button does.
    pub async fn log_out(&self) -> Response {
        self.log_out_in(&self.browser).await
    }

    /// [`TestApp::log_out`] in another browser.
    pub async fn log_out_in(&self, browser: &Browser) -> Response {
        log_out_at(browser, &self.address).await
    }

    /// The logout form's CSRF token, read from the logout page.
    pub async fn csrf_token(&self) -> Option<String> {
        self.csrf_token_in(&self.browser).await
    }

    async fn csrf_token_in(&self, browser: &Browser) -> Option<String> {
        csrf_token_at(browser, &self.address).await
    }

    pub async fn login_count(&self, sub_like_email: &str) -> Option<i64> {
        self.query_i64(
            "SELECT login_count FROM user_profiles WHERE email = $1",
            &[sub_like_email],
        )
        .await
    }

    pub async fn profile_rows(&self) -> i64 {
        self.count("user_profiles").await
    }

    pub async fn session_rows(&self) -> i64 {
        self.count("user_sessions").await
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        self.query_i64(&sql, &[]).await.expect("a count")
    }

    /// Runs SQL (one or more statements, no parameters) on the app's database.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Database::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
            Database::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The first row's integer of a query with text parameters (`$1`...), if there is a row.
    pub async fn query_i64(&self, sql: &str, args: &[&str]) -> Option<i64> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Database::Sqlite(pool) => {
                let mut query = sqlx::query_scalar(sql);
                for arg in args {
                    query = query.bind(*arg);
                }
                query.fetch_optional(pool).await
            }
            Database::Postgres(pool) => {
                let mut query = sqlx::query_scalar(sql);
                for arg in args {
                    query = query.bind(*arg);
                }
                query.fetch_optional(pool).await
            }
        }
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The first row's text columns of a query with text parameters (`$1`...).
    pub async fn query_texts(&self, sql: &str, args: &[&str]) -> Vec<Option<String>> {
        use sqlx::Row;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Database::Sqlite(pool) => {
                let mut query = sqlx::query(sql);
                for arg in args {
                    query = query.bind(*arg);
                }
                let row = query.fetch_one(pool).await;
                row.map(|row| (0..row.len()).map(|i| row.get(i)).collect())
            }
            Database::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for arg in args {
                    query = query.bind(*arg);
                }
                let row = query.fetch_one(pool).await;
                row.map(|row| (0..row.len()).map(|i| row.get(i)).collect())
            }
        }
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Makes the database refuse `operation` (`INSERT`, `UPDATE`, `DELETE`) on `table`, with
    /// `message`, as a full disk or a read-only replica would: a trigger in each engine's dialect.
    pub async fn refuse(&self, operation: &str, table: &str, message: &str) {
        let name = format!("refuse_{}_{table}", operation.to_lowercase());
        let sql = match &self.db {
            Database::Sqlite(_) => format!(
                "CREATE TRIGGER {name} BEFORE {operation} ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            ),
            Database::Postgres(_) => format!(
                "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '{message}'; END $$; \
                 CREATE TRIGGER {name} BEFORE {operation} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {name}()"
            ),
        };
        self.execute(&sql).await;
    }

    /// The same app seen from a fresh browser (no cookies), for a story that moves to another
    /// browser while keeping the app's helpers (`start`, `callback`, `assert_rejected`...).
    pub fn in_a_new_browser(mut self) -> Self {
        self.browser = Browser::new();
        self
    }

    /// The test browser's session cookie (`name=value`), for replaying it from another client.
    pub fn session_cookie(&self) -> Option<String> {
        self.browser.session_cookie(&self.address)
    }

    /// Whether the test browser's session is anonymous: `/profile` sends it to log in.
    pub async fn is_anonymous(&self) -> bool {
        self.is_anonymous_in(&self.browser).await
    }

    /// Whether `browser`'s session is anonymous.
    pub async fn is_anonymous_in(&self, browser: &Browser) -> bool {
        let response = browser.get(self.url("/profile")).send().await.expect("GET");
        response.status() == StatusCode::FOUND
            && location_str(&response).starts_with("/login?next=")
    }
}
