//! The request pipeline around verification: upstream header edits, audit
//! lines, scopes on cache hits. Tokens and keys from `vectors/vectors.json`.

mod common;
use common::{vector_token as token, vectors, Decision, Worker};

use base64::Engine;
use oauth_filter::core::config;
use oauth_filter::core::events::{AuditEvent, Event, Metric};
use oauth_filter::core::{RequestView, UnixMillis};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn filter(patch: Value) -> (Worker, UnixMillis) {
    let v = vectors();
    let mut c = v["config"].clone();
    for (k, val) in patch.as_object().unwrap() {
        c[k] = val.clone();
    }
    let cfg = config::parse(c.to_string().as_bytes()).unwrap();
    (
        Worker::new(cfg, "w"),
        UnixMillis::from_secs(v["now"].as_u64().unwrap()),
    )
}

fn run(
    f: &mut Worker,
    now: UnixMillis,
    path: &str,
    headers: Vec<(&str, String)>,
) -> (Decision, Vec<Event>) {
    let hs: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let req = RequestView {
        method: "GET",
        path,
        headers: &hs,
        held_since: None,
        connection: Default::default(),
    };
    let d = f.on_request(&req, now);
    (d, f.drain_events())
}

fn audit(events: &[Event]) -> AuditEvent {
    let found: Vec<&AuditEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Audit(a) => Some(&**a),
            _ => None,
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one audit line per decision: {events:?}"
    );
    found[0].clone()
}

#[test]
fn claims_become_headers_and_client_copies_are_removed() {
    let (mut f, now) = filter(json!({"upstream": {
        "claim_headers": [
            {"claim": "sub", "header": "x-sub"},
            {"claim": "exp", "header": "x-exp"},
            {"claim": "aud", "header": "x-aud"},
            {"claim": "scope", "header": "x-scope"},
            {"claim": "absent", "header": "x-absent"}
        ],
        "payload_header": "x-payload",
        "remove_authorization": true
    }}));
    let tok = token("aud_array"); // aud: ["other", "api://vectors"]
    let (d, _) = run(
        &mut f,
        now,
        "/",
        vec![
            ("authorization", format!("Bearer {tok}")),
            ("x-sub", "spoofed".into()),
        ],
    );
    let Decision::Continue(e) = d else {
        panic!("{d:?}")
    };
    for h in [
        "x-sub",
        "x-exp",
        "x-aud",
        "x-scope",
        "x-absent",
        "x-payload",
        "authorization",
    ] {
        assert!(e.remove.iter().any(|r| r == h), "{h} not removed: {e:?}");
    }
    let get = |h: &str| e.set.iter().find(|(k, _)| k == h).map(|(_, v)| v.clone());
    assert_eq!(get("x-sub").as_deref(), Some("alice"));
    assert_eq!(
        get("x-exp"),
        Some((vectors()["now"].as_u64().unwrap() + 3600).to_string())
    );
    assert_eq!(get("x-aud").as_deref(), Some("other,api://vectors"));
    assert_eq!(get("x-scope").as_deref(), Some("read write"));
    assert_eq!(get("x-absent"), None);
    let payload = get("x-payload").unwrap();
    assert_eq!(payload, tok.split('.').nth(1).unwrap());
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(claims["sub"], "alice");
}

#[test]
fn audit_lines_name_the_principal_and_hash_not_the_token() {
    let (mut f, now) = filter(json!({}));
    let tok = token("alg_ES256");
    let (_, ev) = run(
        &mut f,
        now,
        "/",
        vec![("authorization", format!("Bearer {tok}"))],
    );
    let a = audit(&ev);
    let digest = Sha256::digest(tok.as_bytes());
    let prefix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(a.decision, "allow");
    assert_eq!(a.issuer.as_deref(), Some("https://issuer.vectors.test"));
    assert_eq!(a.sub.as_deref(), Some("user-ES256"));
    assert_eq!(a.client_id.as_deref(), Some("client-1"));
    assert_eq!(a.tracking_id.as_deref(), Some("jti-1"));
    assert_eq!(a.token_hash.map(|h| h.to_string()), Some(prefix));
    let line = a.to_line();
    assert!(!line.contains(&tok) && !line.contains(tok.split('.').nth(2).unwrap()));

    // A forged token: hash only, no unverified claims.
    let forged = token("reject_bad_signature");
    let (_, ev) = run(
        &mut f,
        now,
        "/",
        vec![("authorization", format!("Bearer {forged}"))],
    );
    let a = audit(&ev);
    assert_eq!(
        (a.decision, a.status, a.reason),
        ("deny", 401, "bad_signature")
    );
    assert!(a.sub.is_none() && a.issuer.is_none() && a.token_hash.is_some());
}

