//! `oauth-host` with the ABI test module over real sockets: header edits,
//! local replies, callouts, body buffering, shared data across workers,
//! ticks, queues, metrics on `/metrics`, properties over TCP and mTLS,
//! crash containment, and HTTP/2 (h2c and ALPN) through the chain.
//!
//! Every host runs 2 workers; the acceptor hands connections out
//! round-robin, so a server's first connection lands on worker 0 and its
//! second on worker 1.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use oauth_host::config::Config;
use oauth_host::server::Server;
use oauth_tests::host::{closed_port, get, within, Alpn, Conn, Echo, Host, Pki, Reply, TempDir};
use sha2::{Digest, Sha256};

fn module() -> PathBuf {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE
        .get_or_init(|| oauth_tests::wasm::module("abi-test-module"))
        .clone()
}

/// A two-worker host with the ABI module in front of `upstream` (cluster
/// `upstream`, also the default callout cluster). `clusters` adds cluster
/// entries, `plugin` adds keys to the plugin entry, `listener` replaces the
/// listener entry.
struct Setup<'a> {
    upstream: &'a str,
    clusters: &'a str,
    plugin: &'a str,
    listener: &'a str,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Self {
            upstream: "",
            clusters: "",
            plugin: "",
            listener: "{address: 127.0.0.1:0}",
        }
    }
}

impl Setup<'_> {
    fn yaml(&self) -> String {
        format!(
            "workers: 2
admin: {{address: 127.0.0.1:0}}
listeners:
  - {listener}
routes:
  - {{cluster: upstream}}
clusters:
  - {{name: upstream, address: '{upstream}', request_timeout: 3s}}
{clusters}
filters:
  - name: abi
    module: '{module}'
    root_id: abi_root
    vm_id: abi_vm
    configuration: {{mode: test}}
    vm_configuration: vm-config
    limits: {{callback_cpu: 200ms, max_memory: 32MiB}}
{plugin}
",
            listener = self.listener,
            upstream = self.upstream,
            clusters = self.clusters,
            module = module().display(),
            plugin = self.plugin,
        )
    }

    async fn start(&self, dir: &TempDir) -> Host {
        Host::start(&self.yaml(), dir.path()).await
    }
}

fn instance(reply: &Reply) -> String {
    reply
        .header("x-abi-vm-instance")
        .expect("x-abi-vm-instance")
        .to_string()
}

async fn metrics_text(host: &Host) -> String {
    let reply = get(host.admin(), "/metrics").await;
    assert_eq!(reply.status, 200);
    reply.text()
}

