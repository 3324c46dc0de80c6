//! Whose users these are: the dev tenant says so on every page, and profiles are keyed by issuer
//! and `sub`, so one tenant's user never becomes another's.

use reqwest::StatusCode;

use crate::support::{spawn_app, spawn_app_with, spawn_app_with_tenant};

#[actix_web::test]
async fn every_page_shows_the_dev_tenant_banner_while_it_is_in_use() {
    crate::engine!();
    let app = spawn_app().await;
    let anonymous = ["/", "/logout", "/nowhere", "/callback?state=x&code=y"];
    for path in anonymous {
        let html = app.get(path).await.text().await.unwrap();
        assert!(html.contains(r#"id="dev-tenant-banner""#), "{path}: {html}");
    }
    app.login_as("ada@example.com").await;
    for path in ["/", "/profile", "/logout"] {
        let html = app.get(path).await.text().await.unwrap();
        assert!(html.contains(r#"id="dev-tenant-banner""#), "{path}");
    }
}

#[actix_web::test]
async fn a_configured_tenant_shows_no_banner() {
    crate::engine!();
    let (app, _tenant) = spawn_app_with_tenant(&[]).await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(!html.contains("dev-tenant-banner"), "{html}");
}

#[actix_web::test]
async fn the_same_sub_from_another_issuer_is_another_user() {
    crate::engine!();
    // Two dev tenants, two issuers, the same email, so the same `sub`; one database.
    let first = spawn_app().await;
    first.login_as("ada@example.com").await;
    let second = spawn_app_with(&[("DATABASE_URL", &first.database_url)]).await;
    second.login_as("ada@example.com").await;
    assert_eq!(first.profile_rows().await, 2);
    let distinct = |column: &str| {
        let sql = format!("SELECT COUNT(DISTINCT {column}) FROM user_profiles");
        let first = &first;
        async move { first.query_i64(&sql, &[]).await.unwrap() }
    };
    assert_eq!(distinct("sub").await, 1, "the same sub");
    assert_eq!(distinct("issuer").await, 2, "from two issuers");
    for app in [&first, &second] {
        let issuer = app.tenant.as_ref().unwrap().as_str();
        let count = "SELECT login_count FROM user_profiles WHERE issuer = $1";
        assert_eq!(first.query_i64(count, &[issuer]).await, Some(1), "{issuer}");
    }
    // Each app shows its own user's row.
    assert_eq!(second.get("/profile").await.status(), StatusCode::OK);
}
