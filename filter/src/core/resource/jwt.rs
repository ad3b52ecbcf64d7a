//! The stateless JWT resolver: a JWS of a configured issuer, verified here
//! with the provider's keys (Envoy jwt_authn's authenticator + verifier),
//! with the per-worker verified-token cache in front.

use std::sync::Arc;

use serde_json::Value;

use super::claims;
use super::keys::{KeyLookup, KeyManager};
use super::token_cache::{TokenCache, Verified};
use super::token_hash::TokenHash;
use super::Resolution;
use crate::core::config::FilterConfig;
use crate::core::error::{ClaimError, Rejection, TokenError};
use crate::core::events::{Event, Metric};
use crate::core::held::WaitFor;
use crate::core::jose::jws::{self, JoseError, Jws};
use crate::core::jose::verify::Verifier;
use crate::core::util::time::UnixMillis;

/// Most keys tried for one token that has no `kid`.
const MAX_KEY_TRIES: usize = 4;

/// One worker's JWT state: key sets, verified tokens, the signature backend.
#[derive(Debug)]
pub struct JwtResolver {
    /// Key sets of every provider.
    pub keys: KeyManager,
    /// Verified tokens.
    pub cache: TokenCache,
    verifier: Verifier,
}

impl JwtResolver {
    /// State for `cfg`, verifying with `verifier`.
    pub fn new(cfg: &FilterConfig, worker_id: &str, verifier: Verifier) -> JwtResolver {
        JwtResolver {
            keys: KeyManager::new(cfg, worker_id),
            cache: TokenCache::new(
                cfg.raw.cache.max_entries,
                crate::core::util::fast_hash::word_hash(0, worker_id.as_bytes()),
            ),
            verifier,
        }
    }

    /// Forget cached tokens of providers whose key set changed.
    pub fn keys_changed(&mut self, changed: &[usize]) {
        for &i in changed {
            self.cache.forget_provider(i);
        }
    }

    /// A cached verified token (claims re-checked against `now`), if any.
    /// The payload is left out (the caller takes it from the token).
    pub fn cached(
        &mut self,
        cfg: &FilterConfig,
        hash: &TokenHash<'_>,
        now: UnixMillis,
        events: &mut Vec<Event>,
    ) -> Option<Resolution> {
        if cfg.raw.cache.max_entries == 0 {
            return None;
        }
        // The audit line names the token by its hash: keep it with the entry.
        let v = self.cache.get(hash, now, cfg.raw.audit.enabled)?;
        events.push(Event::Metric(Metric::CacheHit));
        let p = &cfg.providers[v.provider];
        Some(match claims::check(p, &v.claims, now) {
            Ok(()) => Resolution::Verified(v, None),
            Err(e) => Resolution::Rejected(Rejection::InvalidToken(TokenError::Claims(e))),
        })
    }

    fn may_hold(cfg: &FilterConfig, held_since: Option<UnixMillis>, now: UnixMillis) -> bool {
        let since = held_since.unwrap_or(now);
        now.since(since) < cfg.raw.key_fetch.initial_wait_ms
    }

    /// Verify `token` in full (the cache was consulted); it is cached as
    /// the token of `hash` (a JWE's nested JWS under the JWE). The payload
    /// is left out (the caller takes it from the token).
    pub fn resolve(
        &mut self,
        cfg: &FilterConfig,
        token: &str,
        hash: &TokenHash<'_>,
        held_since: Option<UnixMillis>,
        now: UnixMillis,
        events: &mut Vec<Event>,
    ) -> Resolution {
        self.resolve_parsed(cfg, jws::parse(token), hash, held_since, now, events)
    }

    /// [`JwtResolver::resolve`] of a token the caller parsed already (to
    /// pick its resolver): a new token is decoded once.
    pub fn resolve_parsed(
        &mut self,
        cfg: &FilterConfig,
        parsed: Result<Jws<'_>, JoseError>,
        hash: &TokenHash<'_>,
        held_since: Option<UnixMillis>,
        now: UnixMillis,
        events: &mut Vec<Event>,
    ) -> Resolution {
        // Count a held request once, not at every re-evaluation.
        if cfg.raw.cache.max_entries > 0 && held_since.is_none() {
            events.push(Event::Metric(Metric::CacheMiss));
        }
        let bad = |e: TokenError| Resolution::Rejected(Rejection::InvalidToken(e));
        let jws = match parsed {
            Ok(j) => j,
            Err(e) => return bad(TokenError::Jose(e)),
        };
        let Some(idx) = jws
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| cfg.providers.iter().position(|p| p.issuer == iss))
        else {
            return bad(TokenError::UntrustedIssuer);
        };
        let provider = &cfg.providers[idx];
        let alg = jws.header.alg;
        if !provider.algorithms.contains(&alg) {
            return bad(TokenError::DisallowedAlg);
        }
        if provider.require_at_jwt_typ && !jws::is_at_jwt_typ(jws.header.typ.as_deref()) {
            return bad(TokenError::WrongTyp);
        }
        let set = match self.keys.lookup(idx) {
            KeyLookup::Ready(set) => set,
            KeyLookup::Loading if Self::may_hold(cfg, held_since, now) => {
                return Resolution::Pending(WaitFor::Keys(idx))
            }
            KeyLookup::Loading | KeyLookup::Unavailable => {
                return Resolution::Rejected(Rejection::KeysUnavailable)
            }
        };
        let kid = jws.header.kid.as_deref();
        if let Some(k) = kid {
            if !set.has_kid(k) {
                let hold = Self::may_hold(cfg, held_since, now);
                if hold && self.keys.request_refetch(idx, now) {
                    return Resolution::Pending(WaitFor::Keys(idx));
                }
                return bad(TokenError::UnknownKid);
            }
        }
        let candidates: Vec<_> = set.candidates(alg, kid).take(MAX_KEY_TRIES).collect();
        if candidates.is_empty() {
            return bad(if kid.is_some() {
                TokenError::AlgKeyMismatch
            } else {
                TokenError::NoMatchingKey
            });
        }
        if !candidates.iter().any(|k| {
            self.verifier
                .verify(alg, &k.material, jws.signing_input, &jws.signature)
        }) {
            return bad(TokenError::BadSignature);
        }
        if let Err(e) = claims::check(provider, &jws.claims, now) {
            return bad(TokenError::Claims(e));
        }
        let Some(exp) = claims::exp_ms(&jws.claims) else {
            return bad(TokenError::Claims(ClaimError::MissingExp));
        };
        let v = Verified {
            provider: idx,
            claims: Arc::new(jws.claims),
            exp,
        };
        self.cache.insert(hash, v.clone(), now);
        Resolution::Verified(v, None)
    }
}
