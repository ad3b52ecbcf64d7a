//! `oauth-host`'s listener and callout limits over real sockets: header read
//! timeout, header size and count (431), connection limit, idle timeout,
//! request body timeout (408), body held while a plugin holds the request
//! (413), oversize callout answers (the module sees a failed callout), the
//! HTTP/2 concurrent-stream limit, and config errors naming the field.
//! After each limit, a normal request on a new connection gets 200.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use oauth_host::config::Config;
use oauth_tests::host::{get, within, Conn, Echo, Host, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn module() -> PathBuf {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE
        .get_or_init(|| oauth_tests::wasm::module("abi-test-module"))
        .clone()
}

/// One worker, the ABI module in front of `upstream`, listener limits
/// `limits` (YAML flow mapping body), extra `clusters` entries.
fn config(upstream: &str, limits: &str, clusters: &str) -> String {
    format!(
        "workers: 1
admin: {{address: 127.0.0.1:0}}
listeners:
  - {{address: 127.0.0.1:0, limits: {{{limits}}}}}
routes:
  - {{cluster: upstream}}
clusters:
  - {{name: upstream, address: '{upstream}', request_timeout: 3s}}
{clusters}
filters:
  - name: abi
    module: '{module}'
    configuration: {{mode: test}}
",
        module = module().display(),
    )
}

async fn start(tag: &str, upstream: &str, limits: &str, clusters: &str) -> (Host, TempDir) {
    let dir = TempDir::new(tag);
    let host = Host::start(&config(upstream, limits, clusters), dir.path()).await;
    (host, dir)
}

/// A normal request on a new connection still gets its answer.
async fn probe(host: &Host) {
    let reply = within(get(host.listener(0), "/plain")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

/// An upstream that accepts connections and never answers; counts them.
async fn silent_upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, accepted)
}

/// An upstream answering every request 200 with a chunked body of `size`
/// bytes (no content-length).
async fn big_upstream(size: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 16 * 1024];
                let mut sent = 0;
                while sent < size {
                    let n = chunk.len().min(size - sent);
                    let frame = [format!("{n:x}\r\n").as_bytes(), &chunk[..n], b"\r\n"].concat();
                    if stream.write_all(&frame).await.is_err() {
                        return;
                    }
                    sent += n;
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    addr
}

/// Reads until the peer closes; the bytes read, or `None` if it stays open
/// for `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 8192];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(all)
}

