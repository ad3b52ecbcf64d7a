//! Per-instance host state (the wasmtime `Store` data) and per-stream state
//! shared by the plugins of one HTTP exchange.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::Notify;
use wasmtime::StoreLimits;

use super::{ConnectionInfo, PluginSpec};
use crate::abi::headers::HeaderList;
use crate::abi::queues::QueueOwner;
use crate::abi::{BufferType, MapType, Status};
use crate::runtime::process_state::ProcessState;

/// Which half of the exchange the stream is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Request headers, body, trailers.
    Request,
    /// Response headers, body, trailers.
    Response,
}

/// A reply decided by a plugin (`proxy_send_local_response`).
#[derive(Debug, Clone)]
pub(crate) struct LocalReply {
    pub status: u16,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Bytes,
}

/// State of one HTTP exchange, shared by every plugin of the chain (a header
/// edit by one plugin is seen by the next).
#[derive(Debug)]
pub(crate) struct HttpData {
    pub connection: Arc<ConnectionInfo>,
    pub phase: Phase,
    pub request_headers: HeaderList,
    pub request_trailers: HeaderList,
    pub response_headers: HeaderList,
    pub response_trailers: HeaderList,
    pub protocol: &'static str,
    pub start_time: SystemTime,
    pub local_reply: Option<LocalReply>,
    /// `proxy_close_stream` was called on this stream.
    pub closed: bool,
    /// Values stored by `proxy_set_property`.
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
}

/// One plugin's view of one stream (a proxy-wasm stream context).
#[derive(Debug)]
pub(crate) struct StreamCtx {
    pub http: Rc<RefCell<HttpData>>,
    /// Wakes the stream's pipeline after `continue_stream`, `close_stream`,
    /// a local reply from a callout, or a crash.
    pub notify: Rc<Notify>,
    /// Request body data presented to this plugin (buffer 0).
    pub request_body: RefCell<Vec<u8>>,
    /// Response body data presented to this plugin (buffer 1).
    pub response_body: RefCell<Vec<u8>>,
    /// `continue_stream(HTTP_REQUEST)` pending.
    pub resume_request: Cell<bool>,
    /// `continue_stream(HTTP_RESPONSE)` pending.
    pub resume_response: Cell<bool>,
}

/// An `http_call` waiting to be sent by the worker after the callback.
#[derive(Debug)]
pub(crate) struct PendingCallout {
    pub token: u32,
    pub cluster: String,
    pub request: http::Request<Bytes>,
    pub timeout: Duration,
}

/// The answer being delivered by `proxy_on_http_call_response`.
#[derive(Debug, Default)]
pub(crate) struct CallResponse {
    pub headers: HeaderList,
    pub trailers: HeaderList,
    pub body: Vec<u8>,
    /// gRPC-style status for `proxy_get_status` (0 OK, 14 UNAVAILABLE).
    pub status: u32,
    pub message: String,
}

/// Facts about one plugin, shared by all its instances.
pub(crate) struct PluginShared {
    pub spec: PluginSpec,
    pub process: Arc<ProcessState>,
}

/// Data of one wasmtime `Store`: one instance of one plugin on one worker.
pub(crate) struct HostState {
    pub plugin: Arc<PluginShared>,
    pub limits: StoreLimits,
    pub root_context_id: u32,
    pub effective_context: Cell<u32>,
    pub next_context_id: u32,
    pub streams: HashMap<u32, Rc<StreamCtx>>,
    /// Properties set outside of any stream.
    pub root_properties: RefCell<HashMap<Vec<u8>, Vec<u8>>>,
    pub pending_callouts: RefCell<Vec<PendingCallout>>,
    pub next_token: Cell<u32>,
    pub call_response: RefCell<Option<CallResponse>>,
    /// Period asked by `proxy_set_tick_period_milliseconds` (zero: off).
    pub tick_period: Cell<Duration>,
    pub tick_changed: Cell<bool>,
    /// Where `on_queue_ready` for queues registered here is delivered.
    pub queue_owner: Option<QueueOwner>,
    /// Whether this instance runs on a worker (callouts and ticks possible).
    pub on_worker: bool,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<PluginShared>, queue_owner: Option<QueueOwner>) -> Self {
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(plugin.spec.max_memory_bytes)
            .trap_on_grow_failure(true)
            .instances(1)
            .build();
        let on_worker = queue_owner.is_some();
        HostState {
            plugin,
            limits,
            root_context_id: 1,
            effective_context: Cell::new(1),
            next_context_id: 2,
            streams: HashMap::new(),
            root_properties: RefCell::new(HashMap::new()),
            pending_callouts: RefCell::new(Vec::new()),
            next_token: Cell::new(1),
            call_response: RefCell::new(None),
            tick_period: Cell::new(Duration::ZERO),
            tick_changed: Cell::new(false),
            queue_owner,
            on_worker,
        }
    }

    pub(crate) fn spec(&self) -> &PluginSpec {
        &self.plugin.spec
    }

    /// The stream context the guest currently acts on, if it is one.
    pub(crate) fn stream(&self) -> Option<&Rc<StreamCtx>> {
        self.streams.get(&self.effective_context.get())
    }

    /// Runs `f` on map `map` of the effective context; NOT_FOUND where the
    /// map does not exist in this context or phase.
    pub(crate) fn with_map<R>(
        &self,
        map: MapType,
        f: impl FnOnce(&mut HeaderList) -> R,
    ) -> Result<R, Status> {
        match map {
            MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers => {
                let mut call = self.call_response.borrow_mut();
                let call = call.as_mut().ok_or(Status::NotFound)?;
                Ok(f(if map == MapType::HttpCallResponseHeaders {
                    &mut call.headers
                } else {
                    &mut call.trailers
                }))
            }
            MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata => {
                Err(Status::NotFound)
            }
            _ => {
                let stream = self.stream().ok_or(Status::NotFound)?;
                let mut http = stream.http.borrow_mut();
                let in_response = http.phase == Phase::Response;
                let target = match map {
                    MapType::HttpRequestHeaders => &mut http.request_headers,
                    MapType::HttpRequestTrailers => &mut http.request_trailers,
                    MapType::HttpResponseHeaders if in_response => &mut http.response_headers,
                    MapType::HttpResponseTrailers if in_response => &mut http.response_trailers,
                    _ => return Err(Status::NotFound),
                };
                Ok(f(target))
            }
        }
    }

    /// Runs `f` on buffer `buffer`; NOT_FOUND where it does not exist here.
    pub(crate) fn with_buffer<R>(
        &self,
        buffer: BufferType,
        f: impl FnOnce(&mut Vec<u8>) -> R,
    ) -> Result<R, Status> {
        match buffer {
            BufferType::HttpRequestBody => Ok(f(&mut self
                .stream()
                .ok_or(Status::NotFound)?
                .request_body
                .borrow_mut())),
            BufferType::HttpResponseBody => Ok(f(&mut self
                .stream()
                .ok_or(Status::NotFound)?
                .response_body
                .borrow_mut())),
            BufferType::HttpCallResponseBody => {
                let mut call = self.call_response.borrow_mut();
                Ok(f(&mut call.as_mut().ok_or(Status::NotFound)?.body))
            }
            BufferType::VmConfiguration => Ok(f(&mut self.plugin.spec.vm_configuration.to_vec())),
            BufferType::PluginConfiguration => Ok(f(&mut self.plugin.spec.configuration.to_vec())),
            _ => Err(Status::NotFound),
        }
    }
}
