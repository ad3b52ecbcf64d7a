//! The SAML 2.0 bearer assertion the STS mints for an RFC 7522 grant:
//! [`assertion`] builds it, [`signature`] signs it (enveloped XML
//! signature, RSA-SHA256 over exclusive canonicalisation), [`mint`] does
//! both and gives the XML and the base64url grant value.

pub mod assertion;
pub mod signature;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::key::StsKey;
use super::mint::{MintError, Statement};
use super::xml::Element;

/// `NameID` format when none is configured.
pub const DEFAULT_NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// A signed assertion.
#[derive(Debug, Clone)]
pub struct SignedAssertion {
    /// The `saml:Assertion` element (put into an RSTR as it is).
    pub element: Element,
    /// Its XML (no declaration, canonical form).
    pub xml: String,
}

impl SignedAssertion {
    /// The value of the `assertion` parameter (RFC 7522 §2.1: base64url,
    /// no padding).
    pub fn grant_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.xml)
    }
}

/// Builds and signs the assertion `st` describes.
pub fn mint(
    key: &StsKey,
    st: &Statement<'_>,
    name_id_format: &str,
    certificate: Option<&[u8]>,
) -> Result<SignedAssertion, MintError> {
    let unsigned = assertion::build(st, name_id_format)?;
    let element = signature::sign_enveloped(unsigned, st.id, key, certificate)?;
    let xml = super::xml::c14n::canonical(&element);
    Ok(SignedAssertion { element, xml })
}
