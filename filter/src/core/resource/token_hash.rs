//! The caller's token's SHA-256, made only when something needs it: the
//! introspection cache (shared data is keyed by it), the audit line's and
//! the logs' `token_hash`. A token found in the worker's verified-token
//! cache brings the digest it was stored with, so the cached path hashes
//! nothing (SHA-256 of a ~1 KB token is a third of the filter's own work
//! per request in wasm).

use std::cell::OnceCell;

use sha2::{Digest, Sha256};

/// A token and, once asked for, its SHA-256. `Debug` leaves the token out.
pub struct TokenHash<'t> {
    token: &'t str,
    digest: OnceCell<[u8; 32]>,
}

impl std::fmt::Debug for TokenHash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenHash")
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .field("digest_made", &self.digest.get().is_some())
            .finish()
    }
}

impl<'t> TokenHash<'t> {
    /// The token; nothing is hashed yet.
    pub fn new(token: &'t str) -> TokenHash<'t> {
        TokenHash {
            token,
            digest: OnceCell::new(),
        }
    }

    /// The token.
    pub fn token(&self) -> &'t str {
        self.token
    }

    /// SHA-256 of the token (made on the first call).
    pub fn get(&self) -> &[u8; 32] {
        self.digest
            .get_or_init(|| Sha256::digest(self.token.as_bytes()).into())
    }

    /// The digest if it was made or given already.
    pub fn known(&self) -> Option<[u8; 32]> {
        self.digest.get().copied()
    }

    /// The digest, known from elsewhere (a cache entry made from this
    /// token's own [`TokenHash::get`]).
    pub fn give(&self, digest: [u8; 32]) {
        // Already made: the same bytes.
        let _ = self.digest.set(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_once_and_only_when_asked() {
        let h = TokenHash::new("abc");
        assert_eq!(h.known(), None);
        let d = *h.get();
        // FIPS 180-2 appendix B.1.
        assert_eq!(
            crate::core::util::hex::hex(&d),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.known(), Some(d));
        assert!(
            !format!("{h:?}").contains("abc"),
            "Debug leaves the token out"
        );
        let given = TokenHash::new("abc");
        given.give(d);
        assert_eq!(given.known(), Some(d));
    }
}
