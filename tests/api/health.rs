//! `/healthz`: 200 while the database answers, 503 when it does not.

use reqwest::StatusCode;

use crate::support::spawn_app;

#[actix_web::test]
async fn healthz_is_ok_while_the_database_answers() {
    crate::engine!();
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[actix_web::test]
async fn healthz_is_503_when_the_database_is_gone() {
    crate::engine!();
    let app = spawn_app().await;
    match &app.db {
        auth0_actix::db::Database::Sqlite(pool) => pool.close().await,
        auth0_actix::db::Database::Postgres(pool) => pool.close().await,
    }
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
