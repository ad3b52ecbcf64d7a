//! ABI test module: a proxy-wasm module (Rust SDK 0.2.5) that exercises every
//! host function `oauth-host` implements. Tests drive it with requests; its
//! behaviour is this contract (keep it in sync with the tests):
//!
//! Every request: request header `x-abi-test: seen` is added before going
//! upstream; response header `x-abi-response: seen` is added; counter
//! `abi_test_requests_total` is incremented. Request header `x-abi-worker` is
//! NOT trusted; the module adds `x-abi-vm-instance: <random id of this VM
//! instance>` to responses so tests can tell workers/instances apart.
//!
//! By `request.url_path` (query parameters from `request.query`):
//! - `/local?status=N` → `send_local_response(N, [x-local: 1], "local")`.
//! - `/props` → local 200, JSON body: every property of the host contract
//!   (`request.*`, `source.*`, `destination.*`, `connection.*`, `plugin_*`),
//!   name → value, strings as strings, integers decoded from 8-byte LE,
//!   booleans, absent properties (NOT_FOUND) omitted.
//! - `/callout` → `http_call` to cluster `x-callout-cluster` (default
//!   `upstream`), `GET /callout-target`, timeout `x-callout-timeout-ms`
//!   (default 1000); pauses; on the answer adds request headers
//!   `x-callout-status: <:status or "failed">` and `x-callout-body: <body>`
//!   and resumes. An http_call error status → local 502 with body `dispatch
//!   failed: <status>`.
//! - `/body` → buffers the request body until end of stream, replaces it with
//!   its upper-cased form; also buffers the response body and replaces it
//!   with `filtered:<original length>`.
//! - `/shared/set?key=K&value=V&cas=N` → `set_shared_data`; local 200
//!   `ok` or 409 `cas_mismatch`. `/shared/get?key=K` → local 200 `<value>
//!   <cas>` or 404.
//! - `/queue/push?value=V` → enqueue on queue `abi_queue` (registered by each
//!   root context on start); `on_queue_ready` dequeues and increments
//!   counter `abi_queue_items_total`.
//! - `/ticks` → local 200 with this worker's root context tick count (root
//!   sets a 50 ms tick period in `on_configure`).
//! - `/metrics-test` → defines and sets a gauge `abi_gauge` to 42 and records
//!   7 in histogram `abi_histogram`; local 200.
//! - `/log` → logs one line per level and answers local 200 with the
//!   `get_log_level` value.
//! - `/foreign?name=F` → `call_foreign_function(F)`; local 200 with the
//!   status name.
//! - `/trap` → panics (trap). `/loop` → loops forever (CPU limit).
//!   `/grow` → allocates until memory limit is hit.
//! - `/close` → `close_stream` on the request.
//! Plugin configuration: JSON; `{"fail_configure": true}` makes
//! `on_configure` return false. VM configuration is read and logged.
