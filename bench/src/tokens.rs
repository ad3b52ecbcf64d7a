//! Keys, the JWK set and the access tokens of every case, minted with ring
//! (jsonwebtoken): an implementation independent of the filter's verifiers.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

/// Issuer of every token.
pub const ISSUER: &str = "https://issuer.bench.test";
/// Audience of every token.
pub const AUDIENCE: &str = "api://bench";
/// The opaque token of the introspection case.
pub const OPAQUE: &str = "opaque-bench-token-0123456789abcdef";

/// Everything the cases need.
pub struct Tokens {
    /// Public JWK set (one RS256 key, one ES256 key).
    pub jwks: Value,
    /// One RS256 token.
    pub rs256: String,
    /// One ES256 token.
    pub es256: String,
    /// Distinct RS256 tokens for the verification path.
    pub rotating: Vec<String>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn claims(sub: &str, now: i64) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "client_id": "bench-client",
        "scope": "read",
        "iat": now,
        "nbf": now,
        "exp": now + 4 * 3600,
        "jti": format!("jti-{sub}-{now}"),
    })
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> Result<String> {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, claims, key).context("sign token")
}

/// Generates the keys and mints `rotating` distinct RS256 tokens (on all
/// cores).
pub fn mint(rotating: usize) -> Result<Tokens> {
    let mut rng = rand::thread_rng();
    let rsa_private = rsa::RsaPrivateKey::new(&mut rng, 2048).context("generate RSA key")?;
    let rsa_der = rsa_private.to_pkcs1_der().context("encode RSA key")?;
    let rsa_key = EncodingKey::from_rsa_der(rsa_der.as_bytes());
    let public = rsa_private.to_public_key();
    let rsa_jwk = json!({
        "kty": "RSA", "kid": "rs", "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    });
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .context("generate P-256 key")?;
    let point = ec.public_key_raw();
    anyhow::ensure!(point.len() == 65, "uncompressed P-256 point");
    let ec_jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    let ec_key = EncodingKey::from_ec_der(&ec.serialize_der());
    let now = now();
    let rs256 = sign(Algorithm::RS256, "rs", &rsa_key, &claims("user-rs", now))?;
    let es256 = sign(Algorithm::ES256, "ec", &ec_key, &claims("user-es", now))?;

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = rotating.div_ceil(threads.max(1)).max(1);
    let mut minted = Vec::with_capacity(rotating);
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..rotating)
            .step_by(chunk)
            .map(|start| {
                let key = &rsa_key;
                scope.spawn(move || -> Result<Vec<String>> {
                    (start..(start + chunk).min(rotating))
                        .map(|i| {
                            sign(
                                Algorithm::RS256,
                                "rs",
                                key,
                                &claims(&format!("user-{i}"), now),
                            )
                        })
                        .collect()
                })
            })
            .collect();
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("minting thread panicked"))??;
            minted.extend(part);
        }
        Ok(())
    })?;
    Ok(Tokens {
        jwks: json!({ "keys": [rsa_jwk, ec_jwk] }),
        rs256,
        es256,
        rotating: minted,
    })
}

/// `n` public P-256 JWKs (`kid` `filler-<i>`) that sign nothing: they make
/// a key set bigger for the scale cases.
pub fn filler_keys(n: usize) -> Result<Vec<Value>> {
    (0..n)
        .map(|i| {
            let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                .context("generate P-256 key")?;
            let point = ec.public_key_raw();
            anyhow::ensure!(point.len() == 65, "uncompressed P-256 point");
            Ok(json!({
                "kty": "EC", "crv": "P-256", "kid": format!("filler-{i}"), "use": "sig",
                "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }))
        })
        .collect()
}
