//! Runs the JWS vectors made by `tests/vectors/make_vectors.py` (cryptography,
//! jwcrypto, pyjwt) through the sans-IO core at the vectors' fixed clock.

mod common;
use common::{Decision, Worker};

use oauth_filter::core::config;
use oauth_filter::core::events::{Event, Metric};
use oauth_filter::core::{RequestView, UnixMillis};
use serde_json::Value;

fn load() -> Value {
    let text = include_str!("vectors/vectors.json");
    serde_json::from_str(text).expect("vectors.json is JSON")
}

fn filter(v: &Value) -> Worker {
    let cfg = config::parse(v["config"].to_string().as_bytes()).expect("vector config is valid");
    Worker::new(cfg, "test-worker")
}

fn headers(case: &Value) -> Vec<(String, String)> {
    case["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn check(case: &Value, d: &Decision, events: &[Event]) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let expect = &case["expect"];
    let status = expect["status"].as_u64().unwrap() as u16;
    match d {
        Decision::Continue(edits) => {
            if status != 200 {
                return Err(format!("{name}: accepted, expected {status}"));
            }
            for (k, want) in expect["headers"].as_object().unwrap() {
                let got = edits
                    .set
                    .iter()
                    .find(|(h, _)| h == k)
                    .map(|(_, v)| v.as_str());
                if got != want.as_str() {
                    return Err(format!("{name}: header {k} = {got:?}, expected {want}"));
                }
            }
            // Anti-spoofing: our headers are removed before being set.
            if !edits.remove.iter().any(|h| h == "x-sub") {
                return Err(format!(
                    "{name}: x-sub not stripped from the client request"
                ));
            }
            if !events.contains(&Event::Metric(Metric::Allowed)) {
                return Err(format!("{name}: no allowed metric"));
            }
        }
        Decision::Reply(r) => {
            if r.status != status {
                return Err(format!(
                    "{name}: status {} ({}), expected {status}",
                    r.status, r.body
                ));
            }
            let reason = expect["reason"].as_str().unwrap();
            if !events
                .iter()
                .any(|e| matches!(e, Event::Metric(Metric::Denied(r)) if *r == reason))
            {
                return Err(format!(
                    "{name}: events {events:?} lack denied reason {reason}"
                ));
            }
            let www = r.header("www-authenticate").unwrap_or("");
            if let Some(exact) = expect["www_authenticate"].as_str() {
                if www != exact {
                    return Err(format!(
                        "{name}: WWW-Authenticate {www:?}, expected {exact:?}"
                    ));
                }
            }
            if let Some(prefix) = expect["www_authenticate_prefix"].as_str() {
                if !www.starts_with(prefix) {
                    return Err(format!(
                        "{name}: WWW-Authenticate {www:?}, expected prefix {prefix:?}"
                    ));
                }
            }
            let body: Value =
                serde_json::from_str(&r.body).map_err(|e| format!("{name}: body {e}"))?;
            if body["error"].as_str().is_none() || body["error_description"].as_str().is_none() {
                return Err(format!("{name}: body {body}"));
            }
        }
        Decision::Pause => return Err(format!("{name}: paused (inline keys never pause)")),
    }
    // Audit lines never carry the token.
    for e in events {
        if let Event::Audit(a) = e {
            let line = a.to_line();
            for (_, v) in headers(case) {
                if let Some(tok) = v.strip_prefix("Bearer ") {
                    if tok.len() > 20 && line.contains(tok) {
                        return Err(format!("{name}: audit line contains the token"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn every_vector_gets_its_expected_outcome_cold_and_cached() {
    let v = load();
    let now = UnixMillis::from_secs(v["now"].as_u64().unwrap());
    let mut f = filter(&v);
    let mut failures = Vec::new();
    for pass in ["cold", "cached"] {
        for case in v["cases"].as_array().unwrap() {
            let hs = headers(case);
            let req = RequestView {
                method: case["method"].as_str().unwrap(),
                path: case["path"].as_str().unwrap(),
                headers: &hs,
                held_since: None,
                connection: Default::default(),
            };
            let d = f.on_request(&req, now);
            let events = f.drain_events();
            if let Err(e) = check(case, &d, &events) {
                failures.push(format!("[{pass}] {e}"));
            }
            // The cache never serves a token past its exp (even within the
            // skew, where full verification still accepts it).
            let want = if case["name"] == "exp_within_skew" {
                Metric::CacheMiss
            } else {
                Metric::CacheHit
            };
            if pass == "cached"
                && case["expect"]["status"] == 200
                && !events.contains(&Event::Metric(want))
            {
                failures.push(format!("[{pass}] {}: expected {want:?}", case["name"]));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_algorithm_and_rejection_reason() {
    let v = load();
    let covered: Vec<String> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["expect"]["reason"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| c["name"].as_str().unwrap().to_owned())
        })
        .collect();
    for alg in [
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256",
        "HS384", "HS512",
    ] {
        assert!(
            covered.contains(&format!("alg_{alg}")),
            "no vector for {alg}"
        );
    }
    for reason in [
        "alg_none",
        "alg_key_mismatch",
        "unknown_crit",
        "bad_signature",
        "malformed_base64url",
        "malformed_json",
        "duplicate_member",
        "expired",
        "not_yet_valid",
        "untrusted_issuer",
        "wrong_audience",
        "missing_claim",
        "claim_mismatch",
        "wrong_typ",
        "unknown_kid",
        "disallowed_alg",
        "token_too_large",
        "multiple_authorization",
        "no_token",
        "insufficient_scope",
    ] {
        assert!(
            covered.iter().any(|c| c == reason),
            "no vector for {reason}"
        );
    }
}

#[test]
fn expired_cached_token_is_refused_later() {
    let v = load();
    let now = UnixMillis::from_secs(v["now"].as_u64().unwrap());
    let mut f = filter(&v);
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "alg_ES256")
        .unwrap();
    let hs = headers(case);
    let req = RequestView {
        method: "GET",
        path: "/",
        headers: &hs,
        held_since: None,
        connection: Default::default(),
    };
    assert!(matches!(f.on_request(&req, now), Decision::Continue(_)));
    // exp = now + 3600; skew 60 s.
    let later = now.plus_secs(3600 + 61);
    match f.on_request(&req, later) {
        Decision::Reply(r) => assert_eq!(r.status, 401),
        d => panic!("{d:?}"),
    }
}
