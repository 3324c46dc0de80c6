//! The one seam between this module and the app: what to do with a user who just logged in, and
//! (optionally) whether their session is still live. It is the Rust form of django-auth0's
//! `Auth0Backend` (`authenticate(**user_info)`).

use std::future::ready;

use futures_util::future::LocalBoxFuture;

use super::user::{Auth0Profile, AuthUser};

/// Whatever went wrong in a backend: it fails the login with a 503 page, and is logged.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// What [`Auth0Backend::update_tokens`] runs under its lock: the stored blob in, the blob to
/// store out (`None`: keep what is there).
pub type TokenUpdate<'a> = Box<
    dyn FnOnce(Option<Vec<u8>>) -> LocalBoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> + 'a,
>;

/// Called once per successful login, after the ID token and userinfo were validated.
///
/// [`login`](Self::login) returns the id your app knows this user by: it is stored in the session
/// and handed back by the [`AuthUser`] extractor. An error fails the login (503 page, no session).
///
/// Each login also gets a random `session_id`. A backend that records it (as this app's SQLite
/// backend does) can revoke sessions server-side: [`session_is_active`](Self::session_is_active)
/// is asked once per request that needs the user, and [`logout`](Self::logout) ends it, so a
/// session cookie copied before logout is worthless after it. The defaults keep no record: the
/// session then lives as long as its encrypted cookie.
///
/// ```
/// use auth0_actix::auth0::{Auth0Backend, Auth0Profile, BackendError};
/// use futures_util::future::LocalBoxFuture;
///
/// /// Every Auth0 user is welcome and known by their `sub`.
/// struct BySubject;
///
/// impl Auth0Backend for BySubject {
///     fn login<'a>(
///         &'a self,
///         profile: &'a Auth0Profile,
///         _session_id: &'a str,
///     ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
///         Box::pin(async move { Ok(profile.sub.clone()) })
///     }
/// }
/// ```
pub trait Auth0Backend: Send + Sync + 'static {
    /// Records a validated login and returns the app's id for this user.
    /// `session_id` names this login's session (see [`session_is_active`](Self::session_is_active)).
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>>;

    /// Whether the session `user.session_id` is still live. Default: always.
    fn session_is_active<'a>(
        &'a self,
        _user: &'a AuthUser,
    ) -> LocalBoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(ready(Ok(true)))
    }

    /// Ends the session `user.session_id`. Default: nothing to do.
    fn logout<'a>(&'a self, _user: &'a AuthUser) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(ready(Ok(())))
    }

    /// Keeps a session's tokens, sealed by the module (a login with `AUTH0_AUDIENCE`); returns
    /// whether they were kept. The default keeps nothing: without server-side sessions there is
    /// nowhere safe to keep them, and [`crate::auth0::AccessToken`] answers that there is none.
    fn save_tokens<'a>(
        &'a self,
        _session_id: &'a str,
        _sealed: Vec<u8>,
    ) -> LocalBoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(ready(Ok(false)))
    }

    /// A session's sealed tokens, if it has some.
    fn load_tokens<'a>(
        &'a self,
        _session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(ready(Ok(None)))
    }

    /// Replaces a session's sealed tokens through `update`, which gets the blob stored now and
    /// returns the one to store instead (`None`: keep it). Hold a lock on the session's tokens
    /// meanwhile, across instances if the store is shared (Postgres: `SELECT ... FOR UPDATE`), so
    /// one refresh runs and the others see its result. Returns the blob stored at the end.
    fn update_tokens<'a>(
        &'a self,
        _session_id: &'a str,
        _update: TokenUpdate<'a>,
    ) -> LocalBoxFuture<'a, Result<Option<Vec<u8>>, BackendError>> {
        Box::pin(ready(Ok(None)))
    }
}

/// A backend from a plain function or closure, for apps whose user lookup does not wait on I/O.
/// Its sessions live as long as their cookie.
///
/// ```
/// use auth0_actix::auth0::{self, Auth0Backend};
///
/// let by_email = auth0::from_fn(|profile| {
///     profile.email.clone().ok_or_else(|| "this app needs an email address".into())
/// });
/// fn takes_backend(_: impl Auth0Backend) {}
/// takes_backend(by_email);
/// ```
pub fn from_fn<F>(f: F) -> FnBackend<F>
where
    F: Fn(&Auth0Profile) -> Result<String, BackendError> + Send + Sync + 'static,
{
    FnBackend(f)
}

/// See [`from_fn`].
pub struct FnBackend<F>(F);

impl<F> Auth0Backend for FnBackend<F>
where
    F: Fn(&Auth0Profile) -> Result<String, BackendError> + Send + Sync + 'static,
{
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        _session_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(ready((self.0)(profile)))
    }
}
