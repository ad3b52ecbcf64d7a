//! Envoy's `verify_signature` foreign function: its protobuf messages.
//!
//! ```text
//! message VerifySignatureArguments {
//!   string hash_function = 1;  // sha256, sha384, sha512
//!   bytes public_key = 2;      // SubjectPublicKeyInfo DER (RFC 5280 §4.1)
//!   bytes signature = 3;       // RSA: raw; ECDSA: DER Ecdsa-Sig-Value
//!   bytes text = 4;            // the signed bytes
//!   string public_key_pem = 5;
//! }
//! message VerifySignatureResult { bool result = 1; string error = 2; }
//! ```
//!
//! The module encodes [`Arguments`] and decodes the [`Answer`]; the host
//! decodes the arguments and encodes the result.

use crate::protobuf::{self, Value};

/// The function's name.
pub const NAME: &str = "verify_signature";

/// `VerifySignatureArguments`, borrowed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Arguments<'a> {
    /// `hash_function` (1).
    pub hash: &'a [u8],
    /// `public_key` (2).
    pub public_key: &'a [u8],
    /// `signature` (3).
    pub signature: &'a [u8],
    /// `text` (4).
    pub text: &'a [u8],
    /// `public_key_pem` (5).
    pub public_key_pem: &'a [u8],
}

impl<'a> Arguments<'a> {
    /// The message bytes (empty fields left out, as proto3 does).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.hash.len() + self.public_key.len() + self.signature.len() + self.text.len() + 32,
        );
        for (number, value) in [
            (1, self.hash),
            (2, self.public_key),
            (3, self.signature),
            (4, self.text),
            (5, self.public_key_pem),
        ] {
            if !value.is_empty() {
                protobuf::put_bytes(&mut out, number, value);
            }
        }
        out
    }

    /// Decodes the message; unknown fields are skipped, a truncated or
    /// mistyped field is `None`.
    pub fn decode(bytes: &'a [u8]) -> Option<Arguments<'a>> {
        let mut out = Arguments::default();
        for (number, value) in protobuf::fields(bytes)? {
            let slot = match number {
                1 => &mut out.hash,
                2 => &mut out.public_key,
                3 => &mut out.signature,
                4 => &mut out.text,
                5 => &mut out.public_key_pem,
                _ => continue,
            };
            match value {
                Value::Bytes(b) => *slot = b,
                Value::Uint(_) => return None,
            }
        }
        Some(out)
    }
}

/// What a `VerifySignatureResult` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `result: true`.
    Valid,
    /// `result: false` (absent, as proto3 leaves defaults out).
    Invalid,
    /// Not a `VerifySignatureResult`.
    Malformed,
}

impl Answer {
    /// Reads a `VerifySignatureResult`.
    pub fn decode(bytes: &[u8]) -> Answer {
        let Some(fields) = protobuf::fields(bytes) else {
            return Answer::Malformed;
        };
        let mut valid = false;
        for (number, value) in fields {
            match (number, value) {
                (1, Value::Uint(v)) => valid = v != 0,
                (1, Value::Bytes(_)) => return Answer::Malformed,
                _ => {}
            }
        }
        if valid {
            Answer::Valid
        } else {
            Answer::Invalid
        }
    }
}

/// Encodes a `VerifySignatureResult`: `Ok` is `result: true`, `Err` is
/// `result: false` with the reason as `error`.
pub fn encode_result(outcome: Result<(), &str>) -> Vec<u8> {
    let mut out = Vec::new();
    match outcome {
        Ok(()) => protobuf::put_uint(&mut out, 1, 1),
        Err(reason) => protobuf::put_bytes(&mut out, 2, reason.as_bytes()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let a = Arguments {
            hash: b"sha256",
            public_key: &[1; 300],
            signature: &[2; 64],
            text: b"a.b",
            public_key_pem: b"",
        };
        let bytes = a.encode();
        assert_eq!(Arguments::decode(&bytes), Some(a));
        for n in 1..bytes.len() {
            // Every prefix either fails or decodes; never a panic.
            let _ = Arguments::decode(&bytes[..n]);
        }
        assert_eq!(Arguments::decode(&[0x08, 0x01]), None);
    }

    #[test]
    fn results_round_trip() {
        assert_eq!(encode_result(Ok(())), vec![0x08, 0x01]);
        assert_eq!(Answer::decode(&encode_result(Ok(()))), Answer::Valid);
        let no = encode_result(Err("signature does not verify"));
        assert_eq!(&no[..2], &[0x12, 25]);
        assert_eq!(Answer::decode(&no), Answer::Invalid);
        assert_eq!(Answer::decode(&[]), Answer::Invalid);
        assert_eq!(Answer::decode(&[0x0a, 0x01, 0x01]), Answer::Malformed);
        assert_eq!(Answer::decode(&[0x08]), Answer::Malformed);
    }
}
