//! What the cookies hold, sealed ([`super::seal`]): the session after a
//! login, and the login transaction between the redirect to the
//! authorization server and the callback. Stateless: any proxy of a fleet
//! with the same keys reads them.

use serde::{Deserialize, Serialize};

use super::rng::Rng;
use super::seal::{open, seal};
use crate::core::config::login::SessionKey;
use crate::core::util::time::UnixMillis;

/// A logged-in browser. `Debug` never prints the tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Registration name.
    pub reg: String,
    /// Random session id (single-flight of refreshes, logs as a hash).
    pub sid: String,
    /// Access token.
    pub at: String,
    /// When the access token expires, ms (0: unknown).
    pub at_exp: u64,
    /// Refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt: Option<String>,
    /// The ID token (claims for the upstream, `id_token_hint` at logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub it: Option<String>,
    /// Login time, ms.
    pub created: u64,
    /// Last use, ms (idle timeout).
    pub seen: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("reg", &self.reg)
            .field("at_exp", &self.at_exp)
            .field("created", &self.created)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// A login under way: what the callback must match. `Debug` prints the
/// registration and `goto` only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// `state` sent to the authorization server.
    pub state: String,
    /// `nonce` the ID token must carry.
    pub nonce: String,
    /// PKCE `code_verifier`.
    pub verifier: String,
    /// Where the browser goes after login.
    pub goto: String,
    /// Registration name.
    pub reg: String,
    /// When the login started, ms.
    pub created: u64,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("reg", &self.reg)
            .field("goto", &self.goto)
            .finish_non_exhaustive()
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Unused longer than the idle timeout.
    Idle,
    /// Older than the absolute lifetime.
    Absolute,
}

impl Session {
    /// Whether the session may still serve at `now`.
    pub fn check(&self, now: UnixMillis, idle_ms: u64, max_ms: u64) -> Result<(), Expired> {
        if now.0.saturating_sub(self.created) >= max_ms {
            return Err(Expired::Absolute);
        }
        if now.0.saturating_sub(self.seen) >= idle_ms {
            return Err(Expired::Idle);
        }
        Ok(())
    }
}

/// Seal `v` for cookie `name`.
pub fn seal_json<T: Serialize>(
    keys: &[SessionKey],
    name: &str,
    v: &T,
    rng: &mut Rng,
) -> Option<String> {
    let plain = serde_json::to_vec(v).ok()?;
    seal(keys, name, &plain, rng)
}

/// Open a value sealed by [`seal_json`]; `None` for anything that is not
/// one (tampered, truncated, foreign key, other cookie, old format).
pub fn open_json<T: for<'de> Deserialize<'de>>(
    keys: &[SessionKey],
    name: &str,
    sealed: &str,
) -> Option<T> {
    let plain = open(keys, name, sealed).ok()?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            reg: "as".into(),
            sid: "sid".into(),
            at: "token".into(),
            at_exp: 10_000,
            rt: None,
            it: None,
            created: 1_000,
            seen: 5_000,
        }
    }

    #[test]
    fn lifetimes() {
        let s = session();
        assert_eq!(s.check(UnixMillis(5_500), 1_000, 100_000), Ok(()));
        assert_eq!(
            s.check(UnixMillis(6_000), 1_000, 100_000),
            Err(Expired::Idle)
        );
        assert_eq!(
            s.check(UnixMillis(5_500), 1_000, 4_500),
            Err(Expired::Absolute)
        );
    }

    #[test]
    fn round_trip_and_redaction() {
        let keys = [SessionKey {
            id: [1; 4],
            key: [3; 32],
        }];
        let mut rng = Rng::new([0; 32]);
        let sealed = seal_json(&keys, "c", &session(), &mut rng).unwrap();
        assert_eq!(open_json::<Session>(&keys, "c", &sealed), Some(session()));
        assert_eq!(open_json::<Transaction>(&keys, "c", &sealed), None);
        assert!(!format!("{:?}", session()).contains("token"));
    }
}
