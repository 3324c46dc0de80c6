//! Auth0 settings, read from the environment under django-auth0's names (`AUTH0_DOMAIN`,
//! `AUTH0_CLIENT_ID`, `AUTH0_SECRET`, `AUTH0_CALLBACK_URL`, `AUTH0_SUCCESS_URL`) plus
//! `AUTH0_SCOPE` and `AUTH0_AUDIENCE`. A bad value is a [`ConfigError`] that names the variable.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use url::Url;

/// Where a login lands when it carries no `next` and `AUTH0_SUCCESS_URL` is unset.
pub const DEFAULT_SUCCESS_URL: &str = "/profile";
/// The scopes asked for when `AUTH0_SCOPE` is unset: enough for a profile row.
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// A configuration value that is missing or malformed: which variable, and what it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name, e.g. `AUTH0_DOMAIN`.
    pub variable: &'static str,
    /// What it expects (and, for non-secrets, what it got).
    pub expected: String,
}

impl ConfigError {
    /// An error about `variable`.
    pub fn new(variable: &'static str, expected: impl Into<String>) -> Self {
        Self {
            variable,
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.expected)
    }
}

impl std::error::Error for ConfigError {}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that sends it (the token request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

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
        check_callback_url(&callback_url, &[super::LOGIN_PATH, super::LOGOUT_PATH])?;
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
            login_max_age: Duration::from_secs(super::transaction::MAX_AGE_SECS as u64),
            lock_url: app.lock_url,
            session: app.session,
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

    /// Where Lock fetches the client's settings and language files: the tenant itself, when it
    /// is not an `*.auth0.com` host (a custom domain or a local tenant); Lock's default otherwise.
    pub fn lock_configuration_base_url(&self) -> Option<String> {
        let host = self.issuer.host_str().unwrap_or_default();
        let on_auth0 = host == "auth0.com" || host.ends_with(".auth0.com");
        (!on_auth0).then(|| self.issuer.origin().ascii_serialization())
    }

    /// The Content-Security-Policy of a page that embeds Lock: its script, the tenant (client
    /// settings by JSONP, `/co/authenticate`) and, as Lock injects its styles, inline styles.
    pub fn lock_content_security_policy(&self) -> String {
        let tenant = self.issuer.origin().ascii_serialization();
        let lock = Url::parse(&self.lock_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let config = match self.lock_configuration_base_url() {
            Some(base) => base,
            None => "https://*.auth0.com".to_owned(),
        };
        format!(
            "default-src 'self'; script-src 'self' {lock} {config}; connect-src 'self' {tenant}; \
             img-src 'self' data: https: {tenant}; style-src 'self' 'unsafe-inline'; \
             frame-src {tenant}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
             form-action 'self' {tenant}"
        )
    }

    /// Auth0's logout endpoint, with the client and where to come back to.
    /// <https://auth0.com/docs/api/authentication#logout>
    pub fn logout_url(&self) -> Url {
        let mut url = self.issuer.join("v2/logout").expect("issuer is a base URL");
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("returnTo", self.home_url().as_str());
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
        let lock_url = non_empty(lookup, "AUTH0_LOCK_URL")
            .unwrap_or_else(|| super::lock::DEFAULT_LOCK_URL.into());
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

/// The longest session lifetime accepted: 400 days, the most browsers keep a cookie
/// (RFC 6265bis §5.5).
pub const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(400 * 86_400);

/// A duration variable: whole seconds (`3600`), or a number with `s`, `m`, `h` or `d` (`12h`),
/// from one second to [`MAX_SESSION_LIFETIME`].
fn duration(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = non_empty(lookup, name) else {
        return Ok(None);
    };
    let (number, unit) = match raw.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
        _ => (raw.as_str(), 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && scale > 0)
        .and_then(|n| n.checked_mul(scale))
        .filter(|secs| *secs <= MAX_SESSION_LIFETIME.as_secs())
        .map(|secs| Some(Duration::from_secs(secs)))
        .ok_or_else(|| {
            ConfigError::new(
                name,
                format!(
                    "expects a positive number of seconds, or a number with s, m, h or d \
                     (e.g. `3600`, `30m`, `7d`), at most 400d, got `{raw}`"
                ),
            )
        })
}

/// The variable `name`, trimmed; `None` when unset or blank (an empty line in `.env` is unset).
pub fn non_empty(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `tenant.us.auth0.com` → `https://tenant.us.auth0.com/`. A full `http://` URL is accepted only
/// for loopback hosts (a local tenant); a full `https://` URL is accepted and normalised.
pub fn issuer_for_domain(domain: &str) -> Result<Url, ConfigError> {
    const EXPECTED: &str = "expects your tenant's domain, e.g. `your-tenant.us.auth0.com` \
         (or an http:// URL on 127.0.0.1, localhost or [::1] for a local tenant)";
    let bad = || ConfigError::new("AUTH0_DOMAIN", format!("{EXPECTED}, got `{domain}`"));
    let candidate = if domain.contains("://") {
        domain.to_owned()
    } else {
        format!("https://{domain}")
    };
    let mut url = Url::parse(&candidate).map_err(|_| bad())?;
    let plain = url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.path().trim_end_matches('/').is_empty();
    if !plain || url.host().is_none() {
        return Err(bad());
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(ConfigError::new(
                "AUTH0_DOMAIN",
                format!(
                    "an http:// tenant is only allowed on a loopback host (127.0.0.1, localhost, \
                     [::1]); use the https domain of your tenant, got `{domain}`"
                ),
            ))
        }
        _ => return Err(bad()),
    }
    url.set_path("/");
    Ok(url)
}

fn parse_callback_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.fragment().is_none()
    });
    url.ok_or_else(|| {
        ConfigError::new(
            "AUTH0_CALLBACK_URL",
            format!(
                "expects the full http(s) URL of this app's callback, e.g. \
                 http://127.0.0.1:3000/callback, got `{raw}`"
            ),
        )
    })
}

