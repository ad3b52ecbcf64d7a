//! The namespaces (prefix and URI) of everything the STS writes. Within one
//! document a prefix names one URI (SOAP 1.1 and 1.2 share `s`, never in
//! the same document).

/// A namespace: the prefix the STS writes it with and its URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ns {
    /// Prefix (never empty: the STS writes no default namespace).
    pub prefix: &'static str,
    /// Namespace URI.
    pub uri: &'static str,
}

/// SOAP 1.1 envelope.
pub const SOAP11: Ns = Ns {
    prefix: "s",
    uri: "http://schemas.xmlsoap.org/soap/envelope/",
};
/// SOAP 1.2 envelope.
pub const SOAP12: Ns = Ns {
    prefix: "s",
    uri: "http://www.w3.org/2003/05/soap-envelope",
};
/// WS-Trust 1.3.
pub const WST: Ns = Ns {
    prefix: "wst",
    uri: "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
};
/// WS-Addressing 1.0.
pub const WSA: Ns = Ns {
    prefix: "wsa",
    uri: "http://www.w3.org/2005/08/addressing",
};
/// WS-Policy 1.5 (`wsp:AppliesTo`).
pub const WSP: Ns = Ns {
    prefix: "wsp",
    uri: "http://www.w3.org/ns/ws-policy",
};
/// WS-Policy 1.2 (older clients send `AppliesTo` in this one).
pub const WSP12_URI: &str = "http://schemas.xmlsoap.org/ws/2004/09/policy";
/// WS-Security 1.0 secext.
pub const WSSE: Ns = Ns {
    prefix: "wsse",
    uri: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
};
/// WS-Security 1.0 utility (`wsu:Created`, `wsu:Expires`).
pub const WSU: Ns = Ns {
    prefix: "wsu",
    uri: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
};
/// SAML 2.0 assertion.
pub const SAML: Ns = Ns {
    prefix: "saml",
    uri: "urn:oasis:names:tc:SAML:2.0:assertion",
};
/// XML Signature.
pub const DS: Ns = Ns {
    prefix: "ds",
    uri: "http://www.w3.org/2000/09/xmldsig#",
};
/// No namespace: an unqualified element (SOAP 1.1 `faultcode`).
pub const NONE: Ns = Ns {
    prefix: "",
    uri: "",
};
/// The `xml` namespace (`xml:lang`), declared by XML itself.
pub const XML: Ns = Ns {
    prefix: "xml",
    uri: "http://www.w3.org/XML/1998/namespace",
};
