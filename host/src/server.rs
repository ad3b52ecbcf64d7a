//! Lifecycle: start a server from a [`Config`], learn its bound addresses,
//! shut it down gracefully. Used by the binary and, in-process, by tests.
//!
//! Threads: one control thread runs the acceptors and the admin listener;
//! N worker threads serve connections. The acceptor hands accepted sockets
//! to the workers round-robin over channels rather than each worker
//! accepting on its own `SO_REUSEPORT` socket: listeners on port 0 work as
//! is, which worker gets a connection is predictable (tests of per-worker
//! state rely on it), one place stops accepting on shutdown, and the cost is
//! one channel send per connection, not per request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::admin::{self, Lifecycle, State};
use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::proxy::limits::ConnectionGate;
use crate::proxy::upstream_pool::UpstreamPools;
use crate::proxy::worker_thread::{self, Accepted, ListenerShared, WorkerShared};
use crate::runtime::{Runtime, RuntimeError};

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable (e.g. a certificate does not parse).
    #[error("config error: {0}")]
    Config(#[from] ConfigError),
    /// A listener address could not be bound.
    #[error("cannot listen on {address} ({what}): {source}")]
    Bind {
        /// `listeners[i]` or `admin`.
        what: String,
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A plugin failed to load or start.
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    /// A thread could not be created.
    #[error("cannot start thread: {0}")]
    Thread(std::io::Error),
}

/// Entry point: [`Server::start`].
pub struct Server;

/// A running server. Dropping it without [`ServerHandle::shutdown`] stops it
/// without waiting.
pub struct ServerHandle {
    listeners: Vec<SocketAddr>,
    admin: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    admin_stop: watch::Sender<bool>,
    workers_finished: Vec<oneshot::Receiver<()>>,
    control_finished: Option<oneshot::Receiver<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Loads the modules, starts every worker (each runs its plugins'
    /// start-up and `on_configure`), binds the listeners and starts serving.
    /// Fails (and leaves nothing running) if any step fails: routes are
    /// never served unprotected.
    pub async fn start(config: Config) -> Result<ServerHandle, StartError> {
        let metrics = Arc::new(Metrics::default());
        let pools = UpstreamPools::new(&config)?;
        let mut listeners_tls = Vec::new();
        for (i, listener) in config.listeners.iter().enumerate() {
            let acceptor = match &listener.tls {
                Some(tls) => Some(TlsAcceptor::from(crate::proxy::tls::server_config(tls, i)?)),
                None => None,
            };
            listeners_tls.push(ListenerShared {
                name: listener.name.clone(),
                tls: acceptor,
                limits: listener.limits.clone(),
            });
        }

        // Bind everything first: a busy port fails fast, before compiling.
        let bind = |what: String, address: SocketAddr| {
            std::net::TcpListener::bind(address)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|source| StartError::Bind {
                    what,
                    address,
                    source,
                })
        };
        let mut listeners = Vec::new();
        let mut gates = Vec::new();
        for (i, listener) in config.listeners.iter().enumerate() {
            listeners.push(bind(format!("listeners[{i}]"), listener.address)?);
            gates.push((
                listener.name.clone(),
                ConnectionGate::new(listener.limits.max_connections),
            ));
        }
        let admin = match &config.admin {
            Some(admin) => Some(bind("admin".into(), admin.address)?),
            None => None,
        };
        let listener_addrs = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::Thread)?;
        let admin_addr = admin
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()
            .map_err(StartError::Thread)?;

        let state = Arc::new(State::new());
        let (stop, stop_rx) = watch::channel(false);
        let (admin_stop, admin_stop_rx) = watch::channel(false);
        let mut handle = ServerHandle {
            listeners: listener_addrs,
            admin: admin_addr,
            metrics: metrics.clone(),
            state: state.clone(),
            stop,
            admin_stop,
            workers_finished: Vec::new(),
            control_finished: None,
            threads: Vec::new(),
        };

        // The control thread serves the admin listener at once (`/ready`
        // answers 503 while starting); its acceptors wait for `go`.
        let (go, go_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let control_state = state.clone();
        let control_metrics = metrics.clone();
        let control_stop = stop_rx.clone();
        let control = std::thread::Builder::new()
            .name("oauth-host-control".into())
            .spawn(move || {
                control(
                    listeners.into_iter().zip(gates).collect(),
                    admin,
                    go_rx,
                    control_state,
                    control_metrics,
                    control_stop,
                    admin_stop_rx,
                );
                let _ = done_tx.send(());
            })
            .map_err(StartError::Thread)?;
        handle.threads.push(control);
        handle.control_finished = Some(done_rx);

        match start_workers(&config, &mut handle, pools, listeners_tls, metrics, stop_rx).await {
            Ok(senders) => {
                let _ = go.send(senders);
            }
            Err(e) => {
                drop(go);
                handle.stop().await;
                return Err(e);
            }
        }
        state.set(Lifecycle::Ready);
        info!(
            listeners = ?handle.listeners,
            admin = ?handle.admin,
            workers = config.workers,
            "oauth-host serving"
        );
        Ok(handle)
    }
}

/// Compiles the modules and starts every worker; each must report a
/// started chain before any connection is accepted.
async fn start_workers(
    config: &Config,
    handle: &mut ServerHandle,
    pools: Arc<UpstreamPools>,
    listeners: Vec<ListenerShared>,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<mpsc::UnboundedSender<Accepted>>, StartError> {
    let runtime = if config.filters.is_empty() {
        None
    } else {
        let specs = config.plugin_specs()?;
        let (callouts, metrics) = (pools.clone(), metrics.clone());
        // Compiling modules takes a while: keep it off the caller's runtime.
        let compiled = tokio::task::spawn_blocking(move || Runtime::new(specs, callouts, metrics))
            .await
            .map_err(|e| RuntimeError::Start {
                plugin: String::new(),
                phase: "compile",
                reason: e.to_string(),
            })??;
        Some(compiled)
    };
    let shared = Arc::new(WorkerShared {
        runtime,
        pools,
        routes: config.routes.clone(),
        listeners,
        metrics,
        drain_timeout: config.drain_timeout,
    });
    let mut senders = Vec::new();
    let mut started = Vec::new();
    for index in 0..config.workers {
        let (tx, rx) = mpsc::unbounded_channel();
        let (started_tx, started_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let shared = shared.clone();
        let stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("oauth-host-worker-{index}"))
            .spawn(move || {
                worker_thread::run(index, shared, rx, stop, started_tx);
                let _ = done_tx.send(());
            })
            .map_err(StartError::Thread)?;
        handle.threads.push(thread);
        handle.workers_finished.push(done_rx);
        senders.push(tx);
        started.push(started_rx);
    }
    for (index, started) in started.into_iter().enumerate() {
        started.await.unwrap_or_else(|_| {
            Err(RuntimeError::Start {
                plugin: String::new(),
                phase: "worker start",
                reason: format!("worker {index} ended during start-up"),
            })
        })?;
    }
    Ok(senders)
}

/// The control thread: admin listener from the start, acceptors once the
/// workers are up (`go`).
fn control(
    listeners: Vec<(std::net::TcpListener, (String, ConnectionGate))>,
    admin: Option<std::net::TcpListener>,
    go: oneshot::Receiver<Vec<mpsc::UnboundedSender<Accepted>>>,
    state: Arc<State>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
    admin_stop: watch::Receiver<bool>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            warn!("cannot start the control runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        let admin_task = admin.and_then(|admin| match TcpListener::from_std(admin) {
            Ok(admin) => Some(tokio::spawn(admin::serve(
                admin,
                state.clone(),
                metrics.clone(),
                admin_stop,
            ))),
            Err(e) => {
                warn!("admin listener: {e}");
                None
            }
        });
        let workers = tokio::select! {
            workers = go => workers.ok(),
            _ = stop.wait_for(|stop| *stop) => None,
        };
        if let Some(workers) = workers {
            let workers = Arc::new(workers);
            let next = Arc::new(AtomicUsize::new(0));
            let mut acceptors = Vec::new();
            for (index, (listener, gate)) in listeners.into_iter().enumerate() {
                let listener = match TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        warn!("listener {index}: {e}");
                        continue;
                    }
                };
                acceptors.push(tokio::spawn(accept(
                    Acceptor {
                        index,
                        listener,
                        gate,
                        metrics: metrics.clone(),
                    },
                    workers.clone(),
                    next.clone(),
                    stop.clone(),
                )));
            }
            for acceptor in acceptors {
                let _ = acceptor.await;
            }
            // Acceptors have stopped: dropping the senders lets idle workers end.
        } else {
            drop(listeners);
        }
        if let Some(admin) = admin_task {
            let _ = admin.await;
        }
    });
}

