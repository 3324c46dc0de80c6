//! [`AccessToken`]: the logged-in user's access token for `AUTH0_AUDIENCE`, for a handler that
//! calls an API as the user (nextjs-auth0's `getAccessToken`, express-openid-connect's
//! `req.oidc.accessToken`).
//!
//! The tokens live server-side, sealed ([`super::tokens`]), in the backend. Within a minute of
//! its expiry the access token is refreshed first (`grant_type=refresh_token`), once: the
//! requests of one session in this process wait for one refresh, and the backend's lock makes
//! instances that share a database take turns (Postgres), so 20 concurrent requests make one
//! grant and a rotated refresh token replaces the old one in one write. A refresh the tenant
//! refuses (`invalid_grant`: revoked, reused, expired) ends the session; a tenant that cannot be
//! reached gives a 503 and keeps it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use actix_session::SessionExt;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::client::RefreshError;
use super::error::{log_line, Auth0Error};
use super::extractor::{end_session, AuthUser, LoginRequired};
use super::session::AuthSession;
use super::tokens::TokenSet;
use super::transaction::now;
use super::{Auth0, TokenUpdate};

/// An access token is refreshed when it has less than this left (seconds).
pub const REFRESH_MARGIN_SECS: i64 = 60;
/// Refreshes in flight at once in this process. A refresh may hold a database connection (the
/// token row's lock) while the tenant answers: a slow tenant must not take the whole pool.
pub const MAX_CONCURRENT_REFRESHES: usize = 4;
/// How long a request waits for one of those slots before answering 503.
const REFRESH_SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A valid access token of the logged-in user, for `AUTH0_AUDIENCE`.
#[derive(Clone)]
pub struct AccessToken {
    /// The token, for `Authorization: Bearer`. Never log it or put it in a page.
    pub token: String,
    /// The scopes it grants (space-separated).
    pub scope: String,
    /// When it expires (Unix seconds): at least [`REFRESH_MARGIN_SECS`] away when extracted,
    /// unless the tenant issues shorter-lived tokens.
    pub expires_at: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl From<TokenSet> for AccessToken {
    fn from(tokens: TokenSet) -> Self {
        Self {
            token: tokens.access_token,
            scope: tokens.scope,
            expires_at: tokens.expires_at,
        }
    }
}

fn is_fresh(tokens: &TokenSet) -> bool {
    tokens.expires_at - now() > REFRESH_MARGIN_SECS
}

/// One lock per session being refreshed in this process, and a bound on refreshes in flight.
pub(crate) struct RefreshLocks {
    sessions: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    slots: tokio::sync::Semaphore,
}

impl Default for RefreshLocks {
    fn default() -> Self {
        Self {
            sessions: Mutex::default(),
            slots: tokio::sync::Semaphore::new(MAX_CONCURRENT_REFRESHES),
        }
    }
}

impl RefreshLocks {
    pub(crate) fn for_session(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.sessions.lock().expect("lock poisoned");
        if let Some(lock) = locks.get(session_id).and_then(Weak::upgrade) {
            return lock;
        }
        // Locks nobody holds any more go when the map grows.
        if locks.len() >= 1024 {
            locks.retain(|_, lock| lock.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(session_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

impl FromRequest for AccessToken {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = AuthUser::extract(&req).await?;
            let auth0 = Auth0::of(&req)?.clone();
            match access_token(&auth0, &user.session_id).await {
                Ok(Some(token)) => Ok(token),
                // No tokens for this session (a login from before AUTH0_AUDIENCE was set, or one
                // that got no refresh token and expired): a new login gets new ones.
                Ok(None) => Err(LoginRequired::for_request(&req).into()),
                Err(e @ Auth0Error::SessionEnded(_)) => {
                    let auth = AuthSession(&req.get_session());
                    if let Some(logged_in) = auth.logged_in() {
                        end_session(&auth0, &logged_in, now(), "refresh refused").await;
                    }
                    auth.forget_user();
                    Err(e.into())
                }
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// The session's access token, refreshed first if it is about to expire.
async fn access_token(auth0: &Auth0, session_id: &str) -> Result<Option<AccessToken>, Auth0Error> {
    let sealer = auth0.sealer()?;
    let backend = auth0.backend();
    let stored = backend
        .load_tokens(session_id)
        .await
        .map_err(Auth0Error::Backend)?;
    let Some(tokens) = stored.and_then(|sealed| sealer.open(session_id, &sealed)) else {
        return Ok(None);
    };
    if is_fresh(&tokens) {
        return Ok(Some(tokens.into()));
    }
    let lock = auth0.refreshing().for_session(session_id);
    let _one_at_a_time = lock.lock().await;
    let _slot = tokio::time::timeout(REFRESH_SLOT_WAIT, auth0.refreshing().slots.acquire())
        .await
        .map_err(|_| Auth0Error::TokensUnavailable("too many refreshes in flight".into()))?
        .expect("the semaphore is never closed");
    let update: TokenUpdate<'_> = Box::new(move |current| {
        Box::pin(async move {
            let current = current
                .and_then(|sealed| sealer.open(session_id, &sealed))
                .ok_or(RefreshError::Missing)?;
            // Another request (or instance) refreshed while this one waited.
            if is_fresh(&current) {
                return Ok(None);
            }
            let refresh_token = current.refresh_token.ok_or(RefreshError::Missing)?;
            let fresh = auth0.client().refresh(&refresh_token).await?;
            tracing::info!("auth0: access token refreshed");
            Ok(Some(sealer.seal(session_id, &fresh)))
        })
    });
    match backend.update_tokens(session_id, update).await {
        // Just refreshed: good while it has not expired, even if the tenant issues tokens that
        // live less than the margin.
        Ok(stored) => Ok(stored
            .and_then(|sealed| sealer.open(session_id, &sealed))
            .filter(|tokens| tokens.expires_at > now())
            .map(AccessToken::from)),
        Err(e) => match e.downcast_ref::<RefreshError>() {
            Some(RefreshError::Missing) => Ok(None),
            Some(RefreshError::Refused(why)) => Err(Auth0Error::SessionEnded(why.clone())),
            Some(RefreshError::Unavailable(why)) => Err(Auth0Error::TokensUnavailable(why.clone())),
            None => {
                tracing::error!(error = %log_line(&*e), "auth0: the tokens could not be updated");
                Err(Auth0Error::Backend(e))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lock_per_session_while_someone_holds_it() {
        let locks = RefreshLocks::default();
        let a = locks.for_session("a");
        assert!(Arc::ptr_eq(&a, &locks.for_session("a")));
        assert!(!Arc::ptr_eq(&a, &locks.for_session("b")));
        drop(a);
        // Nobody holds it: a new one (the old entry is dead).
        let again = locks.for_session("a");
        assert_eq!(Arc::strong_count(&again), 1);
    }
}
