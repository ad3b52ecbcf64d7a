//! Sans-IO OAuth 2.0 logic: no proxy-wasm types in here (modelled on
//! rustls/quinn-proto: a protocol core that never does I/O).
//!
//! # The I/O contract
//!
//! What the adapter injects once: the configuration (with its
//! [`config::Secrets`]), a signature backend, a worker id
//! ([`Filter::with_backend`]), then [`Filter::init_shared`].
//!
//! Inputs, each a `Filter::handle_*` call with an [`Io`] envelope (the
//! time, the [`shared::SharedStore`], a fresh [`Outbox`]):
//!
//! - [`Filter::handle_request`]: a request ([`RequestView`]) →
//!   [`Decision`]; a paused one names what it waits for
//!   (`Decision::Pause(WaitFor)`);
//! - [`Filter::handle_callout_response`], [`Filter::handle_callout_abandoned`]:
//!   a callout answered, failed, or will never be answered;
//! - [`Filter::handle_tick`]: the periodic tick;
//! - [`Filter::handle_upstream_response`]: the upstream's status and
//!   challenges for a request that carried the gateway's token.
//!
//! Outputs, polled from the [`Outbox`] after each call, in this order (see
//! [`io`]): `events` (log, count), `injected` (the gateway's token the
//! request carries upstream), `callouts` (start them), `ready` (what
//! arrived: wake the held requests waiting for it, [`Held::woken`]; a tick
//! wakes them all).
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
//! - [`login`]: browser login, the OpenID Connect relying party (sessions in
//!   sealed cookies);
//! - [`sts`]: the security token service (WS-Trust, JWT and SAML bearer
//!   assertions);
//! - [`pipeline`]: the [`Filter`], sequencing the capabilities;
//! - [`io`], [`held`]: the I/O envelope and output context; typed waits and
//!   the held requests.
//!
//! Dependency order (a module only imports modules to its left; no
//! circles): util → jose → route → config → shared → client → resource →
//! login → pipeline; `callout`, `events`, `error`, `response`, `audit`, `held` are
//! leaves used across, and `io` (after `shared`: the envelope holds the
//! store) is used by `client`, `resource` and `pipeline`. A new capability gets its own folder beside
//! `resource/`, `client/`, `login/` and `sts/`.

pub mod audit;
pub mod callout;
pub mod client;
pub mod config;
pub mod error;
pub mod events;
pub mod failure;
pub mod held;
pub mod io;
pub mod jose;
pub mod login;
pub mod pipeline;
pub mod request;
pub mod resource;
pub mod response;
pub mod route;
pub mod shared;
pub mod sts;
pub mod util;

pub use callout::{Callout, CalloutId, CalloutResponse};
pub use held::{Held, WaitFor};
pub use io::{Io, Outbox};
pub use pipeline::{Decision, Filter};
pub use request::{Connection, Needs, RequestView};
pub use util::time::UnixMillis;
