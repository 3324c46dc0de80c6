//! The app's configuration, from the environment (and `.env` through dotenvy, loaded in `main`).
//! Every variable is listed in `.env.example`; a missing or bad value is a [`ConfigError`] that
//! names it. Reading goes through a lookup function so tests need not touch the process env.

use std::net::{SocketAddr, ToSocketAddrs};

use actix_web::cookie::Key;

use crate::auth0::settings::{missing_callback, non_empty, AppSettings, TenantSettings};
use crate::auth0::{self, ConfigError};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";

#[derive(Clone)]
pub struct Config {
    /// A real tenant, or `None` to start the local dev tenant.
    pub tenant: Option<TenantSettings>,
    pub app: AppSettings,
    pub database_url: String,
    /// `None` only in dev-tenant mode: an ephemeral key is generated at start.
    pub session_key: Option<Key>,
    pub bind_addr: SocketAddr,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str| non_empty(lookup, name);
        let tenant = TenantSettings::from_lookup(lookup)?;
        let app = AppSettings::from_lookup(lookup)?;
        if tenant.is_some() && app.callback_url.is_none() {
            return Err(missing_callback());
        }

        let database_url = value("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !database_url.starts_with("sqlite:") {
            return Err(ConfigError::new(
                "DATABASE_URL",
                format!(
                    "expects an SQLite URL such as `{DEFAULT_DATABASE_URL}`, got `{database_url}`"
                ),
            ));
        }

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

        Ok(Self {
            tenant,
            app,
            database_url,
            session_key,
            bind_addr,
        })
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
        (
            "SESSION_KEY",
            "0123456789012345678901234567890123456789012345678901234567890123",
        ),
    ];

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
        let config = config(&[("BIND_ADDR", "0.0.0.0:1"), ("PORT", "8081")]).unwrap();
        assert_eq!(config.bind_addr.to_string(), "0.0.0.0:8081");
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("PORT", "http"),
            ("BIND_ADDR", "nowhere"),
            ("DATABASE_URL", "postgres://x"),
            ("AUTH0_CALLBACK_URL", "/callback"),
            ("AUTH0_SCOPE", "profile email"),
            ("AUTH0_DOMAIN", "http://tenant.auth0.com"),
        ] {
            let err = config(&[(name, value)]).err().unwrap();
            assert_eq!(err.variable, name, "{name}={value}");
        }
    }
}
