//! How a login may be shaped, as Auth0's own SDKs allow: sign-up (`screen_hint`), hints
//! (`login_hint`, `connection`), `prompt=login`, Organizations (`organization`, invitations) and
//! `max_age`. Each option is validated here (allowlisted or checked for shape), never passed
//! through blindly; and what a login asked for is checked again in its ID token
//! (`check_login_claims`): `auth_time` within `max_age`, the organization the login was for.

use std::time::Duration;

use serde::Deserialize;

use super::env::{flag, non_empty, ConfigError};
use super::transaction::PendingLogin;

/// The longest `AUTH0_MAX_AGE` or `max_age` accepted: a year.
pub const MAX_MAX_AGE_SECS: u64 = 365 * 24 * 3600;
/// The longest `login_hint` (an email address, RFC 5321's limit).
pub const MAX_LOGIN_HINT: usize = 254;
/// The longest organization id kept (`org_` and letters or digits).
pub const MAX_ORG_ID: usize = 64;
/// The longest organization name kept (Auth0's limit).
pub const MAX_ORG_NAME: usize = 50;

/// `AUTH0_ORGANIZATION`: an organization's id (`org_...`) or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Organization {
    /// `org_` and letters or digits: the ID token's `org_id` must equal it.
    Id(String),
    /// A name (lowercase letters, digits, `-` and `_`): the ID token's `org_name` must equal
    /// it, compared case-insensitively, as Auth0 documents.
    Name(String),
}

impl Organization {
    /// An organization id or name, if it has the shape Auth0 gives them.
    pub fn parse(value: &str) -> Option<Self> {
        let plain = |s: &str, extra: &[char]| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        };
        if let Some(rest) = value.strip_prefix("org_") {
            return (plain(rest, &[]) && value.len() <= MAX_ORG_ID)
                .then(|| Self::Id(value.to_owned()));
        }
        (plain(value, &['-', '_']) && value.len() <= MAX_ORG_NAME)
            .then(|| Self::Name(value.to_ascii_lowercase()))
    }

    /// The value sent as `organization`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Id(id) | Self::Name(id) => id,
        }
    }
}

/// The login settings: `AUTH0_CONNECTIONS`, `AUTH0_ORGANIZATION`, `AUTH0_MAX_AGE`,
/// `AUTH0_USERINFO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginSettings {
    /// The connections `/login?connection=` may name (none: the parameter is refused).
    pub connections: Vec<String>,
    /// Sent with every login, and then required in the ID token.
    pub organization: Option<Organization>,
    /// Sent with every login as `max_age`, and then `auth_time` must be within it.
    pub max_age: Option<Duration>,
    /// Whether the callback also calls `/userinfo` for the profile (its `sub` checked against
    /// the ID token's). Off by default: the verified ID token carries the same profile claims, as
    /// Auth0's own SDKs use them, and the call costs a round trip to the tenant per login and is
    /// rate-limited per user.
    pub userinfo: bool,
}

impl LoginSettings {
    /// Reads `AUTH0_CONNECTIONS`, `AUTH0_ORGANIZATION`, `AUTH0_MAX_AGE` and `AUTH0_USERINFO`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let connections = match non_empty(lookup, "AUTH0_CONNECTIONS") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    is_connection_name(c).then(|| c.to_owned()).ok_or_else(|| {
                        ConfigError::new(
                            "AUTH0_CONNECTIONS",
                            format!(
                                "expects comma-separated connection names (letters, digits and \
                                 `-`, e.g. `Username-Password-Authentication,google-oauth2`), \
                                 got `{c}`"
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let organization = match non_empty(lookup, "AUTH0_ORGANIZATION") {
            None => None,
            Some(raw) => Some(Organization::parse(&raw).ok_or_else(|| {
                ConfigError::new(
                    "AUTH0_ORGANIZATION",
                    format!(
                        "expects an organization id (`org_` and letters or digits) or name \
                         (letters, digits, `-`, `_`), got `{raw}`"
                    ),
                )
            })?),
        };
        let max_age = match non_empty(lookup, "AUTH0_MAX_AGE") {
            None => None,
            Some(raw) => Some(
                raw.parse::<u64>()
                    .ok()
                    .filter(|secs| *secs <= MAX_MAX_AGE_SECS)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        ConfigError::new(
                            "AUTH0_MAX_AGE",
                            format!(
                                "expects the most seconds since the user last entered their \
                                 credentials (0 to {MAX_MAX_AGE_SECS}), got `{raw}`"
                            ),
                        )
                    })?,
            ),
        };
        let userinfo = flag(lookup, "AUTH0_USERINFO")?;
        Ok(Self {
            connections,
            organization,
            max_age,
            userinfo,
        })
    }
}

/// An Auth0 connection's name: letters, digits and `-` (Auth0's rule), at most 128.
fn is_connection_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-')
}

