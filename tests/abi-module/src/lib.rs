//! ABI test module: a proxy-wasm module (Rust SDK 0.2.5) that exercises every
//! host function `oauth-host` implements. Tests drive it with requests; its
//! behaviour is this contract (keep it in sync with the tests):
//!
//! Every request: request header `x-abi-test: seen` is added before going
//! upstream; response header `x-abi-response: seen` is added; counter
//! `abi_test_requests_total` is incremented. Request header `x-abi-worker` is
//! NOT trusted; the module adds `x-abi-vm-instance: <random id of this VM
//! instance>` to responses (upstream and local ones) so tests can tell
//! workers/instances apart. Counter `abi_test_streams_logged_total` is
//! incremented in `on_log` (once per finished stream). Request trailers, when
//! present, get `x-abi-trailer: seen` added (`on_request_trailers`).
//!
//! By `request.url_path` (query parameters from `request.query`):
//! - `/local?status=N` → `send_local_response(N, [x-local: 1], "local")`.
//! - `/props` → sets property `abi.custom` to `v`, then local 200, JSON body:
//!   every property of the host contract (`request.*`, `source.*`,
//!   `destination.*`, `connection.*`, `plugin_*`) plus `abi.custom`, name →
//!   value, strings as strings, integers decoded from 8-byte LE, booleans,
//!   `request.headers` as an object (name → value), absent properties
//!   (NOT_FOUND) omitted.
//! - `/callout` → `http_call` to cluster `x-callout-cluster` (default
//!   `upstream`), `GET /callout-target`, timeout `x-callout-timeout-ms`
//!   (default 1000); pauses; on the answer adds request headers
//!   `x-callout-status: <:status or "failed">` and `x-callout-body: <body>`
//!   and resumes. An http_call error status → local 502 with body `dispatch
//!   failed: <status>`.
//! - `/body` → buffers the request body until end of stream, replaces it with
//!   its upper-cased form; also buffers the response body and replaces it
//!   with `filtered:<original length>` (removing `content-length` from the
//!   response headers).
//! - `/shared/set?key=K&value=V&cas=N` → `set_shared_data`; local 200
//!   `ok` or 409 `cas_mismatch`. `/shared/get?key=K` → local 200 `<value>
//!   <cas>` or 404.
//! - `/queue/push?value=V` → enqueue on queue `abi_queue` (registered by each
//!   root context on start); local 200 `queued`. `on_queue_ready` dequeues
//!   every item and increments counter `abi_queue_items_total` per item.
//! - `/ticks` → local 200 with this worker's root context tick count (root
//!   sets a 50 ms tick period in `on_configure`).
//! - `/metrics-test` → defines and sets a gauge `abi_gauge` to 42 and records
//!   7 in histogram `abi_histogram`; local 200 with the value read back from
//!   `abi_test_requests_total` (`get_metric`).
//! - `/log` → logs one line per level and answers local 200 with the
//!   `get_log_level` value (0 = trace … 5 = critical).
//! - `/foreign?name=F` → `call_foreign_function(F)`; local 200 with the
//!   status name (`Ok` or the SDK's `Status` debug name, e.g. `NotFound`).
//! - `/trap` → panics (trap). `/loop` → loops forever (CPU limit).
//!   `/grow` → allocates until memory limit is hit.
//! - `/close` → `close_stream` on the request.
//!
//! Plugin configuration: JSON; `{"fail_configure": true}` makes
//! `on_configure` return false. VM configuration is read and logged.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};

thread_local! {
    static INSTANCE_ID: Cell<u64> = const { Cell::new(0) };
    static TICKS: Cell<u64> = const { Cell::new(0) };
    static QUEUE_ID: Cell<Option<u32>> = const { Cell::new(None) };
    static GROW: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

proxy_wasm::main! {{
    // RandomState seeds from WASI random_get.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(1);
    INSTANCE_ID.with(|id| id.set(hasher.finish()));
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(AbiRoot) });
}}

