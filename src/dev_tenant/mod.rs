//! A local development tenant: an identity provider that speaks the same protocol as Auth0 for
//! this app, so a fresh clone logs in with no Auth0 account and every test has a real identity
//! provider to talk to. It is NOT Auth0 and says so loudly; it binds to loopback only and is never
//! started when `AUTH0_DOMAIN` is set.
//!
//! Endpoints, as Auth0 has them: `/.well-known/openid-configuration`, `/.well-known/jwks.json`,
//! `/authorize` (then `/u/login`, a small form: any email, any non-empty password),
//! `/oauth/token` (codes single-use, short-lived, bound to client, `redirect_uri` and PKCE),
//! `/userinfo`, `/v2/logout`, `/avatars/*.svg` so that pictures never leave the machine, the
//! endpoints the Lock widget calls (`/client/{id}.js`, `/co/authenticate`, ...), and `/dev/stats`
//! (request counts, for the benchmark).

pub mod keys;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use askama::Template;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{AccessToken, AuthorizationCode};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use crate::auth0::client::{IdToken, IdTokenClaims};
use crate::auth0::secure_eq;
use crate::auth0::settings::{Secret, TenantSettings};

/// How long a code may wait for its exchange (Auth0: 10 minutes; shorter is fine locally).
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a visitor may take on the login form.
const LOGIN_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Access tokens are only good for `/userinfo`.
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// Auth0's default ID token lifetime: 10 hours.
const ID_TOKEN_LIFETIME_SECS: i64 = 36_000;
/// How long a `/co/authenticate` login ticket is good for.
const TICKET_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The one database connection, named as Auth0 names its default.
const CONNECTION: &str = "Username-Password-Authentication";
/// The tenant's cross-origin session cookie, set by `/co/authenticate`.
const CO_COOKIE: &str = "dev_tenant_co";
/// Past this many pending entries in any map, expired ones are swept out.
const SWEEP_AT: usize = 1024;

/// The one application registered with the tenant: the app that started it.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_name: String,
    /// Allowed Callback URL (exact match, as Auth0 does).
    pub callback_url: Url,
    /// Allowed Logout URL: where `/v2/logout` may send the user back to.
    pub logout_url: Url,
}

/// Request counts, so a benchmark or test can see discovery and keys fetched once, not per login.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TenantStats {
    pub discovery: u64,
    pub jwks: u64,
    pub authorize: u64,
    pub token: u64,
    pub userinfo: u64,
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

    /// The tenant an app starts for itself when no tenant is configured: on `listener`
    /// (loopback only), with one application registered for `callback`, whose logout URL is the
    /// home page on the callback's origin.
    pub fn start_for_app(listener: TcpListener, callback: Url) -> std::io::Result<Self> {
        let mut home = callback.clone();
        home.set_path("/");
        home.set_query(None);
        Self::start_on(
            listener,
            Registration {
                client_name: "auth0-actix sample".into(),
                callback_url: callback,
                logout_url: home,
            },
        )
    }

    /// The application registered with this tenant.
    pub fn registration(&self) -> &Registration {
        &self.state.registration
    }

    /// Serves on a listener the caller bound; it must be on a loopback address.
    pub fn start_on(listener: TcpListener, registration: Registration) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(
                "the dev tenant only binds to loopback addresses",
            ));
        }
        let issuer = Url::parse(&format!("http://{addr}/")).expect("socket address URL");
        let state = web::Data::new(TenantState::new(issuer, registration));
        let app_state = state.clone();
        let server =
            HttpServer::new(move || App::new().app_data(app_state.clone()).configure(routes))
                .workers(1)
                .disable_signals()
                .tcp_nodelay(true)
                .listen(listener)?
                .run();
        actix_web::rt::spawn(server);
        Ok(Self { state })
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
        let c = &self.state.counters;
        TenantStats {
            discovery: c.discovery.load(Ordering::Relaxed),
            jwks: c.jwks.load(Ordering::Relaxed),
            authorize: c.authorize.load(Ordering::Relaxed),
            token: c.token.load(Ordering::Relaxed),
            userinfo: c.userinfo.load(Ordering::Relaxed),
        }
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

