//! Auth0 settings, read from the environment under django-auth0's names (`AUTH0_DOMAIN`,
//! `AUTH0_CLIENT_ID`, `AUTH0_SECRET`, `AUTH0_CALLBACK_URL`, `AUTH0_SUCCESS_URL`) plus
//! `AUTH0_SCOPE` and `AUTH0_AUDIENCE`. A bad value is a [`ConfigError`] that names the variable.

use std::time::Duration;

use url::Url;

use super::env::{duration, flag, non_empty, ConfigError};
pub use super::login_options::{LoginSettings, Organization};
use super::secret::Secret;
use super::urls::{
    check_callback_url, check_success_url, is_loopback, issuer_for_domain, missing_callback,
    parse_callback_url,
};

/// Where a login lands when it carries no `next` and `AUTH0_SUCCESS_URL` is unset.
pub const DEFAULT_SUCCESS_URL: &str = "/profile";
/// The scopes asked for when `AUTH0_SCOPE` is unset: enough for a profile row.
pub const DEFAULT_SCOPE: &str = "openid profile email";
/// Auth0's CDN build of Lock 14, used when `AUTH0_LOCK_URL` is unset.
pub const DEFAULT_LOCK_URL: &str = "https://cdn.auth0.com/js/lock/14.3.0/lock.min.js";
/// How long a user may take between starting a login and coming back to the callback, by
/// default ([`Auth0Settings::login_max_age`]).
pub const DEFAULT_LOGIN_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Everything the Auth0 module needs to know about the tenant and this application.
#[derive(Debug, Clone)]
pub struct Auth0Settings {
    /// `AUTH0_DOMAIN` as given (host name, or a loopback `http://` URL): what Lock is handed.
    pub domain: String,
    /// `https://{AUTH0_DOMAIN}/`: Auth0's issuer form, with the trailing slash.
    pub issuer: Url,
    /// `AUTH0_CLIENT_ID`.
    pub client_id: String,
    /// `AUTH0_SECRET` (or `AUTH0_CLIENT_SECRET`); never given to templates.
    pub client_secret: Secret,
    /// The full URL of our callback, sent as `redirect_uri`; never derived from the Host header.
    pub callback_url: Url,
    /// A local path or a URL on this app's origin.
    pub success_url: String,
    /// `AUTH0_SCOPE`: space-separated, always with `openid`.
    pub scope: String,
    /// `AUTH0_AUDIENCE`: an API to get an access token for.
    pub audience: Option<String>,
    /// How long a user may take between starting a login and coming back to the callback.
    pub login_max_age: Duration,
    /// The Lock widget's script (`AUTH0_LOCK_URL`, default: Auth0's CDN build of Lock 14).
    pub lock_url: String,
    /// How long a login lasts (absolute and idle limits).
    pub session: SessionLifetime,
    /// Where `POST /logout` sends the browser (`AUTH0_LOGOUT`, `AUTH0_FEDERATED_LOGOUT`).
    pub logout: LogoutSettings,
    /// How logins are shaped (`AUTH0_CONNECTIONS`, `AUTH0_ORGANIZATION`, `AUTH0_MAX_AGE`).
    pub login: LoginSettings,
}

/// Which logout `POST /logout` uses at the tenant (`AUTH0_LOGOUT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogoutMode {
    /// OpenID Connect RP-Initiated Logout when discovery lists `end_session_endpoint` (Auth0 does
    /// with "RP-Initiated Logout End Session Endpoint Discovery" on), else `/v2/logout`.
    #[default]
    Auto,
    /// RP-Initiated Logout 1.0 always (the discovered endpoint, else Auth0's `/oidc/logout`).
    Oidc,
    /// Auth0's `/v2/logout` always.
    V2,
}

/// How the app logs out at the tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogoutSettings {
    /// `AUTH0_LOGOUT`: `oidc`, `v2` or `auto` (default).
    pub mode: LogoutMode,
    /// `AUTH0_FEDERATED_LOGOUT=true`: also end the session at the upstream identity provider
    /// (Auth0's `federated`).
    pub federated: bool,
}

impl LogoutSettings {
    /// Reads `AUTH0_LOGOUT` and `AUTH0_FEDERATED_LOGOUT`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mode = match non_empty(lookup, "AUTH0_LOGOUT").as_deref() {
            None | Some("auto") => LogoutMode::Auto,
            Some("oidc") => LogoutMode::Oidc,
            Some("v2") => LogoutMode::V2,
            Some(other) => {
                return Err(ConfigError::new(
                    "AUTH0_LOGOUT",
                    format!("expects `auto`, `oidc` or `v2`, got `{other}`"),
                ))
            }
        };
        let federated = flag(lookup, "AUTH0_FEDERATED_LOGOUT")?;
        Ok(Self { mode, federated })
    }
}

