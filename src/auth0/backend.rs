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

/// A new login's session, as [`Auth0Backend::login`] gets it.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The random id the module made for this session (256 bits, URL-safe): the cookie names it.
    pub id: String,
    /// The tenant's session: the ID token's `sid` (at most 128 printable characters).
    /// Back-channel logout names sessions by it.
    pub sid: Option<String>,
    /// The browser's `User-Agent` at login: printable, at most [`MAX_USER_AGENT`] characters.
    pub user_agent: Option<String>,
    /// When the user entered their credentials (the ID token's `auth_time`, else the login's
    /// time), Unix seconds. A backend that keeps logout tokens refuses a login authenticated
    /// before a logout that named it, with [`LoginRefused`].
    pub authenticated_at: i64,
}

/// A backend's answer to a login the tenant had already ended (a back-channel logout came
/// between the authentication and the callback): the login fails with "Your session has ended".
#[derive(Debug, thiserror::Error)]
#[error("the tenant ended this session before the login finished")]
pub struct LoginRefused;

/// A logout token acted on: what [`Auth0Backend::remember_logout_token`] keeps.
#[derive(Debug, Clone, Copy)]
pub struct SeenLogoutToken<'a> {
    /// The token's `iss` (this tenant's).
    pub issuer: &'a str,
    /// Its `jti`.
    pub jti: &'a str,
    /// The tenant session it ended, if it named one.
    pub sid: Option<&'a str>,
    /// The user it logged out, if it named one.
    pub sub: Option<&'a str>,
    /// Its `iat`, Unix seconds.
    pub issued_at: i64,
    /// Keep it until then (Unix seconds).
    pub until: i64,
}

/// The longest `User-Agent` kept with a session.
pub const MAX_USER_AGENT: usize = 256;

/// The sessions a back-channel logout token names (`sub`, `sid`, or both: then those that match
/// both), of users of `issuer`.
#[derive(Debug, Clone, Copy)]
pub struct LogoutTarget<'a> {
    /// The tenant that logged the user in (the token's `iss`, checked to be this tenant's).
    pub issuer: &'a str,
    /// All of this user's sessions...
    pub sub: Option<&'a str>,
    /// ...or the ones whose ID token carried this `sid`.
    pub sid: Option<&'a str>,
}

/// Called once per successful login, after the ID token and userinfo were validated.
///
/// [`login`](Self::login) returns the id your app knows this user by: it is stored in the session
/// and handed back by the [`AuthUser`] extractor. An error fails the login (503 page, no session).
///
/// Each login also gets a [`NewSession`] with a random id. A backend that records it (as this app's SQLite
/// backend does) can revoke sessions server-side: [`session_is_active`](Self::session_is_active)
/// is asked once per request that needs the user, and [`logout`](Self::logout) ends it, so a
/// session cookie copied before logout is worthless after it. The defaults keep no record: the
/// session then lives as long as its encrypted cookie.
///
/// ```
/// use auth0_actix::auth0::{Auth0Backend, Auth0Profile, BackendError, NewSession};
/// use futures_util::future::LocalBoxFuture;
///
/// /// Every Auth0 user is welcome and known by their `sub`.
/// struct BySubject;
///
/// impl Auth0Backend for BySubject {
///     fn login<'a>(
///         &'a self,
///         profile: &'a Auth0Profile,
///         _session: &'a NewSession,
///     ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
///         Box::pin(async move { Ok(profile.sub.clone()) })
///     }
/// }
/// ```
pub trait Auth0Backend: Send + Sync + 'static {
    /// Records a validated login and returns the app's id for this user.
    /// `session.id` names this login's session (see [`session_is_active`](Self::session_is_active)).
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
        session: &'a NewSession,
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

    /// The session `user.session_id` was used at `at` (Unix seconds). Called at most once a
    /// minute per session (the granularity of its idle timeout), for a "last seen" time.
    /// Default: nothing to do.
    fn session_seen<'a>(
        &'a self,
        _user: &'a AuthUser,
        _at: i64,
    ) -> LocalBoxFuture<'a, Result<(), BackendError>> {
        Box::pin(ready(Ok(())))
    }

    /// The live sessions a back-channel logout names, which the module then ends (each through
    /// [`logout`](Self::logout), its refresh token revoked first). `None`: this backend keeps
    /// no sessions to look up (the default), and back-channel logout answers 501.
    fn sessions_to_log_out<'a>(
        &'a self,
        _target: &'a LogoutTarget<'a>,
    ) -> LocalBoxFuture<'a, Result<Option<Vec<AuthUser>>, BackendError>> {
        Box::pin(ready(Ok(None)))
    }

    /// Remembers a logout token (by issuer and `jti`) until `token.until`: `Some(true)` the
    /// first time, `Some(false)` for a replay. A backend shared by several instances should keep
    /// it where they all see it (this app: a table). `None` (the default): the module remembers
    /// it in this process only.
    fn remember_logout_token<'a>(
        &'a self,
        _token: &'a SeenLogoutToken<'a>,
    ) -> LocalBoxFuture<'a, Result<Option<bool>, BackendError>> {
        Box::pin(ready(Ok(None)))
    }

    /// Forgets a logout token remembered a moment ago, whose logout then failed: the tenant may
    /// send it again. Default: nothing to do.
    fn forget_logout_token<'a>(
        &'a self,
        _token: &'a SeenLogoutToken<'a>,
    ) -> LocalBoxFuture<'a, Result<(), BackendError>> {
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
        _session: &'a NewSession,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        Box::pin(ready((self.0)(profile)))
    }
}
