//! Reading a WS-Trust 1.3 `RequestSecurityToken` (RST) from a SOAP 1.1 or
//! 1.2 envelope, with quick-xml ([`super::xml::read`]): a document with a
//! DTD is refused (no entity is ever expanded), the event count is bounded,
//! and every element the STS reads must appear at most once.
//!
//! Read: `s:Envelope/s:Body/wst:RequestSecurityToken` with `RequestType`
//! (Issue only), `TokenType` (one of [`TokenType`]), `wsp:AppliesTo/
//! wsa:EndpointReference/wsa:Address` (WS-Policy 1.5 or 1.2, WS-Addressing
//! 1.0 or 2004/08), the RST's `Context` attribute; from the header
//! `wsa:MessageID` and `wsse:Security/wsse:BinarySecurityToken` (the
//! caller's OAuth access token, base64).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::soap::SoapVersion;
use super::token_type::TokenType;
use super::xml::ns::{WSA, WSP, WSP12_URI, WSSE, WST};
use super::xml::read::{read, Doc, ReadError};

/// `RequestType` of an issue request.
pub const ISSUE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";
/// WS-Addressing 2004/08 (older clients).
const WSA_2004_URI: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// `EncodingType` of base64 binary tokens.
const BASE64_BINARY: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";
/// XML events a request may have (tags, text, comments).
pub const MAX_NODES: u32 = 4096;
/// Bytes of a decoded `BinarySecurityToken`.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A parsed issue request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rst {
    /// The envelope's SOAP version (the answer's).
    pub soap: SoapVersion,
    /// What to issue.
    pub token_type: TokenType,
    /// `wsa:Address` of `AppliesTo` (trimmed).
    pub applies_to: String,
    /// The RST's `Context` attribute, echoed in the answer.
    pub context: Option<String>,
    /// `wsa:MessageID`, answered with `RelatesTo`.
    pub message_id: Option<String>,
    /// The caller's token from `wsse:BinarySecurityToken`, decoded.
    pub binary_security_token: Option<String>,
}

/// Why a request is not a usable RST; the message never quotes the
/// token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RstError {
    /// Not UTF-8, not well-formed, or too many nodes.
    #[error("the body is not a well-formed XML document (or is too large)")]
    NotXml,
    /// A DTD (`<!DOCTYPE`): refused.
    #[error("a DTD is not allowed")]
    Dtd,
    /// The root is not a SOAP 1.1 or 1.2 `Envelope`.
    #[error("not a SOAP 1.1 or 1.2 envelope")]
    NotEnvelope,
    /// An element the STS reads is missing.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// An element the STS reads appears twice.
    #[error("{0} appears more than once")]
    Duplicate(&'static str),
    /// The body holds something else than one `RequestSecurityToken`.
    #[error("the SOAP body must hold one wst:RequestSecurityToken")]
    NotRst,
    /// `RequestType` is not Issue.
    #[error("only the Issue request type is supported")]
    NotIssue,
    /// `TokenType` is none of the four.
    #[error("unsupported TokenType")]
    UnknownTokenType,
    /// The `BinarySecurityToken` is not base64 of a UTF-8 token, or too long.
    #[error("the BinarySecurityToken is not a base64-encoded token")]
    BadBinaryToken,
}

fn is(doc: &Doc, i: usize, uri: &str, local: &str) -> bool {
    doc.el(i).is_some_and(|e| e.local == local && e.ns == uri)
}

/// The one child element of `parent` named (one of `uris`, `local`).
fn one(
    doc: &Doc,
    parent: usize,
    uris: &[&str],
    local: &'static str,
) -> Result<Option<usize>, RstError> {
    let mut found = doc
        .children(parent)
        .filter(|&c| uris.iter().any(|u| is(doc, c, u, local)));
    let first = found.next();
    if found.next().is_some() {
        return Err(RstError::Duplicate(local));
    }
    Ok(first)
}

