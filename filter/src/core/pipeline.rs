//! The pipeline: extract → resolve → authorize → edit, then the client
//! stage. [`Filter`] only sequences the capabilities (`resource/`,
//! `client/`) and turns their outcomes into a [`Decision`], audit lines and
//! metrics.

use std::sync::Arc;

use sha2::Digest;

use super::audit::{audit, Audited, MadeId};
use super::callout::{CalloutId, CalloutResponse};
use super::client::{self, is_invalid_token_challenge, ClientStage, Injected, TokenManager};
use super::config::{CertificateSource, FilterConfig};
use super::error::Rejection;
use super::events::{hash_prefix, Event, Level, Metric};
use super::failure;
use super::held::WaitFor;
use super::io::{Io, Outbox};
use super::jose::verify::{SignatureBackend, Verifier};
use super::login::{self, LoginOutcome, LoginState};
pub use super::request::{Connection, Needs, RequestView};
use super::resource::claim_headers::{self, HeaderEdits};
use super::resource::extract;
use super::resource::introspection::cache::AnswerCache;
use super::resource::keys::KeyManager;
use super::resource::token_cache::Verified;
use super::resource::token_hash::TokenHash;
use super::resource::{binding, scopes, Resolution, Resolvers};
use super::response::{reply, LocalReply};
use super::shared::SharedStore;
use super::sts::endpoint::{self as sts_endpoint, Refusal};
use super::sts::fault::WstFault;
use super::sts::issue::{Issuing, StsState};
use super::sts::on_behalf::{self, OnBehalfStage};
use super::sts::Sts;
use super::util::time::UnixMillis;