fn counter(name: &str) -> u32 {
    hostcalls::define_metric(MetricType::Counter, name).unwrap_or(0)
}

struct AbiRoot;

impl Context for AbiRoot {}

impl RootContext for AbiRoot {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let config = self.get_vm_configuration().unwrap_or_default();
        let _ = hostcalls::log(
            LogLevel::Info,
            &format!("abi-test vm start, vm configuration {} bytes", config.len()),
        );
        QUEUE_ID.with(|q| q.set(Some(self.register_shared_queue("abi_queue"))));
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let compact: String = String::from_utf8_lossy(&config)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if compact.contains("\"fail_configure\":true") {
            return false;
        }
        self.set_tick_period(Duration::from_millis(50));
        true
    }

    fn on_tick(&mut self) {
        TICKS.with(|t| t.set(t.get() + 1));
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        let id = counter("abi_queue_items_total");
        while let Ok(Some(_item)) = self.dequeue_shared_queue(queue_id) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(AbiHttp { body_mode: false }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct AbiHttp {
    body_mode: bool,
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_string())
    })
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Decodes a proxy-wasm header map (u32 count, sizes, NUL-terminated data).
fn decode_map(bytes: &[u8]) -> Vec<(String, String)> {
    let read = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let mut out = Vec::new();
    let Some(count) = read(0) else { return out };
    let mut p = 4 + count * 8;
    for i in 0..count {
        let (Some(kl), Some(vl)) = (read(4 + i * 8), read(8 + i * 8)) else {
            return out;
        };
        let (Some(k), Some(v)) = (bytes.get(p..p + kl), bytes.get(p + kl + 1..p + kl + 1 + vl))
        else {
            return out;
        };
        out.push((
            String::from_utf8_lossy(k).into(),
            String::from_utf8_lossy(v).into(),
        ));
        p += kl + vl + 2;
    }
    out
}

enum Kind {
    Str,
    Int,
    Bool,
    Map,
}

const PROPERTIES: &[(&str, Kind)] = &[
    ("request.path", Kind::Str),
    ("request.url_path", Kind::Str),
    ("request.host", Kind::Str),
    ("request.scheme", Kind::Str),
    ("request.method", Kind::Str),
    ("request.headers", Kind::Map),
    ("request.id", Kind::Str),
    ("request.protocol", Kind::Str),
    ("request.time", Kind::Int),
    ("request.query", Kind::Str),
    ("source.address", Kind::Str),
    ("source.port", Kind::Int),
    ("destination.address", Kind::Str),
    ("destination.port", Kind::Int),
    ("connection.id", Kind::Int),
    ("connection.mtls", Kind::Bool),
    ("connection.tls_version", Kind::Str),
    ("connection.requested_server_name", Kind::Str),
    ("connection.subject_peer_certificate", Kind::Str),
    ("connection.sha256_peer_certificate_digest", Kind::Str),
    ("connection.uri_san_peer_certificate", Kind::Str),
    ("connection.dns_san_peer_certificate", Kind::Str),
    ("plugin_name", Kind::Str),
    ("plugin_root_id", Kind::Str),
    ("plugin_vm_id", Kind::Str),
    ("abi.custom", Kind::Str),
];

