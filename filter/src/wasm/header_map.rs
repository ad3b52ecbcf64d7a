//! Header maps read as bytes (never through the SDK's `get_map`, which
//! panics on a non-UTF-8 value): `proxy_get_header_map_pairs` called
//! directly, decoded by [`abi_wire::header_map::decode_lossy`]
//! (non-UTF-8 bytes become U+FFFD; a malformed map is an empty one).

use std::ptr::null_mut;

use proxy_wasm::types::MapType;

extern "C" {
    // The SDK declares the same import with its own types; the wasm
    // signature is (i32, i32, i32) -> i32 either way.
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
}

/// The value of header `name` in `map` (the first, as the host picks it);
/// `None` when absent, on any status other than OK, or not UTF-8.
pub fn value(map: MapType, name: &str) -> Option<String> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: the host only writes the two out-parameters (see `take`);
    // `name` outlives the call.
    let status = unsafe {
        proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size)
    };
    // SAFETY: `data` and `size` as the host wrote them for this call.
    String::from_utf8(unsafe { take(status, data, size) }?).ok()
}

/// The buffer a host call handed over, if it answered OK with one.
///
/// # Safety
/// `data` and `size` are what the host wrote for a call that answered
/// `status`: on OK, memory it allocated through the module's
/// `proxy_on_memory_allocate` (the SDK's `Vec` allocator) and its exact
/// size, whose ownership passes to us (as in the SDK's getters).
unsafe fn take(status: u32, data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if status != 0 || data.is_null() {
        return None;
    }
    // SAFETY: the caller's contract above.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// The pairs of `map`; empty when the host has none or answers any status
/// other than OK (no status panics here).
pub fn get(map: MapType) -> Vec<(String, String)> {
    let mut out = Vec::new();
    get_into(map, &mut out);
    out
}

/// [`get`] into `out`, reusing the strings it holds (the request path:
/// no allocation per header once the buffers fit).
pub fn get_into(map: MapType, out: &mut Vec<(String, String)>) {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: the host only writes the two out-parameters (see `take`).
    let status = unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) };
    // SAFETY: `data` and `size` as the host wrote them for this call.
    match unsafe { take(status, data, size) } {
        Some(bytes) => abi_wire::header_map::decode_lossy_into(&bytes, out),
        None => out.clear(),
    }
}
