//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the tenant posts a logout token
//! to `/backchannel-logout`, and the sessions it names end, copied cookies included. The dev
//! tenant sends them when a session ends there (its logout, "Log out everywhere"); hostile tokens
//! are refused with a 400 and end nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

use crate::support::app::{
    spawn_app_for_tenant, spawn_app_with_tenant, spawn_module_app, TenantClient, TestApp,
};
use crate::support::browser::{location, session_cookie_set_by, status_with_cookie, Browser};
use auth0_actix::auth0::BACKCHANNEL_LOGOUT_EVENT;
use auth0_actix::dev_tenant::{DevTenant, Registration};

/// Posts `token` as the tenant does; returns the status, the `Cache-Control` and the body.
async fn post_logout_token(app: &Url, token: &str) -> (StatusCode, String, String) {
    let response = reqwest::Client::new()
        .post(app.join("/backchannel-logout").unwrap())
        .form(&[("logout_token", token)])
        .send()
        .await
        .expect("POST /backchannel-logout");
    let status = response.status();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, response.text().await.unwrap())
}

/// Logs `email` in in `browser`; returns the session cookie it got.
async fn log_in(app: &TestApp, browser: &Browser, email: &str) -> String {
    let response = app.login_in(browser, email, None).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    session_cookie_set_by(&response).expect("a session cookie")
}

/// The tenant's `sid` of the newest session of `email`, as the app stored it.
async fn sid_of(app: &TestApp, email: &str) -> String {
    app.query_texts(
        "SELECT s.sid FROM user_sessions s JOIN user_profiles p ON p.id = s.profile_id
         WHERE p.email = $1 ORDER BY s.created_at DESC LIMIT 1",
        &[email],
    )
    .await
    .remove(0)
    .expect("the session has a sid")
}

async fn sub_of(app: &TestApp, email: &str) -> String {
    app.query_texts("SELECT sub FROM user_profiles WHERE email = $1", &[email])
        .await
        .remove(0)
        .expect("a sub")
}

async fn is_live(app: &TestApp, cookie: &str) -> bool {
    status_with_cookie(app.url("/profile"), cookie).await == StatusCode::OK
}

#[actix_web::test]
async fn a_logout_token_naming_a_sid_ends_that_session_and_its_copies() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    let (first, second) = (Browser::new(), Browser::new());
    let first_cookie = log_in(&app, &first, "ada@example.com").await;
    let second_cookie = log_in(&app, &second, "ada@example.com").await;
    let sid = sid_of(&app, "ada@example.com").await;
    // The newest session is the second browser's.
    let token = tenant.logout_token(None, Some(&sid));
    let (status, cache, body) = post_logout_token(&app.address, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cache, "no-store");
    assert!(!is_live(&app, &second_cookie).await, "the named session ended");
    assert!(app.is_anonymous_in(&second).await);
    assert!(is_live(&app, &first_cookie).await, "the other browser's session goes on");
}

