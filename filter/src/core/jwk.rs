//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) for signature verification.

use std::fmt;

use serde_json::{Map, Value};

use super::jose::{b64_decode, Alg, KeyKind, Part};

/// Public (or, for HMAC, shared) verification key material.
#[derive(Clone)]
pub enum KeyMaterial {
    /// RSA public key.
    Rsa(rsa::RsaPublicKey),
    /// ECDSA P-256 public key.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384 public key.
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519 public key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// HMAC secret.
    Oct(Vec<u8>),
}

impl KeyMaterial {
    /// Which algorithms family this key serves.
    pub fn kind(&self) -> KeyKind {
        match self {
            KeyMaterial::Rsa(_) => KeyKind::Rsa,
            KeyMaterial::P256(_) => KeyKind::P256,
            KeyMaterial::P384(_) => KeyKind::P384,
            KeyMaterial::Ed25519(_) => KeyKind::Ed25519,
            KeyMaterial::Oct(_) => KeyKind::Oct,
        }
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key bytes (an oct key is a secret).
        write!(f, "{:?}", self.kind())
    }
}

/// One usable verification key.
#[derive(Debug, Clone)]
pub struct Jwk {
    /// `kid`, if any.
    pub kid: Option<String>,
    /// `alg`, if the key is restricted to one algorithm.
    pub alg: Option<Alg>,
    /// The key.
    pub material: KeyMaterial,
}

impl Jwk {
    /// Whether this key may verify `alg`.
    pub fn fits(&self, alg: Alg) -> bool {
        self.material.kind() == alg.key_kind() && self.alg.is_none_or(|a| a == alg)
    }
}

/// A key that could not be used, with the member at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwkError {
    /// Path below the set, e.g. `.keys[2].x`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A parsed JWK set.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    /// Usable keys.
    pub keys: Vec<Jwk>,
    /// Keys that were skipped (remote sets only), with the reason.
    pub skipped: Vec<JwkError>,
}

/// Smallest accepted RSA modulus.
pub const MIN_RSA_BITS: usize = 2048;

impl JwkSet {
    /// Parse `{"keys": [...]}`.
    ///
    /// `inline` (a set from the configuration): every key must be usable, and
    /// `oct` keys are allowed. Otherwise (a fetched set): bad keys are skipped
    /// and listed in `skipped`, `oct` keys are skipped.
    pub fn from_value(v: &Value, inline: bool) -> Result<JwkSet, JwkError> {
        let e = |path: &str, m: &str| JwkError {
            path: path.to_owned(),
            message: m.to_owned(),
        };
        let obj = v
            .as_object()
            .ok_or_else(|| e("", "must be a JSON object"))?;
        let keys = match obj.get("keys") {
            Some(Value::Array(a)) => a,
            _ => return Err(e(".keys", "must be an array")),
        };
        let mut set = JwkSet::default();
        for (i, k) in keys.iter().enumerate() {
            match parse_key(k, inline) {
                Ok(Some(jwk)) => set.keys.push(jwk),
                Ok(None) if inline => {
                    return Err(e(
                        &format!(".keys[{i}].use"),
                        "only signature keys (use: sig) are accepted",
                    ))
                }
                Ok(None) => {}
                Err((member, msg)) => {
                    let err = JwkError {
                        path: format!(".keys[{i}]{member}"),
                        message: msg,
                    };
                    if inline {
                        return Err(err);
                    }
                    set.skipped.push(err);
                }
            }
        }
        Ok(set)
    }

    /// Keys that could verify a token with this `alg` and `kid`.
    pub fn candidates<'s>(
        &'s self,
        alg: Alg,
        kid: Option<&'s str>,
    ) -> impl Iterator<Item = &'s Jwk> + 's {
        self.keys
            .iter()
            .filter(move |k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
            .filter(move |k| k.fits(alg))
    }

    /// Whether any key carries this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

type KeyResult = Result<Option<Jwk>, (String, String)>;

fn member<'a>(o: &'a Map<String, Value>, name: &str) -> Result<&'a str, (String, String)> {
    match o.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err((format!(".{name}"), "must be a string".to_owned())),
        None => Err((format!(".{name}"), "is required".to_owned())),
    }
}

