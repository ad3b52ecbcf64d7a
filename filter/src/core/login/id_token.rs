//! The ID token of a login (OpenID Connect Core §3.1.3.7): signature by the
//! registration's keys through the JOSE core, then `iss`, `aud`, `azp`,
//! `exp`, `iat`, `nonce` and `at_hash`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::core::config::login::Registration;
use crate::core::jose::jwk::JwkSet;
use crate::core::jose::jws::{self, Alg};
use crate::core::jose::verify::Verifier;
use crate::core::util::time::UnixMillis;

/// Keys tried per ID token at most.
const MAX_KEY_TRIES: usize = 4;

/// Why an ID token was refused (logged by name; the token never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenError {
    /// Not a compact JWS.
    Malformed,
    /// An algorithm the registration does not accept.
    DisallowedAlg,
    /// No key of the set could have made it.
    NoMatchingKey,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not the registration's issuer.
    WrongIssuer,
    /// `aud` does not name the client, or `azp` is another party.
    WrongAudience,
    /// Expired, or no `exp`.
    Expired,
    /// `iat` missing or in the future.
    BadIssuedAt,
    /// `nonce` differs from the login's.
    WrongNonce,
    /// `at_hash` does not match the access token.
    WrongAtHash,
    /// No `sub`.
    NoSubject,
}

impl IdTokenError {
    /// Short name for logs and the failure answer.
    pub fn reason(self) -> &'static str {
        match self {
            IdTokenError::Malformed => "id_token_malformed",
            IdTokenError::DisallowedAlg => "id_token_alg",
            IdTokenError::NoMatchingKey => "id_token_no_key",
            IdTokenError::BadSignature => "id_token_signature",
            IdTokenError::WrongIssuer => "id_token_issuer",
            IdTokenError::WrongAudience => "id_token_audience",
            IdTokenError::Expired => "id_token_expired",
            IdTokenError::BadIssuedAt => "id_token_iat",
            IdTokenError::WrongNonce => "id_token_nonce",
            IdTokenError::WrongAtHash => "id_token_at_hash",
            IdTokenError::NoSubject => "id_token_sub",
        }
    }
}

/// What the ID token is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// The login's `nonce` (`None` after a refresh, where it may be absent).
    pub nonce: Option<&'a str>,
    /// The access token issued with it (`at_hash`).
    pub access_token: &'a str,
    /// The time.
    pub now: UnixMillis,
}

/// The verified claims of `token`.
pub fn check(
    token: &str,
    reg: &Registration,
    keys: &JwkSet,
    verifier: &Verifier,
    expect: Expect<'_>,
) -> Result<Map<String, Value>, IdTokenError> {
    let jws = jws::parse(token).map_err(|_| IdTokenError::Malformed)?;
    let alg = jws.header.alg;
    if !reg.algorithms.contains(&alg) {
        return Err(IdTokenError::DisallowedAlg);
    }
    let kid = jws.header.kid.as_deref();
    let candidates: Vec<_> = keys.candidates(alg, kid).take(MAX_KEY_TRIES).collect();
    if candidates.is_empty() {
        return Err(IdTokenError::NoMatchingKey);
    }
    if !candidates
        .iter()
        .any(|k| verifier.verify(alg, &k.material, jws.signing_input, &jws.signature))
    {
        return Err(IdTokenError::BadSignature);
    }
    let c = &jws.claims;
    if c.get("iss").and_then(Value::as_str) != Some(reg.issuer.as_str()) {
        return Err(IdTokenError::WrongIssuer);
    }
    let client_id = reg.auth.client_id();
    let auds: Vec<&str> = match c.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !auds.contains(&client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    match c.get("azp") {
        Some(Value::String(azp)) if azp != client_id => return Err(IdTokenError::WrongAudience),
        Some(Value::String(_)) => {}
        Some(_) => return Err(IdTokenError::WrongAudience),
        // §3.1.3.7 (4): several audiences need an azp naming the client.
        None if auds.len() > 1 => return Err(IdTokenError::WrongAudience),
        None => {}
    }
    let skew_ms = reg.clock_skew_s.saturating_mul(1000);
    let secs = |k: &str| c.get(k).and_then(Value::as_u64);
    match secs("exp") {
        Some(exp) if exp.saturating_mul(1000).saturating_add(skew_ms) > expect.now.0 => {}
        _ => return Err(IdTokenError::Expired),
    }
    match secs("iat") {
        Some(iat) if iat.saturating_mul(1000) <= expect.now.0.saturating_add(skew_ms) => {}
        _ => return Err(IdTokenError::BadIssuedAt),
    }
    match (expect.nonce, c.get("nonce")) {
        (Some(n), Some(Value::String(got))) if constant_eq(n, got) => {}
        (Some(_), _) => return Err(IdTokenError::WrongNonce),
        (None, _) => {}
    }
    if let Some(h) = c.get("at_hash") {
        let ok = h
            .as_str()
            .is_some_and(|h| constant_eq(h, &at_hash(alg, expect.access_token)));
        if !ok {
            return Err(IdTokenError::WrongAtHash);
        }
    }
    match c.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(IdTokenError::NoSubject),
    }
    Ok(jws.claims)
}

/// `at_hash`: the left half of the access token's hash with the signature
/// algorithm's hash function, base64url (OIDC Core §3.1.3.6).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let b = access_token.as_bytes();
    let full: Vec<u8> = match alg {
        Alg::Rs384 | Alg::Ps384 | Alg::Es384 | Alg::Hs384 => Sha384::digest(b).to_vec(),
        Alg::Rs512 | Alg::Ps512 | Alg::Hs512 | Alg::EdDsa => Sha512::digest(b).to_vec(),
        _ => Sha256::digest(b).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&full[..full.len() / 2])
}

/// Equality that takes the same time wherever the strings differ.
pub fn constant_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The claims of an ID token already verified at login (read from the
/// sealed session: no second signature check).
pub fn claims_of(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}
