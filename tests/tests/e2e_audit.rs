//! Audit events through both proxies: one JSON event per decision with the
//! transaction id (`x-request-id`), the tracking ids, the principal, the
//! decision and, for forwarded requests, the upstream's status and the
//! latency — never the token. Envoy's events are read from its log,
//! oauth-host's (in-process) from a tracing subscriber of this test.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oauth_tests::host::Echo;
use oauth_tests::peers::{self, AuthServer, AuthServerOptions, Envoy};
use oauth_tests::two_proxies::HostProxy;
use serde_json::{json, Value};

/// Everything oauth-host logs in this process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// The audit events (JSON) in a log that name `transaction_id`.
fn events(log: &str, transaction_id: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| l.split_once("oauth-filter audit ").map(|(_, j)| j))
        // The JSON object first; a log format may append fields after it.
        .filter_map(|j| {
            serde_json::Deserializer::from_str(j)
                .into_iter::<Value>()
                .next()
                .and_then(Result::ok)
        })
        .filter(|v| v["transactionId"] == transaction_id)
        .collect()
}

/// Reads one proxy's log so far.
type LogFn<'a> = Box<dyn Fn() -> String + 'a>;

fn wait_for_event(what: &str, log: impl Fn() -> String, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(e) = events(&log(), id).pop() {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no audit event for {id} in:\n{}",
            log()
                .chars()
                .rev()
                .take(3000)
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn audit_events_name_the_transaction_and_the_upstream_status() {
    if !peers::e2e_enabled("audit_events_name_the_transaction_and_the_upstream_status") {
        return;
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let _ = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init();
    let auth = AuthServer::start(AuthServerOptions::default());
    let plugin = json!({
        "require_https": false,
        "providers": [{
            "name": "as", "issuer": auth.issuer(), "audiences": [peers::RESOURCE_JWT],
            "jwks": { "discovery": { "cluster": "auth_server" } }
        }],
        "audit": { "tracking_claims": ["client_id"] }
    });
    let module = oauth_tests::wasm::module("oauth-filter");
    let upstream = Echo::start("upstream");
    let port = upstream.addr.port();
    let config = peers::envoy_config("jwt.yaml", &module, &plugin, port, auth.port());
    let envoy = Envoy::start(&config, peers::next_base_id());
    let host = HostProxy::start(&module, &plugin, port, auth.port());
    let token = auth.token(peers::RESOURCE_JWT, "read");
    let bearer = format!("Bearer {token}");
    let logs: [(&str, u16, LogFn); 2] = [
        ("envoy", envoy.listener_port(), Box::new(|| envoy.log())),
        ("oauth-host", host.port(), Box::new(|| captured.text())),
    ];
    for (name, port, log) in logs.iter() {
        // Forwarded; the echo upstream answers 401 for `?reject=invalid_token`.
        let id = format!("{name}-forwarded");
        let r = peers::http_request(
            *port,
            "GET",
            "/orders/1?reject=invalid_token",
            &[("authorization", &bearer), ("x-request-id", &id)],
            b"",
        )
        .expect("request");
        assert_eq!(r.status, 401, "{name}: the upstream's own 401");
        let e = wait_for_event(name, log, &id);
        assert_eq!(e["decision"], "allow", "{name}: {e}");
        assert_eq!(e["upstream_status"], 401, "{name}: {e}");
        assert_eq!(e["sub"], "gateway-client", "{name}: {e}");
        assert_eq!(e["trackingIds"][1], "gateway-client", "{name}: {e}");
        assert!(
            e["elapsed_ms"].is_u64() && e["timestamp"].is_string(),
            "{name}: {e}"
        );
        // Refused: written at once, no upstream status.
        let id = format!("{name}-refused");
        let r = peers::http_request(
            *port,
            "GET",
            "/orders/1",
            &[
                ("authorization", "Bearer not-a-token"),
                ("x-request-id", &id),
            ],
            b"",
        )
        .expect("request");
        assert_eq!(r.status, 401);
        let e = wait_for_event(name, log, &id);
        assert_eq!(
            (e["decision"].as_str(), e["status"].as_u64()),
            (Some("deny"), Some(401))
        );
        assert!(e.get("upstream_status").is_none(), "{name}: {e}");
        assert!(!log().contains(&token), "{name}: the token is in the log");
    }
}