/// The value of the sample line `name` (exact series, e.g. `abi_gauge` or
/// `x{plugin="abi"}`) in Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[tokio::test]
async fn header_edits_visible_both_ways_over_http1_h2c_and_tls_h2() {
    let echo = Echo::start("backend");
    let pki = Pki::new();
    let listener = format!(
        "{{address: 127.0.0.1:0, tls: {{certificate: '{}', private_key: '{}'}}}}",
        pki.path("server.pem"),
        pki.path("server.key")
    );
    let dir = TempDir::new("abi-headers");
    let plain = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let tls = Setup {
        upstream: &echo.url(),
        listener: &listener,
        ..Default::default()
    }
    .start(&dir)
    .await;

    let mut conns = vec![
        ("http1", Conn::http1(plain.listener(0)).await),
        ("h2c", Conn::h2c(plain.listener(0)).await),
        (
            "tls-h2",
            within(Conn::tls(tls.listener(0), &pki, Alpn::H2, false))
                .await
                .unwrap(),
        ),
        (
            "tls-http1",
            within(Conn::tls(tls.listener(0), &pki, Alpn::Http1, false))
                .await
                .unwrap(),
        ),
    ];
    for (name, conn) in &mut conns {
        let reply = within(conn.get("/echo", &[])).await.unwrap();
        assert_eq!(reply.status, 200, "{name}");
        assert_eq!(
            reply.upstream_header("x-abi-test").as_deref(),
            Some("seen"),
            "{name}"
        );
        assert_eq!(reply.header("x-abi-response"), Some("seen"), "{name}");
        assert_eq!(reply.header("x-echo-name"), Some("backend"), "{name}");
        let expected = if name.contains("h2") {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        assert_eq!(reply.version, expected, "{name}");

        let local = within(conn.get("/local?status=418", &[])).await.unwrap();
        assert_eq!(local.status, 418, "{name}");
        assert_eq!(local.header("x-local"), Some("1"), "{name}");
        assert_eq!(
            local.header("x-echo-name"),
            None,
            "{name}: local reply reached upstream"
        );
        assert_eq!(local.text(), "local", "{name}");
    }
    drop(conns);
    plain.shutdown().await;
    tls.shutdown().await;
}

#[tokio::test]
async fn callout_pauses_and_resumes_the_request() {
    let echo = Echo::start("backend");
    // Accepts connections and never answers: callouts to it time out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let clusters = format!(
        "  - {{name: silent, address: 'http://{}'}}\n  - {{name: down, address: 'http://127.0.0.1:{}', connect_timeout: 200ms}}\n",
        silent.local_addr().unwrap(),
        closed_port()
    );
    let dir = TempDir::new("abi-callout");
    let host = Setup {
        upstream: &echo.url(),
        clusters: &clusters,
        ..Default::default()
    }
    .start(&dir)
    .await;
    let mut conn = Conn::http1(host.listener(0)).await;

    let reply = within(conn.get("/callout", &[])).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.upstream_header("x-callout-status").as_deref(),
        Some("200")
    );
    assert_eq!(
        reply.upstream_header("x-callout-body").as_deref(),
        Some("callout-ok")
    );
    assert_eq!(reply.json()["path"], "/callout");

    let reply = within(conn.get("/callout", &[("x-callout-cluster", "nope")]))
        .await
        .unwrap();
    assert_eq!(reply.status, 502);
    assert_eq!(reply.text(), "dispatch failed: BadArgument");

    for (cluster, timeout) in [("silent", "300"), ("down", "2000")] {
        let started = std::time::Instant::now();
        let reply = within(conn.get(
            "/callout",
            &[
                ("x-callout-cluster", cluster),
                ("x-callout-timeout-ms", timeout),
            ],
        ))
        .await
        .unwrap();
        assert_eq!(reply.status, 200, "{cluster}");
        assert_eq!(
            reply.upstream_header("x-callout-status").as_deref(),
            Some("failed"),
            "{cluster}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{cluster}: {:?}",
            started.elapsed()
        );
    }
    drop(silent);
    host.shutdown().await;
}

#[tokio::test]
async fn body_buffering_rewrites_both_bodies() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-body");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    for mut conn in [
        Conn::http1(host.listener(0)).await,
        Conn::h2c(host.listener(0)).await,
    ] {
        let reply = within(conn.send("POST", "/body", &[], Bytes::from_static(b"hello body")))
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        let text = reply.text();
        let length: usize = text
            .strip_prefix("filtered:")
            .unwrap_or_else(|| panic!("response body not replaced: {text}"))
            .parse()
            .expect("length");
        // The upstream answered with JSON that contains the upper-cased body.
        assert!(length > "{\"body\":\"HELLO BODY\"}".len(), "{text}");
        if let Some(length) = reply.header("content-length") {
            assert_eq!(length, text.len().to_string(), "stale content-length");
        }
    }
    host.shutdown().await;
}

#[tokio::test]
async fn request_body_upper_cased_upstream() {
    // /body replaces the response body, so the upstream's view is taken
    // from a raw upstream that records what it read.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<String>();
    let upstream = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&data).contains("HELLO") {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
        }
        let _ = seen_tx.send(String::from_utf8_lossy(&data).into_owned());
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await;
    });
    let dir = TempDir::new("abi-body-up");
    let host = Setup {
        upstream: &format!("http://{addr}"),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let reply = within(Conn::http1(host.listener(0)).await.send(
        "POST",
        "/body",
        &[],
        Bytes::from_static(b"hello"),
    ))
    .await
    .unwrap();
    assert_eq!(reply.text(), "filtered:2");
    let seen = within(seen_rx).await.unwrap();
    assert!(seen.ends_with("HELLO"), "{seen}");
    assert!(!seen.contains("hello"), "{seen}");
    upstream.abort();
    host.shutdown().await;
}

