//! Verification keys from a key store: PEM `PUBLIC KEY` (SubjectPublicKeyInfo,
//! RFC 5280 §4.1.2.7) and `CERTIFICATE` blocks (RFC 7468), and DER X.509
//! certificates, next to JWK sets (PingGateway's stateless resolver accepts
//! keys from either). The same certificate parsing serves a JWK's `x5c`
//! ([`super::jwk`]).
//!
//! Accepted keys are the ones a JWK may carry: RSA of at least
//! [`MIN_RSA_BITS`] bits (`rsaEncryption`), ECDSA P-256 and P-384
//! (`id-ecPublicKey` with a named curve) and Ed25519 (`id-Ed25519`, not a weak
//! key). Anything else is refused with a [`KeyStoreError`] that names the
//! problem but never carries key bytes.
//!
//! **A certificate here is only a carrier of a configured, trusted key.**
//! Its validity period, issuer, chain, key usage, extensions and signature
//! are deliberately *not* checked: trust comes from the configuration (or
//! from the JWK set the certificate sits in), not from a PKI. An expired
//! certificate therefore still yields its key; remove it from the
//! configuration to stop trusting it.
//!
//! Everything is pure RustCrypto (`x509-cert`, `spki`, `der`,
//! `pem-rfc7468`, `rsa`, `p256`, `p384`, `ed25519-dalek`) and panic-free on
//! any input.

use std::fmt;

use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Any, Decode};
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use super::jwk::{Jwk, JwkSet, KeyMaterial, MIN_RSA_BITS};

/// `rsaEncryption` (RFC 8017 appendix C).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480 §2.1.1).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (RFC 5480 §2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (RFC 5480 §2.1.1.1).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `id-Ed25519` (RFC 8410 §3).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// PEM label of a SubjectPublicKeyInfo.
pub const LABEL_PUBLIC_KEY: &str = "PUBLIC KEY";
/// PEM label of an X.509 certificate.
pub const LABEL_CERTIFICATE: &str = "CERTIFICATE";

/// Why one key (one PEM block, one certificate) could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The PEM armor is malformed (boundaries, label, base64, headers).
    PemArmor,
    /// A `-----BEGIN ...-----` line without its matching `-----END` line.
    PemUnterminated,
    /// A PEM block with a label other than `PUBLIC KEY` or `CERTIFICATE`
    /// (e.g. a private key).
    PemLabel(String),
    /// Not a DER X.509 certificate.
    Certificate,
    /// Not a DER SubjectPublicKeyInfo.
    PublicKeyInfo,
    /// A key algorithm other than RSA, EC or Ed25519 (its OID).
    Algorithm(String),
    /// An EC key on a curve other than P-256 or P-384 (its OID, or
    /// `"<missing>"`).
    Curve(String),
    /// An RSA key smaller than [`MIN_RSA_BITS`] (its size in bits).
    RsaTooSmall(usize),
    /// The algorithm parameters do not fit the algorithm.
    Parameters,
    /// The key bytes do not form a valid key of that type (e.g. a point not
    /// on the curve, or an RSA key too large or with a bad exponent).
    InvalidKey(&'static str),
    /// A weak (small-order) Ed25519 key.
    WeakEd25519,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::PemArmor => f.write_str("malformed PEM block"),
            KeyProblem::PemUnterminated => f.write_str("PEM block without its END line"),
            KeyProblem::PemLabel(l) => write!(
                f,
                "unsupported PEM block {l:?} (expected {LABEL_PUBLIC_KEY:?} or {LABEL_CERTIFICATE:?})"
            ),
            KeyProblem::Certificate => f.write_str("not a DER X.509 certificate"),
            KeyProblem::PublicKeyInfo => f.write_str("not a DER SubjectPublicKeyInfo"),
            KeyProblem::Algorithm(oid) => write!(f, "unsupported key algorithm {oid}"),
            KeyProblem::Curve(oid) => write!(f, "unsupported elliptic curve {oid}"),
            KeyProblem::RsaTooSmall(bits) => write!(
                f,
                "RSA keys need at least {MIN_RSA_BITS} bits (this one has {bits})"
            ),
            KeyProblem::Parameters => f.write_str("unexpected key algorithm parameters"),
            KeyProblem::InvalidKey(what) => write!(f, "not a valid {what} public key"),
            KeyProblem::WeakEd25519 => f.write_str("weak Ed25519 key"),
        }
    }
}

