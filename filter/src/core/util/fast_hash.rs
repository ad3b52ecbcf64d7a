//! Fast, non-cryptographic hashing for the per-request maps.
//!
//! - [`word_hash`]: a seeded 64-bit hash of a byte string, eight bytes per
//!   step (the worker's verified-token cache keys ~1 KB tokens with it; std's
//!   SipHash-1-3 goes through a byte-oriented buffer and costs several times
//!   more in wasm). The cache only ever holds verified tokens, so no client
//!   can fill it with colliding keys; a lookup compares the whole token.
//! - [`IdHasher`]: for maps keyed by the host's context ids and callout
//!   tokens (small integers the host hands out, never client input).

use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A seeded 64-bit hash of `bytes`.
pub fn word_hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = mix(seed ^ (bytes.len() as u64).wrapping_mul(K));
    // Slice patterns: plain loads (a `copy_from_slice` per word is a call
    // at opt-level z).
    let mut rest = bytes;
    while let [a, b, c, d, e, f, g, i, tail @ ..] = rest {
        let w = u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *i]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
        rest = tail;
    }
    let mut last = 0u64;
    for (n, b) in rest.iter().enumerate() {
        last |= u64::from(*b) << (8 * n);
    }
    mix(h ^ last)
}

/// Whether two byte strings are equal, compared eight bytes at a time
/// (the module's `memcmp` goes byte by byte).
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a, b);
    while let (
        [a0, a1, a2, a3, a4, a5, a6, a7, xs @ ..],
        [b0, b1, b2, b3, b4, b5, b6, b7, ys @ ..],
    ) = (x, y)
    {
        let p = u64::from_le_bytes([*a0, *a1, *a2, *a3, *a4, *a5, *a6, *a7]);
        let q = u64::from_le_bytes([*b0, *b1, *b2, *b3, *b4, *b5, *b6, *b7]);
        if p != q {
            return false;
        }
        x = xs;
        y = ys;
    }
    x == y
}

/// Hasher for maps keyed by host-issued integer ids.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        mix(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = word_hash(self.0, bytes);
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(K);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(K);
    }
}

/// `HashMap<u32, V, IdHash>`: a map keyed by host-issued ids.
pub type IdHash = BuildHasherDefault<IdHasher>;

/// Hasher for maps whose keys are already [`word_hash`] values.
#[derive(Debug, Default, Clone, Copy)]
pub struct HashedHasher(u64);

impl Hasher for HashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = word_hash(self.0, bytes);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `HashMap<u64, V, Hashed>`: keys are [`word_hash`] values, used as they are.
pub type Hashed = BuildHasherDefault<HashedHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_inputs_equal_hashes_and_any_change_shows() {
        let t = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        assert_eq!(word_hash(7, t), word_hash(7, t));
        assert_ne!(word_hash(7, t), word_hash(8, t), "seeded");
        for i in 0..t.len() {
            let mut u = t.to_vec();
            u[i] ^= 1;
            assert_ne!(word_hash(7, t), word_hash(7, &u), "byte {i}");
            assert!(!same_bytes(t, &u));
        }
        assert_ne!(word_hash(7, b"a"), word_hash(7, b"a\0"), "length counts");
        assert_eq!(word_hash(7, b""), word_hash(7, b""));
    }

    #[test]
    fn same_bytes_is_equality() {
        for (a, b) in [
            (&b""[..], &b""[..]),
            (b"abcdefgh", b"abcdefgh"),
            (b"abcdefghi", b"abcdefghi"),
            (b"abcdefgh", b"abcdefgi"),
            (b"abcdefghij", b"abcdefghik"),
            (b"abc", b"abcd"),
        ] {
            assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
        }
    }
}
