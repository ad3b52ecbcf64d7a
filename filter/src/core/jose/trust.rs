//! How far the host's `verify_signature` is trusted (sans-IO: the host call
//! and the pure-Rust verifier are closures, so the logic is tested
//! natively; the adapter, `crate::wasm::foreign_verify`, supplies them).
//!
//! Trust is per algorithm (RS256, RS384, RS512, ES256, ES384): agreeing on
//! RS256 says nothing about the host's SHA-512 path. For each algorithm:
//!
//! - **unknown** (start): the pure-Rust verifier decides and the host is
//!   asked too; the first valid signature both accept makes it *trusted*;
//! - **trusted**: the host decides, except every [`SAMPLE_EVERY`]th
//!   verification of that algorithm, which the pure-Rust verifier checks
//!   too (and decides);
//! - **unusable**: a disagreement (before or after trust), a failed call
//!   (NOT_FOUND on hosts without the function, BAD_ARGUMENT, …) or a
//!   malformed answer; the pure-Rust verifier decides for the life of the
//!   VM.
//!
//! Each change of state is returned once as a [`Change`] for the log.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use super::jws::Alg;
use super::verify::Verdict;

/// Every this many verifications of a trusted algorithm, one is also
/// checked by the pure-Rust verifier.
pub const SAMPLE_EVERY: u32 = 1000;

/// The algorithms the host may verify (PKCS#1 v1.5 and ECDSA).
pub const HOST_ALGS: [Alg; 5] = [Alg::Rs256, Alg::Rs384, Alg::Rs512, Alg::Es256, Alg::Es384];

fn index(alg: Alg) -> Option<usize> {
    HOST_ALGS.iter().position(|a| *a == alg)
}

/// What is known about the host's function for one algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HostState {
    /// Not confirmed yet: the pure-Rust verifier decides.
    Unknown = 0,
    /// Agreed with the pure-Rust verifier on a valid signature.
    Trusted = 1,
    /// Absent, failing or disagreeing: pure Rust only.
    Unusable = 2,
}

/// The host's answer to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCall {
    /// Not asked: this key or signature is not handed to the host (e.g. a
    /// signature of the wrong length). Changes nothing.
    NotAsked,
    /// `result: true`.
    Valid,
    /// `result: false`.
    Invalid,
    /// The call failed or the answer was malformed.
    Failed,
}

/// A change of an algorithm's state, to log once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The host now verifies this algorithm.
    Trusted(Alg),
    /// The host's call failed or its answer was malformed.
    Failed(Alg),
    /// The host and the pure-Rust verifier disagreed; `sampled`: on a
    /// sample check of an already trusted algorithm.
    Disagreed {
        /// The algorithm.
        alg: Alg,
        /// Whether the algorithm was trusted until then.
        sampled: bool,
    },
}

impl Change {
    /// The log line (`function`: the foreign function's name).
    pub fn message(self, function: &str) -> String {
        match self {
            Change::Trusted(a) => {
                format!("{} signatures verified by the host's native {function}", a.name())
            }
            Change::Failed(a) => format!(
                "{} signatures verified in wasm: the host's {function} is absent or failing",
                a.name()
            ),
            Change::Disagreed { alg, sampled } => format!(
                "{} signatures verified in wasm: the host's {function} disagreed with the wasm verifier{}",
                alg.name(),
                if sampled { " on a sample check" } else { "" }
            ),
        }
    }

    /// Whether it deserves a warning (a trusted host that turned out wrong).
    pub fn is_warning(self) -> bool {
        matches!(self, Change::Disagreed { sampled: true, .. })
    }
}

/// Per-algorithm trust in the host's verifier (lock-free: one per VM,
/// usable from a `static`).
#[derive(Debug)]
pub struct HostTrust {
    state: [AtomicU8; 5],
    count: [AtomicU32; 5],
    sample_every: u32,
}

