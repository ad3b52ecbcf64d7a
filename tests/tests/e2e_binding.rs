//! Sender-constrained and encrypted tokens through both proxies, against
//! the real oidc-provider: DPoP-bound tokens (RFC 9449) with proofs made by
//! node `jose` in the AS process, certificate-bound tokens (RFC 8705)
//! issued over the AS's mutual-TLS port and presented on TLS listeners
//! (the connection's certificate; Envoy's `x-forwarded-client-cert`; a
//! URL-encoded PEM header from a trusted proxy), `require_https`, and JWT
//! access tokens the AS encrypts to the resource server (JWE).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_tests::host::{ClientCert, Pki};
use oauth_tests::peers::{self, AuthServer, AuthServerOptions, HttpResponse};
use oauth_tests::two_proxies::Proxies;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The JWT provider of these tests, with `extra` merged into it.
fn plugin(auth: &AuthServer, require_https: bool, extra: Value) -> Value {
    let mut provider = json!({
        "name": "as",
        "issuer": auth.issuer(),
        "audiences": [peers::RESOURCE_JWT, peers::RESOURCE_JWT_ENCRYPTED],
        "jwks": { "discovery": { "cluster": "auth_server" } },
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        provider[k] = v.clone();
    }
    json!({
        "require_https": require_https,
        "providers": [provider],
        "scopes": { "required": ["read"] },
        "upstream": { "claim_headers": [{ "claim": "sub", "header": "x-auth-sub" }] },
        "tick_ms": 100
    })
}

fn get(port: u16, headers: &[(&str, &str)]) -> HttpResponse {
    peers::http_request(port, "GET", "/orders/1", headers, b"").expect("request")
}

fn get_tls(port: u16, pki: &Pki, cert: ClientCert, headers: &[(&str, &str)]) -> HttpResponse {
    peers::https_request(port, pki, cert, "GET", "/orders/1", headers, b"").expect("request")
}

fn assert_refused(name: &str, case: &str, r: &HttpResponse, challenge: &str) {
    assert_eq!(r.status, 401, "{name}: {case}: {}", r.text());
    let www = r.header("www-authenticate").unwrap_or_default();
    assert!(
        www.starts_with(challenge),
        "{name}: {case}: challenge {www:?} is not {challenge}…"
    );
}

/// A refused case: its name, its headers, the challenge it gets.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn dpop_bound_tokens_need_a_fresh_proof_of_the_bound_key() {
    if !peers::e2e_enabled("dpop_bound_tokens_need_a_fresh_proof_of_the_bound_key") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let plugin = plugin(
        &auth,
        false,
        json!({ "sender_constraint": { "required": true } }),
    );
    let proxies = Proxies::plain(&auth, &plugin);
    let token = auth.dpop_token(peers::RESOURCE_JWT, "read");
    let dpop_auth = format!("DPoP {token}");
    let ath = ath(&token);
    for (name, port) in proxies.each() {
        let htu = format!("http://127.0.0.1:{port}/orders/1");
        let proof = |htm: &str, htu: &str, key: &str, iat_offset: i64| -> String {
            auth.dpop_proof(htm, htu, Some(&ath), key, iat_offset)["proof"]
                .as_str()
                .expect("proof")
                .to_owned()
        };
        // A fresh proof of the bound key: accepted.
        let good = proof("GET", &htu, "a", 0);
        let r = get(port, &[("authorization", &dpop_auth), ("dpop", &good)]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(
            r.json()["headers"]["x-auth-sub"],
            "gateway-client",
            "{name}"
        );
        // The same proof again (any worker): a replay.
        let r = get(port, &[("authorization", &dpop_auth), ("dpop", &good)]);
        assert_refused(name, "replayed proof", &r, "DPoP algs=");
        assert!(
            r.text().contains("invalid_dpop_proof"),
            "{name}: {}",
            r.text()
        );
        // Every other way of presenting it is refused.
        let cases: Vec<Case> = vec![
            (
                "no proof",
                vec![("authorization", dpop_auth.clone())],
                "DPoP algs=",
            ),
            (
                "Bearer scheme",
                vec![
                    ("authorization", format!("Bearer {token}")),
                    ("dpop", proof("GET", &htu, "a", 0)),
                ],
                "DPoP algs=",
            ),
            (
                "proof of another key",
                vec![
                    ("authorization", dpop_auth.clone()),
                    ("dpop", proof("GET", &htu, "b", 0)),
                ],
                "DPoP algs=",
            ),
            (
                "wrong htm",
                vec![
                    ("authorization", dpop_auth.clone()),
                    ("dpop", proof("POST", &htu, "a", 0)),
                ],
                "DPoP algs=",
            ),
            (
                "wrong htu",
                vec![
                    ("authorization", dpop_auth.clone()),
                    ("dpop", proof("GET", "http://127.0.0.1:1/orders/1", "a", 0)),
                ],
                "DPoP algs=",
            ),
            (
                "stale iat",
                vec![
                    ("authorization", dpop_auth.clone()),
                    ("dpop", proof("GET", &htu, "a", -600)),
                ],
                "DPoP algs=",
            ),
        ];
        for (case, headers, challenge) in cases {
            let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_refused(name, case, &get(port, &hs), challenge);
        }
        // An unbound token where binding is required.
        let bearer = format!("Bearer {}", auth.token(peers::RESOURCE_JWT, "read"));
        let r = get(port, &[("authorization", &bearer)]);
        assert_refused(name, "unbound token", &r, "Bearer realm=");
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn certificate_bound_tokens_need_the_bound_client_certificate() {
    if !peers::e2e_enabled("certificate_bound_tokens_need_the_bound_client_certificate") {
        return;
    }
    let pki = Pki::new();
    let auth = AuthServer::start(AuthServerOptions {
        tls: Some((pki.path("server.pem").into(), pki.path("server.key").into())),
        ..AuthServerOptions::default()
    });
    let token = auth.mtls_token(&pki, peers::RESOURCE_JWT, "read");
    let bearer = format!("Bearer {token}");
    for from in ["connection", "xfcc"] {
        // require_https stays on (the default): these listeners are TLS.
        let plugin = plugin(
            &auth,
            true,
            json!({ "sender_constraint": { "required": true, "certificate": { "from": from } } }),
        );
        let proxies = Proxies::tls(&auth, &plugin, &pki);
        for (name, port) in proxies.each() {
            if from == "xfcc" && name == "oauth-host" {
                // oauth-host sets no x-forwarded-client-cert: the header mode
                // is the next test's.
                continue;
            }
            let name = format!("{name} ({from})");
            let r = get_tls(port, &pki, ClientCert::First, &[("authorization", &bearer)]);
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            assert_eq!(r.json()["headers"]["x-auth-sub"], "gateway-mtls", "{name}");
            let r = get_tls(port, &pki, ClientCert::Other, &[("authorization", &bearer)]);
            assert_refused(&name, "another certificate", &r, "Bearer realm=");
            let r = get_tls(port, &pki, ClientCert::None, &[("authorization", &bearer)]);
            assert_refused(&name, "no certificate", &r, "Bearer realm=");
            // A client cannot forge the header Envoy computes.
            let forged = format!("Hash={}", "00".repeat(32));
            let r = get_tls(
                port,
                &pki,
                ClientCert::Other,
                &[
                    ("authorization", &bearer),
                    ("x-forwarded-client-cert", &forged),
                ],
            );
            assert_refused(&name, "forged xfcc", &r, "Bearer realm=");
        }
    }
}

/// `%XX` for everything but unreserved characters.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn a_certificate_header_counts_only_from_a_trusted_proxy() {
    if !peers::e2e_enabled("a_certificate_header_counts_only_from_a_trusted_proxy") {
        return;
    }
    let pki = Pki::new();
    let auth = AuthServer::start(AuthServerOptions {
        tls: Some((pki.path("server.pem").into(), pki.path("server.key").into())),
        ..AuthServerOptions::default()
    });
    let token = auth.mtls_token(&pki, peers::RESOURCE_JWT, "read");
    let bearer = format!("Bearer {token}");
    let pem = std::fs::read_to_string(pki.path("client.pem")).expect("client.pem");
    let header = url_encode(&pem);
    for (trusted, expect) in [("127.0.0.1", 200), ("10.0.0.0/8", 401)] {
        let plugin = plugin(
            &auth,
            false,
            json!({ "sender_constraint": { "certificate": {
                "from": "header", "header": "x-client-cert", "trusted_proxies": [trusted]
            } } }),
        );
        let proxies = Proxies::plain(&auth, &plugin);
        for (name, port) in proxies.each() {
            let r = get(
                port,
                &[("authorization", &bearer), ("x-client-cert", &header)],
            );
            assert_eq!(r.status, expect, "{name}: trusted {trusted}: {}", r.text());
        }
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn require_https_refuses_plain_http_with_403() {
    if !peers::e2e_enabled("require_https_refuses_plain_http_with_403") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let token = auth.token(peers::RESOURCE_JWT, "read");
    let bearer = format!("Bearer {token}");
    let proxies = Proxies::plain(&auth, &plugin(&auth, true, json!({})));
    for (name, port) in proxies.each() {
        let r = get(port, &[("authorization", &bearer)]);
        assert_eq!(r.status, 403, "{name}: {}", r.text());
        assert!(r.text().contains("https_required"), "{name}: {}", r.text());
        // A client cannot claim TLS: x-forwarded-proto is not believed
        // unless trust_forwarded_proto is set.
        let r = get(
            port,
            &[("authorization", &bearer), ("x-forwarded-proto", "https")],
        );
        assert_eq!(r.status, 403, "{name}: {}", r.text());
    }
    let pki = Pki::new();
    let proxies = Proxies::tls(&auth, &plugin(&auth, true, json!({})), &pki);
    for (name, port) in proxies.each() {
        let r = get_tls(port, &pki, ClientCert::None, &[("authorization", &bearer)]);
        assert_eq!(r.status, 200, "{name} over TLS: {}", r.text());
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn encrypted_jwt_access_tokens_are_decrypted_then_verified() {
    if !peers::e2e_enabled("encrypted_jwt_access_tokens_are_decrypted_then_verified") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    // The resource server's private key, as a secret (inline here; an
    // environment variable or a VM-configuration secret in production).
    let key = auth.rs_decryption_key().to_string();
    let plugin = plugin(
        &auth,
        false,
        json!({ "decryption": {
            "keys": [key],
            "algorithms": ["RSA-OAEP-256"],
            "encryptions": ["A256GCM"]
        } }),
    );
    let proxies = Proxies::plain(&auth, &plugin);
    let token = auth.token(peers::RESOURCE_JWT_ENCRYPTED, "read");
    assert_eq!(token.matches('.').count(), 4, "not a compact JWE: {token}");
    // The ciphertext's first character changed: the tag no longer matches.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let first = parts[3].remove(0);
    parts[3].insert(0, if first == 'A' { 'B' } else { 'A' });
    let tampered = parts.join(".");
    for (name, port) in proxies.each() {
        for _ in 0..2 {
            // Twice: decrypted and verified, then from the token cache.
            let r = get(port, &[("authorization", &format!("Bearer {token}"))]);
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            assert_eq!(
                r.json()["headers"]["x-auth-sub"],
                "gateway-client",
                "{name}"
            );
        }
        let r = get(port, &[("authorization", &format!("Bearer {tampered}"))]);
        assert_refused(name, "tampered JWE", &r, "Bearer realm=");
        // A plain JWS of the same issuer still works beside it.
        let plain = auth.token(peers::RESOURCE_JWT, "read");
        let r = get(port, &[("authorization", &format!("Bearer {plain}"))]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn key_store_pem_keys_verify_tokens() {
    if !peers::e2e_enabled("key_store_pem_keys_verify_tokens") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    // The AS's keys as a key store would hold them: PEM, no kid.
    let pem = auth.public_keys_pem();
    assert_eq!(pem.matches("BEGIN PUBLIC KEY").count(), 2, "{pem}");
    let plugin = plugin(&auth, false, json!({ "jwks": { "pem": { "keys": pem } } }));
    let proxies = Proxies::plain(&auth, &plugin);
    for resource in [peers::RESOURCE_JWT, peers::RESOURCE_JWT_RS256] {
        let token = auth.token(resource, "read");
        for (name, port) in proxies.each() {
            let r = get(port, &[("authorization", &format!("Bearer {token}"))]);
            // RESOURCE_JWT_RS256 is not an accepted audience here: the
            // signature (RS256 key from the PEM) passes, the audience not.
            let want = if resource == peers::RESOURCE_JWT {
                200
            } else {
                401
            };
            assert_eq!(r.status, want, "{name}: {resource}: {}", r.text());
            if want == 401 {
                assert!(r.text().contains("audience"), "{name}: {}", r.text());
            }
        }
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn dpop_bound_opaque_tokens_are_checked_from_the_introspection_answer() {
    if !peers::e2e_enabled("dpop_bound_opaque_tokens_are_checked_from_the_introspection_answer") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let plugin = plugin(
        &auth,
        false,
        json!({
            "audiences": [peers::RESOURCE_OPAQUE],
            "resolver": "introspection",
            "jwks": null,
            "introspection": {
                "uri": auth.url("/token/introspection"),
                "cluster": "auth_server",
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": peers::RS_CLIENT_ID,
                    "client_secret": peers::RS_CLIENT_SECRET
                }
            }
        }),
    );
    let proxies = Proxies::plain(&auth, &plugin);
    let token = auth.dpop_token(peers::RESOURCE_OPAQUE, "read");
    assert_eq!(token.matches('.').count(), 0, "not opaque: {token}");
    // The AS's own answer carries the binding.
    assert!(auth.introspect(&token)["cnf"]["jkt"].is_string());
    let ath = ath(&token);
    for (name, port) in proxies.each() {
        let htu = format!("http://127.0.0.1:{port}/orders/1");
        let proof = auth.dpop_proof("GET", &htu, Some(&ath), "a", 0)["proof"]
            .as_str()
            .expect("proof")
            .to_owned();
        let dpop_auth = format!("DPoP {token}");
        let r = get(port, &[("authorization", &dpop_auth), ("dpop", &proof)]);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        // Bearer, or the replayed proof: refused (the answer is cached, the
        // binding is checked on every request).
        let bearer = format!("Bearer {token}");
        let r = get(port, &[("authorization", &bearer)]);
        assert_refused(name, "Bearer scheme", &r, "DPoP algs=");
        let r = get(port, &[("authorization", &dpop_auth), ("dpop", &proof)]);
        assert_refused(name, "replayed proof", &r, "DPoP algs=");
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn dpop_server_nonces_are_issued_and_required() {
    if !peers::e2e_enabled("dpop_server_nonces_are_issued_and_required") {
        return;
    }
    let auth = AuthServer::start(AuthServerOptions::default());
    let plugin = plugin(
        &auth,
        false,
        json!({ "sender_constraint": { "dpop": { "nonce": {
            "secret": "0123456789abcdef0123456789abcdef-test-only",
            "lifetime_s": 60
        } } } }),
    );
    let proxies = Proxies::plain(&auth, &plugin);
    let token = auth.dpop_token(peers::RESOURCE_JWT, "read");
    let dpop_auth = format!("DPoP {token}");
    let ath = ath(&token);
    let mut issued = Vec::new();
    for (name, port) in proxies.each() {
        let htu = format!("http://127.0.0.1:{port}/orders/1");
        let proof = |nonce: Option<&str>| {
            auth.dpop_proof_with_nonce("GET", &htu, Some(&ath), "a", 0, nonce)["proof"]
                .as_str()
                .expect("proof")
                .to_owned()
        };
        // Without a nonce: 401 use_dpop_nonce and a nonce to retry with.
        let r = get(
            port,
            &[("authorization", &dpop_auth), ("dpop", &proof(None))],
        );
        assert_refused(name, "no nonce", &r, "DPoP algs=");
        assert!(r.text().contains("use_dpop_nonce"), "{name}: {}", r.text());
        let nonce = r.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
        let r = get(
            port,
            &[
                ("authorization", &dpop_auth),
                ("dpop", &proof(Some("made-up"))),
            ],
        );
        assert_refused(name, "made-up nonce", &r, "DPoP algs=");
        let r = get(
            port,
            &[
                ("authorization", &dpop_auth),
                ("dpop", &proof(Some(&nonce))),
            ],
        );
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        issued.push(nonce);
    }
    // Stateless: a nonce Envoy issued passes at oauth-host (same key; the
    // previous period's nonce passes too, so no boundary flake).
    let port = proxies.host.port();
    let htu = format!("http://127.0.0.1:{port}/orders/1");
    let proof = auth.dpop_proof_with_nonce("GET", &htu, Some(&ath), "a", 0, Some(&issued[0]));
    let proof = proof["proof"].as_str().expect("proof");
    let r = get(port, &[("authorization", &dpop_auth), ("dpop", proof)]);
    assert_eq!(r.status, 200, "Envoy's nonce at oauth-host: {}", r.text());
}
