//! `oauth-host`: a standalone proxy that runs proxy-wasm modules in front of
//! an upstream.
#![deny(missing_docs)]

pub mod abi;
pub mod admin;
pub mod config;
pub mod log_fields;
pub mod metrics;
pub mod proxy;
pub mod runtime;
pub mod server;
