//! A hostile identity provider for the rejection tests: discovery, JWKS, token and userinfo
//! endpoints whose answers each test scripts. It lives in tests/ only, so no fault can be
//! injected into the shipped app; it signs with the dev tenant's key code
//! (`auth0_actix::dev_tenant::keys`).
//!
//! A test starts a login at the app (to get a real `state` and `nonce`), scripts what the token
//! endpoint answers, then calls the app's callback itself with that state and any code.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use auth0_actix::dev_tenant::keys::{self, SigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreHmacKey, CoreJwsSigningAlgorithm};
use openidconnect::PrivateSigningKey;
use reqwest::Response;
use serde_json::{json, Value};
use url::Url;

use crate::support::{query_param, spawn_app_for_tenant, TenantClient, TestApp};

pub const CLIENT_ID: &str = "hostile-test-client";
pub const CLIENT_SECRET: &str = "hostile-test-client-secret-0123456789abcdef";
pub const SUB: &str = "auth0|hostile-user";
pub const ACCESS_TOKEN: &str = "hostile-access-token-abcdef0123456789";
pub const CODE: &str = "hostile-code-abcdef0123456789";

/// What the token endpoint answers.
#[derive(Clone)]
pub enum TokenAnswer {
    /// A token response carrying this compact ID token.
    IdToken(String),
    /// This JSON body with status 200.
    Json(Value),
    /// This status and body.
    Status(u16, String),
    /// A 307 to `/oauth/token-elsewhere`, which would answer with this ID token.
    Redirect(String),
    /// This compact ID token, after this long (a slow tenant: a callback stays in flight).
    IdTokenAfter(Duration, String),
    /// Never answers (well, after a minute).
    Hang,
}

#[derive(Clone)]
pub enum UserinfoAnswer {
    /// The standard claims for [`SUB`].
    Good,
    Json(Value),
    Status(u16),
    Hang,
}

#[derive(Default)]
pub struct Calls {
    pub discovery: AtomicUsize,
    pub jwks: AtomicUsize,
    pub token: AtomicUsize,
    pub token_elsewhere: AtomicUsize,
    pub userinfo: AtomicUsize,
}

struct Script {
    issuer: Url,
    token: Mutex<TokenAnswer>,
    userinfo: Mutex<UserinfoAnswer>,
    /// The key set published at `/.well-known/jwks.json`; `None` answers 500.
    jwks: Mutex<Option<Value>>,
    calls: Calls,
}

pub struct HostileIdp {
    script: Arc<Script>,
}

/// A second RSA key, for key rotation.
pub fn rotated_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| keys::generate("rotated-key-2"))
}

/// The app in real-tenant mode, its tenant this hostile IdP.
pub async fn spawn_with_hostile_idp() -> (TestApp, HostileIdp) {
    spawn_with_hostile_idp_and(&[]).await
}

/// Like [`spawn_with_hostile_idp`], with `vars` on top. The app calls `/userinfo` too
/// (`AUTH0_USERINFO=true`, unless `vars` say otherwise), so each rejection also shows that no
/// userinfo call was made, and the userinfo answers can be scripted.
pub async fn spawn_with_hostile_idp_and(vars: &[(&str, &str)]) -> (TestApp, HostileIdp) {
    let idp = HostileIdp::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let callback = format!("http://{}/callback", listener.local_addr().unwrap());
    let domain = idp.issuer().as_str().trim_end_matches('/').to_owned();
    let client = TenantClient {
        domain: &domain,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
    };
    let mut env = vec![("AUTH0_USERINFO", "true")];
    env.extend_from_slice(vars);
    let app = spawn_app_for_tenant(listener, &client, &callback, &env).await;
    (app, idp)
}