#[tokio::test]
async fn shared_data_across_two_workers() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-shared");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let mut first = Conn::http1(host.listener(0)).await;
    let mut second = Conn::http1(host.listener(0)).await;

    let set = within(first.get("/shared/set?key=k1&value=v1", &[]))
        .await
        .unwrap();
    assert_eq!((set.status.as_u16(), set.text().as_str()), (200, "ok"));
    let read = within(second.get("/shared/get?key=k1", &[])).await.unwrap();
    assert_ne!(
        instance(&set),
        instance(&read),
        "both connections on one worker"
    );
    assert_eq!(read.status, 200);
    let text = read.text();
    let (value, cas) = text.split_once(' ').expect("value and cas");
    assert_eq!(value, "v1");
    let cas: u32 = cas.parse().unwrap();
    assert_ne!(cas, 0);

    let stale = within(second.get(
        &format!("/shared/set?key=k1&value=v2&cas={}", cas + 1000),
        &[],
    ))
    .await
    .unwrap();
    assert_eq!(
        (stale.status.as_u16(), stale.text().as_str()),
        (409, "cas_mismatch")
    );
    let fresh = within(second.get(&format!("/shared/set?key=k1&value=v2&cas={cas}"), &[]))
        .await
        .unwrap();
    assert_eq!(fresh.status, 200);
    let read = within(first.get("/shared/get?key=k1", &[])).await.unwrap();
    assert!(read.text().starts_with("v2 "), "{}", read.text());
    let missing = within(first.get("/shared/get?key=nope", &[]))
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    host.shutdown().await;
}

#[tokio::test]
async fn ticks_run_on_every_worker() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-ticks");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        let reply = get(host.listener(0), "/ticks").await;
        let ticks: u64 = reply.text().parse().expect("tick count");
        // 50 ms period for 400 ms: allow for a slow machine, not for no ticks.
        assert!(ticks >= 2, "only {ticks} ticks");
        seen.push(instance(&reply));
    }
    assert_ne!(seen[0], seen[1], "both requests on one worker");
    host.shutdown().await;
}

#[tokio::test]
async fn module_and_host_metrics_on_admin_endpoint() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-metrics");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    assert_eq!(get(host.listener(0), "/echo").await.status, 200);
    let reply = get(host.listener(0), "/metrics-test").await;
    assert_eq!(reply.status, 200);
    let counted: u64 = reply.text().parse().expect("counter value from get_metric");
    assert!(counted >= 2, "{counted}");
    let queued = get(host.listener(0), "/queue/push?value=a").await;
    assert_eq!(queued.text(), "queued");

    let mut text = String::new();
    for _ in 0..50 {
        text = metrics_text(&host).await;
        if sample(&text, "abi_queue_items_total").unwrap_or(0.0) >= 1.0
            && sample(&text, "abi_test_streams_logged_total").unwrap_or(0.0) >= 3.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sample(&text, "abi_gauge"), Some(42.0), "{text}");
    assert_eq!(sample(&text, "abi_histogram_count"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "abi_histogram_sum"), Some(7.0), "{text}");
    assert!(
        sample(&text, "abi_test_requests_total").unwrap_or(0.0) >= 3.0,
        "{text}"
    );
    assert_eq!(sample(&text, "abi_queue_items_total"), Some(1.0), "{text}");
    // on_log ran for every finished stream (the scrape itself is not one).
    assert_eq!(
        sample(&text, "abi_test_streams_logged_total"),
        Some(3.0),
        "{text}"
    );
    assert!(
        sample(&text, "oauth_host_requests_total{code_class=\"2xx\"}").unwrap_or(0.0) >= 3.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "oauth_host_wasm_crashes_total{plugin=\"abi\"}"),
        Some(0.0),
        "{text}"
    );
    host.shutdown().await;
}

