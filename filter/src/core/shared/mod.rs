//! Process-wide shared data as the core sees it ([`SharedStore`]), and the
//! fetch lease built on it ([`lease`]).
//!
//! proxy-wasm shared data is a map key → (bytes, cas) with compare-and-swap
//! writes and nothing else (no eviction, no atomic create). A *lease* record
//! says which worker is fetching a key set and until when; a worker fetches
//! only after swapping the lease to itself, so N workers make one fetch.

use std::collections::HashMap;

pub mod lease;
pub mod replay;

pub use lease::{ensure_lease, lease_ttl_ms, release, try_acquire, Lease, LeaseOutcome};

/// A compare-and-swap write lost the race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CasMismatch;

/// Shared data with proxy-wasm semantics.
pub trait SharedStore {
    /// Value and cas of `key`, or None when absent.
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Write `value`. `cas` 0 always succeeds; otherwise it must equal the
    /// stored cas of an existing key.
    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), CasMismatch>;
}

/// In-memory [`SharedStore`] with proxy-wasm semantics (tests, native use).
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

impl MemoryStore {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key exists.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl SharedStore for MemoryStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.map.get(key).cloned()
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), CasMismatch> {
        if let Some((_, have)) = self.map.get(key) {
            if cas != 0 && cas != *have {
                return Err(CasMismatch);
            }
        }
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        self.map
            .insert(key.to_owned(), (value.to_vec(), self.next_cas));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_has_proxy_wasm_cas_semantics() {
        let mut s = MemoryStore::default();
        assert!(s.get("k").is_none());
        s.set("k", b"a", 77).unwrap(); // absent key: any cas succeeds
        let (_, c1) = s.get("k").unwrap();
        assert_ne!(c1, 0);
        assert_eq!(s.set("k", b"b", c1 + 1), Err(CasMismatch));
        s.set("k", b"b", c1).unwrap();
        assert_eq!(s.set("k", b"c", c1), Err(CasMismatch));
        s.set("k", b"d", 0).unwrap();
        assert_eq!(s.get("k").unwrap().0, b"d");
    }
}
