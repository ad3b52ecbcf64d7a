//! The admin listener: `GET /ready` (200 once every worker has started, 503
//! before and while draining) and `GET /metrics` (Prometheus text format).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::debug;

use crate::metrics::Metrics;
use crate::runtime::{fixed_response, Body};

/// Where the server is in its life, as `/ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Lifecycle {
    /// Workers are starting.
    Starting = 0,
    /// Every worker serves.
    Ready = 1,
    /// Shutting down: no new connections, in-flight requests finish.
    Draining = 2,
}

/// Shared lifecycle state.
#[derive(Debug)]
pub struct State(AtomicU8);

impl State {
    /// Starts in [`Lifecycle::Starting`].
    pub fn new() -> Self {
        Self(AtomicU8::new(Lifecycle::Starting as u8))
    }

    /// Moves to `lifecycle`.
    pub fn set(&self, lifecycle: Lifecycle) {
        self.0.store(lifecycle as u8, Ordering::SeqCst);
    }

    /// The current stage.
    pub fn get(&self) -> Lifecycle {
        match self.0.load(Ordering::SeqCst) {
            0 => Lifecycle::Starting,
            1 => Lifecycle::Ready,
            _ => Lifecycle::Draining,
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// Answers one admin request.
pub fn respond(
    method: &Method,
    path: &str,
    state: &State,
    metrics: &Metrics,
) -> http::Response<Body> {
    let (status, content_type, body) = match (method, path) {
        (&Method::GET, "/ready") => match state.get() {
            Lifecycle::Ready => (StatusCode::OK, "text/plain", Bytes::from_static(b"ready\n")),
            Lifecycle::Starting => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                Bytes::from_static(b"starting\n"),
            ),
            Lifecycle::Draining => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                Bytes::from_static(b"draining\n"),
            ),
        },
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            Bytes::from(metrics.render_prometheus()),
        ),
        (_, "/ready" | "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            Bytes::from_static(b"method not allowed\n"),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found\n"),
        ),
    };
    fixed_response(status, Some(content_type), body)
}

/// Serves the admin listener until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                debug!("admin accept failed: {e}");
                continue;
            }
        };
        let state = state.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let response = respond(request.method(), request.uri().path(), &state, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(e) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(%peer, "admin connection ended: {e}");
            }
        });
    }
}
