//! The filter's JWT resource server end to end through `oauth-host`, with an
//! in-process JWKS server and tokens signed by an independent library
//! (jsonwebtoken on ring).

use std::time::Duration;

use oauth_tests::host::{within, Conn, Echo, Host, TempDir};
use oauth_tests::jwks_server::{JwksServer, Mode};
use oauth_tests::jwt::{access_claims, jwks, SigningKey};
use serde_json::{json, Value};

/// Host config: 2 workers, the filter in front of `echo`, cluster `jwks` to
/// the key server.
fn host_yaml(module: &str, echo: &Echo, keys: &JwksServer, filter: &Value) -> String {
    format!(
        "workers: 2\nadmin: {{address: 127.0.0.1:0}}\nlisteners: [{{address: 127.0.0.1:0}}]\n\
         routes: [{{cluster: backend}}]\n\
         clusters:\n  - {{name: backend, address: '{}', connect_timeout: 1s, request_timeout: 5s}}\n  \
         - {{name: jwks, address: 'http://{}', connect_timeout: 1s, request_timeout: 5s}}\n\
         filters:\n  - name: oauth\n    module: '{module}'\n    vm_id: oauth\n    configuration: '{}'\n",
        echo.url(),
        keys.addr,
        filter.to_string().replace('\'', "''"),
    )
}

fn filter_config(keys: &JwksServer, source: Value) -> Value {
    json!({
        "realm": "test",
        "require_https": false, "providers": [{
            "name": "local",
            "issuer": keys.issuer(),
            "audiences": ["api"],
            "algorithms": ["RS256", "ES256"],
            "jwks": source,
        }],
        "scopes": {
            "required": ["read"],
            "rules": [{ "methods": ["POST"], "path_prefix": "/orders", "required": ["write"] }]
        },
        "upstream": {
            "claim_headers": [
                { "claim": "sub", "header": "x-auth-sub" },
                { "claim": "scope", "header": "x-auth-scope" },
                { "claim": "roles", "header": "x-auth-roles" },
                { "claim": "level", "header": "x-auth-level" }
            ],
            "remove_authorization": true
        },
        "key_fetch": { "retry_interval_s": 1, "unknown_kid_refetch_interval_s": 1, "initial_wait_ms": 3000 },
        "tick_ms": 50
    })
}

fn remote(keys: &JwksServer) -> Value {
    json!({ "remote": { "uri": format!("{}/jwks.json", keys.issuer()), "cluster": "jwks" } })
}

struct Setup {
    _dir: TempDir,
    _echo: Echo,
    keys: JwksServer,
    host: Host,
    rsa: SigningKey,
}

async fn setup_with(source: fn(&JwksServer) -> Value, mode: Mode) -> Setup {
    let module = oauth_tests::wasm::module("oauth-filter");
    let rsa = SigningKey::rs256("rsa-1");
    let keys = JwksServer::start(jwks(&[&rsa]));
    keys.set_mode(mode);
    let echo = Echo::start("backend");
    let dir = TempDir::new("filter-jwt");
    let filter = filter_config(&keys, source(&keys));
    let yaml = host_yaml(&module.display().to_string(), &echo, &keys, &filter);
    let host = Host::start(&yaml, dir.path()).await;
    Setup {
        _dir: dir,
        _echo: echo,
        keys,
        host,
        rsa,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn token(s: &Setup, scope: &str) -> String {
    let mut claims = access_claims(&s.keys.issuer(), "api", "alice", scope, 300);
    claims["roles"] = json!(["admin", "ops"]);
    claims["level"] = json!(3);
    s.rsa.sign(&claims)
}

#[tokio::test]
async fn valid_token_reaches_upstream_with_claim_headers() {
    let s = setup_with(remote, Mode::Up).await;
    let t = token(&s, "read write");
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let auth = bearer(&t);
    let reply = within(conn.get(
        "/orders/1",
        &[("authorization", &auth), ("x-auth-sub", "mallory")],
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.upstream_header("x-auth-sub").as_deref(),
        Some("alice"),
        "spoofed header must be replaced"
    );
    assert_eq!(
        reply.upstream_header("x-auth-scope").as_deref(),
        Some("read write")
    );
    assert_eq!(
        reply.upstream_header("x-auth-roles").as_deref(),
        Some("admin,ops")
    );
    assert_eq!(reply.upstream_header("x-auth-level").as_deref(), Some("3"));
    assert_eq!(
        reply.upstream_header("authorization"),
        None,
        "remove_authorization"
    );

    // The same token again (cache path), and the scheme is case-insensitive.
    let auth = format!("bEaReR {t}");
    let reply = within(conn.get("/orders/2", &[("authorization", &auth)]))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    s.host.shutdown().await;
}

#[tokio::test]
async fn rejections_have_rfc6750_answers() {
    let s = setup_with(remote, Mode::Up).await;
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let iss = s.keys.issuer();

    // No token: 401 with a bare challenge.
    let reply = within(conn.get("/orders", &[])).await.unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"test\"")
    );

    // Another scheme counts as no token.
    let reply = within(conn.get("/orders", &[("authorization", "Basic YTpi")]))
        .await
        .unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"test\"")
    );

    let invalid = |reply: &oauth_tests::host::Reply, what: &str| {
        assert_eq!(reply.status, 401, "{what}: {}", reply.text());
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(
                "Bearer realm=\"test\", error=\"invalid_token\", error_description=\""
            ),
            "{what}: {challenge}"
        );
        assert_eq!(reply.json()["error"], "invalid_token", "{what}");
    };

    // Tampered payload (signature no longer matches).
    let good = token(&s, "read");
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let forged = access_claims(&iss, "api", "root", "read write admin", 300);
    parts[1] = base64_url(forged.to_string().as_bytes());
    let tampered = parts.join(".");
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&tampered))]))
        .await
        .unwrap();
    invalid(&reply, "tampered");

    // Expired beyond the clock skew.
    let mut claims = access_claims(&iss, "api", "alice", "read", 300);
    claims["exp"] = json!(oauth_tests::jwt::now() - 3600);
    let reply = within(conn.get(
        "/orders",
        &[("authorization", &bearer(&s.rsa.sign(&claims)))],
    ))
    .await
    .unwrap();
    invalid(&reply, "expired");

    // Wrong audience.
    let claims = access_claims(&iss, "other-api", "alice", "read", 300);
    let reply = within(conn.get(
        "/orders",
        &[("authorization", &bearer(&s.rsa.sign(&claims)))],
    ))
    .await
    .unwrap();
    invalid(&reply, "audience");

    // Untrusted issuer.
    let claims = access_claims("https://evil.example", "api", "alice", "read", 300);
    let reply = within(conn.get(
        "/orders",
        &[("authorization", &bearer(&s.rsa.sign(&claims)))],
    ))
    .await
    .unwrap();
    invalid(&reply, "issuer");

    // alg: none.
    let header = base64_url(br#"{"alg":"none","typ":"at+jwt"}"#);
    let payload = base64_url(
        access_claims(&iss, "api", "alice", "read", 300)
            .to_string()
            .as_bytes(),
    );
    let none = format!("{header}.{payload}.");
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&none))]))
        .await
        .unwrap();
    invalid(&reply, "alg none");

    // Garbage.
    let reply = within(conn.get("/orders", &[("authorization", "Bearer not.a.jwt")]))
        .await
        .unwrap();
    invalid(&reply, "garbage");

    // Too large: refused before parsing.
    let huge = "a".repeat(9000);
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&huge))]))
        .await
        .unwrap();
    invalid(&reply, "too large");

    // Missing scope for the route: 403 naming what is required.
    let read_only = token(&s, "read");
    let reply = within(conn.send(
        "POST",
        "/orders",
        &[("authorization", &bearer(&read_only))],
        Default::default(),
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 403, "{}", reply.text());
    let challenge = reply
        .header("www-authenticate")
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with(
            "Bearer realm=\"test\", error=\"insufficient_scope\", scope=\"read write\""
        ),
        "{challenge}"
    );
    assert_eq!(reply.json()["error"], "insufficient_scope");

    // Two Authorization headers: 400.
    let reply = within(conn.get(
        "/orders",
        &[
            ("authorization", &bearer(&good)),
            ("authorization", &bearer(&good)),
        ],
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 400, "{}", reply.text());
    let challenge = reply
        .header("www-authenticate")
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"test\", error=\"invalid_request\""),
        "{challenge}"
    );

    // The upstream never saw any of them.
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&good))]))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    s.host.shutdown().await;
}

