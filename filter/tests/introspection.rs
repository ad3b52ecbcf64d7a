//! Introspection (RFC 7662) with a virtual clock and an in-memory shared
//! store: request building per client-authentication method (assertions
//! checked by pyjwt and jwcrypto), answer parsing, resolver choice, the
//! shared answer cache and single-flight across workers.

mod common;
use common::{form, member};
use common::{Decision, Worker};
use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use oauth_filter::core::config::{self, FilterConfig};
use oauth_filter::core::config::{ClientAuth, ClientAuthConfig, Secrets};
use oauth_filter::core::events::{Event, Histogram, Metric};
use oauth_filter::core::resource::introspection::answer::{
    parse_answer, Answer, IntrospectionError,
};
use oauth_filter::core::shared::MemoryStore;
use oauth_filter::core::{Callout, CalloutResponse, RequestView, UnixMillis};
use serde_json::{json, Value};

const NOW: UnixMillis = UnixMillis(1_800_000_000_000);
const NOW_S: u64 = 1_800_000_000;

fn keys() -> Value {
    serde_json::from_str(include_str!("introspection/keys.json")).unwrap()
}

fn provider(auth: Value) -> Value {
    json!({
        "name": "opaque",
        "issuer": "https://as.test",
        "audiences": ["api"],
        "resolver": "introspection",
        "introspection": {
            "uri": "https://as.test/oauth/introspect",
            "cluster": "as",
            "client_auth": auth,
            "timeout_ms": 1000,
        },
    })
}

fn basic() -> Value {
    json!({"method": "client_secret_basic", "client_id": "gw:1", "client_secret": "s&cr t"})
}

