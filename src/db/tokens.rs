//! The sealed tokens of a session (`session_tokens`): saved at login, read by the access-token
//! extractor, replaced by a refresh. Only the auth0 module can open them.

use sqlx::{PgPool, SqlitePool};

use super::Database;
use crate::auth0::{BackendError, TokenUpdate};

impl Database {
    /// Stores a session's sealed tokens (a login), replacing any.
    pub async fn save_tokens(&self, session_id: &str, sealed: &[u8]) -> Result<(), sqlx::Error> {
        match self {
            Database::Sqlite(pool) => sqlx::query(
                "INSERT INTO session_tokens (session_id, sealed, updated_at)
                 VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                 ON CONFLICT (session_id) DO UPDATE
                 SET sealed = excluded.sealed, version = version + 1,
                     updated_at = excluded.updated_at",
            )
            .bind(session_id)
            .bind(sealed)
            .execute(pool)
            .await
            .map(|_| ()),
            Database::Postgres(pool) => sqlx::query(
                "INSERT INTO session_tokens (session_id, sealed, updated_at)
                 VALUES ($1, $2, now())
                 ON CONFLICT (session_id) DO UPDATE
                 SET sealed = excluded.sealed, version = session_tokens.version + 1,
                     updated_at = excluded.updated_at",
            )
            .bind(session_id)
            .bind(sealed)
            .execute(pool)
            .await
            .map(|_| ()),
        }
    }

    /// A session's sealed tokens.
    pub async fn load_tokens(&self, session_id: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        match self {
            Database::Sqlite(pool) => {
                sqlx::query_scalar("SELECT sealed FROM session_tokens WHERE session_id = ?1")
                    .bind(session_id)
                    .fetch_optional(pool)
                    .await
            }
            Database::Postgres(pool) => {
                sqlx::query_scalar("SELECT sealed FROM session_tokens WHERE session_id = $1")
                    .bind(session_id)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    /// Replaces a session's sealed tokens through `update` (see
    /// [`crate::auth0::Auth0Backend::update_tokens`]); returns what is stored at the end.
    pub async fn update_tokens(
        &self,
        session_id: &str,
        update: TokenUpdate<'_>,
    ) -> Result<Option<Vec<u8>>, BackendError> {
        match self {
            Database::Sqlite(pool) => update_sqlite(pool, session_id, update).await,
            Database::Postgres(pool) => update_postgres(pool, session_id, update).await,
        }
    }
}

/// Postgres: the row is locked while `update` runs (it may call the tenant), so instances that
/// refresh the same session at once take turns, and the later ones find the new tokens.
async fn update_postgres(
    pool: &PgPool,
    session_id: &str,
    update: TokenUpdate<'_>,
) -> Result<Option<Vec<u8>>, BackendError> {
    let mut tx = pool.begin().await?;
    let current: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed FROM session_tokens WHERE session_id = $1 FOR UPDATE")
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let Some(new) = update(Some(current.clone())).await? else {
        return Ok(Some(current));
    };
    sqlx::query(
        "UPDATE session_tokens SET sealed = $2, version = version + 1, updated_at = now()
         WHERE session_id = $1",
    )
    .bind(session_id)
    .bind(&new)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(new))
}

/// SQLite: no row locks, and holding its one write lock across a call to the tenant would stall
/// every login. The module already lets one refresh per session run in a process; the write is
/// made only over the version read (compare and swap), so a concurrent writer's tokens win
/// rather than being overwritten by older ones.
async fn update_sqlite(
    pool: &SqlitePool,
    session_id: &str,
    update: TokenUpdate<'_>,
) -> Result<Option<Vec<u8>>, BackendError> {
    let read = || {
        sqlx::query_as::<_, (Vec<u8>, i64)>(
            "SELECT sealed, version FROM session_tokens WHERE session_id = ?1",
        )
        .bind(session_id)
        .fetch_optional(pool)
    };
    let Some((current, version)) = read().await? else {
        return Ok(None);
    };
    let Some(new) = update(Some(current.clone())).await? else {
        return Ok(Some(current));
    };
    let written = sqlx::query(
        "UPDATE session_tokens SET sealed = ?2, version = version + 1,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE session_id = ?1 AND version = ?3",
    )
    .bind(session_id)
    .bind(&new)
    .bind(version)
    .execute(pool)
    .await?
    .rows_affected();
    if written == 1 {
        Ok(Some(new))
    } else {
        Ok(read().await?.map(|(sealed, _)| sealed))
    }
}
