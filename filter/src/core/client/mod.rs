//! The gateway as an OAuth 2.0 client: it gets an access token of its own
//! from the authorization server and sends it upstream.
//!
//! A *token source* is one grant — client credentials (RFC 6749 §4.4) or
//! resource-owner password (§4.3) — with its client authentication
//! (`auth.rs`, shared with introspection) and its token
//! endpoint (fixed, or found by OIDC discovery). Route rules pick the source.
//!
//! The token lives in shared data, one record per source for every worker
//! of the VM: `{gen, token, failure, endpoint}`. A worker that needs a token
//! (none, expired, or within the renewal margin) takes the source's lease
//! ([`crate::core::shared::try_acquire`]); only the holder calls the token
//! endpoint, every other request waits (`Pause`) for the record to change
//! (single flight). Renewal starts `renew_margin_s` before expiry while the
//! old token still serves requests; the password grant renews with its
//! refresh token when one was issued. An upstream `401` with
//! `error="invalid_token"` drops the token it was given (by generation), so
//! the next request gets a new one. Failures are kept for
//! `retry_after_failure_s`: requests without a usable token get `502`
//! naming the failure (the OAuth `error` code, never a secret).
//!
//! Files: `wire.rs` (the token request), `auth.rs` (client authentication),
//! `answer.rs` (the token endpoint's answer), `challenge.rs` (the
//! upstream's `WWW-Authenticate`), `manager.rs` (the shared-data state
//! machine). The configuration types are in [`crate::core::config::client`].

pub mod answer;
pub mod auth;
pub mod challenge;
pub mod manager;
pub mod wire;

pub use answer::{parse_discovery, parse_token_answer, TokenAnswer, TokenFailure, MAX_TOKEN};
pub use challenge::is_invalid_token_challenge;
pub use manager::{Record, StoredFailure, StoredToken, TokenManager, TokenState};

use crate::core::config::Client;
use crate::core::error::Rejection;
use crate::core::held::WaitFor;
pub use crate::core::io::Injected;
use crate::core::io::Io;
use crate::core::response::HeaderEdits;
use crate::core::route::normalize_path;
use crate::core::shared::{ensure_lease, SharedStore};
use crate::core::util::time::UnixMillis;

impl Client {
    /// Creates every source's token-request lease in shared data (see
    /// [`crate::core::shared::ensure_lease`]).
    pub fn init_shared(&self, store: &mut dyn SharedStore) {
        for src in &self.sources {
            ensure_lease(store, &format!("{}/lease", src.key));
        }
    }

    /// The source for a request, if any (`path` raw: normalised here).
    pub fn source_for(&self, method: &str, path: &str) -> Option<usize> {
        self.source_for_normalized(method, &normalize_path(path))
    }

    /// [`Client::source_for`] with the path already normalised
    /// ([`crate::core::route::check_path`]).
    pub fn source_for_normalized(&self, method: &str, normalized: &str) -> Option<usize> {
        for r in &self.rules {
            if r.route.matches(method, normalized) {
                return r.source;
            }
        }
        self.default_source
    }
}

/// Outcome of the client stage.
#[derive(Debug)]
pub enum ClientStage {
    /// Forward with these edits (the gateway's token added, if any).
    Ready(HeaderEdits, Option<Injected>),
    /// Hold until [`WaitFor::Token`] of the route's source: a token
    /// request is under way.
    Wait(WaitFor),
    /// No token for the upstream: 502.
    Failed(Rejection),
}

/// The client stage of a request: add the gateway's own token for the
/// route's source to `edits`; may start a token request (into `io.out`).
/// `normalized`: the request path from [`crate::core::route::check_path`].
pub fn stage(
    client: Option<&Client>,
    tokens: &mut TokenManager,
    method: &str,
    normalized: &str,
    held_since: Option<UnixMillis>,
    mut edits: HeaderEdits,
    io: &mut Io<'_>,
) -> ClientStage {
    let Some(client) = client else {
        return ClientStage::Ready(edits, None);
    };
    let Some(idx) = client.source_for_normalized(method, normalized) else {
        return ClientStage::Ready(edits, None);
    };
    let src = &client.sources[idx];
    match tokens.token_for(src, idx, held_since, io) {
        TokenState::Ready { token, gen } => {
            // Ours replaces any value the client sent in that header.
            edits.remove.retain(|h| *h != client.header);
            edits.set.retain(|(h, _)| *h != client.header);
            edits
                .set
                .push((client.header.clone(), format!("Bearer {token}")));
            ClientStage::Ready(edits, Some(Injected { source: idx, gen }))
        }
        TokenState::Wait => ClientStage::Wait(WaitFor::Token(idx)),
        TokenState::Failed(f) => ClientStage::Failed(Rejection::UpstreamTokenUnavailable {
            source: src.name.clone(),
            code: f.code,
            message: f.message,
        }),
    }
}