/// The `AUTH0_*` values that may be set whatever the tenant: callback, success URL, scope and
/// audience. Parsed once, then completed by a real tenant's values or by the local dev tenant's.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// `AUTH0_CALLBACK_URL` (required with a real tenant).
    pub callback_url: Option<Url>,
    /// `AUTH0_SUCCESS_URL`: where logins land without `next`.
    pub success_url: String,
    /// `AUTH0_SCOPE`: space-separated, always with `openid`.
    pub scope: String,
    /// `AUTH0_AUDIENCE`: an API to get an access token for.
    pub audience: Option<String>,
    /// `AUTH0_LOCK_URL`: the Lock widget's script.
    pub lock_url: String,
    /// `SESSION_ABSOLUTE_DURATION` and `SESSION_ROLLING_DURATION`.
    pub session: SessionLifetime,
    /// `AUTH0_LOGOUT` and `AUTH0_FEDERATED_LOGOUT`.
    pub logout: LogoutSettings,
    /// `AUTH0_CONNECTIONS`, `AUTH0_ORGANIZATION` and `AUTH0_MAX_AGE`.
    pub login: LoginSettings,
}

/// A real tenant's identity: `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_SECRET`.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    /// `AUTH0_DOMAIN` as given.
    pub domain: String,
    /// The issuer derived from it: `https://{domain}/`.
    pub issuer: Url,
    /// `AUTH0_CLIENT_ID`.
    pub client_id: String,
    /// `AUTH0_SECRET` (or `AUTH0_CLIENT_SECRET`); never given to templates.
    pub client_secret: Secret,
}

impl Auth0Settings {
    /// Joins a tenant's identity and the app-side values into complete settings.
    ///
    /// `default_callback` is used when `AUTH0_CALLBACK_URL` is unset, which is only allowed with
    /// the local dev tenant (the caller passes `None` for a real tenant).
    pub fn new(
        tenant: TenantSettings,
        app: AppSettings,
        default_callback: Option<Url>,
    ) -> Result<Self, ConfigError> {
        let callback_url = app
            .callback_url
            .or(default_callback)
            .ok_or_else(missing_callback)?;
        check_callback_url(
            &callback_url,
            &[
                super::LOGIN_PATH,
                super::LOGOUT_PATH,
                super::SIGNUP_PATH,
                super::BACKCHANNEL_LOGOUT_PATH,
            ],
        )?;
        let success_url = check_success_url(&app.success_url, Some(&callback_url))?;
        Ok(Self {
            domain: tenant.domain,
            issuer: tenant.issuer,
            client_id: tenant.client_id,
            client_secret: tenant.client_secret,
            callback_url,
            success_url,
            scope: app.scope,
            audience: app.audience,
            login_max_age: DEFAULT_LOGIN_MAX_AGE,
            lock_url: app.lock_url,
            session: app.session,
            logout: app.logout,
            login: app.login,
        })
    }

    /// The app's own origin with a `/` path: Auth0's `returnTo` after logout, and the home link.
    pub fn home_url(&self) -> Url {
        let mut home = self.callback_url.clone();
        home.set_path("/");
        home.set_query(None);
        home.set_fragment(None);
        home
    }

    /// The path the callback handler is mounted at, taken from `AUTH0_CALLBACK_URL`.
    pub fn callback_path(&self) -> &str {
        self.callback_url.path()
    }

    /// Whether the app is served over https, so cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.callback_url.scheme() == "https"
    }

    /// Auth0's logout endpoint, with the client and where to come back to.
    /// <https://auth0.com/docs/api/authentication#logout>
    pub fn logout_url(&self) -> Url {
        let mut url = self.issuer.join("v2/logout").expect("issuer is a base URL");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("returnTo", self.home_url().as_str());
        if self.logout.federated {
            url.query_pairs_mut().append_key_only("federated");
        }
        url
    }

    /// An OpenID Connect RP-Initiated Logout 1.0 request to `endpoint`: the client, where to come
    /// back (an Allowed Logout URL), and `logout_hint` with the session's `sid` when the ID token
    /// had one. <https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout>
    pub fn oidc_logout_url(&self, endpoint: &Url, sid: Option<&str>) -> Url {
        let mut url = endpoint.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("post_logout_redirect_uri", self.home_url().as_str());
        if let Some(sid) = sid {
            url.query_pairs_mut().append_pair("logout_hint", sid);
        }
        if self.logout.federated {
            url.query_pairs_mut().append_key_only("federated");
        }
        url
    }
}

