//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) for signature verification.

use std::collections::HashMap;

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jws::{b64_decode, Alg, KeyKind, Part};
use super::keystore;
use crate::core::util::sorted::merge;

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

/// JWK members that are secret (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037
/// §2): never printed.
pub const SECRET_MEMBERS: [&str; 8] = ["k", "d", "p", "q", "dp", "dq", "qi", "oth"];

/// A JWK or JWK set (as configured) with every [`SECRET_MEMBERS`] value
/// replaced by `"<redacted>"`, for `Debug` output.
pub fn redacted_jwks(v: &Value) -> Value {
    fn key(k: &Value) -> Value {
        match k {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(n, v)| {
                        let v = if SECRET_MEMBERS.contains(&n.as_str()) {
                            Value::String("<redacted>".into())
                        } else {
                            v.clone()
                        };
                        (n.clone(), v)
                    })
                    .collect(),
            ),
            // Not a JWK: print nothing of it.
            _ => Value::String("<redacted>".into()),
        }
    }
    match v {
        Value::Object(m) if m.contains_key("keys") => {
            let mut out = m.clone();
            if let Some(Value::Array(keys)) = m.get("keys") {
                out.insert("keys".into(), Value::Array(keys.iter().map(key).collect()));
            } else {
                out.insert("keys".into(), Value::String("<redacted>".into()));
            }
            Value::Object(out)
        }
        other => key(other),
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
    /// A key-store key configured without a `kid`: it is a candidate for
    /// tokens with any `kid` (a JWK without `kid` is not).
    pub any_kid: bool,
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

/// A parsed JWK set, with its keys indexed by `kid` (built by
/// [`JwkSet::new`] only, so the index always matches the keys): a token's
/// key is found in one lookup however large the set.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    /// Usable keys.
    keys: Vec<Jwk>,
    /// Keys that were skipped (remote sets only), with the reason.
    pub skipped: Vec<JwkError>,
    /// `kid` → positions in `keys`, ascending.
    by_kid: HashMap<String, Vec<usize>>,
    /// Positions of the key-store keys that answer to any `kid`.
    any_kid: Vec<usize>,
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
        let (mut usable, mut skipped) = (Vec::new(), Vec::new());
        for (i, k) in keys.iter().enumerate() {
            match parse_key(k, inline) {
                Ok(Some(jwk)) => usable.push(jwk),
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
                    skipped.push(err);
                }
            }
        }
        Ok(JwkSet::new(usable, skipped))
    }

    /// A set of `keys` (in order), with the keys that were `skipped`.
    pub fn new(keys: Vec<Jwk>, skipped: Vec<JwkError>) -> JwkSet {
        let mut by_kid: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any_kid = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            if k.any_kid {
                any_kid.push(i);
            } else if let Some(kid) = &k.kid {
                by_kid.entry(kid.clone()).or_default().push(i);
            }
        }
        JwkSet {
            keys,
            skipped,
            by_kid,
            any_kid,
        }
    }

    /// The usable keys, in order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The usable keys, in order, taken out of the set.
    pub fn into_keys(self) -> Vec<Jwk> {
        self.keys
    }

    /// Keys that could verify a token with this `alg` and `kid`.
    pub fn candidates<'s>(
        &'s self,
        alg: Alg,
        kid: Option<&'s str>,
    ) -> impl Iterator<Item = &'s Jwk> + 's {
        // With a `kid`: the keys carrying it and the key-store keys that
        // answer to any, in the set's order.
        let all = kid.is_none().then(|| self.keys.iter());
        let picked = kid.map(|kid| {
            let carrying = self.by_kid.get(kid).map(Vec::as_slice).unwrap_or_default();
            merge(carrying, &self.any_kid).filter_map(|i| self.keys.get(i))
        });
        all.into_iter()
            .flatten()
            .chain(picked.into_iter().flatten())
            .filter(move |k| k.fits(alg))
    }

    /// Whether any key answers to this `kid` (carries it, or is a
    /// key-store key that answers to any).
    pub fn has_kid(&self, kid: &str) -> bool {
        !self.any_kid.is_empty() || self.by_kid.contains_key(kid)
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
    let kty = member(o, "kty")?;
    let material = match o.get("x5c") {
        None => own_material(o, kty, allow_oct)?,
        Some(x5c) => match x5c_material(o, kty, x5c, allow_oct) {
            Ok(m) => m,
            // A fetched set (`allow_oct` false): a certificate this parser
            // cannot read does not cost a key its own members (many
            // providers publish x5c that nobody checks). A readable
            // certificate of another key still refuses it.
            Err(e) if !allow_oct && e.0 == ".x5c[0]" && has_own_members(o, kty) => {
                own_material(o, kty, allow_oct).map_err(|_| e)?
            }
            Err(e) => return Err(e),
        },
    };
    let jwk = Jwk {
        kid,
        alg,
        material,
        any_kid: false,
    };
    if let Some(a) = alg {
        if !jwk.fits(a) {
            return Err((".alg".to_owned(), "does not match the key type".to_owned()));
        }
    }
    Ok(Some(jwk))
}

