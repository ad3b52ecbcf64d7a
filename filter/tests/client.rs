//! The client role (the gateway's own tokens) with a virtual clock and an
//! in-memory shared store: token requests per grant and per client
//! authentication method, answer parsing, error mapping to 502, expiry and
//! renewal (refresh token for the password grant), single flight across
//! workers, the upstream's `invalid_token` dropping the token, and the
//! composition with the resource-server role.

mod common;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::{form, member};
use common::{Decision, Worker};
use oauth_filter::core::client::{
    is_invalid_token_challenge, parse_token_answer, Injected, TokenFailure,
};
use oauth_filter::core::config::{self, FilterConfig, Secrets};
use oauth_filter::core::events::{Event, Metric};
use oauth_filter::core::shared::MemoryStore;
use oauth_filter::core::{Callout, CalloutResponse, RequestView, UnixMillis, WaitFor};
use serde_json::{json, Value};

const T0: UnixMillis = UnixMillis(1_800_000_000_000);

fn at(s: u64) -> UnixMillis {
    T0.plus_ms(s * 1000)
}

fn source(grant: Value, auth: Value) -> Value {
    json!({
        "name": "backend",
        "grant": grant,
        "token_endpoint": {"uri": "https://as.test/token", "cluster": "as"},
        "client_auth": auth,
        "timeout_ms": 1000,
    })
}

fn cc() -> Value {
    json!({"type": "client_credentials", "scopes": ["read", "write"],
           "resource": ["https://api.test/"], "audience": "api"})
}

fn basic() -> Value {
    json!({"method": "client_secret_basic", "client_id": "gw", "client_secret": "s3cr&t"})
}

fn cfg(client: Value) -> FilterConfig {
    config::parse(json!({ "client": client }).to_string().as_bytes()).unwrap()
}

fn simple() -> FilterConfig {
    cfg(json!({"sources": [source(cc(), basic())], "default_source": "backend"}))
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

fn ok_answer(token: &str, expires_in: u64, refresh: Option<&str>) -> Vec<u8> {
    let mut v = json!({"access_token": token, "token_type": "Bearer",
                       "expires_in": expires_in, "scope": "read write"});
    if let Some(r) = refresh {
        v["refresh_token"] = json!(r);
    }
    v.to_string().into_bytes()
}

fn respond(
    f: &mut Worker,
    s: &mut MemoryStore,
    c: &Callout,
    status: u16,
    body: &[u8],
    now: UnixMillis,
) -> Vec<Callout> {
    f.on_callout_response(
        c.id,
        CalloutResponse {
            status: Some(status),
            headers: &[],
            body,
        },
        now,
        s,
    )
}

/// Ask about a request; the callouts it started.
fn ask(
    f: &mut Worker,
    s: &mut MemoryStore,
    hs: &[(String, String)],
    held: Option<UnixMillis>,
    now: UnixMillis,
) -> (Decision, Vec<Callout>) {
    let d = f.on_request_in(&req(hs, "/api/x", held), now, s);
    (d, f.drain_callouts())
}

/// A request inside the renewal margin goes out at once and starts no
/// callout from its own context (its stream may end first): the renewal
/// starts from the root context at the next tick. The tick's callouts.
fn ask_renewing(f: &mut Worker, s: &mut MemoryStore, now: UnixMillis) -> (Decision, Vec<Callout>) {
    let (d, out) = ask(f, s, &[], None, now);
    assert!(out.is_empty(), "renewal started from a request context");
    (d, f.on_tick(now, s))
}

fn injected(d: &Decision, header: &str) -> Option<String> {
    match d {
        Decision::Continue(e) => e
            .set
            .iter()
            .find(|(h, _)| h == header)
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

fn metric_count(events: &[Event], m: Metric) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Metric(x) if *x == m))
        .count()
}

