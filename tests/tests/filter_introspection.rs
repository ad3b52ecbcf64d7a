//! The filter's introspection resolver (RFC 7662) end to end through
//! `oauth-host` (2 workers) against an in-process introspection endpoint
//! that counts calls and checks the gateway's client authentication.

use std::time::{Duration, Instant};

use oauth_tests::host::{within, Conn, Echo, Host, TempDir};
use oauth_tests::introspection_server::{IntrospectionServer, Mode};
use serde_json::{json, Value};

const CLIENT_ID: &str = "gateway";
const CLIENT_SECRET: &str = "s3cret:&+";
const TIMEOUT_MS: u64 = 500;

fn host_yaml(module: &str, echo: &Echo, server: &IntrospectionServer, filter: &Value) -> String {
    format!(
        "workers: 2\nadmin: {{address: 127.0.0.1:0}}\nlisteners: [{{address: 127.0.0.1:0}}]\n\
         routes: [{{cluster: backend}}]\n\
         clusters:\n  - {{name: backend, address: '{}', connect_timeout: 1s, request_timeout: 5s}}\n  \
         - {{name: as, address: 'http://{}', connect_timeout: 1s, request_timeout: 10s}}\n\
         filters:\n  - name: oauth\n    module: '{module}'\n    vm_id: oauth\n    configuration: '{}'\n",
        echo.url(),
        server.addr,
        filter.to_string().replace('\'', "''"),
    )
}

fn filter_config(server: &IntrospectionServer, max_ttl_s: u64) -> Value {
    json!({
        "realm": "test",
        "require_https": false, "providers": [{
            "name": "as",
            "issuer": "https://as.test",
            "audiences": ["api"],
            "resolver": "introspection",
            "introspection": {
                "uri": server.uri(),
                "cluster": "as",
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
                "timeout_ms": TIMEOUT_MS,
            },
        }],
        "scopes": { "required": ["read"] },
        "upstream": {
            "claim_headers": [{ "claim": "sub", "header": "x-auth-sub" }],
            "remove_authorization": true,
        },
        "introspection_cache": {
            "max_ttl_s": max_ttl_s,
            "default_ttl_s": max_ttl_s,
            "inactive_ttl_s": 1,
        },
        "tick_ms": 50,
    })
}

struct Setup {
    _dir: TempDir,
    _echo: Echo,
    server: IntrospectionServer,
    host: Host,
}

async fn setup(max_ttl_s: u64) -> Setup {
    let module = oauth_tests::wasm::module("oauth-filter");
    let server = IntrospectionServer::start(CLIENT_ID, CLIENT_SECRET);
    let echo = Echo::start("backend");
    let dir = TempDir::new("filter-introspection");
    let filter = filter_config(&server, max_ttl_s);
    let yaml = host_yaml(&module.display().to_string(), &echo, &server, &filter);
    let host = Host::start(&yaml, dir.path()).await;
    Setup {
        _dir: dir,
        _echo: echo,
        server,
        host,
    }
}