fn bad(m: &str, msg: &str) -> (String, String) {
    (m.to_owned(), msg.to_owned())
}

/// The key a JWK describes with its own members (`n`/`e`, `crv`/`x`/`y`,
/// `k`).
fn own_material(
    o: &Map<String, Value>,
    kty: &str,
    allow_oct: bool,
) -> Result<KeyMaterial, (String, String)> {
    Ok(match kty {
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
    })
}

/// The key of a JWK with `x5c` (RFC 7517 §4.7): the public key of the first
/// certificate (standard base64 with padding, DER). If the JWK also carries
/// its own key members they must describe the same key; without them the
/// certificate's key is used (its type must fit `kty`, and `crv` if given).
/// `x5t#S256`, if present, must be the SHA-256 thumbprint of that
/// certificate. The certificate is only a carrier of the key: validity
/// period, chain and signature are not checked (see [`super::keystore`]).
fn has_own_members(o: &Map<String, Value>, kty: &str) -> bool {
    match kty {
        "RSA" => o.contains_key("n"),
        "EC" | "OKP" => o.contains_key("x"),
        _ => false,
    }
}

fn x5c_material(
    o: &Map<String, Value>,
    kty: &str,
    x5c: &Value,
    allow_oct: bool,
) -> Result<KeyMaterial, (String, String)> {
    match kty {
        "RSA" | "EC" | "OKP" => {}
        "oct" => return Err(bad(".x5c", "is not allowed on symmetric keys")),
        // The unsupported-type error, as without x5c.
        _ => return own_material(o, kty, allow_oct),
    }
    let first = match x5c {
        Value::Array(certs) if certs.iter().all(Value::is_string) => match certs.first() {
            Some(Value::String(s)) => s,
            _ => return Err(bad(".x5c", "must not be empty")),
        },
        _ => return Err(bad(".x5c", "must be an array of strings")),
    };
    let der = STANDARD
        .decode(first)
        .map_err(|_| bad(".x5c[0]", "is not base64 (standard alphabet, padded)"))?;
    if let Some(t) = o.get("x5t#S256") {
        let t = match t {
            Value::String(t) => {
                b64_decode(t, Part::Payload).map_err(|_| bad(".x5t#S256", "is not base64url"))?
            }
            _ => return Err(bad(".x5t#S256", "must be a string")),
        };
        if t.as_slice() != Sha256::digest(&der).as_slice() {
            return Err(bad(
                ".x5t#S256",
                "is not the SHA-256 thumbprint of the first x5c certificate",
            ));
        }
    }
    let cert_key = keystore::key_from_der_certificate(&der)
        .map_err(|e| (".x5c[0]".to_owned(), e.to_string()))?;
    let own_members: &[&str] = match kty {
        "RSA" => &["n", "e"],
        "EC" => &["x", "y"],
        _ => &["x"],
    };
    if own_members.iter().any(|m| o.contains_key(*m)) {
        let own = own_material(o, kty, allow_oct)?;
        if !keystore::same_key(&own, &cert_key) {
            return Err(bad(
                ".x5c",
                "the certificate's key is not the key the JWK describes",
            ));
        }
        return Ok(own);
    }
    let kind = cert_key.kind();
    let fits = match (kty, o.get("crv")) {
        ("RSA", _) => kind == KeyKind::Rsa,
        ("EC", None) => matches!(kind, KeyKind::P256 | KeyKind::P384),
        // OKP
        (_, None) => kind == KeyKind::Ed25519,
        (_, Some(_)) => {
            let expected = match member(o, "crv")? {
                "P-256" if kty == "EC" => KeyKind::P256,
                "P-384" if kty == "EC" => KeyKind::P384,
                "Ed25519" if kty == "OKP" => KeyKind::Ed25519,
                other => return Err(bad(".crv", &format!("unsupported curve {other:?}"))),
            };
            kind == expected
        }
    };
    if !fits {
        return Err(bad(
            ".x5c",
            "the certificate's key does not fit the JWK's kty/crv",
        ));
    }
    Ok(cert_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vector_keys() -> Vec<Value> {
        let v: Value =
            serde_json::from_str(include_str!("../../../tests/vectors/vectors.json")).unwrap();
        v["config"]["providers"][0]["jwks"]["inline"]["keys"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn key(kid: &str) -> Value {
        vector_keys().into_iter().find(|k| k["kid"] == kid).unwrap()
    }

    #[test]
    fn parses_every_vector_key() {
        let set = JwkSet::from_value(&json!({ "keys": vector_keys() }), true).unwrap();
        let kinds: Vec<KeyKind> = set.keys().iter().map(|k| k.material.kind()).collect();
        assert_eq!(
            kinds,
            [
                KeyKind::Rsa,
                KeyKind::P256,
                KeyKind::P384,
                KeyKind::Ed25519,
                KeyKind::Oct
            ]
        );
        assert!(set.has_kid("ec384"));
        assert_eq!(set.candidates(Alg::Ps512, None).count(), 1);
        assert_eq!(set.candidates(Alg::Hs256, Some("rsa1")).count(), 0);
    }

    /// The `kid` index gives what a scan of the set gives, in the set's
    /// order: the keys carrying the `kid` and the key-store keys that
    /// answer to any, among many others.
    #[test]
    fn kid_lookup_matches_a_scan_of_the_set() {
        let rsa = parse_key(&key("rsa1"), true).unwrap().unwrap();
        let with = |kid: Option<&str>, any: bool| Jwk {
            kid: kid.map(str::to_owned),
            any_kid: any,
            ..rsa.clone()
        };
        let mut keys: Vec<Jwk> = (0..100)
            .map(|i| with(Some(&format!("k{i}")), false))
            .collect();
        keys.insert(40, with(None, true));
        keys.insert(70, with(Some("k7"), false));
        keys.push(with(None, false));
        let set = JwkSet::new(keys.clone(), Vec::new());
        let scan = |kid: Option<&str>| -> Vec<*const Jwk> {
            set.keys()
                .iter()
                .filter(|k| kid.is_none_or(|kid| k.any_kid || k.kid.as_deref() == Some(kid)))
                .filter(|k| k.fits(Alg::Rs256))
                .map(|k| k as *const Jwk)
                .collect()
        };
        for kid in [Some("k7"), Some("k99"), Some("nope"), None] {
            let got: Vec<*const Jwk> = set
                .candidates(Alg::Rs256, kid)
                .map(|k| k as *const Jwk)
                .collect();
            assert_eq!(got, scan(kid), "{kid:?}");
        }
        assert_eq!(set.candidates(Alg::Rs256, Some("k7")).count(), 3);
        assert!(set.has_kid("nope"), "a key that answers to any kid");
        let plain = JwkSet::new(
            keys.into_iter().filter(|k| !k.any_kid).collect(),
            Vec::new(),
        );
        assert!(plain.has_kid("k42") && !plain.has_kid("nope"));
        assert_eq!(plain.candidates(Alg::Rs256, Some("nope")).count(), 0);
    }

    #[test]
    fn remote_sets_skip_bad_keys_and_secrets() {
        let mut bad_ec = key("ec256");
        bad_ec["y"] = json!(bad_ec["x"].clone()); // almost surely not on the curve
        let mut enc = key("rsa1");
        enc["use"] = json!("enc");
        let mut small = key("rsa1");
        small["n"] = json!("AQAB");
        let mut mismatch = key("ec384");
        mismatch["alg"] = json!("ES256");
        let doc = json!({ "keys": [key("hmac1"), bad_ec, enc, small, mismatch, key("ed1"), {"kty": "XYZ"}, 5] });
        let set = JwkSet::from_value(&doc, false).unwrap();
        assert_eq!(set.keys.len(), 1, "only ed1 is usable: {:?}", set.keys);
        let paths: Vec<&str> = set.skipped.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".keys[0].kty",
                ".keys[1].x",
                ".keys[3].n",
                ".keys[4].alg",
                ".keys[6].kty",
                ".keys[7]"
            ]
        );
        // Inline sets refuse the first bad key, naming it.
        let e = JwkSet::from_value(
            &json!({"keys": [key("ed1"), {"kty": "EC", "crv": "P-521"}]}),
            true,
        )
        .unwrap_err();
        assert_eq!(e.path, ".keys[1].crv");
        assert!(JwkSet::from_value(&json!({"keys": {}}), false).is_err());
    }

    #[test]
    fn key_alg_restricts_use() {
        let mut k = key("rsa1");
        k["alg"] = json!("PS256");
        let set = JwkSet::from_value(&json!({ "keys": [k] }), true).unwrap();
        assert_eq!(set.candidates(Alg::Ps256, Some("rsa1")).count(), 1);
        assert_eq!(set.candidates(Alg::Rs256, Some("rsa1")).count(), 0);
    }

    #[test]
    fn debug_never_prints_secrets() {
        let set = JwkSet::from_value(&json!({ "keys": [key("hmac1")] }), true).unwrap();
        let k = key("hmac1");
        assert!(!format!("{set:?}").contains(k["k"].as_str().unwrap()));
    }
}
