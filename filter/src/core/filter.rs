//! The resource-server pipeline: extract → resolve → authorize → edit.
//!
//! `resolve` turns a token into verified claims with one of two resolvers,
//! chosen per provider: the stateless JWT one, or introspection (RFC 7662),
//! which returns [`Resolution::Pending`] while its callout runs. Client
//! grants come as a stage after `authorize` adding their own header edits.

use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::answer_cache::{AnswerCache, Cached, Lookup};
use super::cache::{TokenCache, Verified};
use super::claims;
use super::client::{is_invalid_token_challenge, Injected, TokenManager, TokenState};
use super::client_auth;
use super::config::{FilterConfig, Resolver};
use super::error::{Rejection, TokenError};
use super::events::{hash_prefix, AuditEvent, Event, Histogram, Level, Metric};
use super::extract::extract;
use super::introspect::parse_answer;
use super::jose;
use super::keys::{Callout, CalloutId, CalloutResponse, KeyLookup, KeyManager};
use super::response::{reply, LocalReply};
use super::scopes;
use super::shared::{MemoryStore, SharedStore};
use super::time::UnixMillis;
use super::upstream::{self, HeaderEdits};
use super::verify::verify;

/// Most keys tried for one token that has no `kid`.
const MAX_KEY_TRIES: usize = 4;

/// Callout ids of introspection calls have this bit set (key fetches count
/// up from 1 and never reach it).
const INTROSPECTION_ID: u64 = 1 << 62;

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
    /// No answer from the introspection endpoint and `danger_fail_open`.
    FailOpen,
}

/// Outcome of the client stage.
#[derive(Debug)]
enum ClientStage {
    /// Forward with these edits (the gateway's token added, if any).
    Ready(HeaderEdits),
    /// Hold: a token request is under way.
    Wait,
    /// No token for the upstream: 502.
    Failed(Rejection),
}

/// One worker's filter state.
#[derive(Debug)]
pub struct Filter {
    cfg: Arc<FilterConfig>,
    keys: KeyManager,
    cache: TokenCache,
    answers: Option<AnswerCache>,
    /// Introspection callouts to start now (see [`Filter::drain_callouts`]).
    outbox: Vec<Callout>,
    /// Start times of introspection callouts (latency histogram).
    started: std::collections::HashMap<CalloutId, UnixMillis>,
    next_introspection: u64,
    worker: String,
    /// Shared data for callers without one ([`Filter::on_request`]).
    own_store: MemoryStore,
    events: Vec<Event>,
    /// The gateway's own tokens (client role).
    tokens: TokenManager,
    /// The token the last forwarded request got (see [`Filter::take_injected`]).
    injected: Option<Injected>,
}

