//! Secrets: a wrapper that never prints, the session key (at least 64 bytes that look random,
//! stretched with HKDF), and constant-time comparison.

use std::fmt;

use actix_web::cookie::Key;

use super::env::ConfigError;

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

/// The session key from `SESSION_KEY` (at least 64 bytes, e.g. `openssl rand -base64 64`).
pub fn session_key_from_env() -> Result<Key, ConfigError> {
    session_key(std::env::var("SESSION_KEY").ok().as_deref())
}

/// A session key from raw key material: at least 64 bytes that look random, stretched with HKDF.
pub fn session_key(raw: Option<&str>) -> Result<Key, ConfigError> {
    const MIN_BYTES: usize = 64;
    const HOW: &str = "generate one with `openssl rand -base64 64 | tr -d '\\n'`";
    match raw {
        Some(raw) if raw.len() >= MIN_BYTES => match not_random(raw.as_bytes()) {
            None => Ok(Key::derive_from(raw.as_bytes())),
            Some(why) => Err(ConfigError::new(
                "SESSION_KEY",
                format!("must be random, but {why}; {HOW}"),
            )),
        },
        Some(raw) if !raw.is_empty() => Err(ConfigError::new(
            "SESSION_KEY",
            format!(
                "must be at least {MIN_BYTES} bytes (it is {}); {HOW}",
                raw.len()
            ),
        )),
        _ => Err(ConfigError::new(
            "SESSION_KEY",
            format!(
                "is required: at least {MIN_BYTES} random bytes (sessions must survive \
                 restarts); {HOW}"
            ),
        )),
    }
}

/// Why a key is clearly not random, if it is: a pattern repeated, even approximately
/// (`aaaa...`, `0123456789` over and over, a phrase typed twice), the alphabet in order either
/// way, or too few distinct characters. No test can prove randomness; these catch the
/// placeholders people paste.
fn not_random(key: &[u8]) -> Option<&'static str> {
    // Repeats show as repeated 4-grams: a random base64 or hex key of 64 characters has all
    // of its 61 distinct; "correct-horse-battery-staple" typed twice has about half.
    let grams: Vec<&[u8]> = key.windows(4).collect();
    let distinct: std::collections::HashSet<&[u8]> = grams.iter().copied().collect();
    if distinct.len() * 10 < grams.len() * 9 {
        return Some("it repeats a pattern");
    }
    // Characters in alphabetical order, up or down (`ABCD...`, `9876...`): half the pairs at
    // most (a random hex key has about one pair in eight in order).
    let runs = key
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1) || w[0] == w[1].wrapping_add(1))
        .count();
    if runs * 2 > key.len() {
        return Some("it runs through the alphabet in order");
    }
    let mut seen = [false; 256];
    key.iter().for_each(|&b| seen[b as usize] = true);
    // Hex keys use 16 characters, base64 ones 64; a random 64-character hex key has ~16.
    (seen.iter().filter(|&&s| s).count() < 12)
        .then_some("it uses fewer than 12 distinct characters")
}

/// Compares two secrets in constant time (no early exit on the first differing byte).
pub fn secure_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
