//! WS-Trust 1.3 faults (§11) in a SOAP 1.1 or 1.2 envelope: the STS's
//! answer to every request it cannot serve, with an HTTP status that is
//! never 500 (a 500 would read as the gateway failing; the SOAP 1.1 HTTP
//! binding's 500-for-faults is deliberately not followed, clients read the
//! fault from the body whatever the status).

use super::soap::{envelope, SoapVersion};
use super::xml::ns::{NONE, WST, XML};
use super::xml::Element;

/// WS-Addressing action of a fault.
pub const FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";

/// The WS-Trust fault codes the STS sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WstFault {
    /// The request was invalid or malformed.
    InvalidRequest,
    /// Authentication failed (no token, or the token was refused).
    FailedAuthentication,
    /// The specified request failed (minting, or the AS).
    RequestFailed,
    /// Security token could not be authenticated or authorized.
    InvalidSecurityToken,
    /// The RequestSecurityToken is not understood (request type).
    BadRequest,
    /// The request scope is invalid (AppliesTo not allowed).
    InvalidScope,
}

impl WstFault {
    /// Local name in the WS-Trust namespace.
    pub fn local(self) -> &'static str {
        match self {
            WstFault::InvalidRequest => "InvalidRequest",
            WstFault::FailedAuthentication => "FailedAuthentication",
            WstFault::RequestFailed => "RequestFailed",
            WstFault::InvalidSecurityToken => "InvalidSecurityToken",
            WstFault::BadRequest => "BadRequest",
            WstFault::InvalidScope => "InvalidScope",
        }
    }

    /// The reason in metric names (`oauth_filter_denied_sts_…`).
    pub fn reason(self) -> &'static str {
        match self {
            WstFault::InvalidRequest => "sts_invalid_request",
            WstFault::FailedAuthentication => "sts_failed_authentication",
            WstFault::RequestFailed => "sts_request_failed",
            WstFault::InvalidSecurityToken => "sts_invalid_security_token",
            WstFault::BadRequest => "sts_bad_request",
            WstFault::InvalidScope => "sts_invalid_scope",
        }
    }

    /// Whether the sender is at fault (SOAP 1.2 `Sender`, else `Receiver`).
    pub fn is_sender(self) -> bool {
        !matches!(self, WstFault::RequestFailed)
    }
}

/// A fault to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The WS-Trust code.
    pub code: WstFault,
    /// The HTTP status (400, 401, 403, 405, 413, 502, 503, 504).
    pub status: u16,
    /// `faultstring` / `Reason` (no secrets, no token material).
    pub reason: String,
}

/// A fault answer ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultAnswer {
    /// HTTP status.
    pub status: u16,
    /// `content-type`.
    pub content_type: &'static str,
    /// The SOAP envelope.
    pub body: String,
}

impl Fault {
    /// A fault.
    pub fn new(code: WstFault, status: u16, reason: impl Into<String>) -> Fault {
        Fault {
            code,
            status,
            reason: reason.into(),
        }
    }

    /// The envelope in `version`.
    pub fn answer(&self, version: SoapVersion, relates_to: Option<&str>) -> FaultAnswer {
        let body = self
            .envelope(version, relates_to)
            // Only an unusable reason or message id can fail: fall back to
            // the bare code, which always writes.
            .or_else(|_| Fault::new(self.code, self.status, "").envelope(version, None))
            .unwrap_or_default();
        FaultAnswer {
            status: self.status,
            content_type: version.content_type(),
            body,
        }
    }

    fn envelope(
        &self,
        version: SoapVersion,
        relates_to: Option<&str>,
    ) -> Result<String, super::xml::XmlError> {
        let s = version.ns();
        let code = format!("{}:{}", WST.prefix, self.code.local());
        let fault = match version {
            SoapVersion::V11 => Element::new(s, "Fault")
                .child(Element::new(NONE, "faultcode").declaring(WST).text(&code)?)
                .child(Element::new(NONE, "faultstring").text(&self.reason)?),
            SoapVersion::V12 => {
                let class = if self.code.is_sender() {
                    "s:Sender"
                } else {
                    "s:Receiver"
                };
                Element::new(s, "Fault")
                    .child(
                        Element::new(s, "Code")
                            .child(Element::new(s, "Value").text(class)?)
                            .child(
                                Element::new(s, "Subcode")
                                    .child(Element::new(s, "Value").declaring(WST).text(&code)?),
                            ),
                    )
                    .child(
                        Element::new(s, "Reason").child(
                            Element::new(s, "Text")
                                .ns_attr(XML, "lang", "en")?
                                .text(&self.reason)?,
                        ),
                    )
            }
        };
        envelope(version, FAULT_ACTION, relates_to, fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap11_fault() {
        let a = Fault::new(WstFault::InvalidScope, 403, "AppliesTo <x> not allowed")
            .answer(SoapVersion::V11, Some("urn:uuid:1"));
        assert_eq!(a.status, 403);
        assert_eq!(a.content_type, "text/xml; charset=utf-8");
        assert!(a.body.contains(concat!(
            "<s:Fault><faultcode xmlns:wst=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">",
            "wst:InvalidScope</faultcode><faultstring>AppliesTo &lt;x&gt; not allowed</faultstring></s:Fault>"
        )), "{}", a.body);
        assert!(a.body.contains("<wsa:RelatesTo>urn:uuid:1</wsa:RelatesTo>"));
    }

    #[test]
    fn soap12_fault() {
        let a = Fault::new(WstFault::RequestFailed, 502, "the AS refused")
            .answer(SoapVersion::V12, None);
        assert_eq!(a.content_type, "application/soap+xml; charset=utf-8");
        assert!(a.body.contains(concat!(
            "<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value xmlns:wst=",
            "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\">wst:RequestFailed</s:Value></s:Subcode></s:Code>",
            "<s:Reason><s:Text xml:lang=\"en\">the AS refused</s:Text></s:Reason>"
        )), "{}", a.body);
        assert!(!a.body.contains("RelatesTo"));
    }

    #[test]
    fn unwritable_reason_still_gives_a_fault() {
        let a =
            Fault::new(WstFault::InvalidRequest, 400, "bad\u{0}").answer(SoapVersion::V11, None);
        assert!(a.body.contains("wst:InvalidRequest"), "{}", a.body);
    }
}