#[derive(Default)]
struct Counters {
    discovery: AtomicU64,
    jwks: AtomicU64,
    authorize: AtomicU64,
    token: AtomicU64,
    userinfo: AtomicU64,
}

struct TenantState {
    issuer: Url,
    client_id: String,
    client_secret: String,
    registration: Registration,
    discovery: String,
    jwks: String,
    /// `/authorize` requests waiting for the login form, by the form's `state`.
    logins: Mutex<HashMap<String, AuthorizeRequest>>,
    codes: Mutex<HashMap<String, Grant>>,
    /// Lock's login tickets from `/co/authenticate`, redeemed at `/authorize`.
    tickets: Mutex<HashMap<String, Ticket>>,
    access_tokens: Mutex<HashMap<String, (DevUser, Instant)>>,
    counters: Counters,
}

impl TenantState {
    fn new(issuer: Url, registration: Registration) -> Self {
        let key = keys::signing_key();
        let endpoint = |path: &str| issuer.join(path).expect("issuer is a base URL").to_string();
        // Shaped like Auth0's, HS256 included: the app must pin RS256 rather than trust this list.
        let discovery = json!({
            "issuer": issuer.as_str(),
            "authorization_endpoint": endpoint("authorize"),
            "token_endpoint": endpoint("oauth/token"),
            "userinfo_endpoint": endpoint("userinfo"),
            "jwks_uri": endpoint(".well-known/jwks.json"),
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["HS256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "claims_supported": ["aud", "auth_time", "email", "email_verified", "exp", "iat",
                "iss", "name", "nickname", "picture", "sub", "updated_at"],
        });
        Self {
            client_id: format!("dev-{}", random_token(12)),
            client_secret: random_token(32),
            registration,
            discovery: discovery.to_string(),
            jwks: serde_json::to_string(&key.jwks).expect("a key set serialises"),
            logins: Mutex::default(),
            codes: Mutex::default(),
            tickets: Mutex::default(),
            access_tokens: Mutex::default(),
            counters: Counters::default(),
            issuer,
        }
    }
}

/// A user of the dev tenant, derived from the email address alone.
#[derive(Debug, Clone)]
struct DevUser {
    sub: String,
    email: String,
    nickname: String,
    picture: String,
}

