//! The dev tenant's signing key: RSA 2048, generated once per process (generation takes a
//! moment, and every tenant started by the tests can share it).

use std::sync::OnceLock;

use openidconnect::core::{CoreJsonWebKey, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, JsonWebKeySet, PrivateSigningKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};

pub struct SigningKey {
    pub key: CoreRsaPrivateSigningKey,
    pub jwks: JsonWebKeySet<CoreJsonWebKey>,
}

pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| generate("dev-tenant-key-1"))
}

/// A fresh RSA key with the given key id, and the key set that publishes it.
pub fn generate(kid: &str) -> SigningKey {
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
        .expect("RSA key generation does not fail for 2048 bits");
    let pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .expect("a generated key encodes");
    let key = CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.to_owned())))
        .expect("a generated key parses");
    let jwks = JsonWebKeySet::new(vec![key.as_verification_key()]);
    SigningKey { key, jwks }
}
