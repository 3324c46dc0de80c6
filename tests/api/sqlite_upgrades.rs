//! Upgrades of SQLite databases that earlier versions made (Postgres came later, with the
//! tables in their final shape).

use auth0_actix::db::Database;

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
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
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
    let Database::Sqlite(pool) = Database::connect(&url).await.unwrap() else {
        unreachable!("an sqlite:// URL")
    };
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
