//! The token manager: one shared record per token source for every worker
//! (`{gen, token, failure, endpoint}`), single flight under the source's
//! lease, renewal before expiry, refresh, invalidation by generation.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::answer::{parse_discovery, parse_token_answer, TokenFailure};
use super::auth::jti;
use crate::core::callout::{Callout, CalloutId, CalloutResponse};
use crate::core::config::{Endpoint, Grant, TokenSource};
use crate::core::events::{hash_prefix, Event, Level, Metric};
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::shared::{release, try_acquire, LeaseOutcome, SharedStore};
use crate::core::util::time::UnixMillis;
use crate::core::util::uri::HttpUri;

/// The shared record of one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// Generation: +1 at each new token.
    pub gen: u64,
    /// The current token.
    #[serde(default)]
    pub token: Option<StoredToken>,
    /// The last failure, when the last attempt failed.
    #[serde(default)]
    pub failure: Option<StoredFailure>,
    /// Token endpoint found by discovery.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// A token as kept in shared data.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredToken {
    /// The access token.
    pub access: String,
    /// Expiry, Unix milliseconds.
    pub exp: u64,
    /// When it was obtained.
    pub obtained: u64,
    /// Refresh token (password grant).
    #[serde(default)]
    pub refresh: Option<String>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access", &"<redacted>")
            .field("exp", &self.exp)
            .field("obtained", &self.obtained)
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A failure as kept in shared data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredFailure {
    /// [`TokenFailure::code`].
    pub code: String,
    /// [`TokenFailure::describe`].
    pub message: String,
    /// When.
    pub at: u64,
}

/// What a request gets from [`TokenManager::token_for`].
#[derive(Clone, PartialEq, Eq)]
pub enum TokenState {
    /// Use this token (generation `gen`).
    Ready {
        /// The access token.
        token: String,
        /// Its generation.
        gen: u64,
    },
    /// A token request is under way (here or in another worker): hold.
    Wait,
    /// No token: 502 naming the failure.
    Failed(StoredFailure),
}

impl fmt::Debug for TokenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenState::Ready { gen, .. } => f
                .debug_struct("Ready")
                .field("token", &"<redacted>")
                .field("gen", gen)
                .finish(),
            TokenState::Wait => f.write_str("Wait"),
            TokenState::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

/// A token request this worker has under way.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flight {
    /// Fetching the discovery document.
    Discovery(CalloutId),
    /// Calling the token endpoint (with a refresh token or not).
    Token { id: CalloutId, refresh: bool },
}

impl Flight {
    fn id(&self) -> CalloutId {
        match self {
            Flight::Discovery(id) | Flight::Token { id, .. } => *id,
        }
    }
}

/// Per worker state of one source.
#[derive(Debug, Default)]
struct Local {
    /// Last record read and its cas.
    seen: Option<(u32, Record)>,
    /// Discovered endpoint (parsed) and its text.
    endpoint: Option<(HttpUri, String)>,
    flight: Option<Flight>,
}

/// Token state of every source, for one worker.
#[derive(Debug)]
pub struct TokenManager {
    worker: String,
    locals: Vec<Local>,
    next: u64,
    /// Renewals to start from the root context.
    background: Vec<Callout>,
}

impl TokenManager {
    /// State for `n` sources of worker `worker`.
    pub fn new(n: usize, worker: &str) -> TokenManager {
        TokenManager {
            worker: worker.to_owned(),
            locals: (0..n).map(|_| Local::default()).collect(),
            next: 0,
            background: Vec::new(),
        }
    }

    /// Renewal callouts to start from the root context (on tick).
    pub fn drain_background(&mut self) -> Vec<Callout> {
        std::mem::take(&mut self.background)
    }

    /// Whether `id` is a token-source callout.
    pub fn owns_id(id: CalloutId) -> bool {
        matches!(id, CalloutId::Token { .. })
    }

    fn read(&mut self, src: &TokenSource, idx: usize, store: &dyn SharedStore) -> (Record, u32) {
        let Some((bytes, cas)) = store.get(&src.key) else {
            self.locals[idx].seen = None;
            return (Record::default(), 0);
        };
        if let Some((c, r)) = &self.locals[idx].seen {
            if *c == cas {
                return (r.clone(), cas);
            }
        }
        // An unreadable record is replaced at the next write.
        let r: Record = serde_json::from_slice(&bytes).unwrap_or_default();
        self.locals[idx].seen = Some((cas, r.clone()));
        (r, cas)
    }