/// A callback URL that is safe to use: https, or http on a loopback host only (codes and the
/// session cookie would otherwise cross the network in clear text); and a path that no other
/// route claims, so the callback cannot shadow a page or be shadowed by one. `reserved` lists
/// the paths taken (a path ending in `/` reserves everything below it).
pub fn check_callback_url(callback: &Url, reserved: &[&str]) -> Result<(), ConfigError> {
    if callback.scheme() == "http" && !is_loopback(callback) {
        return Err(ConfigError::new(
            "AUTH0_CALLBACK_URL",
            format!(
                "must be https (http only on 127.0.0.1, localhost or [::1]): the authorization \
                 code and the session cookie would travel in clear text, got `{callback}`"
            ),
        ));
    }
    let path = callback.path();
    // The router decodes most escapes before matching (`/%6Cogin` is `/login`): a callback path
    // needs none, so none is allowed.
    if path.contains('%') {
        return Err(ConfigError::new(
            "AUTH0_CALLBACK_URL",
            format!("its path must not contain percent-escapes, got `{path}`"),
        ));
    }
    let taken = reserved.iter().find(|r| match r.strip_suffix('/') {
        Some(prefix) if !prefix.is_empty() => path == prefix || path.starts_with(*r),
        _ => path == **r,
    });
    match taken {
        Some(route) => Err(ConfigError::new(
            "AUTH0_CALLBACK_URL",
            format!(
                "its path `{path}` is already a route of the app (`{route}`); choose a path of \
                 its own, e.g. /callback"
            ),
        )),
        None => Ok(()),
    }
}

/// The error for a real tenant without `AUTH0_CALLBACK_URL`.
pub fn missing_callback() -> ConfigError {
    ConfigError::new(
        "AUTH0_CALLBACK_URL",
        "is required with a real tenant: the full URL of this app's callback, \
         e.g. https://app.example.com/callback (register it under Allowed Callback URLs)",
    )
}

/// A success URL is a local path, or a URL on the callback's origin (never another site). The
/// value returned is the normalised one that was checked: it is what goes into `Location`.
fn check_success_url(success_url: &str, callback_url: Option<&Url>) -> Result<String, ConfigError> {
    if let Some(path) = super::redirect::local_path(success_url) {
        return Ok(path);
    }
    match (Url::parse(success_url), callback_url) {
        (Ok(url), Some(callback))
            if url.origin() == callback.origin()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(url.to_string())
        }
        _ => Err(ConfigError::new(
            "AUTH0_SUCCESS_URL",
            format!(
                "expects a local path such as /profile, or a URL on the origin of \
                 AUTH0_CALLBACK_URL, got `{success_url}`"
            ),
        )),
    }
}

