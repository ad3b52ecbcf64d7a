//! Private JWKs (RFC 7518 §6) that decrypt: RSA, EC P-256 / P-384, oct.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Map, Value};

use super::{Enc, KeyAlg};
use crate::core::jose::jwk::MIN_RSA_BITS;

/// A private JWK that cannot decrypt: the member at fault and why (never
/// the member's value).
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

/// The kind of a decryption key (what `Debug` shows of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `kty: RSA`.
    Rsa,
    /// `kty: EC, crv: P-256`.
    P256,
    /// `kty: EC, crv: P-384`.
    P384,
    /// `kty: oct`, with its length in bytes.
    Oct(usize),
}

pub(super) enum Material {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    Oct(Vec<u8>),
}

/// One configured decryption key. `Debug` shows `kid`, `alg` and the kind,
/// never key bytes.
pub struct DecryptionKey {
    /// `kid`, if any.
    pub kid: Option<String>,
    /// `alg`, if the key is restricted to one key management algorithm.
    pub alg: Option<KeyAlg>,
    pub(super) material: Material,
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kind", &self.kind())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Lengths of accepted oct keys: A128KW or dir with A128GCM; A256KW or dir
/// with A256GCM / A128CBC-HS256; dir with A256CBC-HS512.
const OCT_LENS: [usize; 3] = [16, 32, 64];

impl DecryptionKey {
    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        match &self.material {
            Material::Rsa(_) => KeyKind::Rsa,
            Material::P256(_) => KeyKind::P256,
            Material::P384(_) => KeyKind::P384,
            Material::Oct(k) => KeyKind::Oct(k.len()),
        }
    }

    /// Whether this key can serve `alg` with `enc` (`curve`: that of the
    /// token's `epk`, for ECDH-ES).
    pub(super) fn fits(&self, alg: KeyAlg, enc: Enc, curve: Option<KeyKind>) -> bool {
        self.alg.is_none_or(|a| a == alg) && kind_fits(self.kind(), alg, Some(enc), curve)
    }

    /// Parse a private JWK. `use`, if present, must be `enc`; `alg`, if
    /// present, must be a supported key management algorithm for this key.
    pub fn from_jwk(jwk: &Value) -> Result<DecryptionKey, KeyError> {
        let o = jwk
            .as_object()
            .ok_or_else(|| err("kty", "the key must be a JSON object"))?;
        match o.get("use") {
            None => {}
            Some(Value::String(u)) if u == "enc" => {}
            Some(_) => return Err(err("use", "must be \"enc\"")),
        }
        let kid = match o.get("kid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(err("kid", "must be a string")),
        };
        let alg = match o.get("alg") {
            None => None,
            Some(Value::String(s)) => Some(
                KeyAlg::from_name(s)
                    .ok_or_else(|| err("alg", "not a supported key management algorithm"))?,
            ),
            Some(_) => return Err(err("alg", "must be a string")),
        };
        let material = match o.get("kty").and_then(Value::as_str).unwrap_or("") {
            "RSA" => Material::Rsa(Box::new(rsa_key(o)?)),
            "EC" => ec_key(o)?,
            "oct" => {
                let k = b64_member(o, "k")?;
                if !OCT_LENS.contains(&k.len()) {
                    return Err(err("k", "must be 16, 32 or 64 bytes"));
                }
                Material::Oct(k)
            }
            _ => return Err(err("kty", "must be RSA, EC or oct")),
        };
        let key = DecryptionKey { kid, alg, material };
        if let Some(a) = alg {
            if !kind_fits(key.kind(), a, None, None) {
                return Err(err("alg", "does not match the key"));
            }
        }
        Ok(key)
    }
}

/// `enc` / `curve`: None when not known yet (checking a key's own `alg`).
fn kind_fits(kind: KeyKind, alg: KeyAlg, enc: Option<Enc>, curve: Option<KeyKind>) -> bool {
    match alg {
        KeyAlg::RsaOaep | KeyAlg::RsaOaep256 => kind == KeyKind::Rsa,
        KeyAlg::EcdhEs | KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw => {
            matches!(kind, KeyKind::P256 | KeyKind::P384) && curve.is_none_or(|c| c == kind)
        }
        KeyAlg::A128Kw => kind == KeyKind::Oct(16),
        KeyAlg::A256Kw => kind == KeyKind::Oct(32),
        KeyAlg::Dir => match (kind, enc) {
            (KeyKind::Oct(n), Some(e)) => n == e.key_len(),
            (KeyKind::Oct(_), None) => true,
            _ => false,
        },
    }
}

fn b64_member(o: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let s = o
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| err(name, "missing (base64url string)"))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| err(name, "not unpadded base64url"))
}

