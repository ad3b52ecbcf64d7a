//! The introspection resolver (RFC 7662): tokens of a provider that
//! introspects go to its endpoint, with the shared answer cache in front
//! (single flight per token across workers).
//!
//! - `request.rs`: the callout; `answer.rs`: parsing the answer;
//! - `cache.rs`: answers shared by all workers (bucketed, CAS, bounded).

pub mod answer;
pub mod cache;
pub mod request;

use std::collections::HashMap;

use super::claims;
use super::token_cache::Verified;
use super::Resolution;
use crate::core::callout::{CalloutId, CalloutResponse};
use crate::core::client::auth::jti;
use crate::core::config::FilterConfig;
use crate::core::error::{Rejection, TokenError};
use crate::core::events::{hash_prefix, Event, Histogram, Level, Metric};
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::shared::{lease_ttl_ms, SharedStore};
use crate::core::util::hex::sha256_id;
use crate::core::util::time::UnixMillis;
use answer::parse_answer;
use cache::{AnswerCache, Cached, Lookup};

/// One worker's introspection state.
#[derive(Debug)]
pub struct Introspector {
    answers: Option<AnswerCache>,
    /// Start times of introspection callouts (latency histogram).
    started: HashMap<CalloutId, UnixMillis>,
    next: u64,
    worker: String,
}

impl Introspector {
    /// State for `cfg`'s introspecting provider, if any.
    pub fn new(cfg: &FilterConfig, worker_id: &str) -> Introspector {
        let answers = cfg.introspector.and_then(|i| {
            let p = &cfg.providers[i];
            let ic = p.introspection.as_ref()?;
            // Answers are per (issuer, endpoint, client): two plugin
            // configurations in one VM never share answers they would not
            // both get.
            let id = sha256_id(
                &format!("{}\n{}\n{}", p.issuer, ic.uri, ic.auth.client_id()),
                6,
            );
            Some(AnswerCache::new(
                cfg.raw.introspection_cache.clone(),
                &p.name,
                &id,
                worker_id,
                lease_ttl_ms(ic.timeout_ms, 1),
            ))
        });
        Introspector {
            answers,
            started: HashMap::new(),
            next: 0,
            worker: worker_id.to_owned(),
        }
    }

    /// The answer cache (tests, tooling).
    pub fn answers(&self) -> Option<&AnswerCache> {
        self.answers.as_ref()
    }

    /// Create the answer cache's buckets.
    pub fn init_shared(&self, store: &mut dyn SharedStore) {
        if let Some(a) = &self.answers {
            a.init(store);
        }
    }

    /// Give up callouts never answered (their tokens are ready: the
    /// requests waiting for them start over).
    pub fn on_tick(&mut self, io: &mut Io<'_>) {
        if let Some(a) = &mut self.answers {
            let flying: Vec<(CalloutId, [u8; 32])> = a.in_flight().collect();
            for id in a.on_tick(io.now, io.store, &mut io.out.events) {
                self.started.remove(&id);
                if let Some((_, d)) = flying.iter().find(|(x, _)| *x == id) {
                    io.out.ready(WaitFor::Introspection(*d));
                }
                io.out.event(Event::Log(
                    Level::Warn,
                    "introspection callout never answered; given up".into(),
                ));
            }
        }
    }

    /// Callout `id` will never be answered: release its claim (its token
    /// is ready: the requests waiting for it start over).
    pub fn abandon(&mut self, id: CalloutId, io: &mut Io<'_>) {
        self.started.remove(&id);
        if let Some(a) = &mut self.answers {
            if let Some(d) = a.abandon(id, io.now, io.store, &mut io.out.events) {
                io.out.ready(WaitFor::Introspection(d));
            }
        }
    }

