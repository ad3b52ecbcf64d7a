//! Harness for end-to-end tests of `oauth-host` over real sockets: an echo
//! upstream that reports what it received, in-memory PKI written to a
//! temporary directory, the host started in-process, and HTTP/1.1, h2c and
//! TLS (ALPN, optional client certificate) clients.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oauth_host::config::Config;
use oauth_host::server::{Server, ServerHandle};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// A directory under the system temp dir, removed with its content on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory.
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "oauth-tests-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in the directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test PKI: a CA, a server certificate for `localhost`/127.0.0.1 and a
/// client certificate, all signed by the CA; PEM files in a temp dir.
pub struct Pki {
    /// Holds the PEM files: `ca.pem`, `server.pem`, `server.key`,
    /// `client.pem`, `client.key`.
    pub dir: TempDir,
    /// DER of the CA certificate.
    pub ca_der: CertificateDer<'static>,
    /// DER of the client certificate.
    pub client_der: CertificateDer<'static>,
    /// PKCS#8 DER of the client key.
    pub client_key_der: Vec<u8>,
    /// DER of the server certificate.
    pub server_der: CertificateDer<'static>,
    /// PKCS#8 DER of the server key.
    pub server_key_der: Vec<u8>,
    /// DER of a second client certificate (same CA, another key).
    pub other_client_der: CertificateDer<'static>,
    /// PKCS#8 DER of the second client key.
    pub other_client_key_der: Vec<u8>,
    /// Subject of the client certificate, RFC 2253.
    pub client_subject: &'static str,
    /// URI SAN of the client certificate.
    pub client_uri_san: &'static str,
}

impl Pki {
    /// Generates everything.
    pub fn new() -> Self {
        let dir = TempDir::new("pki");
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "oauth-tests CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA cert");

        let server_key = rcgen::KeyPair::generate().expect("server key");
        let mut server_params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        server_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let server = server_params
            .signed_by(&server_key, &ca, &ca_key)
            .expect("server cert");

        let client_key = rcgen::KeyPair::generate().expect("client key");
        let mut client_params =
            rcgen::CertificateParams::new(vec!["client.test".to_string()]).expect("client params");
        client_params.distinguished_name = rcgen::DistinguishedName::new();
        client_params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "oauth-tests");
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client-1");
        client_params.subject_alt_names.push(rcgen::SanType::URI(
            rcgen::Ia5String::try_from("spiffe://test/client-1").expect("uri san"),
        ));
        let client = client_params
            .signed_by(&client_key, &ca, &ca_key)
            .expect("client cert");

        let other_key = rcgen::KeyPair::generate().expect("other client key");
        let mut other_params =
            rcgen::CertificateParams::new(vec!["other.test".to_string()]).expect("other params");
        other_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client-2");
        let other = other_params
            .signed_by(&other_key, &ca, &ca_key)
            .expect("other client cert");

        dir.write("ca.pem", ca.pem());
        dir.write("server.pem", server.pem());
        dir.write("server.key", server_key.serialize_pem());
        dir.write("client.pem", client.pem());
        dir.write("client.key", client_key.serialize_pem());
        Self {
            ca_der: ca.der().clone(),
            client_der: client.der().clone(),
            client_key_der: client_key.serialize_der(),
            other_client_der: other.der().clone(),
            other_client_key_der: other_key.serialize_der(),
            server_der: server.der().clone(),
            server_key_der: server_key.serialize_der(),
            client_subject: "CN=client-1,O=oauth-tests",
            client_uri_san: "spiffe://test/client-1",
            dir,
        }
    }

    /// Path of one of the PEM files.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// A client config trusting the CA, offering `alpn`, optionally
    /// presenting the client certificate.
    pub fn client_config(
        &self,
        alpn: &[&str],
        with_client_cert: bool,
    ) -> Arc<rustls::ClientConfig> {
        let cert = if with_client_cert {
            ClientCert::First
        } else {
            ClientCert::None
        };
        self.client_config_as(alpn, cert)
    }

    /// A client config trusting the CA, offering `alpn`, presenting `cert`.
    pub fn client_config_as(&self, alpn: &[&str], cert: ClientCert) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("add CA");
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots);
        let pair = match cert {
            ClientCert::None => None,
            ClientCert::First => Some((&self.client_der, &self.client_key_der)),
            ClientCert::Other => Some((&self.other_client_der, &self.other_client_key_der)),
        };
        let mut config = match pair {
            Some((der, key)) => builder
                .with_client_auth_cert(
                    vec![der.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.clone())),
                )
                .expect("client auth cert"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Arc::new(config)
    }
}

/// Which client certificate a TLS client presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCert {
    /// None.
    None,
    /// `client.pem` (client-1).
    First,
    /// The second one (client-2), same CA.
    Other,
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

