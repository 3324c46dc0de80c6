//! Reading the environment: the error that names a variable, blank values as unset, durations.

use std::fmt;
use std::time::Duration;

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

/// The variable `name`, trimmed; `None` when unset or blank (an empty line in `.env` is unset).
pub fn non_empty(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A switch: `true` or `false`; unset (or blank) is `false`.
pub fn flag(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<bool, ConfigError> {
    match non_empty(lookup, name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ConfigError::new(
            name,
            format!("expects `true` or `false`, got `{other}`"),
        )),
    }
}

/// The longest session lifetime accepted: 400 days, the most browsers keep a cookie
/// (RFC 6265bis §5.5).
pub const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(400 * 86_400);

/// A duration variable: whole seconds (`3600`), or a number with `s`, `m`, `h` or `d` (`12h`),
/// from one second to [`MAX_SESSION_LIFETIME`].
pub fn duration(
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

/// A lookup over fixed variables, for the module's unit tests.
#[cfg(test)]
pub(crate) fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