#[tokio::test]
async fn rotated_key_is_fetched_on_unknown_kid_and_jwks_fetched_once_across_workers() {
    let s = setup_with(remote, Mode::Up).await;
    // Several connections: the host spreads them over its 2 workers.
    for _ in 0..6 {
        let mut conn = Conn::http1(s.host.listener(0)).await;
        let reply = within(conn.get("/orders", &[("authorization", &bearer(&token(&s, "read")))]))
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    assert_eq!(s.keys.jwks_hits(), 1, "one JWKS fetch serves every worker");

    // The AS rotates: a new key appears at the JWKS endpoint.
    let rotated = SigningKey::es256("ec-2");
    s.keys.set_jwks(jwks(&[&s.rsa, &rotated]));
    let claims = access_claims(&s.keys.issuer(), "api", "bob", "read", 300);
    let fresh = rotated.sign(&claims);
    // Unknown-kid refetches are rate-limited (`unknown_kid_refetch_interval_s`
    // = 1 here); the window opens within the hold budget, so the request is
    // held until the refetch rather than refused.
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&fresh))]))
        .await
        .unwrap();
    assert_eq!(
        reply.status,
        200,
        "new kid accepted without restart: {}",
        reply.text()
    );
    assert_eq!(reply.upstream_header("x-auth-sub").as_deref(), Some("bob"));
    assert!(s.keys.jwks_hits() >= 2, "refetched on unknown kid");
    s.host.shutdown().await;
}

#[tokio::test]
async fn key_server_down_at_start_gives_503_then_recovers() {
    let s = setup_with(remote, Mode::Failing).await;
    let t = token(&s, "read");
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&t))]))
        .await
        .unwrap();
    assert_eq!(
        reply.status,
        503,
        "no usable key is 503, not 401: {}",
        reply.text()
    );
    assert_eq!(reply.header("www-authenticate"), None);

    s.keys.set_mode(Mode::Up);
    let mut last = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reply = within(conn.get("/orders", &[("authorization", &bearer(&t))]))
            .await
            .unwrap();
        last = reply.status.as_u16();
        if last == 200 {
            break;
        }
    }
    assert_eq!(last, 200, "recovered after the key server came back");
    s.host.shutdown().await;
}

#[tokio::test]
async fn oidc_discovery_finds_the_key_set() {
    fn discovery(_: &JwksServer) -> Value {
        json!({ "discovery": { "cluster": "jwks" } })
    }
    let s = setup_with(discovery, Mode::Up).await;
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let reply = within(conn.get("/orders", &[("authorization", &bearer(&token(&s, "read")))]))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(s.keys.discovery_hits() >= 1);
    assert!(s.keys.jwks_hits() >= 1);
    s.host.shutdown().await;
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