impl DevUser {
    fn from_email(issuer: &Url, email: &str) -> Self {
        let email = email.trim().to_owned();
        let digest = Sha256::digest(email.to_lowercase().as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let nickname = email.split('@').next().unwrap_or_default().to_owned();
        let initial = nickname
            .chars()
            .find(|c| c.is_ascii_alphanumeric())
            .unwrap_or('u')
            .to_ascii_uppercase();
        Self {
            // Auth0's database connection users look like `auth0|<id>`.
            sub: format!("auth0|{hex}"),
            picture: issuer
                .join(&format!("avatars/{initial}.svg"))
                .expect("avatar URL")
                .to_string(),
            email,
            nickname,
        }
    }

    /// The profile claims, as Auth0 sends them (`name` is the email for database users, and
    /// `updated_at` is an RFC 3339 string, not a number).
    fn claims(&self) -> serde_json::Value {
        json!({
            "sub": self.sub,
            "name": self.email,
            "nickname": self.nickname,
            "picture": self.picture,
            "email": self.email,
            "email_verified": true,
            "updated_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// Set by Lock (auth0.js) after `/co/authenticate`.
    login_ticket: Option<String>,
}

#[derive(Debug, Clone)]
struct AuthorizeRequest {
    redirect_uri: Url,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    started: Instant,
}

#[derive(Debug, Clone)]
struct Ticket {
    user: DevUser,
    /// The id in the tenant's cookie of the browser that authenticated.
    co_id: String,
    issued: Instant,
}

#[derive(Debug, Clone)]
struct Grant {
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    user: DevUser,
    issued: Instant,
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(discovery),
    )
    .route("/.well-known/jwks.json", web::get().to(jwks))
    .route("/authorize", web::get().to(authorize))
    .route("/u/login", web::get().to(login_form))
    .route("/u/login", web::post().to(login_submit))
    .route("/oauth/token", web::post().to(token))
    .route("/userinfo", web::get().to(userinfo))
    .route("/v2/logout", web::get().to(logout))
    .route("/client/{client_file}", web::get().to(client_settings))
    .route("/usernamepassword/challenge", web::post().to(challenge))
    .route(
        "/usernamepassword/challenge",
        web::method(Method::OPTIONS).to(preflight),
    )
    .route("/co/authenticate", web::post().to(co_authenticate))
    .route(
        "/co/authenticate",
        web::method(Method::OPTIONS).to(preflight),
    )
    .route("/avatars/{initial}.svg", web::get().to(avatar))
    .route("/dev/stats", web::get().to(stats));
}

async fn discovery(tenant: web::Data<TenantState>) -> HttpResponse {
    tenant.counters.discovery.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, tenant.discovery.clone())
}

async fn jwks(tenant: web::Data<TenantState>) -> HttpResponse {
    tenant.counters.jwks.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, tenant.jwks.clone())
}

/// `/authorize`: checks the client and redirect URI (a bad one gets a page, never a redirect),
/// then parks the request and shows the login form, as Auth0 does with `/u/login?state=`.
async fn authorize(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    query: web::Query<AuthorizeQuery>,
) -> HttpResponse {
    tenant.counters.authorize.fetch_add(1, Ordering::Relaxed);
    let q = query.into_inner();
    if q.client_id.as_deref() != Some(tenant.client_id.as_str()) {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Unknown client",
            "No application with this client_id is registered with this tenant.",
        );
    }
    let registered = &tenant.registration.callback_url;
    let redirect_uri = match q.redirect_uri.as_deref().map(Url::parse) {
        Some(Ok(uri)) if &uri == registered => uri,
        _ => {
            return page_error(
                StatusCode::BAD_REQUEST,
                "Callback URL mismatch",
                &format!("The redirect_uri is not in the application's Allowed Callback URLs (it allows {registered})."),
            )
        }
    };
    let back_with_error = |error: &str, description: &str| {
        back_to_app(
            &redirect_uri,
            Outcome::Error(error, description),
            q.state.as_deref(),
        )
    };
    if q.response_type.as_deref() != Some("code") {
        return back_with_error(
            "unsupported_response_type",
            "Only response_type=code is supported here.",
        );
    }
    if !q
        .scope
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .any(|s| s == "openid")
    {
        return back_with_error("invalid_scope", "The scope must include openid.");
    }
    if q.code_challenge.is_some() && q.code_challenge_method.as_deref() != Some("S256") {
        return back_with_error(
            "invalid_request",
            "Only code_challenge_method=S256 is supported here.",
        );
    }
    if let Some(ticket) = &q.login_ticket {
        return redeem_ticket(&tenant, &req, ticket, redirect_uri, &q);
    }
    let login_state = random_token(24);
    let request = AuthorizeRequest {
        redirect_uri,
        state: q.state,
        nonce: q.nonce,
        code_challenge: q.code_challenge,
        started: Instant::now(),
    };
    insert_swept(&tenant.logins, login_state.clone(), request, |r| {
        r.started.elapsed() < LOGIN_LIFETIME
    });
    redirect(&format!("/u/login?state={login_state}"))
}

#[derive(Template)]
#[template(path = "dev_tenant/login.html")]
struct LoginPage<'a> {
    client_name: &'a str,
    state: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "dev_tenant/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

#[derive(Deserialize)]
struct LoginFormQuery {
    state: String,
}

async fn login_form(
    tenant: web::Data<TenantState>,
    query: web::Query<LoginFormQuery>,
) -> HttpResponse {
    let known = tenant
        .logins
        .lock()
        .expect("lock")
        .contains_key(&query.state);
    if !known {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Login expired",
            "This login page has expired. Go back to the app and log in again.",
        );
    }
    let page = LoginPage {
        client_name: &tenant.registration.client_name,
        state: &query.state,
        email: "",
        error: None,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
struct LoginSubmit {
    state: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    action: String,
}

/// The credentials rule: any plausible email address with any non-empty password.
fn check_credentials(email: &str, password: &str) -> Result<(), &'static str> {
    let email = email.trim();
    let plausible = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    if !plausible {
        return Err("Enter a valid email address.");
    }
    if password.is_empty() {
        return Err("Enter a password (any non-empty password works here).");
    }
    Ok(())
}

