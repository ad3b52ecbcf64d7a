//! The bench upstream: a small hyper server answering every request with
//! 200 and a short body, and `POST /introspect` with an active RFC 7662
//! answer (for the introspection case; cached by the filter after the first
//! request). One current-thread runtime on its own thread.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A running upstream (runs until the process ends).
pub struct Upstream {
    /// Bound address.
    pub addr: SocketAddr,
    /// Introspection requests served.
    pub introspections: Arc<AtomicU64>,
}

/// Starts the upstream on 127.0.0.1 (free port); `introspection` is the
/// JSON answered on `POST /introspect`.
pub fn start(introspection: String) -> Result<Upstream> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind upstream")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let introspections = Arc::new(AtomicU64::new(0));
    let counter = introspections.clone();
    let answer = Bytes::from(introspection);
    std::thread::Builder::new()
        .name("upstream".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("bench: upstream runtime: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("bench: upstream listener: {e}");
                        return;
                    }
                };
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let answer = answer.clone();
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                            let answer = answer.clone();
                            let counter = counter.clone();
                            async move {
                                let introspect = req.uri().path() == "/introspect";
                                // Read the body so the connection stays reusable.
                                let _ = req.into_body().collect().await;
                                let response = if introspect {
                                    counter.fetch_add(1, Ordering::Relaxed);
                                    Response::builder()
                                        .header("content-type", "application/json")
                                        .body(Full::new(answer))
                                } else {
                                    Response::builder()
                                        .header("content-type", "text/plain")
                                        .body(Full::new(Bytes::from_static(b"ok\n")))
                                };
                                Ok::<_, Infallible>(response.unwrap_or_default())
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .keep_alive(true)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })
        .context("spawn upstream thread")?;
    Ok(Upstream {
        addr,
        introspections,
    })
}
