//! Shaping a login as Auth0's SDKs allow: `/signup`, `login_hint`, an allowlisted `connection`,
//! `prompt=login`, Organizations (`AUTH0_ORGANIZATION`, invitations), `AUTH0_MAX_AGE` and the
//! `RecentLogin` guard (`/step-up`); each end to end against the dev tenant, and the hostile
//! claims (missing or wrong organization, stale `auth_time`) against the scripted IdP.

use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

use crate::support::app::{spawn_app, spawn_app_with, spawn_app_with_tenant, TestApp};
use crate::support::browser::{location, location_str, query_param, Browser};
use crate::support::hostile_idp::{
    self, assert_rejected, spawn_with_hostile_idp_and, HostileIdp, StartedLogin, TokenAnswer,
};

const ACME_ID: &str = "org_devAcme0000000001";

/// `GET path` at the app, which must redirect to the tenant's `/authorize`: that URL.
async fn authorize(app: &TestApp, browser: &Browser, path: &str) -> Url {
    let response = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND, "{path}");
    let target = location(&response);
    assert_eq!(target.path(), "/authorize", "{path}");
    target
}

/// `GET path` at the app, which must refuse it with a 400 page naming `parameter`.
async fn refused(app: &TestApp, path: &str, parameter: &str) {
    let browser = Browser::new();
    let response = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    assert!(response.headers().get("location").is_none());
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no login was started: {path}"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("<code>{parameter}</code>")) || page.contains(parameter), "{page}");
}