fn logs(events: &[Event]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Log(_, m) => Some(m.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn client_credentials_with_basic_auth_builds_the_request() {
    let mut f = Worker::new(simple(), "w1");
    let mut s = MemoryStore::default();
    let (d, out) = ask(&mut f, &mut s, &[], None, T0);
    assert_eq!(d, Decision::Pause);
    assert_eq!(f.last_wait, Some(WaitFor::Token(0)));
    assert_eq!(out.len(), 1);
    let c = &out[0];
    respond(&mut f, &mut s, c, 200, &ok_answer("t", 300, None), T0);
    assert_eq!(
        f.take_ready(),
        vec![WaitFor::Token(0)],
        "the answer wakes it"
    );
    assert_eq!((c.method, c.cluster.as_str()), ("POST", "as"));
    assert_eq!(c.uri.path, "/token");
    assert_eq!(c.uri.authority, "as.test");
    let h = c.headers();
    let hv = |n: &str| h.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(
        hv("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let basic = hv("authorization").unwrap();
    let pair = STANDARD
        .decode(basic.strip_prefix("Basic ").unwrap())
        .unwrap();
    // RFC 6749 §2.3.1: id and secret form-urlencoded before base64.
    assert_eq!(String::from_utf8(pair).unwrap(), "gw:s3cr%26t");
    let fm = form(c);
    assert_eq!(member(&fm, "grant_type"), Some("client_credentials"));
    assert_eq!(member(&fm, "scope"), Some("read write"));
    assert_eq!(member(&fm, "resource"), Some("https://api.test/"));
    assert_eq!(member(&fm, "audience"), Some("api"));
    assert_eq!(member(&fm, "client_secret"), None);
    assert!(!format!("{c:?}").contains("s3cr"), "Debug leaks the secret");
}

#[test]
fn password_grant_with_post_auth_builds_the_request() {
    let grant = json!({"type": "password", "username": "alice", "password": "pa ss&word",
                       "scopes": ["profile"]});
    let auth = json!({"method": "client_secret_post", "client_id": "gw", "client_secret": "x y"});
    let c = cfg(json!({"sources": [source(grant, auth)], "default_source": "backend"}));
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    let fm = form(&out[0]);
    assert_eq!(member(&fm, "grant_type"), Some("password"));
    assert_eq!(member(&fm, "username"), Some("alice"));
    assert_eq!(member(&fm, "password"), Some("pa ss&word"));
    assert_eq!(member(&fm, "scope"), Some("profile"));
    assert_eq!(member(&fm, "client_id"), Some("gw"));
    assert_eq!(member(&fm, "client_secret"), Some("x y"));
    assert!(out[0].headers().iter().all(|(k, _)| k != "authorization"));
}

#[test]
fn private_key_jwt_assertion_goes_to_the_token_endpoint() {
    let keys: Value = serde_json::from_str(include_str!("introspection/keys.json")).unwrap();
    let jwk = keys["es256"]["private"].clone();
    let auth = json!({"method": "private_key_jwt", "client_id": "gw", "private_key": jwk});
    let c = cfg(json!({"sources": [source(cc(), auth)], "default_source": "backend"}));
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    let fm = form(&out[0]);
    assert_eq!(
        member(&fm, "client_assertion_type"),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    let jwt = member(&fm, "client_assertion").unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    // The assertion's audience defaults to the token endpoint.
    assert_eq!(claims["aud"], "https://as.test/token");
    assert_eq!(claims["iss"], "gw");
    assert_eq!(claims["sub"], "gw");
}

#[test]
fn token_is_injected_cached_and_shared_by_workers_single_flight() {
    let c = simple();
    let mut w1 = Worker::new(c.clone(), "w1");
    let mut w2 = Worker::new(c, "w2");
    let mut s = MemoryStore::default();
    let client_auth = vec![("authorization".to_owned(), "Bearer client-token".to_owned())];
    let (d1, out1) = ask(&mut w1, &mut s, &client_auth, None, T0);
    let (d2, out2) = ask(&mut w2, &mut s, &client_auth, None, T0);
    let (d3, out3) = ask(&mut w1, &mut s, &client_auth, None, T0);
    assert_eq!(
        (d1, d2, d3),
        (Decision::Pause, Decision::Pause, Decision::Pause)
    );
    assert_eq!(out1.len() + out2.len() + out3.len(), 1, "one token request");
    respond(
        &mut w1,
        &mut s,
        &out1[0],
        200,
        &ok_answer("AT1", 3600, None),
        at(1),
    );
    for w in [&mut w1, &mut w2] {
        for _ in 0..250 {
            let (d, out) = ask(w, &mut s, &client_auth, Some(T0), at(2));
            assert!(out.is_empty());
            assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT1"));
        }
    }
    let ev = [w1.drain_events(), w2.drain_events()].concat();
    assert_eq!(metric_count(&ev, Metric::ClientTokenRequest), 1);
    assert!(!logs(&ev).contains("AT1"), "token logged");
    // The adapter takes the injection after each request.
    assert_eq!(w1.take_injected().map(|i| i.gen), Some(1));
    assert_eq!(w1.take_injected(), None);
}

#[test]
fn other_header_mode_keeps_the_clients_authorization() {
    let c = cfg(
        json!({"sources": [source(cc(), basic())], "default_source": "backend",
                       "header": "x-gateway-authorization"}),
    );
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT1", 3600, None),
        T0,
    );
    let hs = vec![("authorization".to_owned(), "Bearer client".to_owned())];
    let (d, _) = ask(&mut f, &mut s, &hs, None, T0);
    let Decision::Continue(e) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(
        injected(&d, "x-gateway-authorization").as_deref(),
        Some("Bearer AT1")
    );
    assert!(!e.remove.contains(&"authorization".to_owned()));
    assert!(e.set.iter().all(|(h, _)| h != "authorization"));
}

#[test]
fn rules_choose_the_source_or_none() {
    let mut other = source(cc(), basic());
    other["name"] = json!("other");
    other["token_endpoint"]["uri"] = json!("https://as.test/other-token");
    let c = cfg(json!({"sources": [source(cc(), basic()), other],
        "rules": [{"path_prefix": "/public", "source": null},
                  {"path_prefix": "/api", "methods": ["GET"], "source": "other"}],
        "default_source": "backend"}));
    let client = c.client.as_ref().unwrap();
    assert_eq!(client.source_for("GET", "/public/x"), None);
    assert_eq!(client.source_for("GET", "/api/x?y"), Some(1));
    assert_eq!(client.source_for("POST", "/api/x"), Some(0));
    // Rules match the normalized path, as scope rules do: another spelling
    // of /public is still /public.
    assert_eq!(client.source_for("GET", "/%70ublic/x"), None);
    assert_eq!(client.source_for("GET", "//public/x"), None);
    assert_eq!(client.source_for("GET", "/api/../public/x"), None);
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let d = f.on_request_in(&req(&[], "/public/a", None), T0, &mut s);
    assert_eq!(d, Decision::Continue(Default::default()));
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    assert_eq!(out[0].uri.path, "/other-token");
}

#[test]
fn renewal_starts_within_the_margin_and_old_token_serves_meanwhile() {
    let mut f = Worker::new(simple(), "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT1", 60, None),
        T0,
    );
    // 29 s: outside the 30 s margin: no request.
    let (d, out) = ask(&mut f, &mut s, &[], None, at(29));
    assert!(out.is_empty());
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT1"));
    // 31 s: inside the margin: renewal starts, the old token still serves.
    let (d, out) = ask_renewing(&mut f, &mut s, at(31));
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT1"));
    assert_eq!(out.len(), 1);
    assert_eq!(
        member(&form(&out[0]), "grant_type"),
        Some("client_credentials")
    );
    let (_, again) = ask_renewing(&mut f, &mut s, at(32));
    assert!(again.is_empty(), "one renewal in flight");
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT2", 60, None),
        at(33),
    );
    let (d, out) = ask(&mut f, &mut s, &[], None, at(34));
    assert!(out.is_empty());
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT2"));
}

#[test]
fn expired_token_is_not_used_and_no_expires_in_uses_the_default() {
    let mut f = Worker::new(simple(), "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    let body = json!({"access_token": "AT1", "token_type": "bearer"}).to_string();
    respond(&mut f, &mut s, &out[0], 200, body.as_bytes(), T0);
    // Default lifetime 300 s: renewal due at 270 s; at 301 s the token is gone.
    let (_, out) = ask(&mut f, &mut s, &[], None, at(269));
    assert!(out.is_empty());
    let mut f2 = Worker::new(simple(), "w2");
    let (d, out) = ask(&mut f2, &mut s, &[], None, at(301));
    assert_eq!(d, Decision::Pause, "expired token must not be sent");
    assert_eq!(out.len(), 1);
}

#[test]
fn password_grant_renews_with_its_refresh_token() {
    let grant = json!({"type": "password", "username": "alice", "password": "pw"});
    let c = cfg(json!({"sources": [source(grant, basic())], "default_source": "backend"}));
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT1", 60, Some("RT1")),
        T0,
    );
    let (_, out) = ask_renewing(&mut f, &mut s, at(40));
    let fm = form(&out[0]);
    assert_eq!(member(&fm, "grant_type"), Some("refresh_token"));
    assert_eq!(member(&fm, "refresh_token"), Some("RT1"));
    assert_eq!(member(&fm, "password"), None);
    // Refreshed without a new refresh token: the old one is kept.
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT2", 60, None),
        at(41),
    );
    let (d, out) = ask_renewing(&mut f, &mut s, at(81));
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT2"));
    assert_eq!(member(&form(&out[0]), "refresh_token"), Some("RT1"));
    // The refresh is refused: the next request makes a new password grant.
    respond(
        &mut f,
        &mut s,
        &out[0],
        400,
        br#"{"error":"invalid_grant"}"#,
        at(82),
    );
    let (d, out) = ask_renewing(&mut f, &mut s, at(83));
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT2"));
    assert_eq!(member(&form(&out[0]), "grant_type"), Some("password"));
}

#[test]
fn client_credentials_never_keeps_a_refresh_token() {
    let mut f = Worker::new(simple(), "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT1", 60, Some("RT")),
        T0,
    );
    let (_, out) = ask_renewing(&mut f, &mut s, at(40));
    assert_eq!(
        member(&form(&out[0]), "grant_type"),
        Some("client_credentials")
    );
}