    /// An introspection callout finished: its token is ready.
    pub fn on_response(
        &mut self,
        cfg: &FilterConfig,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        io: &mut Io<'_>,
    ) {
        let now = io.now;
        let events = &mut io.out.events;
        let Some(answers) = &mut self.answers else {
            return;
        };
        if !answers.owns(id) {
            return; // abandoned, or from an older configuration
        }
        if let Some(t) = self.started.remove(&id) {
            events.push(Event::Histogram(
                Histogram::IntrospectionLatencyMs,
                now.since(t),
            ));
        }
        let result = parse_answer(resp);
        let digest = answers.complete(id, &result, now, io.store, events);
        if let Err(e) = &result {
            events.push(Event::Metric(Metric::IntrospectionError(e.kind())));
            let name = cfg
                .introspector
                .map(|i| cfg.providers[i].name.as_str())
                .unwrap_or("");
            events.push(Event::Log(
                Level::Warn,
                format!(
                    "provider {name}: introspection failed: {}; token_hash {}",
                    e.describe(),
                    digest.as_ref().map(hash_prefix).unwrap_or_default()
                ),
            ));
        }
        if let Some(d) = digest {
            io.out.ready(WaitFor::Introspection(d));
        }
    }

    /// Resolve `token` of provider `idx` by introspection; may start a
    /// callout (into `io.out`). A held request waits for
    /// [`WaitFor::Introspection`] of `digest`.
    pub fn resolve(
        &mut self,
        cfg: &FilterConfig,
        idx: usize,
        token: &str,
        digest: &[u8; 32],
        held_since: Option<UnixMillis>,
        io: &mut Io<'_>,
    ) -> Resolution {
        let now = io.now;
        let events = &mut io.out.events;
        let provider = &cfg.providers[idx];
        let (Some(ic), Some(answers)) = (provider.introspection.as_ref(), self.answers.as_mut())
        else {
            return Resolution::Rejected(Rejection::IntrospectionUnavailable);
        };
        let hold = held_since.is_none_or(|since| now.since(since) < answers.hold_ms());
        let failed = || {
            if ic.danger_fail_open {
                Resolution::FailOpen
            } else {
                Resolution::Rejected(Rejection::IntrospectionUnavailable)
            }
        };
        let lookup = answers.lookup(digest, held_since, now, io.store, events);
        let first = held_since.is_none();
        match lookup {
            Lookup::Hit(c) => {
                // A held request was counted as a miss when it arrived.
                if first {
                    events.push(Event::Metric(Metric::AnswerCacheHit));
                }
                answered(cfg, idx, c, now)
            }
            Lookup::InFlight | Lookup::OtherWorker => {
                if first {
                    events.push(Event::Metric(Metric::AnswerCacheMiss));
                }
                if hold {
                    Resolution::Pending(WaitFor::Introspection(*digest))
                } else {
                    failed()
                }
            }
            Lookup::Failed => failed(),
            Lookup::Claimed => {
                if first {
                    events.push(Event::Metric(Metric::AnswerCacheMiss));
                }
                self.next += 1;
                let n = self.next;
                let id = CalloutId::Introspection(n);
                let jti = jti(&self.worker, n, now);
                io.out.callouts.push(ic.request(id, token, now, &jti));
                answers.started(*digest, id, now);
                self.started.insert(id, now);
                events.push(Event::Metric(Metric::IntrospectionCall));
                if hold {
                    Resolution::Pending(WaitFor::Introspection(*digest))
                } else {
                    failed()
                }
            }
        }
    }
}

fn answered(cfg: &FilterConfig, idx: usize, c: Cached, now: UnixMillis) -> Resolution {
    let claims = match c {
        Cached::Inactive => {
            return Resolution::Rejected(Rejection::InvalidToken(TokenError::Inactive))
        }
        Cached::Active(m) => m,
    };
    let p = &cfg.providers[idx];
    if let Err(e) = claims::check_answer(p, &claims, now) {
        return Resolution::Rejected(Rejection::InvalidToken(TokenError::Claims(e)));
    }
    let exp = claims::exp_ms(&claims).unwrap_or(UnixMillis(u64::MAX));
    // The answer as the payload header's value: made only when that header
    // is configured (it was serialized and encoded on every request).
    let payload = cfg
        .raw
        .upstream
        .payload_header
        .as_ref()
        .and_then(|_| serde_json::to_vec(&*claims).ok())
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
