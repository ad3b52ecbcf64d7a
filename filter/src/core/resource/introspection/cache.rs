//! The introspection answer cache: shared by all workers of a process through
//! proxy-wasm shared data, with a worker-local front cache, and single-flight
//! per token (one callout per token per process).
//!
//! # Shared layout and eviction
//!
//! proxy-wasm shared data has no delete, no expiry and no eviction, so the
//! cache never creates keys per token. It is a fixed, set-associative table:
//! `ceil(max_entries / WAYS)` *buckets*, each one shared-data key
//! `oauth-filter/answers/<provider>/<id>/<n>` holding at most [`WAYS`] slots
//! (JSON). A token goes to bucket `n = first 8 bytes of SHA-256(token) mod
//! buckets`; its slot is named by the full hex digest (never the token).
//! Writing a slot into a full bucket first drops expired slots, then evicts
//! the live answer that expires soonest (counted as an eviction). So the
//! number of keys is fixed at configuration and the memory is bounded by
//! `buckets × WAYS × max_entry_bytes`, with no sweeping needed; expired
//! slots are reclaimed by the next write to their bucket.
//!
//! Every bucket write is a compare-and-swap on the bucket's cas (retried a
//! few times). Buckets are created empty when the filter is configured, so
//! requests only ever swap existing keys: the ABI has no atomic create, and
//! this confines its race to the configuration instant.
//!
//! # Single-flight
//!
//! A worker that misses writes a *pending* slot (owner = its worker id,
//! lease until the callout timeout plus a margin) before it starts the
//! callout. Another worker finding the pending slot holds its request and
//! looks again on every tick until the answer (or a failure) is there. On one
//! worker, requests for a token already in flight wait for that callout. A
//! failed callout leaves a *failed* slot so that waiters answer 503 at once,
//! while requests arriving later try again.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::answer::{Answer, IntrospectionError};
use crate::core::callout::CalloutId;
use crate::core::config::IntrospectionCacheConfig;
use crate::core::events::{Event, Level, Metric};
use crate::core::resource::claims;
use crate::core::shared::SharedStore;
use crate::core::util::hex::hex;
use crate::core::util::time::UnixMillis;

/// Shortest lifetime of a cached answer.
pub const MIN_TTL_MS: u64 = 1000;

/// Slots per bucket.
pub const WAYS: usize = 4;

/// Compare-and-swap attempts per bucket update.
const CAS_TRIES: usize = 4;

/// A usable answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Cached {
    /// Active, with its members.
    Active(Arc<Map<String, Value>>),
    /// Not active.
    Inactive,
}

/// Where a token stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// An answer is cached (locally or shared).
    Hit(Cached),
    /// This worker's callout for it is under way.
    InFlight,
    /// Another worker's callout for it is under way.
    OtherWorker,
    /// A callout finished without an answer after the request was held.
    Failed,
    /// Nobody is asking: this worker claimed it and must start the callout
    /// (then call [`AnswerCache::started`]).
    Claimed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "s")]
