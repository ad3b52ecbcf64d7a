//! A worker thread: a current-thread tokio runtime and a `LocalSet`, its
//! own instances of the filter chain ([`WorkerChain`]) and its own upstream
//! pools. It takes the connections the acceptor hands it (each served by
//! `super::connection`) until told to drain, then waits for them to finish.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use super::limits::ConnectionPermit;
use super::upstream_pool::{UpstreamPools, Upstreams};
use crate::config::{ListenerLimits, RouteConfig};
use crate::metrics::Metrics;
use crate::runtime::{Runtime, RuntimeError, WorkerChain};

/// A connection accepted by the acceptor, on its way to a worker.
pub struct Accepted {
    /// The socket.
    pub stream: std::net::TcpStream,
    /// Index of the listener that accepted it.
    pub listener: usize,
    /// Peer address.
    pub peer: SocketAddr,
    /// Its place under the listener's `max_connections`, held until the
    /// connection ends.
    pub permit: ConnectionPermit,
}

/// What workers need of one listener.
pub struct ListenerShared {
    /// Name for logs and metrics.
    pub name: String,
    /// TLS acceptor, if the listener terminates TLS.
    pub tls: Option<TlsAcceptor>,
    /// Its limits.
    pub limits: ListenerLimits,
}

/// What every worker shares (all `Send + Sync`).
pub struct WorkerShared {
    /// `None` with an empty filter chain: the host is a plain proxy.
    pub runtime: Option<Arc<Runtime>>,
    /// Upstream pools (one set per worker inside).
    pub pools: Arc<UpstreamPools>,
    /// Routes, in order.
    pub routes: Vec<RouteConfig>,
    /// Per listener: name, TLS acceptor and limits.
    pub listeners: Vec<ListenerShared>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Longest a drain waits for in-flight requests.
    pub drain_timeout: Duration,
}

/// Runs worker `index` on the current thread until `shutdown` turns true
/// (then drains) or the acceptor goes away. `started` gets the outcome of
/// the chain's start-up before any connection is served.
pub fn run(
    index: usize,
    shared: Arc<WorkerShared>,
    connections: mpsc::UnboundedReceiver<Accepted>,
    shutdown: watch::Receiver<bool>,
    started: oneshot::Sender<Result<(), RuntimeError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = started.send(Err(RuntimeError::Start {
                plugin: String::new(),
                phase: "worker runtime",
                reason: e.to_string(),
            }));
            return;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(
        &runtime,
        serve_worker(index, shared, connections, shutdown, started),
    );
}

async fn serve_worker(
    index: usize,
    shared: Arc<WorkerShared>,
    mut connections: mpsc::UnboundedReceiver<Accepted>,
    mut shutdown: watch::Receiver<bool>,
    started: oneshot::Sender<Result<(), RuntimeError>>,
) {
    let upstreams = shared.pools.enter_worker(index);
    let chain = match &shared.runtime {
        None => None,
        Some(runtime) => match WorkerChain::start(runtime.clone(), index) {
            Ok(chain) => Some(chain),
            Err(e) => {
                let _ = started.send(Err(e));
                return;
            }
        },
    };
    if started.send(Ok(())).is_err() {
        return; // the server gave up starting
    }
    debug!(worker = index, "worker started");
    let worker = Rc::new(Worker {
        index,
        shared: shared.clone(),
        chain,
        upstreams,
    });
    let tracker = Rc::new(Tracker::default());
    let for_connections = shutdown.clone();
    loop {
        tokio::select! {
            accepted = connections.recv() => match accepted {
                Some(accepted) => {
                    let guard = tracker.enter();
                    let worker = worker.clone();
                    let shutdown = for_connections.clone();
                    tokio::task::spawn_local(async move {
                        worker.serve_connection(accepted, shutdown).await;
                        drop(guard);
                    });
                }
                None => break,
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    drop(connections);
    let open = tracker.open.get();
    if open > 0 {
        debug!(worker = index, open, "draining connections");
        if tokio::time::timeout(shared.drain_timeout, tracker.idle())
            .await
            .is_err()
        {
            warn!(
                worker = index,
                open = tracker.open.get(),
                "drain timeout: closing connections"
            );
        }
    }
    debug!(worker = index, "worker stopped");
}

/// Counts open connections; `idle()` resolves when none is left.
#[derive(Default)]
struct Tracker {
    open: Cell<usize>,
    notify: Notify,
}

struct TrackerGuard(Rc<Tracker>);

impl Tracker {
    fn enter(self: &Rc<Self>) -> TrackerGuard {
        self.open.set(self.open.get() + 1);
        TrackerGuard(self.clone())
    }

    async fn idle(&self) {
        while self.open.get() > 0 {
            self.notify.notified().await;
        }
    }
}

impl Drop for TrackerGuard {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get() - 1);
        if self.0.open.get() == 0 {
            self.0.notify.notify_waiters();
        }
    }
}

/// One worker's own state, shared by its connections (the serving itself
/// is in `super::connection`).
pub(super) struct Worker {
    pub(super) index: usize,
    pub(super) shared: Arc<WorkerShared>,
    pub(super) chain: Option<Rc<WorkerChain>>,
    pub(super) upstreams: Upstreams,
}