impl Default for HostTrust {
    fn default() -> Self {
        HostTrust::new(SAMPLE_EVERY)
    }
}

impl HostTrust {
    /// Nothing known; every `sample_every`th trusted verification (at
    /// least 1: every one) is checked in pure Rust.
    pub const fn new(sample_every: u32) -> HostTrust {
        HostTrust {
            state: [const { AtomicU8::new(HostState::Unknown as u8) }; 5],
            count: [const { AtomicU32::new(0) }; 5],
            sample_every: if sample_every == 0 { 1 } else { sample_every },
        }
    }

    /// The state of `alg` (algorithms the host never verifies: unusable).
    pub fn state(&self, alg: Alg) -> HostState {
        let Some(i) = index(alg) else {
            return HostState::Unusable;
        };
        match self.state[i].load(Ordering::Relaxed) {
            1 => HostState::Trusted,
            2 => HostState::Unusable,
            _ => HostState::Unknown,
        }
    }

    fn set(&self, i: usize, s: HostState) -> bool {
        self.state[i].swap(s as u8, Ordering::Relaxed) != s as u8
    }

    /// One verification of `alg`: `host` asks the host, `pure` runs the
    /// pure-Rust verifier (each called at most once, only when needed).
    /// Returns the verdict ([`Verdict::Unavailable`]: the caller runs the
    /// pure-Rust verifier) and a state change to log, if any.
    pub fn verify(
        &self,
        alg: Alg,
        host: impl FnOnce() -> HostCall,
        pure: impl FnOnce() -> Verdict,
    ) -> (Verdict, Option<Change>) {
        let Some(i) = index(alg) else {
            return (Verdict::Unavailable, None);
        };
        let state = self.state(alg);
        if state == HostState::Unusable {
            return (Verdict::Unavailable, None);
        }
        let host = match host() {
            HostCall::NotAsked => return (Verdict::Unavailable, None),
            HostCall::Failed => {
                let change = self
                    .set(i, HostState::Unusable)
                    .then_some(Change::Failed(alg));
                return (Verdict::Unavailable, change);
            }
            HostCall::Valid => Verdict::Valid,
            HostCall::Invalid => Verdict::Invalid,
        };
        if state == HostState::Trusted {
            let n = self.count[i].fetch_add(1, Ordering::Relaxed);
            if (n % self.sample_every) != self.sample_every - 1 {
                return (host, None);
            }
        }
        let pure = pure();
        let change = if host != pure {
            self.set(i, HostState::Unusable)
                .then_some(Change::Disagreed {
                    alg,
                    sampled: state == HostState::Trusted,
                })
        } else if state == HostState::Unknown && pure == Verdict::Valid {
            self.set(i, HostState::Trusted)
                .then_some(Change::Trusted(alg))
        } else {
            None
        };
        (pure, change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn run(
        t: &HostTrust,
        alg: Alg,
        host: HostCall,
        pure: Verdict,
    ) -> (Verdict, Option<Change>, bool) {
        let asked = Cell::new(false);
        let (v, c) = t.verify(
            alg,
            || host,
            || {
                asked.set(true);
                pure
            },
        );
        (v, c, asked.get())
    }

    #[test]
    fn trust_is_per_algorithm() {
        let t = HostTrust::new(1000);
        // Unknown: pure Rust decides and is always run.
        assert_eq!(
            run(&t, Alg::Rs256, HostCall::Invalid, Verdict::Invalid),
            (Verdict::Invalid, None, true)
        );
        assert_eq!(t.state(Alg::Rs256), HostState::Unknown);
        assert_eq!(
            run(&t, Alg::Rs256, HostCall::Valid, Verdict::Valid),
            (Verdict::Valid, Some(Change::Trusted(Alg::Rs256)), true)
        );
        assert_eq!(t.state(Alg::Rs256), HostState::Trusted);
        // RS256 trusted does not make RS512 (same key family) trusted.
        assert_eq!(t.state(Alg::Rs512), HostState::Unknown);
        assert_eq!(t.state(Alg::Es256), HostState::Unknown);
        // RS512: the host says valid, pure Rust invalid → unusable, pure
        // Rust's verdict stands.
        assert_eq!(
            run(&t, Alg::Rs512, HostCall::Valid, Verdict::Invalid),
            (
                Verdict::Invalid,
                Some(Change::Disagreed {
                    alg: Alg::Rs512,
                    sampled: false
                }),
                true
            )
        );
        assert_eq!(t.state(Alg::Rs512), HostState::Unusable);
        assert_eq!(
            run(&t, Alg::Rs512, HostCall::Valid, Verdict::Valid),
            (Verdict::Unavailable, None, false)
        );
        // RS256 is still trusted: the host decides without pure Rust.
        assert_eq!(
            run(&t, Alg::Rs256, HostCall::Invalid, Verdict::Valid),
            (Verdict::Invalid, None, false)
        );
        // Algorithms the host never verifies.
        assert_eq!(t.state(Alg::Ps256), HostState::Unusable);
        assert_eq!(
            run(&t, Alg::Ps256, HostCall::Valid, Verdict::Valid),
            (Verdict::Unavailable, None, false)
        );
    }

    #[test]
    fn every_nth_trusted_verification_is_sampled() {
        let t = HostTrust::new(1000);
        run(&t, Alg::Es256, HostCall::Valid, Verdict::Valid);
        assert_eq!(t.state(Alg::Es256), HostState::Trusted);
        let mut sampled = 0;
        for _ in 0..3000 {
            let (v, c, asked) = run(&t, Alg::Es256, HostCall::Valid, Verdict::Valid);
            assert_eq!((v, c), (Verdict::Valid, None));
            sampled += usize::from(asked);
        }
        assert_eq!(sampled, 3);
        // A sample that disagrees: distrust, and pure Rust decides.
        let mut change = None;
        for _ in 0..1000 {
            let (v, c, asked) = run(&t, Alg::Es256, HostCall::Valid, Verdict::Invalid);
            if asked {
                assert_eq!(v, Verdict::Invalid);
                change = c;
                break;
            }
            assert_eq!(v, Verdict::Valid);
        }
        let change = change.unwrap();
        assert_eq!(
            change,
            Change::Disagreed {
                alg: Alg::Es256,
                sampled: true
            }
        );
        assert!(change.is_warning());
        assert!(change.message("verify_signature").contains("ES256"));
        assert_eq!(t.state(Alg::Es256), HostState::Unusable);
        assert_eq!(
            run(&t, Alg::Es256, HostCall::Valid, Verdict::Valid),
            (Verdict::Unavailable, None, false)
        );
    }

    #[test]
    fn failures_distrust_only_their_algorithm_and_not_asked_changes_nothing() {
        let t = HostTrust::new(1);
        assert_eq!(
            run(&t, Alg::Es384, HostCall::NotAsked, Verdict::Valid),
            (Verdict::Unavailable, None, false)
        );
        assert_eq!(t.state(Alg::Es384), HostState::Unknown);
        assert_eq!(
            run(&t, Alg::Es384, HostCall::Failed, Verdict::Valid),
            (
                Verdict::Unavailable,
                Some(Change::Failed(Alg::Es384)),
                false
            )
        );
        // Logged once.
        assert_eq!(t.state(Alg::Es384), HostState::Unusable);
        assert_eq!(t.state(Alg::Rs384), HostState::Unknown);
        // sample_every 1: every trusted verification is checked.
        run(&t, Alg::Rs384, HostCall::Valid, Verdict::Valid);
        for _ in 0..5 {
            assert!(run(&t, Alg::Rs384, HostCall::Valid, Verdict::Valid).2);
        }
        assert_eq!(HostTrust::new(0).sample_every, 1);
    }
}