impl AbiHttp {
    fn prop_string(&self, path: &str) -> Option<String> {
        self.get_property(path.split('.').collect())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    fn local(&self, status: u32, body: &str) -> Action {
        let id = INSTANCE_ID.with(|i| i.get()).to_string();
        self.send_http_response(
            status,
            vec![("x-abi-response", "seen"), ("x-abi-vm-instance", &id)],
            Some(body.as_bytes()),
        );
        Action::Pause
    }

    fn props_json(&self) -> String {
        self.set_property(vec!["abi", "custom"], Some(b"v"));
        let mut fields = Vec::new();
        for (name, kind) in PROPERTIES {
            let Some(raw) = self.get_property(name.split('.').collect()) else {
                continue;
            };
            let value = match kind {
                Kind::Str => json_escape(&String::from_utf8_lossy(&raw)),
                Kind::Int => match <[u8; 8]>::try_from(raw.as_slice()) {
                    Ok(b) => u64::from_le_bytes(b).to_string(),
                    Err(_) => json_escape("bad integer encoding"),
                },
                Kind::Bool => match raw.as_slice() {
                    [0] => "false".into(),
                    [1] => "true".into(),
                    _ => json_escape("bad boolean encoding"),
                },
                Kind::Map => {
                    let pairs: Vec<String> = decode_map(&raw)
                        .iter()
                        .map(|(k, v)| format!("{}:{}", json_escape(k), json_escape(v)))
                        .collect();
                    format!("{{{}}}", pairs.join(","))
                }
            };
            fields.push(format!("{}:{}", json_escape(name), value));
        }
        format!("{{{}}}", fields.join(","))
    }

    fn callout(&mut self) -> Action {
        let cluster = self
            .get_http_request_header("x-callout-cluster")
            .unwrap_or_else(|| "upstream".into());
        let timeout = self
            .get_http_request_header("x-callout-timeout-ms")
            .and_then(|t| t.parse().ok())
            .unwrap_or(1000);
        match self.dispatch_http_call(
            &cluster,
            vec![
                (":method", "GET"),
                (":path", "/callout-target"),
                (":authority", &cluster),
            ],
            None,
            vec![],
            Duration::from_millis(timeout),
        ) {
            Ok(_) => Action::Pause,
            Err(status) => self.local(502, &format!("dispatch failed: {status:?}")),
        }
    }

    fn shared(&self, op: &str, query: &str) -> Action {
        let key = query_param(query, "key").unwrap_or_default();
        if op == "set" {
            let value = query_param(query, "value").unwrap_or_default();
            let cas = query_param(query, "cas")
                .and_then(|c| c.parse::<u32>().ok())
                .filter(|c| *c != 0);
            match self.set_shared_data(&key, Some(value.as_bytes()), cas) {
                Ok(()) => self.local(200, "ok"),
                Err(Status::CasMismatch) => self.local(409, "cas_mismatch"),
                Err(other) => self.local(500, &format!("{other:?}")),
            }
        } else {
            match self.get_shared_data(&key) {
                (Some(value), cas) => self.local(
                    200,
                    &format!("{} {}", String::from_utf8_lossy(&value), cas.unwrap_or(0)),
                ),
                (None, _) => self.local(404, "not found"),
            }
        }
    }
}

impl Context for AbiHttp {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        num_headers: usize,
        body_size: usize,
        _t: usize,
    ) {
        let status = if num_headers == 0 {
            "failed".to_string()
        } else {
            self.get_http_call_response_header(":status")
                .unwrap_or_else(|| "none".into())
        };
        let body = self
            .get_http_call_response_body(0, body_size)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        self.set_http_request_header("x-callout-status", Some(&status));
        self.set_http_request_header("x-callout-body", Some(&body));
        self.resume_http_request();
    }
}