/// An upstream on 127.0.0.1 that answers every request with JSON
/// describing it: `{"method", "path", "version", "headers": {name: value},
/// "body", "trailers": {name: value}}` (repeated headers joined with `, `), header `x-echo-name`.
/// `GET /callout-target` answers `callout-ok` as plain text; `?delay_ms=N`
/// delays any answer by N ms; `?reject=invalid_token` answers 401 with a
/// Bearer `error="invalid_token"` challenge. Runs on its own thread; stops on drop.
pub struct Echo {
    /// Bound address.
    pub addr: SocketAddr,
    /// Requests received so far (counted on arrival, before any delay).
    pub received: Arc<std::sync::atomic::AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    /// Starts an echo upstream that names itself `name`.
    pub fn start(name: &str) -> Self {
        Self::serve(name, None)
    }

    /// Starts an echo upstream over TLS (certificate for `localhost` and
    /// 127.0.0.1 from `pki`, ALPN `h2` and `http/1.1`).
    pub fn start_tls(name: &str, pki: &Pki) -> Self {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            pki.server_key_der.clone(),
        ));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.server_der.clone()], key)
        .expect("server cert");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::serve(
            name,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    fn serve(name: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = received.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind echo");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("echo addr");
        let (stop, mut stopped) = oneshot::channel::<()>();
        let name = name.to_string();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("echo runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("echo listener");
                loop {
                    let (stream, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                        _ = &mut stopped => return,
                    };
                    let name = name.clone();
                    let tls = tls.clone();
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            counter.fetch_add(1, Ordering::SeqCst);
                            echo(name.clone(), request)
                        });
                        let builder =
                            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        let _ = match tls {
                            None => {
                                builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await
                            }
                            Some(tls) => match tls.accept(stream).await {
                                Ok(stream) => {
                                    builder
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await
                                }
                                Err(_) => return,
                            },
                        };
                    });
                }
            });
        });
        Self {
            addr,
            received,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `https://127.0.0.1:<port>` (for [`Echo::start_tls`]).
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn echo(
    name: String,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let (body, trailers) = match body.collect().await {
        Ok(c) => {
            let trailers = c.trailers().cloned().unwrap_or_default();
            (c.to_bytes(), trailers)
        }
        Err(_) => (Bytes::new(), http::HeaderMap::new()),
    };
    if let Some(ms) = query_param(&parts.uri, "delay_ms").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut response = if query_param(&parts.uri, "reject").as_deref() == Some("invalid_token") {
        // An API refusing the bearer token it was given (RFC 6750 §3.1).
        let mut r = http::Response::new(Full::new(Bytes::from_static(b"{}")));
        *r.status_mut() = http::StatusCode::UNAUTHORIZED;
        r.headers_mut().insert(
            "www-authenticate",
            http::HeaderValue::from_static("Bearer realm=\"echo\", error=\"invalid_token\""),
        );
        r
    } else if parts.uri.path() == "/callout-target" {
        http::Response::new(Full::new(Bytes::from_static(b"callout-ok")))
    } else {
        let mut headers = serde_json::Map::new();
        for name in parts.headers.keys() {
            let values: Vec<&str> = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            headers.insert(name.to_string(), values.join(", ").into());
        }
        let json = serde_json::json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
            "version": format!("{:?}", parts.version),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
            "trailers": trailers
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect::<serde_json::Map<String, serde_json::Value>>(),
        });
        let mut response = http::Response::new(Full::new(Bytes::from(json.to_string())));
        response.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
        response
    };
    response.headers_mut().insert(
        "x-echo-name",
        http::HeaderValue::from_str(&name).unwrap_or(http::HeaderValue::from_static("echo")),
    );
    // A hop-by-hop header the proxy must not pass downstream.
    response
        .headers_mut()
        .insert("keep-alive", http::HeaderValue::from_static("timeout=30"));
    Ok(response)
}

