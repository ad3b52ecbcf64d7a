//! The STS's signing key: a private JWK (parsed by
//! [`crate::core::jose::sign::assertion_key`]) and the JWS algorithm its
//! JWTs use: RS256 or PS256 for RSA, ES256 for P-256. SAML assertions are
//! signed RSA-SHA256, so they need an RSA key.

use std::fmt;
use std::sync::Arc;

use rand_core::CryptoRngCore;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::jose::sign::{assertion_key, AssertionKey, KeyError};

/// The JWS algorithm of the JWTs the STS mints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256 (salt of 32 bytes, MGF1 SHA-256).
    PS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

impl JwtAlg {
    /// JWS `alg`.
    pub fn name(self) -> &'static str {
        match self {
            JwtAlg::RS256 => "RS256",
            JwtAlg::PS256 => "PS256",
            JwtAlg::ES256 => "ES256",
        }
    }
}

/// A key the STS signs with; `Debug` names the algorithm only.
#[derive(Clone)]
pub struct StsKey {
    key: Arc<AssertionKey>,
    alg: JwtAlg,
    kid: Option<String>,
}

impl fmt::Debug for StsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StsKey({}, <redacted>)", self.alg.name())
    }
}

fn err(member: &'static str, message: &str) -> KeyError {
    KeyError {
        member,
        message: message.to_owned(),
    }
}

impl StsKey {
    /// From a private JWK; `alg` defaults to RS256 for RSA and ES256 for
    /// P-256 keys. Errors name the JWK member (`alg` for a mismatch).
    pub fn from_jwk(jwk: &Value, alg: Option<JwtAlg>) -> Result<StsKey, KeyError> {
        let key = assertion_key(jwk)?;
        let alg = match (&key, alg) {
            (AssertionKey::Rsa(_), None) => JwtAlg::RS256,
            (AssertionKey::Rsa(_), Some(a @ (JwtAlg::RS256 | JwtAlg::PS256))) => a,
            (AssertionKey::P256(_), None | Some(JwtAlg::ES256)) => JwtAlg::ES256,
            (AssertionKey::Rsa(_), Some(_)) => {
                return Err(err("alg", "an RSA key signs RS256 or PS256"))
            }
            (AssertionKey::P256(_), Some(_)) => return Err(err("alg", "a P-256 key signs ES256")),
            _ => return Err(err("kty", "must be RSA or EC P-256")),
        };
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(err("kid", "must be a string")),
        };
        Ok(StsKey {
            key: Arc::new(key),
            alg,
            kid,
        })
    }

    /// The JWS algorithm.
    pub fn alg(&self) -> JwtAlg {
        self.alg
    }

    /// The JWK's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether SAML assertions can be signed with it (RSA).
    pub fn is_rsa(&self) -> bool {
        matches!(*self.key, AssertionKey::Rsa(_))
    }

    /// The JWS signature of `input`; `rng` salts PS256 and blinds RSA. None
    /// only for an unusable key.
    pub fn sign_jws(&self, input: &[u8], rng: &mut dyn CryptoRngCore) -> Option<Vec<u8>> {
        match (&*self.key, self.alg) {
            (AssertionKey::Rsa(k), JwtAlg::PS256) => {
                let digest = Sha256::digest(input);
                k.sign_with_rng(&mut Rng(rng), rsa::Pss::new::<Sha256>(), &digest)
                    .ok()
            }
            (key, _) => key.sign(input),
        }
    }

    /// RSA-SHA256 (PKCS #1 v1.5) of `input`, the XML signature method; None
    /// for a key that is not RSA.
    pub fn sign_rsa_sha256(&self, input: &[u8]) -> Option<Vec<u8>> {
        match &*self.key {
            AssertionKey::Rsa(_) => self.key.sign(input),
            _ => None,
        }
    }

    /// The RSA public key.
    pub fn rsa_public_key(&self) -> Option<rsa::RsaPublicKey> {
        match &*self.key {
            AssertionKey::Rsa(k) => Some(k.to_public_key()),
            _ => None,
        }
    }

    /// The RSA public modulus and exponent (big-endian), for `ds:KeyValue`.
    pub fn rsa_public(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        use rsa::traits::PublicKeyParts;
        match &*self.key {
            AssertionKey::Rsa(k) => Some((k.n().to_bytes_be(), k.e().to_bytes_be())),
            _ => None,
        }
    }
}

/// `&mut dyn CryptoRngCore` as a sized RNG (the rsa crate takes
/// `impl CryptoRngCore`).
struct Rng<'a>(&'a mut dyn CryptoRngCore);

impl rand_core::RngCore for Rng<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}

impl rand_core::CryptoRng for Rng<'_> {}