fn props(reply: &Reply) -> serde_json::Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn properties_over_plain_tcp() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-props");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let mut conn = Conn::http1(host.listener(0)).await;
    let p = props(
        &within(conn.get(
            "/props?a=1&b=two",
            &[("x-request-id", "rid-1"), ("x-extra", "e")],
        ))
        .await
        .unwrap(),
    );
    let listener = host.listener(0);
    assert_eq!(p["request.path"], "/props?a=1&b=two");
    assert_eq!(p["request.url_path"], "/props");
    assert_eq!(p["request.query"], "a=1&b=two");
    assert_eq!(p["request.host"], listener.to_string());
    assert_eq!(p["request.scheme"], "http");
    assert_eq!(p["request.method"], "GET");
    assert_eq!(p["request.id"], "rid-1");
    assert_eq!(p["request.protocol"], "HTTP/1.1");
    assert_eq!(p["request.headers"]["x-extra"], "e");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let time = p["request.time"].as_u64().expect("request.time");
    assert!(
        now.abs_diff(time) < 60_000_000_000,
        "request.time {time} vs now {now}"
    );
    assert_eq!(
        p["destination.port"].as_u64(),
        Some(u64::from(listener.port()))
    );
    // Envoy's source.address is `ip:port`; the port is also on its own.
    let client = conn.local;
    assert_eq!(p["source.port"].as_u64(), Some(u64::from(client.port())));
    let source = p["source.address"].as_str().expect("source.address");
    assert!(
        source == client.to_string() || source == client.ip().to_string(),
        "source.address {source} vs client {client}"
    );
    let destination = p["destination.address"]
        .as_str()
        .expect("destination.address");
    assert!(
        destination == listener.to_string() || destination == listener.ip().to_string(),
        "destination.address {destination} vs listener {listener}"
    );
    assert!(p["connection.id"].as_u64().is_some(), "{p}");
    assert_eq!(p["connection.mtls"], false);
    for absent in [
        "connection.tls_version",
        "connection.sha256_peer_certificate_digest",
        "connection.subject_peer_certificate",
    ] {
        assert!(
            p.get(absent).is_none(),
            "{absent} present over plain TCP: {p}"
        );
    }
    assert_eq!(p["plugin_name"], "abi");
    assert_eq!(p["plugin_root_id"], "abi_root");
    assert_eq!(p["plugin_vm_id"], "abi_vm");
    assert_eq!(p["abi.custom"], "v");

    let mut h2 = Conn::h2c(host.listener(0)).await;
    let p = props(&within(h2.get("/props", &[])).await.unwrap());
    assert_eq!(p["request.protocol"], "HTTP/2");
    assert_eq!(p["request.host"], listener.to_string());
    host.shutdown().await;
}

#[tokio::test]
async fn properties_over_mtls() {
    let echo = Echo::start("backend");
    let pki = Pki::new();
    let listener = format!(
        "{{address: 127.0.0.1:0, tls: {{certificate: '{}', private_key: '{}', client_certificate: required, client_ca: '{}'}}}}",
        pki.path("server.pem"),
        pki.path("server.key"),
        pki.path("ca.pem"),
    );
    let host = Setup {
        upstream: &echo.url(),
        listener: &listener,
        ..Default::default()
    }
    .start(&pki.dir)
    .await;
    for alpn in [Alpn::H2, Alpn::Http1] {
        let mut conn = within(Conn::tls(host.listener(0), &pki, alpn, true))
            .await
            .unwrap();
        let p = props(&within(conn.get("/props", &[])).await.unwrap());
        assert_eq!(p["connection.mtls"], true, "{p}");
        assert_eq!(p["connection.tls_version"], "TLSv1.3");
        assert_eq!(p["connection.requested_server_name"], "localhost");
        assert_eq!(p["request.scheme"], "https");
        let digest: String = Sha256::digest(pki.client_der.as_ref())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            p["connection.sha256_peer_certificate_digest"],
            digest.as_str()
        );
        assert_eq!(p["connection.subject_peer_certificate"], pki.client_subject);
        assert_eq!(p["connection.uri_san_peer_certificate"], pki.client_uri_san);
        assert_eq!(p["connection.dns_san_peer_certificate"], "client.test");
    }
    host.shutdown().await;
}

