//! The app's side of the seam: its [`Auth0Backend`]. A login upserts the profile row (its id is
//! the user id) and records the session, which logout deletes; each request that needs the user
//! asks whether the session is still live (through the per-process cache).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use sqlx::SqlitePool;

use crate::auth0::{Auth0Backend, Auth0Profile, AuthUser, BackendError};
use crate::db::{end_session, record_login, SessionCache};

/// The app's [`Auth0Backend`]: a login upserts the profile row (its id is the user id) and
/// records the session, which logout deletes.
pub struct SqliteBackend {
    pool: SqlitePool,
    sessions: Arc<SessionCache>,
    /// The module's absolute session lifetime: session rows expire with it.
    lifetime: Duration,
}

impl SqliteBackend {
    pub fn new(pool: SqlitePool, sessions: Arc<SessionCache>, lifetime: Duration) -> Self {
        Self {
            pool,
            sessions,
            lifetime,
        }
    }
}

impl Auth0Backend for SqliteBackend {
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            let id = record_login(&self.pool, profile, session_id, self.lifetime).await?;
            Ok(id.to_string())
        })
    }

    fn session_is_active<'a>(
        &'a self,
        user: &'a AuthUser,
    ) -> LocalBoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { Ok(self.sessions.profile(&self.pool, user).await?.is_some()) })
    }

    fn logout<'a>(&'a self, user: &'a AuthUser) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            end_session(&self.pool, &user.session_id).await?;
            self.sessions.forget(&user.session_id);
            Ok(())
        })
    }
}
