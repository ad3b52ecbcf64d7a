//! Upstream clients: one keep-alive pool per cluster per worker (as Envoy
//! does), over plain TCP or rustls. The same pools serve forwarded requests
//! and the modules' `http_call`s ([`UpstreamPools`] implements
//! [`CalloutClient`]).

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::{PathAndQuery, Uri};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::proxy_error::ProxyError;
use crate::config::{ClusterConfig, Config, ConfigError};
use crate::runtime::{full_body, Body, BoxError, CalloutClient, CalloutError, CalloutFuture};

/// A cluster's settings with its TLS material loaded; shared by all workers.
#[derive(Clone)]
struct ClusterTemplate {
    config: ClusterConfig,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// One cluster's client on one worker.
#[derive(Clone)]
pub struct UpstreamCluster {
    name: String,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    request_timeout: Duration,
    http2: bool,
    /// Largest callout answer body read (`max_callout_response_bytes`).
    max_callout_response: usize,
    client: Client<Connector, Body>,
}

/// Every cluster's client for one worker.
#[derive(Clone)]
pub struct Upstreams {
    clusters: Vec<UpstreamCluster>,
}

static NEXT_POOLS_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// (pools id, worker index) of the worker running on this thread.
    static CURRENT_WORKER: Cell<Option<(u64, usize)>> = const { Cell::new(None) };
}

/// All upstream pools of one server: one [`Upstreams`] per worker, plus one
/// for callouts made from threads that are not workers.
pub struct UpstreamPools {
    id: u64,
    workers: Vec<Upstreams>,
    other: Upstreams,
}

