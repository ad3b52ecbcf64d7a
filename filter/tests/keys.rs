//! Key sources with a virtual clock and an in-memory shared store: held
//! requests, sharing across workers, refresh, failures, unknown `kid`,
//! discovery. Tokens and keys come from `vectors/vectors.json` (made by an
//! independent library).

mod common;
use common::{Decision, Worker};

use oauth_filter::core::config;
use oauth_filter::core::events::{Event, Metric};
use oauth_filter::core::shared::MemoryStore;
use oauth_filter::core::{Callout, CalloutResponse, RequestView, UnixMillis, WaitFor};
use serde_json::{json, Value};

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/vectors.json")).unwrap()
}

fn now0() -> UnixMillis {
    UnixMillis::from_secs(vectors()["now"].as_u64().unwrap())
}

/// Public asymmetric keys of the vectors, optionally without some kids.
fn jwks(without: &[&str]) -> String {
    let v = vectors();
    let keys: Vec<Value> = v["config"]["providers"][0]["jwks"]["inline"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] != "oct" && !without.contains(&k["kid"].as_str().unwrap()))
        .cloned()
        .collect();
    json!({ "keys": keys }).to_string()
}

fn token(name: &str) -> String {
    let v = vectors();
    let c = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    c["headers"][0][1]
        .as_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned()
}

fn cfg(jwks: Value) -> config::FilterConfig {
    let v = vectors();
    let doc = json!({
        "realm": "k",
        "require_https": false, "providers": [{
            "name": "remote",
            "issuer": v["config"]["providers"][0]["issuer"],
            "audiences": ["api://vectors"],
            "jwks": jwks,
        }],
        "key_fetch": {"initial_wait_ms": 2000, "timeout_ms": 1000},
    });
    config::parse(doc.to_string().as_bytes()).unwrap()
}

fn remote() -> config::FilterConfig {
    cfg(json!({"remote": {"uri": "https://as.test/jwks", "cluster": "as"}}))
}

fn ask(f: &mut Worker, tok: &str, held: Option<UnixMillis>, now: UnixMillis) -> Decision {
    let hs = vec![("authorization".to_owned(), format!("Bearer {tok}"))];
    let req = RequestView {
        method: "GET",
        path: "/",
        headers: &hs,
        held_since: held,
        connection: Default::default(),
    };
    f.on_request(&req, now)
}

fn status(d: &Decision) -> u16 {
    match d {
        Decision::Continue(_) => 200,
        Decision::Reply(r) => r.status,
        Decision::Pause => 0,
    }
}

fn ok_resp<'a>(body: &'a [u8], headers: &'a [(String, String)]) -> CalloutResponse<'a> {
    CalloutResponse {
        status: Some(200),
        headers,
        body,
    }
}

const FAILED: CalloutResponse<'static> = CalloutResponse {
    status: None,
    headers: &[],
    body: &[],
};

fn one(c: Vec<Callout>) -> Callout {
    assert_eq!(c.len(), 1, "{c:?}");
    c.into_iter().next().unwrap()
}

#[test]
fn first_request_is_held_until_the_key_set_lands() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let tok = token("alg_ES256");
    assert_eq!(ask(&mut f, &tok, None, t0), Decision::Pause);
    let c = one(f.on_tick(t0, &mut store));
    assert_eq!(c.cluster, "as");
    assert_eq!(c.uri.path, "/jwks");
    assert!(c
        .headers()
        .contains(&(":authority".into(), "as.test".into())));
    // Still loading: still held.
    assert_eq!(
        ask(&mut f, &tok, Some(t0), t0.plus_ms(100)),
        Decision::Pause
    );
    assert_eq!(f.last_wait, Some(WaitFor::Keys(0)));
    assert!(f.take_ready().is_empty());
    let body = jwks(&[]);
    f.on_callout_response(
        c.id,
        ok_resp(body.as_bytes(), &[]),
        t0.plus_ms(200),
        &mut store,
    );
    assert_eq!(
        f.take_ready(),
        vec![WaitFor::Keys(0)],
        "the answer wakes it"
    );
    assert_eq!(status(&ask(&mut f, &tok, Some(t0), t0.plus_ms(200))), 200);
}

