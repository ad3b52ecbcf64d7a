//! The proxy-wasm adapter: moves data between the host and [`crate::core`].
//!
//! - [`root::Root`] parses the configuration in `on_configure`, drives key
//!   fetches from `on_tick` (`dispatch_http_call`), receives their answers,
//!   and re-evaluates held requests (switching to their context with
//!   `set_effective_context`, then resuming or answering them): after a
//!   callout answer only those waiting for what it settled
//!   ([`Outbox::ready`], [`Held::woken`]), on a tick all of them.
//! - Every call into the core goes through [`call`]: one [`Outbox`] per
//!   call, polled in its documented order (events, injected token,
//!   callouts, ready).
//! - [`http::Http`] reads a request's headers and properties, asks the core,
//!   applies the decision, and starts the introspection callouts the core
//!   asks for right away (so they go out without waiting for a tick). The
//!   SDK delivers a callout's answer to the context that was running when it
//!   was dispatched (the stream, or the root during a tick); both hand it to
//!   [`deliver`]. A stream that ends first gives its callouts up
//!   ([`Filter::handle_callout_abandoned`]).
//! - [`store::HostStore`] is the core's shared-data view over
//!   `get_shared_data`/`set_shared_data` (compare-and-swap).
//!
//! No `RefCell` borrow is held across a host call that can call back into the
//! module (`abi::send_response`, `abi::resume_request`).
//!
//! Host calls go through [`abi`] (raw imports, statuses as error values),
//! except `proxy_http_call`, which the SDK's dispatcher must register.

pub mod abi;
pub mod foreign_verify;
pub mod header_map;
pub mod http;
pub mod root;
pub mod store;

/// The module's allocator: TLSF (rlsf), constant time for every request's
/// small allocations and frees, where the standard library's dlmalloc was a
/// third of the module's time on the verification path (a new token's
/// claims, the evicted entry's).
#[global_allocator]
static ALLOCATOR: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType};

use crate::core::callout::MAX_BODY;
use crate::core::client::Injected;
use crate::core::events::{AuditEvent, Event, Histogram, Level, Metric};
use crate::core::util::fast_hash::IdHash;
use crate::core::{
    Callout, CalloutId, CalloutResponse, Connection, Decision, Filter, Held, Io, Needs, Outbox,
    RequestView, UnixMillis, WaitFor,
};
use store::HostStore;

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
    /// Held requests by context id: what each waits for, when first held,
    /// and its own copy of the request (re-evaluation reads nothing from
    /// the host).
    pub held: Held<OwnedRequest>,
    /// Host callout token → (core callout id, context the SDK delivers it to).
    pub callouts: HashMap<u32, (CalloutId, u32), IdHash>,
    /// The root context id.
    pub root_id: u32,
    /// Streams forwarded with the gateway's own token (response phase).
    pub injected: HashMap<u32, Injected, IdHash>,
    /// Audit events of forwarded streams, with when the request arrived:
    /// written when the upstream's response headers come (or the stream ends).
    pub audits: HashMap<u32, (Box<AuditEvent>, UnixMillis), IdHash>,
    /// Headers to add to the responses of forwarded streams (a renewed
    /// login session's `set-cookie`).
    pub response_headers: HashMap<u32, Vec<(String, String)>, IdHash>,
    /// Counter ids, by metric (the name is made only to define it).
    counters: HashMap<Metric, u32, IdHash>,
    /// Histogram ids.
    histograms: HashMap<Histogram, u32, IdHash>,
    /// Counter increments not yet given to the host (flushed on the tick, so
    /// a request costs no metric host call).
    pending_counters: HashMap<u32, u64, IdHash>,
    /// Audit lines not yet written (`audit.batch`): one `proxy_log` carries
    /// many, written at [`AUDIT_BATCH_BYTES`] and on every tick.
    audit_lines: String,
    /// The last decided request's buffers, read into by the next request
    /// ([`OwnedRequest::read`]): no allocation per header once they fit.
    spare: Option<OwnedRequest>,
}

