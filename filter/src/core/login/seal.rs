//! Sealed values (session and login-transaction cookies): AES-256-GCM with
//! the first configured key, opened with any of them (rotation). The cookie
//! name is the associated data, so a value cannot be moved to another
//! cookie. Layout, base64url: key id (4) ‖ nonce (12) ‖ ciphertext ‖ tag.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::rng::Rng;
use crate::core::config::login::SessionKey;

/// Why a sealed value did not open: all the same to the caller (no session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not base64url, or too short.
    Malformed,
    /// No configured key has its id.
    UnknownKey,
    /// Authentication failed (tampered, truncated, another cookie's value).
    Forged,
}

/// Seal `plain` for cookie `name` with `keys[0]`.
pub fn seal(keys: &[SessionKey], name: &str, plain: &[u8], rng: &mut Rng) -> Option<String> {
    let k = keys.first()?;
    let cipher = Aes256Gcm::new_from_slice(&k.key).ok()?;
    let mut nonce = [0u8; 12];
    rng.fill(&mut nonce);
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: name.as_bytes(),
            },
        )
        .ok()?;
    let mut out = Vec::with_capacity(16 + ct.len());
    out.extend_from_slice(&k.id);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// Open a value sealed for cookie `name` by [`seal`] under any of `keys`.
pub fn open(keys: &[SessionKey], name: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
    let raw = URL_SAFE_NO_PAD
        .decode(sealed.as_bytes())
        .map_err(|_| OpenError::Malformed)?;
    if raw.len() < 4 + 12 + 16 {
        return Err(OpenError::Malformed);
    }
    let (id, rest) = raw.split_at(4);
    let (nonce, ct) = rest.split_at(12);
    let k = keys
        .iter()
        .find(|k| k.id == id)
        .ok_or(OpenError::UnknownKey)?;
    let cipher = Aes256Gcm::new_from_slice(&k.key).map_err(|_| OpenError::Forged)?;
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| OpenError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SessionKey {
        SessionKey {
            id: [b; 4],
            key: [b; 32],
        }
    }

    #[test]
    fn sealed_values_open_under_any_listed_key_and_nothing_else() {
        let mut rng = Rng::new([7; 32]);
        let old = [key(1)];
        let sealed = seal(&old, "s", b"hello", &mut rng).unwrap();
        // Rotation: a new first key, the old one kept for opening.
        let rotated = [key(2), key(1)];
        assert_eq!(open(&rotated, "s", &sealed).unwrap(), b"hello");
        assert_eq!(open(&[key(2)], "s", &sealed), Err(OpenError::UnknownKey));
        // Another cookie's value.
        assert_eq!(open(&old, "t", &sealed), Err(OpenError::Forged));
        // Every single-character change and every truncation fails.
        for i in 0..sealed.len() {
            let mut b = sealed.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let s = String::from_utf8(b).unwrap();
            if s != sealed {
                assert!(open(&old, "s", &s).is_err(), "changed at {i}");
            }
            assert!(open(&old, "s", &sealed[..i]).is_err(), "cut at {i}");
        }
        // A key with the right id but other bytes.
        let forged = [SessionKey {
            id: [1; 4],
            key: [9; 32],
        }];
        assert_eq!(open(&forged, "s", &sealed), Err(OpenError::Forged));
        assert_eq!(open(&old, "s", "%%%"), Err(OpenError::Malformed));
    }
}