#[test]
fn oauth_error_gives_502_naming_it_and_never_the_secret() {
    let c = simple();
    let mut w1 = Worker::new(c.clone(), "w1");
    let mut w2 = Worker::new(c, "w2");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut w1, &mut s, &[], None, T0);
    assert_eq!(ask(&mut w2, &mut s, &[], None, T0).0, Decision::Pause);
    let body = br#"{"error":"invalid_client","error_description":"client authentication failed"}"#;
    respond(&mut w1, &mut s, &out[0], 401, body, at(1));
    // Both the held request (other worker) and a new one get 502.
    for (w, held) in [(&mut w2, Some(T0)), (&mut w1, None)] {
        let (d, out) = ask(w, &mut s, &[], held, at(1));
        assert!(out.is_empty(), "no retry within retry_after_failure_s");
        let Decision::Reply(r) = d else {
            panic!("{d:?}")
        };
        assert_eq!(r.status, 502);
        let b: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(b["error"], "upstream_token_unavailable");
        assert_eq!(b["token_error"], "invalid_client");
        assert_eq!(b["token_source"], "backend");
        assert!(!r.body.contains("s3cr"));
    }
    let ev = [w1.drain_events(), w2.drain_events()].concat();
    let l = logs(&ev);
    assert!(l.contains("error invalid_client"), "{l}");
    assert!(!l.contains("s3cr"));
    assert_eq!(metric_count(&ev, Metric::ClientTokenFailure), 1);
    // After the hold-down (5 s default) a new attempt is made.
    let (d, out) = ask(&mut w1, &mut s, &[], None, at(7));
    assert_eq!((d, out.len()), (Decision::Pause, 1));
}

