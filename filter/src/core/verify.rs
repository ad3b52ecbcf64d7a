//! Signature verification: jwt-compact over RustCrypto where it has the
//! algorithm, RustCrypto directly for ES384.

use jwt_compact::alg::{Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};
use signature::Verifier;

use super::jose::Alg;
use super::jwk::KeyMaterial;

/// Check `signature` over `message` with `key` under `alg`.
///
/// Returns false on any mismatch, including a key of the wrong type or a
/// signature of the wrong length; never panics.
pub fn verify(alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> bool {
    fn with<A: Algorithm>(a: &A, key: &A::VerifyingKey, message: &[u8], sig: &[u8]) -> bool {
        // jwt-compact's fixed-size signatures (HMAC) panic on a wrong length
        // in try_from_slice: its own decoder checks LENGTH first, so do we.
        if A::Signature::LENGTH.is_some_and(|n| n.get() != sig.len()) {
            return false;
        }
        match A::Signature::try_from_slice(sig) {
            Ok(s) => a.verify_signature(&s, key, message),
            Err(_) => false,
        }
    }
    match (alg, key) {
        (Alg::Rs256, KeyMaterial::Rsa(k)) => with(&Rsa::rs256(), k, message, signature),
        (Alg::Rs384, KeyMaterial::Rsa(k)) => with(&Rsa::rs384(), k, message, signature),
        (Alg::Rs512, KeyMaterial::Rsa(k)) => with(&Rsa::rs512(), k, message, signature),
        (Alg::Ps256, KeyMaterial::Rsa(k)) => with(&Rsa::ps256(), k, message, signature),
        (Alg::Ps384, KeyMaterial::Rsa(k)) => with(&Rsa::ps384(), k, message, signature),
        (Alg::Ps512, KeyMaterial::Rsa(k)) => with(&Rsa::ps512(), k, message, signature),
        (Alg::Es256, KeyMaterial::P256(k)) => with(&Es256, k, message, signature),
        (Alg::Es384, KeyMaterial::P384(k)) => match p384::ecdsa::Signature::from_slice(signature) {
            Ok(s) => k.verify(message, &s).is_ok(),
            Err(_) => false,
        },
        (Alg::EdDsa, KeyMaterial::Ed25519(k)) => {
            // verify_strict: rejects non-canonical and small-order inputs.
            match <[u8; 64]>::try_from(signature) {
                Ok(b) => k
                    .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&b))
                    .is_ok(),
                Err(_) => false,
            }
        }
        (Alg::Hs256, KeyMaterial::Oct(k)) => with(&Hs256, &Hs256Key::new(k), message, signature),
        (Alg::Hs384, KeyMaterial::Oct(k)) => with(&Hs384, &Hs384Key::new(k), message, signature),
        (Alg::Hs512, KeyMaterial::Oct(k)) => with(&Hs512, &Hs512Key::new(k), message, signature),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_length_signatures_are_false_not_panics() {
        let key = KeyMaterial::Oct(vec![7; 64]);
        for alg in [Alg::Hs256, Alg::Hs384, Alg::Hs512] {
            for len in [0, 1, 31, 33, 47, 49, 63, 65, 1000] {
                assert!(!verify(alg, &key, b"msg", &vec![0; len]), "{alg:?} {len}");
            }
        }
    }

    #[test]
    fn key_type_mismatch_is_false() {
        let key = KeyMaterial::Oct(vec![7; 64]);
        for alg in [Alg::Rs256, Alg::Ps256, Alg::Es256, Alg::Es384, Alg::EdDsa] {
            assert!(!verify(alg, &key, b"msg", &[0; 64]));
        }
    }
}
