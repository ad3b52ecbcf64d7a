//! Verification keys per provider: inline sets, remote JWK sets and OIDC
//! discovery, fetched by callout and shared across workers.
//!
//! Each remote provider has two shared-data records:
//! - the *key record* (`oauth-filter/keys/<name>/<id>`): the last good JWK
//!   set, when it was fetched, when to refresh, and the last failure;
//! - the *lease* (`oauth-filter/lease/<name>/<id>`): which worker is
//!   fetching now (see [`crate::core::shared::lease`]).
//!
//! On every tick a worker adopts a newer key record if there is one, then, if
//! a fetch is due and it wins the lease, starts the callout. The fetcher
//! writes the result to the key record; the other workers adopt it on their
//! next tick. So N workers make one fetch, and a failure backs everybody off.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::callout::{Callout, CalloutId, CalloutResponse};
use crate::core::config::{FilterConfig, KeyFetchConfig, KeySource};
use crate::core::events::{Event, Level, Metric};
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::jose::jwk::JwkSet;
use crate::core::shared::{
    ensure_lease, lease_ttl_ms, release, try_acquire, LeaseOutcome, SharedStore,
};
use crate::core::util::hex::sha256_id;
use crate::core::util::time::UnixMillis;
use crate::core::util::uri::HttpUri;

mod fetch;

pub use fetch::max_age;
use fetch::{parse_discovery, parse_jwks, unreachable_uri};

/// What a provider's keys look like to a request.
#[derive(Debug, Clone)]
pub enum KeyLookup {
    /// Keys are here.
    Ready(Arc<JwkSet>),
    /// No key set yet; a fetch is due or under way: hold the request.
    Loading,
    /// No key set, and the last fetch failed: 503.
    Unavailable,
}

/// Local key state of one provider.
#[derive(Debug, Clone)]
enum KeyState {
    /// Never had keys; nothing failed yet.
    Empty,
    /// Never had keys; the last fetch failed.
    Failed,
    /// Has keys.
    Ready {
        set: Arc<JwkSet>,
        fetched_at: UnixMillis,
    },
}

/// The shared key record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Record {
    /// Last successful fetch (0: never).
    fetched_at: u64,
    /// When the set should be refreshed.
    refresh_at: u64,
    /// Last good set.
    jwks: Option<Value>,
    /// Last failure, if more recent than `fetched_at`.
    failed_at: Option<u64>,
    /// What failed (for logs).
    error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Discovery,
    Jwks,
}

#[derive(Debug, Clone)]
enum Source {
    Inline,
    Remote {
        uri: HttpUri,
        cluster: String,
    },
    Discovery {
        doc: HttpUri,
        cluster: String,
        authority: Option<String>,
        jwks_uri: Option<HttpUri>,
    },
}

#[derive(Debug)]
struct ProviderKeys {
    name: String,
    issuer: String,
    source: Source,
    state: KeyState,
    record_key: String,
    lease_key: String,
    adopted_cas: u32,
    record: Option<Record>,
    refetch_wanted: bool,
    inflight: Option<(CalloutId, Stage, UnixMillis)>,
}

/// Key sets of all providers of one worker.
#[derive(Debug)]
pub struct KeyManager {
    providers: Vec<ProviderKeys>,
    timing: KeyFetchConfig,
    worker: String,
    next_id: u64,
}