async fn login_submit(
    tenant: web::Data<TenantState>,
    form: web::Form<LoginSubmit>,
) -> HttpResponse {
    let form = form.into_inner();
    let request = {
        let logins = tenant.logins.lock().expect("lock");
        logins.get(&form.state).cloned()
    };
    let Some(request) = request.filter(|r| r.started.elapsed() < LOGIN_LIFETIME) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "Login expired",
            "This login page has expired. Go back to the app and log in again.",
        );
    };
    let state = request.state.as_deref();
    if form.action == "cancel" {
        tenant.logins.lock().expect("lock").remove(&form.state);
        let cancelled = Outcome::Error("access_denied", "The user cancelled the login.");
        back_to_app(&request.redirect_uri, cancelled, state)
    } else {
        if let Err(problem) = check_credentials(&form.email, &form.password) {
            let page = LoginPage {
                client_name: &tenant.registration.client_name,
                state: &form.state,
                email: &form.email,
                error: Some(problem),
            };
            return html(StatusCode::BAD_REQUEST, page.render());
        }
        tenant.logins.lock().expect("lock").remove(&form.state);
        let user = DevUser::from_email(&tenant.issuer, &form.email);
        let code = issue_code(&tenant, &request, user);
        back_to_app(&request.redirect_uri, Outcome::Code(&code), state)
    }
}

/// How an authorization request ended.
enum Outcome<'a> {
    Code(&'a str),
    /// An OAuth error code and its description.
    Error(&'a str, &'a str),
}