/// A key store entry that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStoreError {
    /// The PEM text holds no `-----BEGIN` block at all.
    NoPemBlock,
    /// PEM block number `block` (from 0, in text order) is unusable.
    Block {
        /// Index of the block in the text, from 0.
        block: usize,
        /// What is wrong with it.
        problem: KeyProblem,
    },
    /// A single (DER) key or certificate is unusable.
    Key(KeyProblem),
}

impl KeyStoreError {
    /// What is wrong, without the block position.
    pub fn problem(&self) -> Option<&KeyProblem> {
        match self {
            KeyStoreError::NoPemBlock => None,
            KeyStoreError::Block { problem, .. } | KeyStoreError::Key(problem) => Some(problem),
        }
    }
}

impl fmt::Display for KeyStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyStoreError::NoPemBlock => f.write_str("no PEM block found"),
            KeyStoreError::Block { block, problem } => write!(f, "PEM block {block}: {problem}"),
            KeyStoreError::Key(problem) => fmt::Display::fmt(problem, f),
        }
    }
}

impl std::error::Error for KeyStoreError {}

/// Every key in a PEM text: `PUBLIC KEY` and `CERTIFICATE` blocks, in text
/// order. Text outside the blocks (comments, `subject=` lines of a bundle)
/// is ignored; each block follows RFC 7468's strict grammar.
///
/// All blocks must be usable: the first bad one fails the whole text with
/// [`KeyStoreError::Block`] naming its index. Certificates are not
/// validated (see the module documentation): only their public key is used.
pub fn keys_from_pem(text: &str) -> Result<Vec<KeyMaterial>, KeyStoreError> {
    let mut keys = Vec::new();
    for (block, pem) in pem_blocks(text).enumerate() {
        let key = pem
            .ok_or(KeyProblem::PemUnterminated)
            .and_then(key_from_pem_block)
            .map_err(|problem| KeyStoreError::Block { block, problem })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(KeyStoreError::NoPemBlock);
    }
    Ok(keys)
}

/// The public key of one DER X.509 certificate. Neither the validity
/// period nor the chain nor the signature is checked (see the module
/// documentation).
pub fn key_from_der_certificate(der: &[u8]) -> Result<KeyMaterial, KeyStoreError> {
    certificate_key(der).map_err(KeyStoreError::Key)
}

/// The key of one DER SubjectPublicKeyInfo (the content of a PEM `PUBLIC
/// KEY` block).
pub fn key_from_der_public_key(der: &[u8]) -> Result<KeyMaterial, KeyStoreError> {
    spki_key(der).map_err(KeyStoreError::Key)
}

/// Key store keys as JWK set entries: each gets `kid` (a configured one, or
/// none) and no `alg` restriction, so the token's `alg` picks the
/// algorithm within the key's family.
pub fn to_jwks(keys: Vec<KeyMaterial>, kid: Option<&str>) -> Vec<Jwk> {
    keys.into_iter()
        .map(|material| Jwk {
            kid: kid.map(str::to_owned),
            alg: None,
            material,
            any_kid: kid.is_none(),
        })
        .collect()
}

/// [`keys_from_pem`] then [`to_jwks`], as a [`JwkSet`] (nothing skipped).
pub fn jwk_set_from_pem(text: &str, kid: Option<&str>) -> Result<JwkSet, KeyStoreError> {
    Ok(JwkSet::new(to_jwks(keys_from_pem(text)?, kid), Vec::new()))
}

/// Whether two keys are the same public key (never true for HMAC secrets:
/// a certificate cannot carry one).
pub fn same_key(a: &KeyMaterial, b: &KeyMaterial) -> bool {
    match (a, b) {
        (KeyMaterial::Rsa(a), KeyMaterial::Rsa(b)) => a == b,
        (KeyMaterial::P256(a), KeyMaterial::P256(b)) => a == b,
        (KeyMaterial::P384(a), KeyMaterial::P384(b)) => a == b,
        (KeyMaterial::Ed25519(a), KeyMaterial::Ed25519(b)) => a == b,
        _ => false,
    }
}