/// The query of `GET /login` (and `/signup`), as sent.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after the login (a local path, see `redirect.rs`).
    pub next: Option<String>,
    /// An email address to prefill.
    pub login_hint: Option<String>,
    /// A connection from `AUTH0_CONNECTIONS`.
    pub connection: Option<String>,
    /// Only `login`: ask for the credentials again.
    pub prompt: Option<String>,
    /// The most seconds since the user entered their credentials.
    pub max_age: Option<String>,
    /// An Organizations invitation (from the link Auth0 sends), with its organization.
    pub invitation: Option<String>,
    /// The invitation's organization id.
    pub organization: Option<String>,
    /// The invitation's organization name (shown by Auth0; not trusted here).
    pub organization_name: Option<String>,
}

/// Why a login request was refused: the parameter, and what it expects (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLoginParameter {
    /// The query parameter.
    pub parameter: &'static str,
    /// What it expects.
    pub expects: &'static str,
}

/// A login's extra parameters for `/authorize`, validated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoginOptions {
    /// `signup` for `/signup`.
    pub screen_hint: Option<&'static str>,
    /// `login_hint`: an email address to prefill.
    pub login_hint: Option<String>,
    /// `connection`: one of `AUTH0_CONNECTIONS`.
    pub connection: Option<String>,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `invitation`: an Organizations invitation id.
    pub invitation: Option<String>,
    /// The `organization` sent: the invitation's, else `AUTH0_ORGANIZATION`.
    pub organization: Option<String>,
}

impl LoginQuery {
    /// The validated options, and the login's expectations set on `login` (its `max_age` and
    /// organization, from the settings and the query).
    pub fn options(
        &self,
        settings: &LoginSettings,
        login: &mut PendingLogin,
    ) -> Result<LoginOptions, BadLoginParameter> {
        let bad = |parameter, expects| BadLoginParameter { parameter, expects };
        let mut options = LoginOptions::default();
        if let Some(hint) = self.login_hint.as_deref().filter(|h| !h.is_empty()) {
            if !is_email_shaped(hint) {
                return Err(bad(
                    "login_hint",
                    "an email address of at most 254 characters",
                ));
            }
            options.login_hint = Some(hint.to_owned());
        }
        if let Some(connection) = self.connection.as_deref().filter(|c| !c.is_empty()) {
            if !settings.connections.iter().any(|c| c == connection) {
                return Err(bad(
                    "connection",
                    "one of the connections this app allows (AUTH0_CONNECTIONS)",
                ));
            }
            options.connection = Some(connection.to_owned());
        }
        match self.prompt.as_deref() {
            None | Some("") => {}
            Some("login") => options.prompt_login = true,
            Some(_) => return Err(bad("prompt", "`login`, or nothing")),
        }
        let asked_max_age = match self.max_age.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<u64>()
                    .ok()
                    .filter(|secs| *secs <= MAX_MAX_AGE_SECS)
                    .ok_or_else(|| bad("max_age", "a number of seconds up to a year"))?,
            ),
        };
        // The stricter of the configured and the asked-for age.
        login.max_age = match (settings.max_age.map(|d| d.as_secs()), asked_max_age) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        set_expected_organization(login, settings);
        options.organization = settings
            .organization
            .as_ref()
            .map(|o| o.as_str().to_owned());
        match (self.invitation.as_deref(), self.organization.as_deref()) {
            (None, None) => {}
            (Some(invitation), Some(organization)) => {
                if !is_invitation_id(invitation) {
                    return Err(bad("invitation", "an invitation id from Auth0's link"));
                }
                let Some(Organization::Id(org_id)) = Organization::parse(organization) else {
                    return Err(bad("organization", "an organization id (`org_...`)"));
                };
                if let Some(Organization::Id(configured)) = &settings.organization {
                    if *configured != org_id {
                        return Err(bad("organization", "this app's organization"));
                    }
                }
                login.org_id = Some(org_id.clone());
                options.organization = Some(org_id);
                options.invitation = Some(invitation.to_owned());
            }
            _ => {
                return Err(bad(
                    "invitation",
                    "both `invitation` and `organization`, as in Auth0's invitation link",
                ))
            }
        }
        Ok(options)
    }
}

/// Sets what the ID token must say about the organization: `AUTH0_ORGANIZATION`'s id or name.
pub(crate) fn set_expected_organization(login: &mut PendingLogin, settings: &LoginSettings) {
    match &settings.organization {
        Some(Organization::Id(id)) => login.org_id = Some(id.clone()),
        Some(Organization::Name(name)) => login.org_name = Some(name.clone()),
        None => {}
    }
}

