//! The tokens of a login (access token, its expiry and scopes, refresh token), kept server-side
//! by the backend, sealed: AES-256-GCM (the `aes-gcm` crate) under a key derived from
//! `SESSION_KEY` with HKDF-SHA-256, a fresh random nonce per seal, and the session id as
//! associated data, so a sealed blob copied to another session's row does not open. They never
//! go into the cookie, a log line or a template.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};

/// What a login (or a refresh) got from the token endpoint.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token for `AUTH0_AUDIENCE`.
    pub access_token: String,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// The scopes granted (space-separated).
    pub scope: String,
    /// The refresh token, with `offline_access`.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "..."))
            .finish_non_exhaustive()
    }
}

/// Seals and opens [`TokenSet`]s for one app (one `SESSION_KEY`).
pub struct Sealer {
    cipher: Aes256Gcm,
}

/// The nonce's length: 96 bits, as GCM wants it.
pub(crate) const NONCE_LEN: usize = 12;

impl Sealer {
    /// A sealer whose key is derived from the session key's bytes (the cookie's key is not
    /// reused as is: HKDF gives this purpose a key of its own).
    pub fn new(session_key: &[u8]) -> Self {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(b"auth0-actix"), session_key)
            .expand(b"server-side tokens v1", &mut key)
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        Self {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// `tokens`, sealed for the session `session_id`: nonce, then ciphertext and tag.
    pub fn seal(&self, session_id: &str, tokens: &TokenSet) -> Vec<u8> {
        let plain = serde_json::to_vec(tokens).expect("tokens serialise");
        seal_bytes(&self.cipher, session_id.as_bytes(), &plain)
    }

    /// The tokens sealed for `session_id`; `None` if the blob was sealed for another session,
    /// under another key, or altered.
    pub fn open(&self, session_id: &str, sealed: &[u8]) -> Option<TokenSet> {
        let plain = open_bytes(&self.cipher, session_id.as_bytes(), sealed)?;
        serde_json::from_slice(&plain).ok()
    }
}

/// `plain` sealed with `aad` bound to it: a fresh random nonce, then AES-256-GCM's ciphertext
/// and tag. The sealed tokens and the session cookie share this layout (it is also the cookie
/// crate's private jar's, before its base64).
pub(crate) fn seal_bytes(cipher: &Aes256Gcm, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .expect("AES-GCM encryption of a small message does not fail");
    [nonce.as_slice(), &sealed].concat()
}

/// What [`seal_bytes`] sealed with this `aad` and key; `None` if anything else (another `aad`
/// or key, altered, too short).
pub(crate) fn open_bytes(cipher: &Aes256Gcm, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> TokenSet {
        TokenSet {
            access_token: "at-secret".into(),
            expires_at: 1_900_000_000,
            scope: "openid offline_access".into(),
            refresh_token: Some("rt-secret".into()),
        }
    }

    #[test]
    fn sealed_tokens_open_only_for_their_session_and_key() {
        let sealer = Sealer::new(&[7u8; 64]);
        let sealed = sealer.seal("session-a", &tokens());
        assert_eq!(sealer.open("session-a", &sealed), Some(tokens()));
        assert_eq!(sealer.open("session-b", &sealed), None, "another session");
        assert_eq!(Sealer::new(&[8u8; 64]).open("session-a", &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("session-a", &altered), None, "altered");
        assert_eq!(sealer.open("session-a", &sealed[..5]), None, "truncated");
    }

    #[test]
    fn nothing_of_the_tokens_shows_in_the_sealed_bytes_or_in_debug() {
        let sealer = Sealer::new(&[7u8; 64]);
        let a = sealer.seal("s", &tokens());
        let b = sealer.seal("s", &tokens());
        assert_ne!(a, b, "a fresh nonce each time");
        let text = String::from_utf8_lossy(&a);
        assert!(!text.contains("secret"));
        let debug = format!("{:?}", tokens());
        assert!(!debug.contains("secret"), "{debug}");
    }
}