    /// Change the record with `f` (compare-and-swap, retried).
    fn update(
        &mut self,
        src: &TokenSource,
        idx: usize,
        store: &mut dyn SharedStore,
        mut f: impl FnMut(&mut Record),
    ) {
        for _ in 0..8 {
            let (mut r, cas) = self.read(src, idx, store);
            f(&mut r);
            let bytes = serde_json::to_vec(&r).unwrap_or_default();
            if store.set(&src.key, &bytes, cas).is_ok() {
                return;
            }
        }
    }

    /// The token for a request to source `idx`; may start a token request
    /// (into `io.out`). `held_since`: when the request was first held.
    pub fn token_for(
        &mut self,
        src: &TokenSource,
        idx: usize,
        held_since: Option<UnixMillis>,
        io: &mut Io<'_>,
    ) -> TokenState {
        let now = io.now;
        let store = &mut *io.store;
        let out = &mut io.out.callouts;
        let events = &mut io.out.events;
        let (rec, _) = self.read(src, idx, store);
        let recent_failure = rec
            .failure
            .as_ref()
            .filter(|f| now.0 < f.at.saturating_add(src.retry_ms));
        if let Some(t) = &rec.token {
            if now.0 < t.exp {
                if now.0.saturating_add(src.margin_ms) >= t.exp && recent_failure.is_none() {
                    // Renew in the background; this request uses the old one.
                    // The callout starts from the root context at the next
                    // tick ([`TokenManager::drain_background`]): a request's
                    // stream may end before the answer, taking it along.
                    let mut bg = Vec::new();
                    self.start(src, idx, &rec, now, store, &mut bg, events);
                    self.background.extend(bg);
                }
                return TokenState::Ready {
                    token: t.access.clone(),
                    gen: rec.gen,
                };
            }
        }
        if let Some(f) = recent_failure {
            // Requests held across the failure, and new ones within the
            // hold-down, get it.
            return TokenState::Failed(f.clone());
        }
        let waited = held_since.map(|s| now.since(s)).unwrap_or(0);
        if waited >= src.lease_ms() {
            return TokenState::Failed(StoredFailure {
                code: "timeout".into(),
                message: "no token in time: the token request did not complete".into(),
                at: now.0,
            });
        }
        self.start(src, idx, &rec, now, store, out, events);
        TokenState::Wait
    }