impl Auth0Settings {
    /// Reads every `AUTH0_*` variable from the process environment, for a real tenant.
    /// (The sample app's own configuration adds the local dev tenant on top.)
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let tenant = TenantSettings::from_lookup(lookup)?.ok_or_else(|| {
            ConfigError::new(
                "AUTH0_DOMAIN",
                "is required: your tenant's domain, e.g. `your-tenant.us.auth0.com`",
            )
        })?;
        Self::new(tenant, AppSettings::from_lookup(lookup)?, None)
    }
}

impl TenantSettings {
    /// Reads `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_SECRET` (or `AUTH0_CLIENT_SECRET`).
    /// `Ok(None)` only when no tenant setting is set at all: the caller may then use a local
    /// tenant. A blank `AUTH0_DOMAIN` beside other tenant settings is an error naming it.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(domain) = non_empty(lookup, "AUTH0_DOMAIN") else {
            return match AppSettings::tenant_setting_present(lookup) {
                None => Ok(None),
                Some(name) => Err(ConfigError::new(
                    "AUTH0_DOMAIN",
                    format!(
                        "is required because {name} is set: your tenant's domain, e.g. \
                         `your-tenant.us.auth0.com` (leave every AUTH0_* tenant setting unset \
                         for the local dev tenant)"
                    ),
                )),
            };
        };
        let issuer = issuer_for_domain(&domain)?;
        let client_id = non_empty(lookup, "AUTH0_CLIENT_ID").ok_or_else(|| {
            ConfigError::new(
                "AUTH0_CLIENT_ID",
                "is required when AUTH0_DOMAIN is set: the Client ID of your Regular Web \
                 Application (Auth0 dashboard > Applications > Settings)",
            )
        })?;
        let client_secret = non_empty(lookup, "AUTH0_SECRET")
            .or_else(|| non_empty(lookup, "AUTH0_CLIENT_SECRET"))
            .ok_or_else(|| {
                ConfigError::new(
                    "AUTH0_SECRET",
                    "is required when AUTH0_DOMAIN is set (AUTH0_CLIENT_SECRET is accepted too): \
                     the Client Secret of your application",
                )
            })?;
        Ok(Some(Self {
            domain,
            issuer,
            client_id,
            client_secret: Secret::new(client_secret),
        }))
    }
}

impl AppSettings {
    /// Reads `AUTH0_CALLBACK_URL`, `AUTH0_SUCCESS_URL`, `AUTH0_SCOPE`, `AUTH0_AUDIENCE`,
    /// `AUTH0_LOCK_URL`, `SESSION_ABSOLUTE_DURATION` and `SESSION_ROLLING_DURATION`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let callback_url = non_empty(lookup, "AUTH0_CALLBACK_URL")
            .map(|raw| parse_callback_url(&raw))
            .transpose()?;
        let success_url =
            non_empty(lookup, "AUTH0_SUCCESS_URL").unwrap_or_else(|| DEFAULT_SUCCESS_URL.into());
        let scope = non_empty(lookup, "AUTH0_SCOPE").unwrap_or_else(|| DEFAULT_SCOPE.into());
        if !scope.split_whitespace().any(|s| s == "openid") {
            return Err(ConfigError::new(
                "AUTH0_SCOPE",
                format!(
                    "must contain `openid` (space-separated scopes, e.g. `{DEFAULT_SCOPE}`), got `{scope}`"
                ),
            ));
        }
        let audience = non_empty(lookup, "AUTH0_AUDIENCE");
        let success_url = check_success_url(&success_url, callback_url.as_ref())?;
        let lock_url =
            non_empty(lookup, "AUTH0_LOCK_URL").unwrap_or_else(|| DEFAULT_LOCK_URL.into());
        // Lock receives the user's password: its script must come over TLS (or from this machine).
        if !Url::parse(&lock_url)
            .is_ok_and(|u| u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)))
        {
            return Err(ConfigError::new(
                "AUTH0_LOCK_URL",
                format!(
                    "expects the full https URL of Lock's script (http only on a loopback host), \
                     got `{lock_url}`"
                ),
            ));
        }
        let absolute = duration(lookup, "SESSION_ABSOLUTE_DURATION")?
            .unwrap_or(SessionLifetime::DEFAULT.absolute);
        let rolling = duration(lookup, "SESSION_ROLLING_DURATION")?;
        let session = SessionLifetime {
            absolute,
            // Unset: the default, but never longer than the absolute lifetime.
            rolling: rolling.unwrap_or(SessionLifetime::DEFAULT.rolling.min(absolute)),
        };
        if session.rolling > session.absolute {
            return Err(ConfigError::new(
                "SESSION_ROLLING_DURATION",
                format!(
                    "must not be longer than SESSION_ABSOLUTE_DURATION ({} s), got {} s",
                    session.absolute.as_secs(),
                    session.rolling.as_secs()
                ),
            ));
        }
        Ok(Self {
            callback_url,
            success_url,
            scope,
            audience,
            lock_url,
            session,
            logout: LogoutSettings::from_lookup(lookup)?,
            login: LoginSettings::from_lookup(lookup)?,
        })
    }

    /// The `AUTH0_*` settings that only make sense with a real tenant, by the name of the first
    /// one set: with any of them, a blank `AUTH0_DOMAIN` is a mistake, not a request for a
    /// local tenant.
    pub fn tenant_setting_present(lookup: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
        [
            "AUTH0_CLIENT_ID",
            "AUTH0_SECRET",
            "AUTH0_CLIENT_SECRET",
            "AUTH0_CALLBACK_URL",
            "AUTH0_AUDIENCE",
        ]
        .into_iter()
        .find(|name| non_empty(lookup, name).is_some())
    }
}