#[test]
fn held_request_gets_503_after_the_initial_wait() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let tok = token("alg_ES256");
    assert_eq!(ask(&mut f, &tok, None, t0), Decision::Pause);
    one(f.on_tick(t0, &mut store));
    assert_eq!(
        ask(&mut f, &tok, Some(t0), t0.plus_ms(1999)),
        Decision::Pause
    );
    let d = ask(&mut f, &tok, Some(t0), t0.plus_ms(2000));
    assert_eq!(status(&d), 503);
    assert!(f
        .drain_events()
        .contains(&Event::Metric(Metric::Denied("keys_unavailable"))));
}

#[test]
fn two_workers_make_one_fetch() {
    let mut store = MemoryStore::default();
    let mut w1 = Worker::new(remote(), "w1");
    let mut w2 = Worker::new(remote(), "w2");
    let t0 = now0();
    let c = one(w1.on_tick(t0, &mut store));
    assert!(
        w2.on_tick(t0, &mut store).is_empty(),
        "w2 must wait for w1's fetch"
    );
    assert!(w2.on_tick(t0.plus_ms(500), &mut store).is_empty());
    let body = jwks(&[]);
    let cc = [("cache-control".to_owned(), "public, max-age=300".to_owned())];
    w1.on_callout_response(
        c.id,
        ok_resp(body.as_bytes(), &cc),
        t0.plus_ms(600),
        &mut store,
    );
    assert!(
        w2.on_tick(t0.plus_ms(700), &mut store).is_empty(),
        "w2 adopts the shared set"
    );
    let tok = token("alg_RS256");
    assert_eq!(status(&ask(&mut w2, &tok, None, t0.plus_ms(800))), 200);
    // Refresh after max-age: again exactly one fetch between both workers.
    let t1 = t0.plus_secs(301);
    let a = w1.on_tick(t1, &mut store);
    let b = w2.on_tick(t1, &mut store);
    assert_eq!(a.len() + b.len(), 1, "one refresh: {a:?} {b:?}");
}

#[test]
fn expired_lease_is_taken_over() {
    let mut store = MemoryStore::default();
    let mut w1 = Worker::new(remote(), "w1");
    let mut w2 = Worker::new(remote(), "w2");
    let t0 = now0();
    one(w1.on_tick(t0, &mut store)); // w1 never gets an answer
    assert!(w2.on_tick(t0.plus_ms(2000), &mut store).is_empty());
    // Lease ttl = 2 × timeout + 1 s = 3 s.
    one(w2.on_tick(t0.plus_ms(3001), &mut store));
}

#[test]
fn first_fetch_failure_gives_503_then_recovers() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let tok = token("alg_ES256");
    let c = one(f.on_tick(t0, &mut store));
    f.on_callout_response(c.id, FAILED, t0.plus_ms(10), &mut store);
    assert!(f
        .drain_events()
        .contains(&Event::Metric(Metric::KeyFetchFailure)));
    assert_eq!(status(&ask(&mut f, &tok, None, t0.plus_ms(20))), 503);
    // Retry interval (5 s) not over: no new fetch.
    assert!(f.on_tick(t0.plus_secs(4), &mut store).is_empty());
    let c = one(f.on_tick(t0.plus_secs(6), &mut store));
    let body = jwks(&[]);
    f.on_callout_response(
        c.id,
        ok_resp(body.as_bytes(), &[]),
        t0.plus_secs(6),
        &mut store,
    );
    assert_eq!(status(&ask(&mut f, &tok, None, t0.plus_secs(6))), 200);
}

#[test]
fn refresh_failure_keeps_the_last_good_set() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    let body = jwks(&[]);
    f.on_callout_response(c.id, ok_resp(body.as_bytes(), &[]), t0, &mut store);
    // Default refresh interval: 600 s.
    assert!(f.on_tick(t0.plus_secs(599), &mut store).is_empty());
    let t1 = t0.plus_secs(601);
    let c = one(f.on_tick(t1, &mut store));
    let err = CalloutResponse {
        status: Some(500),
        headers: &[],
        body: b"oops",
    };
    f.on_callout_response(c.id, err, t1, &mut store);
    assert_eq!(status(&ask(&mut f, &token("alg_EdDSA"), None, t1)), 200);
    // A worker starting now adopts the last good set too.
    let mut late = Worker::new(remote(), "w9");
    assert!(late.on_tick(t1.plus_ms(1), &mut store).is_empty());
    assert_eq!(
        status(&ask(&mut late, &token("alg_ES384"), None, t1.plus_ms(2))),
        200
    );
}

