//! Content decryption (RFC 7518 §5): AES-GCM, and AES-CBC with
//! HMAC-SHA-2 (§5.2), whose tag is checked in constant time before any
//! padding is looked at.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce, Tag};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::Enc;

/// What the CEK decrypts: the parts of the token, and the AAD.
pub(super) struct Input<'a> {
    pub enc: Enc,
    /// ASCII(BASE64URL(protected header)).
    pub aad: &'a [u8],
    pub iv: &'a [u8],
    pub ciphertext: &'a [u8],
    pub tag: &'a [u8],
}

/// The plaintext, or None on any failure (one outcome, no oracle).
pub(super) fn decrypt(input: &Input<'_>, cek: &[u8]) -> Option<Vec<u8>> {
    match input.enc {
        Enc::A128Gcm => gcm(Aes128Gcm::new_from_slice(cek).ok()?, input),
        Enc::A256Gcm => gcm(Aes256Gcm::new_from_slice(cek).ok()?, input),
        Enc::A128CbcHs256 => {
            let enc_key = cbc_hs_key::<Hmac<Sha256>>(cek, input)?;
            cbc::Decryptor::<aes::Aes128>::new_from_slices(enc_key, input.iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(input.ciphertext)
                .ok()
        }
        Enc::A256CbcHs512 => {
            let enc_key = cbc_hs_key::<Hmac<Sha512>>(cek, input)?;
            cbc::Decryptor::<aes::Aes256>::new_from_slices(enc_key, input.iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(input.ciphertext)
                .ok()
        }
    }
}

fn gcm<A: AeadInPlace>(cipher: A, input: &Input<'_>) -> Option<Vec<u8>> {
    let nonce = Nonce::<A::NonceSize>::from_exact_iter(input.iv.iter().copied())?;
    let tag = Tag::<A::TagSize>::from_exact_iter(input.tag.iter().copied())?;
    let mut buf = input.ciphertext.to_vec();
    cipher
        .decrypt_in_place_detached(&nonce, input.aad, &mut buf, &tag)
        .ok()?;
    Some(buf)
}

/// RFC 7518 §5.2.2.2: check the tag (the first half of
/// HMAC(MAC_KEY, A || IV || E || AL)), then hand back ENC_KEY, the second
/// half of the CEK.
fn cbc_hs_key<'k, M: Mac + KeyInit>(cek: &'k [u8], input: &Input<'_>) -> Option<&'k [u8]> {
    let (mac_key, enc_key) = cek.split_at_checked(cek.len() / 2)?;
    let al = u64::try_from(input.aad.len()).ok()?.checked_mul(8)?;
    let mut mac = <M as Mac>::new_from_slice(mac_key).ok()?;
    mac.update(input.aad);
    mac.update(input.iv);
    mac.update(input.ciphertext);
    mac.update(&al.to_be_bytes());
    let full = mac.finalize().into_bytes();
    let expected = full.get(..mac_key.len())?;
    // Slices of different lengths compare unequal (a short tag is no match).
    bool::from(expected.ct_eq(input.tag)).then_some(enc_key)
}