/// A decided request's buffers are kept for the next one up to this many
/// bytes (one large request does not pin its memory).
pub const SPARE_REQUEST_BYTES: usize = 16 * 1024;

/// Audit lines are written once this many bytes wait (or at the tick).
pub const AUDIT_BATCH_BYTES: usize = 16 * 1024;

/// Shared handle.
pub type WorkerRef = Rc<RefCell<Worker>>;

impl Worker {
    /// Unconfigured worker state.
    pub fn new() -> WorkerRef {
        Rc::new(RefCell::new(Worker {
            filter: None,
            held: Held::default(),
            callouts: HashMap::default(),
            root_id: 0,
            injected: HashMap::default(),
            audits: HashMap::default(),
            response_headers: HashMap::default(),
            counters: HashMap::default(),
            histograms: HashMap::default(),
            pending_counters: HashMap::default(),
            audit_lines: String::new(),
            spare: None,
        }))
    }

    /// Log and count what the core asked for.
    pub fn emit(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::Audit(a) => self.write_audit(&a),
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
                    if let Some(id) = self.counter(m) {
                        *self.pending_counters.entry(id).or_insert(0) += 1;
                    }
                }
                Event::Histogram(h, v) => {
                    if let Some(id) = self.histogram(h) {
                        let _ = abi::record_metric(id, v);
                    }
                }
            }
        }
    }

    /// Write an audit line: at once, or into the batch (`audit.batch`).
    pub fn write_audit(&mut self, ev: &AuditEvent) {
        let batch = self
            .filter
            .as_ref()
            .is_some_and(|f| f.config().raw.audit.batch);
        if !batch {
            log(LogLevel::Info, &ev.to_line());
            return;
        }
        if !self.audit_lines.is_empty() {
            self.audit_lines.push('\n');
        }
        ev.write_line(&mut self.audit_lines);
        if self.audit_lines.len() >= AUDIT_BATCH_BYTES {
            self.flush_audit();
        }
    }

    /// Write the batched audit lines, one log call for all (on every tick).
    pub fn flush_audit(&mut self) {
        if !self.audit_lines.is_empty() {
            log(LogLevel::Info, &self.audit_lines);
            self.audit_lines.clear();
        }
    }

    /// Hands the pending counter increments to the host (on every tick).
    pub fn flush_counters(&mut self) {
        for (id, n) in self.pending_counters.drain() {
            let _ = abi::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The host's id of counter `m`, defined on first use (its name is
    /// made only then).
    fn counter(&mut self, m: Metric) -> Option<u32> {
        if let Some(id) = self.counters.get(&m) {
            return Some(*id);
        }
        let id = abi::define_metric(MetricType::Counter, &m.name()).ok()?;
        self.counters.insert(m, id);
        Some(id)
    }

    /// The host's id of histogram `h`, defined on first use.
    fn histogram(&mut self, h: Histogram) -> Option<u32> {
        if let Some(id) = self.histograms.get(&h) {
            return Some(*id);
        }
        let id = abi::define_metric(MetricType::Histogram, h.name()).ok()?;
        self.histograms.insert(h, id);
        Some(id)
    }
}

/// Start callouts from the current context; `sdk_ctx` is the context whose
/// callback is running (the SDK delivers the answers there). A callout the
/// host refuses is reported to the core as failed at once.
pub fn dispatch(worker: &WorkerRef, list: Vec<Callout>, sdk_ctx: u32) {
    let mut failed = Vec::new();
    for c in list {
        let headers = c.headers();
        let hs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = if c.body.is_empty() {
            None
        } else {
            Some(c.body.as_slice())
        };
        match hostcalls::dispatch_http_call(
            &c.cluster,
            hs,
            body,
            vec![],
            Duration::from_millis(c.timeout_ms),
        ) {
            Ok(token) => {
                worker.borrow_mut().callouts.insert(token, (c.id, sdk_ctx));
            }
            Err(status) => {
                log(
                    LogLevel::Warn,
                    &format!(
                        "oauth-filter: callout to cluster {} refused by the host: {status:?}",
                        c.cluster
                    ),
                );
                failed.push(c.id);
            }
        }
    }
    for id in failed {
        let resp = CalloutResponse {
            status: None,
            headers: &[],
            body: &[],
        };
        // What the failure settles is woken at the next tick (as before:
        // no re-evaluation from inside a dispatch).
        let polled = call(worker, now(), None, |f, io| {
            f.handle_callout_response(id, resp, io)
        });
        // A failure never asks for a follow-up; guard against loops anyway.
        if polled.is_some_and(|p| !p.callouts.is_empty()) {
            log(
                LogLevel::Warn,
                "oauth-filter: follow-up callout after a refused dispatch dropped",
            );
        }
    }
}

/// What is left of an [`Outbox`] after [`call`] polled the events and the
/// injected token: what the caller starts and wakes.
pub struct Polled<T> {
    /// The entry point's result.
    pub value: T,
    /// Callouts to start from the running context.
    pub callouts: Vec<Callout>,
    /// What arrived.
    pub ready: Vec<WaitFor>,
}

/// Run one core entry point `f` with a fresh [`Outbox`] at `now`, then
/// poll it: events are logged and counted, the injected token is kept for
/// `stream` (the request just decided). Callouts and ready are handed back
/// (starting and waking call into the core again, so no borrow may be
/// held). None when not configured.
pub fn call<T>(
    worker: &WorkerRef,
    now: UnixMillis,
    stream: Option<u32>,
    f: impl FnOnce(&mut Filter, &mut Io<'_>) -> T,
) -> Option<Polled<T>> {
    let mut out = Outbox::default();
    let mut w = worker.borrow_mut();
    let filter = w.filter.as_mut()?;
    let value = f(filter, &mut Io::new(now, &mut HostStore, &mut out));
    let Outbox {
        events,
        callouts,
        ready,
        injected,
        pending_audit,
        response_headers,
    } = out;
    w.emit(events);
    if let (Some(ctx), Some(i)) = (stream, injected) {
        w.injected.insert(ctx, i);
    }
    if let Some(ctx) = stream.filter(|_| !response_headers.is_empty()) {
        w.response_headers.insert(ctx, response_headers);
    }
    if let (Some(ctx), Some(ev)) = (stream, pending_audit) {
        let arrived = UnixMillis(now.0.saturating_sub(ev.elapsed_ms));
        w.audits.insert(ctx, (ev, arrived));
    }
    Some(Polled {
        value,
        callouts,
        ready,
    })
}

/// A callout answered (`proxy_on_http_call_response`, in whichever context
/// the SDK delivered it): read it, hand it to the core, start follow-ups,
/// re-evaluate held requests. `sdk_ctx` is the running context.
pub fn deliver(worker: &WorkerRef, token: u32, num_headers: usize, body_size: usize, sdk_ctx: u32) {
    let Some((id, _)) = worker.borrow_mut().callouts.remove(&token) else {
        return;
    };
    let headers = if num_headers == 0 {
        Vec::new()
    } else {
        header_map::get(MapType::HttpCallResponseHeaders)
    };
    let status = headers
        .iter()
        .find(|(k, _)| k == ":status")
        .and_then(|(_, v)| v.parse::<u16>().ok());
    // Read at most one byte past the limit: the core refuses oversize bodies.
    let body = if status.is_some() && body_size > 0 {
        abi::buffer(
            BufferType::HttpCallResponseBody,
            0,
            body_size.min(MAX_BODY + 1),
        )
        .ok()
        .flatten()
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let resp = CalloutResponse {
        status,
        headers: &headers,
        body: &body,
    };
    let Some(polled) = call(worker, now(), None, |f, io| {
        f.handle_callout_response(id, resp, io)
    }) else {
        return;
    };
    dispatch(worker, polled.callouts, sdk_ctx);
    // Only the requests waiting for what this answer settled.
    let woken = worker.borrow().held.woken(&polled.ready);
    resume(worker, woken, sdk_ctx);
}

/// Stream `ctx` ended: the SDK would drop answers to the callouts it owns, so
/// the core gives them up now.
pub fn abandon_callouts(worker: &WorkerRef, ctx: u32) {
    let ids: Vec<(u32, CalloutId)> = worker
        .borrow()
        .callouts
        .iter()
        .filter(|(_, (_, owner))| *owner == ctx)
        .map(|(t, (id, _))| (*t, *id))
        .collect();
    for (token, id) in ids {
        worker.borrow_mut().callouts.remove(&token);
        // The stream is ending: its waiters are woken at the next tick.
        call(worker, now(), None, |f, io| {
            f.handle_callout_abandoned(id, io)
        });
    }
}

/// Log, ignoring a host that refuses (nothing better to do).
pub fn log(level: LogLevel, msg: &str) {
    let _ = abi::log(level, msg);
}

/// The host's clock. A host that refuses it gets a time far in the future
/// (logged once): every token counts as expired and every wait as over, so
/// the filter fails closed instead of trapping or accepting expired tokens.
pub fn now() -> UnixMillis {
    use std::sync::atomic::{AtomicBool, Ordering};
    static LOGGED: AtomicBool = AtomicBool::new(false);
    match abi::current_time_ns() {
        Ok(ns) => UnixMillis(ns / 1_000_000),
        Err(status) => {
            if !LOGGED.swap(true, Ordering::Relaxed) {
                log(
                    LogLevel::Error,
                    &format!(
                        "oauth-filter: the host refused the clock (status {status}); \
                         every token is refused as expired"
                    ),
                );
            }
            CLOCK_REFUSED
        }
    }
}

/// [`now`] when the host refuses the clock.
pub const CLOCK_REFUSED: UnixMillis = UnixMillis(u64::MAX / 2);

fn property(path: &[&str]) -> Option<String> {
    match abi::property(path) {
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

/// A request as the adapter keeps it while it is held: what the core
/// needs to evaluate it again without a host call.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    /// `:method`.
    pub method: String,
    /// `:path`.
    pub path: String,
    /// All request headers, in order.
    pub headers: Vec<(String, String)>,
    /// The connection facts the configuration needs ([`Needs`]).
    pub tls: Option<bool>,
    /// `connection.sha256_peer_certificate_digest`, when needed.
    pub peer_certificate_sha256: Option<String>,
    /// `source.address`, when needed.
    pub source_address: Option<String>,
    /// The request body, when the core asked for it ([`Filter::wants_body`]).
    pub body: Option<Vec<u8>>,
}

impl OwnedRequest {
    /// The request as the core sees it.
    pub fn view(&self, held_since: Option<UnixMillis>) -> RequestView<'_> {
        RequestView {
            method: &self.method,
            path: &self.path,
            headers: &self.headers,
            held_since,
            connection: Connection {
                tls: self.tls,
                peer_certificate_sha256: self.peer_certificate_sha256.as_deref(),
                source_address: self.source_address.as_deref(),
            },
        }
    }

    /// The request of the current effective context, read from the host
    /// into `spare`'s buffers when given (a decided request's, see
    /// [`recycle`]): the headers, and the connection properties in `needs`
    /// (absent properties stay `None`: no certificate, not TLS).
    pub fn read(needs: Needs, spare: Option<OwnedRequest>) -> OwnedRequest {
        let (mut headers, mut method, mut path) = match spare {
            Some(r) => (r.headers, r.method, r.path),
            None => Default::default(),
        };
        header_map::get_into(MapType::HttpRequestHeaders, &mut headers);
        // The pseudo-headers are in the map we already hold (Envoy,
        // oauth-host); the properties are a fallback for hosts that leave
        // them out. The core drops the query itself.
        let fill = |out: &mut String, name: &str, fallback: [&str; 2]| {
            out.clear();
            match headers.iter().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&property(&fallback).unwrap_or_default()),
            }
        };
        fill(&mut method, ":method", ["request", "method"]);
        fill(&mut path, ":path", ["request", "url_path"]);
        let tls = needs
            .tls
            .then(|| property(&["connection", "tls_version"]).is_some_and(|v| !v.is_empty()));
        let peer_certificate_sha256 = if needs.peer_certificate {
            property(&["connection", "sha256_peer_certificate_digest"]).filter(|v| !v.is_empty())
        } else {
            None
        };
        let source_address = if needs.source_address {
            property(&["source", "address"])
        } else {
            None
        };
        OwnedRequest {
            method,
            path,
            headers,
            tls,
            peer_certificate_sha256,
            source_address,
            body: None,
        }
    }
}

/// Ask the core about `req`, the request of the current effective context
/// `context_id`, and apply the answer; a paused request is held with its
/// [`WaitFor`].
pub fn evaluate(
    worker: &WorkerRef,
    context_id: u32,
    req: OwnedRequest,
    held_since: Option<UnixMillis>,
    resumed: bool,
    sdk_ctx: u32,
) -> Applied {
    let now = now();
    let view = req.view(held_since);
    let Some(polled) = call(worker, now, Some(context_id), |f, io| {
        f.handle_request_with_body(&view, req.body.as_deref(), io)
    }) else {
        // Never configured: fail closed.
        log(
            LogLevel::Error,
            "oauth-filter: request before a valid configuration; refusing",
        );
        let _ = abi::send_response(
            503,
            &[("content-type", "application/json")],
            br#"{"error":"temporarily_unavailable","error_description":"filter not configured"}"#,
        );
        return Applied::Replied;
    };
    // (A decision never settles a wait: `polled.ready` is empty.)
    let decision = polled.value;
    if let Decision::Pause(wait) = decision {
        worker
            .borrow_mut()
            .held
            .hold(context_id, held_since.unwrap_or(now), wait, req);
        // (A refused dispatch is answered at the next tick.)
        dispatch(worker, polled.callouts, sdk_ctx);
        return Applied::Held;
    }
    dispatch(worker, polled.callouts, sdk_ctx);
    let applied = match decision {
        Decision::Continue(edits) => {
            // Only headers the request carries: one host call fewer per
            // configured claim header on every request.
            for h in edits
                .remove
                .iter()
                .filter(|h| req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(h)))
            {
                let _ = abi::set_header(MapType::HttpRequestHeaders, h, None);
            }
            for (h, v) in &edits.set {
                let _ = abi::set_header(MapType::HttpRequestHeaders, h, Some(v));
            }
            if resumed {
                let _ = abi::resume_request();
            }
            Applied::Forwarded
        }
        Decision::Reply(r) => {
            let hs: Vec<(&str, &str)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let _ = abi::send_response(u32::from(r.status), &hs, r.body.as_bytes());
            Applied::Replied
        }
        Decision::Pause(_) => Applied::Held,
    };
    recycle(worker, req);
    applied
}