#[test]
fn failure_kinds_map_to_codes() {
    let cases: Vec<(Option<u16>, &[u8], &str)> = vec![
        (None, b"", "no_response"),
        (Some(500), b"oops", "http_500"),
        (Some(400), br#"{"error":"invalid_scope"}"#, "invalid_scope"),
        (Some(400), br#"{"error":"invalid_grant"}"#, "invalid_grant"),
        (
            Some(400),
            br#"{"error":"bad \" code"}"#,
            "unrecognised_error",
        ),
        (Some(200), b"not json", "malformed_answer"),
        (Some(200), br#"{"token_type":"Bearer"}"#, "malformed_answer"),
        (
            Some(200),
            br#"{"access_token":"a","token_type":"DPoP"}"#,
            "unsupported_token_type",
        ),
        (Some(200), br#"{"access_token":"a"}"#, "malformed_answer"),
        (
            Some(200),
            br#"{"access_token":"a b","token_type":"Bearer"}"#,
            "malformed_answer",
        ),
        (
            Some(200),
            br#"{"access_token":"a","token_type":"Bearer","expires_in":-3}"#,
            "malformed_answer",
        ),
        (
            Some(200),
            br#"{"access_token":"a","access_token":"b","token_type":"Bearer"}"#,
            "malformed_answer",
        ),
    ];
    for (status, body, code) in cases {
        let e = parse_token_answer(CalloutResponse {
            status,
            headers: &[],
            body,
        })
        .unwrap_err();
        assert_eq!(
            e.code(),
            code,
            "{status:?} {}",
            String::from_utf8_lossy(body)
        );
    }
    let big = vec![b' '; 70_000];
    assert_eq!(
        parse_token_answer(CalloutResponse {
            status: Some(200),
            headers: &[],
            body: &big
        }),
        Err(TokenFailure::TooLarge)
    );
    let a = parse_token_answer(CalloutResponse {
        status: Some(200),
        headers: &[],
        body: br#"{"access_token":"a.b.c","token_type":"bearer","expires_in":"120","refresh_token":"r","scope":"x y"}"#,
    })
    .unwrap();
    assert_eq!(a.expires_in, Some(120));
    assert_eq!(a.refresh_token.as_deref(), Some("r"));
    assert_eq!(a.scope.as_deref(), Some("x y"));
    assert!(!format!("{a:?}").contains("a.b.c"));
}

#[test]
fn upstream_invalid_token_drops_the_token_once() {
    let c = simple();
    let mut w1 = Worker::new(c.clone(), "w1");
    let mut w2 = Worker::new(c, "w2");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut w1, &mut s, &[], None, T0);
    respond(
        &mut w1,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT1", 3600, None),
        T0,
    );
    let (d, _) = ask(&mut w1, &mut s, &[], None, at(1));
    assert!(injected(&d, "authorization").is_some());
    let i1 = w1.take_injected().unwrap();
    let (_, _) = ask(&mut w2, &mut s, &[], None, at(1));
    let i2 = w2.take_injected().unwrap();
    assert_eq!(i1, i2);
    // Other statuses and challenges do not drop it.
    w1.on_upstream_response(i1, 403, &[r#"Bearer error="invalid_token""#], &mut s);
    w1.on_upstream_response(i1, 401, &[r#"Bearer error="insufficient_scope""#], &mut s);
    w1.on_upstream_response(i1, 401, &["Basic realm=\"x\""], &mut s);
    let (d, out) = ask(&mut w1, &mut s, &[], None, at(2));
    assert!(out.is_empty() && injected(&d, "authorization").is_some());
    w1.on_upstream_response(
        i1,
        401,
        &[r#"Bearer realm="api", error="invalid_token""#],
        &mut s,
    );
    // The second 401 for the same (already dropped) token changes nothing more.
    w2.on_upstream_response(i2, 401, &[r#"Bearer error="invalid_token""#], &mut s);
    let (d, out) = ask(&mut w2, &mut s, &[], None, at(3));
    assert_eq!((d, out.len()), (Decision::Pause, 1));
    respond(
        &mut w2,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT2", 3600, None),
        at(3),
    );
    let (d, _) = ask(&mut w1, &mut s, &[], None, at(4));
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT2"));
    // A stale 401 (token of generation 1) does not drop the new token.
    w1.on_upstream_response(i1, 401, &[r#"Bearer error="invalid_token""#], &mut s);
    let (d, out) = ask(&mut w1, &mut s, &[], None, at(5));
    assert!(out.is_empty());
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT2"));
    let ev = [w1.drain_events(), w2.drain_events()].concat();
    assert_eq!(metric_count(&ev, Metric::ClientTokenDropped), 1);
    let _ = Injected { source: 0, gen: 0 };
}

#[test]
fn challenge_parsing() {
    assert!(is_invalid_token_challenge(
        r#"Bearer error="invalid_token""#
    ));
    assert!(is_invalid_token_challenge(
        r#"bearer realm="a, b", error=invalid_token, error_description="x""#
    ));
    assert!(!is_invalid_token_challenge(
        r#"Bearer realm="error=\"invalid_token\"""#
    ));
    assert!(!is_invalid_token_challenge(
        r#"Bearer error="invalid_tokens""#
    ));
    assert!(!is_invalid_token_challenge(r#"DPoP error="invalid_token""#));
    assert!(!is_invalid_token_challenge(
        r#"Bearer error="invalid_token"#
    ));
    assert!(!is_invalid_token_challenge(""));
}

#[test]
fn held_request_times_out_when_the_fetcher_never_answers() {
    let c = simple();
    let mut w1 = Worker::new(c.clone(), "w1");
    let mut w2 = Worker::new(c, "w2");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut w1, &mut s, &[], None, T0);
    assert_eq!(out.len(), 1);
    // timeout 1000 ms: lease and wait 2*1000+1000 ms.
    assert_eq!(
        ask(&mut w2, &mut s, &[], Some(T0), T0.plus_ms(2900)).0,
        Decision::Pause
    );
    let (d, _) = ask(&mut w2, &mut s, &[], Some(T0), T0.plus_ms(3000));
    let Decision::Reply(r) = d else {
        panic!("{d:?}")
    };
    assert_eq!(r.status, 502);
    // The lease expired: a new request on the other worker fetches.
    let (_, out) = ask(&mut w2, &mut s, &[], None, T0.plus_ms(3000));
    assert_eq!(out.len(), 1);
}

#[test]
fn abandoned_fetch_releases_the_lease() {
    let c = simple();
    let mut w1 = Worker::new(c.clone(), "w1");
    let mut w2 = Worker::new(c, "w2");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut w1, &mut s, &[], None, T0);
    w1.on_callout_abandoned(out[0].id, T0, &mut s);
    let (_, out2) = ask(&mut w2, &mut s, &[], None, T0.plus_ms(10));
    assert_eq!(out2.len(), 1);
    // A late answer to the abandoned call is ignored.
    respond(
        &mut w1,
        &mut s,
        &out[0],
        200,
        &ok_answer("LATE", 3600, None),
        T0.plus_ms(20),
    );
    assert_eq!(
        ask(&mut w1, &mut s, &[], None, T0.plus_ms(30)).0,
        Decision::Pause
    );
}

#[test]
fn discovery_finds_the_token_endpoint_once() {
    let mut src = source(cc(), basic());
    src.as_object_mut().unwrap().remove("token_endpoint");
    src["discovery"] = json!({"issuer": "https://as.test/", "cluster": "as"});
    let c = cfg(json!({"sources": [src], "default_source": "backend"}));
    let mut w1 = Worker::new(c.clone(), "w1");
    let mut w2 = Worker::new(c, "w2");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut w1, &mut s, &[], None, T0);
    assert_eq!(out[0].method, "GET");
    assert_eq!(out[0].uri.path, "/.well-known/openid-configuration");
    let doc =
        json!({"issuer": "https://as.test/", "token_endpoint": "https://as.test/oauth/token"});
    let next = respond(
        &mut w1,
        &mut s,
        &out[0],
        200,
        doc.to_string().as_bytes(),
        T0,
    );
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].uri.path, "/oauth/token");
    respond(
        &mut w1,
        &mut s,
        &next[0],
        200,
        &ok_answer("AT1", 60, None),
        T0,
    );
    // The other worker renews without discovering again.
    let (d, out) = ask_renewing(&mut w2, &mut s, at(31));
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT1"));
    assert_eq!(out[0].uri.path, "/oauth/token");
    assert_eq!(out[0].method, "POST");
}

/// RFC 8414 §3.3: a discovery document naming another issuer is refused,
/// so the gateway's credentials never go to a token endpoint it names.
#[test]
fn a_discovery_document_of_another_issuer_is_refused() {
    let mut src = source(cc(), basic());
    src.as_object_mut().unwrap().remove("token_endpoint");
    src["discovery"] = json!({"issuer": "https://as.test/", "cluster": "as"});
    let c = cfg(json!({"sources": [src], "default_source": "backend"}));
    let mut w = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut w, &mut s, &[], None, T0);
    let doc = json!({"issuer": "https://evil.test/", "token_endpoint": "https://evil.test/token"});
    let next = respond(&mut w, &mut s, &out[0], 200, doc.to_string().as_bytes(), T0);
    assert!(next.is_empty(), "a token request went out: {next:?}");
    let (d, _) = ask(&mut w, &mut s, &[], None, T0.plus_ms(10));
    match d {
        Decision::Reply(r) => assert_eq!(r.status, 502),
        other => panic!("{other:?}"),
    }
}

#[test]
fn composes_with_the_resource_server_role() {
    // Resource server with an inline ES256 key, then the client role.
    let keys: Value = serde_json::from_str(include_str!("introspection/keys.json")).unwrap();
    let doc = json!({
        "require_https": false, "providers": [{"name": "p", "issuer": "https://issuer", "audiences": ["api"],
            "jwks": {"inline": {"keys": [keys["es256"]["public"]]}}}],
        "upstream": {"claim_headers": [{"claim": "sub", "header": "x-sub"}]},
        "client": {"sources": [source(cc(), basic())], "default_source": "backend"},
    });
    let c = config::parse(doc.to_string().as_bytes()).unwrap();
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    // No caller token: 401, and no token request.
    let (d, out) = ask(&mut f, &mut s, &[], None, T0);
    assert!(
        matches!(d, Decision::Reply(ref r) if r.status == 401),
        "{d:?}"
    );
    assert!(out.is_empty());
    let jwt = es256(
        &keys["es256"]["private"],
        &json!({"iss": "https://issuer", "aud": "api", "sub": "bob",
        "exp": T0.0 / 1000 + 600}),
    );
    let hs = vec![("authorization".to_owned(), format!("Bearer {jwt}"))];
    let (d, out) = ask(&mut f, &mut s, &hs, None, T0);
    assert_eq!(d, Decision::Pause);
    respond(
        &mut f,
        &mut s,
        &out[0],
        200,
        &ok_answer("AT1", 3600, None),
        T0,
    );
    let (d, _) = ask(&mut f, &mut s, &hs, Some(T0), T0);
    assert_eq!(injected(&d, "authorization").as_deref(), Some("Bearer AT1"));
    assert_eq!(injected(&d, "x-sub").as_deref(), Some("bob"));
}

fn es256(jwk: &Value, claims: &Value) -> String {
    use p256::ecdsa::signature::Signer;
    let b = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let d = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwk["d"].as_str().unwrap())
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
    let header = json!({"alg": "ES256", "kid": jwk["kid"]});
    let input = format!(
        "{}.{}",
        b(header.to_string().as_bytes()),
        b(claims.to_string().as_bytes())
    );
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b(&sig.to_bytes()))
}

#[test]
fn config_errors_name_the_field() {
    let bad = |client: Value, path: &str| {
        let e = config::parse(json!({ "client": client }).to_string().as_bytes()).unwrap_err();
        assert_eq!(e.path, path, "{e}");
    };
    bad(json!({"sources": []}), "client.sources");
    bad(
        json!({"sources": [source(cc(), basic())], "default_source": "nope"}),
        "client.default_source",
    );
    let mut s = source(cc(), basic());
    s["discovery"] = json!({"issuer": "https://as", "cluster": "as"});
    bad(json!({"sources": [s]}), "client.sources[0]");
    let s = source(json!({"type": "password", "username": "u"}), basic());
    bad(json!({"sources": [s]}), "client.sources[0].grant");
    let s = source(
        json!({"type": "client_credentials", "scopes": ["a b"]}),
        basic(),
    );
    bad(json!({"sources": [s]}), "client.sources[0].grant.scopes[0]");
    let auth = json!({"method": "client_secret_basic", "client_id": "gw",
                      "client_secret": {"env": "OAUTH_FILTER_TEST_SURELY_UNSET"}});
    // (Internally tagged: serde reports the enclosing object.)
    let e = config::parse(
        json!({"client": {"sources": [source(cc(), auth)]}})
            .to_string()
            .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(e.path, "client.sources[0].client_auth");
    assert!(e.message.contains("OAUTH_FILTER_TEST_SURELY_UNSET"), "{e}");
    bad(
        json!({"sources": [source(cc(), basic())], "header": "X-Up"}),
        "client.header",
    );
    // Neither providers nor client.
    assert_eq!(config::parse(b"{}").unwrap_err().path, "providers");
}

#[test]
fn secrets_come_from_the_environment() {
    // PATH is set in every test environment; its value stands in for a secret.
    let path = std::env::var("PATH").unwrap();
    let auth = json!({"method": "client_secret_post", "client_id": "gw",
                      "client_secret": {"env": "PATH"}});
    // The adapter gives the VM's environment; here, the process's.
    let doc = json!({"client": {"sources": [source(cc(), auth)], "default_source": "backend"}});
    let env = Secrets::new().with_env(std::env::vars());
    let c = config::parse_with(doc.to_string().as_bytes(), &env).unwrap();
    assert!(!format!("{c:?}").contains(&path), "Debug leaks the secret");
    // Without that environment the reference fails, naming the variable.
    let e = config::parse(doc.to_string().as_bytes()).unwrap_err();
    assert!(
        e.message.contains("PATH") && !e.message.contains(&path),
        "{e}"
    );
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    assert_eq!(member(&form(&out[0]), "client_secret"), Some(path.as_str()));
}

#[test]
fn secrets_come_from_the_vm_configuration() {
    use oauth_filter::core::config::parse_vm_secrets;
    let auth = json!({"method": "client_secret_post", "client_id": "gw",
                      "client_secret": {"vm_config": "gateway_secret"}});
    let doc = json!({"client": {"sources": [source(cc(), auth)], "default_source": "backend"}})
        .to_string();
    let secrets = parse_vm_secrets(br#"{"secrets": {"gateway_secret": "from-the-vm"}}"#).unwrap();
    let c = config::parse_with(doc.as_bytes(), &Secrets::new().with_vm_config(secrets)).unwrap();
    let mut f = Worker::new(c, "w1");
    let mut s = MemoryStore::default();
    let (_, out) = ask(&mut f, &mut s, &[], None, T0);
    assert_eq!(member(&form(&out[0]), "client_secret"), Some("from-the-vm"));
    // Without those secrets (or without the name) the reference fails,
    // naming the reference and not a value.
    let e = config::parse(doc.as_bytes()).unwrap_err();
    assert!(e.message.contains("gateway_secret"), "{e}");
    assert!(parse_vm_secrets(b"").unwrap().is_empty());
    assert!(parse_vm_secrets(br#"{"other": 1}"#).unwrap().is_empty());
    assert_eq!(
        parse_vm_secrets(b"[1]").unwrap_err().path,
        "vm_configuration"
    );
    assert_eq!(
        parse_vm_secrets(br#"{"secrets": {"a": 1}}"#)
            .unwrap_err()
            .path,
        "vm_configuration.secrets.a"
    );
    // One reference per secret.
    let both = doc.replace(
        r#"{"vm_config":"gateway_secret"}"#,
        r#"{"vm_config":"gateway_secret","env":"PATH"}"#,
    );
    assert_ne!(both, doc);
    assert!(config::parse(both.as_bytes()).is_err());
}
