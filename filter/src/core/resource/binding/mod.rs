//! Sender-constrained access tokens: pure checks, no state but what the
//! caller passes in.
//!
//! - `thumbprint.rs`: RFC 7638 JWK thumbprints (`cnf.jkt`);
//! - `mtls.rs`: RFC 8705 §3 certificate-bound tokens (`cnf["x5t#S256"]`)
//!   against the connection's client certificate or a trusted header
//!   (Envoy's `x-forwarded-client-cert`, a URL-encoded PEM header);
//! - `enforce.rs`: the pipeline stage: a resolved token's `cnf` against
//!   the request under the provider's policy, the shared `jti` replay cache;
//! - `nonce.rs`: stateless DPoP server nonces (a period and its MAC);
//! - `dpop.rs`: RFC 9449 §4.3 DPoP proof checks, the `cnf.jkt` comparison,
//!   replay-cache keys and the `WWW-Authenticate: DPoP` challenge.

pub mod dpop;
pub mod enforce;
pub mod mtls;
pub mod nonce;
pub mod thumbprint;

use serde_json::Value;
use subtle::ConstantTimeEq;

/// The `cnf` (RFC 7800) member `name` of a token's claims, if `cnf` is an
/// object holding it.
///
/// `Err(())` when `cnf` is present but not an object, or `name` is present
/// but not a string: a malformed confirmation, never "unbound".
fn cnf_member<'a>(cnf: Option<&'a Value>, name: &str) -> Result<Option<&'a str>, ()> {
    match cnf {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => match o.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(()),
        },
        Some(_) => Err(()),
    }
}

/// Constant-time equality of two byte strings (length is not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
