//! `GET /logout` (confirm page) and `POST /logout` (CSRF token, then the tenant's logout:
//! OpenID Connect RP-Initiated Logout when discovery lists it, else Auth0's `/v2/logout`).

use reqwest::StatusCode;

use crate::support::hostile_idp::{self, spawn_with_hostile_idp_and, TokenAnswer};
use crate::support::{assert_is_redirect_to, location, query_param, spawn_app, spawn_app_with};

#[actix_web::test]
async fn logout_goes_to_the_discovered_end_session_endpoint_with_the_sessions_sid() {
    crate::engine!();
    // The dev tenant's discovery lists `end_session_endpoint`, as Auth0's does with "RP-Initiated
    // Logout End Session Endpoint Discovery" on; `AUTH0_LOGOUT` is `auto`.
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    let response = app.log_out().await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert_eq!(target.origin(), app.tenant.as_ref().unwrap().origin());
    assert_eq!(target.path(), "/oidc/logout");
    assert_eq!(
        query_param(&target, "client_id"),
        Some(app.client_id.clone())
    );
    assert_eq!(
        query_param(&target, "post_logout_redirect_uri"),
        Some(app.url("/").to_string())
    );
    let hint = query_param(&target, "logout_hint").expect("the session's sid");
    assert!(hint.len() >= 16, "{hint}");
    assert_eq!(query_param(&target, "federated"), None);
    assert!(app.is_anonymous().await, "the session is gone");
    let back = app.get_url(&target).await;
    assert_is_redirect_to(&back, app.url("/").as_str());
}

#[actix_web::test]
async fn auth0_logout_v2_forces_v2_logout_and_federated_asks_for_the_upstream_too() {
    crate::engine!();
    let app = spawn_app_with(&[("AUTH0_LOGOUT", "v2"), ("AUTH0_FEDERATED_LOGOUT", "true")]).await;
    app.login_as("ada@example.com").await;
    let target = location(&app.log_out().await);
    assert_eq!(target.path(), "/v2/logout");
    assert!(target.query_pairs().any(|(k, _)| k == "federated"), "{target}");
    assert_eq!(query_param(&target, "logout_hint"), None);

    let oidc = spawn_app_with(&[("AUTH0_FEDERATED_LOGOUT", "true")]).await;
    oidc.login_as("ada@example.com").await;
    let target = location(&oidc.log_out().await);
    assert_eq!(target.path(), "/oidc/logout");
    assert!(target.query_pairs().any(|(k, _)| k == "federated"), "{target}");
}

#[actix_web::test]
async fn without_an_end_session_endpoint_auto_uses_v2_and_oidc_uses_auth0s_path() {
    crate::engine!();
    // The scripted IdP's discovery lists no end_session_endpoint.
    for (mode, path) in [("auto", "/v2/logout"), ("oidc", "/oidc/logout")] {
        let (app, idp) = spawn_with_hostile_idp_and(&[("AUTH0_LOGOUT", mode)]).await;
        let login = hostile_idp::start(&app).await;
        idp.answer_token(TokenAnswer::IdToken(idp.rs256(&idp.claims(&login.nonce))));
        assert_eq!(hostile_idp::callback(&app, &login).await.status(), 302);
        let target = location(&app.log_out().await);
        assert_eq!(target.origin(), idp.issuer().origin(), "{mode}");
        assert_eq!(target.path(), path, "{mode}");
    }
}

#[actix_web::test]
async fn logout_purges_the_session_and_goes_to_the_tenant_logout() {
    crate::engine!();
    let app = spawn_app_with(&[("AUTH0_LOGOUT", "v2")]).await;
    app.login_as("ada@example.com").await;
    let response = app.log_out().await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert_eq!(target.origin(), app.tenant.as_ref().unwrap().origin());
    assert_eq!(target.path(), "/v2/logout");
    assert_eq!(
        query_param(&target, "client_id"),
        Some(app.client_id.clone())
    );
    assert_eq!(
        query_param(&target, "returnTo"),
        Some(app.url("/").to_string())
    );
    assert!(app.is_anonymous().await, "the session is gone");

    // The tenant sends the browser back to the app's home, anonymous.
    let back = app.get_url(&target).await;
    assert_is_redirect_to(&back, app.url("/").as_str());
    let home = app.get("/").await.text().await.unwrap();
    assert!(home.contains(r#"id="anonymous""#));
}

#[actix_web::test]
async fn logout_without_the_csrf_token_is_refused_and_the_user_stays_logged_in() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    for form in [vec![], vec![("csrf", "wrong")], vec![("csrf", "")]] {
        let response = app
            .browser
            .post(app.url("/logout"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{form:?}");
    }
    assert!(!app.is_anonymous().await);
}

#[actix_web::test]
async fn the_logout_page_shows_a_form_only_to_logged_in_users() {
    crate::engine!();
    let app = spawn_app().await;
    let anonymous = app.get("/logout").await.text().await.unwrap();
    assert!(anonymous.contains("You are not logged in"));
    assert!(!anonymous.contains(r#"name="csrf""#));
    app.login_as("ada@example.com").await;
    assert!(app.csrf_token().await.is_some());
}

#[actix_web::test]
async fn the_tenant_refuses_a_return_to_that_is_not_registered() {
    crate::engine!();
    let app = spawn_app().await;
    let mut logout = app.tenant.clone().unwrap().join("/v2/logout").unwrap();
    logout
        .query_pairs_mut()
        .append_pair("returnTo", "https://evil.example/");
    let response = app.get_url(&logout).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn a_post_without_a_body_or_token_is_refused_with_a_page_that_says_why() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    let empty = app.browser.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::FORBIDDEN);
    let html = empty.text().await.unwrap();
    assert!(html.contains("carried no form token"), "{html}");
    let json = app
        .browser
        .post(app.url("/logout"))
        .header("content-type", "application/json")
        .body(r#"{"csrf":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::FORBIDDEN);
    assert!(!app.is_anonymous().await, "the session is kept");
}

#[actix_web::test]
async fn logout_logs_out_even_when_the_database_cannot_end_the_session() {
    crate::engine!();
    let app = spawn_app().await;
    app.login_as("ada@example.com").await;
    app.refuse("DELETE", "user_sessions", "database is read-only")
        .await;
    let response = app.log_out().await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response).path(),
        "/oidc/logout",
        "still off to the tenant"
    );
    assert!(app.is_anonymous().await, "this browser's session is gone");
}
