//! Runs the sender-constraint vectors made by
//! `tests/vectors/make_binding_vectors.py` (cryptography, jwcrypto, pyjwt)
//! through `core::resource::binding` at the vectors' fixed clock: DPoP
//! proofs (RFC 9449), JWK thumbprints (RFC 7638), certificate-bound tokens
//! (RFC 8705).

use oauth_filter::core::jose::jws::Alg;
use oauth_filter::core::jose::verify::Verifier;
use oauth_filter::core::resource::binding::dpop::{
    self, check_jkt, check_proof, replay_entry, DpopError, DpopPolicy, JktBinding, ProofRequest,
    ReplayWindow,
};
use oauth_filter::core::resource::binding::mtls::{self, CertDigest, CertSource, MtlsBinding};
use oauth_filter::core::resource::binding::thumbprint::thumbprint;
use oauth_filter::core::UnixMillis;
use serde_json::{json, Value};

fn load() -> Value {
    serde_json::from_str(include_str!("vectors/binding_vectors.json"))
        .expect("binding_vectors.json is JSON")
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string"))
        .collect()
}

fn policy(v: &Value) -> DpopPolicy {
    let p = &v["policy"];
    DpopPolicy {
        algs: strs(&p["algs"])
            .into_iter()
            .map(|a| Alg::from_name(a).expect("known alg"))
            .collect(),
        iat_past_ms: p["iat_past_ms"].as_u64().unwrap(),
        iat_future_ms: p["iat_future_ms"].as_u64().unwrap(),
    }
}

#[test]
fn binding_default_policy_matches_the_vectors() {
    assert_eq!(policy(&load()), DpopPolicy::default());
}

#[test]
fn binding_dpop_vectors() {
    let v = load();
    let policy = policy(&v);
    let now = UnixMillis(v["now_ms"].as_u64().unwrap());
    let verifier = Verifier::default();
    let cases = v["dpop"].as_array().unwrap();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut valid = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let proofs = strs(&case["proofs"]);
        let nonces = strs(&case["nonces"]);
        let req = ProofRequest {
            proofs: &proofs,
            method: case["method"].as_str().unwrap(),
            uri: case["uri"].as_str().unwrap(),
            access_token: case["access_token"].as_str(),
            nonces: &nonces,
            now,
        };
        let got = check_proof(&policy, &req, &verifier);
        let expect = &case["expect"];
        let outcome = match (&got, expect["ok"].as_bool().unwrap()) {
            (Ok(p), true) => {
                valid += 1;
                let want = (
                    expect["jkt"].as_str().unwrap(),
                    expect["jti"].as_str().unwrap(),
                    expect["iat_ms"].as_u64().unwrap(),
                );
                if (p.jkt.as_str(), p.jti.as_str(), p.iat.0) != want {
                    Err(format!("got {p:?}, want {want:?}"))
                } else {
                    check_binding(case, p, &policy, now)
                }
            }
            (Err(e), false) => {
                let want = (
                    expect["reason"].as_str().unwrap(),
                    expect["error"].as_str().unwrap(),
                );
                if (e.reason(), e.error_code()) == want {
                    check_challenge(&policy, e)
                } else {
                    Err(format!("got {e:?} ({}), want {want:?}", e.reason()))
                }
            }
            (got, _) => Err(format!("got {got:?}, want {expect}")),
        };
        if let Err(msg) = outcome {
            failures.push(format!("{name}: {msg}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(valid >= 10, "{valid} valid proofs");
}

/// `cnf.jkt` and the replay window for a proof that passed.
fn check_binding(
    case: &Value,
    p: &dpop::DpopProof,
    policy: &DpopPolicy,
    now: UnixMillis,
) -> Result<(), String> {
    if let Some(cnf_jkt) = case["cnf_jkt"].as_str() {
        let want = if cnf_jkt == p.jkt {
            JktBinding::Bound
        } else {
            JktBinding::Mismatch
        };
        let got = check_jkt(Some(&json!({ "jkt": cnf_jkt })), &p.jkt);
        if got != want {
            return Err(format!("cnf.jkt: got {got:?}, want {want:?}"));
        }
    }
    let entry = replay_entry(policy, p, now);
    if entry.expires_at.0 != p.iat.0 + policy.iat_past_ms + 1 || entry.ttl_ms == 0 {
        return Err(format!("replay entry {entry:?}"));
    }
    let mut window = ReplayWindow::new(8);
    if window.check_and_insert(&entry, now).is_err() {
        return Err("first use refused".to_owned());
    }
    match window.check_and_insert(&entry, now) {
        Err(DpopError::Replayed) => Ok(()),
        other => Err(format!("replay not detected: {other:?}")),
    }
}

fn check_challenge(policy: &DpopPolicy, e: &DpopError) -> Result<(), String> {
    let c = policy.challenge(e);
    let want = format!(
        "DPoP algs=\"ES256 ES384 RS256 PS256 EdDSA\", error=\"{}\", error_description=\"",
        e.error_code()
    );
    if c.starts_with(&want) && c.ends_with('"') && !c.contains(['\r', '\n']) {
        Ok(())
    } else {
        Err(format!("challenge {c:?}"))
    }
}

#[test]
fn binding_thumbprint_vectors() {
    let v = load();
    let cases = v["thumbprints"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        assert_eq!(
            thumbprint(&case["jwk"]).as_deref(),
            Ok(case["thumbprint"].as_str().unwrap()),
            "{}",
            case["name"]
        );
    }
    assert_eq!(
        cases[0]["thumbprint"],
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn binding_certificate_vector() {
    use base64::Engine;
    let v = load();
    let c = &v["certificate"];
    let der = base64::engine::general_purpose::STANDARD
        .decode(c["der_b64"].as_str().unwrap())
        .unwrap();
    let d = CertDigest::of_der(&der);
    assert_eq!(d.to_x5t(), c["x5t_s256"].as_str().unwrap());
    let hex = c["sha256_hex"].as_str().unwrap();
    assert_eq!(mtls::from_connection(Some(hex.as_bytes())), Ok(Some(d)));
    assert_eq!(
        mtls::digest_of_url_pem(c["pem_urlencoded"].as_str().unwrap()),
        Ok(d)
    );
    assert_eq!(mtls::digest_of_url_pem(c["pem"].as_str().unwrap()), Ok(d));
    for xfcc in ["xfcc_hash", "xfcc_cert"] {
        assert_eq!(
            mtls::from_xfcc(&[c[xfcc].as_str().unwrap()]),
            Ok(Some(d)),
            "{xfcc}"
        );
    }
}

#[test]
fn binding_mtls_vectors() {
    let v = load();
    let cases = v["mtls"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in cases {
        let values = strs(&case["values"]);
        let source = match case["source"].as_str().unwrap() {
            "connection" => CertSource::Connection(values.first().map(|s| s.as_bytes())),
            "xfcc" => CertSource::Xfcc(&values),
            "pem_header" => CertSource::PemHeader(&values),
            other => panic!("unknown source {other}"),
        };
        let got = mtls::check(Some(&case["cnf"]), source);
        let want = case["expect"].as_str().unwrap();
        if got.reason() != want {
            failures.push(format!("{}: got {got:?}, want {want}", case["name"]));
        }
        if want == "bound" && got != MtlsBinding::Bound {
            failures.push(format!("{}: not bound", case["name"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
