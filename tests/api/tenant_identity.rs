//! Whose users these are: the dev tenant says so on every page, and profiles are keyed by issuer
//! and `sub`, so one tenant's user never becomes another's.

use reqwest::StatusCode;

use crate::support::{spawn_app, spawn_app_with, spawn_app_with_tenant};

#[actix_web::test]
async fn every_page_shows_the_dev_tenant_banner_while_it_is_in_use() {
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
    let (app, _tenant) = spawn_app_with_tenant(&[]).await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(!html.contains("dev-tenant-banner"), "{html}");
}

#[actix_web::test]
async fn the_same_sub_from_another_issuer_is_another_user() {
    // Two dev tenants, two issuers, the same email, so the same `sub`; one database.
    let first = spawn_app().await;
    first.login_as("ada@example.com").await;
    let second = spawn_app_with(&[("DATABASE_URL", &first.database_url)]).await;
    second.login_as("ada@example.com").await;
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT issuer, sub, login_count FROM user_profiles ORDER BY id")
            .fetch_all(&first.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].1, rows[1].1, "the same sub");
    assert_ne!(rows[0].0, rows[1].0, "from two issuers");
    assert_eq!((rows[0].2, rows[1].2), (1, 1));
    assert_eq!(rows[0].0, first.tenant.as_ref().unwrap().as_str());
    // Each app shows its own user's row.
    assert_eq!(second.get("/profile").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn the_issuer_migration_keeps_old_rows_and_sessions_but_matches_nobody_to_them() {
    use sqlx::sqlite::SqliteConnectOptions;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    // The database as the first release left it: the first two migrations, one user, a session.
    {
        let options: SqliteConnectOptions = url.parse::<SqliteConnectOptions>().unwrap();
        let pool =
            sqlx::SqlitePool::connect_with(options.create_if_missing(true).foreign_keys(true))
                .await
                .unwrap();
        let mut migrator = sqlx::migrate!("./migrations");
        let old: Vec<_> = migrator.migrations.iter().take(2).cloned().collect();
        migrator.migrations = old.into();
        migrator.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO user_profiles (sub, email, login_count, first_login_at, last_login_at,
                 updated_at) VALUES ('auth0|abc', 'ada@example.com', 7, 'a', 'b', 'c')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO user_sessions (id, profile_id, created_at, expires_at)
             VALUES ('s1', 1, 'a', '9999-01-01T00:00:00.000Z')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let pool = auth0_actix::db::connect(&url).await.unwrap();
    let (issuer, count): (String, i64) =
        sqlx::query_as("SELECT issuer, login_count FROM user_profiles WHERE sub = 'auth0|abc'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((issuer.as_str(), count), ("", 7), "kept, with no issuer");
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "no session lost to the table rebuild");
    // Foreign keys still point at the rebuilt table: deleting the user deletes the session.
    sqlx::query("DELETE FROM user_profiles")
        .execute(&pool)
        .await
        .unwrap();
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}
