//! The filter's client role (the gateway's own token for the upstream) end
//! to end through `oauth-host` (2 workers) against an in-process token
//! endpoint that counts token requests and checks client authentication.

use std::time::Duration;

use oauth_tests::host::{within, Conn, Echo, Host, TempDir};
use oauth_tests::token_server::{TokenServer, USER};
use serde_json::{json, Value};

const CLIENT_ID: &str = "gateway";
const CLIENT_SECRET: &str = "s3cret:&+ gw";

fn host_yaml(
    module: &str,
    echo: &Echo,
    server: &TokenServer,
    filter: &Value,
    env: &str,
    vm: &Value,
) -> String {
    format!(
        "workers: 2\nadmin: {{address: 127.0.0.1:0}}\nlisteners: [{{address: 127.0.0.1:0}}]\n\
         routes: [{{cluster: backend}}]\n\
         clusters:\n  - {{name: backend, address: '{}', connect_timeout: 1s, request_timeout: 5s}}\n  \
         - {{name: as, address: 'http://{}', connect_timeout: 1s, request_timeout: 10s}}\n\
         filters:\n  - name: oauth\n    module: '{module}'\n    vm_id: oauth\n    configuration: '{}'\n    \
         environment: {{{env}}}\n    vm_configuration: '{}'\n",
        echo.url(),
        server.addr,
        filter.to_string().replace('\'', "''"),
        vm.to_string().replace('\'', "''"),
    )
}

fn client_credentials(server: &TokenServer, margin_s: u64) -> Value {
    json!({
        "client": {
            "sources": [{
                "name": "backend",
                "grant": {"type": "client_credentials", "scopes": ["read"]},
                "token_endpoint": {"uri": server.uri(), "cluster": "as"},
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
                "renew_margin_s": margin_s,
                "timeout_ms": 2000,
            }],
            "default_source": "backend",
        },
        "tick_ms": 50,
    })
}

struct Setup {
    _dir: TempDir,
    _echo: Echo,
    server: TokenServer,
    host: Host,
}

async fn setup_with(filter: impl FnOnce(&TokenServer) -> Value, env: &str, vm: &Value) -> Setup {
    let module = oauth_tests::wasm::module("oauth-filter");
    let server = TokenServer::start(CLIENT_ID, CLIENT_SECRET);
    let echo = Echo::start("backend");
    let dir = TempDir::new("filter-client");
    let f = filter(&server);
    let yaml = host_yaml(&module.display().to_string(), &echo, &server, &f, env, vm);
    let host = Host::start(&yaml, dir.path()).await;
    Setup {
        _dir: dir,
        _echo: echo,
        server,
        host,
    }
}

async fn setup(margin_s: u64) -> Setup {
    setup_with(|s| client_credentials(s, margin_s), "", &json!({})).await
}

/// `n` requests over `conns` connections at once (spread over the
/// workers); (status, Authorization the upstream saw) of each.
async fn burst(s: &Setup, conns: usize, n: usize) -> Vec<(u16, Option<String>)> {
    let addr = s.host.listener(0);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::http1(addr).await;
            let mut out = Vec::new();
            for _ in 0..n / conns {
                let r = within(conn.get("/api", &[("authorization", "Bearer client-own")]))
                    .await
                    .unwrap();
                let seen = (r.status == 200)
                    .then(|| r.upstream_header("authorization"))
                    .flatten();
                out.push((r.status.as_u16(), seen));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test]
async fn five_hundred_requests_on_two_workers_make_one_token_request() {
    let s = setup(30).await;
    let replies = burst(&s, 20, 500).await;
    assert_eq!(replies.len(), 500);
    let issued = s.server.issued();
    assert_eq!(issued.len(), 1, "one token for the whole process");
    let want = format!("Bearer {}", issued[0]);
    for (status, seen) in &replies {
        assert_eq!(*status, 200);
        assert_eq!(
            seen.as_deref(),
            Some(want.as_str()),
            "the upstream sees the gateway's token, not the client's"
        );
    }
    assert_eq!(s.server.requests(), 1, "token requests seen by the AS");
    assert_eq!(s.server.bad_auth(), 0, "client_secret_basic accepted");
    println!(
        "oauth-host: 500 requests on 2 workers -> {} token request(s)",
        s.server.requests()
    );
    s.host.shutdown().await;
}

#[tokio::test]
async fn renewal_makes_one_more_token_request_before_expiry() {
    let s = setup(4).await;
    // Tokens live 8 s; renewal is due 4 s before expiry (and the renewed
    // token's own renewal 4 s after it: slack for a loaded machine).
    s.server.set_expires_in(8);
    let first = burst(&s, 4, 40).await;
    assert!(first.iter().all(|(st, _)| *st == 200));
    assert_eq!(s.server.requests(), 1);
    tokio::time::sleep(Duration::from_millis(4300)).await;
    // Inside the margin: the old token still serves while one renewal runs
    // (started from the root context at the next tick).
    let during = burst(&s, 10, 50).await;
    assert!(during.iter().all(|(st, _)| *st == 200), "{during:?}");
    // Wait for the renewal to land, then every request uses the new token.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = burst(&s, 10, 50).await;
    let issued = s.server.issued();
    assert_eq!(s.server.requests(), 2, "exactly one renewal");
    let want = format!("Bearer {}", issued[1]);
    assert!(after
        .iter()
        .all(|(st, seen)| *st == 200 && seen.as_deref() == Some(want.as_str())));
    s.host.shutdown().await;
}

#[tokio::test]
async fn refused_client_gets_502_naming_the_error_never_the_secret() {
    let s = setup(30).await;
    s.server.refuse_clients(true);
    let mut conn = Conn::http1(s.host.listener(0)).await;
    for _ in 0..3 {
        let r = within(conn.get("/api", &[])).await.unwrap();
        assert_eq!(r.status, 502);
        let b = r.json();
        assert_eq!(b["error"], "upstream_token_unavailable");
        assert_eq!(b["token_error"], "invalid_client");
        assert_eq!(b["token_source"], "backend");
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .contains("invalid_client"),
            "{b}"
        );
        assert!(!r.text().contains("s3cret"));
    }
    // One attempt, then the failure is remembered (retry_after_failure_s).
    assert_eq!(s.server.requests(), 1);
    s.host.shutdown().await;
}

