//! The app's API (`/api/messages/...`) as a resource server: tokens from the dev tenant are
//! accepted where they should be, and every hostile token gets RFC 6750's 401 (or 403). The first
//! tests prove good tokens pass, so the rejections below are not vacuous. The API does not depend
//! on the database engine: these run once, on SQLite.

use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

use crate::support::app::{spawn_app_with_tenant, TestApp};
use crate::support::hostile_idp::{jwt, rotated_key, Signer};
use auth0_actix::dev_tenant::{keys, DevTenant};

const AUDIENCE: &str = "https://api.example/messages";
const ADMIN: &str = "read:admin-messages";

async fn spawn() -> (TestApp, DevTenant) {
    crate::support::engine::enter("on_sqlite").expect("SQLite is always there");
    spawn_app_with_tenant(&[("AUTH0_AUDIENCE", AUDIENCE)]).await
}

/// A machine-to-machine token from the tenant (client credentials), with these permissions.
async fn tenant_token(app: &TestApp, tenant: &DevTenant, scope: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(tenant.issuer().join("oauth/token").unwrap())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_str()),
            ("audience", AUDIENCE),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().expect("a token").to_owned()
}

async fn call(app: &TestApp, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().await.unwrap()
}

async fn bearer(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    call(app, path, Some(&format!("Bearer {token}"))).await
}

fn challenge(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Good access-token claims for the app's tenant, as the dev tenant issues them.
fn claims(tenant: &Url) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": tenant.as_str(),
        "sub": "auth0|api-test",
        "aud": [AUDIENCE, tenant.join("userinfo").unwrap().as_str()],
        "iat": now,
        "exp": now + 600,
        "scope": "openid",
        "permissions": [ADMIN],
    })
}

fn header() -> Value {
    json!({ "alg": "RS256", "typ": "JWT", "kid": keys::signing_key().kid })
}

/// Claims with one change, signed with the tenant's own key.
fn signed_with(tenant: &Url, change: impl FnOnce(&mut Value)) -> String {
    let mut c = claims(tenant);
    change(&mut c);
    jwt(&header(), &c, Signer::Rsa(keys::signing_key()))
}

/// The good claims under a header with one change, signed with the tenant's own key.
fn with_header(tenant: &Url, change: impl FnOnce(&mut Value)) -> String {
    let mut h = header();
    change(&mut h);
    jwt(&h, &claims(tenant), Signer::Rsa(keys::signing_key()))
}

#[track_caller]
fn assert_invalid_token(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        challenge(response).contains("error=\"invalid_token\""),
        "{}",
        challenge(response)
    );
}

#[actix_web::test]
async fn the_public_message_needs_no_token() {
    let (app, _tenant) = spawn().await;
    let response = call(&app, "/api/messages/public", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["text"], "This is a public message.");
}

