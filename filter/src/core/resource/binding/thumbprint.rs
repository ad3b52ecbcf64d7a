//! RFC 7638 JWK thumbprints with SHA-256, base64url (the value of RFC 9449
//! `cnf.jkt`), for the public key types the filter verifies with: RSA, EC
//! P-256 and P-384, OKP Ed25519.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Longest member value accepted (an RSA 16384-bit modulus is ~2731 chars).
const MAX_MEMBER_CHARS: usize = 4096;

/// Why no thumbprint could be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbprintError {
    /// The JWK is not a JSON object.
    NotObject,
    /// `kty` (or `crv`) names a key type this filter does not handle.
    Unsupported,
    /// A required member is absent.
    Missing(&'static str),
    /// A required member is not a canonical base64url string (or too long).
    BadMember(&'static str),
}

impl ThumbprintError {
    /// Short machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ThumbprintError::NotObject => "jwk_not_object",
            ThumbprintError::Unsupported => "jwk_unsupported",
            ThumbprintError::Missing(_) => "jwk_missing_member",
            ThumbprintError::BadMember(_) => "jwk_bad_member",
        }
    }
}

fn str_member<'a>(
    o: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ThumbprintError> {
    match o.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ThumbprintError::BadMember(name)),
        None => Err(ThumbprintError::Missing(name)),
    }
}

/// A member that must be canonical unpadded base64url (so that the same key
/// always has the same thumbprint and the JSON needs no escaping).
fn b64_member<'a>(
    o: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, ThumbprintError> {
    let s = str_member(o, name)?;
    if s.is_empty() || s.len() > MAX_MEMBER_CHARS || URL_SAFE_NO_PAD.decode(s).is_err() {
        return Err(ThumbprintError::BadMember(name));
    }
    Ok(s)
}

/// The RFC 7638 §3.2 input: the required members in lexicographic order,
/// no whitespace. Every value is base64url or a fixed name: no escaping.
fn canonical_json(jwk: &Value) -> Result<String, ThumbprintError> {
    let o = jwk.as_object().ok_or(ThumbprintError::NotObject)?;
    match str_member(o, "kty")? {
        "RSA" => {
            let e = b64_member(o, "e")?;
            let n = b64_member(o, "n")?;
            Ok(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))
        }
        "EC" => {
            let crv = match str_member(o, "crv")? {
                c @ ("P-256" | "P-384") => c,
                _ => return Err(ThumbprintError::Unsupported),
            };
            let x = b64_member(o, "x")?;
            let y = b64_member(o, "y")?;
            Ok(format!(
                r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#
            ))
        }
        "OKP" => {
            if str_member(o, "crv")? != "Ed25519" {
                return Err(ThumbprintError::Unsupported);
            }
            let x = b64_member(o, "x")?;
            Ok(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#))
        }
        _ => Err(ThumbprintError::Unsupported),
    }
}

/// SHA-256 JWK thumbprint (RFC 7638) of a public JWK, raw bytes.
///
/// Only the required members take part; others (`kid`, `alg`, `use`, and
/// private members) are ignored here: refuse private keys before calling
/// where that matters.
pub fn thumbprint_bytes(jwk: &Value) -> Result<[u8; 32], ThumbprintError> {
    Ok(Sha256::digest(canonical_json(jwk)?.as_bytes()).into())
}

/// SHA-256 JWK thumbprint (RFC 7638) of a public JWK, base64url without
/// padding: the form of `cnf.jkt` (RFC 9449 §6.1).
pub fn thumbprint(jwk: &Value) -> Result<String, ThumbprintError> {
    Ok(URL_SAFE_NO_PAD.encode(thumbprint_bytes(jwk)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7638 §3.1.
    fn rfc7638_key() -> Value {
        json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        })
    }

    #[test]
    fn rfc7638_example() {
        assert_eq!(
            thumbprint(&rfc7638_key()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn optional_and_private_members_do_not_count() {
        let mut k = rfc7638_key();
        let base = thumbprint(&k).unwrap();
        k["use"] = json!("sig");
        k["d"] = json!("AQAB");
        assert_eq!(thumbprint(&k).unwrap(), base);
    }

    #[test]
    fn refuses_what_it_cannot_hash() {
        assert_eq!(thumbprint(&json!([])), Err(ThumbprintError::NotObject));
        assert_eq!(
            thumbprint(&json!({"kty": "oct", "k": "AAAA"})),
            Err(ThumbprintError::Unsupported)
        );
        assert_eq!(
            thumbprint(&json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"})),
            Err(ThumbprintError::Unsupported)
        );
        assert_eq!(
            thumbprint(&json!({"kty": "OKP", "crv": "X25519", "x": "AA"})),
            Err(ThumbprintError::Unsupported)
        );
        assert_eq!(
            thumbprint(&json!({"kty": "RSA", "e": "AQAB"})),
            Err(ThumbprintError::Missing("n"))
        );
        assert_eq!(
            thumbprint(&json!({"kty": "RSA", "e": "AQAB", "n": 5})),
            Err(ThumbprintError::BadMember("n"))
        );
        // Padding, standard alphabet, quotes: not canonical base64url.
        for bad in ["AQAB=", "a+b", "a\"b", ""] {
            assert_eq!(
                thumbprint(&json!({"kty": "OKP", "crv": "Ed25519", "x": bad})),
                Err(ThumbprintError::BadMember("x")),
                "{bad}"
            );
        }
        assert_eq!(thumbprint(&json!({})), Err(ThumbprintError::Missing("kty")));
    }
}