fn status_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn slow_headers_are_closed_by_the_header_timeout() {
    let echo = Echo::start("backend");
    let (host, _dir) = start("lim-slow", &echo.url(), "header_read_timeout: 300ms", "").await;
    let started = Instant::now();
    let mut slow = TcpStream::connect(host.listener(0)).await.unwrap();
    slow.write_all(b"GET /plain HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n")
        .await
        .unwrap();
    // Meanwhile another client is served.
    probe(&host).await;
    let closed = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "slow client still connected");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    probe(&host).await;
    host.shutdown().await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_431() {
    let echo = Echo::start("backend");
    let (host, _dir) = start(
        "lim-431",
        &echo.url(),
        "max_headers: 20, max_header_bytes: 8KiB",
        "",
    )
    .await;
    let many: Vec<(String, String)> = (0..30).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = within(Conn::http1(host.listener(0)).await.get("/plain", &many)).await;
    assert_eq!(reply.map(|r| r.status.as_u16()), Ok(431));
    let big = "v".repeat(10 * 1024);
    let reply = within(
        Conn::http1(host.listener(0))
            .await
            .get("/plain", &[("x-big", &big)]),
    )
    .await;
    assert_eq!(reply.map(|r| r.status.as_u16()), Ok(431));
    // Under both limits: served.
    let reply = within(
        Conn::http1(host.listener(0))
            .await
            .get("/plain", &many[..10]),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200);
    probe(&host).await;
    host.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_and_counted() {
    let echo = Echo::start("backend");
    let (host, _dir) = start("lim-conns", &echo.url(), "max_connections: 2", "").await;
    let mut first = Conn::http1(host.listener(0)).await;
    assert_eq!(within(first.get("/plain", &[])).await.unwrap().status, 200);
    let mut second = Conn::http1(host.listener(0)).await;
    assert_eq!(within(second.get("/plain", &[])).await.unwrap().status, 200);
    let mut third = TcpStream::connect(host.listener(0)).await.unwrap();
    let _ = third
        .write_all(b"GET /plain HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("third connection not closed");
    assert!(answer.is_empty(), "{}", status_line(&answer));
    let metrics = get(host.admin(), "/metrics").await.text();
    assert!(
        metrics.contains(
            "oauth_host_downstream_connections_rejected_total{listener=\"listener_0\"} 1"
        ),
        "{metrics}"
    );
    // Once one closes, a new connection is served again.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut conn = Conn::http1(host.listener(0)).await;
        match conn.get("/plain", &[]).await {
            Ok(reply) if reply.status == 200 => break,
            other => assert!(Instant::now() < deadline, "never served again: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
    host.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let echo = Echo::start("backend");
    let (host, _dir) = start("lim-idle", &echo.url(), "idle_timeout: 300ms", "").await;
    let mut idle = TcpStream::connect(host.listener(0)).await.unwrap();
    idle.write_all(b"GET /plain HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(5))
        .await
        .expect("idle keep-alive connection not closed");
    assert_eq!(status_line(&answer), "HTTP/1.1 200 OK");
    probe(&host).await;
    host.shutdown().await;
}

#[tokio::test]
async fn held_request_body_over_the_cap_is_413_and_a_stalled_body_408() {
    let echo = Echo::start("backend");
    let (silent, _) = silent_upstream().await;
    let (host, _dir) = start(
        "lim-held",
        &echo.url(),
        "max_buffered_body_bytes: 16KiB, request_body_timeout: 300ms",
        &format!("  - {{name: silent, address: 'http://{silent}'}}"),
    )
    .await;
    // /callout pauses the request until the (silent) callout times out.
    let hold = [
        ("x-callout-cluster", "silent"),
        ("x-callout-timeout-ms", "3000"),
    ];
    let started = Instant::now();
    let reply = within(Conn::http1(host.listener(0)).await.send(
        "POST",
        "/callout",
        &hold,
        Bytes::from(vec![b'b'; 100 * 1024]),
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "413 only after the callout"
    );
    probe(&host).await;

    // Under the cap the held body goes on once the plugin resumes.
    let reply = within(Conn::http1(host.listener(0)).await.send(
        "POST",
        "/callout",
        &[
            ("x-callout-cluster", "silent"),
            ("x-callout-timeout-ms", "200"),
        ],
        Bytes::from(vec![b'b'; 8 * 1024]),
    ))
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.upstream_header("x-callout-status").as_deref(),
        Some("failed")
    );
    assert_eq!(reply.json()["body"].as_str().map(str::len), Some(8 * 1024));

    // A client that stops sending the body of a held request: 408.
    let mut stalled = TcpStream::connect(host.listener(0)).await.unwrap();
    stalled
        .write_all(
            b"POST /callout HTTP/1.1\r\nhost: x\r\nx-callout-cluster: silent\r\n\
              x-callout-timeout-ms: 3000\r\ncontent-length: 100\r\n\r\n0123456789",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stalled, Duration::from_secs(5))
        .await
        .expect("stalled body not ended");
    assert_eq!(status_line(&answer), "HTTP/1.1 408 Request Timeout");
    probe(&host).await;
    host.shutdown().await;
}

#[tokio::test]
async fn oversize_callout_answers_fail_the_callout() {
    let echo = Echo::start("backend");
    let big = big_upstream(2 << 20).await;
    let (host, _dir) = start(
        "lim-callout",
        &echo.url(),
        "",
        &format!(
            "  - {{name: big, address: 'http://{big}', max_callout_response_bytes: 64KiB}}\n  \
             - {{name: tiny, address: '{}', max_callout_response_bytes: 4}}",
            echo.url()
        ),
    )
    .await;
    for cluster in ["big", "tiny"] {
        let reply = within(
            Conn::http1(host.listener(0))
                .await
                .get("/callout", &[("x-callout-cluster", cluster)]),
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(
            reply.upstream_header("x-callout-status").as_deref(),
            Some("failed"),
            "{cluster}"
        );
        assert_eq!(reply.upstream_header("x-callout-body").as_deref(), Some(""));
    }
    // Within the default cap the answer reaches the module.
    let reply = within(Conn::http1(host.listener(0)).await.get("/callout", &[]))
        .await
        .unwrap();
    assert_eq!(
        reply.upstream_header("x-callout-status").as_deref(),
        Some("200")
    );
    assert_eq!(
        reply.upstream_header("x-callout-body").as_deref(),
        Some("callout-ok")
    );
    probe(&host).await;
    host.shutdown().await;
}

#[tokio::test]
async fn h2_concurrent_streams_are_limited() {
    let echo = Echo::start("backend");
    let (silent, callouts) = silent_upstream().await;
    let (host, _dir) = start(
        "lim-h2",
        &echo.url(),
        "h2_max_concurrent_streams: 2",
        &format!("  - {{name: silent, address: 'http://{silent}'}}"),
    )
    .await;
    let mut conn = Conn::h2c(host.listener(0)).await;
    // One request first: the client has the server's SETTINGS by then.
    assert_eq!(within(conn.get("/plain", &[])).await.unwrap().status, 200);
    // Three held requests on one connection: only two streams are open
    // at once, so only two callouts start until those end.
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let mut stream = conn.h2_clone().expect("h2");
        tasks.push(tokio::spawn(async move {
            stream
                .get(
                    "/callout",
                    &[
                        ("x-callout-cluster", "silent"),
                        ("x-callout-timeout-ms", "800"),
                    ],
                )
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        callouts.load(Ordering::SeqCst),
        2,
        "streams beyond the limit ran"
    );
    // The third stream waits in the client's queue (or, had it been sent
    // anyway, is refused with REFUSED_STREAM); never a third callout at once.
    let mut served = 0;
    for task in tasks {
        match within(task).await.unwrap() {
            Ok(reply) => {
                assert_eq!(reply.status, 200);
                served += 1;
            }
            Err(e) => assert!(e.contains("http2"), "{e}"),
        }
    }
    assert!(served >= 2, "{served}");
    assert_eq!(callouts.load(Ordering::SeqCst), served);
    probe(&host).await;
    host.shutdown().await;
}

#[test]
fn config_errors_name_the_field() {
    let dir = TempDir::new("lim-config");
    let echo = "http://127.0.0.1:1";
    let with_plugin = |extra: &str| format!("{}    {extra}\n", config(echo, "", ""));
    let error = Config::parse(&with_plugin("fail_open: true"), dir.path())
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("filters[0].fail_open: "), "{error}");
    assert!(error.contains("danger_fail_open"), "{error}");
    Config::parse(&with_plugin("danger_fail_open: true"), dir.path()).unwrap();
    for (limits, field) in [
        (
            "max_header_bytes: 1KiB",
            "listeners[0].limits.max_header_bytes",
        ),
        ("max_connections: 0", "listeners[0].limits.max_connections"),
        ("idle_timeout: 0s", "listeners[0].limits.idle_timeout"),
        ("max_headers: many", "listeners[0].limits.max_headers"),
        ("no_such_limit: 1", "listeners[0].limits"),
    ] {
        let error = Config::parse(&config(echo, limits, ""), dir.path())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(field), "{limits}: {error}");
    }
    let config = Config::parse(&config(echo, "", ""), dir.path()).unwrap();
    let specs = config.plugin_specs().unwrap();
    assert_eq!(specs[0].vm_id, "abi", "vm_id defaults to the plugin name");
    assert_eq!(config.listeners[0].limits.max_buffered_body_bytes, 64 << 10);
    assert_eq!(config.clusters[0].max_callout_response_bytes, 1 << 20);
}
