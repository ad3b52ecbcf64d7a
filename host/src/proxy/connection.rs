//! One downstream connection on a worker: TLS handshake (rustls), HTTP/1.1
//! and HTTP/2 (hyper's auto builder), and each request's way through
//! header hygiene, the filter chain ([`HttpStream`]), routing and the
//! upstream, back to the client ([`ResponseBody`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::forwarding_headers;
use super::limits::{IdleTracker, InFlight};
use super::proxy_error::{ProxyError, TEXT_PLAIN_UTF8};
use super::request_path;
use super::worker_thread::{Accepted, Worker};
use crate::runtime::{
    fixed_response, timeout_body, Body, BoxError, ConnectionInfo, HttpStream, RequestVerdict,
};

/// Process-unique connection ids (`connection.id`).
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Spawns hyper's per-connection tasks (HTTP/2 streams) on the LocalSet:
/// filter streams are `!Send`.
#[derive(Clone, Copy)]
struct LocalExec;

impl<F: Future + 'static> hyper::rt::Executor<F> for LocalExec {
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

impl Worker {
    /// Serves one accepted connection until it ends or the drain closes it.
    pub(super) async fn serve_connection(
        self: Rc<Self>,
        accepted: Accepted,
        shutdown: watch::Receiver<bool>,
    ) {
        let Accepted {
            stream,
            listener,
            peer,
            permit: _permit,
        } = accepted;
        let local = stream.local_addr().unwrap_or(peer);
        let tcp = match stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpStream::from_std(stream))
        {
            Ok(tcp) => tcp,
            Err(e) => {
                warn!(worker = self.index, %peer, "cannot register connection: {e}");
                return;
            }
        };
        let _ = tcp.set_nodelay(true);
        let listener_shared = &self.shared.listeners[listener];
        let tls = &listener_shared.tls;
        self.shared.metrics.inc_counter(
            "oauth_host_downstream_connections_total",
            &[("listener", &listener_shared.name)],
            1,
        );
        let mut info = ConnectionInfo {
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
            source: peer,
            destination: local,
            tls: None,
        };
        match tls {
            None => {
                self.serve_http(TokioIo::new(tcp), Arc::new(info), listener, shutdown)
                    .await
            }
            Some(acceptor) => {
                let stream =
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            debug!(worker = self.index, %peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            debug!(worker = self.index, %peer, "TLS handshake timed out");
                            return;
                        }
                    };
                info.tls = Some(super::tls::session_info(stream.get_ref().1));
                self.serve_http(TokioIo::new(stream), Arc::new(info), listener, shutdown)
                    .await
            }
        }
    }

    async fn serve_http<I>(
        self: Rc<Self>,
        io: I,
        info: Arc<ConnectionInfo>,
        listener: usize,
        mut shutdown: watch::Receiver<bool>,
    ) where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    {
        let worker = self.clone();
        let connection = info.clone();
        let idle = IdleTracker::new();
        let tracker = idle.clone();
        let service = service_fn(move |request| {
            let worker = worker.clone();
            let connection = connection.clone();
            let in_flight = tracker.begin();
            async move {
                let mut response = worker.handle(request, connection, listener).await;
                response.body_mut().in_flight = Some(in_flight);
                Ok::<_, Infallible>(response)
            }
        });
        let limits = &self.shared.listeners[listener].limits;
        let mut builder = auto::Builder::new(LocalExec);
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(usize::try_from(limits.max_header_bytes).unwrap_or(usize::MAX))
            .max_headers(limits.max_headers);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .max_concurrent_streams(limits.h2_max_concurrent_streams)
            .max_pending_accept_reset_streams(limits.h2_max_pending_accept_reset_streams)
            .max_local_error_reset_streams(limits.h2_max_local_error_reset_streams);
        let idle_timeout = limits.idle_timeout;
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        let result = loop {
            tokio::select! {
                result = connection.as_mut() => break result,
                _ = shutdown.wait_for(|stop| *stop) => {
                    connection.as_mut().graceful_shutdown();
                    break connection.await;
                }
                _ = tokio::time::sleep_until(idle.deadline(idle_timeout)) => {
                    if idle.expired(idle_timeout) {
                        debug!(worker = self.index, connection = info.id, "idle timeout");
                        connection.as_mut().graceful_shutdown();
                        break connection.await;
                    }
                }
            }
        };
        if let Err(e) = result {
            debug!(
                worker = self.index,
                connection = info.id,
                "connection ended: {}",
                super::upstream_pool::error_chain(&*e)
            );
        }
    }

    async fn handle(
        self: Rc<Self>,
        request: http::Request<hyper::body::Incoming>,
        connection: Arc<ConnectionInfo>,
        listener: usize,
    ) -> http::Response<ResponseBody> {
        let limits = &self.shared.listeners[listener].limits;
        let started = std::time::Instant::now();
        let (mut parts, body) = request.into_parts();
        let bad_request = |text: String| {
            fixed_response(http::StatusCode::BAD_REQUEST, Some(TEXT_PLAIN_UTF8), text).map(|body| {
                ResponseBody {
                    inner: body,
                    _stream: None,
                    in_flight: None,
                }
            })
        };
        if parts.headers.get_all(http::header::HOST).iter().count() > 1 {
            // RFC 9112 3.2: a request with more than one Host is invalid.
            return bad_request("more than one host header\n".into());
        }
        // One path for modules, routes and the upstream.
        if let Err(e) = request_path::normalise(&mut parts.uri) {
            return bad_request(format!("{}\n", e.describe()));
        }
        forwarding_headers::ensure_host(&mut parts.headers, &parts.uri);
        forwarding_headers::remove_hop_by_hop(&mut parts.headers);
        forwarding_headers::set_forwarded(
            &mut parts.headers,
            connection.source.ip(),
            connection.tls.is_some(),
        );
        let request_id = forwarding_headers::ensure_request_id(&mut parts.headers);
        // The query string may carry credentials: only the path is logged.
        let (method, path) = (parts.method.clone(), parts.uri.path().to_string());
        let body = timeout_body(
            body.map_err(|e| Box::new(e) as BoxError).boxed_unsync(),
            limits.request_body_timeout,
        );
        let request = http::Request::from_parts(parts, body);
        let max_held = usize::try_from(limits.max_buffered_body_bytes).unwrap_or(usize::MAX);

        let connection_id = connection.id;
        let (response, stream) = match &self.chain {
            None => (self.forward(request).await, None),
            Some(chain) => {
                let mut stream = chain.new_stream_limited(connection, max_held);
                let response = match stream.on_request(request).await {
                    RequestVerdict::Respond(response) => response,
                    RequestVerdict::Forward(request) => {
                        let response = self.forward(request).await;
                        stream.on_response(response).await
                    }
                };
                (response, Some(Box::new(stream)))
            }
        };
        let class = match response.status().as_u16() / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        self.shared
            .metrics
            .inc_counter("oauth_host_requests_total", &[("code_class", class)], 1);
        debug!(
            worker = self.index,
            connection = connection_id,
            request_id = %request_id,
            %method,
            path = %path,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request"
        );
        self.shared.metrics.observe(
            "oauth_host_request_duration_ms",
            &[],
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        response.map(|body| ResponseBody {
            inner: body,
            _stream: stream,
            in_flight: None,
        })
    }

    /// Routes and sends `request` upstream; the proxy's own 404/502/503/504
    /// come back as responses.
    async fn forward(&self, request: http::Request<Body>) -> http::Response<Body> {
        let host = request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .unwrap_or("");
        let path = request.uri().path();
        let Some(route) = self.shared.routes.iter().find(|r| r.matches(host, path)) else {
            return ProxyError::NoRoute.response();
        };
        let Some(cluster) = self.upstreams.find(&route.cluster) else {
            // Unreachable: config validation checks every route's cluster.
            return ProxyError::NoRoute.response();
        };
        match cluster.send(request).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                forwarding_headers::remove_hop_by_hop(&mut parts.headers);
                http::Response::from_parts(
                    parts,
                    body.map_err(|e| Box::new(e) as BoxError).boxed_unsync(),
                )
            }
            Err(error) => {
                let kind = match &error {
                    ProxyError::NoRoute => "no_route",
                    ProxyError::Unavailable(_) => "unavailable",
                    ProxyError::BadGateway(_) => "bad_gateway",
                    ProxyError::Timeout => "timeout",
                    // The client's side, counted apart from the upstream's.
                    ProxyError::RequestBody(_) => "request_body",
                    ProxyError::RequestBodyTimeout => "request_body_timeout",
                };
                info!(
                    worker = self.index,
                    cluster = cluster.name(),
                    "upstream error: {error}"
                );
                self.shared.metrics.inc_counter(
                    "oauth_host_upstream_errors_total",
                    &[("cluster", cluster.name()), ("kind", kind)],
                    1,
                );
                error.response()
            }
        }
    }
}

/// The response body sent downstream. It owns the request's [`HttpStream`]
/// so the stream ends (`on_done`, `on_log`) once the body has been sent or
/// the client went away.
pub struct ResponseBody {
    inner: Body,
    _stream: Option<Box<HttpStream>>,
    /// The request counts as in flight (not idle) until this is dropped.
    in_flight: Option<InFlight>,
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
