//! The fetch lease: which worker fetches a shared record, and until when.
//! A worker fetches only after swapping the lease to itself, so N workers
//! make one fetch (key sets, tokens, introspection answers).

use serde::{Deserialize, Serialize};

use super::{CasMismatch, SharedStore};
use crate::core::util::time::UnixMillis;

/// Slack added to a lease beyond its callouts' timeouts.
const LEASE_SLACK_MS: u64 = 1000;

/// How long a lease (or a wait for one) lasts for a fetch of `callouts`
/// sequential callouts of `timeout_ms` each: their timeouts plus a second
/// of slack. The one formula for every lease and hold in the core.
pub fn lease_ttl_ms(timeout_ms: u64, callouts: u64) -> u64 {
    timeout_ms
        .saturating_mul(callouts)
        .saturating_add(LEASE_SLACK_MS)
}

/// The lease record stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lease {
    /// Worker id of the holder ("" when free).
    pub owner: String,
    /// Expiry; a lease past it is free.
    pub until: u64,
}

/// Result of [`try_acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// This worker holds the lease and should fetch.
    Acquired,
    /// Another worker holds it: wait for its result.
    HeldByOther,
}

fn read(store: &dyn SharedStore, key: &str) -> Option<(Lease, u32)> {
    let (bytes, cas) = store.get(key)?;
    // An unreadable record counts as free (it is overwritten under its cas).
    let lease = serde_json::from_slice(&bytes).unwrap_or(Lease {
        owner: String::new(),
        until: 0,
    });
    Some((lease, cas))
}

/// Try to become the fetcher for `key` until `now + ttl_ms`.
///
/// With an existing record the swap is atomic. For an absent key the ABI has
/// no atomic create: we write, then read back and keep the lease only if our
/// write is the one that stuck. Two workers racing in that first instant may
/// both fetch once; never more.
pub fn try_acquire(
    store: &mut dyn SharedStore,
    key: &str,
    owner: &str,
    now: UnixMillis,
    ttl_ms: u64,
) -> LeaseOutcome {
    let mine = Lease {
        owner: owner.to_owned(),
        until: now.plus_ms(ttl_ms).0,
    };
    let bytes = serde_json::to_vec(&mine).unwrap_or_default();
    match read(store, key) {
        Some((l, _)) if !l.owner.is_empty() && l.owner != owner && l.until > now.0 => {
            LeaseOutcome::HeldByOther
        }
        Some((_, cas)) => match store.set(key, &bytes, cas) {
            Ok(()) => LeaseOutcome::Acquired,
            Err(CasMismatch) => LeaseOutcome::HeldByOther,
        },
        None => {
            if store.set(key, &bytes, 0).is_err() {
                return LeaseOutcome::HeldByOther;
            }
            match read(store, key) {
                Some((l, _)) if l == mine => LeaseOutcome::Acquired,
                _ => LeaseOutcome::HeldByOther,
            }
        }
    }
}

/// Creates `key` as a free lease if it does not exist yet. Called for every
/// lease at configuration, before requests flow, so that later acquisitions
/// always swap an existing record (atomic) instead of racing to create one.
/// Two workers creating it at once both write a free lease: harmless.
pub fn ensure_lease(store: &mut dyn SharedStore, key: &str) {
    if read(store, key).is_none() {
        let free = Lease {
            owner: String::new(),
            until: 0,
        };
        let bytes = serde_json::to_vec(&free).unwrap_or_default();
        let _ = store.set(key, &bytes, 0);
    }
}

/// Give the lease up if we still hold it.
pub fn release(store: &mut dyn SharedStore, key: &str, owner: &str) {
    if let Some((l, cas)) = read(store, key) {
        if l.owner == owner {
            let free = Lease {
                owner: String::new(),
                until: 0,
            };
            let bytes = serde_json::to_vec(&free).unwrap_or_default();
            // Losing this race means someone else took an expired lease: fine.
            let _ = store.set(key, &bytes, cas);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::shared::MemoryStore;

    #[test]
    fn ensured_lease_makes_racing_acquisitions_exclusive() {
        let mut s = MemoryStore::default();
        let now = UnixMillis(1_000);
        ensure_lease(&mut s, "l");
        // Two workers read the free lease, then both try to swap it: the
        // second swap carries a stale cas and loses.
        let (_, cas_a) = s.get("l").unwrap();
        let (_, cas_b) = s.get("l").unwrap();
        let take = |owner: &str| {
            serde_json::to_vec(&Lease {
                owner: owner.into(),
                until: now.plus_ms(5_000).0,
            })
            .unwrap()
        };
        assert_eq!(s.set("l", &take("a"), cas_a), Ok(()));
        assert_eq!(s.set("l", &take("b"), cas_b), Err(CasMismatch));
        // Ensuring again does not free a held lease.
        ensure_lease(&mut s, "l");
        assert_eq!(
            try_acquire(&mut s, "l", "b", now, 5_000),
            LeaseOutcome::HeldByOther
        );
        assert_eq!(
            try_acquire(&mut s, "l", "a", now, 5_000),
            LeaseOutcome::Acquired
        );
    }

    #[test]
    fn one_worker_gets_the_lease() {
        let mut s = MemoryStore::default();
        let t = UnixMillis(1000);
        assert_eq!(
            try_acquire(&mut s, "l", "w1", t, 500),
            LeaseOutcome::Acquired
        );
        assert_eq!(
            try_acquire(&mut s, "l", "w2", t, 500),
            LeaseOutcome::HeldByOther
        );
        // Re-acquiring one's own lease extends it.
        assert_eq!(
            try_acquire(&mut s, "l", "w1", t, 500),
            LeaseOutcome::Acquired
        );
        // Expired leases are free.
        assert_eq!(
            try_acquire(&mut s, "l", "w2", UnixMillis(1500), 500),
            LeaseOutcome::Acquired
        );
        release(&mut s, "l", "w1"); // not the holder any more: no effect
        assert_eq!(
            try_acquire(&mut s, "l", "w3", UnixMillis(1600), 500),
            LeaseOutcome::HeldByOther
        );
        release(&mut s, "l", "w2");
        assert_eq!(
            try_acquire(&mut s, "l", "w3", UnixMillis(1600), 500),
            LeaseOutcome::Acquired
        );
    }

    #[test]
    fn stale_cas_loses() {
        // w2 read the free lease, then w1 swapped it: w2's swap must fail.
        let mut s = MemoryStore::default();
        release(&mut s, "l", "nobody");
        s.set("l", br#"{"owner":"","until":0}"#, 0).unwrap();
        let (_, stale) = s.get("l").unwrap();
        assert_eq!(
            try_acquire(&mut s, "l", "w1", UnixMillis(0), 100),
            LeaseOutcome::Acquired
        );
        assert_eq!(s.set("l", b"x", stale), Err(CasMismatch));
    }
}
