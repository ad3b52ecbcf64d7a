//! Issue 6, the gateway as an OAuth 2.0 client, against the real
//! authorization server (oidc-provider, `tests/as`) through Envoy
//! (`envoy/client.yaml`) and `oauth-host`, with the same module and plugin
//! configuration: the resource-server role validates the caller's JWT, then
//! the client role injects a token of the gateway's own (client credentials,
//! or the password grant the test AS registers). Each proxy has its own
//! shared data, so each makes its own token requests: the AS counts them
//! (`GET /_test/token-requests`).
//!
//! `#[ignore]`d for a plain `cargo test`; `cargo xtask test` runs it (`--include-ignored`).

use std::time::Duration;

use oauth_tests::peers::{self, AuthServer, AuthServerOptions};
use oauth_tests::two_proxies::Stack;
use serde_json::{json, Value};

/// Password of the AS's fixed user `alice`, given to both proxies as a VM
/// environment variable (as `envoy/client.yaml` does).
const ENV: &[(&str, &str)] = &[("LEGACY_PASSWORD", "alice-password")];
/// Lifetime of the AS's `*-short` tokens (the renewal case).
const SHORT_TTL_S: u32 = 8;
/// Renewal margin of the `short` source: renewal is due after 4 s, and the
/// renewed token's own renewal 4 s later (slack for a loaded machine).
const SHORT_MARGIN_S: u64 = 4;

fn plugin(auth: &AuthServer) -> Value {
    let as_port = auth.port();
    let cc = |name: &str, resource: &str, client: &str, secret: &str, margin: u64| {
        json!({
            "name": name,
            "grant": {"type": "client_credentials", "scopes": ["read"], "resource": [resource]},
            "discovery": {"issuer": auth.issuer(), "cluster": "auth_server"},
            "client_auth": {
                "method": "client_secret_post",
                "client_id": client,
                "client_secret": secret,
            },
            "renew_margin_s": margin,
            "timeout_ms": 3000,
        })
    };
    json!({
        "realm": "e2e",
        "require_https": false, "providers": [{
            "name": "as",
            "issuer": auth.issuer(),
            "audiences": [peers::RESOURCE_JWT],
            "algorithms": ["ES256", "RS256"],
            "jwks": {"discovery": {"cluster": "auth_server"}},
        }],
        "scopes": {"required": ["read"]},
        "upstream": {"claim_headers": [{"claim": "sub", "header": "x-auth-sub"}]},
        "client": {
            "sources": [
                cc("backend", peers::RESOURCE_JWT, peers::POST_CLIENT_ID, peers::POST_CLIENT_SECRET, 30),
                cc("short", peers::RESOURCE_JWT_SHORT, peers::POST_CLIENT_ID, peers::POST_CLIENT_SECRET, SHORT_MARGIN_S),
                cc("refused", peers::RESOURCE_JWT, peers::POST_CLIENT_ID, "not-the-secret", 30),
                {
                    "name": "legacy",
                    "grant": {"type": "password", "username": "alice",
                              "password": {"env": "LEGACY_PASSWORD"}, "scopes": ["read"]},
                    "token_endpoint": {"uri": format!("http://127.0.0.1:{as_port}/token"),
                                       "cluster": "auth_server"},
                    "client_auth": {"method": "client_secret_basic",
                                    "client_id": "gateway-password",
                                    "client_secret": "gateway-password-secret"},
                },
            ],
            "rules": [
                {"path_prefix": "/short", "source": "short"},
                {"path_prefix": "/refused", "source": "refused"},
                {"path_prefix": "/legacy", "source": "legacy"},
            ],
            "default_source": "backend",
        },
        "tick_ms": 50,
    })
}

fn stack(test: &str) -> Option<Stack> {
    let options = AuthServerOptions {
        short_ttl_s: SHORT_TTL_S,
        ..AuthServerOptions::default()
    };
    Stack::start_with_env(test, options, "client.yaml", ENV, plugin)
}

/// Token endpoint requests the AS saw for `client` with `grant`.
fn token_requests(auth: &AuthServer, client: &str, grant: &str) -> u64 {
    let counts = auth
        .request("GET", "/_test/token-requests", &[], b"")
        .json();
    counts[format!("{client} {grant}")].as_u64().unwrap_or(0)
}

/// `GET path` through one proxy with the caller's token; (status, body JSON).
fn get(port: u16, path: &str, caller: &str) -> (u16, Value) {
    let auth = format!("Bearer {caller}");
    let r = peers::http_request(port, "GET", path, &[("authorization", &auth)], b"")
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

/// The bearer token the upstream got (the echo's view).
fn upstream_token(body: &Value) -> String {
    body["headers"]["authorization"]
        .as_str()
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("no bearer token upstream: {body}"))
        .to_string()
}