/// The PEM blocks of `text`: each from its `-----BEGIN <label>-----` line
/// through the matching `-----END <label>-----` line, or `None` when the END
/// line is missing (which ends the scan).
fn pem_blocks(text: &str) -> impl Iterator<Item = Option<&str>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = find_line_start(rest, "-----BEGIN ")?;
        let from_begin = rest.get(start..)?;
        let first_line = from_begin.split(['\r', '\n']).next().unwrap_or("");
        let label = first_line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
            .unwrap_or("");
        let end_line = format!("-----END {label}-----");
        match find_line_start(from_begin, &end_line) {
            Some(end) if end > 0 => {
                let stop = end + end_line.len();
                let block = from_begin.get(..stop);
                rest = from_begin.get(stop..).unwrap_or("");
                Some(block)
            }
            _ => {
                rest = "";
                Some(None)
            }
        }
    })
}

/// Byte offset of the first line of `text` that starts with `prefix`.
fn find_line_start(text: &str, prefix: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with(prefix) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

fn key_from_pem_block(block: &str) -> Result<KeyMaterial, KeyProblem> {
    let (label, der) =
        pem_rfc7468::decode_vec(block.as_bytes()).map_err(|_| KeyProblem::PemArmor)?;
    match label {
        LABEL_PUBLIC_KEY => spki_key(&der),
        LABEL_CERTIFICATE => certificate_key(&der),
        other => Err(KeyProblem::PemLabel(crate::core::util::text::prefix_chars(
            other, 64,
        ))),
    }
}

fn certificate_key(der: &[u8]) -> Result<KeyMaterial, KeyProblem> {
    let cert = Certificate::from_der(der).map_err(|_| KeyProblem::Certificate)?;
    key_from_spki(&cert.tbs_certificate.subject_public_key_info)
}

fn spki_key(der: &[u8]) -> Result<KeyMaterial, KeyProblem> {
    let spki = SubjectPublicKeyInfoOwned::from_der(der).map_err(|_| KeyProblem::PublicKeyInfo)?;
    key_from_spki(&spki)
}

fn key_from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<KeyMaterial, KeyProblem> {
    let oid = spki.algorithm.oid;
    let params = spki.algorithm.parameters.as_ref();
    // A BIT STRING with unused bits cannot hold any of these keys.
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or(KeyProblem::InvalidKey("DER"))?;
    if oid == RSA_ENCRYPTION {
        // RFC 3279 §2.3.1: parameters NULL (absent is tolerated).
        if params.is_some_and(|p| !p.is_null()) {
            return Err(KeyProblem::Parameters);
        }
        rsa_key(key)
    } else if oid == ID_EC_PUBLIC_KEY {
        let curve = params
            .and_then(named_curve)
            .ok_or_else(|| KeyProblem::Curve("<missing>".to_owned()))?;
        if curve == SECP256R1 {
            p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map(KeyMaterial::P256)
                .map_err(|_| KeyProblem::InvalidKey("P-256"))
        } else if curve == SECP384R1 {
            p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map(KeyMaterial::P384)
                .map_err(|_| KeyProblem::InvalidKey("P-384"))
        } else {
            Err(KeyProblem::Curve(curve.to_string()))
        }
    } else if oid == ID_ED25519 {
        // RFC 8410 §3: parameters MUST be absent.
        if params.is_some() {
            return Err(KeyProblem::Parameters);
        }
        let bytes: [u8; 32] = key
            .try_into()
            .map_err(|_| KeyProblem::InvalidKey("Ed25519"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyProblem::InvalidKey("Ed25519"))?;
        if key.is_weak() {
            return Err(KeyProblem::WeakEd25519);
        }
        Ok(KeyMaterial::Ed25519(key))
    } else {
        Err(KeyProblem::Algorithm(oid.to_string()))
    }
}

/// The `namedCurve` OID of EC parameters (RFC 5480 §2.1.1; implicit and
/// specified curves are not supported).
fn named_curve(params: &Any) -> Option<ObjectIdentifier> {
    params.decode_as::<ObjectIdentifier>().ok()
}

/// An RSA key from its PKCS#1 `RSAPublicKey` DER, with the same checks as a
/// JWK's `n`/`e`.
fn rsa_key(pkcs1: &[u8]) -> Result<KeyMaterial, KeyProblem> {
    let parsed =
        rsa::pkcs1::RsaPublicKey::from_der(pkcs1).map_err(|_| KeyProblem::InvalidKey("RSA"))?;
    let n = rsa::BigUint::from_bytes_be(parsed.modulus.as_bytes());
    if n.bits() < MIN_RSA_BITS {
        return Err(KeyProblem::RsaTooSmall(n.bits()));
    }
    let e = rsa::BigUint::from_bytes_be(parsed.public_exponent.as_bytes());
    rsa::RsaPublicKey::new(n, e)
        .map(KeyMaterial::Rsa)
        .map_err(|_| KeyProblem::InvalidKey("RSA"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_blocks_and_garbage_are_errors_not_panics() {
        assert_eq!(keys_from_pem("").err(), Some(KeyStoreError::NoPemBlock));
        assert_eq!(
            keys_from_pem("just text\nno armor").err(),
            Some(KeyStoreError::NoPemBlock)
        );
        for text in [
            "-----BEGIN PUBLIC KEY-----\nAAAA\n",
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
            "-----BEGIN -----\nAAAA\n-----END -----\n",
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
            "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY\n",
            "-----BEGIN \u{e9}\u{e9}-----\n\u{e9}\n-----END \u{e9}\u{e9}-----\n",
        ] {
            let e = keys_from_pem(text).unwrap_err();
            assert!(matches!(e, KeyStoreError::Block { block: 0, .. }), "{e:?}");
        }
        assert_eq!(
            keys_from_pem("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n").err(),
            Some(KeyStoreError::Block {
                block: 0,
                problem: KeyProblem::PemLabel("PRIVATE KEY".into())
            })
        );
        for der in [
            &b""[..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x03, 0x02, 0x01, 0x00],
        ] {
            assert!(key_from_der_certificate(der).is_err());
            assert!(key_from_der_public_key(der).is_err());
        }
    }

    #[test]
    fn ed25519_spki_round_trip_and_weak_key() {
        // RFC 8410 §10.1 example public key.
        let pem = "-----BEGIN PUBLIC KEY-----\n\
                   MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
                   -----END PUBLIC KEY-----\n";
        let keys = keys_from_pem(&format!("comment\n{pem}\n{pem}")).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(same_key(&keys[0], &keys[1]));
        let set = jwk_set_from_pem(pem, Some("ks1")).unwrap();
        assert_eq!(set.keys()[0].kid.as_deref(), Some("ks1"));
        assert!(set.keys()[0].alg.is_none());
        // The identity point (small order): refused.
        let weak = "-----BEGIN PUBLIC KEY-----\n\
                    MCowBQYDK2VwAyEAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
                    -----END PUBLIC KEY-----\n";
        assert_eq!(
            keys_from_pem(&format!("{pem}{weak}")).err(),
            Some(KeyStoreError::Block {
                block: 1,
                problem: KeyProblem::WeakEd25519
            })
        );
        // X25519 (1.3.101.110) is not a signature key.
        let x25519 = "-----BEGIN PUBLIC KEY-----\n\
                      MCowBQYDK2VuAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
                      -----END PUBLIC KEY-----\n";
        assert_eq!(
            keys_from_pem(x25519).unwrap_err().problem(),
            Some(&KeyProblem::Algorithm("1.3.101.110".into()))
        );
    }

    #[test]
    fn errors_never_print_key_bytes() {
        let e = keys_from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END RSA PRIVATE KEY-----\n",
        )
        .unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("PEM block 0"), "{shown}");
        assert!(!shown.contains("MIIB"), "{shown}");
    }
}
