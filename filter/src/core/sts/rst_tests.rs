//! RST parsing: both SOAP versions, the header parts, every refusal.

use super::*;

const S11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const S12: &str = "http://www.w3.org/2003/05/soap-envelope";
const JWT_TT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn rst(soap: &str, header: &str, rst_body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="{soap}" xmlns:wsa="http://www.w3.org/2005/08/addressing"
  xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
  <soap:Header>{header}</soap:Header>
  <soap:Body>
    <t:RequestSecurityToken xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512" Context="ctx-1">{rst_body}</t:RequestSecurityToken>
  </soap:Body>
</soap:Envelope>"#
    )
}

fn issue(tt: &str, address: &str) -> String {
    format!(
        r#"<t:RequestType>
        http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue </t:RequestType>
      <t:TokenType>{tt}</t:TokenType>
      <wsp:AppliesTo xmlns:wsp="http://www.w3.org/ns/ws-policy">
        <wsa:EndpointReference><wsa:Address>{address}</wsa:Address></wsa:EndpointReference>
      </wsp:AppliesTo>"#
    )
}

fn bst(b64: &str) -> String {
    format!(
        r#"<wsa:MessageID>urn:uuid:42</wsa:MessageID><wsse:Security><wsse:BinarySecurityToken
        ValueType="urn:pingidentity.com:oauth2:grant_type:validate_bearer"
        EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{b64}</wsse:BinarySecurityToken></wsse:Security>"#
    )
}

#[test]
fn soap11_with_binary_security_token() {
    let body = rst(
        S11,
        &bst("YWNj\n ZXNz"),
        &issue(JWT_TT, " https://as/token "),
    );
    let r = parse(body.as_bytes()).unwrap();
    assert_eq!(r.soap, SoapVersion::V11);
    assert_eq!(r.token_type, TokenType::JwtBearer);
    assert_eq!(r.applies_to, "https://as/token");
    assert_eq!(r.context.as_deref(), Some("ctx-1"));
    assert_eq!(r.message_id.as_deref(), Some("urn:uuid:42"));
    assert_eq!(r.binary_security_token.as_deref(), Some("access"));
}

#[test]
fn entities_cdata_and_comments_in_text() {
    let addr = "https://as/token?a=1&amp;b=&#x32;<!-- c --><![CDATA[&x]]>";
    let r = parse(rst(S11, "", &issue(JWT_TT, addr)).as_bytes()).unwrap();
    assert_eq!(r.applies_to, "https://as/token?a=1&b=2&x");
}

#[test]
fn soap12_every_token_type_and_older_namespaces() {
    for t in TokenType::ALL {
        let old = issue(t.uri(), "https://as/token")
            .replace("http://www.w3.org/ns/ws-policy", WSP12_URI)
            .replace("<wsa:EndpointReference>", "<a:EndpointReference xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\">")
            .replace("</wsa:EndpointReference>", "</a:EndpointReference>")
            .replace("wsa:Address", "a:Address");
        let r = parse(rst(S12, "", &old).as_bytes()).unwrap();
        assert_eq!((r.soap, r.token_type), (SoapVersion::V12, t));
        assert_eq!(r.binary_security_token, None);
        assert_eq!(r.message_id, None);
    }
}

#[test]
fn refusals() {
    let ok = issue(JWT_TT, "https://as/token");
    let cases: Vec<(String, RstError)> = vec![
        ("not xml".into(), RstError::NotXml),
        (
            String::from_utf8_lossy(&[0xff, 0xfe]).into_owned(),
            RstError::NotXml,
        ),
        (
            format!(
                "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
                rst(S11, "", &ok).replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "")
            ),
            RstError::Dtd,
        ),
        ("<Envelope/>".into(), RstError::NotEnvelope),
        (format!("{}<x/>", rst(S11, "", &ok)), RstError::NotXml),
        (format!("{} text", rst(S11, "", &ok)), RstError::NotXml),
        (rst(S11, "<a></b>", &ok), RstError::NotXml),
        (rst(S11, "<a>", &ok), RstError::NotXml),
        (rst(S11, "<a>&ext;</a>", &ok), RstError::NotXml),
        (rst(S11, "<u:a/>", &ok), RstError::NotXml),
        (
            rst(S11, "", &ok).replace("</soap:Envelope>", ""),
            RstError::NotXml,
        ),
        (rst("urn:other", "", &ok), RstError::NotEnvelope),
        (
            rst(S11, "", &ok).replace("RequestSecurityToken", "RequestSecurityTokenCollection"),
            RstError::NotRst,
        ),
        (
            rst(S11, "", &ok).replace("/Issue", "/Renew"),
            RstError::NotIssue,
        ),
        (
            rst(S11, "", &ok.replace(JWT_TT, "urn:x")),
            RstError::UnknownTokenType,
        ),
        (
            rst(S11, "", &format!("{ok}<t:TokenType>{JWT_TT}</t:TokenType>")),
            RstError::Duplicate("TokenType"),
        ),
        (
            rst(S11, "", &ok.replace("https://as/token", "  ")),
            RstError::Missing("Address"),
        ),
        (
            rst(S11, "", &ok.replace("AppliesTo", "Scope")),
            RstError::Missing("AppliesTo"),
        ),
        (rst(S11, &bst("!!"), &ok), RstError::BadBinaryToken),
        (rst(S11, &bst(""), &ok), RstError::BadBinaryToken),
        (rst(S11, &bst("/w=="), &ok), RstError::BadBinaryToken),
        (
            rst(
                S11,
                &bst("YQ==").replace("#Base64Binary", "#HexBinary"),
                &ok,
            ),
            RstError::BadBinaryToken,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(parse(body.as_bytes()), Err(want.clone()), "{body}");
    }
}

#[test]
fn billion_laughs_and_external_entities_are_refused_before_expansion() {
    let lol = r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>"#;
    assert_eq!(parse(lol.as_bytes()), Err(RstError::Dtd));
    let xxe =
        r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]><l>&x;</l>"#;
    assert_eq!(parse(xxe.as_bytes()), Err(RstError::Dtd));
}

#[test]
fn node_count_is_bounded() {
    let many = "<x/>".repeat(MAX_NODES as usize);
    let body = rst(S11, &many, &issue(JWT_TT, "https://as/token"));
    assert_eq!(parse(body.as_bytes()), Err(RstError::NotXml));
}
