//! Requests held by one worker, each with what it waits for.
//!
//! A paused request says what it waits for ([`WaitFor`]); the core says what
//! has arrived ([`crate::core::Outbox::ready`]). The adapter asks
//! [`Held::woken`] which held requests to evaluate again, so an answer
//! wakes only the requests that wait for it, not every held request.
//! A tick wakes them all: what another worker fetched reaches this worker
//! through shared data, which only a re-evaluation reads, and a hold that
//! runs past its budget is answered then.

use std::collections::BTreeMap;

use super::util::time::UnixMillis;

/// What a paused request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WaitFor {
    /// The key set of provider `n` (first fetch, refresh or unknown-kid
    /// refetch).
    Keys(usize),
    /// The introspection answer for the token with this SHA-256.
    Introspection([u8; 32]),
    /// A token of the gateway's own from client token source `n`.
    Token(usize),
    /// The answer of browser-login call `n` (code exchange, refresh,
    /// revocation).
    Login(u64),
    /// The token service's grant for this cache key (subject, token type,
    /// `AppliesTo`): this worker's callout or another's.
    Sts([u8; 32]),
}

/// One held request: when it was first held and what it waits for, with
/// the request itself `R` (kept by the adapter so that evaluating it again
/// reads nothing from the host).
#[derive(Debug)]
pub struct HeldRequest<R> {
    /// When it was first held.
    pub since: UnixMillis,
    /// What it waits for now.
    pub wait: WaitFor,
    /// The adapter's copy of the request.
    pub request: R,
}

/// The held requests of one worker, by context id.
#[derive(Debug)]
pub struct Held<R> {
    by_context: BTreeMap<u32, HeldRequest<R>>,
}

impl<R> Default for Held<R> {
    fn default() -> Self {
        Held {
            by_context: BTreeMap::new(),
        }
    }
}

impl<R> Held<R> {
    /// Holds (or keeps holding) `context`, now waiting for `wait`. The first
    /// `since` is kept.
    pub fn hold(&mut self, context: u32, since: UnixMillis, wait: WaitFor, request: R) {
        let since = self.by_context.get(&context).map_or(since, |h| h.since);
        self.by_context.insert(
            context,
            HeldRequest {
                since,
                wait,
                request,
            },
        );
    }

    /// Stops holding `context` (answered, forwarded or gone).
    pub fn release(&mut self, context: u32) -> Option<HeldRequest<R>> {
        self.by_context.remove(&context)
    }

    /// The held request of `context`, if any.
    pub fn get(&self, context: u32) -> Option<&HeldRequest<R>> {
        self.by_context.get(&context)
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.by_context.is_empty()
    }

    /// Number of held requests.
    pub fn len(&self) -> usize {
        self.by_context.len()
    }

    /// The contexts waiting for anything in `ready`, in context order.
    pub fn woken(&self, ready: &[WaitFor]) -> Vec<u32> {
        if ready.is_empty() {
            return Vec::new();
        }
        self.by_context
            .iter()
            .filter(|(_, h)| ready.contains(&h.wait))
            .map(|(c, _)| *c)
            .collect()
    }

    /// Every held context (a tick).
    pub fn all(&self) -> Vec<u32> {
        self.by_context.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_answer_wakes_only_its_waiters() {
        let mut held = Held::default();
        for i in 0..100u32 {
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            held.hold(i, UnixMillis(1), WaitFor::Introspection(digest), ());
        }
        let mut one = [0u8; 32];
        one[..4].copy_from_slice(&42u32.to_be_bytes());
        assert_eq!(held.woken(&[WaitFor::Introspection(one)]), vec![42]);
        assert_eq!(held.woken(&[]), Vec::<u32>::new());
        assert_eq!(held.all().len(), 100);
    }

    #[test]
    fn the_first_hold_time_is_kept() {
        let mut held = Held::default();
        held.hold(7, UnixMillis(10), WaitFor::Keys(0), ());
        held.hold(7, UnixMillis(20), WaitFor::Token(1), ());
        let h = held.release(7).unwrap();
        assert_eq!((h.since, h.wait), (UnixMillis(10), WaitFor::Token(1)));
        assert!(held.is_empty());
    }
}