/// How long a login lasts, enforced by the module for every backend: the cookie carries the
/// login time and the last activity, and a session past either limit is anonymous.
/// (OWASP Session Management: absolute and idle timeouts.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    /// `SESSION_ABSOLUTE_DURATION`: the longest a login lasts, however active (default 7 days).
    pub absolute: Duration,
    /// `SESSION_ROLLING_DURATION`: the longest a session may sit unused (default 1 day).
    pub rolling: Duration,
}

impl SessionLifetime {
    /// Seven days at most, one day idle.
    pub const DEFAULT: Self = Self {
        absolute: Duration::from_secs(7 * 24 * 3600),
        rolling: Duration::from_secs(24 * 3600),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth0_logout_and_federated_logout_take_only_their_words() {
        let read = |vars: &'static [(&'static str, &'static str)]| {
            LogoutSettings::from_lookup(&|name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(read(&[]).unwrap(), LogoutSettings::default());
        let oidc = read(&[("AUTH0_LOGOUT", "oidc"), ("AUTH0_FEDERATED_LOGOUT", "true")]).unwrap();
        assert_eq!((oidc.mode, oidc.federated), (LogoutMode::Oidc, true));
        assert_eq!(
            read(&[("AUTH0_LOGOUT", "v2")]).unwrap().mode,
            LogoutMode::V2
        );
        assert_eq!(
            read(&[("AUTH0_LOGOUT", "rp")]).unwrap_err().variable,
            "AUTH0_LOGOUT"
        );
        assert_eq!(
            read(&[("AUTH0_FEDERATED_LOGOUT", "yes")])
                .unwrap_err()
                .variable,
            "AUTH0_FEDERATED_LOGOUT"
        );
    }

    #[test]
    fn the_logout_url_names_the_client_and_the_home_page() {
        let settings = Auth0Settings::new(
            TenantSettings {
                domain: "t.auth0.com".into(),
                issuer: issuer_for_domain("t.auth0.com").unwrap(),
                client_id: "abc".into(),
                client_secret: Secret::new("s"),
            },
            AppSettings {
                callback_url: Some(Url::parse("https://app.example/auth/callback").unwrap()),
                success_url: "/profile".into(),
                scope: DEFAULT_SCOPE.into(),
                audience: None,
                lock_url: DEFAULT_LOCK_URL.into(),
                session: SessionLifetime::DEFAULT,
                logout: Default::default(),
                login: Default::default(),
            },
            None,
        )
        .unwrap();
        assert_eq!(
            settings.logout_url().as_str(),
            "https://t.auth0.com/v2/logout?client_id=abc&returnTo=https%3A%2F%2Fapp.example%2F"
        );
        assert_eq!(settings.callback_path(), "/auth/callback");
    }
    use crate::auth0::env::lookup;

    #[test]
    fn a_lock_script_over_plain_http_is_refused_off_loopback() {
        let vars = [("AUTH0_LOCK_URL", "http://cdn.example/lock.js")];
        let err = AppSettings::from_lookup(&lookup(&vars)).unwrap_err();
        assert_eq!(err.variable, "AUTH0_LOCK_URL");
        let vars = [("AUTH0_LOCK_URL", "http://127.0.0.1:9/lock.js")];
        assert!(AppSettings::from_lookup(&lookup(&vars)).is_ok());
    }
}
