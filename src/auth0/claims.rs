//! The claims of a login: the ID token's and userinfo's types (with Auth0's extra claims kept),
//! the checks openidconnect leaves to the relying party, and the profile made from both.

use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::AdditionalClaims;
use serde::{Deserialize, Serialize};

use super::error::Auth0Error;
use super::user::Auth0Profile;

/// Claims beyond the standard ones (Auth0 custom claims, `nbf`, `sid`...), kept as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    /// Every claim openidconnect does not model itself, by name.
    pub other: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

/// The claims of an ID token, with the extra claims kept.
pub type IdTokenClaims = openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>;
/// A compact-serialised ID token as the token endpoint returns it.
pub type IdToken = openidconnect::IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
/// The claims `/userinfo` returns, with the extra claims kept.
pub type UserInfoClaims = openidconnect::UserInfoClaims<ExtraClaims, CoreGenderClaim>;

/// The checks openidconnect leaves to us: non-empty `sub`, `azp` (OIDC Core §3.1.3.7 items 4-5)
/// and `nbf` (RFC 7519 §4.1.5).
pub(super) fn check_extra_claims(
    claims: &IdTokenClaims,
    client_id: &str,
    now: i64,
    leeway_secs: i64,
) -> Result<(), String> {
    if claims.subject().trim().is_empty() {
        return Err("empty `sub`".into());
    }
    match claims.authorized_party() {
        Some(azp) if azp.as_str() != client_id => {
            return Err(format!("`azp` is `{}`, not this client", azp.as_str()))
        }
        None if claims.audiences().len() > 1 => return Err("several audiences and no `azp`".into()),
        _ => {}
    }
    if let Some(nbf) = claims.additional_claims().other.get("nbf") {
        let nbf = nbf.as_i64().ok_or("`nbf` is not a number")?;
        if nbf > now + leeway_secs {
            return Err(format!("not valid before {nbf}"));
        }
    }
    Ok(())
}

/// The profile of a login: userinfo's claims when it was called (and answered), else the
/// verified ID token's.
pub(super) fn profile_from(
    id_token: &IdTokenClaims,
    userinfo: Option<&UserInfoClaims>,
) -> Result<Auth0Profile, Auth0Error> {
    let t = id_token;
    let claims = match userinfo {
        Some(u) => serde_json::to_value(u)
            .map_err(|e| Auth0Error::InvalidUserInfo(format!("claims do not serialise: {e}")))?,
        None => id_token_profile_claims(t)?,
    };
    let name = localized(userinfo.and_then(|u| u.name()), t.name());
    let nickname = localized(userinfo.and_then(|u| u.nickname()), t.nickname());
    let given_name = localized(userinfo.and_then(|u| u.given_name()), t.given_name());
    let family_name = localized(userinfo.and_then(|u| u.family_name()), t.family_name());
    let picture = localized(userinfo.and_then(|u| u.picture()), t.picture());
    Ok(Auth0Profile {
        issuer: t.issuer().to_string(),
        sub: t.subject().to_string(),
        email: userinfo
            .and_then(|u| u.email())
            .or(t.email())
            .map(|e| e.to_string()),
        email_verified: userinfo
            .and_then(|u| u.email_verified())
            .or(t.email_verified()),
        name,
        nickname,
        picture,
        given_name,
        family_name,
        locale: userinfo
            .and_then(|u| u.locale())
            .or(t.locale())
            .map(|l| l.to_string()),
        claims,
    })
}

/// The ID token's claims as a profile: without its protocol claims.
fn id_token_profile_claims(claims: &IdTokenClaims) -> Result<serde_json::Value, Auth0Error> {
    const PROTOCOL: [&str; 12] = [
        "iss",
        "aud",
        "exp",
        "iat",
        "nbf",
        "nonce",
        "at_hash",
        "c_hash",
        "azp",
        "auth_time",
        "sid",
        "jti",
    ];
    let mut value = serde_json::to_value(claims)
        .map_err(|e| Auth0Error::InvalidIdToken(format!("claims do not serialise: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        object.retain(|name, _| !PROTOCOL.contains(&name.as_str()));
    }
    Ok(value)
}

/// A claim from userinfo, else from the ID token; the untagged (default language) value.
fn localized<T: std::ops::Deref<Target = String>>(
    userinfo: Option<&openidconnect::LocalizedClaim<T>>,
    id_token: Option<&openidconnect::LocalizedClaim<T>>,
) -> Option<String> {
    userinfo
        .and_then(|c| c.get(None))
        .or_else(|| id_token.and_then(|c| c.get(None)))
        .map(|v| v.to_string())
}