impl Filter {
    /// A filter for one worker; `worker_id` must differ between workers of a
    /// process (it names the fetch lease holder).
    pub fn new(cfg: FilterConfig, worker_id: &str) -> Filter {
        let keys = KeyManager::new(&cfg, worker_id);
        let n_sources = cfg.client.as_ref().map_or(0, |c| c.sources.len());
        let cache = TokenCache::new(cfg.raw.cache.max_entries);
        let answers = cfg.introspector.and_then(|i| {
            let p = &cfg.providers[i];
            let ic = p.introspection.as_ref()?;
            // Answers are per (issuer, endpoint, client): two plugin
            // configurations in one VM never share answers they would not
            // both get.
            let id: String = Sha256::digest(
                format!("{}\n{}\n{}", p.issuer, ic.uri, ic.auth.client_id()).as_bytes(),
            )[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Some(AnswerCache::new(
                cfg.raw.introspection_cache.clone(),
                &p.name,
                &id,
                worker_id,
                ic.timeout_ms + 1000,
            ))
        });
        Filter {
            cfg: Arc::new(cfg),
            keys,
            cache,
            answers,
            outbox: Vec::new(),
            started: std::collections::HashMap::new(),
            next_introspection: 0,
            worker: worker_id.to_owned(),
            own_store: MemoryStore::default(),
            events: Vec::new(),
            tokens: TokenManager::new(n_sources, worker_id),
            injected: None,
        }
    }

    /// Prepare shared data: create the answer cache's buckets and every fetch
    /// lease (keys, tokens), so that serving only ever swaps existing
    /// records. Call once after configuration.
    pub fn init_shared(&mut self, store: &mut dyn SharedStore) {
        if let Some(a) = &self.answers {
            a.init(store);
        }
        self.keys.init_shared(store);
        if let Some(c) = &self.cfg.client {
            c.init_shared(store);
        }
    }

    /// Introspection callouts to start right away, from the context of the
    /// request that asked for them. Call after every [`Filter::on_request`].
    pub fn drain_callouts(&mut self) -> Vec<Callout> {
        std::mem::take(&mut self.outbox)
    }

    /// The introspection answer cache (tests, tooling).
    pub fn answers(&self) -> Option<&AnswerCache> {
        self.answers.as_ref()
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
        let mut out = self
            .keys
            .on_tick(now, store, &mut self.events, &mut changed);
        self.keys_changed(&changed);
        // Token renewals, from the root context (they outlive any request).
        out.extend(self.tokens.drain_background());
        if let Some(a) = &mut self.answers {
            for id in a.on_tick(now, store, &mut self.events) {
                self.started.remove(&id);
                self.events.push(Event::Log(
                    Level::Warn,
                    "introspection callout never answered; given up".into(),
                ));
            }
        }
        out
    }

    /// A callout started from a request context will never be answered (the
    /// stream ended): release its claim so that another request can retry.
    pub fn on_callout_abandoned(
        &mut self,
        id: CalloutId,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) {
        self.started.remove(&id);
        if TokenManager::owns_id(id) {
            if let Some(c) = &self.cfg.client {
                self.tokens.abandon(&c.sources, id, store);
            }
            return;
        }
        if let Some(a) = &mut self.answers {
            a.abandon(id, now, store, &mut self.events);
        }
    }

    /// A callout started by [`Filter::on_tick`] finished (status None: failed).
    pub fn on_callout_response(
        &mut self,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Vec<Callout> {
        if TokenManager::owns_id(id) {
            let Some(c) = &self.cfg.client else {
                return Vec::new();
            };
            return self
                .tokens
                .on_response(&c.sources, id, resp, now, store, &mut self.events);
        }
        if id.0 & INTROSPECTION_ID != 0 {
            self.introspection_done(id, resp, now, store);
            return Vec::new();
        }
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

    fn introspection_done(
        &mut self,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) {
        let Some(answers) = &mut self.answers else {
            return;
        };
        if !answers.owns(id) {
            return; // abandoned, or from an older configuration
        }
        if let Some(t) = self.started.remove(&id) {
            self.events.push(Event::Histogram(
                Histogram::IntrospectionLatencyMs,
                now.since(t),
            ));
        }
        let result = parse_answer(resp);
        let digest = answers.complete(id, &result, now, store, &mut self.events);
        if let Err(e) = &result {
            self.events
                .push(Event::Metric(Metric::IntrospectionError(e.kind())));
            let name = self
                .cfg
                .introspector
                .map(|i| self.cfg.providers[i].name.as_str())
                .unwrap_or("");
            self.events.push(Event::Log(
                Level::Warn,
                format!(
                    "provider {name}: introspection failed: {}; token_hash {}",
                    e.describe(),
                    digest.as_ref().map(hash_prefix).unwrap_or_default()
                ),
            ));
        }
    }

    /// Decide about one request, with a private in-memory shared store (one
    /// worker alone; tests). Adapters use [`Filter::on_request_in`].
    pub fn on_request(&mut self, req: &RequestView<'_>, now: UnixMillis) -> Decision {
        let mut store = std::mem::take(&mut self.own_store);
        let d = self.on_request_in(req, now, &mut store);
        self.own_store = store;
        d
    }

    /// Decide about one request. Then start [`Filter::drain_callouts`].
    pub fn on_request_in(
        &mut self,
        req: &RequestView<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Decision {
        self.injected = None;
        if self.cfg.providers.is_empty() {
            // Client role only: no caller token is required.
            return match self.client_stage(req, HeaderEdits::default(), now, store) {
                ClientStage::Ready(edits) => {
                    self.events.push(Event::Metric(Metric::Allowed));
                    Decision::Continue(edits)
                }
                ClientStage::Wait => Decision::Pause,
                ClientStage::Failed(r) => self.deny(req, r, None, None),
            };
        }
        let token = match extract(&self.cfg.raw.token, req.headers) {
            Ok(t) => t,
            Err(r) => return self.deny(req, r, None, None),
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let (verified, payload_b64) = match self.resolve(token, &digest, req, now, store) {
            Resolution::Verified(v, p) => (v, p),
            Resolution::Pending => return Decision::Pause,
            Resolution::Rejected(r) => return self.deny(req, r, Some(&digest), None),
            Resolution::FailOpen => return self.fail_open(req, &digest),
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
        let edits = match self.client_stage(req, edits, now, store) {
            ClientStage::Ready(e) => e,
            ClientStage::Wait => return Decision::Pause,
            ClientStage::Failed(r) => return self.deny(req, r, Some(&digest), Some(&verified)),
        };
        self.events.push(Event::Metric(Metric::Allowed));
        self.audit(req, "allow", 200, "ok", Some(&digest), Some(&verified));
        Decision::Continue(edits)
    }

    /// Client role: add the gateway's own token for the route's source.
    fn client_stage(
        &mut self,
        req: &RequestView<'_>,
        mut edits: HeaderEdits,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> ClientStage {
        let cfg = Arc::clone(&self.cfg);
        let Some(client) = &cfg.client else {
            return ClientStage::Ready(edits);
        };
        let Some(idx) = client.source_for(req.method, req.path) else {
            return ClientStage::Ready(edits);
        };
        let src = &client.sources[idx];
        let state = self.tokens.token_for(
            src,
            idx,
            req.held_since,
            now,
            store,
            &mut self.outbox,
            &mut self.events,
        );
        match state {
            TokenState::Ready { token, gen } => {
                // Ours replaces any value the client sent in that header.
                edits.remove.retain(|h| *h != client.header);
                edits.set.retain(|(h, _)| *h != client.header);
                edits
                    .set
                    .push((client.header.clone(), format!("Bearer {token}")));
                self.injected = Some(Injected { source: idx, gen });
                ClientStage::Ready(edits)
            }
            TokenState::Wait => ClientStage::Wait,
            TokenState::Failed(f) => ClientStage::Failed(Rejection::UpstreamTokenUnavailable {
                source: src.name.clone(),
                code: f.code,
                message: f.message,
            }),
        }
    }

    /// The gateway's token the last forwarded request carries upstream (the
    /// adapter keeps it for [`Filter::on_upstream_response`]). Call after
    /// every [`Filter::on_request_in`].
    pub fn take_injected(&mut self) -> Option<Injected> {
        self.injected.take()
    }

    /// The upstream answered a request that carried the gateway's token
    /// `injected`: a 401 with a Bearer `error="invalid_token"` challenge
    /// drops that token, so the next request gets a new one.
    pub fn on_upstream_response(
        &mut self,
        injected: Injected,
        status: u16,
        www_authenticate: &[&str],
        store: &mut dyn SharedStore,
    ) {
        if status != 401
            || !www_authenticate
                .iter()
                .any(|v| is_invalid_token_challenge(v))
        {
            return;
        }
        let cfg = Arc::clone(&self.cfg);
        let Some(src) = cfg
            .client
            .as_ref()
            .and_then(|c| c.sources.get(injected.source))
        else {
            return;
        };
        self.tokens
            .invalidate(src, injected.source, injected.gen, store, &mut self.events);
    }

    /// `danger_fail_open`: forward without identity (spoofable headers are
    /// still removed), log it, count it as allowed.
    fn fail_open(&mut self, req: &RequestView<'_>, digest: &[u8; 32]) -> Decision {
        let empty = serde_json::Map::new();
        let (edits, _) = upstream::edits(&self.cfg.raw.upstream, &empty, None);
        self.events.push(Event::Log(
            Level::Warn,
            format!(
                "introspection unavailable: request forwarded unchecked (danger_fail_open); token_hash {}",
                hash_prefix(digest)
            ),
        ));
        self.events.push(Event::Metric(Metric::Allowed));
        self.audit(req, "allow", 200, "fail_open", Some(digest), None);
        Decision::Continue(edits)
    }

    fn may_hold(&self, req: &RequestView<'_>, now: UnixMillis) -> bool {
        let since = req.held_since.unwrap_or(now);
        now.since(since) < self.cfg.raw.key_fetch.initial_wait_ms
    }

    /// Pick the resolver: a JWS whose `iss` names a JWT provider is verified
    /// here; a JWS of an introspection-only provider, and any other token
    /// when a provider introspects, goes to introspection.
    fn resolve(
        &mut self,
        token: &str,
        digest: &[u8; 32],
        req: &RequestView<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
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
        }
        let jws = jose::parse(token);
        let issuer_idx = jws.as_ref().ok().and_then(|j| {
            let iss = j.claims.get("iss").and_then(Value::as_str)?;
            self.cfg.providers.iter().position(|p| p.issuer == iss)
        });
        match issuer_idx {
            Some(i) if self.cfg.providers[i].resolver != Resolver::Introspection => {}
            Some(i) => return self.introspect(i, token, digest, req, now, store),
            None => {
                if let Some(i) = self.cfg.introspector {
                    return self.introspect(i, token, digest, req, now, store);
                }
            }
        }
        self.resolve_jwt(token, digest, req, now)
    }

    /// Introspection resolver (shared answer cache in front).
    fn introspect(
        &mut self,
        idx: usize,
        token: &str,
        digest: &[u8; 32],
        req: &RequestView<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Resolution {
        let provider = &self.cfg.providers[idx];
        let (Some(ic), Some(answers)) = (provider.introspection.as_ref(), self.answers.as_mut())
        else {
            return Resolution::Rejected(Rejection::IntrospectionUnavailable);
        };
        let hold = req
            .held_since
            .is_none_or(|since| now.since(since) < answers.hold_ms());
        let failed = || {
            if ic.danger_fail_open {
                Resolution::FailOpen
            } else {
                Resolution::Rejected(Rejection::IntrospectionUnavailable)
            }
        };
        let lookup = answers.lookup(digest, req.held_since, now, store, &mut self.events);
        let first = req.held_since.is_none();
        match lookup {
            Lookup::Hit(c) => {
                // A held request was counted as a miss when it arrived.
                if first {
                    self.events.push(Event::Metric(Metric::AnswerCacheHit));
                }
                self.answered(idx, c, now)
            }
            Lookup::InFlight | Lookup::OtherWorker => {
                if first {
                    self.events.push(Event::Metric(Metric::AnswerCacheMiss));
                }
                if hold {
                    Resolution::Pending
                } else {
                    failed()
                }
            }
            Lookup::Failed => failed(),
            Lookup::Claimed => {
                if first {
                    self.events.push(Event::Metric(Metric::AnswerCacheMiss));
                }
                self.next_introspection += 1;
                let n = self.next_introspection;
                let id = CalloutId(INTROSPECTION_ID | n);
                let jti = client_auth::jti(&self.worker, n, now);
                self.outbox.push(ic.request(id, token, now, &jti));
                answers.started(*digest, id, now);
                self.started.insert(id, now);
                self.events.push(Event::Metric(Metric::IntrospectionCall));
                if hold {
                    Resolution::Pending
                } else {
                    failed()
                }
            }
        }
    }

    fn answered(&self, idx: usize, c: Cached, now: UnixMillis) -> Resolution {
        let claims = match c {
            Cached::Inactive => {
                return Resolution::Rejected(Rejection::InvalidToken(TokenError::Inactive))
            }
            Cached::Active(m) => m,
        };
        let p = &self.cfg.providers[idx];
        if let Err(e) = claims::check_answer(p, &claims, now) {
            return Resolution::Rejected(Rejection::InvalidToken(TokenError::Claims(e)));
        }
        let exp = claims::exp_ms(&claims).unwrap_or(UnixMillis(u64::MAX));
        let payload = serde_json::to_vec(&*claims)
            .ok()
            .map(|b| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b));
        Resolution::Verified(
            Verified {
                provider: idx,
                claims,
                exp,
            },
            payload,
        )
    }

    /// Stateless JWT resolver (the verified-token cache was consulted).
    fn resolve_jwt(
        &mut self,
        token: &str,
        digest: &[u8; 32],
        req: &RequestView<'_>,
        now: UnixMillis,
    ) -> Resolution {
        // Count a held request once, not at every re-evaluation.
        if self.cfg.raw.cache.max_entries > 0 && req.held_since.is_none() {
            self.events.push(Event::Metric(Metric::CacheMiss));
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
