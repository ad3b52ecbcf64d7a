//! Listener limits enforced outside hyper: the open-connection count per
//! listener ([`ConnectionGate`]) and the idle timeout of a connection
//! ([`IdleTracker`]). Header size and count, the header read timeout and the
//! HTTP/2 limits are hyper's own settings (`super::connection`); the
//! request body timeout is `crate::runtime::timeout_body`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// Counts the open connections of one listener against its
/// `max_connections`.
#[derive(Debug)]
pub struct ConnectionGate {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One open connection of a [`ConnectionGate`]; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionPermit(Arc<AtomicUsize>);

impl ConnectionGate {
    /// A gate letting `max` connections in at once.
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A permit, or `None` when `max` connections are open.
    pub fn try_enter(&self) -> Option<ConnectionPermit> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnectionPermit(self.open.clone()))
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Requests in flight on one connection and since when it has had none.
#[derive(Debug)]
pub struct IdleTracker {
    in_flight: Cell<usize>,
    idle_since: Cell<Instant>,
}

/// One request in flight; it ends when its response body is dropped.
#[derive(Debug)]
pub struct InFlight(Rc<IdleTracker>);

impl IdleTracker {
    /// A connection idle from now.
    pub fn new() -> Rc<Self> {
        Rc::new(Self {
            in_flight: Cell::new(0),
            idle_since: Cell::new(Instant::now()),
        })
    }

    /// A request begins.
    pub fn begin(self: &Rc<Self>) -> InFlight {
        self.in_flight.set(self.in_flight.get() + 1);
        InFlight(self.clone())
    }

    /// When the connection will have been idle for `timeout`, if nothing
    /// happens meanwhile (with requests in flight: `timeout` from now, to
    /// look again then).
    pub fn deadline(&self, timeout: Duration) -> Instant {
        if self.in_flight.get() > 0 {
            Instant::now() + timeout
        } else {
            self.idle_since.get() + timeout
        }
    }

    /// Whether the connection has been idle for `timeout`.
    pub fn expired(&self, timeout: Duration) -> bool {
        self.in_flight.get() == 0 && self.idle_since.get().elapsed() >= timeout
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let n = self.0.in_flight.get().saturating_sub(1);
        self.0.in_flight.set(n);
        if n == 0 {
            self.0.idle_since.set(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_counts_permits() {
        let gate = ConnectionGate::new(2);
        let a = gate.try_enter().unwrap();
        let _b = gate.try_enter().unwrap();
        assert!(gate.try_enter().is_none());
        drop(a);
        assert_eq!(gate.open(), 1);
        assert!(gate.try_enter().is_some());
    }

    #[test]
    fn idle_only_without_requests_in_flight() {
        let t = IdleTracker::new();
        let timeout = Duration::from_millis(30);
        let request = t.begin();
        std::thread::sleep(Duration::from_millis(40));
        assert!(!t.expired(timeout));
        drop(request);
        assert!(!t.expired(timeout));
        std::thread::sleep(Duration::from_millis(40));
        assert!(t.expired(timeout));
    }
}
