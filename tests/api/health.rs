//! `/healthz`: 200 while the database answers, 503 when it does not.

use reqwest::StatusCode;

use crate::support::spawn_app;

#[actix_web::test]
async fn healthz_is_ok_while_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[actix_web::test]
async fn healthz_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