impl HostileIdp {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let script = Arc::new(Script {
            issuer,
            token: Mutex::new(TokenAnswer::Status(500, "not scripted".into())),
            userinfo: Mutex::new(UserinfoAnswer::Good),
            jwks: Mutex::new(Some(
                serde_json::to_value(&keys::signing_key().jwks).unwrap(),
            )),
            calls: Calls::default(),
        });
        let data = web::Data::from(script.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/.well-known/jwks.json", web::get().to(jwks))
                .route("/oauth/token", web::post().to(token))
                .route("/oauth/token-elsewhere", web::post().to(token_elsewhere))
                .route("/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self { script }
    }

    pub fn issuer(&self) -> &Url {
        &self.script.issuer
    }

    pub fn calls(&self) -> &Calls {
        &self.script.calls
    }

    pub fn userinfo_calls(&self) -> usize {
        self.script.calls.userinfo.load(Ordering::SeqCst)
    }

    pub fn jwks_calls(&self) -> usize {
        self.script.calls.jwks.load(Ordering::SeqCst)
    }

    pub fn answer_token(&self, answer: TokenAnswer) {
        *self.script.token.lock().unwrap() = answer;
    }

    pub fn answer_userinfo(&self, answer: UserinfoAnswer) {
        *self.script.userinfo.lock().unwrap() = answer;
    }

    /// Publishes these keys (or a failing endpoint with `None`).
    pub fn publish_keys(&self, key: Option<&SigningKey>) {
        *self.script.jwks.lock().unwrap() = key.map(|k| serde_json::to_value(&k.jwks).unwrap());
    }

    /// Claims that a careful relying party accepts, for `nonce`.
    pub fn claims(&self, nonce: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer().as_str(),
            "aud": CLIENT_ID,
            "sub": SUB,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce,
            "name": "Hostile User",
            "email": "hostile@example.com",
            "email_verified": true,
        })
    }

    /// The standard header for the dev tenant's key.
    pub fn header(&self) -> Value {
        json!({ "alg": "RS256", "typ": "JWT", "kid": "dev-tenant-key-1" })
    }

    /// `claims` signed RS256 with the dev tenant's key, with the standard header.
    pub fn rs256(&self, claims: &Value) -> String {
        jwt(&self.header(), claims, Signer::Rsa(keys::signing_key()))
    }
}

