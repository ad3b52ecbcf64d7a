//! Strict JWS compact serialization (RFC 7515 §7.1) and header validation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::core::util::json::{parse_strict, JsonError};

/// A JWS algorithm this filter can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
    /// HMAC with SHA-256.
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
}

/// The key type an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `kty: RSA`.
    Rsa,
    /// `kty: EC, crv: P-256`.
    P256,
    /// `kty: EC, crv: P-384`.
    P384,
    /// `kty: OKP, crv: Ed25519`.
    Ed25519,
    /// `kty: oct`.
    Oct,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 12] = [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Es256,
        Alg::Es384,
        Alg::EdDsa,
        Alg::Hs256,
        Alg::Hs384,
        Alg::Hs512,
    ];

    /// The JOSE name (`RS256`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
        }
    }

    /// Look an algorithm up by its exact JOSE name.
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// HMAC algorithms.
    pub fn is_symmetric(self) -> bool {
        self.key_kind() == KeyKind::Oct
    }

    /// The key type this algorithm verifies with.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => {
                KeyKind::Rsa
            }
            Alg::Es256 => KeyKind::P256,
            Alg::Es384 => KeyKind::P384,
            Alg::EdDsa => KeyKind::Ed25519,
            Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => KeyKind::Oct,
        }
    }
}

/// Which part of a compact JWS was at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The protected header.
    Header,
    /// The payload.
    Payload,
    /// The signature.
    Signature,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        }
    }
}

/// Why a token is not an acceptable JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoseError {
    /// Not three dot-separated parts (JWE and JSON serializations included).
    NotCompact,
    /// A part is not unpadded, canonical base64url.
    Base64(Part),
    /// A part is not JSON.
    Json(Part),
    /// A JSON object names a member twice.
    DuplicateMember(Part),
    /// Header or payload is JSON but not an object.
    NotObject(Part),
    /// `alg` absent or not a string.
    MissingAlg,
    /// `alg: none` (unsecured JWS).
    AlgNone,
    /// An algorithm this filter does not implement.
    UnsupportedAlg(String),
    /// `crit` names an extension we do not understand (we understand none).
    UnknownCrit,
    /// A header member with the wrong type (`kid`, `typ`).
    BadHeaderMember(&'static str),
}

impl JoseError {
    /// Short machine-readable reason (logs, metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            JoseError::NotCompact => "malformed",
            JoseError::Base64(_) => "malformed_base64url",
            JoseError::Json(_) | JoseError::NotObject(_) => "malformed_json",
            JoseError::DuplicateMember(_) => "duplicate_member",
            JoseError::MissingAlg | JoseError::BadHeaderMember(_) => "bad_header",
            JoseError::AlgNone => "alg_none",
            JoseError::UnsupportedAlg(_) => "unsupported_alg",
            JoseError::UnknownCrit => "unknown_crit",
        }
    }

    /// Human-readable description for `error_description`.
    pub fn describe(&self) -> String {
        match self {
            JoseError::NotCompact => "token is not a compact JWS".to_owned(),
            JoseError::Base64(p) => format!("{} is not base64url", p.name()),
            JoseError::Json(p) => format!("{} is not JSON", p.name()),
            JoseError::DuplicateMember(p) => format!("{} has a duplicate member", p.name()),
            JoseError::NotObject(p) => format!("{} is not a JSON object", p.name()),
            JoseError::MissingAlg => "header has no alg".to_owned(),
            JoseError::AlgNone => "unsecured tokens (alg none) are not accepted".to_owned(),
            JoseError::UnsupportedAlg(_) => "unsupported alg".to_owned(),
            JoseError::UnknownCrit => "header has an unsupported crit extension".to_owned(),
            JoseError::BadHeaderMember(m) => format!("header member {m} has the wrong type"),
        }
    }
}

/// Validated protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Signature algorithm.
    pub alg: Alg,
    /// Key id.
    pub kid: Option<String>,
    /// Media type of the token (`typ`).
    pub typ: Option<String>,
}