impl KeyManager {
    /// Key state for `cfg`; `worker` must be unique per worker in the process.
    pub fn new(cfg: &FilterConfig, worker: &str) -> KeyManager {
        // Index order: the providers, then the login registrations (their
        // ID-token keys): `WaitFor::Keys(i)` and `lookup(i)` use it.
        let owners = cfg
            .providers
            .iter()
            .map(|p| (&p.name, &p.issuer, &p.keys))
            .chain(
                cfg.login
                    .iter()
                    .flat_map(|l| l.registrations.iter())
                    .map(|r| (&r.name, &r.issuer, &r.keys)),
            );
        let providers = owners
            .map(|(name, issuer, keys)| {
                let (source, state, target) = match keys {
                    KeySource::None => (
                        Source::Inline,
                        KeyState::Ready {
                            set: Arc::new(JwkSet::default()),
                            fetched_at: UnixMillis(0),
                        },
                        String::new(),
                    ),
                    KeySource::Inline(set) => (
                        Source::Inline,
                        KeyState::Ready {
                            set: Arc::new(set.clone()),
                            fetched_at: UnixMillis(0),
                        },
                        String::new(),
                    ),
                    KeySource::Remote { uri, cluster } => (
                        Source::Remote {
                            uri: uri.clone(),
                            cluster: cluster.clone(),
                        },
                        KeyState::Empty,
                        uri.to_text(),
                    ),
                    KeySource::Discovery {
                        uri,
                        cluster,
                        authority,
                    } => (
                        Source::Discovery {
                            doc: uri.clone(),
                            cluster: cluster.clone(),
                            authority: authority.clone(),
                            jwks_uri: None,
                        },
                        KeyState::Empty,
                        uri.to_text(),
                    ),
                };
                // Records are per (issuer, source) so that two plugin configs
                // in one VM never share a set they do not both trust.
                let id = sha256_id(&format!("{issuer}\n{target}"), 6);
                ProviderKeys {
                    name: name.clone(),
                    issuer: issuer.clone(),
                    source,
                    state,
                    record_key: format!("oauth-filter/keys/{name}/{id}"),
                    lease_key: format!("oauth-filter/lease/{name}/{id}"),
                    adopted_cas: 0,
                    record: None,
                    refetch_wanted: false,
                    inflight: None,
                }
            })
            .collect();
        KeyManager {
            providers,
            timing: cfg.raw.key_fetch.clone(),
            worker: worker.to_owned(),
            next_id: 1,
        }
    }

    /// The shared-data key of a provider's key record (tests, tooling).
    pub fn record_key(&self, provider: usize) -> &str {
        &self.providers[provider].record_key
    }

    /// Keys of provider `i`.
    pub fn lookup(&self, i: usize) -> KeyLookup {
        match &self.providers[i].state {
            KeyState::Ready { set, .. } => KeyLookup::Ready(set.clone()),
            KeyState::Empty => KeyLookup::Loading,
            KeyState::Failed => KeyLookup::Unavailable,
        }
    }

    /// Creates the fetch leases in shared data (see [`ensure_lease`]).
    pub fn init_shared(&self, store: &mut dyn SharedStore) {
        for p in &self.providers {
            if !matches!(p.source, Source::Inline) {
                ensure_lease(store, &p.lease_key);
            }
        }
    }

    /// A token names a `kid` we lack. Returns true when a refetch is wanted
    /// (now, already, or once the rate-limit window opens within the hold
    /// budget `initial_wait_ms`), i.e. holding the request makes sense; false
    /// when the rate limit forbids it for longer (or the keys are inline).
    /// Either way there is at most one refetch per window.
    pub fn request_refetch(&mut self, i: usize, now: UnixMillis) -> bool {
        let interval = self.timing.unknown_kid_refetch_interval_s;
        let hold_budget = self.timing.initial_wait_ms;
        let p = &mut self.providers[i];
        if matches!(p.source, Source::Inline) {
            return false;
        }
        if p.refetch_wanted {
            return true;
        }
        let fetched_at = match &p.state {
            KeyState::Ready { fetched_at, .. } => *fetched_at,
            _ => return false,
        };
        let opens = fetched_at.plus_secs(interval);
        if now >= opens || opens.since(now) <= hold_budget {
            p.refetch_wanted = true;
            return true;
        }
        false
    }

    /// Drive fetches: adopt newer shared records, start due fetches (into
    /// `io.out`). `changed` receives providers whose key set changed; their
    /// keys, and those of a fetch given up, are ready.
    pub fn on_tick(&mut self, io: &mut Io<'_>, changed: &mut Vec<usize>) {
        let now = io.now;
        let store = &mut *io.store;
        let events = &mut io.out.events;
        let out = &mut io.out.callouts;
        let mut settled = Vec::new();
        for i in 0..self.providers.len() {
            if matches!(self.providers[i].source, Source::Inline) {
                continue;
            }
            self.sync(i, store, events, changed);
            if let Some((_, _, started)) = self.providers[i].inflight {
                // The host must answer every callout (a failure at the
                // timeout); this guards against one that never does.
                if now.since(started) > lease_ttl_ms(self.timing.timeout_ms, 2) {
                    self.providers[i].inflight = None;
                    self.fail(i, now, store, "callout never completed", events, changed);
                    settled.push(i);
                }
                continue;
            }
            if now < self.due(i) {
                continue;
            }
            let ttl = lease_ttl_ms(self.timing.timeout_ms, 2);
            let p = &self.providers[i];
            if try_acquire(store, &p.lease_key, &self.worker, now, ttl) == LeaseOutcome::Acquired {
                out.push(self.start(i, now, events));
            }
        }
        for &i in changed.iter().chain(&settled) {
            io.out.ready(WaitFor::Keys(i));
        }
    }

