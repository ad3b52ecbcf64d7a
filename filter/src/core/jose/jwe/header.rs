//! The JWE protected header (RFC 7516 §4): strict JSON, allow-lists,
//! `zip` and `crit` refused, `epk` / `apu` / `apv` for ECDH-ES.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::cek::Epk;
use super::{Enc, JweError, KeyAlg};
use crate::core::util::json::{parse_strict, JsonError};

/// Validated protected header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Key management algorithm.
    pub alg: KeyAlg,
    /// Content encryption algorithm.
    pub enc: Enc,
    /// Key id.
    pub kid: Option<String>,
    /// Content type of the plaintext (`JWT` for a nested JWT).
    pub cty: Option<String>,
    /// Media type of the token (`typ`).
    pub typ: Option<String>,
    /// Every member, as sent.
    pub members: Map<String, Value>,
}

/// The header and what key agreement needs from it.
pub(super) struct Parsed {
    pub header: Header,
    /// ECDH-ES ephemeral public key (ECDH-ES algorithms only).
    pub epk: Option<Epk>,
    /// Agreement PartyUInfo (decoded `apu`), empty if absent.
    pub apu: Vec<u8>,
    /// Agreement PartyVInfo (decoded `apv`), empty if absent.
    pub apv: Vec<u8>,
}

fn string(h: &Map<String, Value>, name: &'static str) -> Result<Option<String>, JweError> {
    match h.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JweError::BadHeaderMember(name)),
    }
}

fn b64_member(h: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JweError> {
    match string(h, name)? {
        None => Ok(Vec::new()),
        Some(s) => URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| JweError::BadHeaderMember(name)),
    }
}

/// Parse the decoded protected header and check it against the allowed
/// algorithms.
pub(super) fn parse(bytes: &[u8], algs: &[KeyAlg], encs: &[Enc]) -> Result<Parsed, JweError> {
    let members = match parse_strict(bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) | Err(JsonError::Syntax) => return Err(JweError::Json),
        Err(JsonError::DuplicateMember) => return Err(JweError::DuplicateMember),
    };
    let alg = string(&members, "alg")?.ok_or(JweError::BadHeaderMember("alg"))?;
    let alg = KeyAlg::from_name(&alg).ok_or(JweError::UnsupportedAlg)?;
    let enc = string(&members, "enc")?.ok_or(JweError::BadHeaderMember("enc"))?;
    let enc = Enc::from_name(&enc).ok_or(JweError::UnsupportedEnc)?;
    if !algs.contains(&alg) {
        return Err(JweError::AlgNotAllowed);
    }
    if !encs.contains(&enc) {
        return Err(JweError::EncNotAllowed);
    }
    if members.contains_key("zip") {
        return Err(JweError::Compressed);
    }
    // We implement no extension: only an empty `crit` is harmless.
    match members.get("crit") {
        None => {}
        Some(Value::Array(a)) if a.is_empty() => {}
        Some(_) => return Err(JweError::UnknownCrit),
    }
    let kid = string(&members, "kid")?;
    let cty = string(&members, "cty")?;
    let typ = string(&members, "typ")?;
    let (epk, apu, apv) = if alg.is_ecdh() {
        let epk = members.get("epk").ok_or(JweError::BadEpk)?;
        (
            Some(Epk::from_jwk(epk)?),
            b64_member(&members, "apu")?,
            b64_member(&members, "apv")?,
        )
    } else {
        (None, Vec::new(), Vec::new())
    };
    Ok(Parsed {
        header: Header {
            alg,
            enc,
            kid,
            cty,
            typ,
            members,
        },
        epk,
        apu,
        apv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(h: &str) -> JweError {
        match parse(h.as_bytes(), &KeyAlg::ALL, &Enc::ALL) {
            Ok(_) => panic!("accepted {h}"),
            Err(e) => e,
        }
    }

    #[test]
    fn header_rules() {
        let ok = parse(
            br#"{"alg":"dir","enc":"A128GCM","cty":"JWT","kid":"k","crit":[]}"#,
            &KeyAlg::ALL,
            &Enc::ALL,
        )
        .unwrap();
        assert_eq!(ok.header.cty.as_deref(), Some("JWT"));
        assert_eq!(ok.header.kid.as_deref(), Some("k"));
        assert!(ok.epk.is_none());
        assert_eq!(e("[]"), JweError::Json);
        assert_eq!(e("{"), JweError::Json);
        assert_eq!(
            e(r#"{"alg":"dir","alg":"dir","enc":"A128GCM"}"#),
            JweError::DuplicateMember
        );
        assert_eq!(e(r#"{"enc":"A128GCM"}"#), JweError::BadHeaderMember("alg"));
        assert_eq!(e(r#"{"alg":"dir"}"#), JweError::BadHeaderMember("enc"));
        assert_eq!(
            e(r#"{"alg":"none","enc":"A128GCM"}"#),
            JweError::UnsupportedAlg
        );
        assert_eq!(
            e(r#"{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2c":1000000000}"#),
            JweError::UnsupportedAlg
        );
        assert_eq!(
            e(r#"{"alg":"dir","enc":"A192GCM"}"#),
            JweError::UnsupportedEnc
        );
        assert_eq!(
            e(r#"{"alg":"dir","enc":"A128GCM","zip":"DEF"}"#),
            JweError::Compressed
        );
        assert_eq!(
            e(r#"{"alg":"dir","enc":"A128GCM","crit":["b64"],"b64":true}"#),
            JweError::UnknownCrit
        );
        assert_eq!(
            e(r#"{"alg":"dir","enc":"A128GCM","crit":"x"}"#),
            JweError::UnknownCrit
        );
        assert_eq!(
            e(r#"{"alg":"dir","enc":"A128GCM","cty":1}"#),
            JweError::BadHeaderMember("cty")
        );
        assert_eq!(e(r#"{"alg":"ECDH-ES","enc":"A128GCM"}"#), JweError::BadEpk);
        assert_eq!(
            e(
                r#"{"alg":"ECDH-ES","enc":"A128GCM","epk":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}}"#
            ),
            JweError::BadEpk
        );
    }
}
