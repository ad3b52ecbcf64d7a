//! The WS-Trust endpoint's request side, sans-IO: which requests it
//! answers ([`is_endpoint`]), the checks before the caller is known (method,
//! body size, the RST itself: [`read`]), where the caller's OAuth access
//! token is ([`caller_token`]), and what the STS may issue for whom
//! ([`allowed`]). Every refusal is a [`Refusal`]: a WS-Trust fault in the
//! request's SOAP version, never a 500.

use super::config::{AppliesTo, Sts, TokenSource};
use super::fault::{Fault, WstFault};
use super::rst::{self, Rst, RstError};
use super::soap::SoapVersion;
use crate::core::request::RequestView;
use crate::core::response::LocalReply;

/// A request the STS refuses: the fault, in which SOAP version, answering
/// which `MessageID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The envelope version of the answer.
    pub soap: SoapVersion,
    /// The fault.
    pub fault: Fault,
    /// The request's `wsa:MessageID`, if it was read.
    pub relates_to: Option<String>,
    /// `allow` header (a method other than POST).
    pub allow: bool,
}

impl Refusal {
    fn new(soap: SoapVersion, code: WstFault, status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            soap,
            fault: Fault::new(code, status, reason),
            relates_to: None,
            allow: false,
        }
    }

    /// A refusal of a request already read as `rst`.
    pub fn of(rst: &Rst, code: WstFault, status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            relates_to: rst.message_id.clone(),
            ..Refusal::new(rst.soap, code, status, reason)
        }
    }

    /// The local answer.
    pub fn reply(&self) -> LocalReply {
        let a = self.fault.answer(self.soap, self.relates_to.as_deref());
        let mut headers = vec![
            ("content-type".to_owned(), a.content_type.to_owned()),
            ("cache-control".to_owned(), "no-store".to_owned()),
        ];
        if self.allow {
            headers.push(("allow".to_owned(), "POST".to_owned()));
        }
        LocalReply {
            status: a.status,
            headers,
            body: a.body,
        }
    }
}

/// A successful answer (an RSTR collection).
pub fn answer(soap: SoapVersion, body: String) -> LocalReply {
    LocalReply {
        status: 200,
        headers: vec![
            ("content-type".to_owned(), soap.content_type().to_owned()),
            ("cache-control".to_owned(), "no-store".to_owned()),
        ],
        body,
    }
}

/// Whether `normalized` (the checked, possibly case-folded path) is the
/// endpoint's.
pub fn is_endpoint(sts: &Sts, normalized: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        sts.path.eq_ignore_ascii_case(normalized)
    } else {
        sts.path == normalized
    }
}

/// The SOAP version a fault is written in before the envelope is read.
fn version_of(req: &RequestView<'_>) -> SoapVersion {
    SoapVersion::from_content_type(req.header("content-type"))
}

/// The RST of a request to the endpoint: POST, a body within
/// `max_body_bytes`, a well-formed issue request.
pub fn read(sts: &Sts, req: &RequestView<'_>, body: Option<&[u8]>) -> Result<Rst, Refusal> {
    let soap = version_of(req);
    if req.method != "POST" {
        let mut r = Refusal::new(
            soap,
            WstFault::InvalidRequest,
            405,
            "the token service accepts POST only",
        );
        r.allow = true;
        return Err(r);
    }
    let body = body.unwrap_or_default();
    if body.len() > sts.max_body_bytes {
        return Err(Refusal::new(
            soap,
            WstFault::InvalidRequest,
            413,
            format!(
                "the request body is larger than sts.max_body_bytes ({})",
                sts.max_body_bytes
            ),
        ));
    }
    rst::parse(body).map_err(|e| {
        let code = match e {
            RstError::NotIssue | RstError::UnknownTokenType => WstFault::BadRequest,
            _ => WstFault::InvalidRequest,
        };
        Refusal::new(soap, code, 400, e.to_string())
    })
}

/// The caller's access token: `Authorization: Bearer` or the SOAP header's
/// `BinarySecurityToken`, from the sources `sts.token_from` allows. Both
/// present must agree.
pub fn caller_token<'a>(
    sts: &Sts,
    req: &RequestView<'a>,
    rst: &'a Rst,
) -> Result<&'a str, Refusal> {
    let bearer = if sts.token_from.contains(&TokenSource::Authorization) {
        match req.header_values("authorization").as_slice() {
            [] => None,
            [one] => match one.split_once(' ') {
                Some((scheme, t))
                    if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() =>
                {
                    Some(t.trim())
                }
                _ => {
                    return Err(Refusal::of(
                        rst,
                        WstFault::FailedAuthentication,
                        401,
                        "the Authorization header is not a Bearer token",
                    ))
                }
            },
            _ => {
                return Err(Refusal::of(
                    rst,
                    WstFault::InvalidRequest,
                    400,
                    "more than one Authorization header",
                ))
            }
        }
    } else {
        None
    };
    let binary = if sts.token_from.contains(&TokenSource::BinarySecurityToken) {
        rst.binary_security_token.as_deref()
    } else {
        None
    };
    match (bearer, binary) {
        (Some(a), Some(b)) if a != b => Err(Refusal::of(
            rst,
            WstFault::InvalidRequest,
            400,
            "the Authorization header and the BinarySecurityToken carry different tokens",
        )),
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => Err(Refusal::of(
            rst,
            WstFault::FailedAuthentication,
            401,
            "no OAuth access token (Authorization: Bearer or wsse:BinarySecurityToken)",
        )),
    }
}

/// The token endpoint `rst` applies to, if the STS issues its token type
/// for it.
pub fn allowed<'s>(sts: &'s Sts, rst: &Rst) -> Result<&'s AppliesTo, Refusal> {
    if !sts.issues(rst.token_type) {
        return Err(Refusal::of(
            rst,
            WstFault::BadRequest,
            400,
            "this TokenType is not issued here (sts.token_types)",
        ));
    }
    sts.endpoint(&rst.applies_to).ok_or_else(|| {
        Refusal::of(
            rst,
            WstFault::InvalidScope,
            403,
            "AppliesTo names no allowed token endpoint (sts.applies_to)",
        )
    })
}