fn active(sub: &str) -> Value {
    json!({
        "active": true, "sub": sub, "aud": "api", "iss": "https://as.test",
        "scope": "read write", "client_id": "app", "exp": now_s() + 3600,
    })
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn status_of(conn: &mut Conn, token: &str) -> u16 {
    let auth = bearer(token);
    let reply = within(conn.get("/", &[("authorization", &auth)]))
        .await
        .unwrap();
    reply.status.as_u16()
}

/// The host's metrics (summed over workers): name → value.
async fn metrics(host: &Host) -> impl Fn(&str) -> f64 {
    // The filter hands its counters to the host on its tick (200 ms).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let text = oauth_tests::host::get(host.admin(), "/metrics")
        .await
        .text();
    move |name: &str| {
        text.lines()
            .filter(|l| l.split([' ', '{']).next() == Some(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

#[tokio::test]
async fn two_hundred_requests_on_two_workers_make_one_call() {
    let s = setup(300).await;
    s.server.set_token("opaque-token-1", active("alice"));
    // 20 connections, spread round-robin over the 2 workers, 10 requests
    // each, all at once.
    let addr = s.host.listener(0);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::http1(addr).await;
            let mut out = Vec::new();
            for _ in 0..10 {
                let auth = bearer("opaque-token-1");
                let r =
                    within(conn.get("/", &[("authorization", &auth), ("x-auth-sub", "mallory")]))
                        .await
                        .unwrap();
                out.push((r.status.as_u16(), r.upstream_header("x-auth-sub")));
            }
            out
        }));
    }
    let mut n = 0;
    for t in tasks {
        for (status, sub) in t.await.unwrap() {
            assert_eq!(status, 200);
            assert_eq!(
                sub.as_deref(),
                Some("alice"),
                "claim header from the answer, not the client"
            );
            n += 1;
        }
    }
    assert_eq!(n, 200);
    assert_eq!(s.server.bad_auth(), 0, "client_secret_basic accepted");
    assert_eq!(
        s.server.calls(),
        1,
        "one introspection call for the whole process"
    );
    let m = metrics(&s.host).await;
    assert_eq!(m("oauth_filter_introspection_calls"), 1.0);
    assert_eq!(m("oauth_filter_introspection_latency_ms_count"), 1.0);
    let (hits, misses) = (
        m("oauth_filter_introspection_cache_hits"),
        m("oauth_filter_introspection_cache_misses"),
    );
    assert_eq!(hits + misses, 200.0, "every request is a hit or a miss");
    assert!(hits >= 160.0, "hits {hits}, misses {misses}");
    s.host.shutdown().await;
}

#[tokio::test]
async fn revoked_token_stops_working_within_the_configured_maximum() {
    let max_ttl_s = 2;
    let s = setup(max_ttl_s).await;
    s.server.set_token("tok-revoke", active("bob"));
    let mut conn = Conn::http1(s.host.listener(0)).await;
    assert_eq!(status_of(&mut conn, "tok-revoke").await, 200);
    assert_eq!(status_of(&mut conn, "tok-revoke").await, 200);
    assert_eq!(s.server.calls(), 1);
    s.server.revoke("tok-revoke");
    let revoked_at = Instant::now();
    let mut last = 200;
    while revoked_at.elapsed() < Duration::from_secs(max_ttl_s + 3) {
        last = status_of(&mut conn, "tok-revoke").await;
        if last == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = revoked_at.elapsed();
    assert_eq!(last, 401, "revoked token refused");
    assert!(
        took <= Duration::from_millis(max_ttl_s * 1000 + 500),
        "refused {took:?} after revocation, max_ttl_s is {max_ttl_s}"
    );
    s.host.shutdown().await;
}

#[tokio::test]
async fn inactive_and_unknown_tokens_get_401() {
    let s = setup(300).await;
    s.server
        .set_token("tok-inactive", json!({ "active": false }));
    let mut conn = Conn::http1(s.host.listener(0)).await;
    for token in ["tok-inactive", "never-issued"] {
        let auth = bearer(token);
        let reply = within(conn.get("/", &[("authorization", &auth)]))
            .await
            .unwrap();
        assert_eq!(reply.status, 401, "{token}: {}", reply.text());
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"test\", error=\"invalid_token\", error_description=\"token is not active\"")
        );
        assert_eq!(reply.json()["error"], "invalid_token");
    }
    // A scope the answer lacks: 403.
    s.server.set_token(
        "tok-noscope",
        json!({ "active": true, "aud": "api", "scope": "other" }),
    );
    let reply = within(conn.get("/", &[("authorization", &bearer("tok-noscope"))]))
        .await
        .unwrap();
    assert_eq!(reply.status, 403, "{}", reply.text());
    s.host.shutdown().await;
}

#[tokio::test]
async fn server_down_gives_503_then_recovers() {
    let s = setup(300).await;
    s.server.set_token("tok-down", active("carol"));
    s.server.set_mode(Mode::Down);
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let reply = within(conn.get("/", &[("authorization", &bearer("tok-down"))]))
        .await
        .unwrap();
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(reply.header("www-authenticate"), None);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    s.server.set_mode(Mode::Up);
    assert_eq!(
        status_of(&mut conn, "tok-down").await,
        200,
        "a later request asks again"
    );
    s.host.shutdown().await;
}

#[tokio::test]
async fn slow_server_gives_503_after_about_the_timeout() {
    let s = setup(300).await;
    s.server.set_token("tok-slow", active("dave"));
    s.server.set_mode(Mode::Slow(Duration::from_secs(4)));
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let start = Instant::now();
    let status = status_of(&mut conn, "tok-slow").await;
    let took = start.elapsed();
    assert_eq!(status, 503);
    assert!(
        took >= Duration::from_millis(TIMEOUT_MS - 50)
            && took < Duration::from_millis(TIMEOUT_MS + 1000),
        "answered after {took:?}, timeout {TIMEOUT_MS} ms"
    );
    s.host.shutdown().await;
}

#[tokio::test]
async fn garbage_and_server_errors_give_503() {
    let s = setup(300).await;
    s.server.set_token("tok-g", active("erin"));
    let mut conn = Conn::http1(s.host.listener(0)).await;
    for mode in [Mode::Garbage, Mode::Failing] {
        s.server.set_mode(mode);
        let reply = within(conn.get("/", &[("authorization", &bearer("tok-g"))]))
            .await
            .unwrap();
        assert_eq!(reply.status, 503, "{mode:?}: {}", reply.text());
    }
    assert_eq!(s.server.calls_for("tok-g"), 2, "failures are not cached");
    let m = metrics(&s.host).await;
    assert_eq!(m("oauth_filter_introspection_errors_malformed"), 1.0);
    assert_eq!(m("oauth_filter_introspection_errors_status_5xx"), 1.0);
    s.host.shutdown().await;
}
