//! The `verify_signature` foreign function, with Envoy's contract, on ring.
//!
//! Arguments: protobuf `VerifySignatureArguments { string hash_function = 1;
//! bytes public_key = 2; bytes signature = 3; bytes text = 4; string
//! public_key_pem = 5; }` with the key as SubjectPublicKeyInfo DER. Answer:
//! protobuf `VerifySignatureResult { bool result = 1; string error = 2; }`.
//! Arguments that do not parse, or a key that cannot be imported, are
//! BAD_ARGUMENT (as in Envoy); a signature that does not verify is
//! `result: false` with the reason.
//!
//! Supported: RSA keys (RSASSA-PKCS1-v1_5, 2048–8192 bits) and ECDSA P-256 /
//! P-384 keys (DER `Ecdsa-Sig-Value` signatures), with `sha256`, `sha384`
//! or `sha512` (ECDSA: the curve's own hash, or the other of the two ring
//! offers). PEM keys are not supported (BAD_ARGUMENT).

use std::sync::Arc;

use abi_wire::verify_signature::{self, encode_result, Arguments};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::foreign::{ForeignFunction, ForeignFunctions};
use super::Status;

/// The name modules call.
pub const NAME: &str = verify_signature::NAME;

/// Adds `verify_signature` to `functions`.
pub fn register(functions: &mut ForeignFunctions) {
    let f: ForeignFunction = Arc::new(call);
    functions.register(NAME, f);
}

/// The function body: protobuf in, protobuf out.
pub fn call(args: &[u8]) -> Result<Vec<u8>, Status> {
    let args = Arguments::decode(args).ok_or(Status::BadArgument)?;
    if args.public_key.is_empty() || !args.public_key_pem.is_empty() {
        return Err(Status::BadArgument);
    }
    let (_, spki) =
        SubjectPublicKeyInfo::from_der(args.public_key).map_err(|_| Status::BadArgument)?;
    let key = spki.subject_public_key.data.as_ref();
    let hash = std::str::from_utf8(args.hash)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let algorithm: Option<&'static dyn VerificationAlgorithm> =
        if spki.algorithm.algorithm == OID_PKCS1_RSAENCRYPTION {
            match hash.as_str() {
                "sha256" => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
                "sha384" => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
                "sha512" => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
                _ => None,
            }
        } else if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or(Status::BadArgument)?;
            match (
                curve == OID_EC_P256,
                curve == OID_NIST_EC_P384,
                hash.as_str(),
            ) {
                (true, _, "sha256") => Some(&signature::ECDSA_P256_SHA256_ASN1),
                (true, _, "sha384") => Some(&signature::ECDSA_P256_SHA384_ASN1),
                (_, true, "sha384") => Some(&signature::ECDSA_P384_SHA384_ASN1),
                (_, true, "sha256") => Some(&signature::ECDSA_P384_SHA256_ASN1),
                (false, false, _) => return Err(Status::BadArgument),
                _ => None,
            }
        } else {
            return Err(Status::BadArgument);
        };
    let outcome = match algorithm {
        None => Err("unsupported hash function for this key"),
        Some(alg) => UnparsedPublicKey::new(alg, key)
            .verify(args.text, args.signature)
            .map_err(|_| "signature does not verify"),
    };
    Ok(encode_result(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    fn args(hash: &str, spki: &[u8], sig: &[u8], text: &[u8]) -> Vec<u8> {
        Arguments {
            hash: hash.as_bytes(),
            public_key: spki,
            signature: sig,
            text,
            public_key_pem: b"",
        }
        .encode()
    }

    #[test]
    fn p256_valid_invalid_and_bad_arguments() {
        // rcgen writes the SubjectPublicKeyInfo; ring signs.
        let rcgen_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let spki = rcgen_key.public_key_der();
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &rcgen_key.serialize_der(),
            &rng,
        )
        .unwrap();
        assert_eq!(pair.public_key().as_ref(), &spki[spki.len() - 65..]);
        let sig = pair.sign(&rng, b"a.b").unwrap();
        let sig = sig.as_ref();
        assert_eq!(
            call(&args("sha256", &spki, sig, b"a.b")),
            Ok(vec![0x08, 0x01])
        );
        assert_eq!(
            call(&args("SHA256", &spki, sig, b"a.b")),
            Ok(vec![0x08, 0x01])
        );
        let wrong = call(&args("sha256", &spki, sig, b"a.c")).unwrap();
        assert_eq!(&wrong[..2], &[0x12, 25]);
        let other_hash = call(&args("sha512", &spki, sig, b"a.b")).unwrap();
        assert_eq!(other_hash[0], 0x12);
        assert_eq!(
            call(&args("sha256", &spki[1..], sig, b"a.b")),
            Err(Status::BadArgument)
        );
        assert_eq!(
            call(&args("sha256", b"", sig, b"a.b")),
            Err(Status::BadArgument)
        );
        assert_eq!(call(&[0x0a, 0x05, b's']), Err(Status::BadArgument));
        let mut with_pem = args("sha256", &spki, sig, b"a.b");
        abi_wire::protobuf::put_bytes(&mut with_pem, 5, b"-----BEGIN PUBLIC KEY-----");
        assert_eq!(call(&with_pem), Err(Status::BadArgument));
    }

    #[test]
    fn registered_under_its_name() {
        let mut f = ForeignFunctions::default();
        register(&mut f);
        assert_eq!(f.call(NAME, b""), Err(Status::BadArgument));
    }
}
