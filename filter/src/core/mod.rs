//! Sans-IO OAuth 2.0 resource-server logic: no proxy-wasm types in here.
//!
//! Inputs are request views, the time, a [`shared::SharedStore`] and callout
//! responses; outputs are [`Decision`]s, [`Callout`]s to start and
//! [`events::Event`]s to log and count. The proxy-wasm adapter
//! (`crate::wasm`) only moves data between the host and this module.

pub mod answer_cache;
pub mod cache;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod config;
pub mod error;
pub mod events;
pub mod extract;
pub mod filter;
pub mod foreign_sig;
pub mod introspect;
pub mod jose;
pub mod json;
pub mod jwk;
pub mod keys;
pub mod response;
pub mod scopes;
pub mod shared;
pub mod time;
pub mod upstream;
pub mod uri;
pub mod verify;

pub use filter::{Decision, Filter, RequestView};
pub use keys::{Callout, CalloutId, CalloutResponse};
pub use time::UnixMillis;
