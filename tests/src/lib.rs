//! Test support: building the wasm modules, starting hosts and peers.
#![deny(missing_docs)]

pub mod browser;
pub mod host;
pub mod introspection_server;
pub mod jwks_server;
pub mod jwt;
pub mod peers;
pub mod serve;
pub mod token_server;
pub mod two_proxies;
pub mod wasm;