fn query_param(uri: &http::Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

/// A host started in-process from a YAML config (relative paths resolve
/// against `dir`); shuts down on [`Host::shutdown`] or drop.
pub struct Host {
    /// The running server.
    pub handle: Option<ServerHandle>,
}

impl Host {
    /// Parses `yaml` and starts the server; panics with the error otherwise.
    pub async fn start(yaml: &str, dir: &Path) -> Self {
        let config = Config::parse(yaml, dir).unwrap_or_else(|e| panic!("config: {e}\n{yaml}"));
        let handle = Server::start(config)
            .await
            .unwrap_or_else(|e| panic!("start: {e}"));
        Self {
            handle: Some(handle),
        }
    }

    /// Address of listener `index`.
    pub fn listener(&self, index: usize) -> SocketAddr {
        self.handle.as_ref().expect("running").listener_addrs()[index]
    }

    /// Address of the admin listener.
    pub fn admin(&self) -> SocketAddr {
        self.handle
            .as_ref()
            .expect("running")
            .admin_addr()
            .expect("admin listener configured")
    }

    /// Graceful shutdown.
    pub async fn shutdown(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await;
        }
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A response read completely.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: http::StatusCode,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Bytes,
    /// HTTP version of the response.
    pub version: http::Version,
}

impl Reply {
    /// Body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body as JSON (panics with the body otherwise).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A request header as the echo upstream saw it.
    pub fn upstream_header(&self, name: &str) -> Option<String> {
        self.json()["headers"][name].as_str().map(str::to_string)
    }
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

/// One client connection to the host (requests on it go to one worker).
pub struct Conn {
    /// The client side's address (the host sees it as the source).
    pub local: SocketAddr,
    sender: Sender,
    authority: String,
    scheme: &'static str,
}

/// Protocol for [`Conn::tls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// Offer `h2` only and speak HTTP/2.
    H2,
    /// Offer `http/1.1` only.
    Http1,
}

impl Conn {
    /// Plain HTTP/1.1.
    pub async fn http1(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let local = stream.local_addr().expect("local addr");
        Self::handshake(TokioIo::new(stream), local, false, addr.to_string(), "http").await
    }

    /// HTTP/2 with prior knowledge (h2c).
    pub async fn h2c(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let local = stream.local_addr().expect("local addr");
        Self::handshake(TokioIo::new(stream), local, true, addr.to_string(), "http").await
    }

    /// TLS to `localhost`, with ALPN, optionally with the client certificate.
    pub async fn tls(
        addr: SocketAddr,
        pki: &Pki,
        alpn: Alpn,
        client_cert: bool,
    ) -> Result<Self, String> {
        let protocols: &[&str] = match alpn {
            Alpn::H2 => &["h2"],
            Alpn::Http1 => &["http/1.1"],
        };
        let connector = tokio_rustls::TlsConnector::from(pki.client_config(protocols, client_cert));
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").expect("server name");
        let tls = connector
            .connect(name, stream)
            .await
            .map_err(|e| e.to_string())?;
        let negotiated_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        assert_eq!(negotiated_h2, alpn == Alpn::H2, "ALPN outcome");
        let authority = format!("localhost:{}", addr.port());
        Ok(Self::handshake(TokioIo::new(tls), local, negotiated_h2, authority, "https").await)
    }

    async fn handshake<I>(
        io: TokioIo<I>,
        local: SocketAddr,
        h2: bool,
        authority: String,
        scheme: &'static str,
    ) -> Self
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let sender = if h2 {
            let (sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .expect("h2 handshake");
            tokio::spawn(connection);
            Sender::H2(sender)
        } else {
            let (sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .expect("http1 handshake");
            tokio::spawn(connection);
            Sender::H1(sender)
        };
        Self {
            local,
            sender,
            authority,
            scheme,
        }
    }

    /// Another handle on the same HTTP/2 connection: requests sent through
    /// each run concurrently as separate streams. `None` for HTTP/1.1.
    pub fn h2_clone(&self) -> Option<Conn> {
        match &self.sender {
            Sender::H2(sender) => Some(Conn {
                local: self.local,
                sender: Sender::H2(sender.clone()),
                authority: self.authority.clone(),
                scheme: self.scheme,
            }),
            Sender::H1(_) => None,
        }
    }

    /// `GET path` with extra headers.
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
        self.send("GET", path, headers, Bytes::new()).await
    }

    /// Sends one request and reads the whole response.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, String> {
        let mut builder = http::Request::builder().method(method);
        builder = match &self.sender {
            Sender::H1(_) if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) => {
                builder.uri(path)
            }
            Sender::H1(_) => builder.uri(path).header("host", &self.authority),
            Sender::H2(_) => builder
                .uri(format!("{}://{}{}", self.scheme, self.authority, path))
                .version(http::Version::HTTP_2),
        };
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = match &mut self.sender {
            Sender::H1(sender) => {
                sender.ready().await.map_err(|e| e.to_string())?;
                sender.send_request(request).await
            }
            Sender::H2(sender) => {
                sender.ready().await.map_err(|e| e.to_string())?;
                sender.send_request(request).await
            }
        }
        .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
            version: parts.version,
        })
    }
}

/// `GET http://addr/path` on a fresh HTTP/1.1 connection.
pub async fn get(addr: SocketAddr, path: &str) -> Reply {
    Conn::http1(addr)
        .await
        .get(path, &[])
        .await
        .expect("request")
}

/// Runs `future` with a 30-second limit (tests never hang).
pub async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("test step timed out")
}
