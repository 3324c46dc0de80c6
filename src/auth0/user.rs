//! The user as handlers see them, and as the session remembers them. A leaf: it depends on
//! nothing else in the module, so the session, the extractors and the backend can all use it.

use serde::{Deserialize, Serialize};

/// A logged-in user. Pages that take it send anonymous visitors to `/login?next=<this page>`;
/// requests that ask for JSON get `401` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthUser {
    /// The id your [`Auth0Backend`](super::Auth0Backend) returned at login.
    pub id: String,
    /// Auth0's subject identifier.
    pub sub: String,
    /// This login's random session id (for backends that revoke sessions).
    pub session_id: String,
}

/// The user if one is logged in: for pages that show both faces.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);
