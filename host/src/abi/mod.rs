//! proxy-wasm ABI 0.2.1/0.2.0 host functions, one module per section of the
//! specification. Each module keeps its pure logic (codecs, stores) apart
//! from the wasmtime glue (`add_to_linker`).
//!
//! Host functions (module `env`), by section:
//! - [`log`] — `proxy_log`, `proxy_get_log_level`.
//! - [`headers`] — `proxy_get_header_map_pairs`, `proxy_set_header_map_pairs`,
//!   `proxy_get_header_map_value`, `proxy_add_header_map_value`,
//!   `proxy_replace_header_map_value`, `proxy_remove_header_map_value`,
//!   `proxy_get_header_map_size`.
//! - [`buffers`] — `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`,
//!   `proxy_get_buffer_status`.
//! - [`properties`] — `proxy_get_property`, `proxy_set_property`.
//! - [`http_call`] — `proxy_http_call`, `proxy_get_status`; the gRPC calls
//!   (`proxy_grpc_call`, `_stream`, `_send`, `_cancel`, `_close`) exist so
//!   modules link, and fail with the statuses the SDK expects
//!   (INTERNAL_FAILURE / NOT_FOUND): this host has no gRPC client.
//! - [`shared_data`] — `proxy_get_shared_data`, `proxy_set_shared_data`.
//! - [`queues`] — `proxy_register_shared_queue`, `proxy_resolve_shared_queue`,
//!   `proxy_enqueue_shared_queue`, `proxy_dequeue_shared_queue`.
//! - [`timers`] — `proxy_set_tick_period_milliseconds`,
//!   `proxy_get_current_time_nanoseconds`.
//! - [`module_metrics`] — `proxy_define_metric`, `proxy_increment_metric`,
//!   `proxy_record_metric`, `proxy_get_metric`.
//! - [`context`] — `proxy_set_effective_context`, `proxy_done`.
//! - [`stream_control`] — `proxy_send_local_response`, `proxy_continue_stream`,
//!   `proxy_close_stream`, `proxy_continue_request`, `proxy_continue_response`,
//!   `proxy_clear_route_cache` (no-op).
//! - [`foreign`] — `proxy_call_foreign_function`.
//! - [`wasi`] (module `wasi_snapshot_preview1`) — `fd_write`, `clock_time_get`,
//!   `clock_res_get`, `random_get`, `environ_get`, `environ_sizes_get`,
//!   `args_get`, `args_sizes_get`, `proc_exit`, `sched_yield`, and
//!   EBADF/ENOSYS stubs for the file-system calls.
//!
//! Any other import of a module is linked to a function that traps when
//! called, so modules that merely reference it still load.
//! Not offered: TCP stream callbacks (`DOWNSTREAM`/`UPSTREAM` stream types,
//! `proxy_on_new_connection`, …) since this host only proxies HTTP, and gRPC.

use wasmtime::Linker;

use crate::runtime::state::HostState;

pub mod buffers;
pub mod context;
pub mod foreign;
pub mod headers;
pub mod http_call;
pub mod log;
pub mod memory;
pub mod module_metrics;
pub mod properties;
pub mod queues;
pub mod shared_data;
pub mod stream_control;
pub mod timers;
pub mod verify_signature_ring;
pub mod wasi;

/// proxy-wasm status codes returned by host functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The value is absent.
    NotFound = 1,
    /// An argument is invalid.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed.
    ParseFailure = 4,
    /// A pointer or length lies outside the guest memory.
    InvalidMemoryAccess = 6,
    /// The queue is empty.
    Empty = 7,
    /// Compare-and-swap mismatch.
    CasMismatch = 8,
    /// The host failed.
    InternalFailure = 10,
    /// Not implemented by this host.
    Unimplemented = 12,
}

impl Status {
    /// The `i32` the guest sees.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Buffer types (`proxy_get_buffer_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferType {
    /// 0
    HttpRequestBody,
    /// 1
    HttpResponseBody,
    /// 2
    DownstreamData,
    /// 3
    UpstreamData,
    /// 4
    HttpCallResponseBody,
    /// 5
    GrpcReceiveBuffer,
    /// 6
    VmConfiguration,
    /// 7
    PluginConfiguration,
    /// 8
    CallData,
}

impl BufferType {
    /// Decodes the wire value.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            0 => Self::HttpRequestBody,
            1 => Self::HttpResponseBody,
            2 => Self::DownstreamData,
            3 => Self::UpstreamData,
            4 => Self::HttpCallResponseBody,
            5 => Self::GrpcReceiveBuffer,
            6 => Self::VmConfiguration,
            7 => Self::PluginConfiguration,
            8 => Self::CallData,
            _ => return None,
        })
    }
}

/// Map types (`proxy_get_header_map_pairs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// 0
    HttpRequestHeaders,
    /// 1
    HttpRequestTrailers,
    /// 2
    HttpResponseHeaders,
    /// 3
    HttpResponseTrailers,
    /// 4
    GrpcReceiveInitialMetadata,
    /// 5
    GrpcReceiveTrailingMetadata,
    /// 6
    HttpCallResponseHeaders,
    /// 7
    HttpCallResponseTrailers,
}

impl MapType {
    /// Decodes the wire value.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            0 => Self::HttpRequestHeaders,
            1 => Self::HttpRequestTrailers,
            2 => Self::HttpResponseHeaders,
            3 => Self::HttpResponseTrailers,
            4 => Self::GrpcReceiveInitialMetadata,
            5 => Self::GrpcReceiveTrailingMetadata,
            6 => Self::HttpCallResponseHeaders,
            7 => Self::HttpCallResponseTrailers,
            _ => return None,
        })
    }
}

/// Stream types (`proxy_continue_stream`, `proxy_close_stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamType {
    /// 0
    HttpRequest,
    /// 1
    HttpResponse,
    /// 2
    Downstream,
    /// 3
    Upstream,
}

impl StreamType {
    /// Decodes the wire value.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            0 => Self::HttpRequest,
            1 => Self::HttpResponse,
            2 => Self::Downstream,
            3 => Self::Upstream,
            _ => return None,
        })
    }
}

/// Registers every host function on `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    log::add_to_linker(linker)?;
    headers::add_to_linker(linker)?;
    buffers::add_to_linker(linker)?;
    properties::add_to_linker(linker)?;
    http_call::add_to_linker(linker)?;
    shared_data::add_to_linker(linker)?;
    queues::add_to_linker(linker)?;
    timers::add_to_linker(linker)?;
    module_metrics::add_to_linker(linker)?;
    context::add_to_linker(linker)?;
    stream_control::add_to_linker(linker)?;
    foreign::add_to_linker(linker)?;
    wasi::add_to_linker(linker)?;
    Ok(())
}
