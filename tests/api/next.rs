//! `next` and `AUTH0_SUCCESS_URL`: whatever a login was asked to return to, the `Location` after
//! it stays on the app's origin however a browser reads it.

use reqwest::StatusCode;

use crate::support::{location_str, spawn_app, spawn_app_with, Browser, TestApp};

/// Logs in a fresh browser with `next`; returns the callback's `Location`.
async fn landing_after_login_with(app: &TestApp, next: &str) -> String {
    let response = app
        .login_in(&Browser::new(), "ada@example.com", Some(next))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND, "{next:?}");
    location_str(&response)
}

#[actix_web::test]
async fn dot_segments_cannot_turn_next_into_another_host() {
    crate::engine!();
    let app = spawn_app().await;
    for next in [
        "/..//evil.com",
        "/.//evil.com",
        "/%2e%2e//evil.com",
        "/%2E%2E//evil.com",
        "/a/..//evil.com",
        "/a/b/../..//evil.com/x?y=1",
        "/.%2e//evil.com",
    ] {
        let location = landing_after_login_with(&app, next).await;
        assert_eq!(location, "/profile", "{next:?} led to {location:?}");
        let resolved = app.address.join(&location).unwrap();
        assert_eq!(resolved.origin(), app.address.origin(), "{next:?}");
    }
}

#[actix_web::test]
async fn a_local_next_is_normalised_and_kept() {
    crate::engine!();
    let app = spawn_app().await;
    assert_eq!(
        landing_after_login_with(&app, "/a/../profile?tab=1").await,
        "/profile?tab=1"
    );
    assert_eq!(
        landing_after_login_with(&app, "/caf\u{e9}").await,
        "/caf%C3%A9"
    );
}

#[actix_web::test]
async fn a_next_longer_than_the_cap_is_dropped_for_the_success_url() {
    crate::engine!();
    let app = spawn_app().await;
    let long = format!(
        "/{}",
        "x".repeat(auth0_actix::auth0::redirect::MAX_NEXT_BYTES)
    );
    assert_eq!(landing_after_login_with(&app, &long).await, "/profile");
}

#[actix_web::test]
async fn the_success_url_is_normalised_by_the_same_rule() {
    crate::engine!();
    // `/..//evil.com` as AUTH0_SUCCESS_URL is refused at startup (config tests); a local one
    // with dot segments lands where a browser would take it anyway, never elsewhere.
    let app = spawn_app_with(&[("AUTH0_SUCCESS_URL", "/a/../profile")]).await;
    let response = app.login_as("ada@example.com").await;
    assert_eq!(location_str(&response), "/profile");
    for bad in ["/..//evil.com", "/%2e%2e//evil.com", "//evil.com"] {
        let env = [("AUTH0_SUCCESS_URL", bad)];
        let map: std::collections::HashMap<_, _> = env.into_iter().collect();
        let err =
            auth0_actix::config::Config::from_lookup(&|name| map.get(name).map(|v| v.to_string()))
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
        assert_eq!(err.variable, "AUTH0_SUCCESS_URL", "{bad}");
    }
}

#[actix_web::test]
async fn a_next_that_could_leave_the_site_falls_back_to_the_success_url() {
    crate::engine!();
    let app = spawn_app().await;
    for next in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\/evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "  /profile",
        "\t/profile",
        "/\t/evil.com",
        "/profile\r\nLocation: https://evil.com",
        "/%0d%0aSet-Cookie:x=1",
    ] {
        let response = app
            .login_in(&Browser::new(), "ada@example.com", Some(next))
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{next:?}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(
            location == "/profile" || location == "/%0d%0aSet-Cookie:x=1",
            "{next:?} led to {location:?}"
        );
    }
}
