//! Lowercase hex for digests, shared-data key ids and worker ids: the one
//! encoder of the project, [`abi_wire::hex::lower`] (the host writes the
//! certificate digest property with it too).

pub use abi_wire::hex::lower as hex;
pub use abi_wire::hex::push_lower as push_hex;

/// Hex of the first `n` bytes of SHA-256(`text`): a short, stable id for
/// shared-data keys (what makes two records interchangeable).
pub fn sha256_id(text: &str, n: usize) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(text.as_bytes())[..n])
}

#[cfg(test)]
mod tests {
    #[test]
    fn lowercase_two_digits_per_byte() {
        assert_eq!(super::hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(super::hex(&[]), "");
    }
}
