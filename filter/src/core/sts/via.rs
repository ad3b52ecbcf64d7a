//! The via token types: the STS presents the assertion it minted to the
//! token endpoint `AppliesTo` names (RFC 7523 / RFC 7522 grant, the
//! endpoint's client authentication by [`crate::core::client::auth`]) and
//! answers with the token response it got.
//!
//! Answers are cached per (subject, token type, `AppliesTo`) until they
//! expire, in shared data so that every worker uses them, and fetched once
//! (single flight): a worker claims the key with a compare-and-swap
//! "fetching" entry (with a deadline, so a worker that dies does not block
//! the key), the others wait for the answer or the failure (kept a short
//! while, so a refusing AS is not asked by every request).
//!
//! Shared data has no delete: entries live in [`BUCKETS`] records of at
//! most [`WAYS`] entries each; a full record drops its expired entries,
//! then the answer closest to expiry. A copy of this worker's own results
//! serves its waiting requests should the shared write keep losing races.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::config::{AppliesTo, Sts};
use super::token_type::TokenType;
use crate::core::callout::{Callout, CalloutId, CalloutResponse};
use crate::core::client::answer::parse_token_answer;
use crate::core::client::auth::jti;
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::shared::SharedStore;
use crate::core::util::hex::{hex, sha256_id};
use crate::core::util::time::UnixMillis;

/// Shared records of cached answers.
pub const BUCKETS: usize = 64;
/// Entries per record.
pub const WAYS: usize = 4;
/// How long a failed grant is answered from the cache, ms.
pub const FAILURE_TTL_MS: u64 = 2000;
/// How long an answer without `expires_in` is kept, ms.
pub const NO_EXPIRY_TTL_MS: u64 = 30_000;
/// An answer is used until this long before it expires, ms (at most half
/// its lifetime).
pub const EARLY_MS: u64 = 5000;
/// Local results kept at most (then the oldest half goes).
const MAX_LOCAL: usize = 256;
/// Compare-and-swap attempts per write.
const CAS_TRIES: usize = 4;

/// A cache key: SHA-256 of subject, token type and `AppliesTo`.
pub type Key = [u8; 32];

/// The key of (subject, token type, `AppliesTo`).
pub fn key(subject: &str, token_type: TokenType, applies_to: &str) -> Key {
    Sha256::new()
        .chain_update(subject.as_bytes())
        .chain_update([0])
        .chain_update(token_type.uri().as_bytes())
        .chain_update([0])
        .chain_update(applies_to.as_bytes())
        .finalize()
        .into()
}

/// One cached entry (JSON in a shared record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "s", rename_all = "snake_case")]
enum State {
    /// A worker is asking the AS, until `until`.
    Fetching { owner: String, until: u64 },
    /// The AS's token response: obtained at `at`, expiring at `exp`, used
    /// until `until`.
    Answer {
        body: String,
        at: u64,
        exp: u64,
        until: u64,
    },
    /// The grant failed (`reason`, no secrets); answered until `until`.
    Failed { reason: String, until: u64 },
}

