//! The URLs in the settings and the rules they must follow: the issuer from `AUTH0_DOMAIN`, a
//! callback that is safe and collides with no route, a success URL on this origin.

use std::net::IpAddr;

use url::Url;

use super::env::ConfigError;

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

/// `AUTH0_CALLBACK_URL`: a full http(s) URL with a host and no fragment.
pub fn parse_callback_url(raw: &str) -> Result<Url, ConfigError> {
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
pub fn check_success_url(
    success_url: &str,
    callback_url: Option<&Url>,
) -> Result<String, ConfigError> {
    if let Some(path) = super::redirect::local_path(success_url) {
        return Ok(path);
    }
    let refused = || {
        ConfigError::new(
            "AUTH0_SUCCESS_URL",
            format!(
                "expects a local path such as /profile, or a URL on the origin of \
                 AUTH0_CALLBACK_URL, got `{success_url}`"
            ),
        )
    };
    match (Url::parse(success_url), callback_url) {
        // On this origin: only its path and query are kept, and they follow the rule of `next`.
        (Ok(url), Some(callback))
            if url.origin() == callback.origin()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            let mut path = url.path().to_owned();
            if let Some(query) = url.query() {
                path.push('?');
                path.push_str(query);
            }
            super::redirect::local_path(&path).ok_or_else(refused)
        }
        _ => Err(refused()),
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
}
