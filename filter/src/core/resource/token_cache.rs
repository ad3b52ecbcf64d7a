//! Per-worker cache of verified tokens, keyed by the token itself: a
//! seeded [`word_hash`] of it finds the entry, which holds the whole token
//! and is used only when the token is the same byte for byte (a lookup
//! costs a fraction of SHA-256 in wasm). The token's SHA-256 is kept too,
//! once something asked for it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::token_hash::TokenHash;
use crate::core::util::fast_hash::{same_bytes, word_hash, Hashed};
use crate::core::util::time::UnixMillis;

/// A token that passed parsing and signature verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Index of the provider that issued it.
    pub provider: usize,
    /// Its claims.
    pub claims: Arc<Map<String, Value>>,
    /// Its `exp`: the entry is never used at or after it.
    pub exp: UnixMillis,
}

/// A cached token: the token, its verification and, once made, its SHA-256.
/// `Debug` leaves the token out.
struct Entry {
    token: Box<str>,
    verified: Verified,
    digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

/// Bounded map token → [`Verified`]: when full, expired entries
/// go first (swept at most once a second), then the oldest insertions.
/// Every operation is O(1) amortised: a full cache under a stream of new
/// tokens (the verification path) must not scan itself per request.
#[derive(Debug, Default)]
pub struct TokenCache {
    max: usize,
    /// By [`word_hash`] of the token.
    map: HashMap<u64, Entry, Hashed>,
    /// Insertion order; may name keys already gone from `map` (expired on
    /// lookup, forgotten), which eviction skips.
    order: VecDeque<u64>,
    /// The hash's seed.
    seed: u64,
    /// When expired entries were last swept out.
    swept: Option<UnixMillis>,
}

/// Least time between two sweeps of expired entries.
const SWEEP_EVERY_MS: u64 = 1_000;

impl TokenCache {
    /// A cache of at most `max` entries (0: disabled), its hash seeded
    /// with `seed`.
    pub fn new(max: usize, seed: u64) -> TokenCache {
        TokenCache {
            max,
            seed,
            ..TokenCache::default()
        }
    }

    /// A new seed (from the host's randomness); forgets every entry.
    pub fn reseed(&mut self, seed: u64) {
        *self = TokenCache::new(self.max, seed);
    }

    fn key(&self, token: &str) -> u64 {
        word_hash(self.seed, token.as_bytes())
    }

    /// Entries now held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A live entry for the token of `hash`. The entry's SHA-256, when it
    /// has one, is given to `hash`; with `keep_digest` (the audit line will
    /// want it) an entry without one gets it, made once here.
    pub fn get(
        &mut self,
        hash: &TokenHash<'_>,
        now: UnixMillis,
        keep_digest: bool,
    ) -> Option<Verified> {
        let key = self.key(hash.token());
        let e = self.map.get_mut(&key)?;
        if !same_bytes(e.token.as_bytes(), hash.token().as_bytes()) {
            return None;
        }
        if now >= e.verified.exp {
            self.map.remove(&key);
            return None;
        }
        match e.digest {
            Some(d) => hash.give(d),
            None if keep_digest => e.digest = Some(*hash.get()),
            None => {}
        }
        Some(e.verified.clone())
    }

    /// Remember a verified token (with its SHA-256 if `hash` made it).
    pub fn insert(&mut self, hash: &TokenHash<'_>, v: Verified, now: UnixMillis) {
        let (token, digest) = (hash.token(), hash.known());
        if self.max == 0 || now >= v.exp {
            return;
        }
        let key = self.key(token);
        if let Some(e) = self.map.get_mut(&key) {
            // The same token again, or (as good as never) another with the
            // same hash, which takes the place.
            *e = Entry {
                token: token.into(),
                verified: v,
                digest,
            };
            return;
        }
        if self.map.len() >= self.max && self.swept.is_none_or(|t| now.since(t) >= SWEEP_EVERY_MS) {
            self.swept = Some(now);
            self.map.retain(|_, e| now < e.verified.exp);
            self.compact();
        }
        while self.map.len() >= self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.map.insert(
            key,
            Entry {
                token: token.into(),
                verified: v,
                digest,
            },
        );
        self.order.push_back(key);
        // Keys removed on lookup linger in `order`; bound it.
        if self.order.len() > 2 * self.max {
            self.compact();
        }
    }

    /// Drop the keys of `order` that `map` no longer holds.
    fn compact(&mut self) {
        let map = &self.map;
        self.order.retain(|k| map.contains_key(k));
    }

    /// Forget every token of one provider (its keys changed).
    pub fn forget_provider(&mut self, provider: usize) {
        self.map.retain(|_, e| e.verified.provider != provider);
        self.compact();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(exp: u64) -> Verified {
        Verified {
            provider: 0,
            claims: Arc::new(Map::new()),
            exp: UnixMillis(exp),
        }
    }

    fn put(c: &mut TokenCache, token: &str, exp: u64, now: u64) {
        c.insert(&TokenHash::new(token), v(exp), UnixMillis(now));
    }

    fn has(c: &mut TokenCache, token: &str, now: u64) -> bool {
        c.get(&TokenHash::new(token), UnixMillis(now), false)
            .is_some()
    }

    #[test]
    fn a_stream_of_new_tokens_stays_bounded() {
        let mut c = TokenCache::new(8, 1);
        for i in 0..10_000u64 {
            let t = format!("token-{i}");
            put(&mut c, &t, 1_000_000, i);
            assert!(has(&mut c, &t, i));
        }
        assert_eq!(c.len(), 8);
        assert!(c.order.len() <= 16);
    }

    #[test]
    fn never_past_exp_and_bounded() {
        let mut c = TokenCache::new(2, 1);
        put(&mut c, "a", 100, 0);
        assert!(has(&mut c, "a", 99));
        assert!(!has(&mut c, "a", 100));
        put(&mut c, "a", 1000, 0);
        put(&mut c, "b", 1000, 0);
        put(&mut c, "c", 1000, 0);
        assert_eq!(c.len(), 2);
        assert!(!has(&mut c, "a", 1), "oldest evicted");
        assert!(has(&mut c, "c", 1));
        // Expired entries go before live ones, however old.
        let mut c = TokenCache::new(2, 1);
        put(&mut c, "a", 5_000, 0);
        put(&mut c, "b", 100, 0);
        put(&mut c, "c", 5_000, 200);
        assert!(has(&mut c, "a", 300));
        assert!(has(&mut c, "c", 300));
        let mut off = TokenCache::new(0, 1);
        put(&mut off, "a", 1000, 0);
        assert!(off.is_empty());
    }

    #[test]
    fn debug_output_leaves_the_token_out() {
        let mut c = TokenCache::new(2, 1);
        put(&mut c, "secret-token-value", 1000, 0);
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-token-value"), "{shown}");
        assert!(shown.contains("<18 bytes>"), "{shown}");
    }

    #[test]
    fn the_digest_is_kept_once_made() {
        let mut c = TokenCache::new(2, 1);
        put(&mut c, "abc", 1000, 0);
        let h = TokenHash::new("abc");
        assert!(c.get(&h, UnixMillis(1), false).is_some());
        assert_eq!(h.known(), None, "nothing hashed when not wanted");
        assert!(c.get(&h, UnixMillis(1), true).is_some());
        let d = h.known().expect("made");
        let later = TokenHash::new("abc");
        assert!(c.get(&later, UnixMillis(2), false).is_some());
        assert_eq!(later.known(), Some(d), "given from the entry");
    }
}
