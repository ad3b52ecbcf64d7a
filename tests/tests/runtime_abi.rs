//! The wasm runtime driven directly (no sockets) with the ABI test module:
//! header edits, local replies, properties, callouts, body buffering, shared
//! data, queues, ticks, metrics, logging, foreign functions, close_stream.

mod runtime_support;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use oauth_host::abi::foreign::ForeignFunctions;
use oauth_host::metrics::Metrics;
use oauth_host::runtime::{AbiVersion, Runtime, WorkerChain};
use runtime_support::*;

#[test]
fn module_announces_abi_0_2_1() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    assert_eq!(
        rt.abi_versions(),
        vec![("abi".to_string(), AbiVersion::V0_2_1)]
    );
    rt.check().expect("check passes");
}

#[test]
fn header_edits_both_ways() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = forwarded(stream.on_request(get("/anything?x=1")).await);
        assert_eq!(req.headers()["x-abi-test"], "seen");
        assert_eq!(req.uri(), "/anything?x=1");
        assert_eq!(req.headers()["host"], "gw.example");
        let resp = stream.on_response(upstream(201, full("up"))).await;
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.headers()["x-abi-response"], "seen");
        assert_eq!(resp.headers()["server"], "up");
        assert!(!resp.headers()["x-abi-vm-instance"].is_empty());
        assert_eq!(text(resp.into_body()).await, "up");
    });
}

#[test]
fn local_reply() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let resp = responded(stream.on_request(get("/local?status=418")).await);
        assert_eq!(resp.status(), 418);
        assert_eq!(resp.headers()["x-local"], "1");
        assert_eq!(text(resp.into_body()).await, "local");
    });
}

#[test]
fn properties_plain_tcp() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let resp = responded(stream.on_request(get("/props?a=1&b")).await);
        let json: serde_json::Value = serde_json::from_str(&text(resp.into_body()).await).unwrap();
        assert_eq!(json["request.path"], "/props?a=1&b");
        assert_eq!(json["request.url_path"], "/props");
        assert_eq!(json["request.query"], "a=1&b");
        assert_eq!(json["request.host"], "gw.example");
        assert_eq!(json["request.method"], "GET");
        assert_eq!(json["request.scheme"], "http");
        assert_eq!(json["request.id"], "req-1");
        assert_eq!(json["request.protocol"], "HTTP/1.1");
        assert_eq!(json["request.headers"]["x-request-id"], "req-1");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let t = json["request.time"].as_u64().unwrap();
        assert!(
            t <= now && now - t < 60_000_000_000,
            "request.time {t} vs now {now}"
        );
        assert_eq!(json["source.address"], "127.0.0.1:40000");
        assert_eq!(json["source.port"], 40000);
        assert_eq!(json["destination.port"], 8443);
        assert_eq!(json["connection.id"], 7);
        assert_eq!(json["connection.mtls"], false);
        assert!(json.get("connection.tls_version").is_none());
        assert!(json
            .get("connection.sha256_peer_certificate_digest")
            .is_none());
        assert_eq!(json["plugin_name"], "abi");
        assert_eq!(json["plugin_root_id"], "abi_root");
        assert_eq!(json["plugin_vm_id"], "abi_vm");
        assert_eq!(json["abi.custom"], "v");
    });
}

#[test]
fn properties_mtls() {
    let der = b"\x30\x03\x02\x01\x01 pretend certificate".to_vec();
    let expected = {
        use sha2::Digest;
        sha2::Sha256::digest(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(mtls_conn(der));
        let resp = responded(stream.on_request(get("/props")).await);
        let json: serde_json::Value = serde_json::from_str(&text(resp.into_body()).await).unwrap();
        assert_eq!(json["connection.mtls"], true);
        assert_eq!(json["request.scheme"], "https");
        assert_eq!(json["connection.tls_version"], "TLSv1.3");
        assert_eq!(json["connection.requested_server_name"], "gw.example");
        assert_eq!(json["connection.subject_peer_certificate"], "CN=client");
        assert_eq!(
            json["connection.sha256_peer_certificate_digest"],
            expected.as_str()
        );
        assert_eq!(
            json["connection.uri_san_peer_certificate"],
            "spiffe://example/client"
        );
        assert_eq!(
            json["connection.dns_san_peer_certificate"],
            "client.example"
        );
    });
}