#[test]
fn max_age_is_clamped_to_the_configured_bounds() {
    let t0 = now0();
    let body = jwks(&[]);
    for (max_age, quiet_until_s, due_s) in
        [("1", 29, 31), ("999999", 86_399, 86_401), ("90", 89, 91)]
    {
        let mut store = MemoryStore::default();
        let mut f = Worker::new(remote(), "w1");
        let c = one(f.on_tick(t0, &mut store));
        let cc = [("Cache-Control".to_owned(), format!("max-age={max_age}"))];
        f.on_callout_response(c.id, ok_resp(body.as_bytes(), &cc), t0, &mut store);
        assert!(
            f.on_tick(t0.plus_secs(quiet_until_s), &mut store)
                .is_empty(),
            "max-age {max_age}"
        );
        one(f.on_tick(t0.plus_secs(due_s), &mut store));
    }
}

#[test]
fn unknown_kid_refetches_once_rate_limited() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    let old = jwks(&["ec256"]);
    f.on_callout_response(c.id, ok_resp(old.as_bytes(), &[]), t0, &mut store);
    let tok = token("alg_ES256"); // kid ec256, not in the set yet
                                  // Right after a fetch the refetch is rate-limited (30 s): refused at once.
    let d = ask(&mut f, &tok, None, t0.plus_secs(1));
    assert_eq!(status(&d), 401);
    assert!(f
        .drain_events()
        .contains(&Event::Metric(Metric::Denied("unknown_kid"))));
    // Later, the request is held and a refetch starts at the next tick.
    let t1 = t0.plus_secs(40);
    assert_eq!(ask(&mut f, &tok, None, t1), Decision::Pause);
    let c = one(f.on_tick(t1, &mut store));
    let new = jwks(&[]);
    f.on_callout_response(
        c.id,
        ok_resp(new.as_bytes(), &[]),
        t1.plus_ms(50),
        &mut store,
    );
    assert_eq!(status(&ask(&mut f, &tok, Some(t1), t1.plus_ms(60))), 200);
    // Another unknown kid right away: no second refetch.
    let forged = {
        let mut parts: Vec<String> = tok.split('.').map(str::to_owned).collect();
        parts[0] = base64_url(br#"{"alg":"ES256","kid":"rotated-2"}"#);
        parts.join(".")
    };
    assert_eq!(status(&ask(&mut f, &forged, None, t1.plus_secs(1))), 401);
    assert!(f.on_tick(t1.plus_secs(2), &mut store).is_empty());
}

#[test]
fn unknown_kid_waits_for_the_rate_limit_window_when_it_opens_within_the_hold_budget() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    let old = jwks(&["ec256"]);
    f.on_callout_response(c.id, ok_resp(old.as_bytes(), &[]), t0, &mut store);
    let tok = token("alg_ES256"); // kid ec256, not in the set yet
                                  // The 30 s window opens in 1 s, within the 2 s hold budget: held, not 401.
    let asked = t0.plus_secs(29);
    assert_eq!(ask(&mut f, &tok, None, asked), Decision::Pause);
    // No fetch before the window opens...
    assert!(f.on_tick(asked.plus_ms(500), &mut store).is_empty());
    // ...one when it does, and the held request passes with the new key.
    let opened = t0.plus_secs(30);
    let c = one(f.on_tick(opened, &mut store));
    let new = jwks(&[]);
    f.on_callout_response(
        c.id,
        ok_resp(new.as_bytes(), &[]),
        opened.plus_ms(20),
        &mut store,
    );
    assert_eq!(
        status(&ask(&mut f, &tok, Some(asked), opened.plus_ms(30))),
        200
    );
}

