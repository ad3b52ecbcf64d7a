//! RFC 8705 §3: certificate-bound access tokens.
//!
//! A bound token carries `cnf: {"x5t#S256": BASE64URL(SHA-256(cert DER))}`;
//! the request must come with the same client certificate. Where the
//! certificate digest comes from is the caller's choice ([`CertSource`]):
//!
//! - the connection: the proxy-wasm property
//!   `connection.sha256_peer_certificate_digest` (Envoy, oauth-host),
//!   lowercase hex of the SHA-256 of the DER;
//! - Envoy's `x-forwarded-client-cert` (XFCC) set by a trusted proxy: the
//!   last element (added by the nearest hop), its `Hash=` (hex SHA-256 of
//!   the DER) or else its `Cert=` (URL-encoded PEM);
//! - a trusted header carrying the URL-encoded PEM certificate (PingGateway's
//!   trusted-headers mode, nginx `$ssl_client_escaped_cert`), or bare base64
//!   DER.
//!
//! Only the digest matters: the certificate is not parsed as X.509 (the TLS
//! stack or the trusted proxy validated it). Every input is bounded; no
//! input panics.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{cnf_member, ct_eq};

/// Longest header value (all values of the header together) looked at.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most XFCC elements (hops) accepted.
pub const MAX_XFCC_ELEMENTS: usize = 32;
/// The `cnf` member of RFC 8705 §3.1.
pub const CNF_MEMBER: &str = "x5t#S256";

/// SHA-256 of a client certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CertDigest(pub [u8; 32]);

impl CertDigest {
    /// The digest of `der`.
    pub fn of_der(der: &[u8]) -> CertDigest {
        CertDigest(Sha256::digest(der).into())
    }

    /// The `x5t#S256` form: base64url without padding.
    pub fn to_x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl std::fmt::Debug for CertDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertDigest({})", self.to_x5t())
    }
}

/// Where the client certificate is read from, with the raw input.
#[derive(Debug, Clone, Copy)]
pub enum CertSource<'a> {
    /// The `connection.sha256_peer_certificate_digest` property (`None`:
    /// absent, no client certificate).
    Connection(Option<&'a [u8]>),
    /// Every value of the `x-forwarded-client-cert` header, in order.
    Xfcc(&'a [&'a str]),
    /// Every value of a header carrying one URL-encoded PEM certificate.
    PemHeader(&'a [&'a str]),
}

/// Why a certificate binding could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsError {
    /// `cnf` is not an object or `x5t#S256` is not base64url of 32 bytes.
    BadCnf,
    /// The connection digest property is not 64 hex digits.
    BadConnectionDigest,
    /// The header is longer than [`MAX_HEADER_BYTES`].
    HeaderTooLarge,
    /// XFCC syntax: unbalanced quotes, a pair without `=`, a duplicate key,
    /// too many elements.
    BadXfcc,
    /// XFCC `Hash=` is not 64 hex digits.
    BadXfccHash,
    /// XFCC `Hash=` and `Cert=` of the same element disagree.
    XfccHashCertMismatch,
    /// Bad percent-encoding.
    BadUrlEncoding,
    /// Not a PEM `CERTIFICATE` (or base64 DER) block.
    BadPem,
    /// The decoded bytes are not one DER SEQUENCE.
    BadDer,
    /// The certificate header is present more than once.
    MultipleHeaders,
}

impl MtlsError {
    /// Stable short reason (logs, metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            MtlsError::BadCnf => "bad_cnf_x5t",
            MtlsError::BadConnectionDigest => "bad_connection_digest",
            MtlsError::HeaderTooLarge => "cert_header_too_large",
            MtlsError::BadXfcc => "bad_xfcc",
            MtlsError::BadXfccHash => "bad_xfcc_hash",
            MtlsError::XfccHashCertMismatch => "xfcc_hash_cert_mismatch",
            MtlsError::BadUrlEncoding => "bad_url_encoding",
            MtlsError::BadPem => "bad_pem",
            MtlsError::BadDer => "bad_der",
            MtlsError::MultipleHeaders => "multiple_cert_headers",
        }
    }

    /// Text for `error_description`.
    pub fn describe(&self) -> &'static str {
        match self {
            MtlsError::BadCnf => "token has a malformed x5t#S256 confirmation",
            MtlsError::BadConnectionDigest
            | MtlsError::HeaderTooLarge
            | MtlsError::BadXfcc
            | MtlsError::BadXfccHash
            | MtlsError::XfccHashCertMismatch
            | MtlsError::BadUrlEncoding
            | MtlsError::BadPem
            | MtlsError::BadDer
            | MtlsError::MultipleHeaders => "the client certificate could not be read",
        }
    }
}

