//! Header maps read as bytes (never through the SDK's `get_map`, which
//! panics on a non-UTF-8 value): `proxy_get_header_map_pairs` called
//! directly ([`super::abi`]), decoded by
//! [`abi_wire::header_map::decode_lossy_into`] (non-UTF-8 bytes become
//! U+FFFD; a malformed map is an empty one).

use proxy_wasm::types::MapType;

use super::abi;

/// The value of header `name` in `map` (the first, as the host picks it);
/// `None` when absent, on any status other than OK, or not UTF-8.
pub fn value(map: MapType, name: &str) -> Option<String> {
    String::from_utf8(abi::header_map_value(map, name).ok().flatten()?).ok()
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
    match abi::header_map_pairs(map).ok().flatten() {
        Some(bytes) => abi_wire::header_map::decode_lossy_into(&bytes, out),
        None => out.clear(),
    }
}
