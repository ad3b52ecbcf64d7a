//! Test support: building the wasm modules, starting hosts and peers.
#![deny(missing_docs)]

pub mod introspection_server;
pub mod jwks_server;
pub mod jwt;
pub mod peers;
pub mod two_proxies;
pub mod host;
pub mod wasm;