/// PingGateway-style access events: a forwarded request's event waits for
/// the upstream's status (the adapter completes it from
/// `Outbox::pending_audit`); a refusal is written at once. Both carry a
/// timestamp, the transaction id (the request's `x-request-id`, or one made
/// here) and the tracking ids.
#[test]
fn audit_events_carry_transaction_and_tracking_ids_and_the_upstream_status() {
    use oauth_filter::core::{Filter, Io, Outbox};
    let v = vectors();
    let mut c = v["config"].clone();
    c["audit"] = json!({"tracking_claims": ["client_id", "no_such_claim"]});
    let cfg = config::parse(c.to_string().as_bytes()).unwrap();
    let now = UnixMillis::from_secs(v["now"].as_u64().unwrap());
    let mut f = Filter::new(cfg, "w");
    let mut store = oauth_filter::core::shared::MemoryStore::default();
    let tok = token("alg_ES256");
    let headers = vec![
        ("authorization".to_owned(), format!("Bearer {tok}")),
        ("x-request-id".to_owned(), "req-42".to_owned()),
    ];
    let req = RequestView {
        method: "GET",
        path: "/",
        headers: &headers,
        held_since: Some(UnixMillis(now.0 - 30)),
        connection: Default::default(),
    };
    let mut out = Outbox::default();
    let d = f.handle_request(&req, &mut Io::new(now, &mut store, &mut out));
    assert!(matches!(d, oauth_filter::core::Decision::Continue(_)));
    assert!(!out.events.iter().any(|e| matches!(e, Event::Audit(_))));
    let mut ev = out
        .pending_audit
        .expect("a pending event for the response phase");
    assert_eq!(ev.transaction_id, "req-42");
    assert_eq!(
        ev.tracking_ids,
        vec!["jti-1".to_owned(), "client-1".to_owned()]
    );
    oauth_filter::core::audit::complete(
        &mut ev,
        UnixMillis(now.0 - 30),
        Some(503),
        now.plus_ms(70),
    );
    let line: serde_json::Value =
        serde_json::from_str(ev.to_line().trim_start_matches("oauth-filter audit ")).unwrap();
    assert_eq!(line["upstream_status"], 503);
    assert_eq!(line["elapsed_ms"], 100);
    assert_eq!(line["transactionId"], "req-42");
    assert_eq!(line["trackingIds"], json!(["jti-1", "client-1"]));
    assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    // A refusal: written at once, with a transaction id made here.
    let hs = vec![("authorization".to_owned(), "Bearer nope".to_owned())];
    let req = RequestView {
        headers: &hs,
        held_since: None,
        ..req
    };
    let mut out = Outbox::default();
    f.handle_request(&req, &mut Io::new(now, &mut store, &mut out));
    assert!(out.pending_audit.is_none());
    let Some(Event::Audit(a)) = out.events.iter().find(|e| matches!(e, Event::Audit(_))) else {
        panic!("no audit event")
    };
    assert_eq!((a.decision, a.status, a.elapsed_ms), ("deny", 401, 0));
    assert!(!a.transaction_id.is_empty() && a.transaction_id != "req-42");
    assert!(a.upstream_status.is_none());
}

#[test]
fn tracking_id_claim_is_configurable() {
    let (mut f, now) = filter(json!({"audit": {"tracking_id_claim": "client_id"}}));
    let (_, ev) = run(
        &mut f,
        now,
        "/",
        vec![("authorization", format!("Bearer {}", token("alg_ES256")))],
    );
    assert_eq!(audit(&ev).tracking_id.as_deref(), Some("client-1"));
    let (mut f, now) = filter(json!({"audit": {"enabled": false}}));
    let (_, ev) = run(
        &mut f,
        now,
        "/",
        vec![("authorization", format!("Bearer {}", token("alg_ES256")))],
    );
    assert!(!ev.iter().any(|e| matches!(e, Event::Audit(_))));
}