impl UpstreamPools {
    /// Loads the clusters' TLS material and creates the (empty) pools.
    pub fn new(config: &Config) -> Result<Arc<Self>, ConfigError> {
        let templates = config
            .clusters
            .iter()
            .enumerate()
            .map(|(i, cluster)| {
                let tls = match &cluster.tls {
                    Some(tls) if cluster.address.tls => {
                        let client = super::tls::client_config(tls, i, true)?;
                        let name = tls
                            .sni
                            .clone()
                            .unwrap_or_else(|| cluster.address.host.clone());
                        let name = ServerName::try_from(name.clone()).map_err(|_| {
                            ConfigError::new(
                                format!("clusters[{i}].tls.sni"),
                                format!("`{name}` is not a valid server name"),
                            )
                        })?;
                        Some((TlsConnector::from(client), name))
                    }
                    _ => None,
                };
                Ok(ClusterTemplate {
                    config: cluster.clone(),
                    tls,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let build = || -> Result<Upstreams, ConfigError> {
            let clusters = templates
                .iter()
                .enumerate()
                .map(|(i, t)| UpstreamCluster::new(t, i))
                .collect::<Result<_, _>>()?;
            Ok(Upstreams { clusters })
        };
        Ok(Arc::new(Self {
            id: NEXT_POOLS_ID.fetch_add(1, Ordering::Relaxed),
            workers: (0..config.workers)
                .map(|_| build())
                .collect::<Result<_, _>>()?,
            other: build()?,
        }))
    }

    /// Worker `index`'s clients. Also marks the calling thread as that
    /// worker so its callouts use the same pools.
    pub fn enter_worker(&self, index: usize) -> Upstreams {
        CURRENT_WORKER.with(|c| c.set(Some((self.id, index))));
        self.workers.get(index).unwrap_or(&self.other).clone()
    }

    fn current(&self) -> &Upstreams {
        match CURRENT_WORKER.with(Cell::get) {
            Some((id, index)) if id == self.id => self.workers.get(index).unwrap_or(&self.other),
            _ => &self.other,
        }
    }
}

impl CalloutClient for UpstreamPools {
    fn has_cluster(&self, cluster: &str) -> bool {
        self.other.find(cluster).is_some()
    }

    fn call(
        &self,
        cluster: &str,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> CalloutFuture {
        let Some(cluster) = self.current().find(cluster).cloned() else {
            return Box::pin(async { Err(CalloutError::UnknownCluster) });
        };
        Box::pin(async move {
            let request = request.map(full_body);
            let limit = cluster.max_callout_response;
            let exchange = async {
                let response = cluster.send(request).await.map_err(|e| match e {
                    ProxyError::Timeout => CalloutError::Timeout,
                    other => CalloutError::Connect(other.to_string()),
                })?;
                let (parts, body) = response.into_parts();
                let too_large = || {
                    CalloutError::Connect(format!(
                        "answer body larger than max_callout_response_bytes ({limit})"
                    ))
                };
                // Refuse a declared length over the cap before reading, and
                // never buffer more than the cap of an undeclared one.
                if body.size_hint().lower() > limit as u64 {
                    return Err(too_large());
                }
                let body = http_body_util::Limited::new(body, limit)
                    .collect()
                    .await
                    .map_err(|e| {
                        if e.is::<http_body_util::LengthLimitError>() {
                            too_large()
                        } else {
                            CalloutError::Connect(format!("reading the body: {e}"))
                        }
                    })?
                    .to_bytes();
                Ok(http::Response::from_parts(parts, body))
            };
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| CalloutError::Timeout)?
        })
    }
}

impl Upstreams {
    /// The cluster called `name`.
    pub fn find(&self, name: &str) -> Option<&UpstreamCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

impl UpstreamCluster {
    fn new(template: &ClusterTemplate, index: usize) -> Result<Self, ConfigError> {
        let config = &template.config;
        let field = || format!("clusters[{index}].address");
        let scheme = if config.address.tls {
            http::uri::Scheme::HTTPS
        } else {
            http::uri::Scheme::HTTP
        };
        let authority = config
            .address
            .authority()
            .parse()
            .map_err(|e| ConfigError::new(field(), format!("not a valid authority: {e}")))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let connector = Connector {
            http,
            tls: template.tls.clone(),
            connect_timeout: config.connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .http2_only(config.http2 && !config.address.tls)
            .build(connector);
        Ok(Self {
            name: config.name.clone(),
            scheme,
            authority,
            request_timeout: config.request_timeout,
            http2: config.http2,
            max_callout_response: usize::try_from(config.max_callout_response_bytes)
                .unwrap_or(usize::MAX),
            client,
        })
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `request` (its URI is rewritten to this cluster; the path and
    /// query are kept) and waits for the response headers.
    pub fn send(
        &self,
        mut request: http::Request<Body>,
    ) -> impl Future<Output = Result<http::Response<Incoming>, ProxyError>> + Send + 'static {
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build();
        *request.version_mut() = if self.http2 && self.scheme == http::uri::Scheme::HTTP {
            http::Version::HTTP_2
        } else {
            http::Version::HTTP_11
        };
        let client = self.client.clone();
        let timeout = self.request_timeout;
        async move {
            *request.uri_mut() =
                uri.map_err(|e| ProxyError::BadGateway(format!("bad upstream uri: {e}")))?;
            match tokio::time::timeout(timeout, client.request(request)).await {
                Err(_) => Err(ProxyError::Timeout),
                Ok(Ok(response)) => Ok(response),
                Ok(Err(e)) if e.is_connect() => Err(ProxyError::Unavailable(error_chain(&e))),
                Ok(Err(e)) => Err(classify_send_error(&e)),
            }
        }
    }
}

/// Whom a failed exchange is to blame on: a request body that broke on the
/// client's side (hyper reports the body stream's own error as a "user"
/// error) is the client's, 400 or 408; anything else is the upstream's, 502.
fn classify_send_error(error: &(dyn std::error::Error + 'static)) -> ProxyError {
    let mut source = Some(error);
    let mut body_failed = false;
    while let Some(e) = source {
        if e.is::<crate::runtime::BodyTimeout>() {
            return ProxyError::RequestBodyTimeout;
        }
        if e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_user)
        {
            body_failed = true;
        }
        source = e.source();
    }
    if body_failed {
        ProxyError::RequestBody(error_chain(error))
    } else {
        ProxyError::BadGateway(error_chain(error))
    }
}

/// `error: cause: cause` on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// TCP, then TLS for `https://` clusters.
#[derive(Clone)]
pub struct Connector {
    http: HttpConnector,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
}

impl tower_service::Service<Uri> for Connector {
    type Response = UpstreamStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        let tls = self.tls.clone();
        let timeout = self.connect_timeout;
        Box::pin(async move {
            let tcp = connecting.await?;
            match tls {
                None => Ok(UpstreamStream::Plain(tcp)),
                Some((connector, name)) => {
                    let handshake = connector.connect(name, tcp.into_inner());
                    let stream =
                        tokio::time::timeout(timeout, handshake)
                            .await
                            .map_err(|_| {
                                io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                            })??;
                    Ok(UpstreamStream::Tls(Box::new(TokioIo::new(stream))))
                }
            }
        })
    }
}

/// A connection to an upstream.
pub enum UpstreamStream {
    /// `http://`.
    Plain(TokioIo<TcpStream>),
    /// `https://`.
    Tls(Box<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>>),
}

impl Connection for UpstreamStream {
    fn connected(&self) -> Connected {
        match self {
            Self::Plain(tcp) => tcp.inner().connected(),
            Self::Tls(tls) => {
                let (tcp, session) = tls.inner().get_ref();
                let connected = tcp.connected();
                if session.alpn_protocol() == Some(b"h2") {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl hyper::rt::Read for UpstreamStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for UpstreamStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }
}
