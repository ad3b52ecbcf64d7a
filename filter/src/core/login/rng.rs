//! The login flow's randomness: `state`, `nonce`, PKCE verifiers, AES-GCM
//! nonces. A PRF stream (HMAC-SHA256 over a counter) keyed by 32 bytes the
//! adapter draws from the host once per worker; nothing ambient.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A deterministic random stream from a secret seed.
pub struct Rng {
    key: [u8; 32],
    counter: u64,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(<seeded>)")
    }
}

impl Rng {
    /// A stream keyed by `seed`.
    pub fn new(seed: [u8; 32]) -> Rng {
        Rng {
            key: seed,
            counter: 0,
        }
    }

    /// Fill `out` with the next bytes of the stream.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            self.counter = self.counter.wrapping_add(1);
            let block = match Hmac::<Sha256>::new_from_slice(&self.key) {
                Ok(mut m) => {
                    m.update(&self.counter.to_be_bytes());
                    m.finalize().into_bytes()
                }
                // HMAC takes keys of any length: unreachable, but never panic.
                Err(_) => Default::default(),
            };
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    /// `n` random bytes as unpadded base64url (`state`, `nonce`, PKCE
    /// verifier: 32 bytes give 43 characters, RFC 7636 §4.1).
    pub fn token(&mut self, n: usize) -> String {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let mut b = vec![0u8; n];
        self.fill(&mut b);
        URL_SAFE_NO_PAD.encode(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_never_repeats_and_depends_on_the_seed() {
        let mut a = Rng::new([1; 32]);
        let mut b = Rng::new([2; 32]);
        let (x, y) = (a.token(32), a.token(32));
        assert_ne!(x, y);
        assert_eq!(x.len(), 43);
        assert_ne!(x, b.token(32));
        let mut odd = [0u8; 45];
        a.fill(&mut odd);
        assert!(odd.iter().any(|b| *b != 0));
    }
}
