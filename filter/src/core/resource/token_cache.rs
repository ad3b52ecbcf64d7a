//! Per-worker cache of verified tokens, keyed by SHA-256 of the token.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value};

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

/// Bounded map SHA-256(token) → [`Verified`]; insertion-order eviction after
/// expired entries.
#[derive(Debug, Default)]
pub struct TokenCache {
    max: usize,
    map: HashMap<[u8; 32], Verified>,
    order: VecDeque<[u8; 32]>,
}

impl TokenCache {
    /// A cache of at most `max` entries (0: disabled).
    pub fn new(max: usize) -> TokenCache {
        TokenCache {
            max,
            ..TokenCache::default()
        }
    }

    /// Entries now held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A live entry for this token hash.
    pub fn get(&mut self, key: &[u8; 32], now: UnixMillis) -> Option<Verified> {
        match self.map.get(key) {
            Some(v) if now < v.exp => Some(v.clone()),
            Some(_) => {
                self.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remember a verified token.
    pub fn insert(&mut self, key: [u8; 32], v: Verified, now: UnixMillis) {
        if self.max == 0 || now >= v.exp {
            return;
        }
        if let Some(e) = self.map.get_mut(&key) {
            *e = v;
            return;
        }
        if self.map.len() >= self.max {
            self.map.retain(|_, e| now < e.exp);
            self.order.retain(|k| self.map.contains_key(k));
        }
        while self.map.len() >= self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.map.insert(key, v);
        self.order.push_back(key);
    }

    /// Forget every token of one provider (its keys changed).
    pub fn forget_provider(&mut self, provider: usize) {
        self.map.retain(|_, e| e.provider != provider);
        self.order.retain(|k| self.map.contains_key(k));
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

    #[test]
    fn never_past_exp_and_bounded() {
        let mut c = TokenCache::new(2);
        c.insert([1; 32], v(100), UnixMillis(0));
        assert!(c.get(&[1; 32], UnixMillis(99)).is_some());
        assert!(c.get(&[1; 32], UnixMillis(100)).is_none());
        c.insert([1; 32], v(1000), UnixMillis(0));
        c.insert([2; 32], v(1000), UnixMillis(0));
        c.insert([3; 32], v(1000), UnixMillis(0));
        assert_eq!(c.len(), 2);
        assert!(c.get(&[1; 32], UnixMillis(1)).is_none(), "oldest evicted");
        assert!(c.get(&[3; 32], UnixMillis(1)).is_some());
        let mut off = TokenCache::new(0);
        off.insert([1; 32], v(1000), UnixMillis(0));
        assert!(off.is_empty());
    }
}