fn cfg_with(providers: Value, extra: Value) -> FilterConfig {
    let mut doc = json!({
        "realm": "t",
        "require_https": false, "providers": providers,
        "upstream": {"claim_headers": [{"claim": "sub", "header": "x-sub"}, {"claim": "tenant", "header": "x-tenant"}]},
        "scopes": {"rules": [{"path_prefix": "/admin", "required": ["admin"]}]},
        "introspection_cache": {"max_ttl_s": 60, "default_ttl_s": 30, "inactive_ttl_s": 5},
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    config::parse(doc.to_string().as_bytes()).unwrap()
}

fn cfg() -> FilterConfig {
    cfg_with(json!([provider(basic())]), json!({}))
}

fn req<'a>(hs: &'a [(String, String)], path: &'a str, held: Option<UnixMillis>) -> RequestView<'a> {
    RequestView {
        method: "GET",
        path,
        headers: hs,
        held_since: held,
        connection: Default::default(),
    }
}

fn bearer(t: &str) -> Vec<(String, String)> {
    vec![("authorization".to_owned(), format!("Bearer {t}"))]
}

fn ask(
    f: &mut Worker,
    s: &mut MemoryStore,
    tok: &str,
    held: Option<UnixMillis>,
    now: UnixMillis,
) -> Decision {
    let hs = bearer(tok);
    f.on_request_in(&req(&hs, "/", held), now, s)
}

fn status(d: &Decision) -> u16 {
    match d {
        Decision::Continue(_) => 200,
        Decision::Reply(r) => r.status,
        Decision::Pause => 0,
    }
}

fn one(mut c: Vec<Callout>) -> Callout {
    assert_eq!(c.len(), 1, "{c:?}");
    c.remove(0)
}

fn answer(
    f: &mut Worker,
    s: &mut MemoryStore,
    c: &Callout,
    status: Option<u16>,
    body: &str,
    now: UnixMillis,
) {
    let resp = CalloutResponse {
        status,
        headers: &[],
        body: body.as_bytes(),
    };
    assert!(f.on_callout_response(c.id, resp, now, s).is_empty());
}

fn header<'a>(c: &'a Callout, name: &str) -> Option<&'a str> {
    c.extra_headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn metrics(f: &mut Worker) -> Vec<Metric> {
    f.drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Metric(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
fn client_secret_basic_request() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    assert_eq!(
        status(&ask(&mut f, &mut s, "opaque-1", None, NOW)),
        0,
        "held"
    );
    let c = one(f.drain_callouts());
    assert_eq!(c.method, "POST");
    assert_eq!(c.cluster, "as");
    assert_eq!(c.uri.path, "/oauth/introspect");
    assert_eq!(c.uri.authority, "as.test");
    assert_eq!(c.timeout_ms, 1000);
    assert_eq!(
        header(&c, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let h = c.headers();
    assert!(h.contains(&(":method".into(), "POST".into())));
    // RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
    let auth = header(&c, "authorization").unwrap();
    let raw = String::from_utf8(
        STANDARD
            .decode(auth.strip_prefix("Basic ").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw, "gw%3A1:s%26cr+t");
    let fm = form(&c);
    assert_eq!(member(&fm, "token"), Some("opaque-1"));
    assert_eq!(member(&fm, "token_type_hint"), Some("access_token"));
    assert_eq!(member(&fm, "client_secret"), None);
    assert!(
        !format!("{c:?}").contains("opaque-1"),
        "Debug never shows the token"
    );
}

#[test]
fn client_secret_post_request() {
    let auth = json!({"method": "client_secret_post", "client_id": "gw", "client_secret": "p=q&r"});
    let mut f = Worker::new(cfg_with(json!([provider(auth)]), json!({})), "w1");
    let mut s = MemoryStore::default();
    ask(&mut f, &mut s, "tok.en~_-", None, NOW);
    let c = one(f.drain_callouts());
    assert_eq!(header(&c, "authorization"), None);
    let fm = form(&c);
    assert_eq!(member(&fm, "token"), Some("tok.en~_-"));
    assert_eq!(member(&fm, "client_id"), Some("gw"));
    assert_eq!(member(&fm, "client_secret"), Some("p=q&r"));
}

/// The Python with pyjwt, jwcrypto and cryptography: `$PYTHON`, else `python3`.
fn python() -> Command {
    Command::new(std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into()))
}

/// Whether the Python has pyjwt and jwcrypto. `cargo xtask test` installs
/// them and sets `$PYTHON`; a plain `cargo test` on a machine without them
/// skips the cross-check with a message (under xtask, `OAUTH_E2E=1`, a
/// missing module is a failure).
fn python_has_jose() -> bool {
    let ok = python()
        .args(["-c", "import jwt, jwcrypto, cryptography"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("OAUTH_E2E").as_deref() != Ok("1"),
            "$PYTHON lacks pyjwt/jwcrypto/cryptography"
        );
        eprintln!(
            "skipping: python3 lacks pyjwt/jwcrypto/cryptography (cargo xtask test installs them)"
        );
    }
    ok
}

/// Every key type: the assertion in the request is accepted by pyjwt and
/// jwcrypto (filter/tests/introspection/verify_assertion.py).
#[test]
fn private_key_jwt_assertions_verify_with_pyjwt_and_jwcrypto() {
    if !python_has_jose() {
        return;
    }
    let ks = keys();
    for (name, alg) in [("es256", "ES256"), ("es384", "ES384"), ("rs256", "RS256")] {
        let auth = json!({"method": "private_key_jwt", "client_id": "gw-client",
                          "private_key": ks[name]["private"]});
        let mut f = Worker::new(cfg_with(json!([provider(auth)]), json!({})), "w1");
        let mut s = MemoryStore::default();
        ask(&mut f, &mut s, "opaque-a", None, NOW);
        ask(&mut f, &mut s, "opaque-b", None, NOW);
        let cs = f.drain_callouts();
        assert_eq!(cs.len(), 2);
        let fms: Vec<_> = cs.iter().map(form).collect();
        for fm in &fms {
            assert_eq!(member(fm, "client_id"), Some("gw-client"));
            assert_eq!(
                member(fm, "client_assertion_type"),
                Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            );
        }
        let a0 = member(&fms[0], "client_assertion").unwrap();
        let a1 = member(&fms[1], "client_assertion").unwrap();
        assert_ne!(a0, a1, "{name}: fresh jti per assertion");
        let input = json!({
            "assertion": a0, "public": ks[name]["public"], "alg": alg,
            "client_id": "gw-client", "aud": "https://as.test/oauth/introspect", "now": NOW_S,
        });
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/introspection/verify_assertion.py"
        );
        let mut child = python()
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("$PYTHON or python3 (with pyjwt, jwcrypto, cryptography) is needed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout == b"ok\n",
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // A signature that does not verify is refused by the script.
        let mut bad = a0.to_owned();
        bad.replace_range(bad.len() - 6.., "AAAAAA");
        let input = json!({
            "assertion": bad, "public": ks[name]["public"], "alg": alg,
            "client_id": "gw-client", "aud": "https://as.test/oauth/introspect", "now": NOW_S,
        });
        let mut child = python()
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        assert!(
            !child.wait().unwrap().success(),
            "{name}: tampered assertion accepted"
        );
    }
}

#[test]
fn private_key_jwt_audience_override_and_bad_keys() {
    let ks = keys();
    let c: ClientAuthConfig = serde_json::from_value(json!({
        "method": "private_key_jwt", "client_id": "c", "private_key": ks["es256"]["private"],
        "audience": "https://as.test", "lifetime_s": 30
    }))
    .unwrap();
    let a = ClientAuth::from_config(&c, "x", &Secrets::new()).unwrap();
    let parts = a.parts("https://as.test/introspect", NOW, "j1");
    let jwt = &parts.form[2].1;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["aud"], "https://as.test");
    assert_eq!(
        payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(),
        30
    );
    assert_eq!(payload["jti"], "j1");

    let mut wrong = ks["es256"]["private"].clone();
    wrong["x"] = ks["es384"]["private"]["x"].clone();
    let public_only = ks["rs256"]["public"].clone();
    for (key, path) in [
        (wrong, "x.private_key.x"),
        (public_only, "x.private_key.d"),
        (json!({"kty": "oct", "k": "AAAA"}), "x.private_key.kty"),
    ] {
        let c: ClientAuthConfig = serde_json::from_value(
            json!({"method": "private_key_jwt", "client_id": "c", "private_key": key}),
        )
        .unwrap();
        let e = ClientAuth::from_config(&c, "x", &Secrets::new()).unwrap_err();
        assert_eq!(e.path, path, "{e}");
        assert!(!e
            .message
            .contains(ks["rs256"]["private"]["d"].as_str().unwrap()));
    }
}

fn resp(status: Option<u16>, body: &str) -> Result<Answer, IntrospectionError> {
    parse_answer(CalloutResponse {
        status,
        headers: &[],
        body: body.as_bytes(),
    })
}

#[test]
fn answer_parsing() {
    let full = json!({
        "active": true, "scope": "a b", "client_id": "c", "username": "u", "sub": "s",
        "exp": 1, "iat": 2, "nbf": 3.5, "aud": ["x", "y"], "iss": "https://as.test",
        "token_type": "Bearer", "jti": "j", "cnf": {"x5t#S256": "abc"}, "tenant": {"any": ["thing"]},
    });
    match resp(Some(200), &full.to_string()).unwrap() {
        Answer::Active(m) => assert_eq!(Value::Object(m), full, "every member kept"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        resp(Some(200), r#"{"active":false,"sub":7}"#),
        Ok(Answer::Inactive)
    );
    assert_eq!(
        resp(Some(200), r#"{"active":true,"aud":"x"}"#).map(|_| ()),
        Ok(())
    );
    for (member, bad) in [
        ("scope", json!(["a"])),
        ("client_id", json!(1)),
        ("username", json!(null)),
        ("sub", json!({})),
        ("iss", json!(true)),
        ("token_type", json!(1)),
        ("jti", json!(1)),
        ("exp", json!("1")),
        ("iat", json!([1])),
        ("nbf", json!(null)),
        ("aud", json!(["x", 1])),
        ("cnf", json!("x")),
    ] {
        let mut v = json!({"active": true});
        v[member] = bad;
        assert_eq!(
            resp(Some(200), &v.to_string()),
            Err(IntrospectionError::BadMember(member)),
            "{member}"
        );
    }
    for body in [
        r#"{}"#,
        r#"{"active":"true"}"#,
        r#"{"active":1}"#,
        r#"{"active":null}"#,
    ] {
        assert_eq!(
            resp(Some(200), body),
            Err(IntrospectionError::NoActive),
            "{body}"
        );
    }
    for body in [
        "",
        "<html>",
        "[true]",
        r#"{"active":true,"active":false}"#,
        "{\"active\":true} x",
    ] {
        assert_eq!(
            resp(Some(200), body),
            Err(IntrospectionError::NotJson),
            "{body}"
        );
    }
    let huge = format!(r#"{{"active":true,"x":"{}"}}"#, "a".repeat(70_000));
    assert_eq!(resp(Some(200), &huge), Err(IntrospectionError::TooLarge));
    assert_eq!(resp(None, ""), Err(IntrospectionError::NoResponse));
    assert_eq!(
        resp(Some(503), r#"{"active":true}"#),
        Err(IntrospectionError::Status(503))
    );
    assert_eq!(
        resp(Some(401), r#"{"error":"invalid_client"}"#)
            .unwrap_err()
            .kind(),
        "status_other"
    );
}

fn active(extra: Value) -> String {
    let mut v = json!({"active": true, "sub": "alice", "aud": "api", "iss": "https://as.test",
                       "scope": "read", "exp": NOW_S + 3600, "tenant": "acme"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string()
}

#[test]
fn active_answer_lets_held_request_through_with_claims() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    assert_eq!(ask(&mut f, &mut s, "tok", None, NOW), Decision::Pause);
    let c = one(f.drain_callouts());
    let m = metrics(&mut f);
    assert!(m.contains(&Metric::IntrospectionCall) && m.contains(&Metric::AnswerCacheMiss));
    answer(
        &mut f,
        &mut s,
        &c,
        Some(200),
        &active(json!({})),
        NOW.plus_ms(40),
    );
    let ev = f.drain_events();
    assert!(
        ev.contains(&Event::Histogram(Histogram::IntrospectionLatencyMs, 40)),
        "{ev:?}"
    );
    match ask(&mut f, &mut s, "tok", Some(NOW), NOW.plus_ms(40)) {
        Decision::Continue(e) => {
            assert!(e.set.contains(&("x-sub".into(), "alice".into())), "{e:?}");
            assert!(e.set.contains(&("x-tenant".into(), "acme".into())));
        }
        d => panic!("{d:?}"),
    }
    // Cached: no callout, a hit.
    assert_eq!(
        status(&ask(&mut f, &mut s, "tok", None, NOW.plus_secs(1))),
        200
    );
    assert!(f.drain_callouts().is_empty());
    assert!(metrics(&mut f).contains(&Metric::AnswerCacheHit));
    // Route scopes apply to introspected claims.
    let hs = bearer("tok");
    let d = f.on_request_in(&req(&hs, "/admin", None), NOW.plus_secs(1), &mut s);
    assert_eq!(status(&d), 403);
}

#[test]
fn inactive_gives_401_and_is_cached_briefly() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    ask(&mut f, &mut s, "dead", None, NOW);
    let c = one(f.drain_callouts());
    answer(&mut f, &mut s, &c, Some(200), r#"{"active":false}"#, NOW);
    let Decision::Reply(r) = ask(&mut f, &mut s, "dead", Some(NOW), NOW) else {
        panic!()
    };
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"t\", error=\"invalid_token\", error_description=\"token is not active\"")
    );
    // inactive_ttl_s = 5: cached until then, asked again after.
    assert_eq!(
        status(&ask(&mut f, &mut s, "dead", None, NOW.plus_ms(4999))),
        401
    );
    assert!(f.drain_callouts().is_empty());
    assert_eq!(
        ask(&mut f, &mut s, "dead", None, NOW.plus_secs(5)),
        Decision::Pause
    );
    one(f.drain_callouts());
}

#[test]
fn answer_checks_apply_like_for_jwts() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    for (i, (extra, reason)) in [
        (json!({"aud": "other"}), "wrong_audience"),
        (json!({"iss": "https://evil.test"}), "claim_mismatch"),
        (json!({"exp": NOW_S - 3600}), "expired"),
        (json!({"nbf": NOW_S + 3600}), "not_yet_valid"),
    ]
    .into_iter()
    .enumerate()
    {
        let tok = format!("t{i}");
        ask(&mut f, &mut s, &tok, None, NOW);
        let c = one(f.drain_callouts());
        answer(&mut f, &mut s, &c, Some(200), &active(extra), NOW);
        f.drain_events();
        let d = ask(&mut f, &mut s, &tok, Some(NOW), NOW);
        assert_eq!(status(&d), 401, "{reason}");
        assert!(
            metrics(&mut f).contains(&Metric::Denied(reason)),
            "{reason}"
        );
    }
    // No exp: accepted (RFC 7662 makes it optional), cached for default_ttl_s.
    let mut v: Value = serde_json::from_str(&active(json!({}))).unwrap();
    v.as_object_mut().unwrap().remove("exp");
    ask(&mut f, &mut s, "noexp", None, NOW);
    let c = one(f.drain_callouts());
    answer(&mut f, &mut s, &c, Some(200), &v.to_string(), NOW);
    assert_eq!(status(&ask(&mut f, &mut s, "noexp", Some(NOW), NOW)), 200);
    assert_eq!(
        status(&ask(&mut f, &mut s, "noexp", None, NOW.plus_ms(29_999))),
        200
    );
    assert!(f.drain_callouts().is_empty());
    assert_eq!(
        ask(&mut f, &mut s, "noexp", None, NOW.plus_secs(30)),
        Decision::Pause
    );
}

#[test]
fn revocation_takes_effect_within_max_ttl() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    ask(&mut f, &mut s, "long", None, NOW);
    let c = one(f.drain_callouts());
    // exp in an hour, max_ttl_s 60.
    answer(&mut f, &mut s, &c, Some(200), &active(json!({})), NOW);
    assert_eq!(
        status(&ask(&mut f, &mut s, "long", None, NOW.plus_ms(59_999))),
        200
    );
    assert!(f.drain_callouts().is_empty());
    assert_eq!(
        ask(&mut f, &mut s, "long", None, NOW.plus_secs(60)),
        Decision::Pause
    );
    let c = one(f.drain_callouts());
    answer(
        &mut f,
        &mut s,
        &c,
        Some(200),
        r#"{"active":false}"#,
        NOW.plus_secs(60),
    );
    assert_eq!(
        status(&ask(
            &mut f,
            &mut s,
            "long",
            Some(NOW.plus_secs(60)),
            NOW.plus_secs(60)
        )),
        401
    );
}

#[test]
fn short_exp_bounds_the_cache_lifetime() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    ask(&mut f, &mut s, "short", None, NOW);
    let c = one(f.drain_callouts());
    answer(
        &mut f,
        &mut s,
        &c,
        Some(200),
        &active(json!({"exp": NOW_S + 10})),
        NOW,
    );
    assert_eq!(
        status(&ask(&mut f, &mut s, "short", None, NOW.plus_ms(9_999))),
        200
    );
    assert!(f.drain_callouts().is_empty());
    // Past exp: not cached any more, asked again.
    assert_eq!(
        ask(&mut f, &mut s, "short", None, NOW.plus_secs(10)),
        Decision::Pause
    );
}

#[test]
fn failures_give_503_then_later_requests_retry() {
    for (st, body, kind) in [
        (None, "", "unreachable"),
        (Some(500), "{}", "status_5xx"),
        (Some(401), r#"{"error":"invalid_client"}"#, "status_other"),
        (Some(200), "<html>", "malformed"),
        (Some(200), r#"{"sub":"x"}"#, "malformed"),
    ] {
        let mut f = Worker::new(cfg(), "w1");
        let mut s = MemoryStore::default();
        ask(&mut f, &mut s, "tok", None, NOW);
        let c = one(f.drain_callouts());
        assert_eq!(
            ask(&mut f, &mut s, "tok", None, NOW.plus_ms(5)),
            Decision::Pause,
            "single-flight"
        );
        assert!(f.drain_callouts().is_empty());
        answer(&mut f, &mut s, &c, st, body, NOW.plus_ms(10));
        let ev = f.drain_events();
        assert!(
            ev.contains(&Event::Metric(Metric::IntrospectionError(kind))),
            "{kind}: {ev:?}"
        );
        assert!(
            ev.iter().any(|e| matches!(e, Event::Log(_, l) if l.contains("introspection failed") && !l.contains("tok "))),
            "{kind}: a log line"
        );
        for held in [NOW, NOW.plus_ms(5)] {
            let Decision::Reply(r) = ask(&mut f, &mut s, "tok", Some(held), NOW.plus_ms(10)) else {
                panic!()
            };
            assert_eq!(r.status, 503, "{kind}");
            assert_eq!(r.header("www-authenticate"), None);
        }
        // A new request tries again.
        assert_eq!(
            ask(&mut f, &mut s, "tok", None, NOW.plus_ms(20)),
            Decision::Pause
        );
        one(f.drain_callouts());
    }
}

#[test]
fn held_request_gives_up_after_the_timeout() {
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    ask(&mut f, &mut s, "slow", None, NOW);
    one(f.drain_callouts());
    // timeout_ms 1000: held for timeout + 1 s at most.
    assert_eq!(
        ask(&mut f, &mut s, "slow", Some(NOW), NOW.plus_ms(1999)),
        Decision::Pause
    );
    assert_eq!(
        status(&ask(&mut f, &mut s, "slow", Some(NOW), NOW.plus_ms(2000))),
        503
    );
}

#[test]
fn danger_fail_open_forwards_without_identity() {
    let mut p = provider(basic());
    p["introspection"]["danger_fail_open"] = json!(true);
    let mut f = Worker::new(cfg_with(json!([p]), json!({})), "w1");
    let mut s = MemoryStore::default();
    ask(&mut f, &mut s, "tok", None, NOW);
    let c = one(f.drain_callouts());
    answer(&mut f, &mut s, &c, Some(502), "", NOW);
    let hs = vec![
        ("authorization".to_owned(), "Bearer tok".to_owned()),
        ("x-sub".to_owned(), "spoofed".to_owned()),
    ];
    match f.on_request_in(&req(&hs, "/", Some(NOW)), NOW, &mut s) {
        Decision::Continue(e) => assert!(e.remove.contains(&"x-sub".to_owned()), "{e:?}"),
        d => panic!("{d:?}"),
    }
    // An inactive answer still gives 401.
    ask(&mut f, &mut s, "dead", None, NOW);
    let c = one(f.drain_callouts());
    answer(&mut f, &mut s, &c, Some(200), r#"{"active":false}"#, NOW);
    assert_eq!(status(&ask(&mut f, &mut s, "dead", Some(NOW), NOW)), 401);
}

#[test]
fn one_callout_per_token_across_workers() {
    let mut s = MemoryStore::default();
    let mut a = Worker::new(cfg(), "wa");
    let mut b = Worker::new(cfg(), "wb");
    a.init_shared(&mut s);
    b.init_shared(&mut s);
    assert_eq!(ask(&mut a, &mut s, "tok", None, NOW), Decision::Pause);
    let c = one(a.drain_callouts());
    for i in 0..50 {
        assert_eq!(
            ask(&mut a, &mut s, "tok", None, NOW.plus_ms(i)),
            Decision::Pause
        );
        assert_eq!(
            ask(&mut b, &mut s, "tok", None, NOW.plus_ms(i)),
            Decision::Pause
        );
    }
    assert!(a.drain_callouts().is_empty() && b.drain_callouts().is_empty());
    answer(
        &mut a,
        &mut s,
        &c,
        Some(200),
        &active(json!({})),
        NOW.plus_ms(60),
    );
    // b learns it from shared data at its next re-evaluation (tick).
    assert_eq!(
        status(&ask(&mut b, &mut s, "tok", Some(NOW), NOW.plus_ms(100))),
        200
    );
    assert_eq!(
        status(&ask(&mut a, &mut s, "tok", Some(NOW), NOW.plus_ms(100))),
        200
    );
    assert!(a.drain_callouts().is_empty() && b.drain_callouts().is_empty());
}

#[test]
fn abandoned_callout_lets_another_request_retry() {
    let mut s = MemoryStore::default();
    let mut a = Worker::new(cfg(), "wa");
    a.init_shared(&mut s);
    ask(&mut a, &mut s, "tok", None, NOW);
    let c = one(a.drain_callouts());
    a.on_callout_abandoned(c.id, NOW.plus_ms(5), &mut s);
    assert_eq!(
        ask(&mut a, &mut s, "tok", Some(NOW), NOW.plus_ms(10)),
        Decision::Pause
    );
    let c2 = one(a.drain_callouts());
    assert_ne!(c.id, c2.id);
    // The late answer to the abandoned call is ignored.
    answer(
        &mut a,
        &mut s,
        &c,
        Some(200),
        &active(json!({})),
        NOW.plus_ms(20),
    );
    assert_eq!(
        ask(&mut a, &mut s, "tok", Some(NOW), NOW.plus_ms(20)),
        Decision::Pause
    );
}

fn jwt_provider() -> Value {
    let v: Value = serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    let mut p = v["config"]["providers"][0].clone();
    p["name"] = json!("jwt");
    p
}

fn vector_token(name: &str) -> (String, UnixMillis) {
    let v: Value = serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    let c = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    let t = c["headers"][0][1]
        .as_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    (t, UnixMillis::from_secs(v["now"].as_u64().unwrap()))
}

#[test]
fn resolver_choice() {
    // jwt_or_introspection on the opaque provider: a JWS of the JWT
    // provider is verified locally, anything else is introspected.
    let mut p = provider(basic());
    p["resolver"] = json!("jwt_or_introspection");
    p["jwks"] = json!({"remote": {"uri": "https://as.test/jwks", "cluster": "as"}});
    let c = cfg_with(json!([jwt_provider(), p]), json!({}));
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (jws, now) = vector_token("alg_ES256");
    let d = ask(&mut f, &mut s, &jws, None, now);
    assert_ne!(d, Decision::Pause);
    assert!(
        f.drain_callouts().is_empty(),
        "JWS from a JWT issuer: no introspection"
    );
    assert_eq!(ask(&mut f, &mut s, "opaque", None, now), Decision::Pause);
    one(f.drain_callouts());
    // A JWS from an unknown issuer is introspected too.
    let (wrong_iss, _) = vector_token("reject_wrong_iss");
    assert_eq!(ask(&mut f, &mut s, &wrong_iss, None, now), Decision::Pause);
    one(f.drain_callouts());

    // Without an introspecting provider nothing changes: 401 at once.
    let mut f = Worker::new(cfg_with(json!([jwt_provider()]), json!({})), "w1");
    assert_eq!(status(&ask(&mut f, &mut s, "opaque", None, now)), 401);
    assert!(f.drain_callouts().is_empty());

    // resolver introspection: even a valid JWS of that issuer is introspected.
    let mut jp = jwt_provider();
    jp["resolver"] = json!("introspection");
    jp["introspection"] = provider(basic())["introspection"].clone();
    let mut f = Worker::new(cfg_with(json!([jp]), json!({})), "w1");
    assert_eq!(ask(&mut f, &mut s, &jws, None, now), Decision::Pause);
    one(f.drain_callouts());
}

#[test]
fn config_errors_name_the_field() {
    let bad = |providers: Value, extra: Value| {
        let mut doc = json!({"require_https": false, "providers": providers});
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        config::parse(doc.to_string().as_bytes()).unwrap_err().path
    };
    let mut p = provider(basic());
    p.as_object_mut().unwrap().remove("introspection");
    assert_eq!(bad(json!([p]), json!({})), "providers[0].introspection");
    let mut p = provider(basic());
    p["resolver"] = json!("jwt_or_introspection");
    assert_eq!(bad(json!([p]), json!({})), "providers[0].jwks");
    let mut p2 = provider(basic());
    p2["name"] = json!("b");
    p2["issuer"] = json!("https://b");
    assert_eq!(
        bad(json!([provider(basic()), p2]), json!({})),
        "providers[1].resolver"
    );
    let mut p = provider(basic());
    p["introspection"]["uri"] = json!("ftp://x");
    assert_eq!(bad(json!([p]), json!({})), "providers[0].introspection.uri");
    let mut p = provider(basic());
    p["introspection"]["client_auth"]["client_id"] = json!("");
    assert_eq!(
        bad(json!([p]), json!({})),
        "providers[0].introspection.client_auth.client_id"
    );
    let mut p = provider(basic());
    p["introspection"]["fail_open"] = json!(true);
    assert_eq!(
        bad(json!([p]), json!({})),
        "providers[0].introspection.fail_open"
    );
    assert_eq!(
        bad(
            json!([provider(basic())]),
            json!({"introspection_cache": {"default_ttl_s": 600}})
        ),
        "introspection_cache.default_ttl_s"
    );
    let mut p = jwt_provider();
    p["introspection"] = provider(basic())["introspection"].clone();
    assert_eq!(bad(json!([p]), json!({})), "providers[0].introspection");
}

/// Typed waits: 100 requests held on 100 different tokens; one
/// introspection answer arrives and reports exactly its token as ready, so
/// the adapter evaluates 1 held request again (before typed waits it
/// evaluated all 100). A tick still wakes all of them.
#[test]
fn one_answer_wakes_only_the_request_waiting_for_it() {
    use oauth_filter::core::{self as core, Held, Io, Outbox, WaitFor};
    use sha2::{Digest, Sha256};

    let mut f = core::Filter::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    f.init_shared(&mut s);
    let mut held: Held<String> = Held::default();
    let mut callouts = Vec::new();
    for i in 0..100u32 {
        let tok = format!("opaque-{i}");
        let hs = bearer(&tok);
        let mut out = Outbox::default();
        let d = f.handle_request(&req(&hs, "/", None), &mut Io::new(NOW, &mut s, &mut out));
        let digest: [u8; 32] = Sha256::digest(tok.as_bytes()).into();
        assert_eq!(d, core::Decision::Pause(WaitFor::Introspection(digest)));
        assert!(out.ready.is_empty(), "a decision settles nothing");
        callouts.push(one(out.callouts));
        held.hold(i, NOW, WaitFor::Introspection(digest), tok);
    }
    assert_eq!(held.all().len(), 100, "what a callout answer woke before");

    let k = 42;
    let mut out = Outbox::default();
    let body = active(json!({}));
    let resp = CalloutResponse {
        status: Some(200),
        headers: &[],
        body: body.as_bytes(),
    };
    let later = NOW.plus_ms(30);
    f.handle_callout_response(callouts[k].id, resp, &mut Io::new(later, &mut s, &mut out));
    let digest: [u8; 32] = Sha256::digest(format!("opaque-{k}").as_bytes()).into();
    assert_eq!(out.ready, vec![WaitFor::Introspection(digest)]);
    assert!(out.callouts.is_empty());
    let woken = held.woken(&out.ready);
    assert_eq!(woken, vec![42], "exactly one request evaluated again");

    // The woken request goes through; it is no longer held.
    let h = held.release(woken[0]).unwrap();
    let hs = bearer(&h.request);
    let mut out = Outbox::default();
    let d = f.handle_request(
        &req(&hs, "/", Some(h.since)),
        &mut Io::new(later, &mut s, &mut out),
    );
    assert!(matches!(d, core::Decision::Continue(_)), "{d:?}");
    // A tick wakes the 99 others, which still wait for their answers.
    let mut out = Outbox::default();
    f.handle_tick(&mut Io::new(later, &mut s, &mut out));
    assert_eq!(held.all().len(), 99);
    for c in held.all() {
        let h = held.get(c).unwrap();
        let hs = bearer(&h.request);
        let mut out = Outbox::default();
        let d = f.handle_request(
            &req(&hs, "/", Some(h.since)),
            &mut Io::new(later, &mut s, &mut out),
        );
        assert_eq!(d, core::Decision::Pause(h.wait));
        assert!(out.callouts.is_empty(), "no second callout for a token");
    }
}

/// The harness sees the same: a held request waits for its token's digest.
#[test]
fn a_held_request_names_its_token() {
    use sha2::{Digest, Sha256};
    let mut f = Worker::new(cfg(), "w1");
    let mut s = MemoryStore::default();
    assert_eq!(ask(&mut f, &mut s, "tok", None, NOW), Decision::Pause);
    let digest: [u8; 32] = Sha256::digest(b"tok").into();
    let w = oauth_filter::core::WaitFor::Introspection(digest);
    assert_eq!(f.last_wait, Some(w));
    let c = one(f.drain_callouts());
    answer(&mut f, &mut s, &c, None, "", NOW.plus_ms(5));
    assert_eq!(f.take_ready(), vec![w], "a failure settles the wait too");
}

/// `upstream.payload_header` carries the introspection answer (base64url
/// JSON); without it, no payload is made and none is sent.
#[test]
fn payload_header_carries_the_answer_only_when_configured() {
    let with = cfg_with(
        json!([provider(basic())]),
        json!({"upstream": {"payload_header": "x-payload"}}),
    );
    for (cfg, wanted) in [(with, true), (cfg(), false)] {
        let mut f = Worker::new(cfg, "w1");
        let mut s = MemoryStore::default();
        assert_eq!(ask(&mut f, &mut s, "tok", None, NOW), Decision::Pause);
        let c = one(f.drain_callouts());
        answer(
            &mut f,
            &mut s,
            &c,
            Some(200),
            &active(json!({})),
            NOW.plus_ms(5),
        );
        let Decision::Continue(e) = ask(&mut f, &mut s, "tok", None, NOW.plus_secs(1)) else {
            panic!("not forwarded");
        };
        let payload = e.set.iter().find(|(h, _)| h == "x-payload").map(|(_, v)| v);
        assert_eq!(payload.is_some(), wanted, "{e:?}");
        if let Some(p) = payload {
            let json = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, p)
                .unwrap();
            let v: Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(
                (v["sub"].as_str(), v["tenant"].as_str()),
                (Some("alice"), Some("acme"))
            );
        }
    }
}
