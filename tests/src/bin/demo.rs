//! `cargo xtask demo`: oauth-host with the filter in front of a bundled echo
//! upstream, with a freshly generated ES256 key (inline JWKS), so no other
//! service is needed. Prints two curl commands and serves until Ctrl-C.

use oauth_tests::host::{Echo, Host, TempDir};
use oauth_tests::jwt::{access_claims, jwks, SigningKey};
use serde_json::json;

#[tokio::main]
async fn main() {
    let module = oauth_tests::wasm::module("oauth-filter");
    let key = SigningKey::es256("demo-key-1");
    let issuer = "https://demo-issuer.example";
    let filter = json!({
        "realm": "demo",
        "require_https": false, "providers": [{
            "name": "demo",
            "issuer": issuer,
            "audiences": ["demo-api"],
            "algorithms": ["ES256"],
            "jwks": { "inline": jwks(&[&key]) },
            "require_at_jwt_typ": true
        }],
        "scopes": { "required": ["read"] },
        "upstream": {
            "claim_headers": [
                { "claim": "sub", "header": "x-auth-sub" },
                { "claim": "client_id", "header": "x-auth-client-id" },
                { "claim": "scope", "header": "x-auth-scope" },
                { "claim": "roles", "header": "x-auth-roles" }
            ],
            "remove_authorization": true
        }
    });
    let echo = Echo::start("echo");
    let dir = TempDir::new("demo");
    let port = std::net::TcpListener::bind("127.0.0.1:8080")
        .map(|l| l.local_addr().map(|a| a.port()).unwrap_or(0))
        .unwrap_or(0);
    let yaml = format!(
        "workers: 2\nadmin: {{address: 127.0.0.1:0}}\nlisteners: [{{address: 127.0.0.1:{port}}}]\n\
         routes: [{{cluster: echo}}]\n\
         clusters: [{{name: echo, address: '{}', connect_timeout: 1s, request_timeout: 5s}}]\n\
         filters:\n  - name: oauth\n    module: '{}'\n    vm_id: oauth\n    configuration: '{}'\n",
        echo.url(),
        module.display(),
        filter.to_string().replace('\'', "''"),
    );
    let host = Host::start(&yaml, dir.path()).await;
    let addr = host.listener(0);
    let mut claims = access_claims(issuer, "demo-api", "alice", "read write", 3600);
    claims["roles"] = json!(["admin", "ops"]);
    let token = key.sign(&claims);

    println!();
    println!(
        "oauth-host is serving on http://{addr} with the oauth filter (ES256, issuer {issuer})"
    );
    println!("in front of an echo upstream that answers with the request it saw; admin: http://{}/metrics", host.admin());
    println!();
    println!("# 1. a valid token (valid for 1 hour): 200, the upstream sees the claims as x-auth-* headers");
    println!("curl -i -H 'Authorization: Bearer {token}' http://{addr}/orders/42");
    println!();
    println!("# 2. no token: 401 with WWW-Authenticate");
    println!("curl -i http://{addr}/orders/42");
    println!();
    println!("Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    host.shutdown().await;
    drop(echo);
}
