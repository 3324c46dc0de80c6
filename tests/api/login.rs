//! `/login` and `/callback` against the dev tenant.

use reqwest::StatusCode;

use crate::support::{
    assert_is_redirect_to, location, query_param, spawn_app, spawn_app_for_domain, spawn_app_with,
    spawn_app_with_tenant, spawn_app_with_tenant_at, Browser,
};

#[actix_web::test]
async fn login_redirects_to_authorize_with_state_nonce_and_pkce() {
    crate::engine!();
    let app = spawn_app().await;
    let authorize = app.start_login(None).await;
    assert_eq!(authorize.path(), "/authorize");
    assert_eq!(authorize.origin(), app.tenant.as_ref().unwrap().origin());
    let param = |name| query_param(&authorize, name);
    assert_eq!(param("response_type").as_deref(), Some("code"));
    assert_eq!(param("client_id"), Some(app.client_id.clone()));
    assert_eq!(
        param("redirect_uri"),
        Some(app.url("/callback").to_string())
    );
    assert_eq!(param("scope").as_deref(), Some("openid profile email"));
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    for name in ["state", "nonce", "code_challenge"] {
        assert!(
            param(name).is_some_and(|v| v.len() >= 20),
            "{name} is set and long"
        );
    }
    assert_eq!(param("audience"), None);
}

#[actix_web::test]
async fn the_audience_is_sent_when_configured() {
    crate::engine!();
    let (app, _tenant) = spawn_app_with_tenant(&[("AUTH0_AUDIENCE", "https://api.example")]).await;
    let authorize = app.start_login(None).await;
    assert_eq!(
        query_param(&authorize, "audience").as_deref(),
        Some("https://api.example")
    );
}

#[actix_web::test]
async fn each_login_gets_fresh_state_and_nonce() {
    crate::engine!();
    let app = spawn_app().await;
    let (a, b) = (app.start_login(None).await, app.start_login(None).await);
    assert_ne!(query_param(&a, "state"), query_param(&b, "state"));
    assert_ne!(query_param(&a, "nonce"), query_param(&b, "nonce"));
}

#[actix_web::test]
async fn a_full_login_stores_the_profile_and_lands_on_the_profile_page() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app.login_as("ada@example.com").await;
    assert_is_redirect_to(&response, "/profile");
    assert_eq!(app.login_count("ada@example.com").await, Some(1));

    let page = app.get("/profile").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("ada@example.com"));
    assert!(html.contains(r#"<dd id="login-count">1</dd>"#));
    assert!(html.contains("auth0|"), "the sub is shown");
    assert!(html.contains("verified"));
}

#[actix_web::test]
async fn a_second_login_counts_on_the_same_row() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    // A second browser (fresh cookies), same user.
    let second = Browser::new();
    assert_is_redirect_to(
        &app.login_in(&second, "ada@example.com", None).await,
        "/profile",
    );
    assert_eq!(app.login_count("ada@example.com").await, Some(2));
    assert_eq!(app.profile_rows().await, 1);
}

#[actix_web::test]
async fn the_session_holds_only_an_id_not_tokens_or_the_profile() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app.login_as("ada@example.com").await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("auth0_session="))
        .expect("a session cookie is set at login");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http on loopback");
    // The value is encrypted, and small: a session id, not tokens.
    let value = cookie.split(';').next().unwrap();
    assert!(value.len() < 600, "cookie is {} bytes", value.len());
    assert!(!value.contains("ada"));
}

#[actix_web::test]
async fn a_local_next_is_honoured() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app
        .login_with_next("ada@example.com", Some("/logout?x=1"))
        .await;
    assert_is_redirect_to(&response, "/logout?x=1");
}

#[actix_web::test]
async fn a_foreign_next_is_refused_for_the_success_url() {
    crate::engine!();
    let app = spawn_app().await;
    for next in [
        "//evil.com",
        "https://evil.com/",
        "/\\evil.com",
        "javascript:alert(1)",
    ] {
        let response = app
            .login_in(&Browser::new(), "ada@example.com", Some(next))
            .await;
        assert_is_redirect_to(&response, "/profile");
    }
}

