//! OAuth 2.0 gateway filter for proxy-wasm hosts.
//!
//! `core` is sans-IO OAuth logic (no proxy-wasm types); `wasm` is the thin
//! proxy-wasm adapter that drives it.
#![deny(missing_docs)]

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