impl State {
    fn until(&self) -> u64 {
        match self {
            State::Fetching { until, .. }
            | State::Answer { until, .. }
            | State::Failed { until, .. } => *until,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    k: String,
    #[serde(flatten)]
    state: State,
}

/// What the cache says about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The AS's token response, obtained at `obtained`, expiring at
    /// `expires`.
    Answer {
        /// The token response (JSON text).
        body: String,
        /// When it was obtained.
        obtained: UnixMillis,
        /// When its token expires.
        expires: UnixMillis,
    },
    /// The grant failed a moment ago.
    Failed(String),
    /// Another request is asking the AS: wait for [`WaitFor::Sts`].
    Wait,
    /// This worker now owns the key: mint, then [`ViaGrants::start`].
    Start,
}

#[derive(Debug, Clone, Copy)]
struct Flight {
    key: Key,
    lease_until: u64,
}

/// One worker's side of the via grants.
#[derive(Debug)]
pub struct ViaGrants {
    worker: String,
    prefix: String,
    seq: u64,
    in_flight: BTreeMap<u64, Flight>,
    local: BTreeMap<Key, State>,
}

fn read_record(store: &dyn SharedStore, name: &str) -> (Vec<Entry>, u32) {
    match store.get(name) {
        // A record that does not parse is treated as empty (and rewritten).
        Some((bytes, cas)) => (serde_json::from_slice(&bytes).unwrap_or_default(), cas),
        None => (Vec::new(), 0),
    }
}

impl ViaGrants {
    /// State for `sts` in worker `worker`.
    pub fn new(sts: &Sts, worker: &str) -> ViaGrants {
        ViaGrants {
            worker: worker.to_owned(),
            prefix: format!(
                "oauth-filter/sts/{}/",
                sha256_id(&format!("{}\n{}", sts.issuer, sts.path), 8)
            ),
            seq: 0,
            in_flight: BTreeMap::new(),
            local: BTreeMap::new(),
        }
    }

    fn record(&self, key: &Key) -> String {
        format!("{}{}", self.prefix, usize::from(key[0]) % BUCKETS)
    }

    /// Creates every shared record (serving then only swaps them).
    pub fn init_shared(&self, store: &mut dyn SharedStore) {
        for i in 0..BUCKETS {
            let name = format!("{}{i}", self.prefix);
            if store.get(&name).is_none() {
                let _ = store.set(&name, b"[]", 0);
            }
        }
    }

    /// The cached state of `key`; when nobody is asking the AS, claim the
    /// key for this worker ([`Lookup::Start`]) for `timeout_ms` and a
    /// margin.
    pub fn lookup(
        &mut self,
        key: &Key,
        timeout_ms: u64,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Lookup {
        let k = hex(key);
        let name = self.record(key);
        if self.in_flight.values().any(|f| f.key == *key) {
            return Lookup::Wait;
        }
        for _ in 0..CAS_TRIES {
            let (mut entries, cas) = read_record(store, &name);
            let live = entries
                .iter()
                .find(|e| e.k == k && e.state.until() > now.0)
                .map(|e| e.state.clone())
                .or_else(|| self.local.get(key).filter(|s| s.until() > now.0).cloned());
            match live {
                Some(s @ (State::Answer { .. } | State::Failed { .. })) => return found(s),
                Some(State::Fetching { .. }) => return Lookup::Wait,
                None => {}
            }
            let claim = State::Fetching {
                owner: self.worker.clone(),
                until: now.0.saturating_add(timeout_ms).saturating_add(1000),
            };
            if !put(&mut entries, &k, claim, now) {
                // Every entry is a live claim of another key: wait a tick.
                return Lookup::Wait;
            }
            if write(store, &name, &entries, cas) {
                return Lookup::Start;
            }
        }
        Lookup::Wait
    }

    /// Gives up a claim without asking the AS (the assertion could not be
    /// minted).
    pub fn release(&mut self, key: &Key, store: &mut dyn SharedStore) {
        let k = hex(key);
        let name = self.record(key);
        for _ in 0..CAS_TRIES {
            let (mut entries, cas) = read_record(store, &name);
            entries.retain(|e| e.k != k);
            if write(store, &name, &entries, cas) {
                return;
            }
        }
    }

    /// The token request for `key` (claimed by [`ViaGrants::lookup`]):
    /// the grant's `form` members, with the endpoint's client
    /// authentication.
    pub fn start(
        &mut self,
        key: Key,
        endpoint: &AppliesTo,
        mut form: Vec<(String, String)>,
        now: UnixMillis,
    ) -> Callout {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let auth = endpoint
            .client_auth
            .parts(&endpoint.address, now, &jti(&self.worker, seq, now));
        form.extend(auth.form);
        self.in_flight.insert(
            seq,
            Flight {
                key,
                lease_until: now
                    .0
                    .saturating_add(endpoint.timeout_ms)
                    .saturating_add(1000),
            },
        );
        Callout::form_post(
            CalloutId::Sts(seq),
            endpoint.cluster.clone(),
            endpoint.uri.clone(),
            endpoint.timeout_ms,
            &form,
            auth.headers,
        )
    }

    /// The AS answered callout `seq` (status None: no answer): cache the
    /// token response or the failure, wake the waiting requests.
    pub fn on_response(&mut self, seq: u64, resp: CalloutResponse<'_>, io: &mut Io<'_>) {
        let Some(flight) = self.in_flight.remove(&seq) else {
            return;
        };
        let now = io.now.0;
        let state = match parse_token_answer(resp) {
            Ok(answer) => {
                let lifetime = answer
                    .expires_in
                    .map_or(NO_EXPIRY_TTL_MS, |s| s.saturating_mul(1000));
                let early = EARLY_MS.min(lifetime / 2);
                State::Answer {
                    // parse_token_answer accepted it: UTF-8 JSON.
                    body: String::from_utf8_lossy(resp.body).into_owned(),
                    at: now,
                    exp: now.saturating_add(lifetime),
                    until: now.saturating_add(lifetime - early),
                }
            }
            Err(f) => State::Failed {
                reason: f.describe(),
                until: now.saturating_add(FAILURE_TTL_MS),
            },
        };
        self.settle(flight.key, state, io);
    }

    /// Callout `seq` will never be answered: release its claim.
    pub fn abandon(&mut self, seq: u64, io: &mut Io<'_>) {
        let Some(flight) = self.in_flight.remove(&seq) else {
            return;
        };
        self.release(&flight.key, io.store);
        io.out.ready(WaitFor::Sts(flight.key));
    }

    /// Gives up flights past their claim (never answered): their waiters
    /// retry.
    pub fn on_tick(&mut self, io: &mut Io<'_>) {
        let now = io.now.0;
        let stale: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.lease_until <= now)
            .map(|(s, _)| *s)
            .collect();
        for seq in stale {
            self.abandon(seq, io);
        }
        self.local.retain(|_, s| s.until() > now);
    }