#[tokio::test]
async fn upstream_invalid_token_makes_the_next_request_use_a_fresh_token() {
    let s = setup(30).await;
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let r = within(conn.get("/api", &[])).await.unwrap();
    assert_eq!(r.status, 200);
    let t1 = r.upstream_header("authorization").unwrap();
    let r = within(conn.get("/api?reject=invalid_token", &[]))
        .await
        .unwrap();
    assert_eq!(r.status, 401, "the upstream's answer goes to the client");
    // The next request (on the other worker too) gets a new token.
    let mut other = Conn::http1(s.host.listener(0)).await;
    let r = within(other.get("/api", &[])).await.unwrap();
    assert_eq!(r.status, 200);
    let t2 = r.upstream_header("authorization").unwrap();
    assert_ne!(t1, t2);
    assert_eq!(t2, format!("Bearer {}", s.server.issued()[1]));
    assert_eq!(s.server.requests(), 2);
    let r = within(conn.get("/api", &[])).await.unwrap();
    assert_eq!(r.upstream_header("authorization").unwrap(), t2);
    assert_eq!(s.server.requests(), 2);
    s.host.shutdown().await;
}

#[tokio::test]
async fn password_grant_from_discovery_with_secrets_from_environment_and_vm_configuration() {
    let filter = |server: &TokenServer| {
        json!({
            "client": {
                "sources": [{
                    "name": "legacy",
                    "grant": {"type": "password", "username": USER.0,
                              "password": {"env": "LEGACY_PASSWORD"}},
                    "discovery": {"issuer": server.issuer(), "cluster": "as"},
                    "client_auth": {
                        "method": "client_secret_post",
                        "client_id": CLIENT_ID,
                        "client_secret": {"vm_config": "gw_client_secret"},
                    },
                    "renew_margin_s": 3,
                    "timeout_ms": 2000,
                }],
                "rules": [{"path_prefix": "/public", "source": null}],
                "default_source": "legacy",
                "header": "x-gateway-authorization",
            },
            "tick_ms": 50,
        })
    };
    // The password from the environment, the client secret from the VM
    // configuration.
    let env = format!("LEGACY_PASSWORD: '{}'", USER.1);
    let vm = json!({"secrets": {"gw_client_secret": CLIENT_SECRET}});
    let s = setup_with(filter, &env, &vm).await;
    s.server.set_expires_in(6);
    let mut conn = Conn::http1(s.host.listener(0)).await;
    let r = within(conn.get("/api", &[("authorization", "Bearer client-own")]))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let issued = s.server.issued();
    assert_eq!(
        r.upstream_header("x-gateway-authorization").as_deref(),
        Some(format!("Bearer {}", issued[0]).as_str())
    );
    assert_eq!(
        r.upstream_header("authorization").as_deref(),
        Some("Bearer client-own"),
        "the client's own token is kept"
    );
    assert_eq!(s.server.requests_for("password"), 1);
    // No token on routes without a source.
    let r = within(conn.get("/public/x", &[])).await.unwrap();
    assert_eq!(r.upstream_header("x-gateway-authorization"), None);
    // Within the margin the refresh token renews it.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let _ = within(conn.get("/api", &[])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = within(conn.get("/api", &[])).await.unwrap();
    assert_eq!(s.server.requests_for("refresh_token"), 1);
    assert_eq!(s.server.requests_for("password"), 1);
    let issued = s.server.issued();
    assert_eq!(
        r.upstream_header("x-gateway-authorization").as_deref(),
        Some(format!("Bearer {}", issued[1]).as_str())
    );
    assert_eq!(
        s.server.bad_auth(),
        0,
        "client_secret_post from the VM configuration"
    );
    s.host.shutdown().await;
}