/// An email address's rough shape: one `@` with text on both sides, no spaces or controls, at
/// most [`MAX_LOGIN_HINT`] characters.
pub fn is_email_shaped(value: &str) -> bool {
    value.len() <= MAX_LOGIN_HINT
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An Auth0 invitation id: letters and digits (and `-`, `_`), at most 128.
fn is_invitation_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What a login asked for, checked in its verified ID token's claims: `auth_time` (required
/// when `max_age` was sent, OIDC Core §3.1.2.1) within `max_age` plus the clock leeway and never
/// in the future, and the organization (`org_id` equal, or `org_name` equal ignoring case).
pub(crate) fn check_login_claims(
    login: &PendingLogin,
    auth_time: Option<i64>,
    org_id: Option<&str>,
    org_name: Option<&str>,
    now: i64,
    leeway_secs: i64,
) -> Result<(), String> {
    // A future `auth_time` would make any later "how recent" check pass for as long.
    if auth_time.is_some_and(|at| at > now + leeway_secs) {
        return Err("`auth_time` is in the future".into());
    }
    if let Some(max_age) = login.max_age {
        let auth_time = auth_time.ok_or("no `auth_time`, though `max_age` was sent")?;
        if auth_time < now - max_age as i64 - leeway_secs {
            return Err(format!(
                "`auth_time` is {}s ago, more than `max_age` ({max_age}s)",
                now - auth_time
            ));
        }
    }
    if let Some(expected) = &login.org_id {
        if org_id != Some(expected.as_str()) {
            return Err(format!(
                "`org_id` is {org_id:?}, not the login's organization"
            ));
        }
    }
    if let Some(expected) = &login.org_name {
        if !org_name.is_some_and(|name| name.eq_ignore_ascii_case(expected)) {
            return Err(format!(
                "`org_name` is {org_name:?}, not the login's organization"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<LoginSettings, ConfigError> {
        LoginSettings::from_lookup(&|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn settings_are_checked_and_name_their_variable() {
        let s = settings(&[
            (
                "AUTH0_CONNECTIONS",
                "google-oauth2, Username-Password-Authentication",
            ),
            ("AUTH0_ORGANIZATION", "org_abc123"),
            ("AUTH0_MAX_AGE", "300"),
        ])
        .unwrap();
        assert_eq!(s.connections.len(), 2);
        assert_eq!(s.organization, Some(Organization::Id("org_abc123".into())));
        assert_eq!(s.max_age, Some(Duration::from_secs(300)));
        assert!(!s.userinfo, "off unless asked for");
        assert!(settings(&[("AUTH0_USERINFO", "true")]).unwrap().userinfo);
        assert!(!settings(&[("AUTH0_USERINFO", "false")]).unwrap().userinfo);
        assert_eq!(
            settings(&[("AUTH0_ORGANIZATION", "Acme")])
                .unwrap()
                .organization,
            Some(Organization::Name("acme".into()))
        );
        for (var, value) in [
            ("AUTH0_CONNECTIONS", "a b"),
            ("AUTH0_CONNECTIONS", "x&connection=y"),
            ("AUTH0_ORGANIZATION", "org_a b"),
            ("AUTH0_ORGANIZATION", "a/b"),
            ("AUTH0_MAX_AGE", "-1"),
            ("AUTH0_MAX_AGE", "99999999999"),
            ("AUTH0_USERINFO", "yes"),
        ] {
            assert_eq!(
                settings(&[(var, value)]).unwrap_err().variable,
                var,
                "{value}"
            );
        }
    }

    #[test]
    fn hints_are_checked_for_shape_and_length() {
        assert!(is_email_shaped("ada@example.com"));
        for bad in ["ada", "@x", "a@", "a b@c", "a@b@c", "a\n@b"] {
            assert!(!is_email_shaped(bad), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(!is_email_shaped(&long));
    }

    #[test]
    fn claims_must_match_what_the_login_asked_for() {
        let mut login = PendingLogin::new(None);
        login.max_age = Some(60);
        login.org_name = Some("acme".into());
        let now = 10_000;
        let ok = check_login_claims(&login, Some(now - 30), None, Some("ACME"), now, 60);
        assert!(ok.is_ok(), "{ok:?}");
        assert!(check_login_claims(&login, None, None, Some("acme"), now, 60).is_err());
        assert!(check_login_claims(&login, Some(now - 200), None, Some("acme"), now, 60).is_err());
        assert!(check_login_claims(&login, Some(now), None, Some("globex"), now, 60).is_err());
        assert!(check_login_claims(&login, Some(now), None, None, now, 60).is_err());
        // Never in the future, max_age or not.
        let mut plain = PendingLogin::new(None);
        assert!(check_login_claims(&plain, Some(now + 3_600), None, None, now, 60).is_err());
        assert!(check_login_claims(&plain, None, None, None, now, 60).is_ok());
        plain.max_age = None;
        login.org_name = None;
        login.org_id = Some("org_1".into());
        assert!(check_login_claims(&login, Some(now), Some("org_1"), None, now, 60).is_ok());
        assert!(check_login_claims(&login, Some(now), Some("org_2"), None, now, 60).is_err());
        assert!(check_login_claims(&login, Some(now), None, None, now, 60).is_err());
    }
}
