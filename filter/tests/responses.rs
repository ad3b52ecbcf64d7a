//! Failure responses per error class (status, headers, body templates,
//! redirects; the RFC 6750 challenge kept) and RFC 9728 protected-resource
//! metadata (the document, and `resource_metadata` in 401 challenges).

mod common;
use common::{vector_token as token, vectors, Decision, Worker};

use oauth_filter::core::config;
use oauth_filter::core::{RequestView, UnixMillis};
use serde_json::{json, Value};

fn worker(patch: Value) -> (Worker, UnixMillis) {
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

fn reply(
    w: &mut Worker,
    now: UnixMillis,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> oauth_filter::core::response::LocalReply {
    let hs: Vec<(String, String)> = auth
        .map(|a| vec![("authorization".to_owned(), a.to_owned())])
        .unwrap_or_default();
    let req = RequestView {
        method,
        path,
        headers: &hs,
        held_since: None,
        connection: Default::default(),
    };
    match w.on_request(&req, now) {
        Decision::Reply(r) => r,
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn failure_responses_replace_status_body_or_redirect_and_keep_the_challenge() {
    let (mut w, now) = worker(json!({
        "scopes": {"rules": [{"path_prefix": "/x", "required": ["nope"]}]},
        "failure_responses": {
            "no_token": {"redirect": "https://login.example/start?error={error}&realm={realm}"},
            "invalid_token": {
                "status": 401, "content_type": "text/html; charset=utf-8",
                "headers": {"x-reason": "token"},
                "body": "<p>{error}: {error_description}</p>"
            },
            "insufficient_scope": {"body": "{\"denied\":\"{scope}\",\"status\":{status}}"}
        }
    }));
    let r = reply(&mut w, now, "GET", "/", None);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("https://login.example/start?error=unauthorized&realm=vectors")
    );
    assert!(r
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("Bearer realm=")));
    let r = reply(&mut w, now, "GET", "/", Some("Bearer a.b.c"));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("x-reason"), Some("token"));
    assert!(r.body.starts_with("<p>invalid_token: "), "{}", r.body);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
    let auth = format!("Bearer {}", token("alg_ES256"));
    let r = reply(&mut w, now, "GET", "/x/1", Some(&auth));
    assert_eq!(r.status, 403);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body, json!({"denied": "nope", "status": 403}));
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("insufficient_scope"));
}

#[test]
fn failure_response_config_errors_name_the_field() {
    let v = vectors();
    for (fr, path) in [
        (json!({"nope": {}}), "failure_responses.nope"),
        (
            json!({"no_token": {"status": 200}}),
            "failure_responses.no_token.status",
        ),
        (
            json!({"no_token": {"redirect": "javascript:x"}}),
            "failure_responses.no_token.redirect",
        ),
        (
            json!({"no_token": {"redirect": "/a", "body": "b"}}),
            "failure_responses.no_token.redirect",
        ),
        (
            json!({"no_token": {"headers": {"content-length": "1"}}}),
            "failure_responses.no_token.headers.content-length",
        ),
        (
            json!({"no_token": {"redirect": "/a", "status": 401}}),
            "failure_responses.no_token.status",
        ),
    ] {
        let mut c = v["config"].clone();
        c["failure_responses"] = fr.clone();
        let e = config::parse(c.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.path, path, "{fr}: {e}");
    }
}

#[test]
fn protected_resource_metadata_is_served_and_named_in_challenges() {
    let (mut w, now) = worker(json!({
        "resource_metadata": {
            "resource": "https://api.example/orders",
            "scopes_supported": ["read", "write"],
            "resource_name": "Orders"
        }
    }));
    // Public: no token needed, GET and HEAD.
    for method in ["GET", "HEAD"] {
        let r = reply(
            &mut w,
            now,
            method,
            "/.well-known/oauth-protected-resource/orders",
            None,
        );
        assert_eq!(r.status, 200);
        let doc: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(doc["resource"], "https://api.example/orders");
        assert_eq!(
            doc["authorization_servers"][0],
            "https://issuer.vectors.test"
        );
        assert_eq!(doc["scopes_supported"], json!(["read", "write"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], "Orders");
    }
    // Another path is an API path like any other.
    let r = reply(
        &mut w,
        now,
        "GET",
        "/.well-known/oauth-protected-resource",
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"vectors\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/orders\"")
    );
    let bad = config::parse(
        json!({"require_https": false, "providers": vectors()["config"]["providers"],
               "resource_metadata": {"resource": "ftp://x"}})
        .to_string()
        .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(bad.path, "resource_metadata.resource");
}
