//! The one seam between this module and the app: what to do with a user who just logged in.
//! It is the Rust form of django-auth0's `Auth0Backend` (`authenticate(**user_info)`).

use futures_util::future::LocalBoxFuture;

use super::client::Auth0Profile;

pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// Called once per successful login, after the ID token and userinfo were validated.
///
/// Return the id your app knows this user by: it is stored in the session and handed back by the
/// [`AuthUser`](super::AuthUser) extractor. An error fails the login (503 page, no session).
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
///     ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
///         Box::pin(async move { Ok(profile.sub.clone()) })
///     }
/// }
/// ```
pub trait Auth0Backend: Send + Sync + 'static {
    fn login<'a>(
        &'a self,
        profile: &'a Auth0Profile,
    ) -> LocalBoxFuture<'a, Result<String, BackendError>>;
}

/// A backend from a plain function or closure, for apps whose user lookup does not wait on I/O.
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
    ) -> LocalBoxFuture<'a, Result<String, BackendError>> {
        let result = (self.0)(profile);
        Box::pin(async move { result })
    }
}
