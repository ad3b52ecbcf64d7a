//! The gateway's own client authentication methods against the real
//! oidc-provider, through both proxies: `client_secret_jwt` (an HS256
//! assertion) and `tls_client_auth` (RFC 8705 §2.1: the proxy cluster
//! presents a client certificate to the AS's mutual-TLS port); and a
//! discovery document must name the configured issuer.

use oauth_tests::host::Pki;
use oauth_tests::peers::{self, AuthServer, AuthServerOptions};
use oauth_tests::two_proxies::Proxies;
use serde_json::{json, Value};

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn client_secret_jwt_and_tls_client_auth_get_the_gateway_its_tokens() {
    if !peers::e2e_enabled("client_secret_jwt_and_tls_client_auth_get_the_gateway_its_tokens") {
        return;
    }
    let pki = Pki::new();
    let auth = AuthServer::start(AuthServerOptions {
        tls: Some((pki.path("server.pem").into(), pki.path("server.key").into())),
        tls_ca: Some(pki.path("ca.pem").into()),
        ..AuthServerOptions::default()
    });
    let source = |name: &str, endpoint: Value, client_auth: Value| {
        json!({
            "name": name,
            "grant": {"type": "client_credentials", "scopes": ["read"],
                      "resource": [peers::RESOURCE_JWT]},
            "token_endpoint": endpoint,
            "client_auth": client_auth,
        })
    };
    let plugin = json!({
        "require_https": false,
        "providers": [{
            "name": "as", "issuer": auth.issuer(), "audiences": [peers::RESOURCE_JWT],
            "jwks": {"discovery": {"cluster": "auth_server"}}
        }],
        "client": {
            "sources": [
                source("jwt",
                       json!({"uri": auth.url("/token"), "cluster": "auth_server"}),
                       json!({"method": "client_secret_jwt", "client_id": "gateway-jwt",
                              "client_secret": "gateway-jwt-secret-0123456789abcdef0123456789"})),
                source("tls",
                       json!({"uri": format!("https://localhost:{}/token", auth.tls_port()),
                              "cluster": "auth_server_tls"}),
                       json!({"method": "tls_client_auth", "client_id": "gateway-tls"})),
                {
                    "name": "foreign-discovery",
                    "grant": {"type": "client_credentials", "resource": [peers::RESOURCE_JWT]},
                    // The AS's document names its own issuer, not this one.
                    "discovery": {"issuer": "https://not-the-as.example",
                                  "uri": auth.url("/.well-known/openid-configuration"),
                                  "cluster": "auth_server"},
                    "client_auth": {"method": "client_secret_basic",
                                    "client_id": peers::CLIENT_ID,
                                    "client_secret": peers::CLIENT_SECRET},
                },
            ],
            "rules": [
                {"path_prefix": "/tls", "source": "tls"},
                {"path_prefix": "/foreign", "source": "foreign-discovery"},
            ],
            "default_source": "jwt",
        },
        "tick_ms": 50
    });
    let proxies = Proxies::plain_with_tls_cluster(&auth, &plugin, &pki);
    let caller = auth.token(peers::RESOURCE_JWT, "read");
    let bearer = format!("Bearer {caller}");
    for (name, port) in proxies.each() {
        for path in ["/orders/1", "/tls/orders/1"] {
            let r = peers::http_request(port, "GET", path, &[("authorization", &bearer)], b"")
                .expect("request");
            assert_eq!(r.status, 200, "{name} {path}: {}", r.text());
            let sent = r.json()["headers"]["authorization"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                sent.starts_with("Bearer ") && sent != bearer,
                "{name} {path}: {sent}"
            );
        }
        let r = peers::http_request(
            port,
            "GET",
            "/foreign/x",
            &[("authorization", &bearer)],
            b"",
        )
        .expect("request");
        assert_eq!(
            r.status,
            502,
            "{name}: a foreign issuer's document: {}",
            r.text()
        );
    }
    let counts = auth
        .request("GET", "/_test/token-requests", &[], b"")
        .json();
    for client in ["gateway-jwt", "gateway-tls"] {
        let n = counts[format!("{client} client_credentials")]
            .as_u64()
            .unwrap_or(0);
        assert!(n >= 1, "{client}: no token request at the AS: {counts}");
    }
}
