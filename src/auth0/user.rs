//! The types that cross the seam: the profile the tenant vouched for (what a backend gets at
//! login) and the user as handlers see them. A leaf: it depends on nothing else in the module, so
//! the session, the extractors, the OIDC client and the backend can all use it.

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
    /// The organization the user logged in to (Auth0 Organizations), from the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<UserOrganization>,
}

/// An Auth0 organization, as the ID token named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserOrganization {
    /// `org_id`.
    pub id: String,
    /// `org_name`, if the token carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The user if one is logged in: for pages that show both faces.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<AuthUser>);

/// The user as the tenant vouched for them: the validated claims of one login.
#[derive(Debug, Clone, Serialize)]
pub struct Auth0Profile {
    /// The issuer that vouched for the user (`iss`, e.g. `https://your-tenant.us.auth0.com/`).
    /// A `sub` is unique only within its issuer (OIDC Core §2): key users by both.
    pub issuer: String,
    /// The subject identifier (`sub`), the same in the ID token and userinfo.
    pub sub: String,
    /// The email address, if the `email` scope was granted.
    pub email: Option<String>,
    /// Whether the tenant verified the email address.
    pub email_verified: Option<bool>,
    /// The full name (for Auth0 database users, their email address).
    pub name: Option<String>,
    /// The nickname (Auth0: the email's local part by default).
    pub nickname: Option<String>,
    /// The picture URL as the tenant sent it: check its scheme before use.
    pub picture: Option<String>,
    /// The given name.
    pub given_name: Option<String>,
    /// The family name.
    pub family_name: Option<String>,
    /// The locale (a BCP 47 language tag).
    pub locale: Option<String>,
    /// Every profile claim, as JSON: the ID token's (its protocol claims, such as `iss`, `aud`
    /// and `nonce`, left out), or with `AUTH0_USERINFO=true` what userinfo returned.
    pub claims: serde_json::Value,
}