/// Outcome of the RFC 8705 §3 check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtlsBinding {
    /// The token is bound to the presented certificate.
    Bound,
    /// A certificate was presented, but not the one the token is bound to.
    Mismatch,
    /// The token is bound, but the request carries no client certificate.
    NoCertificate,
    /// The token has no `x5t#S256` confirmation (whatever was presented):
    /// whether that is acceptable is the caller's policy.
    Unbound,
    /// The confirmation or the certificate input is malformed.
    Malformed(MtlsError),
}

impl MtlsBinding {
    /// Stable short reason (logs, metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            MtlsBinding::Bound => "bound",
            MtlsBinding::Mismatch => "cert_mismatch",
            MtlsBinding::NoCertificate => "no_client_cert",
            MtlsBinding::Unbound => "unbound",
            MtlsBinding::Malformed(e) => e.reason(),
        }
    }
}

/// The `x5t#S256` a token's `cnf` claim binds it to (`None`: unbound).
pub fn expected_digest(cnf: Option<&Value>) -> Result<Option<CertDigest>, MtlsError> {
    let Some(x5t) = cnf_member(cnf, CNF_MEMBER).map_err(|()| MtlsError::BadCnf)? else {
        return Ok(None);
    };
    let bytes = URL_SAFE_NO_PAD.decode(x5t).map_err(|_| MtlsError::BadCnf)?;
    let arr = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| MtlsError::BadCnf)?;
    Ok(Some(CertDigest(arr)))
}

/// The presented certificate's digest, from `source` (`None`: none).
pub fn presented_digest(source: CertSource<'_>) -> Result<Option<CertDigest>, MtlsError> {
    match source {
        CertSource::Connection(p) => from_connection(p),
        CertSource::Xfcc(values) => from_xfcc(values),
        CertSource::PemHeader(values) => from_pem_header(values),
    }
}

/// RFC 8705 §3: is the token with claim `cnf` bound to the certificate
/// presented through `source`?
///
/// The token's confirmation is read first: an unbound token is
/// [`MtlsBinding::Unbound`] even when the certificate input is malformed.
pub fn check(cnf: Option<&Value>, source: CertSource<'_>) -> MtlsBinding {
    let expected = match expected_digest(cnf) {
        Ok(Some(d)) => d,
        Ok(None) => return MtlsBinding::Unbound,
        Err(e) => return MtlsBinding::Malformed(e),
    };
    match presented_digest(source) {
        Ok(Some(p)) if ct_eq(&p.0, &expected.0) => MtlsBinding::Bound,
        Ok(Some(_)) => MtlsBinding::Mismatch,
        Ok(None) => MtlsBinding::NoCertificate,
        Err(e) => MtlsBinding::Malformed(e),
    }
}

/// `connection.sha256_peer_certificate_digest`: 64 hex digits (Envoy and
/// oauth-host write lowercase; uppercase is tolerated). Absent or empty: no
/// certificate.
pub fn from_connection(property: Option<&[u8]>) -> Result<Option<CertDigest>, MtlsError> {
    match property {
        None | Some([]) => Ok(None),
        Some(p) => hex32(p)
            .map(|d| Some(CertDigest(d)))
            .ok_or(MtlsError::BadConnectionDigest),
    }
}

fn hex32(s: &[u8]) -> Option<[u8; 32]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        if let [h, l] = pair {
            *o = (nibble(*h)? << 4) | nibble(*l)?;
        }
    }
    Some(out)
}

