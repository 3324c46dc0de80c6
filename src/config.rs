//! The app's configuration, from the environment (and `.env` through dotenvy, loaded in `main`).
//! Every variable is listed in `.env.example`; a missing or bad value is a [`ConfigError`] that
//! names it. Reading goes through a lookup function so tests need not touch the process env.

use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use actix_web::cookie::Key;
use sqlx::postgres::PgConnectOptions;

use crate::auth0::env::non_empty;
use crate::auth0::settings::{AppSettings, TenantSettings};
use crate::auth0::urls::{check_callback_url, missing_callback};
use crate::auth0::{self, ConfigError};
use crate::db::{self, Engine};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";
/// Where `cargo run` starts the local dev tenant, unless `DEV_TENANT_ADDR` says otherwise.
pub const DEFAULT_DEV_TENANT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4000);
/// Paths the app's pages, files and the auth0 module take: the callback may not be one of them.
pub const APP_ROUTES: [&str; 12] = [
    "/",
    "/login",
    "/signup",
    "/logout",
    "/backchannel-logout",
    "/profile",
    "/profile/",
    "/messages",
    "/step-up",
    "/api/",
    "/healthz",
    "/static/",
];

#[derive(Clone)]
pub struct Config {
    /// A real tenant, or `None` to start the local dev tenant.
    pub tenant: Option<TenantSettings>,
    pub app: AppSettings,
    pub database_url: String,
    /// `None` only in dev-tenant mode: an ephemeral key is generated at start.
    pub session_key: Option<Key>,
    pub bind_addr: SocketAddr,
    /// `DEV_TENANT_ADDR`: where the local dev tenant listens (loopback only).
    pub dev_tenant_addr: Option<SocketAddr>,
    /// `DEV_TENANT_ACCESS_TOKEN_TTL`: how long the dev tenant's access tokens live.
    pub dev_tenant_access_token_ttl: Option<std::time::Duration>,
    /// `METRICS_ADDR`: where Prometheus metrics are served; `None`: not at all.
    pub metrics_addr: Option<SocketAddr>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str| non_empty(lookup, name);
        // Only a configuration with no tenant settings at all gets the dev tenant.
        let app = AppSettings::from_lookup(lookup)?;
        let tenant = TenantSettings::from_lookup(lookup)?;
        if tenant.is_some() {
            let callback = app.callback_url.as_ref().ok_or_else(missing_callback)?;
            check_callback_url(callback, &APP_ROUTES)?;
        }

        let database_url = value("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        check_database_url(&database_url)?;

        // Not trimmed: the key is used byte for byte. Optional only with the dev tenant.
        let session_key = match lookup("SESSION_KEY").filter(|v| !v.is_empty()) {
            None if tenant.is_none() => None,
            raw => Some(auth0::session_key(raw.as_deref())?),
        };

        let bind = value("BIND_ADDR").unwrap_or_else(|| DEFAULT_BIND_ADDR.into());
        let mut bind_addr = bind
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                ConfigError::new(
                    "BIND_ADDR",
                    format!("expects host:port, e.g. `{DEFAULT_BIND_ADDR}` or `0.0.0.0:8080`, got `{bind}`"),
                )
            })?;
        if let Some(port) = value("PORT") {
            let port: u16 = port.parse().map_err(|_| {
                ConfigError::new(
                    "PORT",
                    format!("expects a port number from 0 to 65535, got `{port}`"),
                )
            })?;
            bind_addr.set_port(port);
        }
        // The dev tenant logs anyone in: it is only reachable from this machine, so an app that
        // uses it on another address could only mislead whoever reaches it.
        if tenant.is_none() && !bind_addr.ip().is_loopback() {
            return Err(dev_tenant_off_loopback(bind_addr));
        }
        let dev_tenant_addr = value("DEV_TENANT_ADDR")
            .map(|raw| match raw.parse::<SocketAddr>() {
                Ok(addr) if addr.ip().is_loopback() => Ok(addr),
                _ => Err(ConfigError::new(
                    "DEV_TENANT_ADDR",
                    format!(
                        "expects a loopback address and port, e.g. `{DEFAULT_DEV_TENANT_ADDR}` \
                         (the dev tenant is reachable from this machine only), got `{raw}`"
                    ),
                )),
            })
            .transpose()?;
        let dev_tenant_access_token_ttl = crate::dev_tenant::standalone::access_token_ttl(lookup)?;
        let metrics_addr = value("METRICS_ADDR")
            .map(|raw| {
                raw.parse::<SocketAddr>().map_err(|_| {
                    ConfigError::new(
                        "METRICS_ADDR",
                        format!(
                            "expects an address and port for the metrics listener, e.g. \
                             `127.0.0.1:9100`, got `{raw}`"
                        ),
                    )
                })
            })
            .transpose()?;

        Ok(Self {
            tenant,
            app,
            database_url,
            session_key,
            bind_addr,
            dev_tenant_addr,
            dev_tenant_access_token_ttl,
            metrics_addr,
        })
    }
}