/// The tenant's form for an `/authorize` URL: (its URL, its HTML).
async fn tenant_form(browser: &Browser, authorize: &Url) -> (Url, String) {
    let to_form = browser.get(authorize.clone()).send().await.unwrap();
    let form = location(&to_form);
    let page = browser.get(form.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{form}");
    (form.clone(), page.text().await.unwrap())
}

/// Posts the tenant's form at `form` with `fields` (its state added).
async fn post_form(browser: &Browser, form: &Url, fields: &[(&str, &str)]) -> reqwest::Response {
    let state = query_param(form, "state").unwrap();
    let mut body = vec![("state", state.as_str())];
    body.extend_from_slice(fields);
    browser
        .post(form.join("/u/login").unwrap())
        .form(&body)
        .send()
        .await
        .unwrap()
}

/// Follows the tenant's redirect to the app's callback: the callback's answer.
async fn back_at_app(browser: &Browser, tenant_answer: reqwest::Response) -> reqwest::Response {
    assert_eq!(tenant_answer.status(), StatusCode::FOUND);
    browser.get(location(&tenant_answer)).send().await.unwrap()
}

async fn profile(app: &TestApp, browser: &Browser) -> String {
    let response = browser.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[actix_web::test]
async fn signup_opens_the_sign_up_form_which_refuses_a_known_email() {
    crate::engine!();
    let app = spawn_app().await;
    let browser = Browser::new();
    let target = authorize(&app, &browser, "/signup?next=/profile").await;
    assert_eq!(query_param(&target, "screen_hint").as_deref(), Some("signup"));
    let (form, page) = tenant_form(&browser, &target).await;
    assert!(page.contains("Sign up to"), "{page}");
    let answer = post_form(
        &browser,
        &form,
        &[("email", "new@example.com"), ("password", "pw"), ("action", "signup")],
    )
    .await;
    let landed = back_at_app(&browser, answer).await;
    assert_eq!(location_str(&landed), "/profile");
    assert_eq!(app.login_count("new@example.com").await, Some(1));

    // The same address again, in another browser: told it exists.
    let other = Browser::new();
    let target = authorize(&app, &other, "/signup").await;
    let (form, _) = tenant_form(&other, &target).await;
    let answer = post_form(
        &other,
        &form,
        &[("email", "new@example.com"), ("password", "pw"), ("action", "signup")],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(answer.text().await.unwrap().contains("already registered"));
}

#[actix_web::test]
async fn login_hint_prefills_the_form_and_a_bad_one_is_refused() {
    crate::engine!();
    let app = spawn_app().await;
    let target = authorize(&app, &app.browser, "/login?login_hint=ada%40example.com").await;
    assert_eq!(query_param(&target, "login_hint").as_deref(), Some("ada@example.com"));
    let (_, page) = tenant_form(&app.browser, &target).await;
    assert!(page.contains(r#"value="ada@example.com""#), "{page}");
    let long = format!("/login?login_hint={}%40example.com", "a".repeat(250));
    for bad in ["/login?login_hint=not-an-email", "/login?login_hint=a%0D%0A%40b", &long] {
        refused(&app, bad, "login_hint").await;
    }
}

#[actix_web::test]
async fn a_connection_must_be_in_the_allowlist() {
    crate::engine!();
    let closed = spawn_app().await;
    refused(&closed, "/login?connection=Username-Password-Authentication", "connection").await;

    let app = spawn_app_with(&[(
        "AUTH0_CONNECTIONS",
        "Username-Password-Authentication,google-oauth2",
    )])
    .await;
    let target = authorize(&app, &app.browser, "/login?connection=Username-Password-Authentication").await;
    assert_eq!(
        query_param(&target, "connection").as_deref(),
        Some("Username-Password-Authentication")
    );
    let callback = app
        .browser
        .submit_tenant_form(&target, "ada@example.com", "pw")
        .await;
    let landed = app.get_url(&callback).await;
    assert_eq!(landed.status(), StatusCode::FOUND);
    assert!(!app.is_anonymous().await);
    refused(&app, "/login?connection=github", "connection").await;
    refused(&app, "/login?connection=google-oauth2%26x%3Dy", "connection").await;
}

#[actix_web::test]
async fn prompt_login_asks_for_credentials_even_with_a_session_at_the_tenant() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    // Single sign-on: the tenant offers to continue as the user.
    let target = authorize(&app, &app.browser, "/login").await;
    let (form, page) = tenant_form(&app.browser, &target).await;
    assert!(page.contains("Continue as ada@example.com"), "{page}");
    let landed = back_at_app(&app.browser, post_form(&app.browser, &form, &[("action", "continue")]).await).await;
    assert_eq!(landed.status(), StatusCode::FOUND);

    // With prompt=login, it does not, and refuses to skip the credentials.
    let target = authorize(&app, &app.browser, "/login?prompt=login").await;
    assert_eq!(query_param(&target, "prompt").as_deref(), Some("login"));
    let (form, page) = tenant_form(&app.browser, &target).await;
    assert!(!page.contains("Continue as"), "{page}");
    let answer = post_form(&app.browser, &form, &[("action", "continue")]).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    for bad in ["/login?prompt=none", "/login?prompt=consent", "/login?prompt=login%20none"] {
        refused(&app, bad, "prompt").await;
    }

    // max_age: once the tenant session's credentials are older than it, no single sign-on.
    let entered = chrono::Utc::now().timestamp();
    while chrono::Utc::now().timestamp() <= entered {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let target = authorize(&app, &app.browser, "/login?max_age=0").await;
    assert_eq!(query_param(&target, "max_age").as_deref(), Some("0"));
    let (_, page) = tenant_form(&app.browser, &target).await;
    assert!(!page.contains("Continue as"), "{page}");
}

#[actix_web::test]
async fn organization_is_sent_and_the_user_logs_in_to_it() {
    crate::engine!();
    let app = spawn_app_with(&[("AUTH0_ORGANIZATION", ACME_ID)]).await;
    let target = authorize(&app, &app.browser, "/login").await;
    assert_eq!(query_param(&target, "organization").as_deref(), Some(ACME_ID));
    let (form, page) = tenant_form(&app.browser, &target).await;
    assert!(page.contains(r#"id="organization-fixed">Acme Corporation"#), "{page}");
    let answer = post_form(
        &app.browser,
        &form,
        &[("email", "ada@example.com"), ("password", "pw"), ("action", "login")],
    )
    .await;
    assert_eq!(back_at_app(&app.browser, answer).await.status(), StatusCode::FOUND);
    let page = profile(&app, &app.browser).await;
    assert!(page.contains(&format!("acme ({ACME_ID})")), "{page}");

    // Without AUTH0_ORGANIZATION the user may choose one on the tenant's form.
    let open = spawn_app().await;
    let target = authorize(&open, &open.browser, "/login").await;
    assert_eq!(query_param(&target, "organization"), None);
    let (form, _) = tenant_form(&open.browser, &target).await;
    let answer = post_form(
        &open.browser,
        &form,
        &[
            ("email", "bob@example.com"),
            ("password", "pw"),
            ("action", "login"),
            ("organization", "org_devGlobex00000002"),
        ],
    )
    .await;
    assert_eq!(back_at_app(&open.browser, answer).await.status(), StatusCode::FOUND);
    assert!(profile(&open, &open.browser).await.contains("globex (org_devGlobex00000002)"));
}

/// Scripts one login at the hostile IdP with these claims added (or removed, when `null`).
async fn hostile_login(app: &TestApp, idp: &HostileIdp, path: &str, extra: Value) -> reqwest::Response {
    let target = authorize(app, &app.browser, path).await;
    let login = StartedLogin {
        state: query_param(&target, "state").unwrap(),
        nonce: query_param(&target, "nonce").unwrap(),
    };
    let mut claims = idp.claims(&login.nonce);
    for (name, value) in extra.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    idp.answer_token(TokenAnswer::IdToken(idp.rs256(&claims)));
    hostile_idp::callback(app, &login).await
}

#[actix_web::test]
async fn an_id_token_without_the_organization_or_with_another_is_rejected() {
    crate::engine!();
    let now = chrono::Utc::now().timestamp();
    for (config, claims, accepted) in [
        ("org_abc123", json!({}), false),
        ("org_abc123", json!({ "org_id": "org_other" }), false),
        ("org_abc123", json!({ "org_name": "org_abc123" }), false),
        ("org_abc123", json!({ "org_id": "org_abc123", "org_name": "abc" }), true),
        ("acme", json!({}), false),
        ("acme", json!({ "org_name": "globex" }), false),
        ("acme", json!({ "org_id": "acme" }), false),
        ("acme", json!({ "org_id": "org_1", "org_name": "ACME" }), true),
    ] {
        let (app, idp) = spawn_with_hostile_idp_and(&[("AUTH0_ORGANIZATION", config)]).await;
        let target = authorize(&app, &Browser::new(), "/login").await;
        assert_eq!(query_param(&target, "organization").as_deref(), Some(config));
        let mut claims = claims.clone();
        claims["auth_time"] = json!(now);
        let response = hostile_login(&app, &idp, "/login", claims.clone()).await;
        if accepted {
            assert_eq!(response.status(), StatusCode::FOUND, "{config} {claims}");
        } else {
            assert_rejected(&app, response, &[]).await;
            assert_eq!(idp.userinfo_calls(), 0, "refused before userinfo");
        }
    }
}

#[actix_web::test]
async fn an_invitation_link_logs_the_invited_user_in_to_its_organization() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    let link = tenant.invite("acme", "invited@example.com").unwrap();
    assert_eq!(link.origin(), app.address.origin());
    let path = format!("/login?{}", link.query().unwrap());
    let target = authorize(&app, &app.browser, &path).await;
    assert_eq!(query_param(&target, "organization").as_deref(), Some(ACME_ID));
    assert!(query_param(&target, "invitation").is_some());
    let (form, page) = tenant_form(&app.browser, &target).await;
    assert!(page.contains(r#"value="invited@example.com""#), "{page}");
    let wrong = post_form(
        &app.browser,
        &form,
        &[("email", "someone@example.com"), ("password", "pw"), ("action", "login")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let answer = post_form(
        &app.browser,
        &form,
        &[("email", "invited@example.com"), ("password", "pw"), ("action", "login")],
    )
    .await;
    assert_eq!(back_at_app(&app.browser, answer).await.status(), StatusCode::FOUND);
    assert!(profile(&app, &app.browser).await.contains(&format!("acme ({ACME_ID})")));

    // Used once: the tenant refuses it again, and the login does not complete.
    let again = Browser::new();
    let target = authorize(&app, &again, &path).await;
    let answer = again.get(target).send().await.unwrap();
    let callback = location(&answer);
    assert_eq!(callback.path(), "/callback");
    assert_eq!(query_param(&callback, "error").as_deref(), Some("invalid_request"));

    // The tenant's page prints such links too.
    let page = Browser::new()
        .post(tenant.issuer().join("/dev/invitations").unwrap())
        .form(&[("organization", "globex"), ("email", "second@example.com")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = r#"id="invitation-link" href=""#;
    let start = page.find(marker).expect("a link") + marker.len();
    let href = &page[start..start + page[start..].find('"').unwrap()];
    let printed = Url::parse(&href.replace("&#38;", "&").replace("&amp;", "&")).unwrap();
    assert_eq!(printed.path(), "/login");
    assert_eq!(query_param(&printed, "organization").as_deref(), Some("org_devGlobex00000002"));

    // Malformed links are refused by the app.
    refused(&app, "/login?invitation=abc", "invitation").await;
    refused(&app, "/login?invitation=abc&organization=acme", "organization").await;
    refused(&app, "/login?invitation=a%20b&organization=org_x", "invitation").await;
    let globex = spawn_app_with(&[("AUTH0_ORGANIZATION", "org_devGlobex00000002")]).await;
    refused(&globex, &path, "organization").await;
}

#[actix_web::test]
async fn auth0_max_age_is_sent_and_a_stale_or_missing_auth_time_is_rejected() {
    crate::engine!();
    let app = spawn_app_with(&[("AUTH0_MAX_AGE", "300")]).await;
    let target = authorize(&app, &app.browser, "/login").await;
    assert_eq!(query_param(&target, "max_age").as_deref(), Some("300"));
    let callback = app.browser.submit_tenant_form(&target, "ada@example.com", "pw").await;
    assert_eq!(app.get_url(&callback).await.status(), StatusCode::FOUND, "a fresh auth_time");

    let now = chrono::Utc::now().timestamp();
    for (auth_time, accepted) in [
        (json!(now - 10), true),
        (json!(now - 1_000), false),
        (Value::Null, false),
        (json!(now + 3_600), false),
    ] {
        let (app, idp) = spawn_with_hostile_idp_and(&[("AUTH0_MAX_AGE", "300")]).await;
        let response = hostile_login(&app, &idp, "/login", json!({ "auth_time": auth_time })).await;
        if accepted {
            assert_eq!(response.status(), StatusCode::FOUND);
        } else {
            assert_rejected(&app, response, &[]).await;
            assert_eq!(idp.userinfo_calls(), 0, "refused before userinfo");
        }
    }
    for bad in ["/login?max_age=-1", "/login?max_age=abc", "/login?max_age=99999999999"] {
        refused(&app, bad, "max_age").await;
    }
}

#[actix_web::test]
async fn recent_login_sends_an_old_login_to_enter_its_credentials_again_and_back() {
    crate::engine!();
    // Against the dev tenant, a login that just happened is recent.
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    assert_eq!(app.get("/step-up").await.status(), StatusCode::OK);

    let (app, idp) = spawn_with_hostile_idp_and(&[]).await;
    let now = chrono::Utc::now().timestamp();
    let old = json!({ "auth_time": now - 1_000 });
    assert_eq!(hostile_login(&app, &idp, "/login", old.clone()).await.status(), StatusCode::FOUND);
    let to_login = app.get("/step-up").await;
    assert_eq!(to_login.status(), StatusCode::FOUND);
    let again = location_str(&to_login);
    assert_eq!(again, "/login?prompt=login&max_age=300&next=%2Fstep-up");
    let json = app
        .browser
        .get(app.url("/step-up"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json.json::<Value>().await.unwrap()["max_age"], 300);

    // The tenant hands back the old authentication: refused, as max_age was sent.
    let target = authorize(&app, &app.browser, &again).await;
    assert_eq!(query_param(&target, "prompt").as_deref(), Some("login"));
    assert_eq!(query_param(&target, "max_age").as_deref(), Some("300"));
    let stale = hostile_login(&app, &idp, &again, old).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED, "a stale auth_time");
    assert_eq!(app.get("/step-up").await.status(), StatusCode::FOUND, "still not recent");
    // A plain login whose token has no `auth_time` (Auth0 sends it only when `max_age` was
    // asked; a silent single sign-on) is no proof of fresh credentials.
    let silent = hostile_login(&app, &idp, "/login", json!({ "auth_time": null })).await;
    assert_eq!(silent.status(), StatusCode::FOUND);
    assert_eq!(app.get("/step-up").await.status(), StatusCode::FOUND, "still asks");
    // Credentials entered within max_age and the clock leeway: back to the page, no loop.
    let fresh = hostile_login(&app, &idp, &again, json!({ "auth_time": now - 330 })).await;
    assert_eq!(location_str(&fresh), "/step-up");
    assert_eq!(app.get("/step-up").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn an_auth_time_in_the_future_is_refused_even_without_max_age() {
    crate::engine!();
    let (app, idp) = spawn_with_hostile_idp_and(&[]).await;
    let later = chrono::Utc::now().timestamp() + 3_600;
    let response = hostile_login(&app, &idp, "/login", json!({ "auth_time": later })).await;
    assert_rejected(&app, response, &[]).await;
    assert_eq!(idp.userinfo_calls(), 0, "refused before userinfo");
}