#[test]
fn callout_pauses_and_resumes() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = forwarded(stream.on_request(get("/callout")).await);
        assert_eq!(req.headers()["x-callout-status"], "200");
        assert_eq!(req.headers()["x-callout-body"], "hello from callout");
        assert_eq!(req.headers()["x-abi-test"], "seen");
    });
}

#[test]
fn callout_failure_and_timeout_deliver_zero_headers() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = request(
            "GET",
            "/callout",
            &[("x-callout-cluster", "down")],
            full(""),
        );
        let req = forwarded(stream.on_request(req).await);
        assert_eq!(req.headers()["x-callout-status"], "failed");
        assert_eq!(req.headers()["x-callout-body"], "");

        let mut stream = chain.new_stream(conn());
        let req = request(
            "GET",
            "/callout",
            &[
                ("x-callout-cluster", "slow"),
                ("x-callout-timeout-ms", "50"),
            ],
            full(""),
        );
        let started = std::time::Instant::now();
        let req = forwarded(stream.on_request(req).await);
        assert_eq!(req.headers()["x-callout-status"], "failed");
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn callout_to_unknown_cluster_is_bad_argument() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = request(
            "GET",
            "/callout",
            &[("x-callout-cluster", "nowhere")],
            full(""),
        );
        let resp = responded(stream.on_request(req).await);
        assert_eq!(resp.status(), 502);
        assert_eq!(text(resp.into_body()).await, "dispatch failed: BadArgument");
    });
}

#[test]
fn body_is_buffered_when_asked_and_rewritten() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = request("POST", "/body", &[], chunked(&["hel", "lo ", "world"]));
        let req = forwarded(stream.on_request(req).await);
        assert_eq!(text(req.into_body()).await, "HELLO WORLD");
        let resp = stream
            .on_response(upstream(200, chunked(&["abc", "def"])))
            .await;
        assert!(resp.headers().get("content-length").is_none());
        assert_eq!(text(resp.into_body()).await, "filtered:6");
    });
}

#[test]
fn body_streams_through_unchanged_otherwise() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = request("POST", "/echo", &[], chunked(&["a", "b", "c"]));
        let req = forwarded(stream.on_request(req).await);
        assert_eq!(text(req.into_body()).await, "abc");
        let resp = stream
            .on_response(upstream(200, chunked(&["x", "y"])))
            .await;
        assert_eq!(text(resp.into_body()).await, "xy");
    });
}

#[test]
fn trailers_pass_through_the_trailers_callback() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let body = chunked_with_trailers(&["a", "b"], &[("grpc-status", "0")]);
        let req = forwarded(stream.on_request(request("POST", "/echo", &[], body)).await);
        let collected = http_body_util::BodyExt::collect(req.into_body())
            .await
            .unwrap();
        let trailers = collected.trailers().cloned().expect("trailers forwarded");
        assert_eq!(trailers["grpc-status"], "0");
        assert_eq!(trailers["x-abi-trailer"], "seen");
        assert_eq!(collected.to_bytes(), "ab");
    });
}

#[test]
fn body_waits_while_headers_are_paused_for_a_callout() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = request("POST", "/callout", &[], chunked(&["one ", "two"]));
        let req = forwarded(stream.on_request(req).await);
        assert_eq!(req.headers()["x-callout-status"], "200");
        assert_eq!(text(req.into_body()).await, "one two");
    });
}