/// A parsed, not yet verified, JWS. `Debug` prints the header and claims,
/// never the signing input or the signature (together: the bearer token).
#[derive(Clone)]
pub struct Jws<'a> {
    /// Protected header.
    pub header: Header,
    /// Claims.
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) . BASE64URL(payload)`: what the signature covers.
    pub signing_input: &'a [u8],
    /// The payload part as sent (base64url).
    pub payload_b64: &'a str,
    /// Raw signature bytes.
    pub signature: Vec<u8>,
}

impl std::fmt::Debug for Jws<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jws")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field("signing_input", &"<redacted>")
            .field("payload_b64", &"<redacted>")
            .field("signature", &"<redacted>")
            .finish()
    }
}

/// Decode unpadded, canonical base64url.
pub fn b64_decode(part: &str, which: Part) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JoseError::Base64(which))
}

fn json_object(bytes: &[u8], which: Part) -> Result<Map<String, Value>, JoseError> {
    match parse_strict(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JoseError::NotObject(which)),
        Err(JsonError::DuplicateMember) => Err(JoseError::DuplicateMember(which)),
        Err(JsonError::Syntax) => Err(JoseError::Json(which)),
    }
}

/// Parse and validate a compact JWS. No signature check happens here.
pub fn parse(token: &str) -> Result<Jws<'_>, JoseError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::NotCompact);
    };
    let header = parse_header(&json_object(&b64_decode(h, Part::Header)?, Part::Header)?)?;
    let claims = json_object(&b64_decode(p, Part::Payload)?, Part::Payload)?;
    let signature = b64_decode(s, Part::Signature)?;
    let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
    Ok(Jws {
        header,
        claims,
        signing_input,
        payload_b64: p,
        signature,
    })
}

fn parse_header(h: &Map<String, Value>) -> Result<Header, JoseError> {
    let alg = match h.get("alg") {
        Some(Value::String(s)) => s,
        _ => return Err(JoseError::MissingAlg),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(JoseError::AlgNone);
    }
    let alg = Alg::from_name(alg).ok_or_else(|| JoseError::UnsupportedAlg(alg.clone()))?;
    // We implement no JWS extension, so any `crit` (well-formed or not)
    // names something we do not understand (RFC 7515 §4.1.11).
    if h.contains_key("crit") {
        return Err(JoseError::UnknownCrit);
    }
    let kid = match h.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(JoseError::BadHeaderMember("kid")),
    };
    let typ = match h.get("typ") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(JoseError::BadHeaderMember("typ")),
    };
    Ok(Header { alg, kid, typ })
}

/// RFC 9068 §4: `typ` must be `at+jwt` or `application/at+jwt`.
pub fn is_at_jwt_typ(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn tok(h: &str, p: &str) -> String {
        format!("{}.{}.{}", enc(h), enc(p), enc("sig"))
    }

    #[test]
    fn parses_a_good_token() {
        let t = tok(
            r#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#,
            r#"{"iss":"i"}"#,
        );
        let j = parse(&t).unwrap();
        assert_eq!(j.header.alg, Alg::Es256);
        assert_eq!(j.header.kid.as_deref(), Some("k"));
        assert_eq!(j.claims["iss"], "i");
        assert_eq!(j.signature, b"sig");
        assert_eq!(j.signing_input, t.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn rejects_structure_and_encoding() {
        assert_eq!(parse("a.b").unwrap_err(), JoseError::NotCompact);
        assert_eq!(parse("a.b.c.d.e").unwrap_err(), JoseError::NotCompact);
        let good = tok(r#"{"alg":"ES256"}"#, "{}");
        let padded = format!("{}=", good);
        assert_eq!(
            parse(&padded).unwrap_err(),
            JoseError::Base64(Part::Signature)
        );
        let plus = good.replacen('e', "+", 1);
        assert!(matches!(parse(&plus).unwrap_err(), JoseError::Base64(_)));
        assert_eq!(
            parse(&tok(r#"{"alg":"ES256"}"#, "{")).unwrap_err(),
            JoseError::Json(Part::Payload)
        );
        assert_eq!(
            parse(&tok(r#"{"alg":"ES256"}"#, "[]")).unwrap_err(),
            JoseError::NotObject(Part::Payload)
        );
        assert_eq!(
            parse(&tok(r#"{"alg":"ES256","alg":"HS256"}"#, "{}")).unwrap_err(),
            JoseError::DuplicateMember(Part::Header)
        );
    }

    #[test]
    fn header_rules() {
        let e = |h: &str| parse(&tok(h, "{}")).unwrap_err();
        assert_eq!(e(r#"{"alg":"none"}"#), JoseError::AlgNone);
        assert_eq!(e(r#"{"alg":"NoNe"}"#), JoseError::AlgNone);
        assert_eq!(e(r#"{}"#), JoseError::MissingAlg);
        assert_eq!(e(r#"{"alg":1}"#), JoseError::MissingAlg);
        assert_eq!(
            e(r#"{"alg":"rs256"}"#),
            JoseError::UnsupportedAlg("rs256".into())
        );
        assert_eq!(
            e(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#),
            JoseError::UnknownCrit
        );
        assert_eq!(
            e(r#"{"alg":"RS256","kid":5}"#),
            JoseError::BadHeaderMember("kid")
        );
    }

    #[test]
    fn at_jwt_typ() {
        assert!(is_at_jwt_typ(Some("at+jwt")));
        assert!(is_at_jwt_typ(Some("application/AT+JWT")));
        assert!(!is_at_jwt_typ(Some("JWT")));
        assert!(!is_at_jwt_typ(None));
    }
}