/// Back to the app's (registered) `redirect_uri` with the outcome and the app's `state`.
fn back_to_app(redirect_uri: &Url, outcome: Outcome<'_>, state: Option<&str>) -> HttpResponse {
    let mut target = redirect_uri.clone();
    {
        let mut query = target.query_pairs_mut();
        match outcome {
            Outcome::Code(code) => query.append_pair("code", code),
            Outcome::Error(error, description) => query
                .append_pair("error", error)
                .append_pair("error_description", description),
        };
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    redirect(target.as_str())
}

/// A single-use code for `user`, bound to the request's redirect URI, nonce and PKCE challenge.
fn issue_code(tenant: &TenantState, request: &AuthorizeRequest, user: DevUser) -> String {
    let code = random_token(32);
    let grant = Grant {
        redirect_uri: request.redirect_uri.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        user,
        issued: Instant::now(),
    };
    insert_swept(&tenant.codes, code.clone(), grant, |g| {
        g.issued.elapsed() < CODE_LIFETIME
    });
    code
}

/// `/authorize?login_ticket=`: Lock's second step. The ticket must be fresh, unused, and
/// redeemed by the browser that authenticated (its tenant cookie); then a code goes back.
fn redeem_ticket(
    tenant: &TenantState,
    req: &HttpRequest,
    ticket: &str,
    redirect_uri: Url,
    q: &AuthorizeQuery,
) -> HttpResponse {
    let ticket = tenant.tickets.lock().expect("lock").remove(ticket);
    let cookie = req.cookie(CO_COOKIE).map(|c| c.value().to_owned());
    let valid = ticket.filter(|t| {
        t.issued.elapsed() < TICKET_LIFETIME
            && cookie.as_deref().is_some_and(|c| secure_eq(c, &t.co_id))
    });
    match valid {
        Some(ticket) => {
            let request = AuthorizeRequest {
                redirect_uri,
                state: q.state.clone(),
                nonce: q.nonce.clone(),
                code_challenge: q.code_challenge.clone(),
                started: Instant::now(),
            };
            tracing::info!(
                pkce = request.code_challenge.is_some(),
                nonce = request.nonce.is_some(),
                "dev tenant: Lock login ticket redeemed"
            );
            let code = issue_code(tenant, &request, ticket.user);
            back_to_app(
                &request.redirect_uri,
                Outcome::Code(&code),
                q.state.as_deref(),
            )
        }
        None => {
            let spent = Outcome::Error(
                "access_denied",
                "The login ticket is invalid, used or expired.",
            );
            back_to_app(&redirect_uri, spent, q.state.as_deref())
        }
    }
}

/// `/client/{client_id}.js`: the client's settings as JSONP, the way Auth0's CDN serves them to
/// Lock: one database connection, no signup or password reset (this tenant has neither).
async fn client_settings(tenant: web::Data<TenantState>, path: web::Path<String>) -> HttpResponse {
    let Some(client_id) = path.strip_suffix(".js") else {
        return HttpResponse::NotFound().finish();
    };
    if client_id != tenant.client_id {
        return HttpResponse::NotFound().finish();
    }
    let settings = json!({
        "id": tenant.client_id,
        "tenant": "dev-tenant",
        "subscription": "free",
        "authorize": tenant.issuer.join("authorize").expect("URL").as_str(),
        "callback": tenant.registration.callback_url.as_str(),
        "hasAllowedOrigins": true,
        "strategies": [{
            "name": "auth0",
            "connections": [{
                "name": CONNECTION,
                "showSignup": false,
                "showForgot": false,
                "passwordPolicy": "none",
                "requires_username": false,
            }],
        }],
    });
    HttpResponse::Ok()
        .content_type("application/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!("Auth0.setClient({settings});"))
}

/// The app's origin: the only one allowed to call the tenant's cross-origin endpoints.
fn app_origin(tenant: &TenantState) -> String {
    tenant
        .registration
        .callback_url
        .origin()
        .ascii_serialization()
}

/// Whether the request's `Origin` is the app's.
fn from_app_origin(tenant: &TenantState, req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin == app_origin(tenant))
}

/// CORS for the app's origin, with credentials (the tenant's cookie), as Auth0 does for an
/// application's Allowed Web Origins.
fn with_cors(tenant: &TenantState, req: &HttpRequest, mut response: HttpResponse) -> HttpResponse {
    if from_app_origin(tenant, req) {
        let allowed = app_origin(tenant);
        let headers = response.headers_mut();
        let value = |v: &str| header::HeaderValue::from_str(v).expect("header value");
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value(&allowed));
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, value("true"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, value("POST, OPTIONS"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            value("content-type, auth0-client"),
        );
        headers.insert(header::VARY, value("Origin"));
    }
    response
}

async fn preflight(tenant: web::Data<TenantState>, req: HttpRequest) -> HttpResponse {
    with_cors(&tenant, &req, HttpResponse::NoContent().finish())
}

/// `/usernamepassword/challenge`: no captcha here.
async fn challenge(tenant: web::Data<TenantState>, req: HttpRequest) -> HttpResponse {
    with_cors(
        &tenant,
        &req,
        HttpResponse::Ok().json(json!({ "required": false })),
    )
}

#[derive(Deserialize)]
struct CoAuthenticate {
    client_id: Option<String>,
    username: Option<String>,
    password: Option<String>,
    realm: Option<String>,
}

/// `/co/authenticate`: Lock's first step. Same credentials rule as the login form; success sets
/// the tenant's cookie and returns a login ticket, failure the error body Lock shows.
async fn co_authenticate(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    body: web::Json<CoAuthenticate>,
) -> HttpResponse {
    let body = body.into_inner();
    if !from_app_origin(&tenant, &req) {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Origin not allowed.",
        );
    }
    if body.client_id.as_deref() != Some(tenant.client_id.as_str())
        || body.realm.as_deref().is_some_and(|r| r != CONNECTION)
    {
        let response = oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unknown client or connection.",
        );
        return with_cors(&tenant, &req, response);
    }
    let (email, password) = (
        body.username.unwrap_or_default(),
        body.password.unwrap_or_default(),
    );
    if check_credentials(&email, &password).is_err() {
        let response = oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Wrong email or password.",
        );
        return with_cors(&tenant, &req, response);
    }
    let co_id = random_token(16);
    let login_ticket = random_token(24);
    let ticket = Ticket {
        user: DevUser::from_email(&tenant.issuer, &email),
        co_id: co_id.clone(),
        issued: Instant::now(),
    };
    insert_swept(&tenant.tickets, login_ticket.clone(), ticket, |t| {
        t.issued.elapsed() < TICKET_LIFETIME
    });
    let cookie = actix_web::cookie::Cookie::build(CO_COOKIE, co_id.clone())
        .path("/")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .finish();
    let response = HttpResponse::Ok()
        .cookie(cookie)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "login_ticket": login_ticket,
            "co_verifier": random_token(16),
            "co_id": co_id,
        }));
    with_cors(&tenant, &req, response)
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code_verifier: Option<String>,
}