#[test]
fn unknown_kid_refetch_that_does_not_help_gives_401() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    let old = jwks(&["ec256"]);
    f.on_callout_response(c.id, ok_resp(old.as_bytes(), &[]), t0, &mut store);
    let tok = token("alg_ES256");
    let t1 = t0.plus_secs(40);
    assert_eq!(ask(&mut f, &tok, None, t1), Decision::Pause);
    let c = one(f.on_tick(t1, &mut store));
    f.on_callout_response(c.id, ok_resp(old.as_bytes(), &[]), t1, &mut store);
    assert_eq!(status(&ask(&mut f, &tok, Some(t1), t1.plus_ms(1))), 401);
}

#[test]
fn discovery_then_jwks() {
    let v = vectors();
    let iss = v["config"]["providers"][0]["issuer"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut store = MemoryStore::default();
    let mut f = Worker::new(cfg(json!({"discovery": {"cluster": "idp"}})), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    assert_eq!(c.uri.path, "/.well-known/openid-configuration");
    assert_eq!(c.uri.authority, "issuer.vectors.test");
    let doc = json!({"issuer": iss, "jwks_uri": "https://keys.vectors.test/k?v=1"}).to_string();
    let next = one(f.on_callout_response(c.id, ok_resp(doc.as_bytes(), &[]), t0, &mut store));
    assert_eq!(next.uri.authority, "keys.vectors.test");
    assert_eq!(next.uri.path, "/k?v=1");
    assert_eq!(next.cluster, "idp");
    let body = jwks(&[]);
    assert!(f
        .on_callout_response(next.id, ok_resp(body.as_bytes(), &[]), t0, &mut store)
        .is_empty());
    assert_eq!(status(&ask(&mut f, &token("alg_PS256"), None, t0)), 200);
}

#[test]
fn discovery_with_another_issuer_is_a_failure() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(cfg(json!({"discovery": {"cluster": "idp"}})), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    let doc = json!({"issuer": "https://evil.test", "jwks_uri": "https://evil.test/k"}).to_string();
    assert!(f
        .on_callout_response(c.id, ok_resp(doc.as_bytes(), &[]), t0, &mut store)
        .is_empty());
    assert_eq!(status(&ask(&mut f, &token("alg_ES256"), None, t0)), 503);
}

#[test]
fn garbage_key_sets_are_failures() {
    let t0 = now0();
    let dup = r#"{"keys":[],"keys":[]}"#;
    let no_usable =
        r#"{"keys":[{"kty":"oct","k":"AAAA"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#;
    for body in ["", "not json", "[]", dup, no_usable] {
        let mut store = MemoryStore::default();
        let mut f = Worker::new(remote(), "w1");
        let c = one(f.on_tick(t0, &mut store));
        f.on_callout_response(c.id, ok_resp(body.as_bytes(), &[]), t0, &mut store);
        assert!(
            f.drain_events()
                .contains(&Event::Metric(Metric::KeyFetchFailure)),
            "{body:?} accepted"
        );
    }
    let big = vec![b' '; 600 * 1024];
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let c = one(f.on_tick(t0, &mut store));
    f.on_callout_response(c.id, ok_resp(&big, &[]), t0, &mut store);
    assert!(f
        .drain_events()
        .contains(&Event::Metric(Metric::KeyFetchFailure)));
}

#[test]
fn key_rotation_invalidates_cached_tokens() {
    let mut store = MemoryStore::default();
    let mut f = Worker::new(remote(), "w1");
    let t0 = now0();
    let c = one(f.on_tick(t0, &mut store));
    let all = jwks(&[]);
    f.on_callout_response(c.id, ok_resp(all.as_bytes(), &[]), t0, &mut store);
    let tok = token("alg_ES256");
    assert_eq!(status(&ask(&mut f, &tok, None, t0)), 200);
    // The AS drops the key at the next refresh: the cached token must go too.
    let t1 = t0.plus_secs(601);
    let c = one(f.on_tick(t1, &mut store));
    let without = jwks(&["ec256"]);
    f.on_callout_response(c.id, ok_resp(without.as_bytes(), &[]), t1, &mut store);
    assert_eq!(status(&ask(&mut f, &tok, None, t1)), 401);
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
