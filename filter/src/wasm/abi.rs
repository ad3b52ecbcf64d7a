//! The host calls the adapter makes, as raw proxy-wasm 0.2.1 imports whose
//! status is a plain `u32`: any status is an `Err` here, never a panic
//! (header maps are decoded by [`super::header_map`]).
//!
//! The SDK's wrappers (proxy-wasm 0.2.5) `panic!` on a status they do not
//! expect for a call (`set_map_value`, `log`, `get_current_time`,
//! `send_http_response`, the metrics, …), and read the status as an enum,
//! so a host answering outside the ABI's list would crash the VM on a
//! request's path. The SDK keeps `proxy_http_call` (its dispatcher must
//! register the callout) and the calls of its own dispatcher.
//!
//! Each import is declared with the same wasm signature as the SDK's
//! (pointers, sizes and enums are all `i32`).

use std::ptr::{null, null_mut};

use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType};

/// A status other than OK (or NOT_FOUND where it means "absent").
pub type Status = u32;

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
const STREAM_HTTP_REQUEST: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_buffer_data: *mut *mut u8,
        return_buffer_size: *mut usize,
    ) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_call_foreign_function(
        function_name_data: *const u8,
        function_name_size: usize,
        arguments_data: *const u8,
        arguments_size: usize,
        results_data: *mut *mut u8,
        results_size: *mut usize,
    ) -> u32;
}

fn status(s: u32) -> Result<(), Status> {
    if s == OK {
        Ok(())
    } else {
        Err(s)
    }
}

/// The buffer a host call handed over: `Ok(None)` for NOT_FOUND or no
/// buffer.
///
/// # Safety
/// `data` and `size` are what the host wrote for a call that answered
/// `s`: on OK with a non-null `data`, memory it allocated through the
/// module's `proxy_on_memory_allocate` (the SDK's `Vec` allocator) and its
/// exact size, whose ownership passes to us (as in the SDK's getters).
unsafe fn owned(s: u32, data: *mut u8, size: usize) -> Result<Option<Vec<u8>>, Status> {
    match s {
        OK if data.is_null() => Ok(None),
        // SAFETY: the caller's contract above.
        OK => Ok(Some(unsafe { Vec::from_raw_parts(data, size, size) })),
        NOT_FOUND => Ok(None),
        other => Err(other),
    }
}

/// Log `message` at `level`.
pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
    // SAFETY: the host reads `message` during the call only.
    status(unsafe { proxy_log(level as u32, message.as_ptr(), message.len()) })
}

/// The host's clock, in nanoseconds since the Unix epoch.
pub fn current_time_ns() -> Result<u64, Status> {
    let mut t: u64 = 0;
    // SAFETY: the host writes the one out-parameter.
    status(unsafe { proxy_get_current_time_nanoseconds(&mut t) })?;
    Ok(t)
}

/// The serialized pairs of header map `map` (`Ok(None)`: the host has none).
pub fn header_map_pairs(map: MapType) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (null_mut(), 0);
    // SAFETY: the host writes the two out-parameters (see `owned`).
    let s = unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) };
    // SAFETY: as the host wrote them for this call.
    unsafe { owned(s, data, size) }
}

/// The value of header `key` in `map` (the first, as the host picks it).
pub fn header_map_value(map: MapType, key: &str) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (null_mut(), 0);
    // SAFETY: the host reads the key and writes the two out-parameters.
    let s = unsafe {
        proxy_get_header_map_value(map as u32, key.as_ptr(), key.len(), &mut data, &mut size)
    };
    // SAFETY: as the host wrote them for this call.
    unsafe { owned(s, data, size) }
}

/// Set header `key` of `map` to `value` (replacing every value), or remove
/// it with `None`.
pub fn set_header(map: MapType, key: &str, value: Option<&str>) -> Result<(), Status> {
    // SAFETY: the host reads the key and value during the call only.
    status(unsafe {
        match value {
            Some(v) => proxy_replace_header_map_value(
                map as u32,
                key.as_ptr(),
                key.len(),
                v.as_ptr(),
                v.len(),
            ),
            None => proxy_remove_header_map_value(map as u32, key.as_ptr(), key.len()),
        }
    })
}

