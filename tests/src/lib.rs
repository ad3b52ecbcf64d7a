//! Test support: building the wasm modules, starting hosts and peers.
#![deny(missing_docs)]

pub mod host;
pub mod peers;
pub mod wasm;
