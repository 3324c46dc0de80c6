//! The example in `examples/existing_app.rs`, compiled into this test binary and run against
//! the dev tenant: an existing app's own protected page, reached through Auth0 login.

#[allow(dead_code)]
#[path = "../../examples/existing_app.rs"]
mod club;

use std::net::TcpListener;

use actix_web::cookie::Key;
use reqwest::StatusCode;

use crate::support::{assert_is_redirect_to, dev_tenant_for, location, location_str, Browser};

#[actix_web::test]
async fn the_existing_app_gains_auth0_login() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let (home, tenant, settings) = dev_tenant_for(&listener, "/").await;
    let server = club::serve(listener, settings, Key::generate()).unwrap();
    actix_web::rt::spawn(server);

    let browser = Browser::new();
    // Anonymous: the club's lounge sends the visitor to log in, and back to the lounge after.
    let lounge = home.join("/members").unwrap();
    let response = browser.get(lounge.clone()).send().await.unwrap();
    assert_is_redirect_to(&response, "/login?next=%2Fmembers");
    let response = browser.get(location(&response)).send().await.unwrap();
    let authorize = location(&response);
    assert_eq!(authorize.origin(), tenant.issuer().origin());

    // The tenant's form.
    let callback = browser
        .submit_tenant_form(&authorize, "ada@example.com", "pw")
        .await;

    // The callback logs the member in and returns to the lounge, which now knows them.
    let response = browser.get(callback).send().await.unwrap();
    assert_eq!(location_str(&response), "/members");
    let response = browser.get(lounge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await.unwrap(),
        "Welcome to the lounge, ada@example.com! Visit number 1."
    );
}

#[test]
fn the_example_needs_at_most_ten_marked_lines() {
    let source = include_str!("../../examples/existing_app.rs");
    let marked = source
        .lines()
        .filter(|l| l.trim_end().ends_with("// [auth0]"))
        .count();
    assert!((1..=10).contains(&marked), "{marked} marked lines");
}