#[actix_web::test]
async fn the_success_url_setting_is_the_default_target() {
    crate::engine!();
    let app = spawn_app_with(&[("AUTH0_SUCCESS_URL", "/")]).await;
    assert_is_redirect_to(&app.login_as("ada@example.com").await, "/");
}

#[actix_web::test]
async fn a_callback_without_state_is_refused_and_logs_nobody_in() {
    crate::engine!();
    let app = spawn_app().await;
    let mut callback = app.tenant_callback("ada@example.com").await;
    let code = query_param(&callback, "code").unwrap();
    callback.set_query(Some(&format!("code={code}")));
    let response = app.get_url(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("Login expired"), "a helpful page: {html}");
    assert!(!html.contains(&code), "the code is not echoed");
    assert!(app.is_anonymous().await);
    assert_eq!(app.profile_rows().await, 0);
}

#[actix_web::test]
async fn a_callback_with_a_wrong_state_is_refused_and_logs_nobody_in() {
    crate::engine!();
    let app = spawn_app().await;
    let callback = app.tenant_callback("ada@example.com").await;
    let code = query_param(&callback, "code").unwrap();
    let mut forged = callback.clone();
    forged.set_query(Some(&format!("code={code}&state=forged-state")));
    let response = app.get_url(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(app.is_anonymous().await);
    assert_eq!(app.profile_rows().await, 0);
}

#[actix_web::test]
async fn a_callback_from_another_browser_is_refused() {
    crate::engine!();
    let app = spawn_app().await;
    let callback = app.tenant_callback("ada@example.com").await;
    // The victim's browser never started this login: login CSRF.
    let victim = crate::support::Browser::new();
    let response = victim.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.profile_rows().await, 0);
}

#[actix_web::test]
async fn a_replayed_callback_is_refused() {
    crate::engine!();
    let app = spawn_app().await;
    let callback = app.tenant_callback("ada@example.com").await;
    assert_is_redirect_to(&app.get_url(&callback).await, "/profile");
    let replay = app.get_url(&callback).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.login_count("ada@example.com").await, Some(1));
}

#[actix_web::test]
async fn two_tabs_that_each_started_a_login_can_both_complete() {
    crate::engine!();
    let app = spawn_app().await;
    let first = app.start_login(None).await;
    let second = app.start_login(Some("/logout")).await;
    let second_callback = app
        .submit_tenant_form(&second, "ada@example.com", "pw")
        .await;
    let first_callback = app
        .submit_tenant_form(&first, "ada@example.com", "pw")
        .await;
    assert_is_redirect_to(&app.get_url(&second_callback).await, "/logout");
    assert_is_redirect_to(&app.get_url(&first_callback).await, "/profile");
    assert_eq!(app.login_count("ada@example.com").await, Some(2));
}

#[actix_web::test]
async fn an_error_from_the_tenant_shows_its_escaped_description() {
    crate::engine!();
    let app = spawn_app().await;
    let authorize = app.start_login(None).await;
    let state = query_param(&authorize, "state").unwrap();
    let mut callback = app.url("/callback");
    callback
        .query_pairs_mut()
        .append_pair("error", "unauthorized")
        .append_pair(
            "error_description",
            "<script>alert(1)</script> is not allowed",
        )
        .append_pair("code", "would-be-code")
        .append_pair("state", &state);
    let response = app.get_url(&callback).await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the error wins over the code"
    );
    let html = response.text().await.unwrap();
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; is not allowed"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("<html"), "rendered through the layout");
    assert!(app.is_anonymous().await);
}

#[actix_web::test]
async fn cancelling_at_the_tenant_shows_access_denied() {
    crate::engine!();
    let app = spawn_app().await;
    let authorize = app.start_login(None).await;
    let response = app
        .browser
        .post_tenant_form(&authorize, &[("action", "cancel")])
        .await;
    let callback = location(&response);
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("access_denied")
    );
    let page = app.get_url(&callback).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("The user cancelled the login."));
}

#[actix_web::test]
async fn the_tenant_form_refuses_an_empty_password() {
    crate::engine!();
    let app = spawn_app().await;
    let authorize = app.start_login(None).await;
    let fields = [
        ("email", "ada@example.com"),
        ("password", ""),
        ("action", "login"),
    ];
    let response = app.browser.post_tenant_form(&authorize, &fields).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("Enter a password"));
}

