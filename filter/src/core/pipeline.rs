//! The pipeline: extract → resolve → authorize → edit, then the client
//! stage. [`Filter`] only sequences the capabilities (`resource/`,
//! `client/`) and turns their outcomes into a [`Decision`], audit lines and
//! metrics.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::audit::{audit, Audited};
use super::callout::{Callout, CalloutId, CalloutResponse};
use super::client::{self, is_invalid_token_challenge, ClientStage, Injected, TokenManager};
use super::config::FilterConfig;
use super::error::Rejection;
use super::events::{hash_prefix, Event, Level, Metric};
use super::jose::verify::{SignatureBackend, Verifier};
use super::resource::claim_headers::{self, HeaderEdits};
use super::resource::extract::extract;
use super::resource::introspection::cache::AnswerCache;
use super::resource::keys::KeyManager;
use super::resource::token_cache::Verified;
use super::resource::{scopes, Resolution, Resolvers};
use super::response::{reply, LocalReply};
use super::shared::{MemoryStore, SharedStore};
use super::util::time::UnixMillis;

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

impl RequestView<'_> {
    fn audited(&self) -> Audited<'_> {
        Audited {
            method: self.method,
            path: self.path,
        }
    }
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

/// One worker's filter state.
#[derive(Debug)]
pub struct Filter {
    cfg: Arc<FilterConfig>,
    resolvers: Resolvers,
    /// Callouts to start now (see [`Filter::drain_callouts`]).
    outbox: Vec<Callout>,
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
    /// process (it names the fetch lease holder). Signatures are verified by
    /// the pure-Rust verifiers.
    pub fn new(cfg: FilterConfig, worker_id: &str) -> Filter {
        Filter::with_verifier(cfg, worker_id, Verifier::default())
    }

    /// [`Filter::new`] with `backend` tried before the pure-Rust verifiers
    /// (the adapter injects the host's native `verify_signature`).
    pub fn with_backend(
        cfg: FilterConfig,
        worker_id: &str,
        backend: &'static dyn SignatureBackend,
    ) -> Filter {
        Filter::with_verifier(cfg, worker_id, Verifier::new(backend))
    }

    fn with_verifier(cfg: FilterConfig, worker_id: &str, verifier: Verifier) -> Filter {
        let n_sources = cfg.client.as_ref().map_or(0, |c| c.sources.len());
        Filter {
            resolvers: Resolvers::new(&cfg, worker_id, verifier),
            cfg: Arc::new(cfg),
            outbox: Vec::new(),
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
        self.resolvers.introspection.init_shared(store);
        self.resolvers.jwt.keys.init_shared(store);
        if let Some(c) = &self.cfg.client {
            c.init_shared(store);
        }
    }

    /// Callouts to start right away, from the context of the request that
    /// asked for them. Call after every [`Filter::on_request`].
    pub fn drain_callouts(&mut self) -> Vec<Callout> {
        std::mem::take(&mut self.outbox)
    }

    /// The introspection answer cache (tests, tooling).
    pub fn answers(&self) -> Option<&AnswerCache> {
        self.resolvers.introspection.answers()
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
        &self.resolvers.jwt.keys
    }

    /// Events since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Drive key fetches. Call on every tick.
    pub fn on_tick(&mut self, now: UnixMillis, store: &mut dyn SharedStore) -> Vec<Callout> {
        let mut changed = Vec::new();
        let jwt = &mut self.resolvers.jwt;
        let mut out = jwt.keys.on_tick(now, store, &mut self.events, &mut changed);
        jwt.keys_changed(&changed);
        // Token renewals, from the root context (they outlive any request).
        out.extend(self.tokens.drain_background());
        self.resolvers
            .introspection
            .on_tick(now, store, &mut self.events);
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
        match id {
            CalloutId::Token { .. } => {
                if let Some(c) = &self.cfg.client {
                    self.tokens.abandon(&c.sources, id, store);
                }
            }
            CalloutId::Introspection(_) | CalloutId::Keys { .. } => self
                .resolvers
                .introspection
                .abandon(id, now, store, &mut self.events),
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
        match id {
            CalloutId::Token { .. } => {
                let Some(c) = &self.cfg.client else {
                    return Vec::new();
                };
                self.tokens
                    .on_response(&c.sources, id, resp, now, store, &mut self.events)
            }
            CalloutId::Introspection(_) => {
                self.resolvers.introspection.on_response(
                    &self.cfg,
                    id,
                    resp,
                    now,
                    store,
                    &mut self.events,
                );
                Vec::new()
            }
            CalloutId::Keys { .. } => {
                let mut changed = Vec::new();
                let jwt = &mut self.resolvers.jwt;
                let out =
                    jwt.keys
                        .on_response(id, resp, now, store, &mut self.events, &mut changed);
                jwt.keys_changed(&changed);
                out
            }
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
                ClientStage::Ready(edits, injected) => {
                    self.injected = injected;
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
        let resolution = self.resolvers.resolve(
            &self.cfg,
            token,
            &digest,
            req.held_since,
            now,
            store,
            &mut self.outbox,
            &mut self.events,
        );
        let (verified, payload_b64) = match resolution {
            Resolution::Verified(v, p) => (v, p),
            Resolution::Pending => return Decision::Pause,
            Resolution::Rejected(r) => return self.deny(req, r, Some(&digest), None),
            Resolution::FailOpen => return self.fail_open(req, &digest),
        };
        let required = scopes::required(&self.cfg.scopes, req.method, req.path);
        if !scopes::satisfied(&required, &verified.claims) {
            return self.deny(
                req,
                Rejection::InsufficientScope { required },
                Some(&digest),
                Some(&verified),
            );
        }
        let (edits, dropped) = claim_headers::edits(
            &self.cfg.raw.upstream,
            &verified.claims,
            payload_b64.as_deref(),
        );
        for c in dropped {
            self.events.push(Event::Log(
                Level::Warn,
                format!("claim {c} not forwarded: not representable as a header value"),
            ));
        }
        let edits = match self.client_stage(req, edits, now, store) {
            ClientStage::Ready(e, injected) => {
                self.injected = injected;
                e
            }
            ClientStage::Wait => return Decision::Pause,
            ClientStage::Failed(r) => return self.deny(req, r, Some(&digest), Some(&verified)),
        };
        self.events.push(Event::Metric(Metric::Allowed));
        self.audit(req, "allow", 200, "ok", Some(&digest), Some(&verified));
        Decision::Continue(edits)
    }

    fn client_stage(
        &mut self,
        req: &RequestView<'_>,
        edits: HeaderEdits,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> ClientStage {
        client::stage(
            self.cfg.client.as_ref(),
            &mut self.tokens,
            req.method,
            req.path,
            req.held_since,
            edits,
            now,
            store,
            &mut self.outbox,
            &mut self.events,
        )
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
        let Some(src) = self
            .cfg
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
        let (edits, _) = claim_headers::edits(&self.cfg.raw.upstream, &empty, None);
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
        let a = audit(
            &self.cfg,
            req.audited(),
            decision,
            status,
            reason,
            digest,
            verified,
        );
        self.events.extend(a);
    }
}
