//! The answer to an issue request: a `RequestSecurityTokenResponseCollection`
//! with one `RequestSecurityTokenResponse` (WS-Trust 1.3 §4.4): its
//! `TokenType`, the `RequestedSecurityToken`, the `AppliesTo` it is for and
//! its `Lifetime`.
//!
//! What `RequestedSecurityToken` holds, by token type:
//!
//! - JWT bearer: a `wsse:BinarySecurityToken` with `ValueType`
//!   `urn:ietf:params:oauth:token-type:jwt`, the JWT base64-encoded;
//! - SAML 2.0 bearer: the signed `saml:Assertion` element itself (the
//!   caller base64url-encodes its bytes for the grant, RFC 7522 §2.1);
//! - the two via types: a `wsse:BinarySecurityToken` whose `ValueType` is
//!   the token type and whose content is the AS's token response (the JSON
//!   document, RFC 6749 §5.1), base64-encoded.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::rst::Rst;
use super::soap::envelope;
use super::xml::ns::{WSA, WSP, WSSE, WST, WSU};
use super::xml::{Element, XmlError};
use crate::core::util::time::UnixMillis;

/// WS-Addressing action of the answer to an issue request.
pub const ISSUE_FINAL: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal";
/// `ValueType` of a JWT in a `BinarySecurityToken` (RFC 8693 §3).
pub const JWT_VALUE_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const BASE64_BINARY: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/// What the STS issued.
#[derive(Debug, Clone)]
pub enum Issued {
    /// A JWT (compact).
    Jwt(String),
    /// A signed SAML assertion.
    Saml(Element),
    /// The AS's token response (JSON) for a via type.
    TokenResponse(String),
}

fn binary_token(value_type: &str, content: &[u8]) -> Result<Element, XmlError> {
    Element::new(WSSE, "BinarySecurityToken")
        .attr("EncodingType", BASE64_BINARY)?
        .attr("ValueType", value_type)?
        .text(&STANDARD.encode(content))
}

/// The answer envelope to `rst`: `issued`, valid from `created` to
/// `expires`.
pub fn answer(
    rst: &Rst,
    issued: Issued,
    created: UnixMillis,
    expires: UnixMillis,
) -> Result<String, XmlError> {
    let token = match issued {
        Issued::Jwt(jwt) => binary_token(JWT_VALUE_TYPE, jwt.as_bytes())?,
        Issued::Saml(assertion) => assertion,
        Issued::TokenResponse(json) => binary_token(rst.token_type.uri(), json.as_bytes())?,
    };
    let mut rstr = Element::new(WST, "RequestSecurityTokenResponse");
    if let Some(c) = &rst.context {
        rstr = rstr.attr("Context", c)?;
    }
    let rstr = rstr
        .child(Element::new(WST, "TokenType").text(rst.token_type.uri())?)
        .child(Element::new(WST, "RequestedSecurityToken").child(token))
        .child(applies_to(&rst.applies_to)?)
        .child(
            Element::new(WST, "Lifetime")
                .child(Element::new(WSU, "Created").text(&created.rfc3339())?)
                .child(Element::new(WSU, "Expires").text(&expires.rfc3339())?),
        );
    let collection = Element::new(WST, "RequestSecurityTokenResponseCollection").child(rstr);
    envelope(rst.soap, ISSUE_FINAL, rst.message_id.as_deref(), collection)
}

fn applies_to(address: &str) -> Result<Element, XmlError> {
    Ok(Element::new(WSP, "AppliesTo").child(
        Element::new(WSA, "EndpointReference").child(Element::new(WSA, "Address").text(address)?),
    ))
}
