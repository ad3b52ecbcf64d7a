//! The resource server: from a request's token to verified claims and the
//! header edits for the upstream.
//!
//! - `extract.rs`: RFC 6750 §2.1 token extraction;
//! - [`Resolvers`]: picks the resolver per token — `jwt.rs` (keys in
//!   `keys/`, verified tokens in `token_cache.rs`) or `introspection/`;
//! - `claims.rs`, `scopes/`: registered-claim checks and rules, scopes
//!   (static, per route, computed from the request and claims);
//! - `binding/`: sender-constrained tokens (RFC 8705, RFC 9449);
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
pub mod token_hash;

use serde_json::Value;

use crate::core::config::{FilterConfig, Resolver};
use crate::core::error::Rejection;
use crate::core::error::TokenError;
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::jose::jwe::{self, JweError};
use crate::core::jose::jws;
use crate::core::jose::verify::Verifier;
use crate::core::util::time::UnixMillis;
use introspection::Introspector;
use jwt::JwtResolver;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use token_cache::Verified;
use token_hash::TokenHash;

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
    /// Randomness for JWE decryption (RSA blinding); seeded by the adapter
    /// ([`Resolvers::seed`]), from the worker id until then.
    rng: ChaCha20Rng,
}

impl Resolvers {
    /// State for `cfg`.
    pub fn new(cfg: &FilterConfig, worker_id: &str, verifier: Verifier) -> Resolvers {
        Resolvers {
            jwt: JwtResolver::new(cfg, worker_id, verifier),
            introspection: Introspector::new(cfg, worker_id),
            rng: ChaCha20Rng::from_seed(Sha256::digest(worker_id.as_bytes()).into()),
        }
    }

    /// Seed the randomness with 32 bytes from the host (WASI `random_get`).
    pub fn seed(&mut self, seed: [u8; 32]) {
        self.rng = ChaCha20Rng::from_seed(seed);
        let mut cache_seed = [0u8; 8];
        cache_seed.copy_from_slice(&Sha256::digest(seed)[..8]);
        self.jwt.cache.reseed(u64::from_le_bytes(cache_seed));
    }

    /// A compact JWE (five parts): decrypt it with the keys of the
    /// providers that have some (a provider named by the header's `iss`
    /// first), and give the nested JWT it must carry.
    fn decrypt(&mut self, cfg: &FilterConfig, token: &str) -> Result<String, Rejection> {
        let reject = |e: TokenError| Rejection::InvalidToken(e);
        let mut last = JweError::NoKey;
        for p in cfg.providers.iter() {
            let Some(d) = &p.decryption else { continue };
            match jwe::decrypt(token, &d.keys, &d.algs, &d.encs, &mut self.rng) {
                Ok(out) => {
                    let nested = jwe::is_nested_jwt(&out.header)
                        || out
                            .header
                            .cty
                            .as_deref()
                            .is_some_and(|c| jws::is_at_jwt_typ(Some(c)));
                    if !nested {
                        return Err(reject(TokenError::Jwe(JweError::BadHeaderMember("cty"))));
                    }
                    return String::from_utf8(out.plaintext)
                        .map_err(|_| reject(TokenError::Jwe(JweError::Decrypt)));
                }
                Err(e @ (JweError::NoKey | JweError::Decrypt)) => last = e,
                Err(e) => return Err(reject(TokenError::Jwe(e))),
            }
        }
        Err(reject(TokenError::Jwe(last)))
    }

    /// Resolve the token: the verified-token cache first; a token it does
    /// not hold is first refused by `check` if it must be (`Err`: refused
    /// before any resolver ran), then resolved. Every token the cache holds
    /// passed the caller's `check` (the resource server's limits on a
    /// token), so a cached token is not checked again.
    pub fn resolve(
        &mut self,
        cfg: &FilterConfig,
        hash: &TokenHash<'_>,
        held_since: Option<UnixMillis>,
        io: &mut Io<'_>,
        check: impl FnOnce() -> Result<(), Rejection>,
    ) -> Result<Resolution, Rejection> {
        if let Some(r) = self.jwt.cached(cfg, hash, io.now, &mut io.out.events) {
            return Ok(match r {
                Resolution::Verified(v, _) => {
                    Resolution::Verified(v, payload_part(cfg, hash.token()))
                }
                r => r,
            });
        }
        check()?;
        Ok(self.resolve_uncached(cfg, hash, held_since, io))
    }

    /// Pick the resolver for a token the cache does not hold: a JWS whose
    /// `iss` names a JWT provider is verified here; a JWS of an
    /// introspection-only provider, and any other token when a provider
    /// introspects, goes to introspection.
    fn resolve_uncached(
        &mut self,
        cfg: &FilterConfig,
        hash: &TokenHash<'_>,
        held_since: Option<UnixMillis>,
        io: &mut Io<'_>,
    ) -> Resolution {
        let token = hash.token();
        if is_encrypted(token) {
            // Verified as the nested JWS, cached under the JWE; its parts
            // are not the payload: the claims are re-encoded.
            let inner = match self.decrypt(cfg, token) {
                Ok(t) => t,
                Err(r) => return Resolution::Rejected(r),
            };
            return match self
                .jwt
                .resolve(cfg, &inner, hash, held_since, io.now, &mut io.out.events)
            {
                Resolution::Verified(v, _) => Resolution::Verified(v, None),
                r => r,
            };
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
                .resolve(cfg, i, token, hash.get(), held_since, io),
            None => {
                // The payload part as the parse found it (no second scan).
                let payload = cfg
                    .raw
                    .upstream
                    .payload_header
                    .as_ref()
                    .and(parsed.as_ref().ok())
                    .map(|j| j.payload_b64.to_owned());
                match self.jwt.resolve_parsed(
                    cfg,
                    parsed,
                    hash,
                    held_since,
                    io.now,
                    &mut io.out.events,
                ) {
                    Resolution::Verified(v, _) => Resolution::Verified(v, payload),
                    r => r,
                }
            }
        }
    }
}

/// A compact JWE (five parts), not a JWS (three).
fn is_encrypted(token: &str) -> bool {
    // `matches` finds each dot with the word-at-a-time `memchr`; a byte
    // loop was 2 % of the module's time on the verification path.
    token.matches('.').count() == 4
}

/// A cached token's JWS payload (base64url) for `upstream.payload_header`;
/// None when no such header is configured (nothing is copied) or the token
/// is a JWE (cached under the JWE).
fn payload_part(cfg: &FilterConfig, token: &str) -> Option<String> {
    cfg.raw.upstream.payload_header.as_ref()?;
    if is_encrypted(token) {
        return None;
    }
    token.split('.').nth(1).map(str::to_owned)
}