#[test]
fn absolute_form_http2_request_keeps_its_form() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = http::Request::builder()
            .method("GET")
            .uri("https://h2.example/path?q=1")
            .version(http::Version::HTTP_2)
            .body(full(""))
            .unwrap();
        let req = forwarded(stream.on_request(req).await);
        assert_eq!(req.uri(), "https://h2.example/path?q=1");
        assert_eq!(req.version(), http::Version::HTTP_2);
        assert!(req.headers().get("host").is_none());
        assert_eq!(req.headers()["x-abi-test"], "seen");

        let mut stream = chain.new_stream(conn());
        let req = http::Request::builder()
            .uri("https://h2.example/props")
            .version(http::Version::HTTP_2)
            .body(full(""))
            .unwrap();
        let resp = responded(stream.on_request(req).await);
        let json: serde_json::Value = serde_json::from_str(&text(resp.into_body()).await).unwrap();
        assert_eq!(json["request.host"], "h2.example");
        assert_eq!(json["request.scheme"], "https");
        assert_eq!(json["request.protocol"], "HTTP/2");
    });
}

#[test]
fn non_utf8_header_values_are_refused_before_the_filter() {
    let (rt, metrics) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let mut req = get("/x");
        req.headers_mut()
            .insert("x-bad", http::HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let resp = responded(stream.on_request(req).await);
        assert_eq!(resp.status(), 400);
        assert_eq!(
            metrics.get(oauth_host::runtime::CRASH_METRIC, &[("plugin", "abi")]),
            Ok(0)
        );
    });
}

#[test]
fn buffering_past_the_memory_limit_is_refused() {
    let mut s = spec("abi", "{}");
    s.max_memory_bytes = 4 << 20;
    let (rt, _) = runtime(vec![s]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let big = "x".repeat(1 << 20);
        let chunks: Vec<&str> = std::iter::repeat_n(big.as_str(), 5).collect();
        let req = request("POST", "/body", &[], chunked(&chunks));
        match stream.on_request(req).await {
            oauth_host::runtime::RequestVerdict::Respond(r) => assert_eq!(r.status(), 413),
            oauth_host::runtime::RequestVerdict::Forward(r) => {
                let err = http_body_util::BodyExt::collect(r.into_body()).await.err();
                assert!(err.is_some(), "the forwarded body must fail");
            }
        }
    });
}

async fn local_text(chain: &Rc<WorkerChain>, path: &str) -> (u16, String) {
    let mut stream = chain.new_stream(conn());
    let resp = responded(stream.on_request(get(path)).await);
    let status = resp.status().as_u16();
    (status, text(resp.into_body()).await)
}

#[test]
fn shared_data_across_workers_with_cas() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let a = WorkerChain::start(rt.clone(), 0).unwrap();
        let b = WorkerChain::start(rt.clone(), 1).unwrap();
        assert_eq!(local_text(&b, "/shared/get?key=k").await.0, 404);
        assert_eq!(
            local_text(&a, "/shared/set?key=k&value=v1").await,
            (200, "ok".into())
        );
        let (status, body) = local_text(&b, "/shared/get?key=k").await;
        assert_eq!(status, 200);
        let (value, cas) = body.split_once(' ').unwrap();
        assert_eq!(value, "v1");
        let cas: u32 = cas.parse().unwrap();
        assert_ne!(cas, 0);
        let stale = cas + 1000;
        assert_eq!(
            local_text(&b, &format!("/shared/set?key=k&value=v2&cas={stale}")).await,
            (409, "cas_mismatch".into())
        );
        assert_eq!(
            local_text(&b, &format!("/shared/set?key=k&value=v2&cas={cas}")).await,
            (200, "ok".into())
        );
        assert_eq!(
            local_text(&a, &format!("/shared/set?key=k&value=v3&cas={cas}")).await,
            (409, "cas_mismatch".into())
        );
        assert!(local_text(&a, "/shared/get?key=k")
            .await
            .1
            .starts_with("v2 "));
    });
}

#[test]
fn ticks_run_per_worker() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (status, ticks) = local_text(&chain, "/ticks").await;
        assert_eq!(status, 200);
        let ticks: u64 = ticks.parse().unwrap();
        assert!(
            (3..=9).contains(&ticks),
            "50 ms period over 400 ms gave {ticks} ticks"
        );
    });
}

