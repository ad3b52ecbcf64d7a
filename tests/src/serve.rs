//! What the in-process test servers (JWKS, introspection, token endpoint)
//! share: an HTTP/1.1 server on 127.0.0.1 with its own thread and runtime,
//! stopped on drop, and the form and `Basic` decoding of OAuth requests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// A server on its own thread; stops (and joins) on drop.
pub struct ServerThread {
    /// Bound address (127.0.0.1, free port).
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Serves `handler` on a free port. `accept` is asked for every new
    /// connection; `false` closes it unanswered (a server that is "down").
    pub fn spawn<A, H, F>(what: &str, accept: A, handler: H) -> ServerThread
    where
        A: Fn() -> bool + Send + 'static,
        H: Fn(SocketAddr, Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("bind {what}: {e}"));
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            if !accept() {
                                drop(stream);
                                continue;
                            }
                            let _ = stream.set_nodelay(true);
                            let handler = handler.clone();
                            tokio::spawn(async move {
                                let svc = service_fn(move |req| handler(addr, req));
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        ServerThread {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A JSON answer with `cache-control: no-store` and extra headers.
pub fn json_reply(status: u16, body: String, headers: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store");
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// `application/x-www-form-urlencoded` decoding of one name or value.
pub fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            s.get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form body as a map (the last of repeated names wins).
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (form_decode(k), form_decode(v)))
        .collect()
}

/// Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: both
/// form-encoded before base64).
pub fn basic_credentials(authorization: Option<&str>) -> Option<(String, String)> {
    let b64 = authorization?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (id, secret) = raw.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}
