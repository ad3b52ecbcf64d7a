//! Support for the runtime tests: the ABI test module, a fake callout
//! client, and helpers to drive `Runtime`/`WorkerChain`/`HttpStream`
//! directly on a current-thread runtime with a `LocalSet`.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use oauth_host::metrics::Metrics;
use oauth_host::runtime::{
    Body, CalloutClient, CalloutError, CalloutFuture, ConnectionInfo, LogLevel, PluginSpec,
    RequestVerdict, Runtime, TlsInfo,
};

/// Path of the built ABI test module (built once per test binary).
pub fn module() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| oauth_tests::wasm::module("abi-test-module"))
        .clone()
}

/// A plugin spec for the ABI test module.
pub fn spec(name: &str, configuration: &str) -> PluginSpec {
    PluginSpec {
        name: name.into(),
        module_path: module(),
        root_id: "abi_root".into(),
        vm_id: "abi_vm".into(),
        configuration: Bytes::from(configuration.to_string()),
        vm_configuration: Bytes::from_static(b"vm-config"),
        fail_open: false,
        environment: vec![],
        callback_cpu_limit: Duration::from_millis(200),
        max_memory_bytes: 64 << 20,
        max_shared_data_bytes: 64 << 20,
        max_queue_items: 10_000,
        log_level: LogLevel::Info,
    }
}

/// Callout client: cluster `upstream` answers 200 `hello from callout`,
/// `down` fails to connect, `slow` never answers; anything else is unknown.
pub struct FakeCallouts;

impl CalloutClient for FakeCallouts {
    fn has_cluster(&self, cluster: &str) -> bool {
        matches!(cluster, "upstream" | "down" | "slow")
    }

    fn call(
        &self,
        cluster: &str,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> CalloutFuture {
        let cluster = cluster.to_string();
        Box::pin(async move {
            match cluster.as_str() {
                "upstream" => {
                    assert_eq!(request.uri().path(), "/callout-target");
                    Ok(http::Response::builder()
                        .status(200)
                        .header("x-from", "callout")
                        .body(Bytes::from_static(b"hello from callout"))
                        .unwrap())
                }
                "down" => Err(CalloutError::Connect("connection refused".into())),
                _ => {
                    tokio::time::sleep(timeout).await;
                    Err(CalloutError::Timeout)
                }
            }
        })
    }
}

/// A runtime over `specs` with the fake callouts.
pub fn runtime(specs: Vec<PluginSpec>) -> (Arc<Runtime>, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let rt = Runtime::new(specs, Arc::new(FakeCallouts), metrics.clone()).expect("runtime starts");
    (rt, metrics)
}

/// Runs `f` on a current-thread tokio runtime inside a `LocalSet`.
pub fn run<F: Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, f)
}

/// A plain-TCP connection.
pub fn conn() -> Arc<ConnectionInfo> {
    Arc::new(ConnectionInfo {
        id: 7,
        source: "127.0.0.1:40000".parse().unwrap(),
        destination: "127.0.0.1:8443".parse().unwrap(),
        tls: None,
    })
}

/// An mTLS connection with a client certificate `der`.
pub fn mtls_conn(der: Vec<u8>) -> Arc<ConnectionInfo> {
    Arc::new(ConnectionInfo {
        id: 8,
        source: "127.0.0.1:40001".parse().unwrap(),
        destination: "127.0.0.1:8443".parse().unwrap(),
        tls: Some(TlsInfo {
            version: "TLSv1.3".into(),
            sni: Some("gw.example".into()),
            peer_certificate_der: Some(der),
            peer_subject: Some("CN=client".into()),
            peer_uri_sans: vec!["spiffe://example/client".into()],
            peer_dns_sans: vec!["client.example".into()],
        }),
    })
}

/// A body from one bytes value.
pub fn full(data: &str) -> Body {
    Full::new(Bytes::from(data.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body that streams `chunks` one frame at a time.
pub fn chunked(chunks: &[&str]) -> Body {
    ChunkBody(
        chunks.iter().map(|c| Bytes::from(c.to_string())).collect(),
        None,
    )
    .boxed_unsync()
}

/// Like [`chunked`], ending with a trailers frame.
pub fn chunked_with_trailers(chunks: &[&str], trailers: &[(&str, &str)]) -> Body {
    let mut map = http::HeaderMap::new();
    for (k, v) in trailers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    ChunkBody(
        chunks.iter().map(|c| Bytes::from(c.to_string())).collect(),
        Some(map),
    )
    .boxed_unsync()
}

struct ChunkBody(std::collections::VecDeque<Bytes>, Option<http::HeaderMap>);

impl hyper::body::Body for ChunkBody {
    type Data = Bytes;
    type Error = oauth_host::runtime::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if let Some(b) = self.0.pop_front() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(b))));
        }
        std::task::Poll::Ready(self.1.take().map(|t| Ok(hyper::body::Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty() && self.1.is_none()
    }
}

/// A GET request for `path` with host `gw.example`.
pub fn get(path: &str) -> http::Request<Body> {
    request("GET", path, &[], full(""))
}

/// A request.
pub fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> http::Request<Body> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "gw.example")
        .header("x-request-id", "req-1");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).unwrap()
}

/// Reads a whole body as a string.
pub async fn text(body: Body) -> String {
    let bytes = body.collect().await.expect("body reads").to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The request that would go upstream; panics on a local reply.
pub fn forwarded(v: RequestVerdict) -> http::Request<Body> {
    match v {
        RequestVerdict::Forward(r) => r,
        RequestVerdict::Respond(r) => panic!("expected Forward, got a {} reply", r.status()),
    }
}

/// The reply; panics if the request was forwarded.
pub fn responded(v: RequestVerdict) -> http::Response<Body> {
    match v {
        RequestVerdict::Respond(r) => r,
        RequestVerdict::Forward(r) => {
            panic!("expected a reply, request to {} was forwarded", r.uri())
        }
    }
}

/// An upstream response.
pub fn upstream(status: u16, body: Body) -> http::Response<Body> {
    http::Response::builder()
        .status(status)
        .header("server", "up")
        .body(body)
        .unwrap()
}