#[actix_web::test]
async fn without_a_token_the_protected_message_is_a_bare_401_challenge() {
    let (app, _tenant) = spawn().await;
    let response = call(&app, "/api/messages/protected", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // RFC 6750 §3.1: no error code when the request had no authentication at all.
    assert_eq!(challenge(&response), "Bearer realm=\"api\"");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[actix_web::test]
async fn a_tenant_token_reads_the_protected_message_and_the_admin_one_only_with_the_permission() {
    let (app, tenant) = spawn().await;
    let plain = tenant_token(&app, &tenant, "").await;
    let response = bearer(&app, "/api/messages/protected", &plain).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["text"], "This is a protected message.");

    let response = bearer(&app, "/api/messages/admin", &plain).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let www = challenge(&response);
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(www.contains(&format!("scope=\"{ADMIN}\"")), "{www}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    assert!(body["error_description"].as_str().unwrap().contains(ADMIN));

    let admin = tenant_token(&app, &tenant, ADMIN).await;
    let response = bearer(&app, "/api/messages/admin", &admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["text"], "This is an admin message.");
}

#[actix_web::test]
async fn a_token_minted_here_like_the_tenants_is_accepted_and_the_scheme_is_case_insensitive() {
    let (app, tenant) = spawn().await;
    let token = signed_with(tenant.issuer(), |_| {});
    let response = call(
        &app,
        "/api/messages/admin",
        Some(&format!("bearer {token}")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A single string `aud` is as good as an array, and RFC 9068's `at+jwt` as Auth0's `JWT`.
    let one_aud = signed_with(tenant.issuer(), |c| c["aud"] = json!(AUDIENCE));
    assert_eq!(
        bearer(&app, "/api/messages/protected", &one_aud)
            .await
            .status(),
        StatusCode::OK
    );
    let token = with_header(tenant.issuer(), |h| h["typ"] = json!("at+jwt"));
    assert_eq!(
        bearer(&app, "/api/messages/protected", &token)
            .await
            .status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn alg_none_is_refused() {
    let (app, tenant) = spawn().await;
    let header = json!({ "alg": "none", "typ": "JWT", "kid": keys::signing_key().kid });
    let token = jwt(&header, &claims(tenant.issuer()), Signer::Unsigned);
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn hs256_signed_with_the_client_secret_is_refused() {
    let (app, tenant) = spawn().await;
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": keys::signing_key().kid });
    let token = jwt(
        &header,
        &claims(tenant.issuer()),
        Signer::Hmac(app.client_secret.as_bytes()),
    );
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn a_token_for_another_audience_is_refused() {
    let (app, tenant) = spawn().await;
    let token = signed_with(tenant.issuer(), |c| {
        c["aud"] = json!(["https://other.example/api"])
    });
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn a_token_from_another_issuer_is_refused() {
    let (app, tenant) = spawn().await;
    let token = signed_with(tenant.issuer(), |c| {
        c["iss"] = json!("https://evil.example/")
    });
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn an_expired_token_is_refused_past_the_leeway() {
    let (app, tenant) = spawn().await;
    let now = chrono::Utc::now().timestamp();
    let within = signed_with(tenant.issuer(), |c| c["exp"] = json!(now - 30));
    assert_eq!(
        bearer(&app, "/api/messages/protected", &within)
            .await
            .status(),
        StatusCode::OK,
        "within the 60 s leeway"
    );
    let expired = signed_with(tenant.issuer(), |c| c["exp"] = json!(now - 120));
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &expired).await);
}

#[actix_web::test]
async fn a_token_not_yet_valid_is_refused() {
    let (app, tenant) = spawn().await;
    let later = chrono::Utc::now().timestamp() + 3600;
    let token = signed_with(tenant.issuer(), |c| c["nbf"] = json!(later));
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn a_token_with_an_unknown_key_id_is_refused() {
    let (app, tenant) = spawn().await;
    let token = with_header(tenant.issuer(), |h| h["kid"] = json!("no-such-key"));
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn a_token_signed_by_another_tenants_key_under_this_key_id_is_refused() {
    let (app, tenant) = spawn().await;
    let token = jwt(
        &header(),
        &claims(tenant.issuer()),
        Signer::Rsa(rotated_key()),
    );
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
}

#[actix_web::test]
async fn an_id_token_is_not_an_access_token() {
    let (app, tenant) = spawn().await;
    // Addressed to the web client as well as the API (an ID token's `aud`), otherwise valid.
    let to_client = signed_with(tenant.issuer(), |c| {
        c["aud"] = json!([AUDIENCE, app.client_id])
    });
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &to_client).await);
    // Bound to a login by a nonce.
    let with_nonce = signed_with(tenant.issuer(), |c| c["nonce"] = json!("n-0S6_WzA2Mj"));
    assert_invalid_token(&bearer(&app, "/api/messages/protected", &with_nonce).await);
}

#[actix_web::test]
async fn a_token_of_another_type_is_refused() {
    let (app, tenant) = spawn().await;
    for typ in [json!("logout+jwt"), Value::Null] {
        let token = with_header(tenant.issuer(), |h| h["typ"] = typ);
        assert_invalid_token(&bearer(&app, "/api/messages/protected", &token).await);
    }
}

#[actix_web::test]
async fn a_token_anywhere_but_the_authorization_header_is_ignored() {
    let (app, tenant) = spawn().await;
    let token = signed_with(tenant.issuer(), |_| {});
    let in_query = call(
        &app,
        &format!("/api/messages/protected?access_token={token}"),
        None,
    )
    .await;
    assert_eq!(in_query.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&in_query), "Bearer realm=\"api\"");
    let in_form = reqwest::Client::new()
        .get(app.url("/api/messages/protected"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_form.status(), StatusCode::UNAUTHORIZED);
}

/// A refresh token from the tenant's code flow, driven here as the client (no app between).
async fn refresh_token_from(tenant: &DevTenant, app: &TestApp) -> String {
    let browser = crate::support::browser::Browser::new();
    let callback = tenant.registration().callback_urls[0].clone();
    let mut authorize = tenant.issuer().join("authorize").unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", callback.as_str())
        .append_pair("response_type", "code")
        .append_pair("scope", "openid offline_access")
        .append_pair("audience", AUDIENCE)
        .append_pair("state", "s");
    let back = browser
        .submit_tenant_form(&authorize, "rt@example.com", "pw")
        .await;
    let code = crate::support::browser::query_param(&back, "code").expect("a code");
    let answer = grant(
        app,
        tenant,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", callback.as_str()),
        ],
    )
    .await;
    answer["refresh_token"]
        .as_str()
        .expect("offline_access gives one")
        .to_owned()
}

/// A grant at the tenant's token endpoint, as the app's client; the JSON answer.
async fn grant(app: &TestApp, tenant: &DevTenant, fields: &[(&str, &str)]) -> Value {
    let mut form = vec![
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.as_str()),
    ];
    form.extend_from_slice(fields);
    reqwest::Client::new()
        .post(tenant.issuer().join("oauth/token").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_dev_tenant_rotates_refresh_tokens_and_a_reused_one_revokes_its_family() {
    let (app, tenant) = spawn().await;
    let first = refresh_token_from(&tenant, &app).await;
    let refresh = |token: String| {
        let (app, tenant) = (&app, &tenant);
        async move {
            grant(
                app,
                tenant,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let rotated = refresh(first.clone()).await;
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "rotation: a new refresh token");
    // The access token is a JWT for the API that the API accepts.
    let access = rotated["access_token"].as_str().unwrap();
    let response = bearer(&app, "/api/messages/protected", access).await;
    assert_eq!(response.status(), StatusCode::OK);
    // The retired token again: refused, and the whole family with it.
    assert_eq!(refresh(first).await["error"], "invalid_grant");
    assert_eq!(refresh(second).await["error"], "invalid_grant");
    assert_eq!(tenant.revoked_refresh_families(), 1);
}