impl RequestView<'_> {
    fn audited<'r>(&'r self, now: UnixMillis, made_id: MadeId<'r>) -> Audited<'r> {
        Audited {
            method: self.method,
            path: self.path,
            request_id: self.header("x-request-id"),
            arrived: self.held_since.unwrap_or(now),
            now,
            made_id,
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
    /// Hold it until what it waits for arrives ([`Outbox::ready`]) or the
    /// next tick; then evaluate it again (with `held_since`).
    Pause(WaitFor),
}

/// One worker's filter state.
#[derive(Debug)]
pub struct Filter {
    cfg: Arc<FilterConfig>,
    resolvers: Resolvers,
    /// The gateway's own tokens (client role).
    tokens: TokenManager,
    /// Signature verification (DPoP proofs; the resolvers hold their own).
    verifier: Verifier,
    /// The time of the request being decided (for audit events).
    now: UnixMillis,
    /// Transaction ids made here: a per-worker prefix and a counter.
    tx_prefix: String,
    tx_seq: std::cell::Cell<u64>,
    /// Browser login (with `login`): randomness and calls under way.
    login: Option<LoginState>,
    /// The token service's randomness (used with `sts`).
    sts: StsState,
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
            tokens: TokenManager::new(n_sources, worker_id),
            verifier,
            now: UnixMillis::default(),
            tx_prefix: super::util::hex::sha256_id(worker_id, 4),
            tx_seq: std::cell::Cell::new(0),
            // Re-seeded from the host by `seed_rng`; until then the worker
            // id (unique per worker) keys the stream.
            login: cfg
                .login
                .as_ref()
                .map(|_| LoginState::new(sha2::Sha256::digest(worker_id.as_bytes()).into())),
            sts: StsState::new(
                sha2::Sha256::new()
                    .chain_update(b"sts\0")
                    .chain_update(worker_id.as_bytes())
                    .finalize()
                    .into(),
                cfg.sts.as_ref(),
                worker_id,
            ),
            cfg: Arc::new(cfg),
        }
    }

    /// Prepare shared data: create the answer cache's buckets and every fetch
    /// lease (keys, tokens), so that serving only ever swaps existing
    /// records. Call once after configuration.
    pub fn init_shared(&mut self, store: &mut dyn SharedStore) {
        self.resolvers.introspection.init_shared(store);
        self.resolvers.jwt.keys.init_shared(store);
        if !self.cfg.providers.is_empty() {
            binding::enforce::replay_cache().init_shared(store);
        }
        if let Some(c) = &self.cfg.client {
            c.init_shared(store);
        }
        if let Some(v) = &self.sts.via {
            v.init_shared(store);
        }
    }

    /// Seed the randomness the core uses (JWE decryption's RSA blinding)
    /// with 32 bytes from the host.
    pub fn seed_rng(&mut self, seed: [u8; 32]) {
        self.resolvers.seed(seed);
        if let Some(l) = &mut self.login {
            // Its own stream: never the bytes the resolvers use.
            let derived: [u8; 32] = sha2::Sha256::new()
                .chain_update(b"login\0")
                .chain_update(seed)
                .finalize()
                .into();
            *l = LoginState::new(derived);
        }
        let derived: [u8; 32] = sha2::Sha256::new()
            .chain_update(b"sts\0")
            .chain_update(seed)
            .finalize()
            .into();
        self.sts.reseed(derived);
    }

    /// The largest body the adapter must buffer and hand to
    /// [`Filter::handle_request_with_body`] for this request (a POST to
    /// the token service), or None: the core decides on the headers alone.
    pub fn wants_body(&self, req: &RequestView<'_>) -> Option<usize> {
        let sts = self.cfg.sts.as_ref()?;
        if req.method != "POST" {
            return None;
        }
        let path = crate::core::route::check_path(req.path).ok()?;
        sts_endpoint::is_endpoint(sts, path.as_str(), self.cfg.raw.case_insensitive_paths)
            .then_some(sts.max_body_bytes)
    }

    /// The introspection answer cache (tests, tooling).
    pub fn answers(&self) -> Option<&AnswerCache> {
        self.resolvers.introspection.answers()
    }

    /// What the adapter must read from the host per request, beyond the
    /// headers ([`Needs`]).
    pub fn needs(&self) -> Needs {
        let providers = &self.cfg.providers;
        let rs = !providers.is_empty();
        // The login builds its redirect URI from the request's scheme.
        let login_scheme = self
            .cfg
            .login
            .as_ref()
            .is_some_and(|l| l.public_origin.is_none());
        Needs {
            tls: (rs && self.cfg.raw.require_https) || login_scheme,
            peer_certificate: providers
                .iter()
                .any(|p| p.sender_constraint.certificate == CertificateSource::Connection),
            source_address: providers
                .iter()
                .any(|p| !p.sender_constraint.trusted_proxies.is_empty()),
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
        &self.resolvers.jwt.keys
    }

    /// The periodic tick: drive key fetches, start token renewals (from
    /// the root context: they outlive any request), give up introspection
    /// callouts never answered. The adapter then evaluates every held
    /// request again, whatever is ready (another worker may have filled
    /// shared data; hold budgets run out).
    pub fn handle_tick(&mut self, io: &mut Io<'_>) {
        let mut changed = Vec::new();
        let jwt = &mut self.resolvers.jwt;
        jwt.keys.on_tick(io, &mut changed);
        jwt.keys_changed(&changed);
        io.out.callouts.extend(self.tokens.drain_background());
        self.resolvers.introspection.on_tick(io);
        if let Some(l) = &mut self.login {
            l.on_tick(io.now);
        }
        if let Some(v) = &mut self.sts.via {
            v.on_tick(io);
        }
    }

    /// A callout started from a request context will never be answered (the
    /// stream ended): release its claim so that another request can retry.
    pub fn handle_callout_abandoned(&mut self, id: CalloutId, io: &mut Io<'_>) {
        match id {
            CalloutId::Token { .. } => {
                if let Some(c) = &self.cfg.client {
                    self.tokens.abandon(&c.sources, id, io);
                }
            }
            CalloutId::Introspection(_) | CalloutId::Keys { .. } => {
                self.resolvers.introspection.abandon(id, io)
            }
            CalloutId::Login(seq) => {
                if let Some(l) = &mut self.login {
                    l.abandon(seq, io);
                }
            }
            CalloutId::Sts(seq) => {
                if let Some(v) = &mut self.sts.via {
                    v.abandon(seq, io);
                }
            }
        }
    }

    /// Callout `id` finished (status None: failed). What it settles is
    /// reported in [`Outbox::ready`]; a follow-up goes to
    /// [`Outbox::callouts`].
    pub fn handle_callout_response(
        &mut self,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        io: &mut Io<'_>,
    ) {
        match id {
            CalloutId::Token { .. } => {
                if let Some(c) = &self.cfg.client {
                    self.tokens.on_response(&c.sources, id, resp, io);
                }
            }
            CalloutId::Introspection(_) => {
                self.resolvers
                    .introspection
                    .on_response(&self.cfg, id, resp, io);
            }
            CalloutId::Keys { .. } => {
                let mut changed = Vec::new();
                let jwt = &mut self.resolvers.jwt;
                jwt.keys.on_response(id, resp, io, &mut changed);
                jwt.keys_changed(&changed);
            }
            CalloutId::Login(seq) => {
                if let Some(l) = &mut self.login {
                    let revocation = l.is_revocation(seq);
                    l.on_response(seq, revocation, resp, io);
                }
            }
            CalloutId::Sts(seq) => {
                if let Some(v) = &mut self.sts.via {
                    v.on_response(seq, resp, io);
                }
            }
        }
    }

    /// Request trailers to remove: every name in `trailers` that spells
    /// (case, `-`/`_`) a header the filter owns. Identity headers arrive
    /// only from the filter, never from the client, headers or trailers.
    pub fn owned_trailers<'t>(&self, trailers: &'t [(String, String)]) -> Vec<&'t str> {
        trailers
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| claim_headers::is_owned(&self.cfg.raw.upstream, k))
            .collect()
    }

    /// Decide about one request. Callouts it needs go to
    /// [`Outbox::callouts`]; when it is forwarded with the gateway's token,
    /// [`Outbox::injected`] names it.
    pub fn handle_request(&mut self, req: &RequestView<'_>, io: &mut Io<'_>) -> Decision {
        self.handle_request_with_body(req, None, io)
    }

    /// [`Filter::handle_request`] with the request body the adapter
    /// buffered because [`Filter::wants_body`] asked for it (at most one
    /// byte past that limit).
    pub fn handle_request_with_body(
        &mut self,
        req: &RequestView<'_>,
        body: Option<&[u8]>,
        io: &mut Io<'_>,
    ) -> Decision {
        io.out.injected = None;
        io.out.pending_audit = None;
        io.out.response_headers.clear();
        self.now = io.now;
        // One path for the rules and the upstream: an ambiguous path is
        // refused before anything else (docs/filter-config.md, "Request paths").
        // It is normalised once here, for every rule below.
        let path = match crate::core::route::check_path(req.path) {
            Ok(p) => p,
            Err(e) => return self.deny(req, e.into(), None, None, io.out),
        };
        // RFC 9728: the metadata document, public.
        if let Some(m) = &self.cfg.resource_metadata {
            if let Some(r) = failure::metadata_reply(m, req.method, path.as_str()) {
                return Decision::Reply(r);
            }
        }
        let folded;
        let path = if self.cfg.raw.case_insensitive_paths {
            folded = path.as_str().to_ascii_lowercase();
            folded.as_str()
        } else {
            path.as_str()
        };
        // The token service answers its endpoint itself.
        let cfg = Arc::clone(&self.cfg);
        if let Some(sts) = &cfg.sts {
            if sts_endpoint::is_endpoint(sts, path, cfg.raw.case_insensitive_paths) {
                return self.sts_stage(&cfg, sts, req, body, io);
            }
        }
        // Browser login: its endpoints, and the routes it protects unless
        // the request brings its own token for the resource server.
        let bearer_for_rs = !self.cfg.providers.is_empty() && req.header("authorization").is_some();
        if !bearer_for_rs {
            match self.login_stage(req, path, io) {
                LoginOutcome::NotMine => {}
                LoginOutcome::Forward { edits, set_cookies } => {
                    io.out.response_headers.extend(
                        set_cookies
                            .into_iter()
                            .map(|c| ("set-cookie".to_owned(), c)),
                    );
                    return Decision::Continue(edits);
                }
                LoginOutcome::Reply(r) => return Decision::Reply(r),
                LoginOutcome::Wait(w) => return Decision::Pause(w),
            }
        }
        if self.cfg.providers.is_empty() {
            // Client role only: no caller token is required.
            return match self.client_stage(req, path, HeaderEdits::default(), io) {
                ClientStage::Ready(edits, injected) => {
                    io.out.injected = injected;
                    io.out.event(Event::Metric(Metric::Allowed));
                    Decision::Continue(edits)
                }
                ClientStage::Wait(w) => Decision::Pause(w),
                ClientStage::Failed(r) => self.deny(req, r, None, None, io.out),
            };
        }
        if self.cfg.raw.require_https && !self.arrived_over_tls(req) {
            return self.deny(req, Rejection::HttpsRequired, None, None, io.out);
        }
        let found = match extract::locate(&self.cfg.raw.token, req.headers) {
            Ok(t) => t,
            Err(r) => return self.deny(req, r, None, None, io.out),
        };
        let (token, scheme) = (found.token, found.scheme);
        let digest = TokenHash::new(token);
        // Only a token the cache does not hold is scanned (`check`).
        let check = || found.check(&self.cfg.raw.token);
        let resolution = match self
            .resolvers
            .resolve(&self.cfg, &digest, req.held_since, io, check)
        {
            Ok(r) => r,
            Err(r) => return self.deny(req, r, None, None, io.out),
        };
        let (verified, payload_b64) = match resolution {
            Resolution::Verified(v, p) => (v, p),
            Resolution::Pending(w) => return Decision::Pause(w),
            Resolution::Rejected(r) => return self.deny(req, r, Some(&digest), None, io.out),
            Resolution::FailOpen => return self.fail_open(req, &digest, io.out),
        };
        let policy = &self.cfg.providers[verified.provider].sender_constraint;
        let cx = binding::enforce::Context {
            policy,
            claims: &verified.claims,
            token,
            scheme,
            trust_forwarded_proto: self.cfg.raw.trust_forwarded_proto,
            verifier: &self.verifier,
            now: io.now,
        };
        if let Err(e) = binding::enforce::enforce(&cx, req, io.store) {
            return self.deny(req, e.into(), Some(&digest), Some(&verified), io.out);
        }
        let input = scopes::ScopeInput {
            method: req.method,
            path,
            raw_path: req.path,
            headers: req.headers,
            claims: &verified.claims,
        };
        let required = scopes::evaluate(&self.cfg.scopes, &input);
        let scope_claims = self
            .cfg
            .providers
            .get(verified.provider)
            .map_or(&[][..], |p| p.scope_claims.as_slice());
        if !required.satisfied_by(scope_claims, &verified.claims) {
            return self.deny(
                req,
                Rejection::InsufficientScope {
                    required: required.scopes,
                },
                Some(&digest),
                Some(&verified),
                io.out,
            );
        }
        let (mut edits, dropped) = claim_headers::edits(
            &self.cfg.raw.upstream,
            &verified.claims,
            payload_b64.as_deref(),
        );
        // A certificate header from a peer that may not set it does not
        // reach the upstream either.
        if let Some(h) = policy.certificate.header() {
            if !binding::enforce::trusted_peer(&policy.trusted_proxies, req) {
                edits.remove.push(h.to_owned());
            }
        }
        for c in dropped {
            io.out.event(Event::Log(
                Level::Warn,
                format!("claim {c} not forwarded: not representable as a header value"),
            ));
        }
        let edits = match self.client_stage(req, path, edits, io) {
            ClientStage::Ready(e, injected) => {
                io.out.injected = injected;
                e
            }
            ClientStage::Wait(w) => return Decision::Pause(w),
            ClientStage::Failed(r) => {
                return self.deny(req, r, Some(&digest), Some(&verified), io.out)
            }
        };
        // REST token sources: a token on behalf of the caller replaces
        // whatever the upstream would get.
        let edits = match cfg
            .sts
            .as_ref()
            .and_then(|s| Some((s, on_behalf::source_for(s, req.method, path)?)))
        {
            None => edits,
            Some((sts, idx)) => {
                let r = on_behalf::Request {
                    caller_token: token,
                    claims: &verified.claims,
                    held_since: req.held_since,
                };
                match self.sts.on_behalf(sts, idx, &r, edits, io) {
                    OnBehalfStage::Ready(e) => e,
                    OnBehalfStage::Wait(w) => return Decision::Pause(w),
                    OnBehalfStage::Failed(r) => {
                        return self.deny(req, r, Some(&digest), Some(&verified), io.out)
                    }
                }
            }
        };
        io.out.event(Event::Metric(Metric::Allowed));
        self.audit(
            req,
            "allow",
            200,
            "ok",
            Some(&digest),
            Some(&verified),
            io.out,
        );
        Decision::Continue(edits)
    }

    /// The WS-Trust endpoint: read the RST, validate the caller's token with
    /// the resource server's resolvers, mint, answer; a fault otherwise.
    fn sts_stage(
        &mut self,
        cfg: &FilterConfig,
        sts: &Sts,
        req: &RequestView<'_>,
        body: Option<&[u8]>,
        io: &mut Io<'_>,
    ) -> Decision {
        let rst = match sts_endpoint::read(sts, req, body) {
            Ok(r) => r,
            Err(r) => return sts_refused(&r, None, io.out),
        };
        let token = match sts_endpoint::caller_token(sts, req, &rst) {
            Ok(t) => t,
            Err(r) => return sts_refused(&r, None, io.out),
        };
        let digest = TokenHash::new(token);
        // The resource server's limits on a token (size, b64token), as for
        // every token the verified-token cache holds.
        let resolution = self
            .resolvers
            .resolve(cfg, &digest, req.held_since, io, || {
                extract::check_token(&cfg.raw.token, token)
            })
            .unwrap_or_else(Resolution::Rejected);
        let verified = match resolution {
            Resolution::Verified(v, _) => v,
            Resolution::Pending(w) => return Decision::Pause(w),
            Resolution::Rejected(r) => {
                let why = Refusal::of(
                    &rst,
                    WstFault::FailedAuthentication,
                    401,
                    format!("the access token was refused ({})", r.reason()),
                );
                return sts_refused(&why, Some(&digest), io.out);
            }
            Resolution::FailOpen => {
                let why = Refusal::of(
                    &rst,
                    WstFault::RequestFailed,
                    503,
                    "the access token could not be checked",
                );
                return sts_refused(&why, Some(&digest), io.out);
            }
        };
        let endpoint = match sts_endpoint::allowed(sts, &rst) {
            Ok(e) => e,
            Err(r) => return sts_refused(&r, Some(&digest), io.out),
        };
        let state = &mut self.sts;
        let issued = StsState::principal(sts, &rst, &verified.claims)
            .and_then(|p| state.issue(sts, &rst, endpoint, &p, req.held_since, io));
        match issued {
            Ok(Issuing::Wait(w)) => Decision::Pause(w),
            Ok(Issuing::Reply(r)) => {
                io.out.event(Event::Metric(Metric::Allowed));
                io.out.event(Event::Log(
                    Level::Info,
                    format!(
                        "sts: issued {} for {}; token_hash {}",
                        rst.token_type.uri(),
                        rst.applies_to,
                        hash_prefix(digest.get())
                    ),
                ));
                Decision::Reply(r)
            }
            Err(r) => sts_refused(&r, Some(&digest), io.out),
        }
    }

    /// `require_https`: the connection is TLS, or the hop in front says so
    /// (`x-forwarded-proto: https`) and is believed.
    fn arrived_over_tls(&self, req: &RequestView<'_>) -> bool {
        req.connection.tls == Some(true)
            || (self.cfg.raw.trust_forwarded_proto
                && req
                    .header("x-forwarded-proto")
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
    }

    fn login_stage(&mut self, req: &RequestView<'_>, path: &str, io: &mut Io<'_>) -> LoginOutcome {
        let (Some(state), Some(cfg)) = (self.login.as_mut(), self.cfg.login.as_ref()) else {
            return LoginOutcome::NotMine;
        };
        let mut cx = login::Cx {
            login: cfg,
            keys: &mut self.resolvers.jwt.keys,
            key_base: self.cfg.providers.len(),
            verifier: &self.verifier,
            trust_forwarded_proto: self.cfg.raw.trust_forwarded_proto,
        };
        state.stage(&mut cx, req, path, io)
    }

    fn client_stage(
        &mut self,
        req: &RequestView<'_>,
        normalized: &str,
        edits: HeaderEdits,
        io: &mut Io<'_>,
    ) -> ClientStage {
        client::stage(
            self.cfg.client.as_ref(),
            &mut self.tokens,
            req.method,
            normalized,
            req.held_since,
            edits,
            io,
        )
    }

    /// The upstream answered a request that carried the gateway's token
    /// `injected` ([`Outbox::injected`] of its [`Filter::handle_request`]):
    /// a 401 with a Bearer `error="invalid_token"` challenge drops that
    /// token, so the next request gets a new one.
    pub fn handle_upstream_response(
        &mut self,
        injected: Injected,
        status: u16,
        www_authenticate: &[&str],
        io: &mut Io<'_>,
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
            .invalidate(src, injected.source, injected.gen, io);
    }

    /// `danger_fail_open`: forward without identity (spoofable headers are
    /// still removed), log it, count it as allowed.
    fn fail_open(
        &self,
        req: &RequestView<'_>,
        digest: &TokenHash<'_>,
        out: &mut Outbox,
    ) -> Decision {
        let empty = serde_json::Map::new();
        let (edits, _) = claim_headers::edits(&self.cfg.raw.upstream, &empty, None);
        out.event(Event::Log(
            Level::Warn,
            format!(
                "introspection unavailable: request forwarded unchecked (danger_fail_open); token_hash {}",
                hash_prefix(digest.get())
            ),
        ));
        out.event(Event::Metric(Metric::Allowed));
        self.audit(req, "allow", 200, "fail_open", Some(digest), None, out);
        Decision::Continue(edits)
    }

    fn deny(
        &self,
        req: &RequestView<'_>,
        r: Rejection,
        digest: Option<&TokenHash<'_>>,
        verified: Option<&Verified>,
        out: &mut Outbox,
    ) -> Decision {
        out.event(Event::Metric(Metric::Denied(r.reason())));
        self.audit(req, "deny", r.status(), r.reason(), digest, verified, out);
        Decision::Reply(failure::finish(
            &self.cfg,
            &r,
            reply(&self.cfg.raw.realm, &r),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        req: &RequestView<'_>,
        decision: &'static str,
        status: u16,
        reason: &'static str,
        digest: Option<&TokenHash<'_>>,
        verified: Option<&Verified>,
        out: &mut Outbox,
    ) {
        if !self.cfg.raw.audit.enabled {
            return;
        }
        let seq = self.tx_seq.get().wrapping_add(1);
        self.tx_seq.set(seq);
        let made_id = MadeId {
            prefix: &self.tx_prefix,
            now: self.now,
            seq,
        };
        let a = audit(
            &self.cfg,
            req.audited(self.now, made_id),
            decision,
            status,
            reason,
            digest.map(TokenHash::get),
            verified,
        );
        match a {
            // A forwarded request: completed with the upstream's status.
            Some(Event::Audit(ev)) if decision == "allow" && self.cfg.raw.audit.response => {
                out.pending_audit = Some(ev)
            }
            a => out.events.extend(a),
        }
    }
}

/// A token-service fault: logged (code and reason, never the token) and
/// counted, then answered.
fn sts_refused(r: &Refusal, digest: Option<&TokenHash<'_>>, out: &mut Outbox) -> Decision {
    out.event(Event::Metric(Metric::Denied(r.fault.code.reason())));
    out.event(Event::Log(
        Level::Info,
        format!(
            "sts: fault {} ({}): {}{}",
            r.fault.code.local(),
            r.fault.status,
            r.fault.reason,
            digest.map_or(String::new(), |d| format!(
                "; token_hash {}",
                hash_prefix(d.get())
            ))
        ),
    ));
    Decision::Reply(r.reply())
}