fn joined(values: &[&str]) -> Result<Option<String>, MtlsError> {
    let total = values
        .iter()
        .map(|v| v.len().saturating_add(1))
        .sum::<usize>();
    if total > MAX_HEADER_BYTES {
        return Err(MtlsError::HeaderTooLarge);
    }
    let parts: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join(",")))
}

/// Split `s` at `sep` outside double quotes (`\` escapes inside quotes).
fn split_unquoted(s: &str, sep: char) -> Result<Vec<&str>, MtlsError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && c == sep {
            out.push(s.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    if quoted || escaped {
        return Err(MtlsError::BadXfcc);
    }
    out.push(s.get(start..).unwrap_or_default());
    Ok(out)
}

/// An XFCC value: unquoted as is, or quoted with `\"` and `\\` escapes.
fn xfcc_value(v: &str) -> Result<String, MtlsError> {
    let v = v.trim();
    let Some(inner) = v.strip_prefix('"') else {
        if v.contains('"') {
            return Err(MtlsError::BadXfcc);
        }
        return Ok(v.to_owned());
    };
    let inner = inner.strip_suffix('"').ok_or(MtlsError::BadXfcc)?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or(MtlsError::BadXfcc)?),
            '"' => return Err(MtlsError::BadXfcc),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Envoy's `x-forwarded-client-cert`: `Hash=` of the last element, or its
/// `Cert=` (URL-encoded PEM) when it has no `Hash`; if it has both, they
/// must agree. Absent, empty, or a last element with neither: no
/// certificate.
pub fn from_xfcc(values: &[&str]) -> Result<Option<CertDigest>, MtlsError> {
    let Some(all) = joined(values)? else {
        return Ok(None);
    };
    let elements = split_unquoted(&all, ',')?;
    if elements.len() > MAX_XFCC_ELEMENTS {
        return Err(MtlsError::BadXfcc);
    }
    let Some(last) = elements.last() else {
        return Ok(None);
    };
    let mut hash = None;
    let mut cert = None;
    let mut seen: Vec<String> = Vec::new();
    for pair in split_unquoted(last, ';')? {
        if pair.trim().is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').ok_or(MtlsError::BadXfcc)?;
        let k = k.trim().to_ascii_lowercase();
        // `URI` and `DNS` may repeat; the keys we use may not.
        if matches!(k.as_str(), "hash" | "cert") && seen.contains(&k) {
            return Err(MtlsError::BadXfcc);
        }
        match k.as_str() {
            "hash" => hash = Some(xfcc_value(v)?),
            "cert" => cert = Some(xfcc_value(v)?),
            _ => {}
        }
        seen.push(k);
    }
    let from_hash = match hash {
        Some(h) => Some(CertDigest(
            hex32(h.as_bytes()).ok_or(MtlsError::BadXfccHash)?,
        )),
        None => None,
    };
    let from_cert = match cert {
        Some(c) => Some(digest_of_url_pem(&c)?),
        None => None,
    };
    match (from_hash, from_cert) {
        (Some(h), Some(c)) if !ct_eq(&h.0, &c.0) => Err(MtlsError::XfccHashCertMismatch),
        (Some(h), _) => Ok(Some(h)),
        (None, c) => Ok(c),
    }
}

/// A header with one URL-encoded PEM certificate (or base64 DER). Absent or
/// empty: no certificate; present twice: an error.
pub fn from_pem_header(values: &[&str]) -> Result<Option<CertDigest>, MtlsError> {
    let present: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    match present.as_slice() {
        [] => Ok(None),
        [one] if one.len() > MAX_HEADER_BYTES => Err(MtlsError::HeaderTooLarge),
        [one] => digest_of_url_pem(one).map(Some),
        _ => Err(MtlsError::MultipleHeaders),
    }
}

/// SHA-256 of the DER inside a URL-encoded PEM certificate.
pub fn digest_of_url_pem(encoded: &str) -> Result<CertDigest, MtlsError> {
    if encoded.len() > MAX_HEADER_BYTES {
        return Err(MtlsError::HeaderTooLarge);
    }
    let pem = percent_decode(encoded)?;
    let der = pem_to_der(&pem)?;
    Ok(CertDigest::of_der(&der))
}

/// `%XX` decoding. A literal `+` stays `+` (it is a base64 character); a
/// form-encoder's `+` for the space of the armor line is handled by
/// [`pem_to_der`].
fn percent_decode(s: &str) -> Result<String, MtlsError> {
    fn hexval(c: u8) -> Option<u8> {
        (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hexval),
                b.get(i + 2).copied().and_then(hexval),
            ) else {
                return Err(MtlsError::BadUrlEncoding);
            };
            out.push((h << 4) | l);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| MtlsError::BadUrlEncoding)
}

