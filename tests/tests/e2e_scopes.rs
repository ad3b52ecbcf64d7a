//! Computed scopes and per-provider scope claims through both proxies,
//! against the real oidc-provider, whose access tokens for
//! [`peers::RESOURCE_JWT`] carry `scope` (a space-separated string),
//! `tenant: "e2e"` and `roles: ["reader", "writer"]`.

use oauth_tests::peers::{self, AuthServer, AuthServerOptions, HttpResponse};
use oauth_tests::two_proxies::Proxies;
use serde_json::{json, Value};

/// The JWT provider of these tests, with `extra` merged into it, and
/// `scopes`.
fn plugin(auth: &AuthServer, extra: Value, scopes: Value) -> Value {
    let mut provider = json!({
        "name": "as",
        "issuer": auth.issuer(),
        "audiences": [peers::RESOURCE_JWT],
        "jwks": { "discovery": { "cluster": "auth_server" } },
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        provider[k] = v.clone();
    }
    json!({
        "require_https": false,
        "providers": [provider],
        "scopes": scopes,
        "upstream": { "claim_headers": [{ "claim": "sub", "header": "x-auth-sub" }] },
        "tick_ms": 100
    })
}

fn get(port: u16, path: &str, bearer: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let auth = format!("Bearer {bearer}");
    let mut hs = vec![("authorization", auth.as_str())];
    hs.extend_from_slice(headers);
    peers::http_request(port, "GET", path, &hs, b"").expect("request")
}

/// The challenge's `scope` of a 403.
fn challenged_scope(name: &str, path: &str, r: &HttpResponse) -> String {
    assert_eq!(r.status, 403, "{name}: {path}: {}", r.text());
    let www = r.header("www-authenticate").unwrap_or_default();
    assert!(
        www.contains("error=\"insufficient_scope\""),
        "{name}: {path}: {www}"
    );
    let start = www.find("scope=\"").map(|i| i + 7).unwrap_or(0);
    let len = www[start..].find('"').unwrap_or(0);
    www[start..start + len].to_owned()
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn computed_scopes_from_path_claims_and_request() {
    if !peers::e2e_enabled("computed_scopes_from_path_claims_and_request") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let plugin = plugin(
        &auth,
        json!({}),
        json!({
            "required": ["read"],
            "rules": [
                // PingGateway's example.
                { "when": [{ "path_ends_with": "/employee" }], "add": ["employeenumber"] },
                // A path parameter in the scope.
                { "path_template": "/accounts/{id}", "required": ["accounts:{path.id}:read"] },
                // The token's tenant picks the rule: `write` for tenant e2e.
                { "path_prefix": "/reports",
                  "when": [{ "claim": { "name": "tenant", "equals": "e2e" } }],
                  "required": ["write"] },
                { "path_prefix": "/reports", "required": ["admin"] },
                // A scope named after the tenant claim.
                { "path_prefix": "/tenant", "required": ["{claim.tenant}:read"] },
                // An array claim, negated: writers need nothing more.
                { "path_prefix": "/drafts",
                  "when": [{ "not": { "claim": { "name": "roles", "equals": "writer" } } }],
                  "required": ["admin"] },
                // Query and header in the scope.
                { "path_prefix": "/search",
                  "when": [{ "query": { "name": "mode", "equals": "edit" } }],
                  "required": ["write"] },
                { "path_prefix": "/zones", "required": ["zone:{header.x-zone}"] }
            ]
        }),
    );
    let proxies = Proxies::plain(&auth, &plugin);
    let token = auth.token(peers::RESOURCE_JWT, "read write");
    for (name, port) in proxies.each() {
        for path in [
            "/orders/1",
            "/people/employees",
            "/reports/q1",
            "/drafts/7",
            "/search?mode=edit",
            "/search?mode=view",
        ] {
            let r = get(port, path, &token, &[]);
            assert_eq!(r.status, 200, "{name}: {path}: {}", r.text());
            assert_eq!(
                r.json()["headers"]["x-auth-sub"],
                peers::CLIENT_ID,
                "{name}"
            );
        }
        for (path, headers, scope) in [
            ("/people/employee", vec![], "read employeenumber"),
            ("/people/employee/", vec![], "read employeenumber"),
            ("/accounts/42", vec![], "read accounts:42:read"),
            ("/tenant/x", vec![], "read e2e:read"),
            ("/zones/a", vec![("x-zone", "eu")], "read zone:eu"),
            // Fail closed: no header, the scope as written.
            ("/zones/a", vec![], "read zone:{header.x-zone}"),
            // Undecidable: the parameter twice with different values.
            ("/search?mode=edit&mode=view", vec![], "read write"),
        ] {
            let r = get(port, path, &token, &headers);
            assert_eq!(challenged_scope(name, path, &r), scope, "{name}: {path}");
        }
        // With the computed scope granted, the same path passes.
        let rich = auth.token(peers::RESOURCE_JWT, "read write admin");
        let r = get(port, "/drafts/7", &rich, &[]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn scope_claims_name_where_a_provider_puts_scopes() {
    if !peers::e2e_enabled("scope_claims_name_where_a_provider_puts_scopes") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let token = auth.token(peers::RESOURCE_JWT, "read write");
    // The AS sends `scope` as a string: read as an array, it grants nothing;
    // `roles` read as an array grants "reader" and "writer".
    let plugin = plugin(
        &auth,
        json!({ "scope_claims": [
            { "claim": "scope", "format": "array" },
            { "claim": "roles", "format": "array" }
        ] }),
        json!({ "rules": [
            { "path_prefix": "/by-role", "required": ["writer"] },
            { "path_prefix": "/by-scope", "required": ["read"] }
        ] }),
    );
    let proxies = Proxies::plain(&auth, &plugin);
    for (name, port) in proxies.each() {
        let r = get(port, "/by-role/x", &token, &[]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let r = get(port, "/by-scope/x", &token, &[]);
        assert_eq!(challenged_scope(name, "/by-scope/x", &r), "read", "{name}");
    }
}