#[actix_web::test]
async fn a_logout_token_naming_a_sub_ends_all_the_users_sessions_and_revokes_their_refresh_tokens(
) {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[
        ("AUTH0_AUDIENCE", "https://api.example/messages"),
        ("AUTH0_SCOPE", "openid profile email offline_access"),
    ])
    .await;
    let ada = [
        log_in(&app, &Browser::new(), "ada@example.com").await,
        log_in(&app, &Browser::new(), "ada@example.com").await,
    ];
    let bob = log_in(&app, &Browser::new(), "bob@example.com").await;
    let sub = sub_of(&app, "ada@example.com").await;
    let (status, _, body) =
        post_logout_token(&app.address, &tenant.logout_token(Some(&sub), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for cookie in &ada {
        assert!(!is_live(&app, cookie).await);
    }
    assert!(is_live(&app, &bob).await, "another user is not touched");
    assert_eq!(
        tenant.revoked_refresh_families(),
        2,
        "each ended session's refresh token is revoked"
    );
}

#[actix_web::test]
async fn hostile_logout_tokens_are_refused_and_end_nothing() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    let cookie = log_in(&app, &app.browser, "ada@example.com").await;
    let sid = sid_of(&app, "ada@example.com").await;
    let sub = sub_of(&app, "ada@example.com").await;
    let issuer = tenant.issuer().to_string();
    let client_id = tenant.tenant_settings().client_id;
    let now = chrono::Utc::now().timestamp();
    let valid = json!({
        "iss": issuer, "aud": client_id, "iat": now, "exp": now + 120,
        "jti": "jti-0", "events": { BACKCHANNEL_LOGOUT_EVENT: {} }, "sub": sub, "sid": sid,
    });
    let with = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut claims = valid.clone();
        edit(claims.as_object_mut().unwrap());
        tenant.sign("logout+jwt", &claims)
    };
    let tampered = {
        let token = tenant.sign("logout+jwt", &valid);
        let (head, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        format!("{head}.{flipped}{}", &signature[1..])
    };
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &valid,
        &jsonwebtoken::EncodingKey::from_secret(app.client_secret.as_bytes()),
    )
    .unwrap();
    // What an ID token of this login looks like: a nonce, no events.
    let id_token = tenant.sign(
        "JWT",
        &json!({
            "iss": issuer, "aud": client_id, "iat": now, "exp": now + 3600,
            "sub": sub, "sid": sid, "nonce": "n-0", "email": "ada@example.com",
        }),
    );
    let cases: Vec<(&str, String)> = vec![
        ("a bad signature", tampered),
        ("HS256 with the client secret", hs256),
        ("another audience", with(&|c| drop(c.insert("aud".into(), json!("another-client"))))),
        ("another issuer", with(&|c| drop(c.insert("iss".into(), json!("https://evil.example/"))))),
        ("no events", with(&|c| drop(c.remove("events")))),
        (
            "events without the logout member",
            with(&|c| drop(c.insert("events".into(), json!({ "urn:other": {} })))),
        ),
        ("a nonce", with(&|c| drop(c.insert("nonce".into(), json!("n-0"))))),
        ("neither sid nor sub", with(&|c| {
            c.remove("sid");
            c.remove("sub");
        })),
        ("no jti", with(&|c| drop(c.remove("jti")))),
        ("an expired iat", with(&|c| drop(c.insert("iat".into(), json!(now - 3_600))))),
        ("a future iat", with(&|c| drop(c.insert("iat".into(), json!(now + 3_600))))),
        ("an expired exp", with(&|c| drop(c.insert("exp".into(), json!(now - 3_600))))),
        ("an ID token", id_token),
        ("an access token's typ", tenant.sign("at+jwt", &valid)),
        ("not a JWT", "not-a-jwt".into()),
    ];
    for (name, token) in cases {
        let (status, cache, body) = post_logout_token(&app.address, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(cache, "no-store", "{name}");
        let error: Value = serde_json::from_str(&body).expect("a JSON error");
        assert_eq!(error["error"], "invalid_request", "{name}");
        assert!(is_live(&app, &cookie).await, "{name} ended the session");
    }
    // No form field at all.
    let response = reqwest::Client::new()
        .post(app.url("/backchannel-logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // And the valid token does end it: the cases above differ from it in one thing each.
    let (status, _, body) = post_logout_token(&app.address, &tenant.sign("logout+jwt", &valid)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!is_live(&app, &cookie).await);
}

#[actix_web::test]
async fn a_replayed_logout_token_is_refused_by_every_instance() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    // A second instance on the same database and tenant.
    let settings = tenant.tenant_settings();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let callback = format!("http://{}/callback", listener.local_addr().unwrap());
    let other = spawn_app_for_tenant(
        listener,
        &TenantClient::of(&settings),
        &callback,
        &[("DATABASE_URL", &app.database_url)],
    )
    .await;
    let token = tenant.logout_token(Some("auth0|nobody"), None);
    assert_eq!(post_logout_token(&app.address, &token).await.0, StatusCode::OK);
    for instance in [&app.address, &other.address] {
        let (status, _, body) = post_logout_token(instance, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("used before"), "{body}");
    }
    // Another token for the same user is not a replay.
    let fresh = tenant.logout_token(Some("auth0|nobody"), None);
    assert_eq!(post_logout_token(&other.address, &fresh).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn logging_out_of_one_app_at_the_tenant_logs_the_browser_out_of_every_app() {
    crate::engine!();
    // Two apps registered with one tenant; one browser logs in to both (single sign-on: one
    // tenant session, one sid). On two hosts, so that their cookies do not mix (cookies ignore
    // the port).
    let listeners = ["127.0.0.1:0", "127.0.0.2:0"].map(|a| std::net::TcpListener::bind(a).unwrap());
    let callbacks: Vec<Url> = listeners
        .iter()
        .map(|l| Url::parse(&format!("http://{}/callback", l.local_addr().unwrap())).unwrap())
        .collect();
    let tenant = DevTenant::start(Registration::for_callbacks("two apps", callbacks.clone()))
        .await
        .unwrap();
    let settings = tenant.tenant_settings();
    let client = TenantClient::of(&settings);
    let mut apps = Vec::new();
    for (listener, callback) in listeners.into_iter().zip(&callbacks) {
        apps.push(spawn_app_for_tenant(listener, &client, callback.as_str(), &[]).await);
    }
    let browser = Browser::new();
    let cookies = [
        log_in(&apps[0], &browser, "ada@example.com").await,
        log_in(&apps[1], &browser, "ada@example.com").await,
    ];
    assert_eq!(
        sid_of(&apps[0], "ada@example.com").await,
        sid_of(&apps[1], "ada@example.com").await,
        "one tenant session"
    );
    // Logout at the first app goes on to the tenant, which tells both apps.
    let to_tenant = location(&apps[0].log_out_in(&browser).await);
    let back = browser.get(to_tenant).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    assert_eq!(tenant.stats().backchannel, 2, "a logout token to each app");
    assert_eq!(tenant.stats().backchannel_failed, 0);
    assert!(!is_live(&apps[1], &cookies[1]).await, "the other app's session ended");
    assert!(apps[1].is_anonymous_in(&browser).await);
}

#[actix_web::test]
async fn log_out_everywhere_at_the_tenant_ends_every_session_of_the_user() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    let (first, second) = (Browser::new(), Browser::new());
    let cookies = [
        log_in(&app, &first, "ada@example.com").await,
        log_in(&app, &second, "ada@example.com").await,
    ];
    let bob = log_in(&app, &Browser::new(), "bob@example.com").await;
    let page = first
        .get(tenant.issuer().join("/dev/sessions").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("<li>since").count(), 3, "{page}");
    let sub = sub_of(&app, "ada@example.com").await;
    assert!(page.contains(&sub), "{page}");
    // A form posted from another site is refused.
    let foreign = first
        .post(tenant.issuer().join("/dev/sessions/logout-everywhere").unwrap())
        .header("origin", "http://evil.example")
        .form(&[("sub", sub.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    // And so is one that says nothing of where it comes from.
    let unsaid = first
        .post(tenant.issuer().join("/dev/sessions/logout-everywhere").unwrap())
        .form(&[("sub", sub.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(unsaid.status(), StatusCode::FORBIDDEN);
    assert!(is_live(&app, &cookies[0]).await);

    let tenant_origin = tenant.issuer().origin().ascii_serialization();
    let response = first
        .post(tenant.issuer().join("/dev/sessions/logout-everywhere").unwrap())
        .header("origin", tenant_origin)
        .form(&[("sub", sub.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for cookie in &cookies {
        assert!(!is_live(&app, cookie).await);
    }
    assert!(is_live(&app, &bob).await);
    assert_eq!(tenant.stats().backchannel, 1);
}

#[actix_web::test]
async fn a_backend_that_keeps_no_sessions_answers_not_implemented() {
    crate::engine!();
    let (home, tenant) = spawn_module_app(|_| {}).await;
    let token = tenant.logout_token(Some("auth0|someone"), None);
    let (status, _, body) = post_logout_token(&home, &token).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
}

#[actix_web::test]
async fn a_logout_that_fails_at_the_database_is_not_reported_done_and_can_be_retried() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    let cookie = log_in(&app, &app.browser, "ada@example.com").await;
    let sub = sub_of(&app, "ada@example.com").await;
    let token = tenant.logout_token(Some(&sub), None);
    app.refuse("DELETE", "user_sessions", "disk full").await;
    let (status, _, body) = post_logout_token(&app.address, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("temporarily_unavailable"), "{body}");
    assert!(is_live(&app, &cookie).await, "not ended, and not said to be");
    // Once the database works again, the tenant's retry of the same token is not a replay.
    app.execute(match app.db.engine() {
        auth0_actix::db::Engine::Sqlite => "DROP TRIGGER refuse_delete_user_sessions",
        auth0_actix::db::Engine::Postgres => {
            "DROP TRIGGER refuse_delete_user_sessions ON user_sessions"
        }
    })
    .await;
    let (status, _, body) = post_logout_token(&app.address, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!is_live(&app, &cookie).await);
}

#[actix_web::test]
async fn a_login_that_finishes_after_a_logout_that_named_it_is_refused() {
    crate::engine!();
    let (app, tenant) = spawn_app_with_tenant(&[]).await;
    // Authenticated at the tenant, the callback not yet visited...
    let by_sub = app.tenant_callback("ada@example.com").await;
    // ...when "log out everywhere" names the user.
    let sub = {
        let other = Browser::new();
        log_in(&app, &other, "ada@example.com").await;
        sub_of(&app, "ada@example.com").await
    };
    let token = tenant.logout_token(Some(&sub), None);
    assert_eq!(post_logout_token(&app.address, &token).await.0, StatusCode::OK);
    let late = app.get_url(&by_sub).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    assert!(late.text().await.unwrap().contains("Your session has ended"));
    assert!(app.is_anonymous().await);

    // The same by `sid`: the tenant session ended while the code was in flight.
    let browser = Browser::new();
    let authorize = app.start_login_in(&browser, None).await;
    let callback = browser.submit_tenant_form(&authorize, "bob@example.com", "pw").await;
    let sid = browser
        .session_cookie_named(tenant.issuer(), "dev_tenant_session")
        .expect("the tenant's session cookie");
    let token = tenant.logout_token(None, Some(&sid));
    assert_eq!(post_logout_token(&app.address, &token).await.0, StatusCode::OK);
    let late = browser.get(callback).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    assert!(app.is_anonymous_in(&browser).await);
    assert_eq!(app.login_count("bob@example.com").await, None, "nothing half-written");
}
