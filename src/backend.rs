//! The app's side of the seam: its [`Auth0Backend`]. A login upserts the profile row (its id is
//! the user id) and records the session, which logout deletes; each request that needs the user
//! asks whether the session is still live (through the per-process cache). Either engine.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;

use crate::auth0::{
    Auth0Backend, Auth0Profile, AuthUser, BackendError, LoginRefused, LogoutTarget, NewSession,
    SeenLogoutToken, TokenUpdate,
};
use crate::db::{Database, SessionCache};

/// The app's [`Auth0Backend`]: a login upserts the profile row (its id is the user id) and
/// records the session, which logout deletes.
pub struct DatabaseBackend {
    db: Database,
    sessions: Arc<SessionCache>,
    /// The module's absolute session lifetime: session rows expire with it.
    lifetime: Duration,
}

impl DatabaseBackend {
    pub fn new(db: Database, sessions: Arc<SessionCache>, lifetime: Duration) -> Self {
        Self {
            db,
            sessions,
            lifetime,
        }
    }
}

impl Auth0Backend for DatabaseBackend {
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        session: &'a NewSession,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(async move {
            let ticket = self.sessions.ticket();
            let (stored, expires_at) = self
                .db
                .record_login(profile, session, self.lifetime)
                .await?
                .ok_or(LoginRefused)?;
            let id = stored.id.to_string();
            // A new session for the lists.
            self.sessions.forget_lists();
            // The page after a login (usually /profile) is served from the cache.
            self.sessions
                .store(ticket, &session.id, Arc::new(stored), expires_at);
            Ok(id)
        })
    }

    fn session_is_active<'a>(
        &'a self,
        user: &'a AuthUser,
    ) -> LocalBoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { Ok(self.sessions.profile(&self.db, user).await?.is_some()) })
    }

    fn logout<'a>(&'a self, user: &'a AuthUser) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.db.end_session(&user.session_id).await?;
            self.sessions.forget(&user.session_id);
            Ok(())
        })
    }

    fn session_seen<'a>(
        &'a self,
        user: &'a AuthUser,
        at: i64,
    ) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move { Ok(self.db.touch_session(&user.session_id, at).await?) })
    }

    fn sessions_to_log_out<'a>(
        &'a self,
        target: &'a LogoutTarget<'a>,
    ) -> LocalBoxFuture<'a, Result<Option<Vec<AuthUser>>, BackendError>> {
        Box::pin(async move {
            let named = self.db.sessions_named(target).await?;
            let users = named
                .into_iter()
                .map(|s| AuthUser {
                    id: s.profile_id.to_string(),
                    sub: s.sub,
                    session_id: s.id,
                    organization: None,
                })
                .collect();
            Ok(Some(users))
        })
    }

    fn remember_logout_token<'a>(
        &'a self,
        token: &'a SeenLogoutToken<'a>,
    ) -> LocalBoxFuture<'a, Result<Option<bool>, BackendError>> {
        Box::pin(async move { Ok(Some(self.db.remember_logout_token(token).await?)) })
    }

    fn forget_logout_token<'a>(
        &'a self,
        token: &'a SeenLogoutToken<'a>,
    ) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move { Ok(self.db.forget_logout_token(token).await?) })
    }

    fn save_tokens<'a>(
        &'a self,
        session_id: &'a str,
        sealed: Vec<u8>,
    ) -> LocalBoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            self.db.save_tokens(session_id, &sealed).await?;
            Ok(true)
        })
    }

    fn load_tokens<'a>(
        &'a self,
        session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(async move { Ok(self.db.load_tokens(session_id).await?) })
    }

    fn update_tokens<'a>(
        &'a self,
        session_id: &'a str,
        update: TokenUpdate<'a>,
    ) -> LocalBoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(self.db.update_tokens(session_id, update))
    }
}
