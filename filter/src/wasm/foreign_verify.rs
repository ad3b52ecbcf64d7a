//! Signature verification by the host's native `verify_signature` foreign
//! function (Envoy: BoringSSL; `oauth-host`: ring), several times faster
//! than RSA in wasm. The wire format is in [`crate::core::jose::foreign_sig`].
//!
//! How far the host is trusted is decided by the sans-IO
//! [`crate::core::jose::trust::HostTrust`]: per algorithm (RS256 agreeing
//! says nothing about RS512), only after the host matched the pure-Rust
//! verifiers on a valid signature, with every 1000th verification of a
//! trusted algorithm checked in pure Rust too. NOT_FOUND (hosts without the
//! function), a failed call, a malformed answer or a disagreement switch
//! that algorithm to the pure-Rust verifiers for the life of the VM, so a
//! host with a different contract costs speed, never correctness.

use proxy_wasm::types::LogLevel;

use super::abi::{self, Status};
use std::cell::RefCell;

use crate::core::jose::foreign_sig::{parse_result, Answer, SpkiCache, FUNCTION};
use crate::core::jose::jwk::KeyMaterial;
use crate::core::jose::jws::Alg;
use crate::core::jose::trust::{HostCall, HostTrust, SAMPLE_EVERY};
use crate::core::jose::verify::{PureRust, SignatureBackend, Verdict};

/// The backend the adapter injects into the core.
pub struct ForeignVerify {
    trust: HostTrust,
}

thread_local! {
    /// The DER of the keys last handed to the host (per VM: one thread).
    static SPKI: RefCell<SpkiCache> = RefCell::new(SpkiCache::default());
}

/// The one instance.
pub static FOREIGN_VERIFY: ForeignVerify = ForeignVerify {
    trust: HostTrust::new(SAMPLE_EVERY),
};

impl ForeignVerify {
    /// The host's answer, or the status of a failed call.
    fn ask_host(args: &[u8]) -> Result<Answer, Status> {
        let answer = abi::call_foreign_function(FUNCTION, args)?;
        Ok(parse_result(answer.as_deref().unwrap_or_default()))
    }
}

impl SignatureBackend for ForeignVerify {
    fn verify(&self, alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> Verdict {
        let host = || {
            let args = SPKI.with(|c| {
                c.try_borrow_mut()
                    .ok()
                    .and_then(|mut c| c.arguments(alg, key, message, signature))
            });
            let Some(args) = args else {
                return HostCall::NotAsked;
            };
            match Self::ask_host(&args) {
                Ok(Answer::Valid) => HostCall::Valid,
                Ok(Answer::Invalid) => HostCall::Invalid,
                Ok(Answer::Malformed) | Err(_) => HostCall::Failed,
            }
        };
        let pure = || PureRust.verify(alg, key, message, signature);
        let (verdict, change) = self.trust.verify(alg, host, pure);
        if let Some(c) = change {
            let level = if c.is_warning() {
                LogLevel::Warn
            } else {
                LogLevel::Info
            };
            let _ = abi::log(level, &c.message(FUNCTION));
        }
        verdict
    }
}
