//! The `verify_signature` foreign function's wire format (sans-IO).
//!
//! Envoy registers a foreign function `verify_signature` (BoringSSL) and
//! `oauth-host` registers one with the same contract (ring). Both take a
//! protobuf `VerifySignatureArguments`:
//!
//! | field | number | content |
//! |---|---|---|
//! | `hash_function` | 1, string | `sha256`, `sha384`, `sha512` |
//! | `public_key` | 2, bytes | SubjectPublicKeyInfo DER (RFC 5280 §4.1) |
//! | `signature` | 3, bytes | RSA: the raw signature; ECDSA: DER `Ecdsa-Sig-Value` |
//! | `text` | 4, bytes | the signed bytes (the JWS signing input) |
//!
//! and answer a protobuf `VerifySignatureResult { bool result = 1; string
//! error = 2; }`. The protobuf messages are the shared crate's
//! ([`abi_wire::verify_signature`], also used by `oauth-host`); this module
//! only builds the DER the host expects. Only RSASSA-PKCS1-v1_5 (RS*) and ECDSA (ES256, ES384) go
//! this way: the hosts' verifier uses the key's default padding (PKCS#1
//! v1.5), so PSS, EdDSA and HMAC stay with the pure-Rust verifiers.
//!
//! A JWS ECDSA signature is `r || s` (RFC 7518 §3.4); it is re-encoded as
//! DER here.

use std::borrow::Cow;

use abi_wire::verify_signature::Arguments;
use rsa::traits::PublicKeyParts;

use super::jwk::KeyMaterial;
use super::jws::Alg;

pub use abi_wire::verify_signature::Answer;

/// Name of the foreign function.
pub const FUNCTION: &str = abi_wire::verify_signature::NAME;

