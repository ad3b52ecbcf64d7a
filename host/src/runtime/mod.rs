//! The wasm side of the host: compiles proxy-wasm modules, runs one instance
//! per plugin per worker, and drives HTTP streams through the filter chain.
//!
//! This file is the contract between the runtime (ABI, wasmtime) and the proxy
//! layer (`crate::proxy`: sockets, TLS, routing, upstream clients). The proxy
//! layer only uses the items declared (or re-exported) here.
//!
//! Behind it: `vm` (one instance: compile, start, calls under the CPU limit,
//! crash and rebuild), `invoke` (calling into a worker's instance with crash
//! containment), `worker_tasks` (callouts, ticks, queue events),
//! `state` (per-instance and per-stream state), `process_state` (what all
//! workers share) and `exchange` (an HTTP exchange through the chain).

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use wasmtime::{Config, Engine, Linker};

use crate::abi::foreign::ForeignFunctions;
use crate::abi::queues::QueueOwner;
use crate::metrics::Metrics;

mod exchange;
mod invoke;
pub(crate) mod process_state;
pub(crate) mod state;
pub(crate) mod vm;
mod worker_tasks;

pub use exchange::{fixed_response, full_body, timeout_body, BodyTimeout};
pub use vm::{AbiVersion, CRASH_METRIC};

use invoke::SlotRef;
use process_state::ProcessState;
use state::PluginShared;
use vm::{CompiledPlugin, PluginSlot, Vm, VmState, EPOCH_TICK};

/// Default of `max_buffered_body_bytes`: body bytes a stream holds while a
/// plugin holds its headers.
pub const DEFAULT_MAX_BUFFERED_BODY_BYTES: usize = 64 << 10;

/// Error type carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body type used on every edge between proxy layer and runtime.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Everything the runtime needs to know about one plugin of the filter chain,
/// already validated by the config layer. Its `Debug` leaves out the
/// environment values and the configuration bytes (they may be secrets).
#[derive(Clone)]
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
    /// Bytes of shared data (keys plus values) the plugin's `vm_id` may hold.
    pub max_shared_data_bytes: usize,
    /// Items one shared queue holds before the oldest are dropped.
    pub max_queue_items: usize,
    /// Level below which module log lines are dropped (`get_log_level`).
    pub log_level: LogLevel,
}

impl std::fmt::Debug for PluginSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::config::{Redacted, RedactedEnv};
        f.debug_struct("PluginSpec")
            .field("name", &self.name)
            .field("module_path", &self.module_path)
            .field("root_id", &self.root_id)
            .field("vm_id", &self.vm_id)
            .field("configuration", &Redacted)
            .field("vm_configuration", &Redacted)
            .field("fail_open", &self.fail_open)
            .field(
                "environment",
                &RedactedEnv(self.environment.iter().map(|(k, _)| k)),
            )
            .field("callback_cpu_limit", &self.callback_cpu_limit)
            .field("max_memory_bytes", &self.max_memory_bytes)
            .field("log_level", &self.log_level)
            .finish()
    }
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
    fn call(
        &self,
        cluster: &str,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> CalloutFuture;
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
    engine: Engine,
    plugins: Vec<Arc<CompiledPlugin>>,
    _ticker: EpochTicker,
}

