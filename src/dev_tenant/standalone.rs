//! `cargo run -- dev-tenant`: the dev tenant on its own, on `DEV_TENANT_ADDR` (default
//! `127.0.0.1:4000`), so several instances of the app (behind a load balancer), or any other OIDC
//! app on this machine, share one local tenant. It prints the `AUTH0_*` values that point an app
//! at it. Its Allowed Callback URLs are `DEV_TENANT_CALLBACK_URLS` (comma-separated, default
//! `http://127.0.0.1:3000/callback`); like the embedded tenant, it lives on loopback only, and so
//! must every callback.

use std::net::{SocketAddr, TcpListener};

use url::Url;

use super::{DevTenant, Registration};
use crate::auth0::env::non_empty;
use crate::auth0::urls::is_loopback;
use crate::auth0::ConfigError;
use crate::config::DEFAULT_DEV_TENANT_ADDR;

/// The callback registered when `DEV_TENANT_CALLBACK_URLS` is unset: `cargo run`'s.
pub const DEFAULT_CALLBACK: &str = "http://127.0.0.1:3000/callback";

/// What the standalone tenant is configured with.
#[derive(Debug, Clone)]
pub struct StandaloneConfig {
    /// `DEV_TENANT_ADDR`: a loopback address.
    pub addr: SocketAddr,
    /// `DEV_TENANT_CALLBACK_URLS`: the apps it serves.
    pub registration: Registration,
}

impl StandaloneConfig {
    /// Reads `DEV_TENANT_ADDR` and `DEV_TENANT_CALLBACK_URLS`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let addr = match non_empty(lookup, "DEV_TENANT_ADDR") {
            None => DEFAULT_DEV_TENANT_ADDR,
            Some(raw) => raw
                .parse::<SocketAddr>()
                .ok()
                .filter(|addr| addr.ip().is_loopback())
                .ok_or_else(|| {
                    ConfigError::new(
                        "DEV_TENANT_ADDR",
                        format!(
                            "expects a loopback address and port, e.g. `{DEFAULT_DEV_TENANT_ADDR}` \
                             (the dev tenant logs anyone in: it is reachable from this machine \
                             only), got `{raw}`"
                        ),
                    )
                })?,
        };
        let raw = non_empty(lookup, "DEV_TENANT_CALLBACK_URLS")
            .unwrap_or_else(|| DEFAULT_CALLBACK.to_owned());
        let callbacks = raw
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| {
                Url::parse(c)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && is_loopback(u))
                    .ok_or_else(|| {
                        ConfigError::new(
                            "DEV_TENANT_CALLBACK_URLS",
                            format!(
                                "expects comma-separated http(s) callback URLs on a loopback host, \
                                 e.g. `{DEFAULT_CALLBACK}`, got `{c}`"
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if callbacks.is_empty() {
            return Err(ConfigError::new(
                "DEV_TENANT_CALLBACK_URLS",
                "lists no callback URL",
            ));
        }
        let mut registration = Registration::for_callbacks("apps on this machine", callbacks);
        if let Some(ttl) = access_token_ttl(lookup)? {
            registration.access_token_ttl = ttl;
        }
        Ok(Self { addr, registration })
    }
}

/// `DEV_TENANT_ACCESS_TOKEN_TTL`: how long the dev tenant's access tokens live, in seconds (1 to
/// 86,400); `None` when unset (an hour). A short one shows refreshes happening.
pub fn access_token_ttl(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<std::time::Duration>, ConfigError> {
    let Some(raw) = non_empty(lookup, "DEV_TENANT_ACCESS_TOKEN_TTL") else {
        return Ok(None);
    };
    raw.parse::<u64>()
        .ok()
        .filter(|secs| (1..=86_400).contains(secs))
        .map(|secs| Some(std::time::Duration::from_secs(secs)))
        .ok_or_else(|| {
            ConfigError::new(
                "DEV_TENANT_ACCESS_TOKEN_TTL",
                format!("expects a number of seconds from 1 to 86400, got `{raw}`"),
            )
        })
}

/// Serves the standalone tenant until SIGINT or SIGTERM. Prints what an app needs on stdout.
pub async fn run(config: StandaloneConfig) -> std::io::Result<()> {
    let addr = config.addr;
    let listener = TcpListener::bind(addr).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {addr} (DEV_TENANT_ADDR): {e}"),
        )
    })?;
    let callbacks: Vec<String> = config
        .registration
        .callback_urls
        .iter()
        .map(Url::to_string)
        .collect();
    let (tenant, server) = DevTenant::server(listener, config.registration, true)?;
    tracing::warn!("{}", tenant.banner());
    let settings = tenant.tenant_settings();
    println!("# The local dev tenant: point an app at it with these values (any password works).");
    println!("AUTH0_DOMAIN={}", settings.domain);
    println!("AUTH0_CLIENT_ID={}", settings.client_id);
    println!("AUTH0_SECRET={}", settings.client_secret.expose());
    println!(
        "# Allowed Callback URLs (DEV_TENANT_CALLBACK_URLS): {}",
        callbacks.join(", ")
    );
    println!("AUTH0_CALLBACK_URL={}", callbacks[0]);
    server.await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<StandaloneConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StandaloneConfig::from_lookup(&move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_defaults_serve_cargo_run_on_port_4000() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr, DEFAULT_DEV_TENANT_ADDR);
        assert_eq!(
            config.registration.callback_urls[0].as_str(),
            DEFAULT_CALLBACK
        );
    }

    #[test]
    fn the_access_token_lifetime_is_a_number_of_seconds_up_to_a_day() {
        let ttl = |v: &str| config(&[("DEV_TENANT_ACCESS_TOKEN_TTL", v)]);
        assert_eq!(
            ttl("90").unwrap().registration.access_token_ttl.as_secs(),
            90
        );
        assert_eq!(
            config(&[]).unwrap().registration.access_token_ttl.as_secs(),
            3600
        );
        for bad in ["0", "-5", "1h", "86401"] {
            assert_eq!(
                ttl(bad).unwrap_err().variable,
                "DEV_TENANT_ACCESS_TOKEN_TTL",
                "{bad}"
            );
        }
    }

    #[test]
    fn it_stays_on_loopback_and_serves_loopback_callbacks_only() {
        for addr in ["0.0.0.0:4000", "192.0.2.1:4000", "nowhere"] {
            let err = config(&[("DEV_TENANT_ADDR", addr)]).unwrap_err();
            assert_eq!(err.variable, "DEV_TENANT_ADDR", "{addr}");
        }
        for urls in [
            "https://app.example.com/callback",
            "ftp://127.0.0.1/x",
            " , ",
        ] {
            let err = config(&[("DEV_TENANT_CALLBACK_URLS", urls)]).unwrap_err();
            assert_eq!(err.variable, "DEV_TENANT_CALLBACK_URLS", "{urls}");
        }
        let two = config(&[(
            "DEV_TENANT_CALLBACK_URLS",
            "http://127.0.0.1:8080/callback, https://localhost:8443/callback",
        )])
        .unwrap();
        assert_eq!(two.registration.callback_urls.len(), 2);
    }
}
