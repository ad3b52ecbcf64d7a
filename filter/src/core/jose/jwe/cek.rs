//! Content encryption key recovery (RFC 7518 §4): RSA-OAEP, ECDH-ES with
//! the Concat KDF (§4.6.2), AES key wrap, direct keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand_core::CryptoRngCore;
use serde_json::Value;
use sha2::Sha256;

use super::header::Parsed;
use super::key::{DecryptionKey, KeyKind, Material};
use super::{JweError, KeyAlg};

/// An ECDH-ES ephemeral public key, checked to be on its curve.
pub(super) enum Epk {
    P256(p256::PublicKey),
    P384(p384::PublicKey),
}

impl Epk {
    /// The curve, as the key kind a recipient key must have.
    pub fn kind(&self) -> KeyKind {
        match self {
            Epk::P256(_) => KeyKind::P256,
            Epk::P384(_) => KeyKind::P384,
        }
    }

    /// Parse the `epk` header member: a public EC JWK on P-256 or P-384.
    /// `from_sec1_bytes` refuses points not on the curve and the identity.
    pub fn from_jwk(v: &Value) -> Result<Epk, JweError> {
        let o = v.as_object().ok_or(JweError::BadEpk)?;
        let member = |name: &str| {
            o.get(name)
                .and_then(Value::as_str)
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .ok_or(JweError::BadEpk)
        };
        if o.get("kty").and_then(Value::as_str) != Some("EC") || o.contains_key("d") {
            return Err(JweError::BadEpk);
        }
        let crv = o.get("crv").and_then(Value::as_str);
        let len = match crv {
            Some("P-256") => 32,
            Some("P-384") => 48,
            _ => return Err(JweError::BadEpk),
        };
        let (x, y) = (member("x")?, member("y")?);
        if x.len() != len || y.len() != len {
            return Err(JweError::BadEpk);
        }
        let mut sec1 = Vec::with_capacity(1 + 2 * len);
        sec1.push(4u8);
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        if len == 32 {
            p256::PublicKey::from_sec1_bytes(&sec1)
                .map(Epk::P256)
                .map_err(|_| JweError::BadEpk)
        } else {
            p384::PublicKey::from_sec1_bytes(&sec1)
                .map(Epk::P384)
                .map_err(|_| JweError::BadEpk)
        }
    }
}

/// The CEK for this key, or None if it cannot be recovered (wrong key,
/// corrupt encrypted key: all the same to the caller).
pub(super) fn recover(
    key: &DecryptionKey,
    parsed: &Parsed,
    encrypted_key: &[u8],
    rng: &mut dyn CryptoRngCore,
) -> Option<Vec<u8>> {
    let (alg, enc) = (parsed.header.alg, parsed.header.enc);
    let cek = match (alg, &key.material) {
        (KeyAlg::RsaOaep, Material::Rsa(k)) => {
            let oaep = rsa::Oaep::new::<sha1::Sha1>();
            k.decrypt_blinded(&mut &mut *rng, oaep, encrypted_key)
                .ok()?
        }
        (KeyAlg::RsaOaep256, Material::Rsa(k)) => {
            let oaep = rsa::Oaep::new::<Sha256>();
            k.decrypt_blinded(&mut &mut *rng, oaep, encrypted_key)
                .ok()?
        }
        (KeyAlg::A128Kw | KeyAlg::A256Kw, Material::Oct(kek)) => {
            unwrap(kek, encrypted_key, enc.key_len())?
        }
        (KeyAlg::Dir, Material::Oct(k)) => k.clone(),
        (KeyAlg::EcdhEs | KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw, m) => {
            let (id, len) = match alg {
                KeyAlg::EcdhEsA128Kw => (alg.name(), 16),
                KeyAlg::EcdhEsA256Kw => (alg.name(), 32),
                _ => (enc.name(), enc.key_len()),
            };
            let z = agree(m, parsed.epk.as_ref()?)?;
            let derived = concat_kdf(&z, id, &parsed.apu, &parsed.apv, len)?;
            if alg == KeyAlg::EcdhEs {
                derived
            } else {
                unwrap(&derived, encrypted_key, enc.key_len())?
            }
        }
        _ => return None,
    };
    (cek.len() == enc.key_len()).then_some(cek)
}

/// The raw ECDH shared secret (the x coordinate).
fn agree(m: &Material, epk: &Epk) -> Option<Vec<u8>> {
    match (m, epk) {
        (Material::P256(d), Epk::P256(q)) => Some(
            p256::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine())
                .raw_secret_bytes()
                .to_vec(),
        ),
        (Material::P384(d), Epk::P384(q)) => Some(
            p384::ecdh::diffie_hellman(d.to_nonzero_scalar(), q.as_affine())
                .raw_secret_bytes()
                .to_vec(),
        ),
        _ => None,
    }
}

fn len_prefixed(out: &mut Vec<u8>, data: &[u8]) -> Option<()> {
    out.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
    out.extend_from_slice(data);
    Some(())
}

/// RFC 7518 §4.6.2: Concat KDF with SHA-256; OtherInfo is AlgorithmID ||
/// PartyUInfo || PartyVInfo || SuppPubInfo (key length in bits).
fn concat_kdf(z: &[u8], alg_id: &str, apu: &[u8], apv: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut info = Vec::with_capacity(16 + alg_id.len() + apu.len() + apv.len());
    len_prefixed(&mut info, alg_id.as_bytes())?;
    len_prefixed(&mut info, apu)?;
    len_prefixed(&mut info, apv)?;
    let bits = u32::try_from(len).ok()?.checked_mul(8)?;
    info.extend_from_slice(&bits.to_be_bytes());
    let mut key = vec![0u8; len];
    concat_kdf::derive_key_into::<Sha256>(z, &info, &mut key).ok()?;
    Some(key)
}

/// RFC 3394 key unwrap of a `cek_len`-byte key with a 16- or 32-byte KEK.
fn unwrap(kek: &[u8], wrapped: &[u8], cek_len: usize) -> Option<Vec<u8>> {
    if wrapped.len() != cek_len.checked_add(8)? {
        return None;
    }
    let mut cek = vec![0u8; cek_len];
    match kek.len() {
        16 => aes_kw::KekAes128::try_from(kek)
            .ok()?
            .unwrap(wrapped, &mut cek),
        32 => aes_kw::KekAes256::try_from(kek)
            .ok()?
            .unwrap(wrapped, &mut cek),
        _ => return None,
    }
    .ok()?;
    Some(cek)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7518_appendix_c_kdf() {
        // RFC 7518 Appendix C: ECDH-ES with A128GCM, apu "Alice", apv "Bob".
        let z = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let key = concat_kdf(&z, "A128GCM", b"Alice", b"Bob", 16).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(key), "VqqN6vgjbSBcIijNcacQGg");
    }

    #[test]
    fn epk_must_be_a_curve_point() {
        let g = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
            "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
        });
        assert!(Epk::from_jwk(&g).is_ok());
        let mut off = g.clone();
        off["y"] = serde_json::json!("SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFppw");
        assert!(matches!(Epk::from_jwk(&off), Err(JweError::BadEpk)));
        let mut private = g.clone();
        private["d"] = serde_json::json!("AA");
        assert!(matches!(Epk::from_jwk(&private), Err(JweError::BadEpk)));
        let mut curve = g;
        curve["crv"] = serde_json::json!("P-384");
        assert!(matches!(Epk::from_jwk(&curve), Err(JweError::BadEpk)));
    }
}