/// Keep a decided request's buffers for the next request read on this
/// worker ([`Worker::spare`]), unless they are larger than
/// [`SPARE_REQUEST_BYTES`].
fn recycle(worker: &WorkerRef, mut req: OwnedRequest) {
    req.body = None;
    let bytes = req
        .headers
        .iter()
        .map(|(k, v)| k.capacity() + v.capacity())
        .sum::<usize>()
        + req.method.capacity()
        + req.path.capacity();
    if bytes <= SPARE_REQUEST_BYTES {
        worker.borrow_mut().spare = Some(req);
    }
}

/// Re-evaluate the held requests `contexts` (from their own copies), then
/// switch back to `sdk_ctx`, the context whose callback runs.
pub fn resume(worker: &WorkerRef, contexts: Vec<u32>, sdk_ctx: u32) {
    if contexts.is_empty() {
        return;
    }
    for id in contexts {
        let Some(h) = worker.borrow_mut().held.release(id) else {
            continue; // answered meanwhile
        };
        if abi::set_effective_context(id).is_err() {
            continue; // the stream is gone
        }
        evaluate(worker, id, h.request, Some(h.since), true, sdk_ctx);
    }
    let _ = abi::set_effective_context(sdk_ctx);
}

/// Re-evaluate every held request (a tick: another worker may have filled
/// shared data, hold budgets run out).
pub fn resume_all(worker: &WorkerRef, sdk_ctx: u32) {
    let all = worker.borrow().held.all();
    resume(worker, all, sdk_ctx);
}

