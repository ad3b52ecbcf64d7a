//! JWE compact decryption (RFC 7516 §7.1, algorithms of RFC 7518 §4 and §5).
//!
//! One entry point, [`decrypt`]: a compact token, the configured
//! [`DecryptionKey`]s, the allowed `alg` and `enc` sets and a random
//! generator (RSA blinding; the core has no randomness of its own). It gives
//! back the plaintext and the protected header. A nested JWT (`cty: JWT`,
//! see [`is_nested_jwt`]) still has to go through [`super::jws`] and
//! signature verification: this module only decrypts.
//!
//! Every failure after the header is accepted and a key is found (key
//! unwrap, tag, padding, wrong key) is the single [`JweError::Decrypt`], and
//! a failed key unwrap still runs the content decryption (with a dummy key,
//! RFC 7516 §11.5), so neither the reason nor the timing tells them apart.
//!
//! `header.rs` parses the protected header, `key.rs` the private JWKs,
//! `cek.rs` recovers the content encryption key, `content.rs` decrypts.

mod cek;
mod content;
mod header;
mod key;

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub use header::Header;
pub use key::{DecryptionKey, KeyError, KeyKind};
/// The random generator [`decrypt`] takes (re-exported for callers).
pub use rand_core::CryptoRngCore;

/// Largest accepted token (all five parts and the dots), in bytes.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;
/// Largest accepted protected header part (base64url), in bytes.
pub const MAX_HEADER_LEN: usize = 8 * 1024;

/// A key management algorithm (`alg`, RFC 7518 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlg {
    /// RSAES-OAEP with SHA-1 and MGF1 with SHA-1.
    RsaOaep,
    /// RSAES-OAEP with SHA-256 and MGF1 with SHA-256.
    RsaOaep256,
    /// ECDH-ES, the derived key is the CEK.
    EcdhEs,
    /// ECDH-ES, the derived key wraps the CEK with AES-128 key wrap.
    EcdhEsA128Kw,
    /// ECDH-ES, the derived key wraps the CEK with AES-256 key wrap.
    EcdhEsA256Kw,
    /// AES-128 key wrap (RFC 3394).
    A128Kw,
    /// AES-256 key wrap (RFC 3394).
    A256Kw,
    /// The shared key is the CEK.
    Dir,
}

impl KeyAlg {
    /// Every supported key management algorithm.
    pub const ALL: [KeyAlg; 8] = [
        KeyAlg::RsaOaep,
        KeyAlg::RsaOaep256,
        KeyAlg::EcdhEs,
        KeyAlg::EcdhEsA128Kw,
        KeyAlg::EcdhEsA256Kw,
        KeyAlg::A128Kw,
        KeyAlg::A256Kw,
        KeyAlg::Dir,
    ];

    /// The JOSE name (`RSA-OAEP`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlg::RsaOaep => "RSA-OAEP",
            KeyAlg::RsaOaep256 => "RSA-OAEP-256",
            KeyAlg::EcdhEs => "ECDH-ES",
            KeyAlg::EcdhEsA128Kw => "ECDH-ES+A128KW",
            KeyAlg::EcdhEsA256Kw => "ECDH-ES+A256KW",
            KeyAlg::A128Kw => "A128KW",
            KeyAlg::A256Kw => "A256KW",
            KeyAlg::Dir => "dir",
        }
    }

    /// Look an algorithm up by its exact JOSE name.
    pub fn from_name(name: &str) -> Option<KeyAlg> {
        KeyAlg::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// The ECDH-ES family (needs `epk`).
    pub fn is_ecdh(self) -> bool {
        matches!(
            self,
            KeyAlg::EcdhEs | KeyAlg::EcdhEsA128Kw | KeyAlg::EcdhEsA256Kw
        )
    }

    /// Whether the token carries no encrypted key (RFC 7516 §5.1 step 5).
    fn direct(self) -> bool {
        matches!(self, KeyAlg::EcdhEs | KeyAlg::Dir)
    }
}

/// A content encryption algorithm (`enc`, RFC 7518 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enc {
    /// AES-128-GCM.
    A128Gcm,
    /// AES-256-GCM.
    A256Gcm,
    /// AES-128-CBC with HMAC-SHA-256 (RFC 7518 §5.2.3).
    A128CbcHs256,
    /// AES-256-CBC with HMAC-SHA-512 (RFC 7518 §5.2.5).
    A256CbcHs512,
}