fn bytes(o: &Map<String, Value>, name: &str) -> Result<Vec<u8>, (String, String)> {
    b64_decode(member(o, name)?, Part::Payload)
        .map_err(|_| (format!(".{name}"), "is not base64url".to_owned()))
}

fn fixed(o: &Map<String, Value>, name: &str, len: usize) -> Result<Vec<u8>, (String, String)> {
    let b = bytes(o, name)?;
    if b.len() != len {
        return Err((format!(".{name}"), format!("must be {len} bytes")));
    }
    Ok(b)
}

fn parse_key(v: &Value, allow_oct: bool) -> KeyResult {
    let o = v
        .as_object()
        .ok_or_else(|| (String::new(), "must be a JSON object".to_owned()))?;
    match o.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(Value::String(_)) => return Ok(None),
        Some(_) => return Err((".use".to_owned(), "must be a string".to_owned())),
    }
    let kid = match o.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err((".kid".to_owned(), "must be a string".to_owned())),
    };
    let alg = match o.get("alg") {
        None => None,
        Some(Value::String(s)) => Some(
            Alg::from_name(s)
                .ok_or_else(|| (".alg".to_owned(), format!("unsupported algorithm {s:?}")))?,
        ),
        Some(_) => return Err((".alg".to_owned(), "must be a string".to_owned())),
    };
    let bad = |m: &str, msg: &str| (m.to_owned(), msg.to_owned());
    let material = match member(o, "kty")? {
        "RSA" => {
            let n = bytes(o, "n")?;
            let e = bytes(o, "e")?;
            let n = rsa::BigUint::from_bytes_be(&n);
            if n.bits() < MIN_RSA_BITS {
                return Err(bad(".n", "RSA keys need at least 2048 bits"));
            }
            let e = rsa::BigUint::from_bytes_be(&e);
            let key = rsa::RsaPublicKey::new(n, e)
                .map_err(|_| bad(".n", "not a valid RSA public key"))?;
            KeyMaterial::Rsa(key)
        }
        "EC" => match member(o, "crv")? {
            "P-256" => {
                let mut sec1 = vec![4u8];
                sec1.extend(fixed(o, "x", 32)?);
                sec1.extend(fixed(o, "y", 32)?);
                KeyMaterial::P256(
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                        .map_err(|_| bad(".x", "not a point on P-256"))?,
                )
            }
            "P-384" => {
                let mut sec1 = vec![4u8];
                sec1.extend(fixed(o, "x", 48)?);
                sec1.extend(fixed(o, "y", 48)?);
                KeyMaterial::P384(
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                        .map_err(|_| bad(".x", "not a point on P-384"))?,
                )
            }
            other => return Err(bad(".crv", &format!("unsupported curve {other:?}"))),
        },
        "OKP" => match member(o, "crv")? {
            "Ed25519" => {
                let x = fixed(o, "x", 32)?;
                let mut arr = [0u8; 32];
                arr.copy_from_slice(&x);
                let key = ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map_err(|_| bad(".x", "not an Ed25519 public key"))?;
                if key.is_weak() {
                    return Err(bad(".x", "weak Ed25519 key"));
                }
                KeyMaterial::Ed25519(key)
            }
            other => return Err(bad(".crv", &format!("unsupported curve {other:?}"))),
        },
        "oct" => {
            if !allow_oct {
                return Err(bad(".kty", "symmetric keys are only accepted inline"));
            }
            let k = bytes(o, "k")?;
            if k.len() < 32 {
                return Err(bad(".k", "HMAC keys need at least 32 bytes"));
            }
            KeyMaterial::Oct(k)
        }
        other => return Err(bad(".kty", &format!("unsupported key type {other:?}"))),
    };
    let jwk = Jwk { kid, alg, material };
    if let Some(a) = alg {
        if !jwk.fits(a) {
            return Err(bad(".alg", "does not match the key type"));
        }
    }
    Ok(Some(jwk))
}