/// A process-unique worker id: 16 random bytes (WASI `random_get`), or the
/// clock and context id should that fail.
pub fn worker_id(root_id: u32) -> String {
    let mut b = [0u8; 16];
    match getrandom::getrandom(&mut b) {
        Ok(()) => crate::core::util::hex::hex(&b),
        Err(_) => {
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{t:x}-{root_id}")
        }
    }
}

/// The largest body to buffer for `req` before asking the core (the token
/// service's endpoint), or None.
pub fn wants_body(worker: &WorkerRef, req: &OwnedRequest) -> Option<usize> {
    worker
        .borrow()
        .filter
        .as_ref()
        .and_then(|f| f.wants_body(&req.view(None)))
}

/// The request body buffered so far (current context): at most `max`
/// bytes.
pub fn request_body(max: usize) -> Vec<u8> {
    abi::buffer(BufferType::HttpRequestBody, 0, max)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// What the configuration needs read per request beyond the headers.
pub fn needs(worker: &WorkerRef) -> Needs {
    worker
        .borrow()
        .filter
        .as_ref()
        .map(Filter::needs)
        .unwrap_or_default()
}

/// A stream ended with its audit event still pending (no response headers
/// from the upstream): write it without an upstream status.
pub fn finish_audit(worker: &WorkerRef, ctx: u32) {
    let pending = worker.borrow_mut().audits.remove(&ctx);
    if let Some((mut ev, arrived)) = pending {
        crate::core::audit::complete(&mut ev, arrived, None, now());
        worker.borrow_mut().write_audit(&ev);
    }
}

/// The request trailers (current context): remove every spelling of a
/// header the filter owns, as for the request headers.
pub fn strip_owned_trailers(worker: &WorkerRef) {
    let trailers = header_map::get(MapType::HttpRequestTrailers);
    if trailers.is_empty() {
        return;
    }
    let w = worker.borrow();
    let Some(filter) = w.filter.as_ref() else {
        return;
    };
    for name in filter.owned_trailers(&trailers) {
        let _ = abi::set_header(MapType::HttpRequestTrailers, name, None);
    }
}

/// The upstream's response headers for stream `ctx` (current context): a
/// request that carried the gateway's token may have had it refused.
pub fn upstream_response(worker: &WorkerRef, ctx: u32) {
    let (injected, audit, add) = {
        let mut w = worker.borrow_mut();
        (
            w.injected.remove(&ctx),
            w.audits.remove(&ctx),
            w.response_headers.remove(&ctx),
        )
    };
    for (k, v) in add.iter().flatten() {
        let _ = abi::add_header(MapType::HttpResponseHeaders, k, v);
    }
    if injected.is_none() && audit.is_none() {
        return;
    }
    // One value, not the whole map: the challenges are read only for a 401.
    let status = header_map::value(MapType::HttpResponseHeaders, ":status")
        .and_then(|v| v.parse::<u16>().ok())
        .unwrap_or(0);
    if let Some((mut ev, arrived)) = audit {
        crate::core::audit::complete(&mut ev, arrived, Some(status), now());
        worker.borrow_mut().write_audit(&ev);
    }
    let Some(injected) = injected else {
        return;
    };
    if status != 401 {
        return;
    }
    let headers = header_map::get(MapType::HttpResponseHeaders);
    let challenges: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    call(worker, now(), None, |f, io| {
        f.handle_upstream_response(injected, status, &challenges, io)
    });
}
