//! proxy-wasm ABI 0.2.1/0.2.0 host functions, one module per section of the
//! specification. Each module keeps its pure logic (codecs, stores) apart
//! from the wasmtime glue (`add_to_linker`).

use wasmtime::Linker;

use crate::runtime::state::HostState;

pub mod buffers;
pub mod context;
pub mod foreign;
pub mod headers;
pub mod http_call;
pub mod log;
pub mod memory;
pub mod metrics;
pub mod properties;
pub mod queues;
pub mod shared_data;
pub mod stream;
pub mod timers;
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
    metrics::add_to_linker(linker)?;
    context::add_to_linker(linker)?;
    stream::add_to_linker(linker)?;
    foreign::add_to_linker(linker)?;
    wasi::add_to_linker(linker)?;
    Ok(())
}