enum SlotState {
    /// Pending: owner's worker id.
    #[serde(rename = "p")]
    Pending { o: String },
    /// Active answer.
    #[serde(rename = "a")]
    Active { c: Map<String, Value> },
    /// Inactive answer.
    #[serde(rename = "i")]
    Inactive,
    /// Failed attempt at `at`.
    #[serde(rename = "f")]
    Failed { at: u64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Slot {
    /// Hex SHA-256 of the token.
    k: String,
    /// Valid until (pending: lease end; answers: expiry; failed: relevance end).
    u: u64,
    #[serde(flatten)]
    st: SlotState,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Bucket {
    e: Vec<Slot>,
}

#[derive(Debug, Clone)]
struct LocalEntry {
    cached: Cached,
    until: UnixMillis,
}

/// One worker's view of one provider's answer cache.
#[derive(Debug)]
pub struct AnswerCache {
    cfg: IntrospectionCacheConfig,
    prefix: String,
    buckets: usize,
    worker: String,
    /// How long a request may wait for an answer; also the pending lease.
    hold_ms: u64,
    local: HashMap<[u8; 32], LocalEntry>,
    order: VecDeque<[u8; 32]>,
    inflight: HashMap<[u8; 32], (CalloutId, UnixMillis)>,
    by_id: HashMap<CalloutId, [u8; 32]>,
    failed: HashMap<[u8; 32], UnixMillis>,
}

impl AnswerCache {
    /// A cache under `oauth-filter/answers/<name>/<id>/`; `hold_ms` is how
    /// long a request may wait for an answer (callout timeout plus margin).
    pub fn new(
        cfg: IntrospectionCacheConfig,
        name: &str,
        id: &str,
        worker: &str,
        hold_ms: u64,
    ) -> AnswerCache {
        let buckets = cfg.max_entries.div_ceil(WAYS);
        AnswerCache {
            cfg,
            prefix: format!("oauth-filter/answers/{name}/{id}/"),
            buckets,
            worker: worker.to_owned(),
            hold_ms,
            local: HashMap::new(),
            order: VecDeque::new(),
            inflight: HashMap::new(),
            by_id: HashMap::new(),
            failed: HashMap::new(),
        }
    }

    /// How long a request may be held for an answer.
    pub fn hold_ms(&self) -> u64 {
        self.hold_ms
    }

    /// Number of shared buckets.
    pub fn buckets(&self) -> usize {
        self.buckets
    }

    /// Shared-data key of the bucket holding `digest` (tests, tooling).
    pub fn bucket_key(&self, digest: &[u8; 32]) -> String {
        let mut n = [0u8; 8];
        n.copy_from_slice(&digest[..8]);
        let i = u64::from_be_bytes(n) % (self.buckets.max(1) as u64);
        format!("{}{i}", self.prefix)
    }

    /// Entries in the local front cache.
    pub fn local_len(&self) -> usize {
        self.local.len()
    }

    /// Create the shared buckets that do not exist yet (at configuration).
    pub fn init(&self, store: &mut dyn SharedStore) {
        let empty = br#"{"e":[]}"#;
        for i in 0..self.buckets {
            let key = format!("{}{i}", self.prefix);
            if store.get(&key).is_none() {
                let _ = store.set(&key, empty, 0);
            }
        }
    }

    fn local_get(&mut self, d: &[u8; 32], now: UnixMillis) -> Option<Cached> {
        match self.local.get(d) {
            Some(e) if now < e.until => Some(e.cached.clone()),
            Some(_) => {
                self.local.remove(d);
                None
            }
            None => None,
        }
    }

    fn local_put(
        &mut self,
        d: [u8; 32],
        cached: Cached,
        until: UnixMillis,
        now: UnixMillis,
        events: &mut Vec<Event>,
    ) {
        let max = self.cfg.local_max_entries;
        if max == 0 || until <= now {
            return;
        }
        if let Some(e) = self.local.get_mut(&d) {
            *e = LocalEntry { cached, until };
            return;
        }
        if self.local.len() >= max {
            self.local.retain(|_, e| now < e.until);
            let local = &self.local;
            self.order.retain(|k| local.contains_key(k));
        }
        while self.local.len() >= max {
            match self.order.pop_front() {
                Some(old) => {
                    if self.local.remove(&old).is_some() {
                        events.push(Event::Metric(Metric::AnswerCacheEviction));
                    }
                }
                None => break,
            }
        }
        self.local.insert(d, LocalEntry { cached, until });
        self.order.push_back(d);
    }

    fn read(&self, store: &dyn SharedStore, key: &str) -> (Bucket, u32) {
        match store.get(key) {
            // An unreadable bucket counts as empty (overwritten under its cas).
            Some((bytes, cas)) => (serde_json::from_slice(&bytes).unwrap_or_default(), cas),
            None => (Bucket::default(), 0),
        }
    }

    /// Where `digest` stands; may claim it for this worker (see [`Lookup`]).
    /// `held_since` is when the request was first held (None: new request).
    pub fn lookup(
        &mut self,
        digest: &[u8; 32],
        held_since: Option<UnixMillis>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) -> Lookup {
        if let Some(c) = self.local_get(digest, now) {
            return Lookup::Hit(c);
        }
        if self.inflight.contains_key(digest) {
            return Lookup::InFlight;
        }
        if let (Some(at), Some(h)) = (self.failed.get(digest), held_since) {
            if h <= *at {
                return Lookup::Failed;
            }
        }
        if self.buckets == 0 {
            return Lookup::Claimed;
        }
        let key = self.bucket_key(digest);
        let k = hex(digest);
        for _ in 0..CAS_TRIES {
            let (mut bucket, cas) = self.read(store, &key);
            if let Some(s) = bucket.e.iter().find(|s| s.k == k) {
                let live = now.0 < s.u;
                match &s.st {
                    SlotState::Active { c } if live => {
                        let cached = Cached::Active(Arc::new(c.clone()));
                        self.local_put(*digest, cached.clone(), UnixMillis(s.u), now, events);
                        return Lookup::Hit(cached);
                    }
                    SlotState::Inactive if live => {
                        self.local_put(*digest, Cached::Inactive, UnixMillis(s.u), now, events);
                        return Lookup::Hit(Cached::Inactive);
                    }
                    SlotState::Pending { o } if live && *o != self.worker => {
                        return Lookup::OtherWorker;
                    }
                    SlotState::Failed { at } if held_since.is_some_and(|h| h.0 <= *at) => {
                        return Lookup::Failed;
                    }
                    _ => {}
                }
            }
            let mine = Slot {
                k: k.clone(),
                u: now.plus_ms(self.hold_ms).0,
                st: SlotState::Pending {
                    o: self.worker.clone(),
                },
            };
            self.put_slot(&mut bucket, mine.clone(), now, events);
            let Ok(bytes) = serde_json::to_vec(&bucket) else {
                return Lookup::Claimed;
            };
            if store.set(&key, &bytes, cas).is_err() {
                continue;
            }
            if cas == 0 {
                // Absent bucket: no atomic create, so check our write stuck.
                let (b, _) = self.read(store, &key);
                if !b.e.contains(&mine) {
                    continue;
                }
            }
            return Lookup::Claimed;
        }
        // Heavy contention on the bucket: introspect without the shared claim.
        Lookup::Claimed
    }

    /// Insert `slot` into `bucket`, replacing the token's old slot, dropping
    /// expired ones and evicting the soonest-expiring live answer if full.
    fn put_slot(&self, bucket: &mut Bucket, slot: Slot, now: UnixMillis, events: &mut Vec<Event>) {
        bucket.e.retain(|s| s.k != slot.k && now.0 < s.u);
        while bucket.e.len() >= WAYS {
            // Prefer evicting answers and failures over others' pending slots.
            let victim = bucket
                .e
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| (matches!(s.st, SlotState::Pending { .. }), s.u))
                .map(|(i, _)| i);
            match victim {
                Some(i) => {
                    let s = bucket.e.remove(i);
                    if matches!(s.st, SlotState::Active { .. } | SlotState::Inactive) {
                        events.push(Event::Metric(Metric::AnswerCacheEviction));
                    }
                }
                None => break,
            }
        }
        bucket.e.push(slot);
    }

    /// Write `st` for the token (retrying on cas mismatch), or with `None`
    /// remove its slot unless another worker has taken it over.
    fn write(
        &self,
        store: &mut dyn SharedStore,
        digest: &[u8; 32],
        st: Option<(SlotState, u64)>,
        now: UnixMillis,
        events: &mut Vec<Event>,
    ) {
        if self.buckets == 0 {
            return;
        }
        let key = self.bucket_key(digest);
        let k = hex(digest);
        for _ in 0..CAS_TRIES {
            let (mut bucket, cas) = self.read(store, &key);
            // Another worker's fresher claim or answer wins over our pending.
            let theirs = bucket.e.iter().any(|s| {
                s.k == k
                    && now.0 < s.u
                    && matches!(&s.st, SlotState::Pending { o } if *o != self.worker)
            });
            if theirs && st.is_none() {
                return;
            }
            match &st {
                Some((state, until)) => {
                    let slot = Slot {
                        k: k.clone(),
                        u: *until,
                        st: state.clone(),
                    };
                    self.put_slot(&mut bucket, slot, now, events);
                }
                None => bucket.e.retain(|s| s.k != k),
            }
            let Ok(bytes) = serde_json::to_vec(&bucket) else {
                return;
            };
            if store.set(&key, &bytes, cas).is_ok() {
                return;
            }
        }
        events.push(Event::Log(
            Level::Warn,
            "introspection cache: bucket update lost to contention".into(),
        ));
    }

    /// This worker started callout `id` for a claimed `digest`.
    pub fn started(&mut self, digest: [u8; 32], id: CalloutId, now: UnixMillis) {
        self.inflight.insert(digest, (id, now));
        self.by_id.insert(id, digest);
    }

    /// This worker's callouts under way, with their token digests.
    pub fn in_flight(&self) -> impl Iterator<Item = (CalloutId, [u8; 32])> + '_ {
        self.by_id.iter().map(|(id, d)| (*id, *d))
    }

    /// Whether `id` is one of this cache's callouts.
    pub fn owns(&self, id: CalloutId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Callout `id` finished. Returns the token digest it was for.
    pub fn complete(
        &mut self,
        id: CalloutId,
        result: &Result<Answer, IntrospectionError>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) -> Option<[u8; 32]> {
        let d = self.by_id.remove(&id)?;
        self.inflight.remove(&d);
        match result {
            Ok(answer) => {
                let until = self.cfg.until(answer, now);
                let (cached, st) = match answer {
                    Answer::Active(m) => (
                        Cached::Active(Arc::new(m.clone())),
                        SlotState::Active { c: m.clone() },
                    ),
                    Answer::Inactive => (Cached::Inactive, SlotState::Inactive),
                };
                self.local_put(d, cached, until, now, events);
                let small = match &st {
                    SlotState::Active { c } => serde_json::to_vec(c)
                        .map(|b| b.len() <= self.cfg.max_entry_bytes)
                        .unwrap_or(false),
                    _ => true,
                };
                if small && until > now {
                    self.write(store, &d, Some((st, until.0)), now, events);
                } else {
                    self.write(store, &d, None, now, events);
                }
            }
            Err(_) => {
                self.failed.insert(d, now);
                let st = SlotState::Failed { at: now.0 };
                self.write(
                    store,
                    &d,
                    Some((st, now.plus_ms(self.hold_ms).0)),
                    now,
                    events,
                );
            }
        }
        Some(d)
    }

    /// Callout `id` will never be answered (its stream ended): give the
    /// claim up so that another request can start over.
    pub fn abandon(
        &mut self,
        id: CalloutId,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) -> Option<[u8; 32]> {
        let d = self.by_id.remove(&id)?;
        self.inflight.remove(&d);
        self.write(store, &d, None, now, events);
        Some(d)
    }

    /// Housekeeping on every tick: callouts never answered are abandoned,
    /// old failure marks dropped. Returns abandoned callout ids.
    pub fn on_tick(
        &mut self,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) -> Vec<CalloutId> {
        let stale: Vec<CalloutId> = self
            .inflight
            .values()
            .filter(|(_, started)| now.since(*started) > self.hold_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in &stale {
            self.abandon(*id, now, store, events);
        }
        let keep = self.hold_ms.saturating_mul(2);
        self.failed.retain(|_, at| now.since(*at) <= keep);
        stale
    }
}

impl IntrospectionCacheConfig {
    /// Until when an answer obtained at `now` may be used: at least 1 s,
    /// so that the requests waiting for it see it (an answer whose `exp`
    /// has passed is refused by the claim checks anyway).
    pub fn until(&self, answer: &Answer, now: UnixMillis) -> UnixMillis {
        let max = now.plus_secs(self.max_ttl_s);
        let until = match answer {
            Answer::Inactive => now.plus_secs(self.inactive_ttl_s),
            Answer::Active(m) => match claims::exp_ms(m) {
                Some(exp) => exp.min(max),
                None => now.plus_secs(self.default_ttl_s),
            },
        };
        until.max(now.plus_ms(MIN_TTL_MS))
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