/// Advances the engine's epoch every [`EPOCH_TICK`] so that callbacks past
/// their CPU limit are interrupted. Stops when the runtime is dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })
            .ok();
        if handle.is_none() {
            tracing::error!("cannot start the epoch thread: wasm CPU limits are not enforced");
        }
        EpochTicker { stop, handle }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Runtime {
    /// Compiles every plugin's module, with the built-in foreign functions
    /// ([`ForeignFunctions::builtin`]). Errors name the plugin and the file.
    pub fn new(
        plugins: Vec<PluginSpec>,
        callouts: Arc<dyn CalloutClient>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, RuntimeError> {
        Self::with_foreign_functions(plugins, callouts, metrics, ForeignFunctions::builtin())
    }

    /// Like [`Runtime::new`], with native functions modules may call through
    /// `proxy_call_foreign_function`.
    pub fn with_foreign_functions(
        plugins: Vec<PluginSpec>,
        callouts: Arc<dyn CalloutClient>,
        metrics: Arc<Metrics>,
        foreign: ForeignFunctions,
    ) -> Result<Arc<Self>, RuntimeError> {
        let internal = |plugin: &str, reason: String| RuntimeError::Load {
            plugin: plugin.to_string(),
            path: PathBuf::new(),
            reason,
        };
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Profiling aid: `OAUTH_HOST_PROFILER=perfmap` writes
        // /tmp/perf-<pid>.map, so `perf report` names the modules' functions.
        if std::env::var_os("OAUTH_HOST_PROFILER").is_some_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine =
            Engine::new(&config).map_err(|e| internal("*", format!("wasm engine: {e:#}")))?;
        let mut linker: Linker<state::HostState> = Linker::new(&engine);
        crate::abi::add_to_linker(&mut linker)
            .map_err(|e| internal("*", format!("host functions: {e:#}")))?;
        let process = Arc::new(ProcessState {
            shared_data: Mutex::default(),
            queues: Mutex::default(),
            metric_ids: Mutex::default(),
            metrics: metrics.clone(),
            callouts,
            foreign,
        });
        let mut compiled = Vec::with_capacity(plugins.len());
        for spec in plugins {
            // Count from zero so the crash metric is visible before any crash.
            metrics.inc_counter(CRASH_METRIC, &[("plugin", &spec.name)], 0);
            let shared = Arc::new(PluginShared {
                spec,
                process: process.clone(),
            });
            compiled.push(Arc::new(vm::compile(&engine, &linker, shared)?));
        }
        let ticker = EpochTicker::start(&engine);
        Ok(Arc::new(Runtime {
            engine,
            plugins: compiled,
            _ticker: ticker,
        }))
    }

    /// Instantiates every plugin once, runs start-up and `on_configure`, then
    /// drops the instances (`oauth-host check`).
    pub fn check(&self) -> Result<(), RuntimeError> {
        for plugin in &self.plugins {
            drop(Vm::start(&self.engine, plugin, None)?);
        }
        Ok(())
    }

    /// ABI version of each plugin's module, in chain order.
    pub fn abi_versions(&self) -> Vec<(String, AbiVersion)> {
        self.plugins
            .iter()
            .map(|p| (p.shared.spec.name.clone(), p.abi))
            .collect()
    }
}

/// One worker's instances of every plugin (`!Send`). Create it on the worker
/// thread inside a `tokio::task::LocalSet`: it spawns the worker's tick and
/// queue tasks with `spawn_local`.
pub struct WorkerChain {
    slots: Vec<SlotRef>,
    worker_id: usize,
    _runtime: Arc<Runtime>,
}

impl WorkerChain {
    /// Instantiates every plugin for worker `worker_id` and runs start-up and
    /// `on_configure`. An error here must stop the host.
    pub fn start(runtime: Arc<Runtime>, worker_id: usize) -> Result<Rc<Self>, RuntimeError> {
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        let mut slots = Vec::with_capacity(runtime.plugins.len());
        for (plugin_index, compiled) in runtime.plugins.iter().enumerate() {
            let owner = QueueOwner {
                worker_id,
                plugin_index,
                sender: sender.clone(),
            };
            let vm = Vm::start(&runtime.engine, compiled, Some(owner.clone()))?;
            slots.push(Rc::new(RefCell::new(PluginSlot {
                engine: runtime.engine.clone(),
                compiled: compiled.clone(),
                queue_owner: Some(owner),
                state: VmState::Running(Box::new(vm)),
                generation: 1,
                crashes_in_row: 0,
                tick_epoch: 0,
            })));
        }
        for slot in &slots {
            invoke::after_start(slot);
        }
        tokio::task::spawn_local(worker_tasks::run_queue_events(
            slots.iter().map(Rc::downgrade).collect(),
            events,
        ));
        Ok(Rc::new(WorkerChain {
            slots,
            worker_id,
            _runtime: runtime,
        }))
    }

    /// This worker's id.
    pub fn worker_id(&self) -> usize {
        self.worker_id
    }

    /// A new HTTP stream (one request/response exchange) through the chain,
    /// holding at most [`DEFAULT_MAX_BUFFERED_BODY_BYTES`] of body while a
    /// plugin holds its headers.
    pub fn new_stream(self: &Rc<Self>, connection: Arc<ConnectionInfo>) -> HttpStream {
        self.new_stream_limited(connection, DEFAULT_MAX_BUFFERED_BODY_BYTES)
    }

    /// A new HTTP stream that holds at most `max_buffered_body_bytes` of a
    /// body while a plugin holds that direction's headers (paused waiting
    /// for keys or an introspection answer): beyond, the source is not read
    /// further and the request gets 413 (a response, 502).
    pub fn new_stream_limited(
        self: &Rc<Self>,
        connection: Arc<ConnectionInfo>,
        max_buffered_body_bytes: usize,
    ) -> HttpStream {
        HttpStream {
            driver: exchange::StreamDriver::new(exchange::StreamShared::new(
                &self.slots,
                connection,
                max_buffered_body_bytes,
            )),
        }
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
    driver: exchange::StreamDriver,
}

impl HttpStream {
    /// Runs the request through every plugin's request phase. Resolves once
    /// headers may go upstream (waiting for paused plugins: callouts,
    /// body buffering) or a reply has been decided.
    pub async fn on_request(&mut self, request: http::Request<Body>) -> RequestVerdict {
        self.driver.on_request(request).await
    }

    /// Runs the upstream's (or the proxy's own 502/503/504) response through
    /// every plugin's response phase, in reverse order.
    pub async fn on_response(&mut self, response: http::Response<Body>) -> http::Response<Body> {
        self.driver.on_response(response).await
    }
}