/// The protobuf `VerifySignatureArguments` for checking `signature` over
/// `message` with `key` under `alg`, or `None` when this algorithm (or a
/// malformed signature) is not handed to the host. Builds the key's DER;
/// the adapter keeps it in a [`SpkiCache`] instead.
pub fn arguments(alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> Option<Vec<u8>> {
    SpkiCache::default().arguments(alg, key, message, signature)
}

/// How many keys' DER a [`SpkiCache`] holds.
const SPKI_CACHE_KEYS: usize = 8;

/// The SubjectPublicKeyInfo DER of the last keys handed to the host, so a
/// key's DER (and, for RSA, its modulus as bytes) is made once, not on every
/// verification. A key is found by equality of its material, never by where
/// it lives; at most [`SPKI_CACHE_KEYS`], the oldest dropped first.
#[derive(Default)]
pub struct SpkiCache {
    entries: Vec<(KeyMaterial, Vec<u8>)>,
}

impl SpkiCache {
    /// [`arguments`], with the key's DER from the cache when it is there.
    pub fn arguments(
        &mut self,
        alg: Alg,
        key: &KeyMaterial,
        message: &[u8],
        signature: &[u8],
    ) -> Option<Vec<u8>> {
        let (hash, sig): (&str, Cow<'_, [u8]>) = match (alg, key) {
            (Alg::Rs256, KeyMaterial::Rsa(_)) => ("sha256", Cow::Borrowed(signature)),
            (Alg::Rs384, KeyMaterial::Rsa(_)) => ("sha384", Cow::Borrowed(signature)),
            (Alg::Rs512, KeyMaterial::Rsa(_)) => ("sha512", Cow::Borrowed(signature)),
            (Alg::Es256, KeyMaterial::P256(_)) if signature.len() == 64 => {
                ("sha256", Cow::Owned(ecdsa_der(signature)))
            }
            (Alg::Es384, KeyMaterial::P384(_)) if signature.len() == 96 => {
                ("sha384", Cow::Owned(ecdsa_der(signature)))
            }
            _ => return None,
        };
        let spki = self.spki(key)?;
        Some(
            Arguments {
                hash: hash.as_bytes(),
                public_key: spki,
                signature: &sig,
                text: message,
                public_key_pem: b"",
            }
            .encode(),
        )
    }

    /// The DER of an RSA or EC key.
    fn spki(&mut self, key: &KeyMaterial) -> Option<&[u8]> {
        let found = self.entries.iter().position(|(k, _)| same_key(k, key));
        let at = match found {
            Some(at) => at,
            None => {
                let (copy, der) = match key {
                    KeyMaterial::Rsa(k) => (
                        KeyMaterial::Rsa(k.clone()),
                        rsa_spki(&k.n().to_bytes_be(), &k.e().to_bytes_be()),
                    ),
                    KeyMaterial::P256(k) => (
                        KeyMaterial::P256(*k),
                        ec_spki(&P256_OID, k.to_encoded_point(false).as_bytes()),
                    ),
                    KeyMaterial::P384(k) => (
                        KeyMaterial::P384(*k),
                        ec_spki(&P384_OID, k.to_encoded_point(false).as_bytes()),
                    ),
                    _ => return None,
                };
                if self.entries.len() >= SPKI_CACHE_KEYS {
                    self.entries.remove(0);
                }
                self.entries.push((copy, der));
                self.entries.len() - 1
            }
        };
        self.entries.get(at).map(|(_, der)| der.as_slice())
    }
}

/// The same public key (RSA and EC only).
fn same_key(a: &KeyMaterial, b: &KeyMaterial) -> bool {
    match (a, b) {
        (KeyMaterial::Rsa(a), KeyMaterial::Rsa(b)) => a == b,
        (KeyMaterial::P256(a), KeyMaterial::P256(b)) => a == b,
        (KeyMaterial::P384(a), KeyMaterial::P384(b)) => a == b,
        _ => false,
    }
}

/// Reads a protobuf `VerifySignatureResult` (kept for callers of the old
/// name; the decoder is [`abi_wire::verify_signature::Answer::decode`]).
pub fn parse_result(bytes: &[u8]) -> Answer {
    Answer::decode(bytes)
}

// ---------------------------------------------------------------- DER

/// id-ecPublicKey (1.2.840.10045.2.1).
const EC_PUBLIC_KEY_OID: [u8; 7] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 (1.2.840.10045.3.1.7).
const P256_OID: [u8; 8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1 (1.3.132.0.34).
const P384_OID: [u8; 5] = [0x2b, 0x81, 0x04, 0x00, 0x22];
/// rsaEncryption (1.2.840.113549.1.1.1).
const RSA_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

fn der(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// A DER INTEGER from unsigned big-endian bytes.
fn der_uint(out: &mut Vec<u8>, be: &[u8]) {
    let skip = be.iter().take_while(|b| **b == 0).count();
    let digits = &be[skip..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    der(out, 0x02, &content);
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    let content: Vec<u8> = parts.concat();
    let mut out = Vec::with_capacity(content.len() + 4);
    der(&mut out, 0x30, &content);
    out
}

/// SubjectPublicKeyInfo of an RSA key (PKCS#1 `RSAPublicKey` inside).
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut ints = Vec::with_capacity(n.len() + e.len() + 8);
    der_uint(&mut ints, n);
    der_uint(&mut ints, e);
    let rsa_public_key = seq(&[&ints]);
    let mut algorithm = Vec::new();
    der(&mut algorithm, 0x06, &RSA_OID);
    der(&mut algorithm, 0x05, &[]);
    let algorithm = seq(&[&algorithm]);
    let mut bits = Vec::with_capacity(rsa_public_key.len() + 6);
    let mut content = vec![0u8];
    content.extend_from_slice(&rsa_public_key);
    der(&mut bits, 0x03, &content);
    seq(&[&algorithm, &bits])
}

/// SubjectPublicKeyInfo of an EC key given its curve OID and SEC1 point.
fn ec_spki(curve: &[u8], point: &[u8]) -> Vec<u8> {
    let mut algorithm = Vec::new();
    der(&mut algorithm, 0x06, &EC_PUBLIC_KEY_OID);
    der(&mut algorithm, 0x06, curve);
    let algorithm = seq(&[&algorithm]);
    let mut content = vec![0u8];
    content.extend_from_slice(point);
    let mut bits = Vec::new();
    der(&mut bits, 0x03, &content);
    seq(&[&algorithm, &bits])
}

/// `r || s` (equal halves) as DER `Ecdsa-Sig-Value ::= SEQUENCE { r, s }`.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut ints = Vec::with_capacity(raw.len() + 6);
    der_uint(&mut ints, r);
    der_uint(&mut ints, s);
    seq(&[&ints])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p256_arguments_match_the_pkcs8_and_der_encoders() {
        use p256::ecdsa::signature::Signer;
        use p256::pkcs8::EncodePublicKey;
        let signing = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let verifying = *signing.verifying_key();
        let sig: p256::ecdsa::Signature = signing.sign(b"header.payload");
        let args = arguments(
            Alg::Es256,
            &KeyMaterial::P256(verifying),
            b"header.payload",
            &sig.to_bytes(),
        )
        .unwrap();
        let f = Arguments::decode(&args).unwrap();
        assert_eq!(f.hash, b"sha256");
        assert_eq!(
            f.public_key,
            verifying.to_public_key_der().unwrap().as_bytes()
        );
        assert_eq!(f.signature, sig.to_der().as_bytes());
        assert_eq!(f.text, b"header.payload");
        assert!(f.public_key_pem.is_empty());
    }

    #[test]
    fn rsa_spki_matches_the_pkcs8_encoder() {
        use rsa::pkcs8::EncodePublicKey;
        // A fixed modulus with its top bit set (needs the leading zero) and
        // one without; e = 65537 and e = 3.
        for (n_first, e) in [(0xc5u8, vec![1, 0, 1]), (0x45, vec![3])] {
            let mut n = vec![n_first; 256];
            n[255] = 0x01; // odd
            let key = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&n),
                rsa::BigUint::from_bytes_be(&e),
            )
            .unwrap();
            let expected = key.to_public_key_der().unwrap();
            assert_eq!(rsa_spki(&n, &e), expected.as_bytes());
        }
    }

    #[test]
    fn ecdsa_der_strips_and_pads() {
        let mut raw = vec![0u8; 64];
        raw[1] = 0x7f; // r = 0x7f00.. with one leading zero byte
        raw[32] = 0x80; // s has its top bit set
        let der = ecdsa_der(&raw);
        assert_eq!(&der[..4], &[0x30, 31 + 2 + 33 + 2, 0x02, 31]);
        assert_eq!(der[4], 0x7f);
        assert_eq!(&der[35..38], &[0x02, 33, 0x00]);
        assert_eq!(der[38], 0x80);
    }

    #[test]
    fn cached_arguments_are_the_arguments_and_keys_are_told_apart() {
        let mut cache = SpkiCache::default();
        let keys: Vec<KeyMaterial> = (0..10)
            .map(|_| {
                let k = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
                KeyMaterial::P256(*k.verifying_key())
            })
            .collect();
        // Twice round ten keys through a cache of eight: hits, misses and
        // evictions all give the uncached bytes.
        for _ in 0..2 {
            for k in &keys {
                let sig = [7u8; 64];
                assert_eq!(
                    cache.arguments(Alg::Es256, k, b"m", &sig),
                    arguments(Alg::Es256, k, b"m", &sig)
                );
            }
        }
        assert_eq!(cache.entries.len(), SPKI_CACHE_KEYS);
        let mut n = vec![0xc5u8; 256];
        n[255] = 1;
        for e in [vec![1u8, 0, 1], vec![3]] {
            let rsa = KeyMaterial::Rsa(
                rsa::RsaPublicKey::new(
                    rsa::BigUint::from_bytes_be(&n),
                    rsa::BigUint::from_bytes_be(&e),
                )
                .unwrap(),
            );
            let sig = [1u8; 256];
            let args = cache.arguments(Alg::Rs384, &rsa, b"m", &sig).unwrap();
            assert_eq!(Some(args.clone()), arguments(Alg::Rs384, &rsa, b"m", &sig));
            // Same modulus, other exponent: another key, another DER.
            let f = Arguments::decode(&args).unwrap();
            assert_eq!(f.public_key, rsa_spki(&n, &e));
            assert_eq!(f.hash, b"sha384");
        }
    }

    #[test]
    fn unsupported_algorithms_and_bad_lengths_are_none() {
        let oct = KeyMaterial::Oct(vec![1; 32]);
        assert!(arguments(Alg::Hs256, &oct, b"m", &[0; 32]).is_none());
        let signing = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let p = KeyMaterial::P256(*signing.verifying_key());
        assert!(arguments(Alg::Es256, &p, b"m", &[0; 63]).is_none());
        assert!(arguments(Alg::Rs256, &p, b"m", &[0; 64]).is_none());
    }

    #[test]
    fn results() {
        assert_eq!(parse_result(&[0x08, 0x01]), Answer::Valid);
        assert_eq!(parse_result(&[0x08, 0x01, 0x12, 0x00]), Answer::Valid);
        assert_eq!(parse_result(&[]), Answer::Invalid);
        assert_eq!(
            parse_result(&[0x08, 0x00, 0x12, 0x03, b'b', b'a', b'd']),
            Answer::Invalid
        );
        assert_eq!(parse_result(&[0x12, 0x05, b'x']), Answer::Malformed);
        assert_eq!(parse_result(&[0x08]), Answer::Malformed);
        assert_eq!(parse_result(&[0x0d, 0, 0, 0, 0]), Answer::Malformed);
    }
}
