//! The byte formats that cross the proxy-wasm ABI, written once for both
//! sides: the module (`oauth-filter`, wasm32-wasip1) and the host
//! (`oauth-host`).
//!
//! - [`header_map`]: the serialized header map of
//!   `proxy_get_header_map_pairs` / `proxy_set_header_map_pairs`.
//! - [`protobuf`]: the few protobuf wire-format pieces the foreign functions
//!   need (varints, length-delimited fields).
//! - [`hex`]: lowercase hex, the text form of digests in properties and keys.
//! - [`request_path`]: the one request-path policy (refuse or normalise),
//!   so that the filter's rules, oauth-host's routes and the upstream see
//!   one path.
//! - [`verify_signature`]: Envoy's `verify_signature` foreign function's
//!   arguments and result.
//!
//! Every decoder is total: any input gives a value or `None`, never a panic
//! (the fuzz targets in `fuzz/` hold them to it).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod header_map;
pub mod hex;
pub mod protobuf;
pub mod request_path;
pub mod verify_signature;
