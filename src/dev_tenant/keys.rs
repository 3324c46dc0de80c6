//! The dev tenant's signing key: RSA 2048, generated once per process (generation takes a
//! moment, and every tenant started by the tests can share it).

use std::sync::OnceLock;

use openidconnect::core::{CoreJsonWebKey, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, JsonWebKeySet, PrivateSigningKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};

pub struct SigningKey {
    pub key: CoreRsaPrivateSigningKey,
    pub jwks: JsonWebKeySet<CoreJsonWebKey>,
    /// The key id the key set publishes.
    pub kid: String,
    /// The same key for JWTs that are not ID tokens (access and logout tokens).
    encoding: jsonwebtoken::EncodingKey,
}

impl SigningKey {
    /// An RS256 JWT of `claims` with this key's `kid` and the JOSE `typ` given (`JWT` for Auth0's
    /// access tokens, `logout+jwt` for logout tokens).
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("RS256 signing does not fail")
    }
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
    let der = private.to_pkcs1_der().expect("a generated key encodes");
    SigningKey {
        key,
        jwks,
        kid: kid.to_owned(),
        encoding: jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
    }
}