#[actix_web::test]
async fn an_unreachable_tenant_gives_a_503_login_page_and_the_app_stays_up() {
    crate::engine!();
    // A loopback port with nothing listening: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_for_domain(&format!("http://127.0.0.1:{port}")).await;
    assert!(
        app.tenant.is_none(),
        "no dev tenant when AUTH0_DOMAIN is set"
    );
    let response = app.get("/login").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains("cannot be reached"));
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
}

#[actix_web::test]
async fn login_works_with_auth0_domain_set_to_a_loopback_tenant() {
    crate::engine!();
    // The same code path as a real tenant: settings from AUTH0_* only, no dev tenant in the app.
    // A callback path of its own, to see that the path comes from the setting.
    let (app, tenant) = spawn_app_with_tenant_at("/auth/callback", &[]).await;
    let callback = app.url("/auth/callback").to_string();
    assert!(app.tenant.is_none());
    let authorize = app.start_login(None).await;
    assert_eq!(authorize.origin(), tenant.issuer().origin());
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some(callback.as_str())
    );
    let back = app
        .submit_tenant_form(&authorize, "grace@example.com", "pw")
        .await;
    assert_eq!(back.path(), "/auth/callback");
    assert_is_redirect_to(&app.get_url(&back).await, "/profile");
    assert_eq!(app.login_count("grace@example.com").await, Some(1));
    // The profile is the ID token's claims: no `/userinfo` call unless AUTH0_USERINFO=true.
    let stats = tenant.stats();
    assert_eq!(
        (stats.discovery, stats.jwks, stats.token, stats.userinfo),
        (1, 1, 1, 0)
    );
    let profile = app
        .query_texts("SELECT email, nickname, picture FROM user_profiles", &[])
        .await;
    assert!(profile.iter().all(Option::is_some), "{profile:?}");
    assert_eq!(profile[0].as_deref(), Some("grace@example.com"));
}

#[actix_web::test]
async fn an_error_description_without_a_matching_state_is_not_shown() {
    crate::engine!();
    // Anyone can link to /callback?error_description=...: only the tenant's own answer to a login
    // this browser started gets its words on our page.
    let app = spawn_app().await;
    let mut callback = app.url("/callback");
    callback
        .query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair(
            "error_description",
            "Your account is locked, call +1 555 0100",
        )
        .append_pair("state", "not-a-login-of-this-browser");
    let response = app.get_url(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(!html.contains("call +1 555 0100"), "{html}");
    assert!(!html.contains("access_denied"), "not even the code: {html}");
    assert!(
        html.contains("this browser has no login in progress"),
        "{html}"
    );
}

/// `/callback?error=...&error_description=...` for a login this browser started.
async fn tenant_error_page(
    app: &crate::support::TestApp,
    error: &str,
    description: &str,
) -> String {
    let authorize = app.start_login(None).await;
    let state = query_param(&authorize, "state").unwrap();
    let mut callback = app.url("/callback");
    callback
        .query_pairs_mut()
        .append_pair("error", error)
        .append_pair("error_description", description)
        .append_pair("state", &state);
    let response = app.get_url(&callback).await;
    assert!(response.status().is_client_error());
    response.text().await.unwrap()
}

#[actix_web::test]
async fn only_a_standard_error_code_is_shown() {
    crate::engine!();
    let app = spawn_app().await;
    let html = tenant_error_page(&app, "login_required", "").await;
    assert!(html.contains("`login_required`"), "{html}");
    let html = tenant_error_page(&app, "Your account is locked, call +1 555 0100", "").await;
    assert!(!html.contains("call +1 555 0100"), "{html}");
    assert!(html.contains("did not complete the login"), "{html}");
}

#[actix_web::test]
async fn an_error_without_any_state_shows_neither_error_nor_description() {
    crate::engine!();
    let app = spawn_app().await;
    let mut callback = app.url("/callback");
    callback
        .query_pairs_mut()
        .append_pair("error", "Your account is locked, call +1 555 0100")
        .append_pair("error_description", "Or email help@evil.example");
    let response = app.get_url(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("555 0100") && !html.contains("evil.example"),
        "{html}"
    );
    assert!(
        html.contains("this browser has no login in progress"),
        "{html}"
    );
}