pub enum Signer<'a> {
    Rsa(&'a SigningKey),
    Hmac(&'a [u8]),
    Unsigned,
}

/// A compact JWS: `base64url(header).base64url(claims).base64url(signature)`.
pub fn jwt(header: &Value, claims: &Value, signer: Signer) -> String {
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let input = format!("{}.{}", encode(header), encode(claims));
    let signature = match signer {
        Signer::Rsa(key) => key
            .key
            .sign(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
            )
            .unwrap(),
        Signer::Hmac(secret) => CoreHmacKey::new(secret)
            .sign(&CoreJwsSigningAlgorithm::HmacSha256, input.as_bytes())
            .unwrap(),
        Signer::Unsigned => Vec::new(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The `at_hash` of `access_token` for an RS256 ID token, computed here from the spec (OIDC Core
/// 3.2.2.9: the left half of its SHA-256, base64url), not by the library the app uses.
pub fn at_hash(access_token: &str) -> Value {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    json!(URL_SAFE_NO_PAD.encode(&digest[..16]))
}

pub fn token_response(id_token: &str) -> Value {
    json!({
        "access_token": ACCESS_TOKEN,
        "id_token": id_token,
        "token_type": "Bearer",
        "expires_in": 86400,
    })
}

async fn discovery(script: web::Data<Script>) -> HttpResponse {
    script.calls.discovery.fetch_add(1, Ordering::SeqCst);
    let issuer = &script.issuer;
    let at = |path: &str| issuer.join(path).unwrap().to_string();
    HttpResponse::Ok().json(json!({
        "issuer": issuer.as_str(),
        "authorization_endpoint": at("authorize"),
        "token_endpoint": at("oauth/token"),
        "userinfo_endpoint": at("userinfo"),
        "jwks_uri": at(".well-known/jwks.json"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        // As Auth0's: HS256 is listed. A relying party must not take this list as its allow-list.
        "id_token_signing_alg_values_supported": ["HS256", "RS256"],
    }))
}

async fn jwks(script: web::Data<Script>) -> HttpResponse {
    script.calls.jwks.fetch_add(1, Ordering::SeqCst);
    match script.jwks.lock().unwrap().clone() {
        Some(keys) => HttpResponse::Ok().json(keys),
        None => HttpResponse::InternalServerError().body("key store down"),
    }
}

async fn token(script: web::Data<Script>) -> HttpResponse {
    script.calls.token.fetch_add(1, Ordering::SeqCst);
    let answer = script.token.lock().unwrap().clone();
    match answer {
        TokenAnswer::IdToken(id_token) => HttpResponse::Ok().json(token_response(&id_token)),
        TokenAnswer::IdTokenAfter(delay, id_token) => {
            actix_web::rt::time::sleep(delay).await;
            HttpResponse::Ok().json(token_response(&id_token))
        }
        TokenAnswer::Json(body) => HttpResponse::Ok().json(body),
        TokenAnswer::Status(status, body) => {
            HttpResponse::build(StatusCode::from_u16(status).unwrap())
                .content_type("application/json")
                .body(body)
        }
        TokenAnswer::Redirect(_) => HttpResponse::TemporaryRedirect()
            .insert_header((
                "location",
                script
                    .issuer
                    .join("oauth/token-elsewhere")
                    .unwrap()
                    .as_str(),
            ))
            .finish(),
        TokenAnswer::Hang => {
            actix_web::rt::time::sleep(Duration::from_secs(60)).await;
            HttpResponse::GatewayTimeout().finish()
        }
    }
}

async fn token_elsewhere(script: web::Data<Script>) -> HttpResponse {
    script.calls.token_elsewhere.fetch_add(1, Ordering::SeqCst);
    match script.token.lock().unwrap().clone() {
        TokenAnswer::Redirect(id_token) => HttpResponse::Ok().json(token_response(&id_token)),
        _ => HttpResponse::NotFound().finish(),
    }
}

async fn userinfo(script: web::Data<Script>) -> HttpResponse {
    script.calls.userinfo.fetch_add(1, Ordering::SeqCst);
    let answer = script.userinfo.lock().unwrap().clone();
    match answer {
        UserinfoAnswer::Good => HttpResponse::Ok().json(json!({
            "sub": SUB,
            "name": "Hostile User",
            "email": "hostile@example.com",
            "email_verified": true,
            "updated_at": "2026-11-26T10:00:00.000Z",
        })),
        UserinfoAnswer::Json(body) => HttpResponse::Ok().json(body),
        UserinfoAnswer::Status(status) => {
            HttpResponse::build(StatusCode::from_u16(status).unwrap()).finish()
        }
        UserinfoAnswer::Hang => {
            actix_web::rt::time::sleep(Duration::from_secs(60)).await;
            HttpResponse::GatewayTimeout().finish()
        }
    }
}

/// A login started at the app: its state and nonce, as the app sent them to `/authorize`.
pub struct StartedLogin {
    pub state: String,
    pub nonce: String,
}

pub async fn start(app: &TestApp) -> StartedLogin {
    let authorize = app.start_login(None).await;
    StartedLogin {
        state: query_param(&authorize, "state").unwrap(),
        nonce: query_param(&authorize, "nonce").unwrap(),
    }
}

/// The browser coming back to the app's callback with `state` and the scripted code.
pub async fn callback(app: &TestApp, login: &StartedLogin) -> Response {
    let mut url = app.url("/callback");
    url.query_pairs_mut()
        .append_pair("code", CODE)
        .append_pair("state", &login.state);
    app.browser
        .get(url)
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("the callback answers within 15 s")
}

/// The invariant of every rejected login: an error page (never a redirect), no token, code or
/// secret on it, no session, no profile row.
pub async fn assert_rejected(app: &TestApp, response: Response, also_hidden: &[&str]) {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(
        status.is_client_error() || status.is_server_error(),
        "expected a 4xx/5xx page, got {status}: {body}"
    );
    for secret in [CODE, ACCESS_TOKEN, CLIENT_SECRET]
        .iter()
        .chain(also_hidden)
    {
        assert!(!body.contains(secret), "the page shows a secret: {body}");
    }
    assert!(
        app.is_anonymous().await,
        "no session after a rejected login"
    );
    assert_eq!(
        app.profile_rows().await,
        0,
        "no profile row after a rejected login"
    );
}

/// Runs a login whose token endpoint returns `make_token(idp, nonce)` as the ID token, and
/// checks it is rejected before any userinfo call.
pub async fn rejects_id_token(make_token: impl FnOnce(&HostileIdp, &str) -> String) {
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    let id_token = make_token(&idp, &login.nonce);
    idp.answer_token(TokenAnswer::IdToken(id_token.clone()));
    let response = callback(&app, &login).await;
    assert_rejected(&app, response, &[&id_token]).await;
    assert_eq!(
        idp.userinfo_calls(),
        0,
        "no userinfo call after a rejected ID token"
    );
}

/// Runs a login whose ID token is `make_token(idp, nonce)` and expects it to succeed.
pub async fn accepts_id_token(make_token: impl FnOnce(&HostileIdp, &str) -> String) -> TestApp {
    let (app, idp) = spawn_with_hostile_idp().await;
    let login = start(&app).await;
    idp.answer_token(TokenAnswer::IdToken(make_token(&idp, &login.nonce)));
    let response = callback(&app, &login).await;
    assert_eq!(response.status(), 302, "{}", response.text().await.unwrap());
    assert!(!app.is_anonymous().await);
    app
}