/// The error for the dev tenant on an address other machines can reach.
pub fn dev_tenant_off_loopback(addr: SocketAddr) -> ConfigError {
    ConfigError::new(
        "BIND_ADDR",
        format!(
            "must be a loopback address (127.0.0.1 or [::1]) with the local dev tenant, which \
             logs in any email with any password; got `{addr}`. Set AUTH0_DOMAIN and the other \
             AUTH0_* variables to serve on other addresses"
        ),
    )
}

/// `DATABASE_URL` names SQLite or a Postgres server, and is well formed (Postgres URLs are
/// parsed here, so a typo is a configuration error, not a failed start).
fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let expects = |why: &str| {
        ConfigError::new(
            "DATABASE_URL",
            format!(
                "expects an SQLite URL such as `{DEFAULT_DATABASE_URL}` or a Postgres URL such as \
                 `postgres://user:password@host:5432/database`; {why}"
            ),
        )
    };
    match Engine::of_url(url) {
        Some(Engine::Sqlite) => Ok(()),
        Some(Engine::Postgres) => PgConnectOptions::from_str(url)
            .map(|_| ())
            .map_err(|e| expects(&format!("`{}` is not one: {e}", db::redacted(url)))),
        None => Err(expects(&format!("got `{}`", db::redacted(url)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&move |name| map.get(name).cloned())
    }

    const REAL: [(&str, &str); 5] = [
        ("AUTH0_DOMAIN", "tenant.eu.auth0.com"),
        ("AUTH0_CLIENT_ID", "client"),
        ("AUTH0_SECRET", "secret"),
        ("AUTH0_CALLBACK_URL", "https://app.example/callback"),
        ("SESSION_KEY", TEST_KEY),
    ];

    /// 64 characters that look random (this file is public: never use it for real).
    const TEST_KEY: &str = "kQ3v9ZpL0xW7nR2sT5yB8cF1dG4hJ6mA-eU_iO3pK9lZ2xC5vB7nM0qW4eR8tY1u";

    fn real_without(name: &str) -> Vec<(&'static str, &'static str)> {
        REAL.iter().copied().filter(|(k, _)| *k != name).collect()
    }

    #[test]
    fn nothing_set_means_the_dev_tenant_on_port_3000() {
        let config = config(&[]).unwrap();
        assert!(config.tenant.is_none());
        assert!(config.session_key.is_none());
        assert_eq!(config.bind_addr.to_string(), DEFAULT_BIND_ADDR);
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
    }

    #[test]
    fn a_real_tenant_needs_each_of_its_variables() {
        assert!(config(&REAL).is_ok());
        for name in [
            "AUTH0_CLIENT_ID",
            "AUTH0_SECRET",
            "SESSION_KEY",
            "AUTH0_CALLBACK_URL",
        ] {
            let err = config(&real_without(name)).err().unwrap();
            assert_eq!(err.variable, name);
        }
    }

    #[test]
    fn auth0_client_secret_is_accepted_for_auth0_secret() {
        let mut vars = real_without("AUTH0_SECRET");
        vars.push(("AUTH0_CLIENT_SECRET", "secret"));
        assert!(config(&vars).is_ok());
    }

    #[test]
    fn a_short_session_key_is_refused_with_its_length() {
        let err = config(&[("SESSION_KEY", "short")]).err().unwrap();
        assert_eq!(err.variable, "SESSION_KEY");
        assert!(err.expected.contains("64"));
    }

    #[test]
    fn port_overrides_the_bind_port() {
        let dev = config(&[("BIND_ADDR", "127.0.0.1:1"), ("PORT", "8081")]).unwrap();
        assert_eq!(dev.bind_addr.to_string(), "127.0.0.1:8081");
        let mut real = REAL.to_vec();
        real.extend([("BIND_ADDR", "0.0.0.0:1"), ("PORT", "8081")]);
        assert_eq!(config(&real).unwrap().bind_addr.to_string(), "0.0.0.0:8081");
    }

    #[test]
    fn a_blank_domain_beside_any_tenant_setting_is_an_error_not_the_dev_tenant() {
        for name in [
            "AUTH0_CLIENT_ID",
            "AUTH0_SECRET",
            "AUTH0_CLIENT_SECRET",
            "AUTH0_CALLBACK_URL",
            "AUTH0_AUDIENCE",
        ] {
            let value = if name == "AUTH0_CALLBACK_URL" {
                "https://app.example.com/callback"
            } else {
                "x"
            };
            for domain in ["", "   "] {
                let err = config(&[("AUTH0_DOMAIN", domain), (name, value)])
                    .err()
                    .unwrap();
                assert_eq!(err.variable, "AUTH0_DOMAIN", "{name} with {domain:?}");
                assert!(err.expected.contains(name), "{}", err.expected);
            }
        }
        // Blank tenant settings (an unfilled .env) still mean the dev tenant.
        let blank = config(&[("AUTH0_DOMAIN", ""), ("AUTH0_CLIENT_ID", " ")]).unwrap();
        assert!(blank.tenant.is_none());
    }

    #[test]
    fn the_dev_tenant_refuses_a_non_loopback_bind_addr() {
        for addr in ["0.0.0.0:3000", "[::]:3000", "192.0.2.7:3000"] {
            let err = config(&[("BIND_ADDR", addr)]).err().unwrap();
            assert_eq!(err.variable, "BIND_ADDR", "{addr}");
        }
        assert!(config(&[("BIND_ADDR", "[::1]:3000")]).is_ok());
    }

    #[test]
    fn insecure_or_colliding_callbacks_are_refused_with_a_real_tenant() {
        for callback in [
            "http://app.example.com/callback",
            "https://app.example.com/",
            "https://app.example.com/login",
            "https://app.example.com/logout",
            "https://app.example.com/profile",
            "https://app.example.com/profile/sessions/end",
            "https://app.example.com/backchannel-logout",
            "https://app.example.com/messages",
            "https://app.example.com/api/messages/public",
            "https://app.example.com/static/style.css",
        ] {
            let mut vars = real_without("AUTH0_CALLBACK_URL");
            vars.push(("AUTH0_CALLBACK_URL", callback));
            let err = config(&vars).err().unwrap();
            assert_eq!(err.variable, "AUTH0_CALLBACK_URL", "{callback}");
        }
        let mut vars = real_without("AUTH0_CALLBACK_URL");
        vars.push(("AUTH0_CALLBACK_URL", "http://127.0.0.1:3000/callback"));
        assert!(config(&vars).is_ok(), "http on loopback is fine");
    }

    #[test]
    fn a_success_url_on_the_origin_but_with_credentials_is_refused() {
        let mut vars = REAL.to_vec();
        vars.push(("AUTH0_SUCCESS_URL", "https://app.example/welcome"));
        assert!(config(&vars).is_ok(), "the control");
        vars.pop();
        vars.push(("AUTH0_SUCCESS_URL", "https://evil.com@app.example/"));
        assert_eq!(config(&vars).err().unwrap().variable, "AUTH0_SUCCESS_URL");
    }

    #[test]
    fn a_session_key_that_is_clearly_not_random_is_refused() {
        for key in [
            "a".repeat(64),
            "0123456789".repeat(7),
            "password".repeat(8),
            "abababababcabababababcabababababcabababababcabababababcabababab".into(),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".into(),
            // A pattern with many distinct characters, repeated.
            "q7Wz!kP2@xL9mR".repeat(5),
            // The same, almost: its tail differs.
            format!("{}q7Wz!kP2@X", "q7Wz!kP2@xL9mR".repeat(4)),
            "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba9876543210+/".into(),
            "correct-horse-battery-staple-correct-horse-battery-staple-123456".into(),
        ] {
            let mut vars = real_without("SESSION_KEY");
            vars.push(("SESSION_KEY", &key));
            let err = config(&vars).err().unwrap();
            assert_eq!(err.variable, "SESSION_KEY", "{key}");
        }
        // What `openssl rand -hex 32` and `-base64 64` give.
        for key in [
            "3f9a1c07e2b84d5f6a0c9e1b7d3f5a2c8e4b6d0f1a3c5e7b9d2f4a6c8e0b1d3f",
            TEST_KEY,
        ] {
            let mut vars = real_without("SESSION_KEY");
            vars.push(("SESSION_KEY", key));
            assert!(config(&vars).is_ok(), "{key}");
        }
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("PORT", "http"),
            ("BIND_ADDR", "nowhere"),
            ("DATABASE_URL", "mysql://x"),
            ("DATABASE_URL", "postgres://u@h:port/db"),
            ("AUTH0_CALLBACK_URL", "/callback"),
            ("AUTH0_SCOPE", "profile email"),
            ("AUTH0_DOMAIN", "http://tenant.auth0.com"),
        ] {
            let err = config(&[(name, value)]).err().unwrap();
            assert_eq!(err.variable, name, "{name}={value}");
        }
    }
}
