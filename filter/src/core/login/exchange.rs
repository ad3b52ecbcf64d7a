//! The login's calls to the authorization server (code exchange, refresh,
//! revocation) and the per-worker table of those under way: one call per
//! key (a login's `state`, a session's refresh, a logout), shared by every
//! request that needs it (single flight), its answer kept a short while so
//! that the requests woken by it all read it.

use std::collections::HashMap;

use crate::core::callout::{Callout, CalloutId, CalloutResponse};
use crate::core::client::answer::{parse_token_answer, TokenAnswer, TokenFailure};
use crate::core::config::login::{CalloutTarget, Registration};
use crate::core::util::time::UnixMillis;

/// Timeout of each call.
pub const TIMEOUT_MS: u64 = 10_000;
/// How long an answer stays for the requests it woke.
pub const KEEP_MS: u64 = 30_000;
/// Most calls under way or answered per worker (more: 503).
pub const MAX_PENDING: usize = 4096;

/// What a call is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// The code exchange of the login with this `state`.
    Code(String),
    /// The refresh of the session with this id.
    Refresh(String),
    /// The token revocation of a logout of this session id.
    Revoke(String),
}

/// A call's answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A token endpoint's answer.
    Tokens(Result<TokenAnswer, TokenFailure>),
    /// The revocation endpoint answered (or not: logout goes on).
    Revoked(bool),
}

#[derive(Debug)]
enum Entry {
    InFlight {
        seq: u64,
        since: UnixMillis,
    },
    Done {
        seq: u64,
        at: UnixMillis,
        answer: Answer,
    },
}

/// Where a key stands.
#[derive(Debug, Clone)]
pub enum Status {
    /// No call yet.
    None,
    /// Under way: wait for `WaitFor::Login(seq)`.
    InFlight(u64),
    /// Answered.
    Done(Answer),
}

/// The calls of one worker.
#[derive(Debug, Default)]
pub struct Exchanges {
    next: u64,
    by_key: HashMap<Key, Entry>,
    by_seq: HashMap<u64, Key>,
}

impl Exchanges {
    /// Where `key` stands.
    pub fn status(&self, key: &Key) -> Status {
        match self.by_key.get(key) {
            None => Status::None,
            Some(Entry::InFlight { seq, .. }) => Status::InFlight(*seq),
            Some(Entry::Done { answer, .. }) => Status::Done(answer.clone()),
        }
    }

    /// Forget `key` (its answer was used once and must not be again).
    pub fn take(&mut self, key: &Key) {
        if let Some(Entry::InFlight { seq, .. } | Entry::Done { seq, .. }) = self.by_key.remove(key)
        {
            self.by_seq.remove(&seq);
        }
    }

    /// Start a call for `key`: its sequence number, or `None` when the
    /// table is full.
    pub fn start(&mut self, key: Key, now: UnixMillis) -> Option<u64> {
        if self.by_key.len() >= MAX_PENDING {
            return None;
        }
        self.next += 1;
        let seq = self.next;
        self.by_seq.insert(seq, key.clone());
        self.by_key.insert(key, Entry::InFlight { seq, since: now });
        Some(seq)
    }

    /// The answer of call `seq` arrived: whether anybody waited for it.
    pub fn finish(&mut self, seq: u64, answer: Answer, now: UnixMillis) -> bool {
        let Some(key) = self.by_seq.get(&seq) else {
            return false;
        };
        match self.by_key.get_mut(key) {
            Some(e @ Entry::InFlight { .. }) => {
                *e = Entry::Done {
                    seq,
                    at: now,
                    answer,
                };
                true
            }
            _ => false,
        }
    }

    /// Drop answers older than [`KEEP_MS`] and calls older than twice the
    /// timeout (never answered).
    pub fn expire(&mut self, now: UnixMillis) {
        let by_seq = &mut self.by_seq;
        self.by_key.retain(|_, e| {
            let (keep, seq) = match e {
                Entry::InFlight { seq, since } => (now.since(*since) < 2 * TIMEOUT_MS, *seq),
                Entry::Done { seq, at, .. } => (now.since(*at) < KEEP_MS, *seq),
            };
            if !keep {
                by_seq.remove(&seq);
            }
            keep
        });
    }

    /// The key of call `seq`, if it is still known.
    pub fn key_of(&self, seq: u64) -> Option<&Key> {
        self.by_seq.get(&seq)
    }

    /// Number of entries (tests).
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A token or revocation request to `target` with the registration's client
/// authentication.
pub fn post(
    reg: &Registration,
    target: &CalloutTarget,
    seq: u64,
    mut form: Vec<(String, String)>,
    now: UnixMillis,
    jti: &str,
) -> Callout {
    let parts = reg.auth.parts(&target.text, now, jti);
    form.extend(parts.form);
    Callout::form_post(
        CalloutId::Login(seq),
        target.cluster.clone(),
        target.uri.clone(),
        TIMEOUT_MS,
        &form,
        parts.headers,
    )
}

/// The answer of a token call.
pub fn token_answer(resp: CalloutResponse<'_>) -> Answer {
    Answer::Tokens(parse_token_answer(resp))
}

/// The answer of a revocation call (RFC 7009 §2.2: 200 whatever the token).
pub fn revocation_answer(resp: CalloutResponse<'_>) -> Answer {
    Answer::Revoked(resp.status == Some(200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_call_per_key_and_answers_expire() {
        let mut x = Exchanges::default();
        let k = Key::Refresh("s".into());
        assert!(matches!(x.status(&k), Status::None));
        let seq = x.start(k.clone(), UnixMillis(0)).unwrap();
        assert!(matches!(x.status(&k), Status::InFlight(s) if s == seq));
        assert!(x.finish(seq, Answer::Revoked(true), UnixMillis(5)));
        assert!(!x.finish(seq, Answer::Revoked(true), UnixMillis(6)));
        assert!(matches!(x.status(&k), Status::Done(Answer::Revoked(true))));
        x.expire(UnixMillis(5 + KEEP_MS - 1));
        assert_eq!(x.len(), 1);
        x.expire(UnixMillis(5 + KEEP_MS));
        assert!(x.is_empty());
        let seq = x.start(k.clone(), UnixMillis(0)).unwrap();
        x.take(&k);
        assert!(!x.finish(seq, Answer::Revoked(true), UnixMillis(1)));
    }
}
