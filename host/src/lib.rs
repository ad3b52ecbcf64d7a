//! `oauth-host`: a standalone proxy that runs proxy-wasm modules in front of
//! an upstream.
#![deny(missing_docs)]

pub mod metrics;
pub mod runtime;