fn rsa_key(o: &Map<String, Value>) -> Result<rsa::RsaPrivateKey, KeyError> {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    if o.contains_key("oth") {
        return Err(err("oth", "multi-prime RSA keys are not supported"));
    }
    let big = |n: &'static str| b64_member(o, n).map(|b| rsa::BigUint::from_bytes_be(&b));
    let n = big("n")?;
    if n.bits() < MIN_RSA_BITS {
        return Err(err("n", "RSA keys need at least 2048 bits"));
    }
    let (e, d, p, q) = (big("e")?, big("d")?, big("p")?, big("q")?);
    let key = rsa::RsaPrivateKey::from_components(n, e, d, vec![p, q])
        .map_err(|_| err("n", "not a valid RSA private key"))?;
    if key.size() * 8 < MIN_RSA_BITS {
        return Err(err("n", "RSA keys need at least 2048 bits"));
    }
    // The CRT members are recomputed; when given they must agree (catches
    // a key pasted together from two keys).
    let given = |n: &'static str| o.contains_key(n).then(|| big(n)).transpose();
    if let Some(dp) = given("dp")? {
        if key.dp() != Some(&dp) {
            return Err(err("dp", "does not match p and d"));
        }
    }
    if let Some(dq) = given("dq")? {
        if key.dq() != Some(&dq) {
            return Err(err("dq", "does not match q and d"));
        }
    }
    if let Some(qi) = given("qi")? {
        if key.crt_coefficient() != Some(qi) {
            return Err(err("qi", "does not match p and q"));
        }
    }
    Ok(key)
}

fn ec_key(o: &Map<String, Value>) -> Result<Material, KeyError> {
    let d = b64_member(o, "d")?;
    let (material, point) = match o.get("crv").and_then(Value::as_str).unwrap_or("") {
        "P-256" => {
            if d.len() != 32 {
                return Err(err("d", "must be 32 bytes"));
            }
            let k =
                p256::SecretKey::from_slice(&d).map_err(|_| err("d", "not a P-256 private key"))?;
            let p = k.public_key().to_encoded_point(false).as_bytes().to_vec();
            (Material::P256(k), p)
        }
        "P-384" => {
            if d.len() != 48 {
                return Err(err("d", "must be 48 bytes"));
            }
            let k =
                p384::SecretKey::from_slice(&d).map_err(|_| err("d", "not a P-384 private key"))?;
            let p = k.public_key().to_encoded_point(false).as_bytes().to_vec();
            (Material::P384(k), p)
        }
        _ => return Err(err("crv", "must be P-256 or P-384")),
    };
    // Uncompressed SEC1: 0x04 || x || y. x and y, when given, must belong
    // to d.
    let coords = point.get(1..).unwrap_or_default();
    let (x, y) = coords.split_at(coords.len() / 2);
    if o.contains_key("x") && b64_member(o, "x")? != x {
        return Err(err("x", "does not match d"));
    }
    if o.contains_key("y") && b64_member(o, "y")? != y {
        return Err(err("y", "does not match d"));
    }
    Ok(material)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oct_keys() {
        let k = |b: usize, alg: Option<&str>| {
            let mut j =
                json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(vec![7u8; b]), "kid": "s"});
            if let Some(a) = alg {
                j["alg"] = json!(a);
            }
            DecryptionKey::from_jwk(&j)
        };
        let key = k(16, None).unwrap();
        assert_eq!(key.kind(), KeyKind::Oct(16));
        assert!(key.fits(KeyAlg::A128Kw, Enc::A256CbcHs512, None));
        assert!(key.fits(KeyAlg::Dir, Enc::A128Gcm, None));
        assert!(!key.fits(KeyAlg::Dir, Enc::A256Gcm, None));
        assert!(!key.fits(KeyAlg::A256Kw, Enc::A128Gcm, None));
        assert_eq!(k(24, None).unwrap_err().member, "k");
        assert_eq!(k(16, Some("A256KW")).unwrap_err().member, "alg");
        assert_eq!(k(16, Some("RSA-OAEP")).unwrap_err().member, "alg");
        assert_eq!(k(16, Some("A1")).unwrap_err().member, "alg");
        let dir = k(64, Some("dir")).unwrap();
        assert!(dir.fits(KeyAlg::Dir, Enc::A256CbcHs512, None));
        assert!(!dir.fits(KeyAlg::A256Kw, Enc::A256CbcHs512, None));
        let dbg = format!("{dir:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("Bwc"), "{dbg}");
    }

    #[test]
    fn bad_keys() {
        let e = |j: Value| DecryptionKey::from_jwk(&j).unwrap_err().member;
        assert_eq!(e(json!({"kty": "oct", "k": "AAAA", "use": "sig"})), "use");
        assert_eq!(e(json!({"kty": "OKP"})), "kty");
        assert_eq!(e(json!(5)), "kty");
        assert_eq!(e(json!({"kty": "EC", "crv": "P-521", "d": "AA"})), "crv");
        assert_eq!(e(json!({"kty": "EC", "crv": "P-256", "d": "AA"})), "d");
        let zero = URL_SAFE_NO_PAD.encode([0u8; 32]);
        assert_eq!(e(json!({"kty": "EC", "crv": "P-256", "d": zero})), "d");
        assert_eq!(e(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})), "n");
    }

    #[test]
    fn ec_key_checks_public_part() {
        let d = URL_SAFE_NO_PAD.encode([1u8; 32]);
        let good = DecryptionKey::from_jwk(&json!({"kty": "EC", "crv": "P-256", "d": d}));
        assert_eq!(good.unwrap().kind(), KeyKind::P256);
        let other = URL_SAFE_NO_PAD.encode([2u8; 32]);
        let bad = json!({"kty": "EC", "crv": "P-256", "d": d, "x": other});
        assert_eq!(DecryptionKey::from_jwk(&bad).unwrap_err().member, "x");
    }
}
