//! Signing keys for the JWTs the gateway makes itself (client assertions,
//! RFC 7523): a private JWK parsed once, then deterministic signatures.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A private JWK that cannot sign: the member at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// JWK member, e.g. `d`.
    pub member: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn err(member: &'static str, message: impl Into<String>) -> KeyError {
    KeyError {
        member,
        message: message.into(),
    }
}

/// A key that signs client assertions.
pub enum AssertionKey {
    /// ES256.
    P256(p256::ecdsa::SigningKey),
    /// ES384.
    P384(p384::ecdsa::SigningKey),
    /// RS256 (PKCS #1 v1.5, deterministic).
    Rsa(Box<rsa::RsaPrivateKey>),
    /// HS256 with the client secret (`client_secret_jwt`, RFC 7523 §2.2 /
    /// OIDC Core §9).
    Hmac(Vec<u8>),
}

impl AssertionKey {
    /// JWS `alg`.
    pub fn alg(&self) -> &'static str {
        match self {
            AssertionKey::P256(_) => "ES256",
            AssertionKey::P384(_) => "ES384",
            AssertionKey::Rsa(_) => "RS256",
            AssertionKey::Hmac(_) => "HS256",
        }
    }

    /// Signs `input` (deterministic ECDSA / PKCS #1 v1.5); None only for an
    /// unusable key.
    pub fn sign(&self, input: &[u8]) -> Option<Vec<u8>> {
        use signature::Signer;
        match self {
            AssertionKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.try_sign(input).ok()?;
                Some(s.to_bytes().to_vec())
            }
            AssertionKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.try_sign(input).ok()?;
                Some(s.to_bytes().to_vec())
            }
            AssertionKey::Rsa(k) => {
                // DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1).
                const PREFIX: [u8; 19] = [
                    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
                ];
                let mut t = PREFIX.to_vec();
                t.extend_from_slice(&Sha256::digest(input));
                k.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &t).ok()
            }
            AssertionKey::Hmac(key) => {
                use hmac::Mac;
                let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).ok()?;
                mac.update(input);
                Some(mac.finalize().into_bytes().to_vec())
            }
        }
    }
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssertionKey({}, <redacted>)", self.alg())
    }
}

fn b64_member(jwk: &Value, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let s = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| err(name, "missing (base64url string)"))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| err(name, "not unpadded base64url"))
}

/// Parse a private JWK into a signing key; errors name the JWK member.
pub fn assertion_key(jwk: &Value) -> Result<AssertionKey, KeyError> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    match kty {
        "EC" => {
            let d = b64_member(jwk, "d")?;
            let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
            let (key, point) = match crv {
                "P-256" => {
                    let k = p256::ecdsa::SigningKey::from_slice(&d)
                        .map_err(|_| err("d", "not a P-256 private key"))?;
                    let p = k
                        .verifying_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec();
                    (AssertionKey::P256(k), p)
                }
                "P-384" => {
                    let k = p384::ecdsa::SigningKey::from_slice(&d)
                        .map_err(|_| err("d", "not a P-384 private key"))?;
                    let p = k
                        .verifying_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec();
                    (AssertionKey::P384(k), p)
                }
                _ => return Err(err("crv", "must be P-256 or P-384")),
            };
            // x and y, when given, must belong to d (catches pasted-wrong keys).
            let half = (point.len() - 1) / 2;
            if jwk.get("x").is_some() && b64_member(jwk, "x")? != point[1..1 + half] {
                return Err(err("x", "does not match d"));
            }
            if jwk.get("y").is_some() && b64_member(jwk, "y")? != point[1 + half..] {
                return Err(err("y", "does not match d"));
            }
            Ok(key)
        }
        "RSA" => {
            use rsa::traits::PublicKeyParts;
            let big = |n: &'static str| b64_member(jwk, n).map(|b| rsa::BigUint::from_bytes_be(&b));
            let (n, e, d, p, q) = (big("n")?, big("e")?, big("d")?, big("p")?, big("q")?);
            let key = rsa::RsaPrivateKey::from_components(n, e, d, vec![p, q])
                .map_err(|e| err("n", format!("not a valid RSA private key: {e}")))?;
            key.validate()
                .map_err(|e| err("d", format!("not a valid RSA private key: {e}")))?;
            if key.size() < 256 {
                return Err(err("n", "RSA keys must have at least 2048 bits"));
            }
            Ok(AssertionKey::Rsa(Box::new(key)))
        }
        _ => Err(err("kty", "must be EC or RSA")),
    }
}