impl Enc {
    /// Every supported content encryption algorithm.
    pub const ALL: [Enc; 4] = [
        Enc::A128Gcm,
        Enc::A256Gcm,
        Enc::A128CbcHs256,
        Enc::A256CbcHs512,
    ];

    /// The JOSE name (`A128GCM`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Enc::A128Gcm => "A128GCM",
            Enc::A256Gcm => "A256GCM",
            Enc::A128CbcHs256 => "A128CBC-HS256",
            Enc::A256CbcHs512 => "A256CBC-HS512",
        }
    }

    /// Look an algorithm up by its exact JOSE name.
    pub fn from_name(name: &str) -> Option<Enc> {
        Enc::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// CEK length in bytes (for CBC-HS: MAC key and encryption key).
    pub fn key_len(self) -> usize {
        match self {
            Enc::A128Gcm => 16,
            Enc::A256Gcm | Enc::A128CbcHs256 => 32,
            Enc::A256CbcHs512 => 64,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            Enc::A128Gcm | Enc::A256Gcm => 12,
            Enc::A128CbcHs256 | Enc::A256CbcHs512 => 16,
        }
    }

    fn tag_len(self) -> usize {
        match self {
            Enc::A128Gcm | Enc::A256Gcm | Enc::A128CbcHs256 => 16,
            Enc::A256CbcHs512 => 32,
        }
    }
}

/// Which part of a compact JWE was at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The protected header.
    Header,
    /// The encrypted key.
    EncryptedKey,
    /// The initialization vector.
    Iv,
    /// The ciphertext.
    Ciphertext,
    /// The authentication tag.
    Tag,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::EncryptedKey => "encrypted key",
            Part::Iv => "iv",
            Part::Ciphertext => "ciphertext",
            Part::Tag => "tag",
        }
    }
}

/// Why a token could not be decrypted. Never carries key material or
/// anything of the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JweError {
    /// Token or header larger than [`MAX_TOKEN_LEN`] / [`MAX_HEADER_LEN`].
    TooLarge,
    /// Not five dot-separated parts.
    NotCompact,
    /// A part is not unpadded, canonical base64url.
    Base64(Part),
    /// The header is not JSON, or not an object.
    Json,
    /// The header names a member twice.
    DuplicateMember,
    /// A header member is missing or has the wrong type (`alg`, `enc`,
    /// `kid`, `cty`, `typ`, `apu`, `apv`).
    BadHeaderMember(&'static str),
    /// An `alg` this module does not implement.
    UnsupportedAlg,
    /// An `enc` this module does not implement.
    UnsupportedEnc,
    /// A supported `alg` outside the allowed set.
    AlgNotAllowed,
    /// A supported `enc` outside the allowed set.
    EncNotAllowed,
    /// A non-empty `crit` (we understand no extension).
    UnknownCrit,
    /// `zip` is present (compressed plaintext is refused).
    Compressed,
    /// `epk` missing, malformed, on another curve or not a curve point.
    BadEpk,
    /// A part has the wrong length for `alg` / `enc`.
    BadLength(Part),
    /// No configured key fits the `kid`, `alg` and `enc`.
    NoKey,
    /// Decryption failed (key unwrap, tag, padding: deliberately one case).
    Decrypt,
}

impl JweError {
    /// Short machine-readable reason (logs, metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            JweError::TooLarge => "too_large",
            JweError::NotCompact | JweError::BadLength(_) => "malformed",
            JweError::Base64(_) => "malformed_base64url",
            JweError::Json => "malformed_json",
            JweError::DuplicateMember => "duplicate_member",
            JweError::BadHeaderMember(_) => "bad_header",
            JweError::UnsupportedAlg => "unsupported_alg",
            JweError::UnsupportedEnc => "unsupported_enc",
            JweError::AlgNotAllowed => "alg_not_allowed",
            JweError::EncNotAllowed => "enc_not_allowed",
            JweError::UnknownCrit => "unknown_crit",
            JweError::Compressed => "zip_unsupported",
            JweError::BadEpk => "bad_epk",
            JweError::NoKey => "no_key",
            JweError::Decrypt => "decrypt_failed",
        }
    }

    /// Human-readable description for `error_description`.
    pub fn describe(&self) -> String {
        match self {
            JweError::TooLarge => "token is too large".to_owned(),
            JweError::NotCompact => "token is not a compact JWE".to_owned(),
            JweError::Base64(p) => format!("{} is not base64url", p.name()),
            JweError::Json => "header is not a JSON object".to_owned(),
            JweError::DuplicateMember => "header has a duplicate member".to_owned(),
            JweError::BadHeaderMember(m) => format!("header member {m} is missing or invalid"),
            JweError::UnsupportedAlg => "unsupported alg".to_owned(),
            JweError::UnsupportedEnc => "unsupported enc".to_owned(),
            JweError::AlgNotAllowed => "alg not allowed".to_owned(),
            JweError::EncNotAllowed => "enc not allowed".to_owned(),
            JweError::UnknownCrit => "header has an unsupported crit extension".to_owned(),
            JweError::Compressed => "compressed (zip) tokens are not accepted".to_owned(),
            JweError::BadEpk => "invalid ephemeral public key".to_owned(),
            JweError::BadLength(p) => format!("{} has the wrong length", p.name()),
            JweError::NoKey => "no decryption key fits the token".to_owned(),
            JweError::Decrypt => "token could not be decrypted".to_owned(),
        }
    }
}

