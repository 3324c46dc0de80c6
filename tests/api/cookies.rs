//! The session cookie under attack: planted before login, made with another key.

use reqwest::StatusCode;

use crate::support::{session_cookie_set_by, spawn_app, status_with_cookie, Browser};

#[actix_web::test]
async fn a_cookie_planted_before_login_is_not_logged_in_afterwards() {
    crate::engine!();
    let app = spawn_app().await;
    // A browser without a cookie store: every cookie is handled by hand, as a browser would.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The attacker gets a session cookie (any visit to /login sets one) and plants it.
    let planted = session_cookie_set_by(&app.get("/login").await).unwrap();
    // The victim starts a login carrying the planted cookie; the app updates it.
    let response = browser
        .get(app.url("/login"))
        .header("cookie", &planted)
        .send()
        .await
        .unwrap();
    let pending = session_cookie_set_by(&response).unwrap();
    let authorize = crate::support::location(&response);
    let tenant_browser = Browser::new();
    let back = tenant_browser
        .submit_tenant_form(&authorize, "victim@example.com", "pw")
        .await;
    let done = browser
        .get(back)
        .header("cookie", &pending)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    let logged_in = session_cookie_set_by(&done).expect("a new session cookie at login");
    assert_eq!(
        status_with_cookie(app.url("/profile"), &logged_in).await,
        StatusCode::OK
    );
    // Neither the planted cookie nor the pre-login one is logged in.
    assert_eq!(
        status_with_cookie(app.url("/profile"), &planted).await,
        StatusCode::FOUND
    );
    assert_eq!(
        status_with_cookie(app.url("/profile"), &pending).await,
        StatusCode::FOUND
    );
}

#[actix_web::test]
async fn a_cookie_from_another_app_key_is_anonymous_with_200() {
    crate::engine!();
    let (one, two) = (spawn_app().await, spawn_app().await);
    let response = one.login_as("ada@example.com").await;
    let cookie = session_cookie_set_by(&response).unwrap();
    assert_eq!(
        status_with_cookie(one.url("/profile"), &cookie).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with_cookie(two.url("/"), &cookie).await,
        StatusCode::OK
    );
    assert_eq!(
        status_with_cookie(two.url("/profile"), &cookie).await,
        StatusCode::FOUND
    );
}