/// One listener's accept loop state.
struct Acceptor {
    index: usize,
    listener: TcpListener,
    /// The listener's name and its connection count.
    gate: (String, ConnectionGate),
    metrics: Arc<Metrics>,
}

async fn accept(
    acceptor: Acceptor,
    workers: Arc<Vec<mpsc::UnboundedSender<Accepted>>>,
    next: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    let Acceptor {
        index,
        listener,
        gate: (name, gate),
        metrics,
    } = acceptor;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let Some(permit) = gate.try_enter() else {
                    // Over max_connections: close at once (the socket is
                    // dropped here), count it, keep accepting.
                    debug!(listener = index, %peer, open = gate.open(), "connection limit reached");
                    metrics.inc_counter(
                        "oauth_host_downstream_connections_rejected_total",
                        &[("listener", &name)],
                        1,
                    );
                    drop(stream);
                    continue;
                };
                let stream = match stream.into_std() {
                    Ok(stream) => stream,
                    Err(e) => {
                        debug!("cannot hand over connection: {e}");
                        continue;
                    }
                };
                let worker = next.fetch_add(1, Ordering::Relaxed) % workers.len();
                if workers[worker]
                    .send(Accepted {
                        stream,
                        listener: index,
                        peer,
                        permit,
                    })
                    .is_err()
                {
                    debug!(worker, "worker gone; connection dropped");
                }
            }
            Err(e) => {
                // EMFILE and friends: back off a little instead of spinning.
                warn!("accept on listener {index} failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

impl ServerHandle {
    /// Bound address of each listener, in config order (port 0 resolved).
    pub fn listener_addrs(&self) -> &[SocketAddr] {
        &self.listeners
    }

    /// Bound address of the admin listener.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish (up
    /// to the drain timeout), then stop every thread.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        self.state.set(Lifecycle::Draining);
        let _ = self.stop.send(true);
        for finished in self.workers_finished.drain(..) {
            let _ = finished.await;
        }
        // The admin listener answers 503 on /ready until the workers drained.
        let _ = self.admin_stop.send(true);
        if let Some(finished) = self.control_finished.take() {
            let _ = finished.await;
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        debug!("server stopped");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.state.set(Lifecycle::Draining);
        let _ = self.stop.send(true);
        let _ = self.admin_stop.send(true);
    }
}

/// `oauth-host check`: everything [`Server::start`] does short of binding
/// and serving: TLS material loads, every module compiles, instantiates,
/// starts and accepts its configuration.
pub fn check(config: &Config) -> Result<(), StartError> {
    let pools = UpstreamPools::new(config)?;
    for (i, listener) in config.listeners.iter().enumerate() {
        if let Some(tls) = &listener.tls {
            crate::proxy::tls::server_config(tls, i)?;
        }
    }
    if !config.filters.is_empty() {
        let runtime = Runtime::new(config.plugin_specs()?, pools, Arc::new(Metrics::default()))?;
        runtime.check()?;
    }
    Ok(())
}