#[test]
fn queue_items_reach_the_owning_worker() {
    let (rt, metrics) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let owner = WorkerChain::start(rt.clone(), 0).unwrap();
        let other = WorkerChain::start(rt.clone(), 1).unwrap();
        assert_eq!(
            local_text(&other, "/queue/push?value=a").await,
            (200, "queued".into())
        );
        assert_eq!(
            local_text(&other, "/queue/push?value=b").await,
            (200, "queued".into())
        );
        for _ in 0..50 {
            if metrics.get("abi_queue_items_total", &[]) == Ok(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(metrics.get("abi_queue_items_total", &[]), Ok(2));
        drop(owner);
    });
}

#[test]
fn metrics_are_rendered() {
    let (rt, metrics) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let (status, requests) = local_text(&chain, "/metrics-test").await;
        assert_eq!(status, 200);
        assert_eq!(requests, "1", "get_metric reads the counter");
        let text = metrics.render_prometheus();
        assert!(
            text.contains("# TYPE abi_gauge gauge\nabi_gauge 42\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE abi_histogram histogram\n"), "{text}");
        assert!(
            text.contains("abi_histogram_bucket{le=\"5\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("abi_histogram_bucket{le=\"10\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("abi_histogram_count 1\n"), "{text}");
        assert!(
            text.contains("# TYPE abi_test_requests_total counter\nabi_test_requests_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("oauth_host_wasm_crashes_total{plugin=\"abi\"} 0\n"),
            "{text}"
        );
    });
}

#[test]
fn on_log_runs_when_the_stream_ends() {
    let (rt, metrics) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = forwarded(stream.on_request(get("/x")).await);
        drop(req);
        let resp = stream.on_response(upstream(200, full("ok"))).await;
        assert_eq!(text(resp.into_body()).await, "ok");
        assert_eq!(
            metrics
                .get("abi_test_streams_logged_total", &[])
                .unwrap_or(0),
            0
        );
        drop(stream);
        tokio::task::yield_now().await;
        assert_eq!(metrics.get("abi_test_streams_logged_total", &[]), Ok(1));
    });
}

#[test]
fn log_level_is_reported() {
    let mut s = spec("abi", "{}");
    s.log_level = oauth_host::runtime::LogLevel::Warn;
    let (rt, _) = runtime(vec![s]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        assert_eq!(local_text(&chain, "/log").await, (200, "3".into()));
    });
}

#[test]
fn foreign_functions() {
    let metrics = Arc::new(Metrics::default());
    let mut foreign = ForeignFunctions::default();
    foreign.register("echo", Arc::new(|args: &[u8]| Ok(args.to_vec())));
    let rt = Runtime::with_foreign_functions(
        vec![spec("abi", "{}")],
        Arc::new(FakeCallouts),
        metrics,
        foreign,
    )
    .unwrap();
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        assert_eq!(
            local_text(&chain, "/foreign?name=verify_signature").await,
            (200, "NotFound".into())
        );
        assert_eq!(
            local_text(&chain, "/foreign?name=echo").await,
            (200, "Ok".into())
        );
    });
}

#[test]
fn close_stream_ends_the_request() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let resp = responded(stream.on_request(get("/close")).await);
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["connection"], "close");
    });
}

#[test]
fn two_plugins_see_each_others_edits_in_order() {
    let (rt, metrics) = runtime(vec![spec("first", "{}"), spec("second", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = forwarded(stream.on_request(get("/x")).await);
        let values: Vec<_> = req.headers().get_all("x-abi-test").iter().collect();
        assert_eq!(values.len(), 2, "each plugin added one");
        let resp = stream.on_response(upstream(200, full(""))).await;
        assert_eq!(resp.headers().get_all("x-abi-response").iter().count(), 2);
        assert_eq!(metrics.get("abi_test_requests_total", &[]), Ok(2));
    });
}