#[tokio::test]
async fn trap_answers_500_and_the_worker_recovers() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-trap");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let mut conn = Conn::http1(host.listener(0)).await;
    let before = within(conn.get("/echo", &[])).await.unwrap();
    let trapped = within(conn.get("/trap", &[])).await.unwrap();
    assert_eq!(trapped.status, 500);
    assert_eq!(
        trapped.header("x-echo-name"),
        None,
        "trapped request reached upstream"
    );
    // Same connection, so same worker: a fresh instance serves it.
    let after = within(conn.get("/echo", &[])).await.unwrap();
    assert_eq!(after.status, 200);
    assert_eq!(after.upstream_header("x-abi-test").as_deref(), Some("seen"));
    assert_ne!(instance(&before), instance(&after), "instance not replaced");
    let text = metrics_text(&host).await;
    assert_eq!(
        sample(&text, "oauth_host_wasm_crashes_total{plugin=\"abi\"}"),
        Some(1.0),
        "{text}"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn loop_is_stopped_by_the_cpu_limit() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-loop");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let mut conn = Conn::http1(host.listener(0)).await;
    let started = std::time::Instant::now();
    let looped = within(conn.get("/loop", &[])).await.unwrap();
    assert_eq!(looped.status, 500);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let after = within(conn.get("/echo", &[])).await.unwrap();
    assert_eq!(after.status, 200);
    host.shutdown().await;
}

#[tokio::test]
async fn fail_open_forwards_unfiltered_after_a_crash() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-fail-open");
    let host = Setup {
        upstream: &echo.url(),
        plugin: "    danger_fail_open: true",
        ..Default::default()
    }
    .start(&dir)
    .await;
    let reply = within(async { get(host.listener(0), "/trap").await }).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-echo-name"), Some("backend"));
    host.shutdown().await;
}

#[tokio::test]
async fn failing_configure_refuses_to_start() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-fail-configure");
    let yaml = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .yaml()
    .replace(
        "configuration: {mode: test}",
        "configuration: {fail_configure: true}",
    );
    let config = Config::parse(&yaml, dir.path()).unwrap();
    match Server::start(config).await {
        Ok(_) => panic!("host started with a plugin that failed on_configure"),
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("abi"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}

#[tokio::test]
async fn log_level_and_foreign_functions() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-log");
    let host = Setup {
        upstream: &echo.url(),
        plugin: "    log_level: warn",
        ..Default::default()
    }
    .start(&dir)
    .await;
    assert_eq!(get(host.listener(0), "/log").await.text(), "3");
    assert_eq!(
        get(host.listener(0), "/foreign?name=no_such_function")
            .await
            .text(),
        "NotFound"
    );
    host.shutdown().await;
}

#[tokio::test]
async fn large_bodies_stream_through_the_chain() {
    let echo = Echo::start("backend");
    let dir = TempDir::new("abi-large");
    let host = Setup {
        upstream: &echo.url(),
        ..Default::default()
    }
    .start(&dir)
    .await;
    let body: String = (0..2 * 1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for mut conn in [
        Conn::http1(host.listener(0)).await,
        Conn::h2c(host.listener(0)).await,
    ] {
        let reply = within(conn.send("PUT", "/stream", &[], Bytes::from(body.clone())))
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        assert!(
            reply.json()["body"] == body.as_str(),
            "body changed on the way"
        );
        let reply = within(conn.send("PUT", "/body", &[], Bytes::from(body.clone())))
            .await
            .unwrap();
        assert_eq!(reply.status, 200);
        let length: usize = reply
            .text()
            .strip_prefix("filtered:")
            .expect("replaced body")
            .parse()
            .unwrap();
        assert!(length > body.len(), "{length}");
    }
    host.shutdown().await;
}

#[tokio::test]
async fn check_instantiates_and_configures_the_module() {
    let dir = TempDir::new("abi-check");
    let good = Setup {
        upstream: "http://127.0.0.1:1",
        ..Default::default()
    }
    .yaml();
    let config = Config::parse(&good, dir.path()).unwrap();
    oauth_host::server::check(&config).expect("check of a good config");
    let bad = good.replace(
        "configuration: {mode: test}",
        "configuration: {fail_configure: true}",
    );
    let config = Config::parse(&bad, dir.path()).unwrap();
    let error = oauth_host::server::check(&config).expect_err("check passed a failing plugin");
    assert!(error.to_string().contains("`abi`"), "{error}");
    let not_wasm = dir.write("not.wasm", b"not a module");
    let broken = good.replace(
        &module().display().to_string(),
        &not_wasm.display().to_string(),
    );
    let config = Config::parse(&broken, dir.path()).unwrap();
    let error = oauth_host::server::check(&config).expect_err("check passed a broken module");
    assert!(error.to_string().contains("not.wasm"), "{error}");
}
