//! Signature verification by the host's native `verify_signature` foreign
//! function (Envoy: BoringSSL; `oauth-host`: ring), several times faster
//! than RSA in wasm. The wire format is in [`crate::core::jose::foreign_sig`].
//!
//! The backend trusts the host per key family (RSA, EC) only once the
//! host's answer matched the pure-Rust verifiers on a valid signature; until
//! then the pure-Rust verifiers decide and the host's answer is compared.
//! NOT_FOUND (hosts without the function), a disagreement, BAD_ARGUMENT or a
//! malformed answer switch the family to the pure-Rust verifiers for the
//! life of the VM, so a host with a different contract costs speed, never
//! correctness.

use std::sync::atomic::{AtomicU8, Ordering};

use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

use crate::core::jose::foreign_sig::{arguments, parse_result, Answer, FUNCTION};
use crate::core::jose::jwk::KeyMaterial;
use crate::core::jose::jws::Alg;
use crate::core::jose::verify::{PureRust, SignatureBackend, Verdict};

/// What is known about the host's function for one key family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum HostFunction {
    /// Not confirmed yet: the pure-Rust verifiers decide.
    Unknown = 0,
    /// Agreed with the pure-Rust verifiers on a valid signature.
    Trusted = 1,
    /// Absent or not behaving as expected: pure Rust only.
    Unusable = 2,
}

/// The backend the adapter injects into the core.
pub struct ForeignVerify {
    rsa: AtomicU8,
    ec: AtomicU8,
}

/// The one instance.
pub static FOREIGN_VERIFY: ForeignVerify = ForeignVerify {
    rsa: AtomicU8::new(HostFunction::Unknown as u8),
    ec: AtomicU8::new(HostFunction::Unknown as u8),
};

impl ForeignVerify {
    fn family(&self, key: &KeyMaterial) -> &AtomicU8 {
        match key {
            KeyMaterial::Rsa(_) => &self.rsa,
            _ => &self.ec,
        }
    }

    fn state(cell: &AtomicU8) -> HostFunction {
        match cell.load(Ordering::Relaxed) {
            1 => HostFunction::Trusted,
            2 => HostFunction::Unusable,
            _ => HostFunction::Unknown,
        }
    }

    /// The host's answer, or the status of a failed call.
    fn ask_host(args: &[u8]) -> Result<Answer, Status> {
        let answer = hostcalls::call_foreign_function(FUNCTION, Some(args))?;
        Ok(parse_result(answer.as_deref().unwrap_or_default()))
    }
}

impl SignatureBackend for ForeignVerify {
    fn verify(&self, alg: Alg, key: &KeyMaterial, message: &[u8], signature: &[u8]) -> Verdict {
        let cell = self.family(key);
        let state = Self::state(cell);
        if state == HostFunction::Unusable {
            return Verdict::Unavailable;
        }
        let Some(args) = arguments(alg, key, message, signature) else {
            return Verdict::Unavailable;
        };
        let host = match Self::ask_host(&args) {
            Ok(Answer::Valid) => Verdict::Valid,
            Ok(Answer::Invalid) => Verdict::Invalid,
            Ok(Answer::Malformed) | Err(_) => {
                announce(cell, key, HostFunction::Unusable);
                return Verdict::Unavailable;
            }
        };
        if state == HostFunction::Trusted {
            return host;
        }
        let pure = PureRust.verify(alg, key, message, signature);
        match (host, pure) {
            (Verdict::Valid, Verdict::Valid) => announce(cell, key, HostFunction::Trusted),
            (a, b) if a != b => announce(cell, key, HostFunction::Unusable),
            _ => {}
        }
        pure
    }
}

/// Records the new state of a key family and says so once in the log.
fn announce(cell: &AtomicU8, key: &KeyMaterial, state: HostFunction) {
    if cell.swap(state as u8, Ordering::Relaxed) == state as u8 {
        return;
    }
    let family = match key {
        KeyMaterial::Rsa(_) => "RSA",
        _ => "ECDSA",
    };
    let message = match state {
        HostFunction::Trusted => {
            format!("{family} signatures verified by the host's native {FUNCTION}")
        }
        _ => format!(
            "{family} signatures verified in wasm: the host's {FUNCTION} is absent or differs"
        ),
    };
    let _ = hostcalls::log(proxy_wasm::types::LogLevel::Info, &message);
}