    /// Whether callout `seq` is one of this worker's.
    pub fn owns(&self, seq: u64) -> bool {
        self.in_flight.contains_key(&seq)
    }

    fn settle(&mut self, key: Key, state: State, io: &mut Io<'_>) {
        let k = hex(&key);
        let name = self.record(&key);
        for _ in 0..CAS_TRIES {
            let (mut entries, cas) = read_record(io.store, &name);
            if !put(&mut entries, &k, state.clone(), io.now) {
                break;
            }
            if write(io.store, &name, &entries, cas) {
                break;
            }
        }
        if self.local.len() >= MAX_LOCAL {
            let now = io.now.0;
            self.local.retain(|_, s| s.until() > now);
            while self.local.len() >= MAX_LOCAL {
                self.local.pop_first();
            }
        }
        self.local.insert(key, state);
        io.out.ready(WaitFor::Sts(key));
    }
}

fn found(s: State) -> Lookup {
    match s {
        State::Answer { body, at, exp, .. } => Lookup::Answer {
            body,
            obtained: UnixMillis(at),
            expires: UnixMillis(exp),
        },
        State::Failed { reason, .. } => Lookup::Failed(reason),
        State::Fetching { .. } => Lookup::Wait,
    }
}

/// Puts `state` under `k` in a record: expired entries go, then (when
/// full) the entry that expires first unless it is a live claim. False
/// when every place holds a live claim of another key.
fn put(entries: &mut Vec<Entry>, k: &str, state: State, now: UnixMillis) -> bool {
    entries.retain(|e| e.k != k && e.state.until() > now.0);
    if entries.len() >= WAYS {
        let victim = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !matches!(e.state, State::Fetching { .. }))
            .min_by_key(|(_, e)| e.state.until())
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                entries.remove(i);
            }
            None => return false,
        }
    }
    entries.push(Entry {
        k: k.to_owned(),
        state,
    });
    true
}

