//! Crash containment and start-up failures of the wasm runtime.

mod runtime_support;

use std::time::{Duration, Instant};

use oauth_host::runtime::{Runtime, RuntimeError, WorkerChain, CRASH_METRIC};
use runtime_support::*;

#[test]
fn trap_gives_500_then_the_next_request_succeeds() {
    let (rt, metrics) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let before = {
            let mut s = chain.new_stream(conn());
            let resp = responded(s.on_request(get("/local")).await);
            resp.headers()["x-abi-vm-instance"]
                .to_str()
                .unwrap()
                .to_string()
        };
        let resp = responded(stream.on_request(get("/trap")).await);
        assert_eq!(resp.status(), 500);
        drop(stream);
        assert_eq!(metrics.get(CRASH_METRIC, &[("plugin", "abi")]), Ok(1));

        let mut stream = chain.new_stream(conn());
        let req = forwarded(stream.on_request(get("/after")).await);
        assert_eq!(req.headers()["x-abi-test"], "seen");
        let resp = stream.on_response(upstream(200, full(""))).await;
        let after = resp.headers()["x-abi-vm-instance"]
            .to_str()
            .unwrap()
            .to_string();
        assert_ne!(before, after, "a fresh instance serves after the crash");
    });
}

#[test]
fn other_workers_are_not_affected() {
    let (rt, _) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let a = WorkerChain::start(rt.clone(), 0).unwrap();
        let b = WorkerChain::start(rt.clone(), 1).unwrap();
        let mut on_b = b.new_stream(conn());
        let id_b =
            responded(on_b.on_request(get("/local")).await).headers()["x-abi-vm-instance"].clone();
        let mut crash = a.new_stream(conn());
        assert_eq!(
            responded(crash.on_request(get("/trap")).await).status(),
            500
        );
        let mut again = b.new_stream(conn());
        let resp = responded(again.on_request(get("/local")).await);
        assert_eq!(
            resp.headers()["x-abi-vm-instance"],
            id_b,
            "worker 1 kept its instance"
        );
    });
}

#[test]
fn endless_loop_is_stopped_by_the_cpu_limit() {
    let (rt, metrics) = runtime(vec![spec("abi", "{}")]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let started = Instant::now();
        let resp = responded(stream.on_request(get("/loop")).await);
        assert_eq!(resp.status(), 500);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(metrics.get(CRASH_METRIC, &[("plugin", "abi")]), Ok(1));
        let mut stream = chain.new_stream(conn());
        forwarded(stream.on_request(get("/fine")).await);
    });
}

#[test]
fn memory_growth_is_stopped_by_the_limit() {
    let mut s = spec("abi", "{}");
    s.max_memory_bytes = 16 << 20;
    let (rt, metrics) = runtime(vec![s]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let resp = responded(stream.on_request(get("/grow")).await);
        assert_eq!(resp.status(), 500);
        assert_eq!(metrics.get(CRASH_METRIC, &[("plugin", "abi")]), Ok(1));
        let mut stream = chain.new_stream(conn());
        forwarded(stream.on_request(get("/fine")).await);
    });
}

#[test]
fn fail_open_lets_the_request_go_on_unfiltered() {
    let mut s = spec("abi", "{}");
    s.fail_open = true;
    let (rt, metrics) = runtime(vec![s]);
    run(async {
        let chain = WorkerChain::start(rt, 0).unwrap();
        let mut stream = chain.new_stream(conn());
        let req = forwarded(stream.on_request(get("/trap")).await);
        assert!(
            req.headers().get("x-abi-test").is_some(),
            "edits made before the trap stay"
        );
        let resp = stream.on_response(upstream(200, full("body"))).await;
        assert!(
            resp.headers().get("x-abi-response").is_none(),
            "the crashed plugin is skipped"
        );
        assert_eq!(text(resp.into_body()).await, "body");
        assert_eq!(metrics.get(CRASH_METRIC, &[("plugin", "abi")]), Ok(1));
    });
}

#[test]
fn failed_configure_stops_start_up() {
    let (rt, _) = runtime(vec![spec("abi", r#"{"fail_configure": true}"#)]);
    match rt.check() {
        Err(RuntimeError::Start { plugin, phase, .. }) => {
            assert_eq!(plugin, "abi");
            assert_eq!(phase, "proxy_on_configure");
        }
        other => panic!("expected a start error, got {other:?}"),
    }
    run(async {
        match WorkerChain::start(rt, 0) {
            Err(RuntimeError::Start { phase, .. }) => assert_eq!(phase, "proxy_on_configure"),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("started with a failing on_configure"),
        }
    });
}

#[test]
fn bad_module_is_a_load_error_naming_plugin_and_file() {
    let mut s = spec("broken", "{}");
    s.module_path = std::env::temp_dir().join("definitely-missing-oauth-host.wasm");
    let err = Runtime::new(
        vec![s],
        std::sync::Arc::new(FakeCallouts),
        Default::default(),
    )
    .err()
    .expect("fails");
    let text = err.to_string();
    assert!(
        text.contains("broken") && text.contains("definitely-missing-oauth-host.wasm"),
        "{text}"
    );

    let mut s = spec("not-wasm", "{}");
    s.module_path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let err = Runtime::new(
        vec![s],
        std::sync::Arc::new(FakeCallouts),
        Default::default(),
    )
    .err()
    .expect("fails");
    assert!(matches!(err, RuntimeError::Load { .. }), "{err}");
}

#[test]
fn too_small_memory_limit_fails_at_start() {
    let mut s = spec("abi", "{}");
    s.max_memory_bytes = 64 * 1024;
    let (rt, _) = runtime(vec![s]);
    assert!(matches!(
        rt.check(),
        Err(RuntimeError::Start {
            phase: "instantiate",
            ..
        })
    ));
}
