//! A login in flight: how long it may take (the browser tests cover how many may be pending).

use std::time::Duration;

use reqwest::StatusCode;
use url::Url;

use auth0_actix::dev_tenant::DevTenant;

use crate::support::{assert_is_redirect_to, Browser};

async fn module_app_with_login_max_age(max_age: Duration) -> (Url, DevTenant) {
    crate::support::spawn_module_app(|settings| settings.login_max_age = max_age).await
}

#[actix_web::test]
async fn a_login_older_than_its_lifetime_is_refused() {
    crate::engine!();
    let (home, _tenant) = module_app_with_login_max_age(Duration::from_secs(1)).await;
    let browser = Browser::new();
    let start = |b: &reqwest::Client| b.get(home.join("/login").unwrap()).send();
    // In time: accepted (the control).
    let authorize = crate::support::location(&start(&browser).await.unwrap());
    let back = browser
        .submit_tenant_form(&authorize, "ada@example.com", "pw")
        .await;
    assert_is_redirect_to(&browser.get(back).send().await.unwrap(), "/me");
    // Too late: refused, no session.
    let late = Browser::new();
    let authorize = crate::support::location(&start(&late).await.unwrap());
    let back = late
        .submit_tenant_form(&authorize, "ada@example.com", "pw")
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = late.get(back).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let me = late.get(home.join("/me").unwrap()).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::FOUND);
}
