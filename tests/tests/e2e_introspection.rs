//! Issue 4, introspection (RFC 7662): one suite, two proxies
//! (`oauth_tests::two_proxies`). The provider uses resolver
//! `jwt_or_introspection`: JWTs of the AS are verified locally, opaque
//! tokens are introspected at the real oidc-provider (which cannot
//! introspect its JWTs). Both proxies must give the same status,
//! `WWW-Authenticate` and upstream headers.
//!
//! `#[ignore]`d for a plain `cargo test`; `cargo xtask test` runs it (`--include-ignored`).

use std::time::Duration;

use oauth_tests::peers::{self, AuthServerOptions};
use oauth_tests::two_proxies::Stack;
use serde_json::{json, Value};

/// Lifetime of the short-lived opaque tokens.
const SHORT_TTL_S: u32 = 5;
/// Longest time a cached "active" answer is used: how long a revoked token
/// may still pass.
const CACHE_MAX_TTL_S: u64 = 2;

fn plugin_config(issuer: &str, as_port: u16) -> Value {
    json!({
        "realm": "e2e",
        "require_https": false, "providers": [{
            "name": "as",
            "issuer": issuer,
            "audiences": [peers::RESOURCE_JWT, peers::RESOURCE_OPAQUE, peers::RESOURCE_OPAQUE_SHORT],
            "algorithms": ["ES256", "RS256"],
            "jwks": { "discovery": { "cluster": "auth_server" } },
            "resolver": "jwt_or_introspection",
            "introspection": {
                "uri": format!("http://127.0.0.1:{as_port}/token/introspection"),
                "cluster": "auth_server",
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": peers::RS_CLIENT_ID,
                    "client_secret": peers::RS_CLIENT_SECRET
                },
                "timeout_ms": 2000
            },
            "clock_skew_s": 0
        }],
        "introspection_cache": {
            "max_ttl_s": CACHE_MAX_TTL_S,
            "default_ttl_s": CACHE_MAX_TTL_S,
            "inactive_ttl_s": 1
        },
        "scopes": {
            "required": ["read"],
            "rules": [{ "path_prefix": "/admin", "required": ["admin"] }]
        },
        "upstream": {
            "claim_headers": [
                { "claim": "sub", "header": "x-auth-sub" },
                { "claim": "client_id", "header": "x-auth-client" },
                { "claim": "scope", "header": "x-auth-scope" },
                { "claim": "roles", "header": "x-auth-roles" }
            ],
            "remove_authorization": true
        },
        "key_fetch": { "retry_interval_s": 1 },
        "tick_ms": 100
    })
}

fn stack(test: &str) -> Option<Stack> {
    let options = AuthServerOptions {
        ttl_s: 300,
        short_ttl_s: SHORT_TTL_S,
        ..AuthServerOptions::default()
    };
    Stack::start(test, options, "introspection.yaml", |auth| {
        plugin_config(&auth.issuer(), auth.port())
    })
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn opaque_token_introspected_with_claims_forwarded() {
    let Some(stack) = stack("opaque_token_introspected_with_claims_forwarded") else {
        return;
    };
    let token = stack.auth.token(peers::RESOURCE_OPAQUE, "read write");
    assert_eq!(token.split('.').count(), 1, "an opaque token");
    let outcome = stack.get_with("/orders/1", &token);
    assert_eq!(outcome.status, 200, "{outcome:?}");
    assert_eq!(
        outcome.upstream_header("x-auth-sub"),
        Some(peers::CLIENT_ID)
    );
    assert_eq!(
        outcome.upstream_header("x-auth-client"),
        Some(peers::CLIENT_ID)
    );
    assert_eq!(outcome.upstream_header("x-auth-scope"), Some("read write"));
    assert_eq!(
        outcome.upstream_header("x-auth-roles"),
        Some("reader,writer")
    );
    assert_eq!(outcome.upstream_header("authorization"), None);

    // Scopes apply to introspected tokens as to JWTs.
    let outcome = stack.get_with("/admin/users", &token);
    assert_eq!(outcome.status, 403, "{outcome:?}");
    let challenge = outcome.www_authenticate.as_deref().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"e2e\", error=\"insufficient_scope\""),
        "{challenge}"
    );

    // A token the AS never issued: inactive.
    stack
        .get_with("/orders/1", "b3BhcXVlLWJ1dC1ub3QtaXNzdWVkLWJ5LXRoZS1hcw")
        .assert_invalid_token("e2e");

    // The JWT path of the same provider still works.
    let jwt = stack.auth.token(peers::RESOURCE_JWT, "read");
    assert_eq!(stack.get_with("/orders/1", &jwt).status, 200);
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn revoked_opaque_token_refused_after_the_cache_lifetime() {
    let Some(stack) = stack("revoked_opaque_token_refused_after_the_cache_lifetime") else {
        return;
    };
    let token = stack.auth.token(peers::RESOURCE_OPAQUE, "read");
    assert_eq!(stack.get_with("/orders/1", &token).status, 200);
    stack.auth.revoke(&token);
    assert_eq!(stack.auth.introspect(&token)["active"], false);
    // A cached "active" answer may be used up to CACHE_MAX_TTL_S.
    std::thread::sleep(Duration::from_secs(CACHE_MAX_TTL_S + 1));
    stack
        .get_with("/orders/1", &token)
        .assert_invalid_token("e2e");
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn expired_opaque_token_refused() {
    let Some(stack) = stack("expired_opaque_token_refused") else {
        return;
    };
    let token = stack.auth.token(peers::RESOURCE_OPAQUE_SHORT, "read");
    let exp = stack.auth.introspect(&token)["exp"]
        .as_u64()
        .expect("exp in the introspection answer");
    assert_eq!(stack.get_with("/orders/1", &token).status, 200);
    std::thread::sleep(Duration::from_secs(exp.saturating_sub(now_s()) + 1));
    stack
        .get_with("/orders/1", &token)
        .assert_invalid_token("e2e");
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn authorization_server_down_jwt_path_works_introspection_path_503() {
    let Some(mut stack) = stack("authorization_server_down_jwt_path_works_introspection_path_503")
    else {
        return;
    };
    let seen_jwt = stack.auth.token(peers::RESOURCE_JWT, "read");
    let unseen_jwt = stack.auth.token(peers::RESOURCE_JWT, "read write");
    let unseen_opaque = stack.auth.token(peers::RESOURCE_OPAQUE, "read");
    assert_eq!(stack.get_with("/orders/1", &seen_jwt).status, 200);
    stack.auth.stop();

    let outcome = stack.get_with("/orders/1", &unseen_jwt);
    assert_eq!(outcome.status, 200, "JWT with cached keys: {outcome:?}");

    let outcome = stack.get_with("/orders/1", &unseen_opaque);
    assert_eq!(outcome.status, 503, "introspection impossible: {outcome:?}");
    assert_eq!(outcome.www_authenticate, None);
    assert!(outcome.upstream.is_none());
}