/// Standard base64, padding optional (proxies differ).
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One armor line `-----BEGIN CERTIFICATE-----` (or `END`), the space
/// possibly written `+` by a form encoder. Returns the text after it.
fn after_armor<'a>(s: &'a str, word: &str) -> Option<(usize, &'a str)> {
    let start = s.find(&format!("-----{word}"))?;
    let rest = s.get(start + 5 + word.len()..)?;
    let end = rest.find("-----")?;
    let label = rest.get(..end)?;
    let label = label.strip_prefix([' ', '+'])?;
    if label != "CERTIFICATE" {
        return None;
    }
    Some((start, rest.get(end + 5..)?))
}

/// The DER of the first `CERTIFICATE` block of a PEM text (the leaf, when
/// a chain follows), or of bare base64 DER.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, MtlsError> {
    let body = if pem.contains("-----BEGIN") {
        let (_, after_begin) = after_armor(pem, "BEGIN").ok_or(MtlsError::BadPem)?;
        let (end_at, _) = after_armor(after_begin, "END").ok_or(MtlsError::BadPem)?;
        after_begin.get(..end_at).ok_or(MtlsError::BadPem)?
    } else {
        pem
    };
    let compact: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(MtlsError::BadPem);
    }
    let der = STANDARD_LENIENT
        .decode(&compact)
        .map_err(|_| MtlsError::BadPem)?;
    if !is_one_der_sequence(&der) {
        return Err(MtlsError::BadDer);
    }
    Ok(der)
}

