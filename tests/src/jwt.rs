//! Signing keys, JWK sets and access tokens for end-to-end tests and the demo.
//!
//! Tokens are signed by `jsonwebtoken` (ring), an implementation independent
//! of the RustCrypto verifiers inside the filter. RSA keys are generated with
//! the `rsa` crate and P-256 keys with `rcgen` (ring); nothing is committed.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// A private key with its public JWK.
pub struct SigningKey {
    /// Key id (`kid` in the JWK and the token header).
    pub kid: String,
    /// Signature algorithm.
    pub alg: Algorithm,
    encoding: EncodingKey,
    /// Public JWK (no private members).
    pub jwk: Value,
}

impl SigningKey {
    /// A fresh 2048-bit RSA key for RS256.
    pub fn rs256(kid: &str) -> Self {
        Self::rsa(kid, Algorithm::RS256)
    }

    /// A fresh 2048-bit RSA key for the given RSA algorithm (RS*/PS*).
    pub fn rsa(kid: &str, alg: Algorithm) -> Self {
        let mut rng = rand::thread_rng();
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("generate RSA key");
        // jsonwebtoken wants PKCS#1 DER for RSA keys.
        let der = private.to_pkcs1_der().expect("encode RSA key");
        let public = private.to_public_key();
        let jwk = json!({
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": format!("{alg:?}"),
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        SigningKey {
            kid: kid.into(),
            alg,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk,
        }
    }

    /// A fresh P-256 key for ES256.
    pub fn es256(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .expect("generate P-256 key");
        let point = pair.public_key_raw(); // uncompressed: 0x04 || x || y
        assert_eq!(point.len(), 65, "uncompressed P-256 point");
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": kid,
            "use": "sig",
            "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
            jwk,
        }
    }

    /// An HS256 key (shared secret; the JWK carries `k`).
    pub fn hs256(kid: &str, secret: &[u8]) -> Self {
        let jwk =
            json!({"kty": "oct", "kid": kid, "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(secret)});
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            jwk,
        }
    }

    /// Signs `claims` with header `{alg, kid, typ: "at+jwt"}`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".into());
        self.sign_with_header(header, claims)
    }

    /// Signs `claims` with a caller-built header.
    pub fn sign_with_header(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign token")
    }
}

/// A JWK set holding the public keys.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Typical access-token claims valid for `ttl` seconds from now.
pub fn access_claims(iss: &str, aud: &str, sub: &str, scope: &str, ttl: i64) -> Value {
    let now = now() as i64;
    json!({
        "iss": iss,
        "aud": aud,
        "sub": sub,
        "client_id": "demo-client",
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": format!("jti-{}-{}", now, rand::random::<u32>()),
    })
}