/// Whether a URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_domain_becomes_an_https_issuer_with_a_trailing_slash() {
        let issuer = issuer_for_domain("tenant.eu.auth0.com").unwrap();
        assert_eq!(issuer.as_str(), "https://tenant.eu.auth0.com/");
    }

    #[test]
    fn a_loopback_http_url_is_accepted_as_a_local_tenant() {
        for domain in [
            "http://127.0.0.1:4000",
            "http://localhost:4000/",
            "http://[::1]:4000",
        ] {
            let issuer = issuer_for_domain(domain).unwrap();
            assert!(issuer.as_str().ends_with(":4000/"), "{issuer}");
        }
    }

    #[test]
    fn a_non_loopback_http_tenant_is_refused() {
        let err = issuer_for_domain("http://tenant.auth0.com").unwrap_err();
        assert_eq!(err.variable, "AUTH0_DOMAIN");
        assert!(err.expected.contains("loopback"));
    }

    #[test]
    fn a_domain_with_a_path_or_credentials_is_refused() {
        for domain in [
            "tenant.auth0.com/x",
            "https://u:p@tenant.auth0.com",
            "ftp://x",
            "a b",
        ] {
            assert!(issuer_for_domain(domain).is_err(), "{domain}");
        }
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
                lock_url: crate::auth0::lock::DEFAULT_LOCK_URL.into(),
                session: SessionLifetime::DEFAULT,
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

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        for (raw, secs) in [
            ("3600", 3600),
            ("45s", 45),
            ("30m", 1800),
            ("12h", 43_200),
            ("7d", 604_800),
        ] {
            let vars = [("SESSION_ROLLING_DURATION", raw)];
            let got = duration(&lookup(&vars), "SESSION_ROLLING_DURATION").unwrap();
            assert_eq!(got, Some(Duration::from_secs(secs)), "{raw}");
        }
        for raw in [
            "0",
            "-5",
            "5w",
            "1.5h",
            "h",
            "d7",
            "99999999999999999999d",
            "12 h",
            "401d",
        ] {
            let vars = [("SESSION_ROLLING_DURATION", raw)];
            let err = duration(&lookup(&vars), "SESSION_ROLLING_DURATION").unwrap_err();
            assert_eq!(err.variable, "SESSION_ROLLING_DURATION", "{raw}");
        }
    }

    #[test]
    fn a_callback_over_http_is_refused_off_loopback() {
        let check = |url: &str| check_callback_url(&Url::parse(url).unwrap(), &[]);
        assert!(check("http://127.0.0.1:3000/callback").is_ok());
        assert!(check("http://localhost:3000/callback").is_ok());
        assert!(check("https://app.example/callback").is_ok());
        assert_eq!(
            check("http://app.example/callback").unwrap_err().variable,
            "AUTH0_CALLBACK_URL"
        );
    }

    #[test]
    fn a_callback_path_that_is_another_route_is_refused() {
        let reserved = ["/", "/login", "/static/"];
        let check = |path: &str| {
            let url = Url::parse("https://app.example")
                .unwrap()
                .join(path)
                .unwrap();
            check_callback_url(&url, &reserved)
        };
        for taken in [
            "/",
            "/login",
            "/static",
            "/static/x.css",
            "/%6Cogin",
            "/%63allback",
        ] {
            assert_eq!(
                check(taken).unwrap_err().variable,
                "AUTH0_CALLBACK_URL",
                "{taken}"
            );
        }
        for free in ["/callback", "/login/callback", "/statics"] {
            assert!(check(free).is_ok(), "{free}");
        }
    }

    #[test]
    fn a_lock_script_over_plain_http_is_refused_off_loopback() {
        let vars = [("AUTH0_LOCK_URL", "http://cdn.example/lock.js")];
        let err = AppSettings::from_lookup(&lookup(&vars)).unwrap_err();
        assert_eq!(err.variable, "AUTH0_LOCK_URL");
        let vars = [("AUTH0_LOCK_URL", "http://127.0.0.1:9/lock.js")];
        assert!(AppSettings::from_lookup(&lookup(&vars)).is_ok());
    }
}
