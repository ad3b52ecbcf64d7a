//! The resource server: from a request's token to verified claims and the
//! header edits for the upstream.
//!
//! - `extract.rs`: RFC 6750 §2.1 token extraction;
//! - [`Resolvers`]: picks the resolver per token — `jwt.rs` (keys in
//!   `keys/`, verified tokens in `token_cache.rs`) or `introspection/`;
//! - `claims.rs`, `scopes.rs`: registered-claim checks and rules, scopes;
//! - `claim_headers.rs`: header edits for the upstream.

pub mod binding;
pub mod claim_headers;
pub mod claims;
pub mod extract;
pub mod introspection;
pub mod jwt;
pub mod keys;
pub mod scopes;
pub mod token_cache;

use serde_json::Value;

use crate::core::config::{FilterConfig, Resolver};
use crate::core::error::Rejection;
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::jose::jws;
use crate::core::jose::verify::Verifier;
use crate::core::util::time::UnixMillis;
use introspection::Introspector;
use jwt::JwtResolver;
use token_cache::Verified;

/// Outcome of the token resolvers.
#[derive(Debug)]
pub enum Resolution {
    /// Verified claims, and the payload (base64url) for the payload header.
    Verified(Verified, Option<String>),
    /// Hold the request until what it names arrives: keys or an answer
    /// are on their way.
    Pending(WaitFor),
    /// Refuse the request.
    Rejected(Rejection),
    /// No answer from the introspection endpoint and `danger_fail_open`.
    FailOpen,
}

/// Both resolvers of one worker.
#[derive(Debug)]
pub struct Resolvers {
    /// Local JWT verification.
    pub jwt: JwtResolver,
    /// Introspection.
    pub introspection: Introspector,
}

impl Resolvers {
    /// State for `cfg`.
    pub fn new(cfg: &FilterConfig, worker_id: &str, verifier: Verifier) -> Resolvers {
        Resolvers {
            jwt: JwtResolver::new(cfg, worker_id, verifier),
            introspection: Introspector::new(cfg, worker_id),
        }
    }

    /// Pick the resolver: a JWS whose `iss` names a JWT provider is verified
    /// here; a JWS of an introspection-only provider, and any other token
    /// when a provider introspects, goes to introspection.
    pub fn resolve(
        &mut self,
        cfg: &FilterConfig,
        token: &str,
        digest: &[u8; 32],
        held_since: Option<UnixMillis>,
        io: &mut Io<'_>,
    ) -> Resolution {
        if let Some(r) = self
            .jwt
            .cached(cfg, token, digest, io.now, &mut io.out.events)
        {
            return r;
        }
        let parsed = jws::parse(token);
        let issuer_idx = parsed.as_ref().ok().and_then(|j| {
            let iss = j.claims.get("iss").and_then(Value::as_str)?;
            cfg.providers.iter().position(|p| p.issuer == iss)
        });
        let introspect = match issuer_idx {
            Some(i) if cfg.providers[i].resolver != Resolver::Introspection => None,
            Some(i) => Some(i),
            None => cfg.introspector,
        };
        match introspect {
            Some(i) => self
                .introspection
                .resolve(cfg, i, token, digest, held_since, io),
            None => self
                .jwt
                .resolve(cfg, token, digest, held_since, io.now, &mut io.out.events),
        }
    }
}