/// Whether `der` is exactly one DER SEQUENCE (tag and length only: enough
/// to refuse truncated or concatenated input).
fn is_one_der_sequence(der: &[u8]) -> bool {
    let (Some(0x30), Some(&len0)) = (der.first().copied(), der.get(1)) else {
        return false;
    };
    let (header, len) = if len0 < 0x80 {
        (2usize, usize::from(len0))
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 {
            return false;
        }
        let Some(bytes) = der.get(2..2 + n) else {
            return false;
        };
        // DER: minimal length encoding.
        if bytes.first() == Some(&0) {
            return false;
        }
        let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        if len < 0x80 {
            return false;
        }
        (2 + n, len)
    };
    header.checked_add(len) == Some(der.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A tiny fake "certificate": a DER SEQUENCE of 200 bytes.
    fn der() -> Vec<u8> {
        let mut d = vec![0x30, 0x81, 200];
        d.extend((0..200u32).map(|i| (i * 7) as u8));
        d
    }

    fn pem(der: &[u8]) -> String {
        use base64::engine::general_purpose::STANDARD;
        let b = STANDARD.encode(der);
        let lines: Vec<&str> = b
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    fn url(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    fn cnf_of(d: &CertDigest) -> Value {
        json!({ "x5t#S256": d.to_x5t() })
    }

    #[test]
    fn connection_digest() {
        let d = CertDigest::of_der(&der());
        let hex = crate::core::util::hex::hex(&d.0);
        let cnf = cnf_of(&d);
        let c = |p: Option<&[u8]>| check(Some(&cnf), CertSource::Connection(p));
        assert_eq!(c(Some(hex.as_bytes())), MtlsBinding::Bound);
        assert_eq!(c(Some(hex.to_uppercase().as_bytes())), MtlsBinding::Bound);
        assert_eq!(c(Some(&[b'0'; 64])), MtlsBinding::Mismatch);
        assert_eq!(c(None), MtlsBinding::NoCertificate);
        assert_eq!(c(Some(b"")), MtlsBinding::NoCertificate);
        assert_eq!(
            c(Some(&hex.as_bytes()[1..])),
            MtlsBinding::Malformed(MtlsError::BadConnectionDigest)
        );
        assert_eq!(
            c(Some("é".repeat(32).as_bytes())),
            MtlsBinding::Malformed(MtlsError::BadConnectionDigest)
        );
    }

    #[test]
    fn cnf_forms() {
        let src = CertSource::Connection(None);
        assert_eq!(check(None, src), MtlsBinding::Unbound);
        assert_eq!(check(Some(&json!({"jkt": "x"})), src), MtlsBinding::Unbound);
        for bad in [
            json!("x"),
            json!({"x5t#S256": 5}),
            json!({"x5t#S256": "AAAA"}),
            json!({"x5t#S256": "!"}),
        ] {
            assert_eq!(
                check(Some(&bad), src),
                MtlsBinding::Malformed(MtlsError::BadCnf),
                "{bad}"
            );
        }
    }

    #[test]
    fn pem_header() {
        let d = CertDigest::of_der(&der());
        let cnf = cnf_of(&d);
        let p = pem(&der());
        let c = |v: &[&str]| check(Some(&cnf), CertSource::PemHeader(v));
        assert_eq!(c(&[&url(&p)]), MtlsBinding::Bound);
        // Java's URLEncoder: space as '+', '+' as %2B.
        let java = url(&p).replace("%20", "+");
        assert_eq!(c(&[&java]), MtlsBinding::Bound);
        // Unencoded PEM with spaces for newlines, bare base64 DER.
        assert_eq!(c(&[&p.replace('\n', " ")]), MtlsBinding::Bound);
        let bare = base64::engine::general_purpose::STANDARD.encode(der());
        assert_eq!(c(&[&bare]), MtlsBinding::Bound);
        // A chain: the first block counts.
        let chain = format!("{p}{}", pem(&[0x30, 0x01, 0x00]));
        assert_eq!(c(&[&url(&chain)]), MtlsBinding::Bound);
        assert_eq!(c(&[]), MtlsBinding::NoCertificate);
        assert_eq!(c(&[" "]), MtlsBinding::NoCertificate);
        assert_eq!(
            c(&[&url(&p), &url(&p)]),
            MtlsBinding::Malformed(MtlsError::MultipleHeaders)
        );
        let other = pem(&[0x30, 0x01, 0x00]);
        assert_eq!(c(&[&url(&other)]), MtlsBinding::Mismatch);
        for (bad, e) in [
            ("%ZZ", MtlsError::BadUrlEncoding),
            ("%4", MtlsError::BadUrlEncoding),
            ("%FF%FE", MtlsError::BadUrlEncoding),
            (
                "-----BEGIN KEY-----AAAA-----END KEY-----",
                MtlsError::BadPem,
            ),
            ("-----BEGIN CERTIFICATE-----AAAA", MtlsError::BadPem),
            (
                "-----BEGIN CERTIFICATE----------END CERTIFICATE-----",
                MtlsError::BadPem,
            ),
            ("not*base64", MtlsError::BadPem),
            ("MAA=AA", MtlsError::BadPem),
            ("MAEAAA", MtlsError::BadDer), // 30 01 00 00: trailing byte
        ] {
            assert_eq!(c(&[bad]), MtlsBinding::Malformed(e), "{bad}");
        }
        // 30 01 00: one well-formed SEQUENCE, another certificate.
        assert_eq!(c(&["MAEA"]), MtlsBinding::Mismatch);
        let truncated = &der()[..150];
        assert_eq!(
            c(&[&url(&pem(truncated))]),
            MtlsBinding::Malformed(MtlsError::BadDer)
        );
        let huge = "A".repeat(MAX_HEADER_BYTES + 1);
        assert_eq!(
            c(&[&huge]),
            MtlsBinding::Malformed(MtlsError::HeaderTooLarge)
        );
    }

    #[test]
    fn xfcc() {
        let d = CertDigest::of_der(&der());
        let hex = crate::core::util::hex::hex(&d.0);
        let cnf = cnf_of(&d);
        let c = |v: &[&str]| check(Some(&cnf), CertSource::Xfcc(v));
        let other = "0".repeat(64);
        let cert = url(&pem(&der()));
        assert_eq!(c(&[&format!("Hash={hex}")]), MtlsBinding::Bound);
        assert_eq!(
            c(&[&format!(
                "By=spiffe://a;Hash={other},By=\"spiffe://b;x\";Hash={hex};Subject=\"CN=a,O=\\\"b\\\"\";URI=u;URI=v"
            )]),
            MtlsBinding::Bound
        );
        // The last element counts, across header lines too.
        assert_eq!(
            c(&[&format!("Hash={hex}"), &format!("Hash={other}")]),
            MtlsBinding::Mismatch
        );
        assert_eq!(c(&[&format!("Cert=\"{cert}\"")]), MtlsBinding::Bound);
        assert_eq!(c(&[&format!("hash={hex};cert={cert}")]), MtlsBinding::Bound);
        assert_eq!(
            c(&[&format!("Hash={other};Cert={cert}")]),
            MtlsBinding::Malformed(MtlsError::XfccHashCertMismatch)
        );
        assert_eq!(c(&["By=spiffe://a"]), MtlsBinding::NoCertificate);
        assert_eq!(c(&[]), MtlsBinding::NoCertificate);
        for (bad, e) in [
            (format!("Hash={hex};Hash={hex}"), MtlsError::BadXfcc),
            (format!("Hash=\"{hex}"), MtlsError::BadXfcc),
            ("By=a;junk".to_owned(), MtlsError::BadXfcc),
            ("Hash=ab".to_owned(), MtlsError::BadXfccHash),
            ("Hash=a\"b".to_owned(), MtlsError::BadXfcc),
            ("Cert=%ZZ".to_owned(), MtlsError::BadUrlEncoding),
            ("Hash=1,".repeat(40), MtlsError::BadXfcc),
        ] {
            assert_eq!(c(&[&bad]), MtlsBinding::Malformed(e), "{bad}");
        }
    }

    /// Every prefix and single-byte mutation of good inputs: never a panic.
    #[test]
    fn junk_never_panics() {
        let d = CertDigest::of_der(&der());
        let hex = crate::core::util::hex::hex(&d.0);
        let cert = url(&pem(&der()));
        let xfcc = format!("By=\"a;b\";Hash={hex};Cert=\"{cert}\",URI=x;DNS=\"\\\"\"");
        let cnf = cnf_of(&d);
        for base in [xfcc.as_str(), cert.as_str(), hex.as_str()] {
            for i in 0..=base.len() {
                let mut inputs = vec![base.get(..i).unwrap_or_default().to_owned()];
                for b in [b'"', b'\\', b',', b';', b'=', b'%', b'-', 0xC3] {
                    let mut m = base.as_bytes().to_vec();
                    if let Some(x) = m.get_mut(i) {
                        *x = b;
                    }
                    inputs.push(String::from_utf8_lossy(&m).into_owned());
                }
                for s in &inputs {
                    let v = [s.as_str()];
                    let _ = check(Some(&cnf), CertSource::Xfcc(&v));
                    let _ = check(Some(&cnf), CertSource::PemHeader(&v));
                    let _ = check(Some(&cnf), CertSource::Connection(Some(s.as_bytes())));
                }
            }
        }
    }

    #[test]
    fn der_sequence_lengths() {
        assert!(is_one_der_sequence(&[0x30, 0x00]));
        assert!(!is_one_der_sequence(&[0x30, 0x01]));
        assert!(!is_one_der_sequence(&[0x31, 0x00]));
        assert!(!is_one_der_sequence(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]));
        assert!(!is_one_der_sequence(&[0x30, 0x82, 0x00, 0x80]));
        assert!(!is_one_der_sequence(&[0x30, 0x85, 1, 1, 1, 1, 1]));
        assert!(!is_one_der_sequence(&[]));
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.extend([0; 256]);
        assert!(is_one_der_sequence(&long));
        long.push(0);
        assert!(!is_one_der_sequence(&long));
    }
}
