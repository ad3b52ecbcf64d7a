//! The JWT the STS mints for an RFC 7523 §2.1 authorization grant: `iss`
//! the STS, `sub` the mapped subject, `aud` the AS, `iat`/`nbf`/`exp` from
//! the window, `jti`, and the mapped attributes as further claims (one
//! value a string, several an array). Attribute names never replace these
//! claims (the configuration refuses them).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::CryptoRngCore;
use serde_json::{json, Map, Value};

use super::key::StsKey;
use super::mint::{MintError, Statement};

/// Claims the minter sets itself; no attribute may be named like one.
pub const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"];

/// The signed JWT (compact serialisation).
pub fn mint(
    key: &StsKey,
    st: &Statement<'_>,
    rng: &mut dyn CryptoRngCore,
) -> Result<String, MintError> {
    let mut claims = Map::new();
    for (name, values) in &st.principal.attributes {
        let v = match values.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        claims.insert(name.clone(), v);
    }
    let secs = |t: crate::core::util::time::UnixMillis| json!(t.0 / 1000);
    for (name, v) in [
        ("iss", json!(st.issuer)),
        ("sub", json!(st.principal.subject)),
        ("aud", json!(st.audience)),
        ("iat", secs(st.times.issued)),
        ("nbf", secs(st.times.not_before)),
        ("exp", secs(st.times.expires)),
        ("jti", json!(st.id)),
    ] {
        claims.insert(name.to_owned(), v);
    }
    let mut header = json!({"alg": key.alg().name(), "typ": "JWT"});
    if let Some(kid) = key.kid() {
        header["kid"] = json!(kid);
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
    );
    let sig = key.sign_jws(input.as_bytes(), rng).ok_or(MintError::Sign)?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}
