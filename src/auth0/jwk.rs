//! The tenant's signing keys as openidconnect uses them, with RS256 checked by `ring`.
//!
//! openidconnect's own [`CoreJsonWebKey`] verifies RS256 through the `rsa` crate, which sets up
//! its big-number arithmetic again for every signature: that was a sixth of a login's CPU time.
//! [`Jwk`] is the same key (parsed, serialised and selected exactly as openidconnect does it), but
//! an RS256 signature is verified by `ring` from the key's modulus and exponent, decoded once when
//! the key set is fetched. Every other algorithm goes to openidconnect unchanged (and the client
//! pins RS256 anyway).

use openidconnect::core::{
    CoreJsonWebKey, CoreJsonWebKeyType, CoreJsonWebKeyUse, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeyUse, JwsSigningAlgorithm,
    SignatureVerificationError,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON Web Key from the tenant's key set.
#[derive(Clone, Debug)]
pub struct Jwk {
    core: CoreJsonWebKey,
    /// An RSA key's modulus and exponent, big-endian without leading zeros, as `ring` takes them.
    rsa: Option<RsaComponents>,
}

#[derive(Clone, Debug)]
struct RsaComponents {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl Jwk {
    /// The same key, as openidconnect models it.
    pub fn core(&self) -> &CoreJsonWebKey {
        &self.core
    }

    /// An RSA key's modulus and exponent (big-endian, no leading zeros); `None` for other keys.
    pub fn rsa_components(&self) -> Option<(&[u8], &[u8])> {
        self.rsa.as_ref().map(|k| (k.n.as_slice(), k.e.as_slice()))
    }
}

impl From<CoreJsonWebKey> for Jwk {
    fn from(core: CoreJsonWebKey) -> Self {
        let value = serde_json::to_value(&core).unwrap_or_default();
        Self {
            rsa: rsa_components(&value),
            core,
        }
    }
}

/// `n` and `e` of an RSA key (`kty` `RSA`), if both are present and valid base64url.
fn rsa_components(value: &serde_json::Value) -> Option<RsaComponents> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    if value.get("kty")?.as_str()? != "RSA" {
        return None;
    }
    let decode = |name: &str| -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(value.get(name)?.as_str()?).ok()?;
        let first = bytes.iter().position(|b| *b != 0)?;
        Some(bytes[first..].to_vec())
    };
    Some(RsaComponents {
        n: decode("n")?,
        e: decode("e")?,
    })
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let core: CoreJsonWebKey =
            serde_json::from_value(value.clone()).map_err(serde::de::Error::custom)?;
        Ok(Self {
            rsa: rsa_components(&value),
            core,
        })
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(serializer)
    }
}

impl JsonWebKey for Jwk {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.core.key_id()
    }

    fn key_type(&self) -> &CoreJsonWebKeyType {
        self.core.key_type()
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.core.key_use()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        self.core.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        CoreJsonWebKey::new_symmetric(key).into()
    }

    fn verify_signature(
        &self,
        alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        let Some(rsa) = self
            .rsa
            .as_ref()
            .filter(|_| *alg == CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256)
        else {
            return self.core.verify_signature(alg, message, signature);
        };
        // The checks openidconnect makes before any verification (its `check_key_compatibility`).
        if self.key_use().is_some_and(|u| !u.allows_signature()) {
            return Err(invalid_key(
                "key usage not permitted for digital signatures",
            ));
        }
        if alg.key_type().as_ref() != Some(self.key_type()) {
            return Err(invalid_key("key type does not match signature algorithm"));
        }
        match self.signing_alg() {
            JsonWebKeyAlgorithm::Unspecified => {}
            JsonWebKeyAlgorithm::Algorithm(key_alg) if key_alg == alg => {}
            JsonWebKeyAlgorithm::Algorithm(_) => {
                return Err(invalid_key("incompatible key algorithm"))
            }
            JsonWebKeyAlgorithm::Unsupported => {
                return Err(invalid_key("key algorithm is not a signing algorithm"))
            }
        }
        ring::signature::RsaPublicKeyComponents {
            n: &rsa.n,
            e: &rsa.e,
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            message,
            signature,
        )
        .map_err(|_| SignatureVerificationError::CryptoError("bad signature".into()))
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        self.core.hash_bytes(bytes, alg)
    }
}

fn invalid_key(why: &str) -> SignatureVerificationError {
    SignatureVerificationError::InvalidKey(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;

    fn key_pair() -> (rsa::RsaPrivateKey, Jwk) {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let public = private.to_public_key();
        let core = CoreJsonWebKey::new_rsa(
            public.n().to_bytes_be(),
            public.e().to_bytes_be(),
            Some(JsonWebKeyId::new("k1".into())),
        );
        (private, Jwk::from(core))
    }

    #[test]
    fn ring_and_openidconnect_agree_on_every_signature() {
        let (private, jwk) = key_pair();
        let parsed: Jwk = serde_json::from_value(serde_json::to_value(&jwk).unwrap()).unwrap();
        let signer = SigningKey::<sha2::Sha256>::new(private);
        let message = b"header.payload";
        let good = signer.sign(message).to_vec();
        let mut bad = good.clone();
        bad[10] ^= 1;
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        for key in [&jwk, &parsed] {
            assert!(key.rsa.is_some(), "ring checks this key");
            for (message, signature, valid) in [
                (&message[..], &good, true),
                (&message[..], &bad, false),
                (&b"header.other"[..], &good, false),
            ] {
                assert_eq!(
                    key.verify_signature(&rs256, message, signature).is_ok(),
                    valid
                );
                assert_eq!(
                    key.core()
                        .verify_signature(&rs256, message, signature)
                        .is_ok(),
                    valid
                );
            }
        }
    }

    #[test]
    fn a_key_for_encryption_or_another_algorithm_verifies_nothing() {
        let (private, jwk) = key_pair();
        let signature = SigningKey::<sha2::Sha256>::new(private).sign(b"m").to_vec();
        let rs256 = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;
        let mut value = serde_json::to_value(&jwk).unwrap();
        value["use"] = "enc".into();
        let encryption: Jwk = serde_json::from_value(value.clone()).unwrap();
        assert!(encryption
            .verify_signature(&rs256, b"m", &signature)
            .is_err());
        value["use"] = "sig".into();
        value["alg"] = "RS512".into();
        let other_alg: Jwk = serde_json::from_value(value).unwrap();
        assert!(other_alg
            .verify_signature(&rs256, b"m", &signature)
            .is_err());
        assert!(jwk.verify_signature(&rs256, b"m", &signature).is_ok());
    }
}