fn proxies(s: &Stack) -> [(&'static str, u16); 2] {
    [
        ("envoy", s.envoy.listener_port()),
        ("oauth-host", s.host.port()),
    ]
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn five_hundred_requests_per_proxy_make_one_client_credentials_token_request() {
    let Some(s) =
        stack("five_hundred_requests_per_proxy_make_one_client_credentials_token_request")
    else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    let mut report = Vec::new();
    for (name, port) in proxies(&s) {
        let before = token_requests(&s.auth, peers::POST_CLIENT_ID, "client_credentials");
        // 10 clients at once, 50 requests each (fresh connections: both
        // workers get some).
        let threads: Vec<_> = (0..10)
            .map(|_| {
                let caller = caller.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .map(|_| get(port, "/api", &caller))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let replies: Vec<(u16, Value)> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("client thread"))
            .collect();
        assert_eq!(replies.len(), 500);
        let first = upstream_token(&replies[0].1);
        for (status, body) in &replies {
            assert_eq!(*status, 200, "{name}: {body}");
            assert_eq!(upstream_token(body), first, "{name}: one token for all");
            assert_eq!(body["headers"]["x-auth-sub"], peers::CLIENT_ID, "{name}");
        }
        // The gateway's token, not the caller's: minted for the gateway's
        // client by the AS.
        assert_ne!(first, caller);
        let claims = peers::jwt_payload(&first);
        assert_eq!(
            claims["client_id"],
            peers::POST_CLIENT_ID,
            "{name}: {claims}"
        );
        assert_eq!(claims["aud"], peers::RESOURCE_JWT, "{name}: {claims}");
        let n = token_requests(&s.auth, peers::POST_CLIENT_ID, "client_credentials") - before;
        report.push(format!("{name}: {n}"));
        assert_eq!(n, 1, "{name}: token requests for 500 requests on 2 workers");
    }
    println!(
        "token requests seen by the AS for 500 requests on 2 workers: {}",
        report.join(", ")
    );
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn renewal_before_expiry_makes_one_more_token_request_per_proxy() {
    let Some(s) = stack("renewal_before_expiry_makes_one_more_token_request_per_proxy") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    let count = || token_requests(&s.auth, peers::POST_CLIENT_ID, "client_credentials");
    let before = count();
    let mut first = Vec::new();
    for (name, port) in proxies(&s) {
        let (status, body) = get(port, "/short", &caller);
        assert_eq!(status, 200, "{name}: {body}");
        first.push(upstream_token(&body));
    }
    assert_eq!(count() - before, 2, "one token per proxy");
    // Renewal is due SHORT_MARGIN_S before the tokens' SHORT_TTL_S run out.
    std::thread::sleep(Duration::from_millis(
        (u64::from(SHORT_TTL_S) - SHORT_MARGIN_S) * 1000 + 400,
    ));
    for (name, port) in proxies(&s) {
        for _ in 0..10 {
            let (status, body) = get(port, "/short", &caller);
            assert_eq!(status, 200, "{name}: {body}");
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    for (i, (name, port)) in proxies(&s).into_iter().enumerate() {
        let (status, body) = get(port, "/short", &caller);
        assert_eq!(status, 200, "{name}: {body}");
        assert_ne!(upstream_token(&body), first[i], "{name}: renewed");
    }
    assert_eq!(count() - before, 4, "exactly one renewal per proxy");
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn password_grant_token_reaches_the_upstream() {
    let Some(s) = stack("password_grant_token_reaches_the_upstream") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    for (name, port) in proxies(&s) {
        let (status, body) = get(port, "/legacy/x", &caller);
        assert_eq!(status, 200, "{name}: {body}");
        let token = upstream_token(&body);
        // Opaque: ask the AS whose it is.
        let info = s.auth.introspect(&token);
        assert_eq!(info["active"], true, "{name}: {info}");
        assert_eq!(info["sub"], "alice", "{name}: {info}");
        assert_eq!(info["client_id"], "gateway-password", "{name}: {info}");
    }
    assert_eq!(token_requests(&s.auth, "gateway-password", "password"), 2);
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn refused_client_gets_502_naming_invalid_client() {
    let Some(s) = stack("refused_client_gets_502_naming_invalid_client") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    for (name, port) in proxies(&s) {
        let (status, body) = get(port, "/refused", &caller);
        assert_eq!(status, 502, "{name}: {body}");
        assert_eq!(body["error"], "upstream_token_unavailable", "{name}");
        assert_eq!(body["token_error"], "invalid_client", "{name}");
        assert_eq!(body["token_source"], "refused", "{name}");
        assert!(!body.to_string().contains("not-the-secret"), "{name}");
    }
    // Envoy's log (the module's log lines) names the error, never the secret.
    let log = s.envoy.log();
    assert!(log.contains("error invalid_client"), "{log}");
    assert!(!log.contains("not-the-secret"));
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn upstream_invalid_token_makes_the_next_request_use_a_fresh_token() {
    let Some(s) = stack("upstream_invalid_token_makes_the_next_request_use_a_fresh_token") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    for (name, port) in proxies(&s) {
        let (status, body) = get(port, "/api", &caller);
        assert_eq!(status, 200, "{name}: {body}");
        let t1 = upstream_token(&body);
        let (status, _) = get(port, "/api?reject=invalid_token", &caller);
        assert_eq!(status, 401, "{name}: the upstream's answer goes through");
        let (status, body) = get(port, "/api", &caller);
        assert_eq!(status, 200, "{name}: {body}");
        let t2 = upstream_token(&body);
        assert_ne!(t1, t2, "{name}: a fresh token after invalid_token");
        let (_, body) = get(port, "/api", &caller);
        assert_eq!(upstream_token(&body), t2, "{name}: then cached again");
    }
    assert_eq!(
        token_requests(&s.auth, peers::POST_CLIENT_ID, "client_credentials"),
        4
    );
}
