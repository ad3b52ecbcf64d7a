//! Computed scopes through the pipeline, with the verified claims:
//! PingGateway's `employeenumber` example, path-parameter scopes, claim
//! conditions, fail-closed placeholders, and per-provider scope claims.
//! Tokens and keys from `vectors/vectors.json` (`scope: "read write"`,
//! `tenant: "acme"`; `scope_via_scp`: `scp: ["admin"]`).

mod common;
use common::{vector_token as token, vectors, Decision, Worker};

use oauth_filter::core::config;
use oauth_filter::core::{RequestView, UnixMillis};
use serde_json::{json, Value};

/// The vectors' configuration with `scopes`, and `provider` merged into
/// the first provider.
fn filter(scopes: Value, provider: Value) -> (Worker, UnixMillis) {
    let v = vectors();
    let mut c = v["config"].clone();
    c["scopes"] = scopes;
    for (k, val) in provider.as_object().into_iter().flatten() {
        c["providers"][0][k] = val.clone();
    }
    let cfg = config::parse(c.to_string().as_bytes()).unwrap();
    (
        Worker::new(cfg, "w"),
        UnixMillis::from_secs(v["now"].as_u64().unwrap()),
    )
}

/// Status and, for a 403, the challenge's `scope`.
fn run(
    f: &mut Worker,
    now: UnixMillis,
    method: &str,
    path: &str,
    tok: &str,
    extra: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut hs = vec![("authorization".to_owned(), format!("Bearer {tok}"))];
    hs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let req = RequestView {
        method,
        path,
        headers: &hs,
        held_since: None,
        connection: Default::default(),
    };
    match f.on_request(&req, now) {
        Decision::Continue(_) => (200, None),
        Decision::Reply(r) => {
            let scope = r.header("www-authenticate").and_then(|w| {
                let start = w.find("scope=\"")? + 7;
                let len = w[start..].find('"')?;
                Some(w[start..start + len].to_owned())
            });
            (r.status, scope)
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn pinggateway_employeenumber_example() {
    // PingGateway's scripted example: `mail`, plus `employeenumber` when
    // the path ends in `/employee`.
    let (mut f, now) = filter(
        json!({
            "required": ["read"],
            "rules": [{"when": [{"path_ends_with": "/employee"}], "add": ["employeenumber"]}]
        }),
        json!({}),
    );
    let tok = token("alg_RS256"); // scope "read write"
    assert_eq!(
        run(&mut f, now, "GET", "/people/42", &tok, &[]),
        (200, None)
    );
    assert_eq!(
        run(&mut f, now, "GET", "/people/42/employee", &tok, &[]),
        (403, Some("read employeenumber".into()))
    );
    assert_eq!(
        run(&mut f, now, "GET", "/people/42/employee?x=1", &tok, &[]).0,
        403
    );
}

#[test]
fn path_parameter_scopes() {
    let (mut f, now) = filter(
        json!({"rules": [
            {"path_template": "/accounts/{id}", "required": ["accounts:{path.id}:read"]},
            {"path_template": "/tenants/{t}/{rest*}", "required": ["read"],
             "when": [{"claim": {"name": "tenant", "equals": "acme"}}]},
            {"path_template": "/tenants/{t}/{rest*}", "required": ["{path.t}:admin"]},
        ]}),
        json!({}),
    );
    let tok = token("alg_ES256");
    assert_eq!(
        run(&mut f, now, "GET", "/accounts/42", &tok, &[]),
        (403, Some("accounts:42:read".into()))
    );
    // A value that is not a scope fragment (a quote; non-ASCII): refused,
    // naming the scope as written. (A space is refused earlier: 400.)
    assert_eq!(
        run(&mut f, now, "GET", "/accounts/a%22b", &tok, &[]),
        (403, Some("accounts:{path.id}:read".into()))
    );
    assert_eq!(
        run(&mut f, now, "GET", "/accounts/%C3%A9", &tok, &[]),
        (403, Some("accounts:{path.id}:read".into()))
    );
    // The token's tenant (`acme`) picks the first rule.
    assert_eq!(
        run(&mut f, now, "GET", "/tenants/acme/x/y", &tok, &[]),
        (200, None)
    );
    // When the claim condition does not hold, the next rule applies (the
    // vectors' provider only accepts tenant `acme`, so the rule asks for
    // another tenant).
    let (mut g, now) = filter(
        json!({"rules": [
            {"path_template": "/tenants/{t}/{rest*}", "required": ["read"],
             "when": [{"claim": {"name": "tenant", "equals": "other"}}]},
            {"path_template": "/tenants/{t}/{rest*}", "required": ["{path.t}:admin"]},
        ]}),
        json!({}),
    );
    assert_eq!(
        run(&mut g, now, "GET", "/tenants/acme/x", &tok, &[]),
        (403, Some("acme:admin".into()))
    );
}

#[test]
fn claim_and_header_placeholders() {
    let (mut f, now) = filter(
        json!({"rules": [
            {"path_prefix": "/t", "required": ["{claim.tenant}:{header.x-zone}"]},
            {"path_prefix": "/w", "required": ["write"],
             "when": [{"any": [{"method": ["POST"]}, {"query": {"name": "mode", "equals": "edit"}}]}]},
            {"path_prefix": "/w", "required": ["admin"]},
        ]}),
        json!({}),
    );
    let tok = token("alg_PS256");
    assert_eq!(
        run(&mut f, now, "GET", "/t", &tok, &[("x-zone", "eu")]),
        (403, Some("acme:eu".into()))
    );
    assert_eq!(
        run(&mut f, now, "GET", "/t", &tok, &[]),
        (403, Some("{claim.tenant}:{header.x-zone}".into()))
    );
    assert_eq!(run(&mut f, now, "POST", "/w", &tok, &[]), (200, None));
    assert_eq!(
        run(&mut f, now, "GET", "/w?mode=edit", &tok, &[]),
        (200, None)
    );
    assert_eq!(
        run(&mut f, now, "GET", "/w?mode=view", &tok, &[]),
        (403, Some("admin".into()))
    );
    // Undecidable: `mode` twice with different values.
    assert_eq!(
        run(&mut f, now, "GET", "/w?mode=edit&mode=view", &tok, &[]),
        (403, Some("write".into()))
    );
}

#[test]
fn scope_claims_per_provider() {
    // Only `scp` (an array) counts: `scope: "read write"` grants nothing.
    let only_scp = json!({"scope_claims": [{"claim": "scp", "format": "array"}]});
    let (mut f, now) = filter(json!({"required": ["read"]}), only_scp.clone());
    assert_eq!(
        run(&mut f, now, "GET", "/x", &token("alg_RS256"), &[]),
        (403, Some("read".into()))
    );
    let (mut f, now) = filter(json!({"required": ["admin"]}), only_scp);
    assert_eq!(
        run(&mut f, now, "GET", "/x", &token("scope_via_scp"), &[]),
        (200, None)
    );
    // `scope` as an array only: the space-separated string is not read.
    let (mut f, now) = filter(
        json!({"required": ["read"]}),
        json!({"scope_claims": [{"claim": "scope", "format": "array"}]}),
    );
    assert_eq!(
        run(&mut f, now, "GET", "/x", &token("alg_RS256"), &[]).0,
        403
    );
    // Defaults: `scope` as a string.
    let (mut f, now) = filter(json!({"required": ["read"]}), json!({}));
    assert_eq!(
        run(&mut f, now, "GET", "/x", &token("alg_RS256"), &[]),
        (200, None)
    );
}