    /// Become the fetcher if no one is, and start the first callout.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        src: &TokenSource,
        idx: usize,
        rec: &Record,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        out: &mut Vec<Callout>,
        events: &mut Vec<Event>,
    ) {
        if self.locals[idx].flight.is_some() {
            return;
        }
        let lease = format!("{}/lease", src.key);
        if try_acquire(store, &lease, &self.worker, now, src.lease_ms()) != LeaseOutcome::Acquired {
            return;
        }
        // The record may have changed between our read and the lease: a
        // fetcher that just finished leaves a fresh token behind.
        let (fresh, _) = self.read(src, idx, store);
        if fresh.gen != rec.gen
            && fresh
                .token
                .as_ref()
                .is_some_and(|t| now.0.saturating_add(src.margin_ms) < t.exp)
        {
            release(store, &lease, &self.worker);
            return;
        }
        self.next += 1;
        let id = CalloutId::Token {
            source: idx,
            seq: self.next,
        };
        let endpoint = match &src.endpoint {
            Endpoint::Fixed { uri, text } => Some((uri.clone(), text.clone())),
            Endpoint::Discovery { authority, .. } => {
                if self.locals[idx].endpoint.is_none() {
                    if let Some(e) = &fresh.endpoint {
                        self.locals[idx].endpoint = discovered(e, authority.as_deref());
                    }
                }
                self.locals[idx].endpoint.clone()
            }
        };
        match endpoint {
            Some((uri, text)) => {
                let refresh = fresh.token.as_ref().and_then(|t| t.refresh.clone());
                let jti = jti(&self.worker, self.next, now);
                out.push(src.token_request(id, &uri, &text, refresh.as_deref(), now, &jti));
                self.locals[idx].flight = Some(Flight::Token {
                    id,
                    refresh: refresh.is_some(),
                });
                events.push(Event::Metric(Metric::ClientTokenRequest));
            }
            None => {
                let Endpoint::Discovery { uri, .. } = &src.endpoint else {
                    return; // Fixed endpoints always have Some above.
                };
                out.push(src.discovery_request(id, uri));
                self.locals[idx].flight = Some(Flight::Discovery(id));
            }
        }
    }

    /// A callout of ours answered (or failed: status None). A follow-up
    /// callout (the token request after discovery) goes to `io.out`;
    /// otherwise the source's token is ready (obtained or failed).
    pub fn on_response(
        &mut self,
        sources: &[TokenSource],
        id: CalloutId,
        resp: CalloutResponse<'_>,
        io: &mut Io<'_>,
    ) {
        let CalloutId::Token { source: idx, .. } = id else {
            return;
        };
        let mine = self
            .locals
            .get(idx)
            .and_then(|l| l.flight.as_ref())
            .is_some_and(|f| f.id() == id);
        let follow_up = self.settle(sources, id, resp, io.now, io.store, &mut io.out.events);
        io.out.callouts.extend(follow_up);
        if mine && self.locals.get(idx).is_some_and(|l| l.flight.is_none()) {
            io.out.ready(WaitFor::Token(idx));
        }
    }

    fn settle(
        &mut self,
        sources: &[TokenSource],
        id: CalloutId,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) -> Vec<Callout> {
        let CalloutId::Token { source: idx, .. } = id else {
            return Vec::new();
        };
        let (Some(src), Some(local)) = (sources.get(idx), self.locals.get(idx)) else {
            return Vec::new();
        };
        let flight = match &local.flight {
            Some(f) if f.id() == id => f.clone(),
            _ => return Vec::new(), // abandoned or from an older configuration
        };
        self.locals[idx].flight = None;
        let lease = format!("{}/lease", src.key);
        match flight {
            Flight::Discovery(_) => {
                let Endpoint::Discovery {
                    authority, issuer, ..
                } = &src.endpoint
                else {
                    return Vec::new();
                };
                match parse_discovery(resp, issuer) {
                    Ok(text) => {
                        let Some(ep) = discovered(&text, authority.as_deref()) else {
                            return Vec::new();
                        };
                        self.locals[idx].endpoint = Some(ep.clone());
                        self.update(src, idx, store, |r| r.endpoint = Some(text.clone()));
                        // Still holding the lease: go on with the token request.
                        self.next += 1;
                        let nid = CalloutId::Token {
                            source: idx,
                            seq: self.next,
                        };
                        let (rec, _) = self.read(src, idx, store);
                        let refresh = rec.token.as_ref().and_then(|t| t.refresh.clone());
                        let jti = jti(&self.worker, self.next, now);
                        self.locals[idx].flight = Some(Flight::Token {
                            id: nid,
                            refresh: refresh.is_some(),
                        });
                        events.push(Event::Metric(Metric::ClientTokenRequest));
                        vec![src.token_request(nid, &ep.0, &ep.1, refresh.as_deref(), now, &jti)]
                    }
                    Err(e) => {
                        self.failed(src, idx, &e, now, store, events);
                        release(store, &lease, &self.worker);
                        Vec::new()
                    }
                }
            }
            Flight::Token { refresh, .. } => {
                match parse_token_answer(resp) {
                    Ok(a) => {
                        let exp_ms = a
                            .expires_in
                            .map(|s| s.saturating_mul(1000))
                            .unwrap_or(src.default_expires_ms);
                        let digest: [u8; 32] = Sha256::digest(a.access_token.as_bytes()).into();
                        let keep_refresh = matches!(src.grant, Grant::Password { .. });
                        let old_refresh =
                            self.read(src, idx, store).0.token.and_then(|t| t.refresh);
                        let tok = StoredToken {
                            access: a.access_token,
                            exp: now.0.saturating_add(exp_ms),
                            obtained: now.0,
                            // A refresh answer without a new refresh token
                            // keeps the old one (RFC 6749 §6).
                            refresh: if keep_refresh {
                                a.refresh_token.or(if refresh { old_refresh } else { None })
                            } else {
                                None
                            },
                        };
                        self.update(src, idx, store, |r| {
                            r.gen += 1;
                            r.token = Some(tok.clone());
                            r.failure = None;
                        });
                        events.push(Event::Log(
                            Level::Info,
                            format!(
                                "token source {}: {} token obtained{}, expires in {} s, scope {:?}; token_hash {}",
                                src.name,
                                if refresh { "refreshed" } else { src.grant.name() },
                                if tok.refresh.is_some() { " with a refresh token" } else { "" },
                                exp_ms / 1000,
                                a.scope.as_deref().unwrap_or(""),
                                hash_prefix(&digest)
                            ),
                        ));
                    }
                    Err(e) if refresh => {
                        // A refused refresh: forget the refresh token; the
                        // next request makes a new grant (the current token,
                        // if still valid, keeps serving meanwhile).
                        events.push(Event::Log(
                            Level::Warn,
                            format!(
                                "token source {}: refresh failed ({}); a new grant follows",
                                src.name,
                                e.describe()
                            ),
                        ));
                        events.push(Event::Metric(Metric::ClientTokenFailure));
                        self.update(src, idx, store, |r| {
                            if let Some(t) = &mut r.token {
                                t.refresh = None;
                            }
                        });
                    }
                    Err(e) => self.failed(src, idx, &e, now, store, events),
                }
                release(store, &lease, &self.worker);
                Vec::new()
            }
        }
    }

    fn failed(
        &mut self,
        src: &TokenSource,
        idx: usize,
        e: &TokenFailure,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) {
        events.push(Event::Log(
            Level::Warn,
            format!(
                "token source {} ({} grant, client {}): token request failed: error {}: {}",
                src.name,
                src.grant.name(),
                src.auth.client_id(),
                e.code(),
                e.describe()
            ),
        ));
        events.push(Event::Metric(Metric::ClientTokenFailure));
        let f = StoredFailure {
            code: e.code(),
            message: e.describe(),
            at: now.0,
        };
        self.update(src, idx, store, |r| r.failure = Some(f.clone()));
    }

    /// A callout of ours will never be answered (its stream ended): give the
    /// lease up so that another request can fetch (the source is ready: its
    /// waiting requests start over).
    pub fn abandon(&mut self, sources: &[TokenSource], id: CalloutId, io: &mut Io<'_>) {
        let CalloutId::Token { source: idx, .. } = id else {
            return;
        };
        let (Some(src), Some(local)) = (sources.get(idx), self.locals.get_mut(idx)) else {
            return;
        };
        if local.flight.as_ref().is_some_and(|f| f.id() == id) {
            local.flight = None;
            release(io.store, &format!("{}/lease", src.key), &self.worker);
            io.out.ready(WaitFor::Token(idx));
        }
    }

    /// The upstream refused the token of generation `gen` (401
    /// `invalid_token`): drop it if it is still the current one.
    pub fn invalidate(&mut self, src: &TokenSource, idx: usize, gen: u64, io: &mut Io<'_>) {
        let store = &mut *io.store;
        let events = &mut io.out.events;
        let (rec, _) = self.read(src, idx, store);
        if rec.gen != gen || rec.token.is_none() {
            return; // already replaced
        }
        let mut dropped = false;
        self.update(src, idx, store, |r| {
            dropped = false;
            if r.gen == gen && r.token.is_some() {
                r.token = None;
                dropped = true;
            }
        });
        if dropped {
            events.push(Event::Log(
                Level::Warn,
                format!(
                    "token source {}: upstream answered 401 invalid_token; token dropped",
                    src.name
                ),
            ));
            events.push(Event::Metric(Metric::ClientTokenDropped));
        }
    }
}

fn discovered(text: &str, authority: Option<&str>) -> Option<(HttpUri, String)> {
    let uri = HttpUri::parse(text).ok()?;
    let uri = match authority {
        Some(a) => uri.with_authority(a),
        None => uri,
    };
    Some((uri, text.to_owned()))
}
