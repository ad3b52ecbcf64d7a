//! SOAP 1.1 and 1.2 as the STS speaks them: which version a request used,
//! the content type of the answer, and the envelope around it (with the
//! WS-Addressing `Action` and, when the request had a `MessageID`,
//! `RelatesTo`).

use super::xml::c14n;
use super::xml::ns::{Ns, SOAP11, SOAP12, WSA};
use super::xml::{Element, XmlError};

/// A SOAP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    /// SOAP 1.1 (`text/xml`).
    V11,
    /// SOAP 1.2 (`application/soap+xml`).
    V12,
}

impl SoapVersion {
    /// The envelope namespace.
    pub fn ns(self) -> Ns {
        match self {
            SoapVersion::V11 => SOAP11,
            SoapVersion::V12 => SOAP12,
        }
    }

    /// The version whose envelope namespace is `uri`.
    pub fn from_uri(uri: &str) -> Option<SoapVersion> {
        [SoapVersion::V11, SoapVersion::V12]
            .into_iter()
            .find(|v| v.ns().uri == uri)
    }

    /// The version a request's `content-type` names (SOAP 1.1 unless it is
    /// `application/soap+xml`): how a fault is written when the body
    /// cannot tell.
    pub fn from_content_type(content_type: Option<&str>) -> SoapVersion {
        let media = content_type
            .and_then(|c| c.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase());
        match media.as_deref() {
            Some("application/soap+xml") => SoapVersion::V12,
            _ => SoapVersion::V11,
        }
    }

    /// `content-type` of an answer.
    pub fn content_type(self) -> &'static str {
        match self {
            SoapVersion::V11 => "text/xml; charset=utf-8",
            SoapVersion::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// The envelope of an answer: `action` and `relates_to` in the header,
/// `body` the one child of `s:Body`. The XML declaration comes first.
pub fn envelope(
    version: SoapVersion,
    action: &str,
    relates_to: Option<&str>,
    body: Element,
) -> Result<String, XmlError> {
    let s = version.ns();
    let mut header = Element::new(s, "Header")
        .declaring(WSA)
        .child(Element::new(WSA, "Action").text(action)?);
    if let Some(id) = relates_to {
        header = header.child(Element::new(WSA, "RelatesTo").text(id)?);
    }
    let env = Element::new(s, "Envelope")
        .child(header)
        .child(Element::new(s, "Body").child(body));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    c14n::write_in(&env, &mut Vec::new(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_content_type() {
        use SoapVersion::*;
        assert_eq!(
            SoapVersion::from_content_type(Some(
                "application/soap+xml; charset=utf-8; action=\"x\""
            )),
            V12
        );
        assert_eq!(
            SoapVersion::from_content_type(Some("Application/SOAP+XML")),
            V12
        );
        assert_eq!(SoapVersion::from_content_type(Some("text/xml")), V11);
        assert_eq!(SoapVersion::from_content_type(None), V11);
        assert_eq!(SoapVersion::from_uri(SOAP12.uri), Some(V12));
        assert_eq!(SoapVersion::from_uri("urn:x"), None);
    }
}
