//! The proxy-wasm adapter: moves data between the host and [`crate::core`].
//!
//! - [`root::Root`] parses the configuration in `on_configure`, drives key
//!   fetches from `on_tick` (`dispatch_http_call`), receives their answers,
//!   and re-evaluates held requests after each (switching to their context
//!   with `set_effective_context`, then resuming or answering them).
//! - [`http::Http`] reads a request's headers and properties, asks the core,
//!   and applies the decision.
//! - [`store::HostStore`] is the core's shared-data view over
//!   `get_shared_data`/`set_shared_data` (compare-and-swap).
//!
//! No `RefCell` borrow is held across a host call that can call back into the
//! module (`send_http_response`, `resume_http_request`).

pub mod http;
pub mod root;
pub mod store;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, MapType, MetricType};

use crate::core::events::{Event, Level};
use crate::core::{Decision, Filter, RequestView, UnixMillis};

#[allow(missing_docs)]
mod entry {
    use proxy_wasm::types::LogLevel;

    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|id| -> Box<dyn proxy_wasm::traits::RootContext> {
            Box::new(super::root::Root::new(id))
        });
    }}
}

/// State shared by a root context and its HTTP contexts (one worker).
pub struct Worker {
    /// The core, once configured.
    pub filter: Option<Filter>,
    /// Held requests: context id → when first held.
    pub waiting: BTreeMap<u32, UnixMillis>,
    /// Metric ids by name.
    metrics: HashMap<String, u32>,
}

/// Shared handle.
pub type WorkerRef = Rc<RefCell<Worker>>;

impl Worker {
    /// Unconfigured worker state.
    pub fn new() -> WorkerRef {
        Rc::new(RefCell::new(Worker {
            filter: None,
            waiting: BTreeMap::new(),
            metrics: HashMap::new(),
        }))
    }

    /// Log and count what the core asked for.
    pub fn emit(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Audit(a) => log(LogLevel::Info, &a.to_line()),
                Event::Log(level, msg) => {
                    let l = match level {
                        Level::Debug => LogLevel::Debug,
                        Level::Info => LogLevel::Info,
                        Level::Warn => LogLevel::Warn,
                        Level::Error => LogLevel::Error,
                    };
                    log(l, &format!("oauth-filter: {msg}"));
                }
                Event::Metric(m) => {
                    let name = m.name();
                    let id = match self.metrics.get(&name) {
                        Some(id) => Some(*id),
                        None => match hostcalls::define_metric(MetricType::Counter, &name) {
                            Ok(id) => {
                                self.metrics.insert(name, id);
                                Some(id)
                            }
                            Err(_) => None,
                        },
                    };
                    if let Some(id) = id {
                        let _ = hostcalls::increment_metric(id, 1);
                    }
                }
            }
        }
    }
}

/// Log, ignoring a host that refuses (nothing better to do).
pub fn log(level: LogLevel, msg: &str) {
    let _ = hostcalls::log(level, msg);
}

/// The host's clock.
pub fn now() -> UnixMillis {
    let t = hostcalls::get_current_time().unwrap_or(UNIX_EPOCH);
    UnixMillis(
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

fn property(path: &[&str]) -> Option<String> {
    match hostcalls::get_property(path.to_vec()) {
        Ok(Some(b)) => String::from_utf8(b).ok(),
        _ => None,
    }
}

/// What [`evaluate`] did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Forwarded (headers edited; resumed if it was held).
    Forwarded,
    /// Answered locally.
    Replied,
    /// Still held.
    Held,
}

/// Ask the core about the request of the current effective context and apply
/// the answer.
pub fn evaluate(
    worker: &WorkerRef,
    context_id: u32,
    held_since: Option<UnixMillis>,
    resumed: bool,
) -> Applied {
    let headers = hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let method = property(&["request", "method"])
        .or_else(|| header(":method"))
        .unwrap_or_default();
    let path = property(&["request", "url_path"])
        .or_else(|| header(":path"))
        .unwrap_or_default();
    let now = now();
    let decision = {
        let mut w = worker.borrow_mut();
        let Some(filter) = w.filter.as_mut() else {
            drop(w);
            // Never configured: fail closed.
            log(
                LogLevel::Error,
                "oauth-filter: request before a valid configuration; refusing",
            );
            let _ = hostcalls::send_http_response(503, vec![("content-type", "application/json")],
                Some(br#"{"error":"temporarily_unavailable","error_description":"filter not configured"}"#));
            return Applied::Replied;
        };
        let req = RequestView {
            method: &method,
            path: &path,
            headers: &headers,
            held_since,
        };
        let d = filter.on_request(&req, now);
        let events = filter.drain_events();
        w.emit(events);
        match d {
            Decision::Pause => {
                w.waiting.entry(context_id).or_insert(now);
                return Applied::Held;
            }
            other => {
                w.waiting.remove(&context_id);
                other
            }
        }
    };
    match decision {
        Decision::Continue(edits) => {
            for h in &edits.remove {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, h, None);
            }
            for (h, v) in &edits.set {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, h, Some(v));
            }
            if resumed {
                let _ = hostcalls::resume_http_request();
            }
            Applied::Forwarded
        }
        Decision::Reply(r) => {
            let hs: Vec<(&str, &str)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let _ = hostcalls::send_http_response(u32::from(r.status), hs, Some(r.body.as_bytes()));
            Applied::Replied
        }
        Decision::Pause => Applied::Held,
    }
}

/// Re-evaluate every held request (after keys may have changed or time passed).
pub fn resume_waiting(worker: &WorkerRef, root_id: u32) {
    let held: Vec<(u32, UnixMillis)> = worker
        .borrow()
        .waiting
        .iter()
        .map(|(k, v)| (*k, *v))
        .collect();
    if held.is_empty() {
        return;
    }
    for (id, since) in held {
        if hostcalls::set_effective_context(id).is_err() {
            // The stream is gone.
            worker.borrow_mut().waiting.remove(&id);
            continue;
        }
        evaluate(worker, id, Some(since), true);
    }
    let _ = hostcalls::set_effective_context(root_id);
}

/// A process-unique worker id: 16 random bytes (WASI `random_get`), or the
/// clock and context id should that fail.
pub fn worker_id(root_id: u32) -> String {
    let mut b = [0u8; 16];
    match getrandom::getrandom(&mut b) {
        Ok(()) => b.iter().map(|x| format!("{x:02x}")).collect(),
        Err(_) => {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{t:x}-{root_id}")
        }
    }
}
