//! The resource-server pipeline: extract → resolve → authorize → edit.
//!
//! `resolve` turns a token into verified claims. Today the only resolver is
//! the stateless JWT one; introspection (RFC 7662) slots in as a second
//! resolver returning [`Resolution::Pending`] while its callout runs, and
//! client grants as a stage after `authorize` adding its own header edits.

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::cache::{TokenCache, Verified};
use super::claims;
use super::config::FilterConfig;
use super::error::{Rejection, TokenError};
use super::events::{hash_prefix, AuditEvent, Event, Metric};
use super::extract::extract;
use super::jose;
use super::keys::{Callout, CalloutId, CalloutResponse, KeyLookup, KeyManager};
use super::response::{reply, LocalReply};
use super::scopes;
use super::shared::SharedStore;
use super::time::UnixMillis;
use super::upstream::{self, HeaderEdits};
use super::verify::verify;

/// Most keys tried for one token that has no `kid`.
const MAX_KEY_TRIES: usize = 4;

/// The request as the core sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// `:method`.
    pub method: &'a str,
    /// Path (query allowed; it is ignored for matching).
    pub path: &'a str,
    /// All request headers, in order, repeated names kept.
    pub headers: &'a [(String, String)],
    /// When this request was first paused (None on first evaluation).
    pub held_since: Option<UnixMillis>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it with these header edits.
    Continue(HeaderEdits),
    /// Answer it here.
    Reply(LocalReply),
    /// Hold it; evaluate again (with `held_since`) after the next tick or
    /// callout response.
    Pause,
}

/// Outcome of the token resolvers.
#[derive(Debug)]
enum Resolution {
    Verified(Verified, Option<String>),
    Pending,
    Rejected(Rejection),
}

/// One worker's filter state.
#[derive(Debug)]
pub struct Filter {
    cfg: Arc<FilterConfig>,
    keys: KeyManager,
    cache: TokenCache,
    events: Vec<Event>,
}

