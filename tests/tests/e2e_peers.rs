//! Smoke tests of the real peers and their harness (`oauth_tests::peers`):
//! the oidc-provider authorization server issues, introspects, revokes and
//! rotates; Envoy 1.40 validates and runs a proxy-wasm module in front of an
//! upstream. `#[ignore]`d for a plain `cargo test`; `cargo xtask test` runs it (`--include-ignored`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use oauth_tests::peers::{self, AuthServer, AuthServerOptions, Envoy};
use serde_json::json;

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn authorization_server_issues_introspects_revokes_and_rotates() {
    if !peers::e2e_enabled("authorization_server_issues_introspects_revokes_and_rotates") {
        return;
    }
    let mut auth = AuthServer::start(AuthServerOptions::default());

    let discovery = auth
        .request("GET", "/.well-known/openid-configuration", &[], b"")
        .json();
    assert_eq!(discovery["issuer"], auth.issuer());
    assert_eq!(discovery["jwks_uri"], auth.url("/jwks"));
    assert_eq!(
        discovery["introspection_endpoint"],
        auth.url("/token/introspection")
    );

    // JWT access tokens (RFC 9068) for the JWT resources, one per algorithm.
    for (resource, alg, kid) in [
        (peers::RESOURCE_JWT, "ES256", &auth.kids()[0]),
        (peers::RESOURCE_JWT_RS256, "RS256", &auth.kids()[1]),
    ] {
        let token = auth.token(resource, "read write");
        let header = peers::jwt_header(&token);
        assert_eq!(
            (header["typ"].as_str(), header["alg"].as_str()),
            (Some("at+jwt"), Some(alg))
        );
        assert_eq!(header["kid"].as_str(), Some(kid.as_str()));
        let claims = peers::jwt_payload(&token);
        assert_eq!(claims["iss"], auth.issuer());
        assert_eq!(claims["aud"], resource);
        assert_eq!(claims["scope"], "read write");
        assert_eq!(claims["client_id"], peers::CLIENT_ID);
        assert_eq!(claims["sub"], peers::CLIENT_ID);
        assert_eq!(claims["roles"], json!(["reader", "writer"]));
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 300);
        // The AS publishes the key that signed it.
        let jwks = auth.jwks();
        assert!(jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"]));
    }
    // A scope the resource does not offer is dropped; short-TTL resource.
    let token = auth.token(peers::RESOURCE_JWT_SHORT, "read nonsense");
    let claims = peers::jwt_payload(&token);
    assert_eq!(claims["scope"], "read");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        2
    );
    // Unknown resource, wrong secret.
    let r = auth.token_response(
        peers::CLIENT_ID,
        peers::CLIENT_SECRET,
        "https://api.test/nope",
        "read",
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_target"))
    );
    let r = auth.token_response(peers::CLIENT_ID, "wrong", peers::RESOURCE_JWT, "read");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // Opaque tokens: introspected by the resource server, then revoked.
    let opaque = auth.token(peers::RESOURCE_OPAQUE, "read");
    assert_eq!(opaque.split('.').count(), 1, "opaque token is not a JWT");
    let info = auth.introspect(&opaque);
    assert_eq!(info["active"], true);
    assert_eq!(info["aud"], peers::RESOURCE_OPAQUE);
    assert_eq!(info["scope"], "read");
    assert_eq!(info["client_id"], peers::CLIENT_ID);
    assert_eq!(info["tenant"], "e2e");
    auth.revoke(&opaque);
    assert_eq!(auth.introspect(&opaque)["active"], false);

    // Rotation: same port and issuer, new kids, old keys gone.
    let port = auth.port();
    let old = auth.kids().to_vec();
    auth.restart_with_new_key();
    assert_eq!(auth.port(), port);
    let jwks = auth.jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        old.iter().all(|k| !kids.contains(&k.as_str())),
        "old kids {old:?} still in {kids:?}"
    );
    let token = auth.token(peers::RESOURCE_JWT, "read");
    assert_eq!(
        peers::jwt_header(&token)["kid"].as_str(),
        Some(auth.kids()[0].as_str())
    );

    // A restart without rotation keeps the keys.
    let kids_before = auth.kids().to_vec();
    auth.restart();
    assert_eq!(auth.kids(), kids_before.as_slice());

    // Stopped: the port refuses connections.
    auth.stop();
    assert!(!auth.is_running());
    assert!(peers::http_request(port, "GET", "/jwks", &[], b"").is_err());
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn envoy_validates_configs_by_loading_the_module() {
    if !peers::e2e_enabled("envoy_validates_configs_by_loading_the_module") {
        return;
    }
    let module = oauth_tests::wasm::module("abi-test-module");
    let good = peers::envoy_config("jwt.yaml", &module, &json!({}), 1, 2);
    peers::envoy_validate(&good)
        .unwrap_or_else(|e| panic!("envoy/jwt.yaml does not validate: {e}"));
    // Validation runs on_configure: a configuration the module refuses fails.
    let refused = peers::envoy_config("jwt.yaml", &module, &json!({"fail_configure": true}), 1, 2);
    let err = peers::envoy_validate(&refused).expect_err("module refused its configuration");
    assert!(err.contains("oauth"), "{err}");
}