    /// When provider `i` next needs a fetch.
    fn due(&self, i: usize) -> UnixMillis {
        let p = &self.providers[i];
        let Some(r) = &p.record else {
            return UnixMillis(0);
        };
        let mut due = if r.jwks.is_some() { r.refresh_at } else { 0 };
        if p.refetch_wanted {
            due = due.min(
                UnixMillis(r.fetched_at)
                    .plus_secs(self.timing.unknown_kid_refetch_interval_s)
                    .0,
            );
        }
        if let Some(f) = r.failed_at {
            due = due.max(UnixMillis(f).plus_secs(self.timing.retry_interval_s).0);
        }
        UnixMillis(due)
    }

    fn start(&mut self, i: usize, now: UnixMillis, events: &mut Vec<Event>) -> Callout {
        let id = CalloutId::Keys {
            provider: i,
            seq: self.next_id,
        };
        self.next_id += 1;
        let p = &mut self.providers[i];
        let (stage, cluster, uri) = match &p.source {
            Source::Remote { uri, cluster } => (Stage::Jwks, cluster.clone(), uri.clone()),
            Source::Discovery {
                doc,
                cluster,
                jwks_uri,
                ..
            } => match jwks_uri {
                Some(u) => (Stage::Jwks, cluster.clone(), u.clone()),
                None => (Stage::Discovery, cluster.clone(), doc.clone()),
            },
            // on_tick skips inline providers.
            Source::Inline => (Stage::Jwks, String::new(), unreachable_uri()),
        };
        p.inflight = Some((id, stage, now));
        events.push(Event::Metric(Metric::KeyFetch));
        events.push(Event::Log(
            Level::Debug,
            format!("provider {}: fetching {}", p.name, uri.to_text()),
        ));
        Callout::get(id, cluster, uri, self.timing.timeout_ms)
    }