fn required(
    doc: &Doc,
    parent: usize,
    uris: &[&str],
    local: &'static str,
) -> Result<usize, RstError> {
    one(doc, parent, uris, local)?.ok_or(RstError::Missing(local))
}

/// The trimmed character data of an element.
fn text(doc: &Doc, i: usize) -> String {
    doc.el(i).map_or("", |e| e.text.trim()).to_owned()
}

fn attribute<'d>(doc: &'d Doc, i: usize, name: &str) -> Option<&'d str> {
    doc.el(i)?
        .attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Parses an RST from a request body.
pub fn parse(body: &[u8]) -> Result<Rst, RstError> {
    let doc = read(body, MAX_NODES as usize).map_err(|e| match e {
        ReadError::Dtd => RstError::Dtd,
        ReadError::NotXml => RstError::NotXml,
    })?;
    let env = doc.root().ok_or(RstError::NotXml)?;
    let soap = match doc.el(env) {
        Some(e) if e.local == "Envelope" => {
            SoapVersion::from_uri(&e.ns).ok_or(RstError::NotEnvelope)?
        }
        _ => return Err(RstError::NotEnvelope),
    };
    let s = [soap.ns().uri];
    let header = one(&doc, env, &s, "Header")?;
    let body_el = required(&doc, env, &s, "Body")?;
    let mut in_body = doc.children(body_el);
    let rst = match (in_body.next(), in_body.next()) {
        (Some(r), None) if is(&doc, r, WST.uri, "RequestSecurityToken") => r,
        _ => return Err(RstError::NotRst),
    };
    let wst = [WST.uri];
    if text(&doc, required(&doc, rst, &wst, "RequestType")?) != ISSUE {
        return Err(RstError::NotIssue);
    }
    let token_type = TokenType::parse(&text(&doc, required(&doc, rst, &wst, "TokenType")?))
        .ok_or(RstError::UnknownTokenType)?;
    let wsa = [WSA.uri, WSA_2004_URI];
    let applies = required(&doc, rst, &[WSP.uri, WSP12_URI], "AppliesTo")?;
    let epr = required(&doc, applies, &wsa, "EndpointReference")?;
    let applies_to = text(&doc, required(&doc, epr, &wsa, "Address")?);
    if applies_to.is_empty() {
        return Err(RstError::Missing("Address"));
    }
    let (message_id, binary_security_token) = match header {
        Some(h) => (
            one(&doc, h, &wsa, "MessageID")?
                .map(|m| text(&doc, m))
                .filter(|m| !m.is_empty()),
            binary_token(&doc, h)?,
        ),
        None => (None, None),
    };
    Ok(Rst {
        soap,
        token_type,
        applies_to,
        context: attribute(&doc, rst, "Context").map(str::to_owned),
        message_id,
        binary_security_token,
    })
}

/// `wsse:Security/wsse:BinarySecurityToken`, base64-decoded.
fn binary_token(doc: &Doc, header: usize) -> Result<Option<String>, RstError> {
    let Some(sec) = one(doc, header, &[WSSE.uri], "Security")? else {
        return Ok(None);
    };
    let Some(bst) = one(doc, sec, &[WSSE.uri], "BinarySecurityToken")? else {
        return Ok(None);
    };
    if attribute(doc, bst, "EncodingType").is_some_and(|e| e != BASE64_BINARY) {
        return Err(RstError::BadBinaryToken);
    }
    let b64: String = text(doc, bst).split_ascii_whitespace().collect();
    if b64.len() > MAX_TOKEN_BYTES * 4 / 3 + 4 {
        return Err(RstError::BadBinaryToken);
    }
    let bytes = STANDARD.decode(b64).map_err(|_| RstError::BadBinaryToken)?;
    let token = String::from_utf8(bytes).map_err(|_| RstError::BadBinaryToken)?;
    if token.is_empty() {
        return Err(RstError::BadBinaryToken);
    }
    Ok(Some(token))
}

#[cfg(test)]
#[path = "rst_tests.rs"]
mod tests;
