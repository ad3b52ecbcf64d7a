//! A replay cache in shared data: identifiers seen by any worker of the
//! process, each until it expires (DPoP proof `jti`s, RFC 9449 §11.1).
//!
//! Shared data has no atomic create, so the identifiers live in a fixed set
//! of buckets created once ([`ReplayCache::init_shared`]); an identifier is
//! added to its bucket by compare-and-swap, so two workers never both accept
//! the same one. A full bucket refuses (fail closed) rather than forget an
//! identifier that could still be replayed.

use super::SharedStore;
use crate::core::util::time::UnixMillis;

/// Bytes of an identifier (a digest prefix).
pub const ID_BYTES: usize = 16;
const ENTRY: usize = ID_BYTES + 8;
const ATTEMPTS: usize = 4;

/// What [`ReplayCache::remember`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time: remembered now.
    Fresh,
    /// Already remembered and not expired: a replay.
    Replayed,
    /// Its bucket is full of live identifiers: refused (fail closed).
    Full,
    /// Lost the compare-and-swap race too often: refused (fail closed).
    Busy,
}

/// The cache's shape; the records live in shared data.
#[derive(Debug, Clone)]
pub struct ReplayCache {
    prefix: &'static str,
    buckets: u32,
    per_bucket: usize,
}

impl ReplayCache {
    /// A cache under `prefix` with `buckets` × `per_bucket` identifiers.
    pub fn new(prefix: &'static str, buckets: u32, per_bucket: usize) -> ReplayCache {
        ReplayCache {
            prefix,
            buckets: buckets.max(1),
            per_bucket: per_bucket.max(1),
        }
    }

    fn key(&self, id: &[u8; ID_BYTES]) -> String {
        let n = u32::from_be_bytes([id[0], id[1], id[2], id[3]]) % self.buckets;
        format!("{}{n}", self.prefix)
    }

    /// Create every bucket that does not exist yet.
    pub fn init_shared(&self, store: &mut dyn SharedStore) {
        for n in 0..self.buckets {
            let key = format!("{}{n}", self.prefix);
            if store.get(&key).is_none() {
                let _ = store.set(&key, &[], 0);
            }
        }
    }

    /// Remember `id` until `expires`, unless it is remembered already.
    pub fn remember(
        &self,
        store: &mut dyn SharedStore,
        id: &[u8; ID_BYTES],
        expires: UnixMillis,
        now: UnixMillis,
    ) -> Seen {
        let key = self.key(id);
        for _ in 0..ATTEMPTS {
            let (bytes, cas) = store.get(&key).unwrap_or_default();
            let mut live: Vec<u8> = Vec::with_capacity(bytes.len() + ENTRY);
            for e in bytes.chunks_exact(ENTRY) {
                let (eid, exp) = e.split_at(ID_BYTES);
                let exp = u64::from_be_bytes(exp.try_into().unwrap_or([0; 8]));
                if exp <= now.0 {
                    continue;
                }
                if eid == id {
                    return Seen::Replayed;
                }
                live.extend_from_slice(e);
            }
            if live.len() / ENTRY >= self.per_bucket {
                return Seen::Full;
            }
            live.extend_from_slice(id);
            live.extend_from_slice(&expires.0.to_be_bytes());
            if store.set(&key, &live, cas).is_ok() {
                return Seen::Fresh;
            }
        }
        Seen::Busy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::shared::MemoryStore;

    #[test]
    fn replays_are_seen_across_workers_until_they_expire() {
        let cache = ReplayCache::new("t/", 4, 3);
        let mut store = MemoryStore::default();
        cache.init_shared(&mut store);
        assert_eq!(store.len(), 4);
        let now = UnixMillis(1_000);
        let a = [1u8; ID_BYTES];
        assert_eq!(
            cache.remember(&mut store, &a, UnixMillis(2_000), now),
            Seen::Fresh
        );
        // Another worker (same store) sees it.
        assert_eq!(
            cache.remember(&mut store, &a, UnixMillis(2_000), now),
            Seen::Replayed
        );
        // After it expires it is forgotten.
        assert_eq!(
            cache.remember(&mut store, &a, UnixMillis(3_000), UnixMillis(2_000)),
            Seen::Fresh
        );
    }

    #[test]
    fn a_full_bucket_refuses_until_entries_expire() {
        let cache = ReplayCache::new("t/", 1, 2);
        let mut store = MemoryStore::default();
        let now = UnixMillis(0);
        for i in 0..2u8 {
            let id = [i; ID_BYTES];
            assert_eq!(
                cache.remember(&mut store, &id, UnixMillis(10), now),
                Seen::Fresh
            );
        }
        let c = [9u8; ID_BYTES];
        assert_eq!(
            cache.remember(&mut store, &c, UnixMillis(10), now),
            Seen::Full
        );
        assert_eq!(
            cache.remember(&mut store, &c, UnixMillis(20), UnixMillis(10)),
            Seen::Fresh
        );
    }

    #[test]
    fn garbage_in_a_bucket_is_dropped() {
        let cache = ReplayCache::new("t/", 1, 2);
        let mut store = MemoryStore::default();
        store.set("t/0", b"not entries", 0).unwrap();
        let id = [3u8; ID_BYTES];
        assert_eq!(
            cache.remember(&mut store, &id, UnixMillis(10), UnixMillis(0)),
            Seen::Fresh
        );
    }
}