/// Add a value to header `key` of `map`.
pub fn add_header(map: MapType, key: &str, value: &str) -> Result<(), Status> {
    // SAFETY: the host reads the key and value during the call only.
    status(unsafe {
        proxy_add_header_map_value(
            map as u32,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Answer the current stream locally.
pub fn send_response(code: u32, headers: &[(&str, &str)], body: &[u8]) -> Result<(), Status> {
    let map = abi_wire::header_map::encode(headers);
    // SAFETY: the host reads the body and the map during the call only.
    status(unsafe {
        proxy_send_local_response(
            code,
            null(),
            0,
            body.as_ptr(),
            body.len(),
            map.as_ptr(),
            map.len(),
            -1,
        )
    })
}

/// Resume the current stream's request.
pub fn resume_request() -> Result<(), Status> {
    // SAFETY: no pointers.
    status(unsafe { proxy_continue_stream(STREAM_HTTP_REQUEST) })
}

/// Call the root context's `on_tick` every `ms` milliseconds (clamped to
/// the ABI's `u32`).
pub fn set_tick_period(ms: u64) -> Result<(), Status> {
    // SAFETY: no pointers.
    status(unsafe { proxy_set_tick_period_milliseconds(u32::try_from(ms).unwrap_or(u32::MAX)) })
}

/// Make `context_id` the context the next calls act on.
pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    // SAFETY: no pointers.
    status(unsafe { proxy_set_effective_context(context_id) })
}

/// Define a metric; its id.
pub fn define_metric(kind: MetricType, name: &str) -> Result<u32, Status> {
    let mut id: u32 = 0;
    // SAFETY: the host reads `name` and writes the one out-parameter.
    status(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Record a histogram value.
pub fn record_metric(id: u32, value: u64) -> Result<(), Status> {
    // SAFETY: no pointers.
    status(unsafe { proxy_record_metric(id, value) })
}

/// Add to a counter.
pub fn increment_metric(id: u32, offset: i64) -> Result<(), Status> {
    // SAFETY: no pointers.
    status(unsafe { proxy_increment_metric(id, offset) })
}

/// At most `max` bytes of `buffer` from `start`.
pub fn buffer(buffer: BufferType, start: usize, max: usize) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (null_mut(), 0);
    // SAFETY: the host writes the two out-parameters (see `owned`).
    let s = unsafe { proxy_get_buffer_bytes(buffer as u32, start, max, &mut data, &mut size) };
    // SAFETY: as the host wrote them for this call.
    unsafe { owned(s, data, size) }
}

/// A property by path (`["request", "method"]`); `Ok(None)` when absent.
pub fn property(path: &[&str]) -> Result<Option<Vec<u8>>, Status> {
    // The ABI's path: each segment followed by a NUL byte.
    let mut p = Vec::with_capacity(path.iter().map(|s| s.len() + 1).sum());
    for s in path {
        p.extend_from_slice(s.as_bytes());
        p.push(0);
    }
    if !p.is_empty() {
        p.pop();
    }
    let (mut data, mut size): (*mut u8, usize) = (null_mut(), 0);
    // SAFETY: the host reads the path and writes the two out-parameters.
    let s = unsafe { proxy_get_property(p.as_ptr(), p.len(), &mut data, &mut size) };
    // SAFETY: as the host wrote them for this call.
    unsafe { owned(s, data, size) }
}

/// Shared data `key` with its compare-and-swap value; `Ok(None)` when
/// absent.
pub fn shared_data(key: &str) -> Result<Option<(Vec<u8>, u32)>, Status> {
    let (mut data, mut size, mut cas): (*mut u8, usize, u32) = (null_mut(), 0, 0);
    // SAFETY: the host reads the key and writes the three out-parameters.
    let s =
        unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    // SAFETY: as the host wrote them for this call.
    Ok(unsafe { owned(s, data, size) }?.map(|v| (v, cas)))
}

/// Set shared data `key`, if its compare-and-swap value is still `cas`
/// (0: whatever it is); `Err(4)` (CAS_MISMATCH) when it is not.
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
    // SAFETY: the host reads the key and value during the call only.
    status(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}

/// Call the host's foreign function `name`; its answer (`Err(NOT_FOUND)`
/// when the host has no such function).
pub fn call_foreign_function(name: &str, arguments: &[u8]) -> Result<Option<Vec<u8>>, Status> {
    let (mut data, mut size): (*mut u8, usize) = (null_mut(), 0);
    // SAFETY: the host reads the name and arguments and writes the two
    // out-parameters.
    let s = unsafe {
        proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            arguments.as_ptr(),
            arguments.len(),
            &mut data,
            &mut size,
        )
    };
    if s == NOT_FOUND {
        return Err(NOT_FOUND);
    }
    // SAFETY: as the host wrote them for this call.
    unsafe { owned(s, data, size) }
}