impl HttpContext for AbiHttp {
    fn on_http_request_headers(&mut self, _n: usize, _eos: bool) -> Action {
        let _ = hostcalls::increment_metric(counter("abi_test_requests_total"), 1);
        self.add_http_request_header("x-abi-test", "seen");
        let path = self.prop_string("request.url_path").unwrap_or_default();
        let query = self.prop_string("request.query").unwrap_or_default();
        match path.as_str() {
            "/local" => {
                let status = query_param(&query, "status")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(200);
                let id = INSTANCE_ID.with(|i| i.get()).to_string();
                self.send_http_response(
                    status,
                    vec![
                        ("x-local", "1"),
                        ("x-abi-response", "seen"),
                        ("x-abi-vm-instance", &id),
                    ],
                    Some(b"local"),
                );
                Action::Pause
            }
            "/props" => {
                let json = self.props_json();
                self.local(200, &json)
            }
            "/callout" => self.callout(),
            "/body" => {
                self.body_mode = true;
                Action::Continue
            }
            "/shared/set" => self.shared("set", &query),
            "/shared/get" => self.shared("get", &query),
            "/queue/push" => {
                let value = query_param(&query, "value").unwrap_or_default();
                match QUEUE_ID.with(|q| q.get()) {
                    Some(id) => match self.enqueue_shared_queue(id, Some(value.as_bytes())) {
                        Ok(()) => self.local(200, "queued"),
                        Err(status) => self.local(500, &format!("{status:?}")),
                    },
                    None => self.local(500, "no queue"),
                }
            }
            "/ticks" => {
                let ticks = TICKS.with(|t| t.get());
                self.local(200, &ticks.to_string())
            }
            "/metrics-test" => {
                let gauge = hostcalls::define_metric(MetricType::Gauge, "abi_gauge").unwrap_or(0);
                let _ = hostcalls::record_metric(gauge, 42);
                let histogram =
                    hostcalls::define_metric(MetricType::Histogram, "abi_histogram").unwrap_or(0);
                let _ = hostcalls::record_metric(histogram, 7);
                let requests = hostcalls::get_metric(counter("abi_test_requests_total"));
                self.local(
                    200,
                    &requests
                        .map(|v| v.to_string())
                        .unwrap_or_else(|s| format!("{s:?}")),
                )
            }
            "/log" => {
                for level in [
                    LogLevel::Trace,
                    LogLevel::Debug,
                    LogLevel::Info,
                    LogLevel::Warn,
                    LogLevel::Error,
                    LogLevel::Critical,
                ] {
                    let _ = hostcalls::log(level, &format!("abi-test log line at {level:?}"));
                }
                let level = hostcalls::get_log_level().map(|l| l as u32).unwrap_or(99);
                self.local(200, &level.to_string())
            }
            "/foreign" => {
                let name = query_param(&query, "name").unwrap_or_default();
                let answer = match self.call_foreign_function(&name, None) {
                    Ok(_) => "Ok".to_string(),
                    Err(status) => format!("{status:?}"),
                };
                self.local(200, &answer)
            }
            "/trap" => panic!("abi-test: trap requested"),
            "/loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "/grow" => GROW.with(|g| loop {
                g.borrow_mut()
                    .push(std::hint::black_box(vec![1u8; 1 << 20]));
            }),
            "/close" => {
                self.reset_http_request();
                Action::Pause
            }
            _ => Action::Continue,
        }
    }

    fn on_http_request_body(&mut self, size: usize, eos: bool) -> Action {
        if !self.body_mode {
            return Action::Continue;
        }
        if !eos {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, size).unwrap_or_default();
        self.set_http_request_body(0, size, &body.to_ascii_uppercase());
        Action::Continue
    }

    fn on_http_request_trailers(&mut self, _n: usize) -> Action {
        self.add_http_request_trailer("x-abi-trailer", "seen");
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _n: usize, _eos: bool) -> Action {
        self.add_http_response_header("x-abi-response", "seen");
        let id = INSTANCE_ID.with(|i| i.get()).to_string();
        self.set_http_response_header("x-abi-vm-instance", Some(&id));
        if self.body_mode {
            self.set_http_response_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, size: usize, eos: bool) -> Action {
        if !self.body_mode {
            return Action::Continue;
        }
        if !eos {
            return Action::Pause;
        }
        let replacement = format!("filtered:{size}");
        self.set_http_response_body(0, size, replacement.as_bytes());
        Action::Continue
    }

    fn on_log(&mut self) {
        let _ = hostcalls::increment_metric(counter("abi_test_streams_logged_total"), 1);
    }
}
