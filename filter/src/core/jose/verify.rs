//! Signature verification: jwt-compact over RustCrypto where it has the
//! algorithm, RustCrypto directly for ES384.
//!
//! A [`SignatureBackend`] may take over algorithms it does faster (the
//! proxy-wasm adapter injects one calling the host's native
//! `verify_signature`, see [`super::foreign_sig`]); whatever it cannot answer
//! falls back to the pure-Rust verifiers here ([`PureRust`], also the
//! default when nothing is injected).

use jwt_compact::alg::{Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};
use signature::Verifier as _;

use super::jwk::KeyMaterial;
use super::jws::Alg;

/// A backend's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The signature is valid.
    Valid,
    /// The signature is not valid (or the key does not fit).
    Invalid,
    /// This backend cannot tell (algorithm not offered, host function
    /// absent or failing): the pure-Rust verifiers decide.
    Unavailable,
}

/// Something that checks JWS signatures.
pub trait SignatureBackend: Sync {
    /// Checks `signature` over `message` with `key` under `alg`.
    fn verify(&self, alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> Verdict;
}

/// The pure-Rust (RustCrypto) verifiers; never [`Verdict::Unavailable`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PureRust;

impl SignatureBackend for PureRust {
    fn verify(&self, alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> Verdict {
        if verify_pure(alg, key, message, signature) {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }
}

/// The signature backend a [`crate::core::Filter`] uses: injected by the
/// adapter (e.g. the host's native `verify_signature`), [`PureRust`] by
/// default. Whatever the backend cannot tell, the pure-Rust verifiers decide.
#[derive(Clone, Copy)]
pub struct Verifier(&'static dyn SignatureBackend);

impl Default for Verifier {
    fn default() -> Self {
        Verifier(&PureRust)
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier")
    }
}

impl Verifier {
    /// `backend` in front of the pure-Rust verifiers.
    pub fn new(backend: &'static dyn SignatureBackend) -> Verifier {
        Verifier(backend)
    }

    /// Check `signature` over `message` with `key` under `alg`.
    ///
    /// Returns false on any mismatch, including a key of the wrong type or
    /// a signature of the wrong length; never panics.
    pub fn verify(&self, alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> bool {
        verify_with(self.0, alg, key, message, signature)
    }
}

/// [`Verifier::verify`] with `backend` in front of the pure-Rust verifiers.
pub fn verify_with(
    backend: &dyn SignatureBackend,
    alg: Alg,
    key: &KeyMaterial,
    message: &[u8],
    signature: &[u8],
) -> bool {
    match backend.verify(alg, key, message, signature) {
        Verdict::Valid => true,
        Verdict::Invalid => false,
        Verdict::Unavailable => verify_pure(alg, key, message, signature),
    }
}

/// The pure-Rust verifiers.
pub fn verify_pure(alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> bool {
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
                assert!(
                    !verify_pure(alg, &key, b"msg", &vec![0; len]),
                    "{alg:?} {len}"
                );
            }
        }
    }

    struct Fixed(Verdict);
    impl SignatureBackend for Fixed {
        fn verify(&self, _: Alg, _: &KeyMaterial, _: &[u8], _: &[u8]) -> Verdict {
            self.0
        }
    }

    #[test]
    fn backend_decides_unless_unavailable() {
        use p256::ecdsa::signature::Signer;
        let signing = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
        let key = KeyMaterial::P256(*signing.verifying_key());
        let sig: p256::ecdsa::Signature = signing.sign(b"a.b");
        let good = sig.to_bytes();
        let mut bad = good;
        bad[10] ^= 1;
        let unavailable = Fixed(Verdict::Unavailable);
        assert!(verify_with(&unavailable, Alg::Es256, &key, b"a.b", &good));
        assert!(!verify_with(&unavailable, Alg::Es256, &key, b"a.b", &bad));
        assert!(!verify_with(
            &Fixed(Verdict::Invalid),
            Alg::Es256,
            &key,
            b"a.b",
            &good
        ));
        assert!(verify_with(
            &Fixed(Verdict::Valid),
            Alg::Es256,
            &key,
            b"a.b",
            &bad
        ));
        assert_eq!(
            PureRust.verify(Alg::Es256, &key, b"a.b", &good),
            Verdict::Valid
        );
        assert_eq!(
            PureRust.verify(Alg::Es256, &key, b"a.b", &bad),
            Verdict::Invalid
        );
    }

    #[test]
    fn key_type_mismatch_is_false() {
        let key = KeyMaterial::Oct(vec![7; 64]);
        for alg in [Alg::Rs256, Alg::Ps256, Alg::Es256, Alg::Es384, Alg::EdDsa] {
            assert!(!Verifier::default().verify(alg, &key, b"msg", &[0; 64]));
        }
    }
}
