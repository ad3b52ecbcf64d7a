//! The wasm side of the host: compiles proxy-wasm modules, runs one instance
//! per plugin per worker, and drives HTTP streams through the filter chain.
//!
//! This file is the contract between the runtime (ABI, wasmtime) and the proxy
//! layer (`crate::proxy`: sockets, TLS, routing, upstream clients). The proxy
//! layer only uses the items declared here.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::metrics::Metrics;

/// Error type carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body type used on every edge between proxy layer and runtime.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Everything the runtime needs to know about one plugin of the filter chain,
/// already validated by the config layer.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// Plugin name (`plugin_name` property, log and metric labels).
    pub name: String,
    /// Path of the `.wasm` file.
    pub module_path: PathBuf,
    /// Root context id (`plugin_root_id`).
    pub root_id: String,
    /// VM id (`plugin_vm_id`); shared data and queues are scoped by it.
    pub vm_id: String,
    /// Bytes returned for `PLUGIN_CONFIGURATION`.
    pub configuration: Bytes,
    /// Bytes returned for `VM_CONFIGURATION`.
    pub vm_configuration: Bytes,
    /// On a crash of this plugin, let the request go on unfiltered instead of 500.
    pub fail_open: bool,
    /// Environment visible through WASI `environ_get` (empty by default).
    pub environment: Vec<(String, String)>,
    /// CPU time one callback may use before it is interrupted.
    pub callback_cpu_limit: Duration,
    /// Largest linear memory an instance may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Level below which module log lines are dropped (`get_log_level`).
    pub log_level: LogLevel,
}

/// proxy-wasm log levels (also `get_log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// 0
    Trace,
    /// 1
    Debug,
    /// 2
    Info,
    /// 3
    Warn,
    /// 4
    Error,
    /// 5
    Critical,
}

/// Facts about the downstream connection, for properties.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Process-unique connection id (`connection.id`).
    pub id: u64,
    /// Peer address (`source.address`, `source.port`).
    pub source: SocketAddr,
    /// Local address (`destination.address`, `destination.port`).
    pub destination: SocketAddr,
    /// TLS facts when the listener terminates TLS.
    pub tls: Option<TlsInfo>,
}

/// TLS facts of a downstream connection, computed by the proxy layer.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3` (`connection.tls_version`).
    pub version: String,
    /// SNI sent by the client (`connection.requested_server_name`).
    pub sni: Option<String>,
    /// DER of the verified client leaf certificate, if any.
    pub peer_certificate_der: Option<Vec<u8>>,
    /// Subject of the client certificate in RFC 2253 form (`connection.subject_peer_certificate`).
    pub peer_subject: Option<String>,
    /// URI SANs of the client certificate.
    pub peer_uri_sans: Vec<String>,
    /// DNS SANs of the client certificate.
    pub peer_dns_sans: Vec<String>,
}

/// Why an outbound `http_call` failed.
#[derive(Debug, thiserror::Error)]
pub enum CalloutError {
    /// The cluster name is not configured.
    #[error("unknown cluster")]
    UnknownCluster,
    /// Connecting failed or the connection broke.
    #[error("connection failed: {0}")]
    Connect(String),
    /// No complete answer within the timeout.
    #[error("timed out")]
    Timeout,
}

/// Future returned by [`CalloutClient::call`].
pub type CalloutFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, CalloutError>> + Send>>;

/// Outbound HTTP for `proxy_http_call`, implemented by the proxy layer over
/// its configured clusters.
pub trait CalloutClient: Send + Sync + 'static {
    /// Whether `cluster` is configured (`http_call` answers BAD_ARGUMENT if not).
    fn has_cluster(&self, cluster: &str) -> bool;
    /// Sends a fully buffered request to `cluster` and reads the whole answer.
    fn call(&self, cluster: &str, request: http::Request<Bytes>, timeout: Duration) -> CalloutFuture;
}

/// Errors that stop the host from starting (or `check` from passing).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The module could not be read or compiled.
    #[error("plugin `{plugin}`: cannot load module {path}: {reason}")]
    Load {
        /// Plugin name.
        plugin: String,
        /// Module path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `_initialize`/`_start`/`proxy_on_vm_start`/`proxy_on_configure` failed or trapped.
    #[error("plugin `{plugin}`: {phase} failed: {reason}")]
    Start {
        /// Plugin name.
        plugin: String,
        /// Which start-up step.
        phase: &'static str,
        /// Why.
        reason: String,
    },
}

/// Process-wide, `Send + Sync`: engine, compiled modules, shared data, queues.
pub struct Runtime {
    _private: (),
}

impl Runtime {
    /// Compiles every plugin's module. Errors name the plugin and the file.
    pub fn new(
        plugins: Vec<PluginSpec>,
        callouts: Arc<dyn CalloutClient>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, RuntimeError> {
        let _ = (plugins, callouts, metrics);
        todo!("runtime")
    }

    /// Instantiates every plugin once, runs start-up and `on_configure`, then
    /// drops the instances (`oauth-host check`).
    pub fn check(&self) -> Result<(), RuntimeError> {
        todo!("runtime")
    }
}

/// One worker's instances of every plugin (`!Send`). Create it on the worker
/// thread inside a `tokio::task::LocalSet`: it spawns the worker's tick and
/// queue tasks with `spawn_local`.
pub struct WorkerChain {
    _private: (),
}

impl WorkerChain {
    /// Instantiates every plugin for worker `worker_id` and runs start-up and
    /// `on_configure`. An error here must stop the host.
    pub fn start(runtime: Arc<Runtime>, worker_id: usize) -> Result<Rc<Self>, RuntimeError> {
        let _ = (runtime, worker_id);
        todo!("runtime")
    }

    /// A new HTTP stream (one request/response exchange) through the chain.
    pub fn new_stream(self: &Rc<Self>, connection: Arc<ConnectionInfo>) -> HttpStream {
        let _ = connection;
        todo!("runtime")
    }
}

/// What to do with a request after the request phase of every plugin.
pub enum RequestVerdict {
    /// Send this (possibly edited) request upstream. Its body may still be
    /// streaming through the plugins' body callbacks.
    Forward(http::Request<Body>),
    /// Answer the client with this response (local reply, or 500 after a crash
    /// of a plugin without `fail_open`). It has already been through no
    /// response-phase callbacks.
    Respond(http::Response<Body>),
}

/// One request/response exchange through a worker's chain. Dropping it ends
/// the stream (`proxy_on_done`, `proxy_on_log`, `proxy_on_delete`).
pub struct HttpStream {
    _private: (),
}

impl HttpStream {
    /// Runs the request through every plugin's request phase. Resolves once
    /// headers may go upstream (waiting for paused plugins: callouts,
    /// body buffering) or a reply has been decided.
    pub async fn on_request(&mut self, request: http::Request<Body>) -> RequestVerdict {
        let _ = request;
        todo!("runtime")
    }

    /// Runs the upstream's (or the proxy's own 502/503/504) response through
    /// every plugin's response phase, in reverse order.
    pub async fn on_response(&mut self, response: http::Response<Body>) -> http::Response<Body> {
        let _ = response;
        todo!("runtime")
    }
}