/// `/oauth/token` for the authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6).
async fn token(
    tenant: web::Data<TenantState>,
    req: HttpRequest,
    form: web::Form<TokenRequest>,
) -> HttpResponse {
    tenant.counters.token.fetch_add(1, Ordering::Relaxed);
    let form = form.into_inner();
    let (client_id, client_secret) = match basic_auth(&req) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.client_id.clone(), form.client_secret.clone()),
    };
    let client_ok = client_id.as_deref() == Some(tenant.client_id.as_str())
        && client_secret
            .as_deref()
            .is_some_and(|s| secure_eq(s, &tenant.client_secret));
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    if form.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only authorization_code is supported here.",
        );
    }
    // Taking the code out of the map makes it single-use, whatever happens next.
    let grant = form
        .code
        .as_deref()
        .and_then(|code| tenant.codes.lock().expect("lock").remove(code));
    let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Invalid authorization code",
        );
    };
    if form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "The redirect_uri does not match the authorization request.",
        );
    }
    if let Some(challenge) = &grant.code_challenge {
        let verified = form.code_verifier.as_deref().is_some_and(|verifier| {
            let computed = openidconnect::PkceCodeChallenge::from_code_verifier_sha256(
                &openidconnect::PkceCodeVerifier::new(verifier.to_owned()),
            );
            secure_eq(computed.as_str(), challenge)
        });
        if !verified {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "Failed to verify code verifier",
            );
        }
    }
    let access_token = random_token(32);
    let id_token = match sign_id_token(
        &tenant,
        &grant,
        &access_token,
        form.code.as_deref().unwrap_or_default(),
    ) {
        Ok(token) => token,
        Err(e) => return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    };
    insert_swept(
        &tenant.access_tokens,
        access_token.clone(),
        (grant.user, Instant::now()),
        |(_, t)| t.elapsed() < ACCESS_TOKEN_LIFETIME,
    );
    let body = json!({
        "access_token": access_token,
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
        "scope": "openid profile email",
    });
    json_response(StatusCode::OK, body.to_string())
}

fn sign_id_token(
    tenant: &TenantState,
    grant: &Grant,
    access_token: &str,
    code: &str,
) -> Result<String, String> {
    let now = chrono::Utc::now().timestamp();
    let mut claims = grant.user.claims();
    let object = claims.as_object_mut().expect("claims are an object");
    object.insert("iss".into(), json!(tenant.issuer.as_str()));
    object.insert("aud".into(), json!(tenant.client_id));
    object.insert("iat".into(), json!(now));
    object.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME_SECS));
    object.insert("auth_time".into(), json!(now));
    object.insert("sid".into(), json!(random_token(16)));
    if let Some(nonce) = &grant.nonce {
        object.insert("nonce".into(), json!(nonce));
    }
    let claims: IdTokenClaims = serde_json::from_value(claims).map_err(|e| e.to_string())?;
    IdToken::new(
        claims,
        &keys::signing_key().key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&AccessToken::new(access_token.to_owned())),
        Some(&AuthorizationCode::new(code.to_owned())),
    )
    .map(|token| token.to_string())
    .map_err(|e| e.to_string())
}