/// A minimal HTTP/1.1 upstream on its own thread: answers every request 200
/// with the request head as the body. Stops on drop.
struct HeadEcho {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl HeadEcho {
    fn start() -> HeadEcho {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    loop {
                        let mut head = String::new();
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            head.push_str(&line);
                        }
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{head}",
                            head.len()
                        );
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        HeadEcho { port, stop }
    }
}

impl Drop for HeadEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn envoy_runs_a_wasm_module_in_front_of_an_upstream() {
    if !peers::e2e_enabled("envoy_runs_a_wasm_module_in_front_of_an_upstream") {
        return;
    }
    let module = oauth_tests::wasm::module("abi-test-module");
    let upstream = HeadEcho::start();
    let auth = AuthServer::start(AuthServerOptions::default());
    let config = peers::envoy_config("jwt.yaml", &module, &json!({}), upstream.port, auth.port());
    let envoy = Envoy::start(&config, peers::next_base_id());

    let response = envoy.request("GET", "/hello?x=1", &[("x-client", "smoke")], b"");
    assert_eq!(response.status, 200, "{}", response.text());
    let seen = response.text().to_ascii_lowercase();
    assert!(seen.starts_with("get /hello?x=1 http/1.1"), "{seen}");
    assert!(seen.contains("x-client: smoke"), "{seen}");
    // The module ran on both directions of the stream.
    assert!(
        seen.contains("x-abi-test: seen"),
        "module did not edit the request: {seen}"
    );
    assert_eq!(response.header("x-abi-response"), Some("seen"));
    // A local reply from the module never reaches the upstream.
    let local = envoy.request("GET", "/local?status=418", &[], b"");
    assert_eq!((local.status, local.text().as_str()), (418, "local"));
    assert!(envoy.admin_get("/ready").text().contains("LIVE"));
    // Both requests are counted by the listener's connection manager
    // (`stat_prefix: api`), only the first reached the upstream cluster.
    assert_eq!(envoy.stat("http.api.downstream_rq_completed"), Some(2));
    assert_eq!(
        envoy.stat("cluster.upstream.upstream_rq_completed"),
        Some(1)
    );
    assert_eq!(envoy.stat("no.such.stat"), None);
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn every_envoy_config_validates_with_the_filter_and_its_plugin_config() {
    if !peers::e2e_enabled("every_envoy_config_validates_with_the_filter_and_its_plugin_config") {
        return;
    }
    let module = oauth_tests::wasm::module("oauth-filter");
    let pki = oauth_tests::host::Pki::new();
    let dir = oauth_tests::wasm::workspace_root().join("envoy");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("envoy/ exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") && !n.starts_with("istio-"))
        .collect();
    names.sort();
    assert!(names.contains(&"jwt.yaml".to_string()), "{names:?}");
    for name in &names {
        let stem = name.trim_end_matches(".yaml");
        let plugin_path = dir.join(format!("{stem}.json"));
        let plugin = std::fs::read_to_string(&plugin_path).unwrap_or_else(|e| {
            panic!(
                "{name} needs its plugin configuration {}: {e}",
                plugin_path.display()
            )
        });
        let plugin: serde_json::Value =
            serde_json::from_str(&peers::render(&plugin, &[("AS_PORT", "9000")]))
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", plugin_path.display()));
        let config = peers::envoy_config(name, &module, &plugin, 8080, 9000);
        let config = peers::with_tls(&config, &pki);
        peers::envoy_validate(&config)
            .unwrap_or_else(|e| panic!("envoy/{name} with {stem}.json: {e}"));
    }
}