impl Filter {
    /// A filter for one worker; `worker_id` must differ between workers of a
    /// process (it names the fetch lease holder).
    pub fn new(cfg: FilterConfig, worker_id: &str) -> Filter {
        let keys = KeyManager::new(&cfg, worker_id);
        let cache = TokenCache::new(cfg.raw.cache.max_entries);
        Filter {
            cfg: Arc::new(cfg),
            keys,
            cache,
            events: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FilterConfig {
        &self.cfg
    }

    /// Tick period the adapter should ask for.
    pub fn tick_period_ms(&self) -> u64 {
        self.cfg.raw.tick_ms
    }

    /// Key state (tests, tooling).
    pub fn keys(&self) -> &KeyManager {
        &self.keys
    }

    /// Events since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Drive key fetches. Call on every tick.
    pub fn on_tick(&mut self, now: UnixMillis, store: &mut dyn SharedStore) -> Vec<Callout> {
        let mut changed = Vec::new();
        let out = self
            .keys
            .on_tick(now, store, &mut self.events, &mut changed);
        self.keys_changed(&changed);
        out
    }

    /// A callout started by [`Filter::on_tick`] finished (status None: failed).
    pub fn on_callout_response(
        &mut self,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Vec<Callout> {
        let mut changed = Vec::new();
        let out = self
            .keys
            .on_response(id, resp, now, store, &mut self.events, &mut changed);
        self.keys_changed(&changed);
        out
    }

    fn keys_changed(&mut self, changed: &[usize]) {
        for &i in changed {
            self.cache.forget_provider(i);
        }
    }

    /// Decide about one request.
    pub fn on_request(&mut self, req: &RequestView<'_>, now: UnixMillis) -> Decision {
        let token = match extract(&self.cfg.raw.token, req.headers) {
            Ok(t) => t,
            Err(r) => return self.deny(req, r, None, None),
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let (verified, payload_b64) = match self.resolve(token, &digest, req, now) {
            Resolution::Verified(v, p) => (v, p),
            Resolution::Pending => return Decision::Pause,
            Resolution::Rejected(r) => return self.deny(req, r, Some(&digest), None),
        };
        let required = scopes::required(&self.cfg.raw.scopes, req.method, req.path);
        if !scopes::satisfied(&required, &verified.claims) {
            return self.deny(
                req,
                Rejection::InsufficientScope { required },
                Some(&digest),
                Some(&verified),
            );
        }
        let (edits, dropped) = upstream::edits(
            &self.cfg.raw.upstream,
            &verified.claims,
            payload_b64.as_deref(),
        );
        for c in dropped {
            self.events.push(Event::Log(
                super::events::Level::Warn,
                format!("claim {c} not forwarded: not representable as a header value"),
            ));
        }
        self.events.push(Event::Metric(Metric::Allowed));
        self.audit(req, "allow", 200, "ok", Some(&digest), Some(&verified));
        Decision::Continue(edits)
    }

    fn may_hold(&self, req: &RequestView<'_>, now: UnixMillis) -> bool {
        let since = req.held_since.unwrap_or(now);
        now.since(since) < self.cfg.raw.key_fetch.initial_wait_ms
    }

    /// Stateless JWT resolver (with the verified-token cache in front).
    fn resolve(
        &mut self,
        token: &str,
        digest: &[u8; 32],
        req: &RequestView<'_>,
        now: UnixMillis,
    ) -> Resolution {
        if self.cfg.raw.cache.max_entries > 0 {
            if let Some(v) = self.cache.get(digest, now) {
                self.events.push(Event::Metric(Metric::CacheHit));
                let p = &self.cfg.providers[v.provider];
                return match claims::check(p, &v.claims, now) {
                    Ok(()) => Resolution::Verified(v, payload_part(token)),
                    Err(e) => Resolution::Rejected(Rejection::InvalidToken(TokenError::Claims(e))),
                };
            }
            // Count a held request once, not at every re-evaluation.
            if req.held_since.is_none() {
                self.events.push(Event::Metric(Metric::CacheMiss));
            }
        }
        let bad = |e: TokenError| Resolution::Rejected(Rejection::InvalidToken(e));
        let jws = match jose::parse(token) {
            Ok(j) => j,
            Err(e) => return bad(TokenError::Jose(e)),
        };
        let Some(idx) = jws
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| self.cfg.providers.iter().position(|p| p.issuer == iss))
        else {
            return bad(TokenError::UntrustedIssuer);
        };
        let provider = &self.cfg.providers[idx];
        let alg = jws.header.alg;
        if !provider.algorithms.contains(&alg) {
            return bad(TokenError::DisallowedAlg);
        }
        if provider.require_at_jwt_typ && !jose::is_at_jwt_typ(jws.header.typ.as_deref()) {
            return bad(TokenError::WrongTyp);
        }
        let set = match self.keys.lookup(idx) {
            KeyLookup::Ready(set) => set,
            KeyLookup::Loading if self.may_hold(req, now) => return Resolution::Pending,
            KeyLookup::Loading | KeyLookup::Unavailable => {
                return Resolution::Rejected(Rejection::KeysUnavailable)
            }
        };
        let kid = jws.header.kid.as_deref();
        if let Some(k) = kid {
            if !set.has_kid(k) {
                let hold = self.may_hold(req, now);
                if hold && self.keys.request_refetch(idx, now) {
                    return Resolution::Pending;
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
        if !candidates
            .iter()
            .any(|k| verify(alg, &k.material, jws.signing_input, &jws.signature))
        {
            return bad(TokenError::BadSignature);
        }
        if let Err(e) = claims::check(provider, &jws.claims, now) {
            return bad(TokenError::Claims(e));
        }
        let Some(exp) = claims::exp_ms(&jws.claims) else {
            return bad(TokenError::Claims(super::error::ClaimError::MissingExp));
        };
        let v = Verified {
            provider: idx,
            claims: Arc::new(jws.claims),
            exp,
        };
        self.cache.insert(*digest, v.clone(), now);
        Resolution::Verified(v, Some(jws.payload_b64.to_owned()))
    }

    fn deny(
        &mut self,
        req: &RequestView<'_>,
        r: Rejection,
        digest: Option<&[u8; 32]>,
        verified: Option<&Verified>,
    ) -> Decision {
        self.events.push(Event::Metric(Metric::Denied(r.reason())));
        self.audit(req, "deny", r.status(), r.reason(), digest, verified);
        Decision::Reply(reply(&self.cfg.raw.realm, &r))
    }

    fn audit(
        &mut self,
        req: &RequestView<'_>,
        decision: &'static str,
        status: u16,
        reason: &'static str,
        digest: Option<&[u8; 32]>,
        verified: Option<&Verified>,
    ) {
        if !self.cfg.raw.audit.enabled {
            return;
        }
        let path: String = req
            .path
            .split('?')
            .next()
            .unwrap_or("")
            .chars()
            .take(256)
            .collect();
        let mut ev = AuditEvent {
            decision,
            status,
            reason,
            method: req.method.chars().take(16).collect(),
            path,
            provider: None,
            issuer: None,
            sub: None,
            client_id: None,
            tracking_id: None,
            token_hash: digest.map(hash_prefix),
        };
        if let Some(v) = verified {
            let c = &v.claims;
            ev.provider = Some(self.cfg.providers[v.provider].name.clone());
            ev.issuer = claims::short_str(c, "iss");
            ev.sub = claims::short_str(c, "sub");
            ev.client_id =
                claims::short_str(c, "client_id").or_else(|| claims::short_str(c, "azp"));
            ev.tracking_id = claims::short_str(c, &self.cfg.raw.audit.tracking_id_claim);
        }
        self.events.push(Event::Audit(Box::new(ev)));
    }
}

fn payload_part(token: &str) -> Option<String> {
    token.split('.').nth(1).map(str::to_owned)
}