async fn userinfo(tenant: web::Data<TenantState>, req: HttpRequest) -> HttpResponse {
    tenant.counters.userinfo.fetch_add(1, Ordering::Relaxed);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user = token.and_then(|t| {
        let tokens = tenant.access_tokens.lock().expect("lock");
        tokens
            .get(t)
            .filter(|(_, issued)| issued.elapsed() < ACCESS_TOKEN_LIFETIME)
            .map(|(user, _)| user.clone())
    });
    match user {
        Some(user) => json_response(StatusCode::OK, user.claims().to_string()),
        None => HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
            .body("Unauthorized"),
    }
}

#[derive(Deserialize)]
struct LogoutQuery {
    #[serde(rename = "returnTo")]
    return_to: Option<String>,
}

/// `/v2/logout`: back to `returnTo` only if it is the registered logout URL, as Auth0 insists.
async fn logout(tenant: web::Data<TenantState>, query: web::Query<LogoutQuery>) -> HttpResponse {
    match query.return_to.as_deref().map(Url::parse) {
        None => page_error(
            StatusCode::OK,
            "Logged out",
            "You are logged out of the local dev tenant.",
        ),
        Some(Ok(url)) if url == tenant.registration.logout_url => redirect(url.as_str()),
        Some(_) => page_error(
            StatusCode::BAD_REQUEST,
            "Logout URL not allowed",
            &format!(
                "returnTo must be the application's Allowed Logout URL ({}).",
                tenant.registration.logout_url
            ),
        ),
    }
}

/// `/dev/stats`: request counts, for benchmarks (discovery and keys once per app process).
async fn stats(tenant: web::Data<TenantState>) -> HttpResponse {
    let c = &tenant.counters;
    HttpResponse::Ok().json(json!({
        "discovery": c.discovery.load(Ordering::Relaxed),
        "jwks": c.jwks.load(Ordering::Relaxed),
        "authorize": c.authorize.load(Ordering::Relaxed),
        "token": c.token.load(Ordering::Relaxed),
        "userinfo": c.userinfo.load(Ordering::Relaxed),
    }))
}

/// A round avatar with an initial: the dev tenant's stand-in for gravatar.
async fn avatar(path: web::Path<String>) -> HttpResponse {
    let initial = path
        .chars()
        .next()
        .filter(char::is_ascii_alphanumeric)
        .unwrap_or('?');
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96"><circle cx="48" cy="48" r="48" fill="#635dff"/><text x="48" y="62" font-family="sans-serif" font-size="44" fill="#fff" text-anchor="middle">{initial}</text></svg>"##
    );
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(svg)
}

/// Inserts into a map, sweeping out entries that are no longer `live` once it grows large.
fn insert_swept<V>(
    map: &Mutex<HashMap<String, V>>,
    key: String,
    value: V,
    live: impl Fn(&V) -> bool,
) {
    let mut map = map.lock().expect("lock");
    if map.len() >= SWEEP_AT {
        map.retain(|_, v| live(v));
    }
    map.insert(key, value);
}

fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn json_response(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    json_response(
        status,
        json!({ "error": error, "error_description": description }).to_string(),
    )
}

fn html(status: StatusCode, rendered: askama::Result<String>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(format!("template error: {e}")),
    }
}

fn page_error(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    html(status, MessagePage { title, message }.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_email_is_the_same_user_whatever_its_case() {
        let issuer = Url::parse("http://127.0.0.1:1/").unwrap();
        let a = DevUser::from_email(&issuer, "Ada@Example.com");
        let b = DevUser::from_email(&issuer, "ada@example.com");
        let c = DevUser::from_email(&issuer, "bob@example.com");
        assert_eq!(a.sub, b.sub);
        assert_ne!(a.sub, c.sub);
        assert!(a.sub.starts_with("auth0|"));
        assert_eq!(a.nickname, "Ada");
    }

    #[test]
    fn any_email_with_any_non_empty_password_is_accepted() {
        assert!(check_credentials("a@b", "x").is_ok());
        assert!(check_credentials("ada@example.com", "").is_err());
        assert!(check_credentials("not-an-email", "x").is_err());
        assert!(check_credentials("a b@c", "x").is_err());
        assert!(check_credentials("@c", "x").is_err());
    }
}
