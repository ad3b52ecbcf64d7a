//! Failure responses per error class and RFC 9728 protected-resource
//! metadata through both proxies, against the real authorization server.

use oauth_tests::peers::{self, AuthServer, AuthServerOptions};
use oauth_tests::two_proxies::Proxies;
use serde_json::{json, Value};

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn failure_responses_and_resource_metadata() {
    if !peers::e2e_enabled("failure_responses_and_resource_metadata") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let plugin = json!({
        "require_https": false,
        "realm": "orders",
        "providers": [{
            "name": "as", "issuer": auth.issuer(), "audiences": [peers::RESOURCE_JWT],
            "jwks": { "discovery": { "cluster": "auth_server" } },
            // Opaque tokens go to an introspection endpoint that is not
            // there: the `unavailable` class (503).
            "resolver": "jwt_or_introspection",
            "introspection": {
                "uri": auth.url("/no-such-introspection"),
                "cluster": "auth_server",
                "client_auth": { "method": "client_secret_basic",
                                 "client_id": peers::RS_CLIENT_ID,
                                 "client_secret": peers::RS_CLIENT_SECRET }
            }
        }],
        // The gateway's own token for /grant, with a wrong secret: the
        // `client_grant_failure` class (502).
        "client": {
            "sources": [{
                "name": "refused",
                "grant": { "type": "client_credentials", "resource": [peers::RESOURCE_JWT] },
                "token_endpoint": { "uri": auth.url("/token"), "cluster": "auth_server" },
                "client_auth": { "method": "client_secret_basic",
                                 "client_id": peers::CLIENT_ID,
                                 "client_secret": "not-the-secret" }
            }],
            "rules": [{ "path_prefix": "/grant", "source": "refused" }]
        },
        "scopes": { "rules": [{ "path_prefix": "/admin", "required": ["admin"] }] },
        "failure_responses": {
            "no_token": { "redirect": "https://portal.example/login?realm={realm}" },
            "invalid_token": { "content_type": "text/html; charset=utf-8",
                               "headers": { "x-denied-by": "gateway" },
                               "body": "<p>{error}</p>" },
            "insufficient_scope": { "body": "{\"needs\":\"{scope}\"}" },
            "unavailable": { "status": 503, "body": "{\"try_again\":true}",
                             "headers": { "x-class": "unavailable" } },
            "client_grant_failure": { "status": 503, "headers": { "x-class": "grant" } }
        },
        "resource_metadata": { "resource": "https://api.example/orders",
                               "scopes_supported": ["read", "admin"] }
    });
    let proxies = Proxies::plain(&auth, &plugin);
    let token = auth.token(peers::RESOURCE_JWT, "read");
    let bearer = format!("Bearer {token}");
    let metadata_url = "https://api.example/.well-known/oauth-protected-resource/orders";
    for (name, port) in proxies.each() {
        let get = |path: &str, headers: &[(&str, &str)]| {
            peers::http_request(port, "GET", path, headers, b"").expect("request")
        };
        // No token: the redirect, the challenge kept and naming the metadata.
        let r = get("/orders/1", &[]);
        assert_eq!(r.status, 302, "{name}: {}", r.text());
        assert_eq!(
            r.header("location"),
            Some("https://portal.example/login?realm=orders"),
            "{name}"
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some(format!("Bearer realm=\"orders\", resource_metadata=\"{metadata_url}\"").as_str()),
            "{name}"
        );
        // Invalid token: the HTML body and the extra header.
        // (A JWS of the AS with a broken signature: opaque tokens go to
        // introspection here.)
        let forged = format!("Bearer {}AAAA", &token[..token.len() - 4]);
        let r = get("/orders/1", &[("authorization", &forged)]);
        assert_eq!(r.status, 401, "{name}");
        assert_eq!(r.text(), "<p>invalid_token</p>", "{name}");
        assert_eq!(r.header("x-denied-by"), Some("gateway"), "{name}");
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{name}"
        );
        // Missing scope: the JSON template.
        let r = get("/admin/x", &[("authorization", &bearer)]);
        assert_eq!(r.status, 403, "{name}");
        assert_eq!(r.json(), json!({"needs": "admin"}), "{name}");
        // The metadata document, public.
        let r = get("/.well-known/oauth-protected-resource/orders", &[]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        let doc: Value = r.json();
        assert_eq!(doc["resource"], "https://api.example/orders", "{name}");
        assert_eq!(
            doc["authorization_servers"],
            json!([auth.issuer()]),
            "{name}"
        );
        assert_eq!(doc["scopes_supported"], json!(["read", "admin"]), "{name}");
        // The authorization server cannot answer an introspection.
        let r = get("/orders/1", &[("authorization", "Bearer opaque-token-123")]);
        assert_eq!(r.status, 503, "{name}: {}", r.text());
        assert_eq!(r.json(), json!({"try_again": true}), "{name}");
        assert_eq!(r.header("x-class"), Some("unavailable"), "{name}");
        assert_eq!(r.header("retry-after"), Some("5"), "{name}");
        // The gateway's own token is refused: its class, status replaced,
        // the default body kept.
        let r = get("/grant/x", &[("authorization", &bearer)]);
        assert_eq!(r.status, 503, "{name}: {}", r.text());
        assert_eq!(r.header("x-class"), Some("grant"), "{name}");
        assert_eq!(r.json()["token_source"], "refused", "{name}");
        // Allowed requests are untouched.
        let r = get("/orders/1", &[("authorization", &bearer)]);
        assert_eq!(r.status, 200, "{name}");
    }
}