    /// Adopt the shared record if it changed since we last looked.
    fn sync(
        &mut self,
        i: usize,
        store: &dyn SharedStore,
        events: &mut Vec<Event>,
        changed: &mut Vec<usize>,
    ) {
        let p = &mut self.providers[i];
        let Some((bytes, cas)) = store.get(&p.record_key) else {
            return;
        };
        if cas == p.adopted_cas {
            return;
        }
        p.adopted_cas = cas;
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(rec) => self.adopt(i, rec, events, changed),
            Err(_) => events.push(Event::Log(
                Level::Warn,
                format!("provider {}: unreadable shared key record ignored", p.name),
            )),
        }
    }

    fn adopt(&mut self, i: usize, rec: Record, events: &mut Vec<Event>, changed: &mut Vec<usize>) {
        let p = &mut self.providers[i];
        let newer_set = match (&p.state, &rec.jwks) {
            (_, None) => false,
            (KeyState::Ready { fetched_at, .. }, Some(_)) => fetched_at.0 != rec.fetched_at,
            (_, Some(_)) => true,
        };
        if newer_set {
            if let Some(v) = &rec.jwks {
                match JwkSet::from_value(v, false) {
                    Ok(set) => {
                        for s in &set.skipped {
                            events.push(Event::Log(
                                Level::Warn,
                                format!(
                                    "provider {}: key skipped at keys{}: {}",
                                    p.name, s.path, s.message
                                ),
                            ));
                        }
                        p.state = KeyState::Ready {
                            set: Arc::new(set),
                            fetched_at: UnixMillis(rec.fetched_at),
                        };
                        changed.push(i);
                    }
                    Err(e) => events.push(Event::Log(
                        Level::Warn,
                        format!(
                            "provider {}: shared key set unusable: {}",
                            p.name, e.message
                        ),
                    )),
                }
            }
        } else if rec.jwks.is_none()
            && rec.failed_at.is_some()
            && matches!(p.state, KeyState::Empty)
        {
            p.state = KeyState::Failed;
        }
        let moved = p
            .record
            .as_ref()
            .is_none_or(|old| old.fetched_at != rec.fetched_at || old.failed_at != rec.failed_at);
        if moved {
            p.refetch_wanted = false;
        }
        p.record = Some(rec);
    }

    /// A callout finished. A follow-up callout (discovery → JWK set) goes
    /// to `io.out`; otherwise the provider's keys are ready (fetched or
    /// failed). `changed` receives providers whose key set changed.
    pub fn on_response(
        &mut self,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        io: &mut Io<'_>,
        changed: &mut Vec<usize>,
    ) {
        let Some(i) = self
            .providers
            .iter()
            .position(|p| p.inflight.is_some_and(|(x, _, _)| x == id))
        else {
            return;
        };
        let follow_up = self.settle(i, resp, io.now, io.store, &mut io.out.events, changed);
        match follow_up {
            Some(c) => io.out.callouts.push(c),
            None => io.out.ready(WaitFor::Keys(i)),
        }
    }

    /// Provider `i`'s callout answered: the follow-up callout, if any.
    fn settle(
        &mut self,
        i: usize,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
        changed: &mut Vec<usize>,
    ) -> Option<Callout> {
        let stage = self.providers[i].inflight.map(|(_, s, _)| s);
        self.providers[i].inflight = None;
        match stage {
            Some(Stage::Discovery) => match parse_discovery(resp, &self.providers[i].issuer) {
                Ok(mut uri) => {
                    if let Source::Discovery {
                        jwks_uri,
                        authority,
                        ..
                    } = &mut self.providers[i].source
                    {
                        if let Some(a) = authority {
                            uri = uri.with_authority(a);
                        }
                        *jwks_uri = Some(uri);
                    }
                    let ttl = lease_ttl_ms(self.timing.timeout_ms, 2);
                    let p = &self.providers[i];
                    // Extend our lease for the second step.
                    let _ = try_acquire(store, &p.lease_key, &self.worker, now, ttl);
                    Some(self.start(i, now, events))
                }
                Err(msg) => {
                    self.fail(i, now, store, &format!("discovery: {msg}"), events, changed);
                    None
                }
            },
            _ => {
                match parse_jwks(resp) {
                    Ok((value, count, skipped, max_age)) => {
                        let kf = &self.timing;
                        let interval = match max_age {
                            Some(a) => {
                                a.clamp(kf.min_refresh_interval_s, kf.max_refresh_interval_s)
                            }
                            None => kf.refresh_interval_s,
                        };
                        let rec = Record {
                            fetched_at: now.0,
                            refresh_at: now.plus_secs(interval).0,
                            jwks: Some(value),
                            failed_at: None,
                            error: None,
                        };
                        events.push(Event::Log(
                            Level::Info,
                            format!(
                                "provider {}: key set fetched: {count} keys, {skipped} skipped, next refresh in {interval} s",
                                self.providers[i].name
                            ),
                        ));
                        self.publish(i, rec, store, events, changed);
                    }
                    Err(msg) => {
                        if let Source::Discovery { jwks_uri, .. } = &mut self.providers[i].source {
                            // Rediscover next time: the jwks_uri may have moved.
                            *jwks_uri = None;
                        }
                        self.fail(i, now, store, &msg, events, changed);
                    }
                }
                None
            }
        }
    }

    fn fail(
        &mut self,
        i: usize,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        msg: &str,
        events: &mut Vec<Event>,
        changed: &mut Vec<usize>,
    ) {
        events.push(Event::Metric(Metric::KeyFetchFailure));
        events.push(Event::Log(
            Level::Warn,
            format!(
                "provider {}: key fetch failed: {msg}; keeping the last good set if any, retry in {} s",
                self.providers[i].name, self.timing.retry_interval_s
            ),
        ));
        // Start from the freshest shared record so a good set is never lost.
        self.sync(i, store, events, changed);
        let mut rec = self.providers[i].record.clone().unwrap_or(Record {
            fetched_at: 0,
            refresh_at: 0,
            jwks: None,
            failed_at: None,
            error: None,
        });
        rec.failed_at = Some(now.0);
        rec.error = Some(crate::core::util::text::prefix_chars(msg, 200));
        self.publish(i, rec, store, events, changed);
    }

    fn publish(
        &mut self,
        i: usize,
        rec: Record,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
        changed: &mut Vec<usize>,
    ) {
        let p = &self.providers[i];
        match serde_json::to_vec(&rec) {
            // We hold the lease: an unconditional write is right.
            Ok(bytes) => {
                let _ = store.set(&p.record_key, &bytes, 0);
            }
            Err(_) => events.push(Event::Log(
                Level::Error,
                "key record not serializable".into(),
            )),
        }
        release(store, &p.lease_key, &self.worker);
        if let Some((_, cas)) = store.get(&p.record_key) {
            self.providers[i].adopted_cas = cas;
        }
        self.adopt(i, rec, events, changed);
    }
}
