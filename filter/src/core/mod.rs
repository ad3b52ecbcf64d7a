//! Sans-IO OAuth 2.0 logic: no proxy-wasm types in here (modelled on
//! rustls/quinn-proto: a protocol core that never does I/O).
//!
//! Inputs are request views, the time, a [`shared::SharedStore`], callout
//! responses and what the adapter injects (the configuration's
//! [`config::Secrets`], a signature backend); outputs are [`Decision`]s,
//! [`Callout`]s to start and [`events::Event`]s to log and count. The
//! proxy-wasm adapter (`crate::wasm`) only moves data between the host and
//! this module.
//!
//! One folder per capability; a new capability is a new folder:
//!
//! - [`util`]: strict JSON, time, URIs, hex and form encoding;
//! - [`jose`]: JWS, JWK, signature verification, signing keys;
//! - [`config`]: the one parse entry and every validated type;
//! - [`shared`]: shared data and the fetch lease;
//! - [`resource`]: the resource server (extract, resolvers, keys,
//!   introspection, claims, scopes, claim headers);
//! - [`client`]: the gateway as an OAuth client (token sources);
//! - [`pipeline`]: the [`Filter`], sequencing the capabilities.
//!
//! Dependency order (a module only imports modules to its left; no
//! circles): util → jose → route → config → shared → client → resource →
//! pipeline; `callout`, `events`, `error`, `response`, `audit` are leaves
//! used across. Future capabilities get their own folders beside
//! `resource/` and `client/`: `login/` (OIDC relying party, sessions) and
//! `sts/` (token exchange, RFC 8693).

pub mod audit;
pub mod callout;
pub mod client;
pub mod config;
pub mod error;
pub mod events;
pub mod jose;
pub mod pipeline;
pub mod resource;
pub mod response;
pub mod route;
pub mod shared;
pub mod util;

pub use callout::{Callout, CalloutId, CalloutResponse};
pub use pipeline::{Decision, Filter, RequestView};
pub use util::time::UnixMillis;