/// A decrypted token. `Debug` prints the header and the plaintext length,
/// never the plaintext (often itself a bearer token).
#[derive(Clone)]
pub struct Decrypted {
    /// The validated protected header.
    pub header: Header,
    /// The plaintext.
    pub plaintext: Vec<u8>,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("header", &self.header)
            .field(
                "plaintext",
                &format_args!("<{} bytes>", self.plaintext.len()),
            )
            .finish()
    }
}

/// Whether the plaintext is a nested JWT (`cty: JWT`, RFC 7519 §5.2; media
/// type names compare case-insensitively, `application/` may be present).
pub fn is_nested_jwt(header: &Header) -> bool {
    header
        .cty
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("JWT") || c.eq_ignore_ascii_case("application/jwt"))
}

fn b64(part: &str, which: Part) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JweError::Base64(which))
}

/// Decrypt a compact JWE with one of `keys` (only the one named by `kid` if
/// the header has one, else each key that fits in turn). `algs` and `encs`
/// are the allowed algorithms; `rng` blinds RSA decryption.
pub fn decrypt(
    token: &str,
    keys: &[DecryptionKey],
    algs: &[KeyAlg],
    encs: &[Enc],
    rng: &mut dyn CryptoRngCore,
) -> Result<Decrypted, JweError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JweError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(k), Some(i), Some(c), Some(t), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(JweError::NotCompact);
    };
    if h.len() > MAX_HEADER_LEN {
        return Err(JweError::TooLarge);
    }
    let parsed = header::parse(&b64(h, Part::Header)?, algs, encs)?;
    let (alg, enc) = (parsed.header.alg, parsed.header.enc);
    let encrypted_key = b64(k, Part::EncryptedKey)?;
    let iv = b64(i, Part::Iv)?;
    let ciphertext = b64(c, Part::Ciphertext)?;
    let tag = b64(t, Part::Tag)?;
    if alg.direct() != encrypted_key.is_empty() {
        return Err(JweError::BadLength(Part::EncryptedKey));
    }
    if iv.len() != enc.iv_len() {
        return Err(JweError::BadLength(Part::Iv));
    }
    if tag.len() != enc.tag_len() {
        return Err(JweError::BadLength(Part::Tag));
    }
    let kid = parsed.header.kid.as_deref();
    let curve = parsed.epk.as_ref().map(cek::Epk::kind);
    let mut candidates = keys
        .iter()
        .filter(|key| kid.is_none_or(|kid| key.kid.as_deref() == Some(kid)))
        .filter(|key| key.fits(alg, enc, curve))
        .peekable();
    if candidates.peek().is_none() {
        return Err(JweError::NoKey);
    }
    // The AAD is the protected header part as sent (RFC 7516 §5.1 step 14).
    let aad = h.as_bytes();
    let input = content::Input {
        enc,
        aad,
        iv: &iv,
        ciphertext: &ciphertext,
        tag: &tag,
    };
    for key in candidates {
        match cek::recover(key, &parsed, &encrypted_key, rng) {
            Some(cek) => {
                if let Some(plaintext) = content::decrypt(&input, &cek) {
                    return Ok(Decrypted {
                        header: parsed.header,
                        plaintext,
                    });
                }
            }
            None => {
                // RFC 7516 §11.5: spend the same work as with a real CEK.
                let dummy = vec![0u8; enc.key_len()];
                std::hint::black_box(content::decrypt(&input, &dummy));
            }
        }
    }
    Err(JweError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL_ALGS: &[KeyAlg] = &KeyAlg::ALL;
    const ALL_ENCS: &[Enc] = &Enc::ALL;

    // RFC 7516 Appendix A.3: A128KW with A128CBC-HS256.
    const A3_KEY: &str = "GawgguFyGrWKav7AX4VKUg";
    const A3_TOKEN: &str = "eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.\
        6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ.\
        AxY8DCtDaGlsbGljb3RoZQ.\
        KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.\
        U0m_YmjN04DJvceFICbCVQ";

    fn a3_key() -> DecryptionKey {
        DecryptionKey::from_jwk(&json!({"kty": "oct", "k": A3_KEY})).unwrap()
    }

    fn run(token: &str, algs: &[KeyAlg], encs: &[Enc]) -> Result<Decrypted, JweError> {
        decrypt(token, &[a3_key()], algs, encs, &mut rand_core::OsRng)
    }

    #[test]
    fn rfc7516_a3() {
        let d = run(A3_TOKEN, ALL_ALGS, ALL_ENCS).unwrap();
        assert_eq!(d.plaintext, b"Live long and prosper.");
        assert_eq!(d.header.alg, KeyAlg::A128Kw);
        assert_eq!(d.header.enc, Enc::A128CbcHs256);
        assert!(!is_nested_jwt(&d.header));
        assert!(!format!("{d:?}").contains("prosper"));
    }

    #[test]
    fn allow_lists_and_structure() {
        let e = |t: &str| run(t, ALL_ALGS, ALL_ENCS).unwrap_err();
        assert_eq!(
            run(A3_TOKEN, &[KeyAlg::A256Kw], ALL_ENCS).unwrap_err(),
            JweError::AlgNotAllowed
        );
        assert_eq!(
            run(A3_TOKEN, ALL_ALGS, &[Enc::A128Gcm]).unwrap_err(),
            JweError::EncNotAllowed
        );
        let (head, rest) = A3_TOKEN.split_once('.').unwrap();
        assert_eq!(e(rest), JweError::NotCompact);
        assert_eq!(e(&format!("{A3_TOKEN}.")), JweError::NotCompact);
        assert_eq!(e(&format!("{A3_TOKEN}=")), JweError::Base64(Part::Tag));
        assert_eq!(
            e(&format!("{head}.{}", rest.replacen('6', "+", 1))),
            JweError::Base64(Part::EncryptedKey)
        );
        let big = format!("{}{A3_TOKEN}", "A".repeat(MAX_TOKEN_LEN));
        assert_eq!(e(&big), JweError::TooLarge);
        // Every flipped byte of the tag and ciphertext is the same error.
        let (body, tag) = A3_TOKEN.rsplit_once('.').unwrap();
        let flipped = format!("{body}.{}", tag.replacen('U', "V", 1));
        assert_eq!(e(&flipped), JweError::Decrypt);
        let short = &A3_TOKEN[..A3_TOKEN.len() - 2];
        assert_eq!(e(short), JweError::BadLength(Part::Tag));
        // A key with another kid is not tried.
        let with_kid = |kid: &str| {
            let key =
                DecryptionKey::from_jwk(&json!({"kty": "oct", "k": A3_KEY, "kid": kid})).unwrap();
            let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"A128KW","enc":"A128CBC-HS256","kid":"a"}"#);
            let t = format!("{h}.{rest}");
            decrypt(&t, &[key], ALL_ALGS, ALL_ENCS, &mut rand_core::OsRng)
        };
        assert_eq!(with_kid("b").unwrap_err(), JweError::NoKey);
        // The header is authenticated: adding a kid breaks the tag.
        assert_eq!(with_kid("a").unwrap_err(), JweError::Decrypt);
    }

    #[test]
    fn errors_have_stable_reasons() {
        assert_eq!(JweError::Decrypt.reason(), "decrypt_failed");
        assert_eq!(JweError::BadLength(Part::Iv).reason(), "malformed");
        assert_eq!(JweError::Compressed.reason(), "zip_unsupported");
        for a in KeyAlg::ALL {
            assert_eq!(KeyAlg::from_name(a.name()), Some(a));
        }
        for e in Enc::ALL {
            assert_eq!(Enc::from_name(e.name()), Some(e));
        }
    }
}