fn write(store: &mut dyn SharedStore, name: &str, entries: &[Entry], cas: u32) -> bool {
    let Ok(bytes) = serde_json::to_vec(entries) else {
        return false;
    };
    store.set(name, &bytes, cas).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::io::Outbox;
    use crate::core::shared::MemoryStore;

    fn entry(k: &str, until: u64) -> Entry {
        Entry {
            k: k.into(),
            state: State::Failed {
                reason: String::new(),
                until,
            },
        }
    }

    #[test]
    fn a_full_record_drops_expired_then_the_soonest() {
        let mut e: Vec<Entry> = (0..WAYS as u64)
            .map(|i| entry(&i.to_string(), 100 + i))
            .collect();
        assert!(put(
            &mut e,
            "new",
            State::Failed {
                reason: String::new(),
                until: 500
            },
            UnixMillis(50)
        ));
        assert_eq!(e.len(), WAYS);
        assert!(!e.iter().any(|x| x.k == "0"));
        assert!(put(
            &mut e,
            "n2",
            State::Failed {
                reason: String::new(),
                until: 500
            },
            UnixMillis(200)
        ));
        assert_eq!(
            e.iter().map(|x| x.k.as_str()).collect::<Vec<_>>(),
            ["new", "n2"]
        );
    }

    #[test]
    fn live_claims_are_never_evicted() {
        let mut e: Vec<Entry> = (0..WAYS)
            .map(|i| Entry {
                k: i.to_string(),
                state: State::Fetching {
                    owner: "w".into(),
                    until: 1000,
                },
            })
            .collect();
        assert!(!put(
            &mut e,
            "x",
            State::Failed {
                reason: String::new(),
                until: 9
            },
            UnixMillis(1)
        ));
    }

    #[test]
    fn one_worker_claims_the_others_wait_then_all_read_the_answer() {
        let sts_json = serde_json::json!({
            "path": "/sts", "issuer": "https://gw/sts",
            "signing_key": {"kty": "EC", "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"},
            "token_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer",
                "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:jwt-bearer"],
            "applies_to": [{"address": "https://as/token", "cluster": "as",
                "client_auth": {"method": "client_secret_basic", "client_id": "c", "client_secret": "s"}}]
        });
        let sts = super::super::config::parse(
            sts_json.to_string().as_bytes(),
            &crate::core::config::Secrets::new(),
        )
        .unwrap();
        let mut store = MemoryStore::default();
        let mut a = ViaGrants::new(&sts, "a");
        let mut b = ViaGrants::new(&sts, "b");
        a.init_shared(&mut store);
        let k = key(
            "alice",
            TokenType::AccessTokenViaJwtBearer,
            "https://as/token",
        );
        let now = UnixMillis(1_000_000);
        assert_eq!(a.lookup(&k, 5000, now, &mut store), Lookup::Start);
        assert_eq!(b.lookup(&k, 5000, now, &mut store), Lookup::Wait);
        let c = a.start(
            k,
            &sts.applies_to[0],
            vec![("grant_type".into(), "g".into())],
            now,
        );
        let CalloutId::Sts(seq) = c.id else { panic!() };
        let body = br#"{"access_token":"at","token_type":"Bearer","expires_in":60}"#;
        let mut out = Outbox::default();
        a.on_response(
            seq,
            CalloutResponse {
                status: Some(200),
                headers: &[],
                body,
            },
            &mut Io::new(now, &mut store, &mut out),
        );
        assert_eq!(out.ready, vec![WaitFor::Sts(k)]);
        let expect = Lookup::Answer {
            body: String::from_utf8(body.to_vec()).unwrap(),
            obtained: now,
            expires: UnixMillis(now.0 + 60_000),
        };
        assert_eq!(b.lookup(&k, 5000, now, &mut store), expect);
        // Used until EARLY_MS before expiry, then fetched again.
        let late = UnixMillis(now.0 + 60_000 - EARLY_MS);
        assert_eq!(b.lookup(&k, 5000, late, &mut store), Lookup::Start);
    }
}
