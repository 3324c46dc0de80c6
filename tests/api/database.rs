//! The database under load and failure: concurrent logins count exactly, nothing half-written.

use reqwest::StatusCode;

use auth0_actix::db::Database;

use crate::support::engine::fresh_database_url;
use crate::support::{spawn_app, Browser};

#[actix_web::test]
async fn fifty_parallel_logins_of_one_user_make_one_row_counting_fifty() {
    crate::engine!();
    let app = spawn_app().await;
    let logins = (0..50).map(|_| {
        let app = &app;
        async move {
            app.login_in(&Browser::new(), "ada@example.com", None)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(logins).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::FOUND),
        "{statuses:?}"
    );
    assert_eq!(app.profile_rows().await, 1);
    assert_eq!(app.login_count("ada@example.com").await, Some(50));
}

#[actix_web::test]
async fn two_hundred_parallel_logins_succeed_while_others_read_their_profiles() {
    crate::engine!();
    let app = spawn_app().await;
    let reader = Browser::new();
    app.login_in(&reader, "reader@example.com", None).await;
    let logins = (0..200).map(|i| {
        let app = &app;
        async move {
            let email = format!("user{i}@example.com");
            app.login_in(&Browser::new(), &email, None).await.status()
        }
    });
    let reads = (0..200).map(|_| {
        let (app, reader) = (&app, &reader);
        async move {
            reader
                .get(app.url("/profile"))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    // 25 in flight at a time each: on this 2-core machine, shared with the rest of the suite,
    // 400 requests at once sometimes waited past the Postgres pool's 1.5 s acquire timeout (a
    // 503, by design: an overloaded database sheds load rather than queueing without end).
    use futures_util::StreamExt;
    let (logins, reads) = tokio::join!(
        futures_util::stream::iter(logins)
            .buffer_unordered(25)
            .collect::<Vec<_>>(),
        futures_util::stream::iter(reads)
            .buffer_unordered(25)
            .collect::<Vec<_>>()
    );
    assert!(logins.iter().all(|s| *s == StatusCode::FOUND), "{logins:?}");
    assert!(reads.iter().all(|s| *s == StatusCode::OK), "{reads:?}");
    assert_eq!(app.profile_rows().await, 201);
}

#[actix_web::test]
async fn a_database_that_cannot_be_written_gives_a_503_page_and_no_session() {
    crate::engine!();
    let app = spawn_app().await;
    for operation in ["INSERT", "UPDATE"] {
        app.refuse(operation, "user_profiles", "disk is full").await;
    }
    let response = app.login_as("ada@example.com").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = response.text().await.unwrap();
    assert!(html.contains("could not record the login"), "{html}");
    assert!(app.is_anonymous().await);
    assert_eq!((app.profile_rows().await, app.session_rows().await), (0, 0));
}

#[actix_web::test]
async fn three_instances_starting_at_once_on_one_new_database_all_start() {
    crate::engine!();
    // Each runs the migrations; without a lock, two of them fail with "table already exists".
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database_url(dir.path()).await;
        let starts = (0..3).map(|_| Database::connect(&url));
        let results = futures_util::future::join_all(starts).await;
        for result in &results {
            assert!(result.is_ok(), "{:?}", result.as_ref().err());
        }
    }
}