#[test]
fn scopes_are_checked_on_cache_hits_too() {
    let (mut f, now) = filter(json!({}));
    let auth = || vec![("authorization", format!("Bearer {}", token("alg_ES256")))];
    let (d, ev) = run(&mut f, now, "/public", auth());
    assert!(matches!(d, Decision::Continue(_)));
    assert!(ev.contains(&Event::Metric(Metric::CacheMiss)));
    let (d, ev) = run(&mut f, now, "/admin", auth());
    assert!(ev.contains(&Event::Metric(Metric::CacheHit)));
    let Decision::Reply(r) = d else {
        panic!("{d:?}")
    };
    assert_eq!(r.status, 403);
    let a = audit(&ev);
    assert_eq!(a.reason, "insufficient_scope");
    assert_eq!(
        a.sub.as_deref(),
        Some("user-ES256"),
        "403 audits name the verified principal"
    );
}

#[test]
fn global_and_rule_scopes_combine() {
    let (mut f, now) = filter(json!({"scopes": {"required": ["read"],
        "rules": [{"methods": ["GET"], "path": "/w", "required": ["write"]},
                  {"path_prefix": "/x", "required": ["nope"]}]}}));
    let auth = || vec![("authorization", format!("Bearer {}", token("alg_ES256")))]; // scope: read write
    assert!(matches!(
        run(&mut f, now, "/w", auth()).0,
        Decision::Continue(_)
    ));
    let Decision::Reply(r) = run(&mut f, now, "/x/1", auth()).0 else {
        panic!()
    };
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"vectors\", error=\"insufficient_scope\", scope=\"read nope\", error_description=\"the token lacks a required scope\"")
    );
}

/// Rules match case-sensitively (as Envoy's routes) unless
/// `case_insensitive_paths` is set, for upstreams that serve `/X/1` as
/// `/x/1`: then `/X/1` and `/x/1` need the same scopes.
#[test]
fn case_insensitive_paths_fold_rules_and_requests() {
    let rules = json!({"rules": [{"path_prefix": "/X", "required": ["nope"]}]});
    let auth = || vec![("authorization", format!("Bearer {}", token("alg_ES256")))];
    let status = |d: Decision| match d {
        Decision::Continue(_) => 200,
        Decision::Reply(r) => r.status,
        other => panic!("{other:?}"),
    };
    let (mut f, now) = filter(json!({"scopes": rules}));
    assert_eq!(status(run(&mut f, now, "/X/1", auth()).0), 403);
    assert_eq!(status(run(&mut f, now, "/x/1", auth()).0), 200);
    let (mut f, now) = filter(json!({"scopes": rules, "case_insensitive_paths": true}));
    for path in ["/X/1", "/x/1", "/%58/1", "//x//1"] {
        assert_eq!(status(run(&mut f, now, path, auth()).0), 403, "{path}");
    }
    assert_eq!(status(run(&mut f, now, "/y", auth()).0), 200);
}

#[test]
fn token_from_configured_header_or_cookie() {
    let (mut f, now) = filter(json!({"token": {"header": "x-access-token", "cookie": "at"}}));
    let tok = token("alg_ES256");
    assert!(matches!(
        run(&mut f, now, "/", vec![("x-access-token", tok.clone())]).0,
        Decision::Continue(_)
    ));
    assert!(matches!(
        run(&mut f, now, "/", vec![("cookie", format!("a=b; at={tok}"))]).0,
        Decision::Continue(_)
    ));
    // Authorization wins over the alternatives.
    let (d, _) = run(
        &mut f,
        now,
        "/",
        vec![
            ("authorization", "Bearer x.y.z".into()),
            ("x-access-token", tok),
        ],
    );
    assert!(matches!(d, Decision::Reply(r) if r.status == 401));
}
