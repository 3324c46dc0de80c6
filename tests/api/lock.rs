//! The Lock widget over plain HTTP: the configuration the home page carries, and the dev
//! tenant's Lock endpoints driven the way auth0.js drives them. (The browser test runs the real
//! widget; these pin the protocol and run everywhere.)

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_is_redirect_to, location, query_param, spawn_app, TestApp};

/// The JSON in the home page's `#lock-config` block.
pub async fn lock_config(app: &TestApp) -> Value {
    let html = app.get("/").await.text().await.unwrap();
    let start = html
        .find(r#"<script type="application/json" id="lock-config">"#)
        .expect("lock config")
        + r#"<script type="application/json" id="lock-config">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// `/co/authenticate` as auth0.js sends it, from the app's origin.
pub async fn co_authenticate(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let tenant = app.tenant.clone().unwrap();
    app.browser
        .post(tenant.join("/co/authenticate").unwrap())
        .header("origin", app.address.origin().ascii_serialization())
        .json(&json!({
            "client_id": app.client_id,
            "username": email,
            "password": password,
            "realm": "Username-Password-Authentication",
            "credential_type": "http://auth0.com/oauth/grant-type/password-realm",
        }))
        .send()
        .await
        .unwrap()
}

/// `/authorize` with a login ticket and the page's auth params, as auth0.js builds it.
pub fn authorize_with_ticket(app: &TestApp, config: &Value, ticket: &str) -> url::Url {
    let options = &config["options"];
    let params = &options["auth"]["params"];
    let mut url = app.tenant.clone().unwrap().join("/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", config["clientID"].as_str().unwrap())
        .append_pair("response_type", "code")
        .append_pair(
            "redirect_uri",
            options["auth"]["redirectUrl"].as_str().unwrap(),
        )
        .append_pair("scope", params["scope"].as_str().unwrap())
        .append_pair("state", params["state"].as_str().unwrap())
        .append_pair("nonce", params["nonce"].as_str().unwrap())
        .append_pair("code_challenge", params["code_challenge"].as_str().unwrap())
        .append_pair("code_challenge_method", "S256")
        .append_pair("realm", "Username-Password-Authentication")
        .append_pair("login_ticket", ticket);
    url
}

#[actix_web::test]
async fn the_home_page_configures_lock_with_a_server_side_state_nonce_and_pkce() {
    crate::engine!();
    let app = spawn_app().await;
    let config = lock_config(&app).await;
    assert_eq!(config["clientID"], json!(app.client_id));
    assert_eq!(
        config["domain"],
        json!(app.tenant.as_ref().unwrap().as_str().trim_end_matches('/'))
    );
    let options = &config["options"];
    assert_eq!(options["container"], "lock");
    assert_eq!(
        options["auth"]["redirectUrl"],
        json!(app.url("/callback").as_str())
    );
    assert_eq!(options["auth"]["responseType"], "code");
    let params = &options["auth"]["params"];
    assert_eq!(params["scope"], "openid profile email");
    for name in ["state", "nonce", "code_challenge"] {
        assert!(
            params[name].as_str().is_some_and(|v| v.len() >= 20),
            "{name}"
        );
    }
    assert_eq!(params["code_challenge_method"], "S256");
    // The dev tenant is not an *.auth0.com host: Lock fetches its settings from the tenant.
    let base = app.tenant.as_ref().unwrap().origin().ascii_serialization();
    assert_eq!(options["configurationBaseUrl"], json!(base));
    assert_eq!(options["rememberLastLogin"], json!(false));
    assert_eq!(options["avatar"], Value::Null);
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains(r#"<script src="https://cdn.auth0.com/js/lock/14.3.0/lock.min.js">"#));
    assert!(!html.contains(&app.client_secret));
}

#[actix_web::test]
async fn the_lock_page_csp_allows_lock_and_the_tenant_and_other_pages_stay_strict() {
    crate::engine!();
    let app = spawn_app().await;
    let csp = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let home = csp(&app.get("/").await);
    let tenant = app.tenant.as_ref().unwrap().origin().ascii_serialization();
    assert!(
        home.contains(&format!("script-src 'self' https://cdn.auth0.com {tenant}")),
        "{home}"
    );
    assert!(
        home.contains(&format!("connect-src 'self' {tenant}")),
        "{home}"
    );
    assert!(home.contains("frame-ancestors 'none'"));
    assert!(
        !home.contains("'unsafe-inline' 'self'") && !home.contains("script-src 'unsafe-inline'")
    );
    let other = csp(&app.get("/logout").await);
    assert!(other.contains("style-src 'self';"), "{other}");
    assert!(!other.contains("unsafe-inline"), "{other}");
}

#[actix_web::test]
async fn a_lock_login_lands_on_the_profile_through_the_same_callback() {
    crate::engine!();
    let app = spawn_app().await;
    let config = lock_config(&app).await;
    let response = co_authenticate(&app, "lock@example.com", "pw").await;
    assert_eq!(response.status(), StatusCode::OK);
    let origin = app.address.origin().ascii_serialization();
    assert_eq!(
        response.headers()["access-control-allow-origin"]
            .to_str()
            .unwrap(),
        origin
    );
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    let body: Value = response.json().await.unwrap();
    let ticket = body["login_ticket"].as_str().unwrap();
    let back = location(
        &app.get_url(&authorize_with_ticket(&app, &config, ticket))
            .await,
    );
    assert_eq!(back.path(), "/callback");
    assert!(query_param(&back, "code").is_some(), "{back}");
    assert_is_redirect_to(&app.get_url(&back).await, "/profile");
    assert_eq!(app.login_count("lock@example.com").await, Some(1));
}

#[actix_web::test]
async fn a_wrong_password_at_co_authenticate_gets_the_error_lock_shows() {
    crate::engine!();
    let app = spawn_app().await;
    let response = co_authenticate(&app, "lock@example.com", "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .contains_key("access-control-allow-origin"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": "Wrong email or password."})
    );
}

#[actix_web::test]
async fn a_login_ticket_works_once_and_only_in_the_browser_that_authenticated() {
    crate::engine!();
    let app = spawn_app().await;
    let config = lock_config(&app).await;
    let body: Value = co_authenticate(&app, "lock@example.com", "pw")
        .await
        .json()
        .await
        .unwrap();
    let authorize = authorize_with_ticket(&app, &config, body["login_ticket"].as_str().unwrap());
    // Another browser (without the tenant's cookie) cannot redeem it.
    let stranger = crate::support::Browser::new()
        .get(authorize.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        query_param(&location(&stranger), "error").as_deref(),
        Some("access_denied")
    );
    // And the ticket is spent.
    let again = app.get_url(&authorize).await;
    assert_eq!(
        query_param(&location(&again), "error").as_deref(),
        Some("access_denied")
    );
}

#[actix_web::test]
async fn co_authenticate_refuses_other_origins() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app
        .browser
        .post(
            app.tenant
                .clone()
                .unwrap()
                .join("/co/authenticate")
                .unwrap(),
        )
        .header("origin", "https://evil.example")
        .json(&json!({"client_id": app.client_id, "username": "a@b.c", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!response
        .headers()
        .contains_key("access-control-allow-origin"));
}

#[actix_web::test]
async fn the_client_settings_jsonp_names_the_database_connection() {
    crate::engine!();
    let app = spawn_app().await;
    let url = app
        .tenant
        .clone()
        .unwrap()
        .join(&format!("/client/{}.js?t123", app.client_id))
        .unwrap();
    let response = app.get_url(&url).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let json = body
        .strip_prefix("Auth0.setClient(")
        .and_then(|b| b.strip_suffix(");"))
        .unwrap();
    let settings: Value = serde_json::from_str(json).unwrap();
    assert_eq!(settings["id"], json!(app.client_id));
    assert_eq!(settings["strategies"][0]["name"], "auth0");
    assert_eq!(
        settings["strategies"][0]["connections"][0]["name"],
        "Username-Password-Authentication"
    );
    let challenge = app
        .browser
        .post(
            app.tenant
                .clone()
                .unwrap()
                .join("/usernamepassword/challenge")
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge.json::<Value>().await.unwrap(),
        json!({"required": false})
    );
}
