//! Issue 14, the security token service: the module answers a WS-Trust 1.3
//! endpoint in Envoy (`envoy/sts.yaml`) and oauth-host with the same plugin
//! configuration. A web service client (this test, building raw SOAP 1.1
//! and 1.2 envelopes) proves who it is with an access token of the real
//! oidc-provider (`tests/as`), validated by the resource server's
//! `providers`, and gets a JWT (RFC 7523) or a signed SAML 2.0 assertion
//! (RFC 7522) for a token endpoint of the allow-list; bad requests get
//! WS-Trust faults. Every request goes through both proxies, whose answers
//! must agree.
//!
//! `#[ignore]`d for a plain `cargo test`; `cargo xtask test` runs it (`--include-ignored`).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth_tests::peers::{self, AuthServer, AuthServerOptions, HttpResponse};
use oauth_tests::two_proxies::Stack;
use serde_json::{json, Value};

const STS_PATH: &str = "/sts/wst13";
const ISSUER: &str = "https://gateway.test/sts";
const MAX_BODY: usize = 8192;
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SAML2_BEARER: &str = "urn:ietf:params:oauth:grant-type:saml2-bearer";
const VIA_JWT_BEARER: &str =
    "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:jwt-bearer";
const VIA_SAML2_BEARER: &str =
    "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:saml2-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ISSUE: &str = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue";
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// An address not on the allow-list.
const ELSEWHERE: &str = "https://elsewhere.test/token";

/// The STS key pair and certificate (test fixtures shared with the
/// filter's STS tests).
fn keys() -> Value {
    serde_json::from_str(include_str!("../../filter/tests/sts/keys.json")).unwrap()
}

/// The signing key reaches both proxies as a VM environment variable: the
/// same value as `envoy/sts.yaml`'s `STS_SIGNING_KEY`.
fn signing_key_env() -> String {
    keys()["rsa"]["private"].to_string()
}

fn token_endpoint(auth: &AuthServer) -> String {
    auth.url("/token")
}

fn plugin(auth: &AuthServer) -> Value {
    json!({
        "realm": "e2e",
        "require_https": false,
        "providers": [{
            "name": "as",
            "issuer": auth.issuer(),
            "audiences": [peers::RESOURCE_JWT],
            "jwks": { "discovery": { "cluster": "auth_server" } },
        }],
        "sts": {
            "path": STS_PATH,
            "max_body_bytes": MAX_BODY,
            "issuer": ISSUER,
            "signing_key": { "env": "STS_SIGNING_KEY" },
            "saml": { "certificate": keys()["rsa"]["certificate_pem"] },
            "mapping": { "attributes": [ { "claim": "tenant" }, { "claim": "roles", "name": "role" } ] },
            "applies_to": [{
                "address": token_endpoint(auth),
                "cluster": "auth_server",
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": "sts-client",
                    "client_secret": "sts-client-secret",
                },
            }],
            // REST token sources (no SOAP): the upstream gets a token of
            // the AS obtained on behalf of the caller.
            "token_sources": [
                {"name": "exchange", "path_prefix": "/rest/exchange", "token_endpoint": token_endpoint(auth),
                 "grant": {"type": "token_exchange", "requested_token_type": ACCESS_TOKEN_TYPE,
                           "actor_token": auth.token(peers::RESOURCE_JWT, "read")}},
                {"name": "jwt", "path_prefix": "/rest/jwt", "token_endpoint": token_endpoint(auth),
                 "grant": {"type": "jwt_bearer"}},
                {"name": "saml", "path_prefix": "/rest/saml", "token_endpoint": token_endpoint(auth),
                 "grant": {"type": "saml2_bearer"}},
            ],
        },
        "tick_ms": 100,
    })
}

fn stack(test: &str) -> Option<Stack> {
    let key = signing_key_env();
    Stack::start_with_env(
        test,
        AuthServerOptions::default(),
        "sts.yaml",
        &[("STS_SIGNING_KEY", key.as_str())],
        plugin,
    )
}

/// SOAP version of an envelope built here.
#[derive(Debug, Clone, Copy)]
enum Soap {
    V11,
    V12,
}

impl Soap {
    fn ns(self) -> &'static str {
        match self {
            Soap::V11 => SOAP11,
            Soap::V12 => SOAP12,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Soap::V11 => "text/xml; charset=utf-8",
            Soap::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// What goes into an RST.
struct Rst<'a> {
    soap: Soap,
    request_type: &'a str,
    token_type: &'a str,
    applies_to: &'a str,
    /// The caller's token in `wsse:BinarySecurityToken`.
    binary_token: Option<&'a str>,
}

impl Rst<'_> {
    fn xml(&self) -> String {
        let security = self.binary_token.map_or(String::new(), |t| {
            format!(
                "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">\
                 <wsse:BinarySecurityToken ValueType=\"urn:ietf:params:oauth:token-type:access_token\" \
                 EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}\
                 </wsse:BinarySecurityToken></wsse:Security>",
                STANDARD.encode(t)
            )
        });
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <s:Envelope xmlns:s=\"{ns}\" xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">\
             <s:Header><wsa:Action>http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue</wsa:Action>\
             <wsa:MessageID>urn:uuid:6a4f0c1e-0000-4000-8000-000000000014</wsa:MessageID>{security}</s:Header>\
             <s:Body><wst:RequestSecurityToken xmlns:wst=\"http://docs.oasis-open.org/ws-sx/ws-trust/200512\" Context=\"ctx-1\">\
             <wst:RequestType>{rt}</wst:RequestType><wst:TokenType>{tt}</wst:TokenType>\
             <wsp:AppliesTo xmlns:wsp=\"http://www.w3.org/ns/ws-policy\"><wsa:EndpointReference>\
             <wsa:Address>{to}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>\
             </wst:RequestSecurityToken></s:Body></s:Envelope>",
            ns = self.soap.ns(),
            rt = self.request_type,
            tt = self.token_type,
            to = self.applies_to,
        )
    }
}

/// An answer as both proxies must give it.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    /// The WS-Trust fault code (`wst:…`), for faults.
    fault: Option<String>,
    /// Whether the upstream answered (it never should: the STS answers).
    reached_upstream: bool,
}

impl Answer {
    fn of(r: &HttpResponse) -> Answer {
        let text = r.text();
        Answer {
            status: r.status,
            content_type: r.header("content-type").map(str::to_owned),
            fault: fault_code(&text),
            reached_upstream: text.contains("\"headers\""),
        }
    }
}

fn fault_code(body: &str) -> Option<String> {
    let start = body.find("wst:")?;
    let rest = &body[start..];
    let code: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
        .collect();
    (body.contains("Fault>") && code.len() > 4).then_some(code)
}

/// POST `body` to the endpoint through both proxies with `headers`: both
/// answers, once their status, content type and fault code agree.
fn post(
    s: &Stack,
    soap: Soap,
    body: &[u8],
    extra: &[(&str, &str)],
) -> [(&'static str, HttpResponse); 2] {
    let mut headers = vec![("content-type", soap.content_type())];
    headers.extend_from_slice(extra);
    let send = |port: u16, who: &str| {
        peers::http_request(port, "POST", STS_PATH, &headers, body)
            .unwrap_or_else(|e| panic!("{who}: POST {STS_PATH}: {e}"))
    };
    let envoy = send(s.envoy.listener_port(), "envoy");
    let host = send(s.host.port(), "oauth-host");
    assert_eq!(
        Answer::of(&envoy),
        Answer::of(&host),
        "Envoy (left) and oauth-host (right) differ:\n{}\n---\n{}",
        envoy.text(),
        host.text()
    );
    [("envoy", envoy), ("oauth-host", host)]
}

/// The text between `<…{open}…>` and the next `<`.
fn element_text<'a>(xml: &'a str, open: &str) -> Option<&'a str> {
    let at = xml.find(open)?;
    let rest = &xml[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(&rest[start..start + end])
}

/// The STS's client at the AS (`tests/as/server.mjs`).
const STS_CLIENT: (&str, &str) = ("sts-client", "sts-client-secret");

/// Redeems `assertion` at the AS's token endpoint as the STS's client would.
fn redeem(auth: &AuthServer, grant_type: &str, assertion: &str) -> HttpResponse {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", STS_CLIENT.0, STS_CLIENT.1))
    );
    let body = format!(
        "grant_type={}&assertion={}",
        grant_type.replace(':', "%3A"),
        assertion
    );
    auth.request(
        "POST",
        "/token",
        &[
            ("authorization", basic.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

/// Token requests of the STS's client with `grant_type` the AS saw.
fn grants_seen(auth: &AuthServer, grant_type: &str) -> u64 {
    let counts = auth
        .request("GET", "/_test/token-requests", &[], b"")
        .json();
    counts[format!("{} {grant_type}", STS_CLIENT.0)]
        .as_u64()
        .unwrap_or(0)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A JWT the STS issued, verified with the STS's public key (jsonwebtoken,
/// ring): its claims.
fn verify_minted_jwt(jwt: &str, audience: &str) -> Value {
    let public = &keys()["rsa"]["public"];
    let key = DecodingKey::from_rsa_components(
        public["n"].as_str().unwrap(),
        public["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[ISSUER]);
    jsonwebtoken::decode::<Value>(jwt, &key, &v)
        .unwrap_or_else(|e| panic!("minted JWT does not verify: {e}"))
        .claims
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn assertions_issued_over_soap_11_and_12_through_both_proxies() {
    let Some(s) = stack("sts_assertions_issued") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    let endpoint = token_endpoint(&s.auth);
    for soap in [Soap::V11, Soap::V12] {
        for (token_type, in_header) in [(JWT_BEARER, true), (SAML2_BEARER, false)] {
            let rst = Rst {
                soap,
                request_type: ISSUE,
                token_type,
                applies_to: &endpoint,
                binary_token: (!in_header).then_some(caller.as_str()),
            };
            let auth = bearer(&caller);
            let extra: Vec<(&str, &str)> = if in_header {
                vec![("authorization", auth.as_str())]
            } else {
                Vec::new()
            };
            for (proxy, r) in post(&s, soap, rst.xml().as_bytes(), &extra) {
                let text = r.text();
                let case = format!("{proxy} {soap:?} {token_type}");
                assert_eq!(r.status, 200, "{case}: {text}");
                assert_eq!(
                    r.header("content-type"),
                    Some(soap.content_type()),
                    "{case}"
                );
                assert!(
                    text.contains(&format!("<s:Envelope xmlns:s=\"{}\"", soap.ns())),
                    "{case}: {text}"
                );
                assert!(
                    text.contains("RequestSecurityTokenResponseCollection"),
                    "{case}"
                );
                assert!(text.contains("Context=\"ctx-1\""), "{case}");
                assert!(text.contains("<wsa:RelatesTo>urn:uuid:6a4f0c1e-0000-4000-8000-000000000014</wsa:RelatesTo>"), "{case}");
                assert_eq!(
                    element_text(&text, "<wst:TokenType"),
                    Some(token_type),
                    "{case}"
                );
                assert_eq!(
                    element_text(&text, "<wsa:Address"),
                    Some(endpoint.as_str()),
                    "{case}"
                );
                assert!(element_text(&text, "<wsu:Created").is_some(), "{case}");
                assert!(element_text(&text, "<wsu:Expires").is_some(), "{case}");
                if token_type == JWT_BEARER {
                    let b64 = element_text(&text, "<wsse:BinarySecurityToken").unwrap();
                    let jwt = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
                    let claims = verify_minted_jwt(&jwt, &endpoint);
                    assert_eq!(claims["sub"], peers::CLIENT_ID, "{case}: {claims}");
                    assert_eq!(claims["tenant"], "e2e", "{case}: {claims}");
                    assert_eq!(
                        claims["role"],
                        json!(["reader", "writer"]),
                        "{case}: {claims}"
                    );
                    // The AS verifies it independently (node jose) and redeems it.
                    let answer = redeem(&s.auth, JWT_BEARER, &jwt);
                    assert_eq!(answer.status, 200, "{case}: {}", answer.text());
                } else {
                    assert!(text.contains("<saml:Assertion"), "{case}: {text}");
                    assert_eq!(
                        element_text(&text, "<saml:NameID"),
                        Some(peers::CLIENT_ID),
                        "{case}"
                    );
                    assert_eq!(
                        element_text(&text, "<saml:Audience>"),
                        Some(endpoint.as_str()),
                        "{case}"
                    );
                    assert_eq!(element_text(&text, "<saml:Issuer"), Some(ISSUER), "{case}");
                    assert!(text.contains("<ds:SignatureValue>"), "{case}");
                    // The AS checks the XML signature (xml-crypto) and redeems it.
                    let start = text.find("<saml:Assertion").unwrap();
                    let end = text.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
                    let grant = URL_SAFE_NO_PAD.encode(&text[start..end]);
                    let answer = redeem(&s.auth, SAML2_BEARER, &grant);
                    assert_eq!(answer.status, 200, "{case}: {}", answer.text());
                }
            }
        }
    }
}

/// A bad request: name, SOAP version, body, headers, expected status and
/// fault code.
type FaultCase<'a> = (
    &'a str,
    Soap,
    Vec<u8>,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
);

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn bad_requests_get_ws_trust_faults_through_both_proxies() {
    let Some(s) = stack("sts_faults") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    let other_audience = s.auth.token(peers::RESOURCE_OTHER, "read");
    let endpoint = token_endpoint(&s.auth);
    let auth = bearer(&caller);
    let with = |soap, request_type, token_type, applies_to| Rst {
        soap,
        request_type,
        token_type,
        applies_to,
        binary_token: None,
    };
    let valid = [("authorization", auth.as_str())];
    let forged = bearer(&format!("{caller}x"));
    let refused = bearer(&other_audience);
    let validate = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate";
    let cases: Vec<FaultCase> = vec![
        (
            "wrong RequestType",
            Soap::V11,
            with(Soap::V11, validate, JWT_BEARER, &endpoint)
                .xml()
                .into_bytes(),
            valid.to_vec(),
            400,
            "wst:BadRequest",
        ),
        (
            "unknown TokenType",
            Soap::V12,
            with(
                Soap::V12,
                ISSUE,
                "urn:oasis:names:tc:SAML:1.0:assertion",
                &endpoint,
            )
            .xml()
            .into_bytes(),
            valid.to_vec(),
            400,
            "wst:BadRequest",
        ),
        (
            "AppliesTo not allowed",
            Soap::V11,
            with(Soap::V11, ISSUE, JWT_BEARER, ELSEWHERE)
                .xml()
                .into_bytes(),
            valid.to_vec(),
            403,
            "wst:InvalidScope",
        ),
        (
            "no caller token",
            Soap::V12,
            with(Soap::V12, ISSUE, SAML2_BEARER, &endpoint)
                .xml()
                .into_bytes(),
            vec![],
            401,
            "wst:FailedAuthentication",
        ),
        (
            "forged caller token",
            Soap::V11,
            with(Soap::V11, ISSUE, JWT_BEARER, &endpoint)
                .xml()
                .into_bytes(),
            vec![("authorization", forged.as_str())],
            401,
            "wst:FailedAuthentication",
        ),
        (
            "caller token for another audience",
            Soap::V11,
            with(Soap::V11, ISSUE, JWT_BEARER, &endpoint)
                .xml()
                .into_bytes(),
            vec![("authorization", refused.as_str())],
            401,
            "wst:FailedAuthentication",
        ),
        (
            "not XML",
            Soap::V11,
            b"issue me a token".to_vec(),
            valid.to_vec(),
            400,
            "wst:InvalidRequest",
        ),
        (
            "a DTD",
            Soap::V11,
            format!(
                "<!DOCTYPE x [<!ENTITY e \"e\">]>{}",
                with(Soap::V11, ISSUE, JWT_BEARER, &endpoint)
                    .xml()
                    .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            )
            .into_bytes(),
            valid.to_vec(),
            400,
            "wst:InvalidRequest",
        ),
        (
            "oversize body",
            Soap::V12,
            vec![b' '; MAX_BODY + 1000],
            valid.to_vec(),
            413,
            "wst:InvalidRequest",
        ),
    ];
    for (name, soap, body, headers, status, code) in cases {
        for (proxy, r) in post(&s, soap, &body, &headers) {
            let text = r.text();
            assert_eq!(r.status, status, "{name} ({proxy}): {text}");
            assert_eq!(
                r.header("content-type"),
                Some(soap.content_type()),
                "{name} ({proxy})"
            );
            assert_eq!(
                fault_code(&text).as_deref(),
                Some(code),
                "{name} ({proxy}): {text}"
            );
            assert!(
                !text.contains(&caller),
                "{name} ({proxy}): the token is echoed"
            );
        }
    }
    // Not POST: 405 with Allow, never forwarded.
    for (proxy, port) in [
        ("envoy", s.envoy.listener_port()),
        ("oauth-host", s.host.port()),
    ] {
        let r = peers::http_request(port, "GET", STS_PATH, &valid, b"").unwrap();
        assert_eq!(r.status, 405, "{proxy}: {}", r.text());
        assert_eq!(r.header("allow"), Some("POST"), "{proxy}");
        assert_eq!(
            fault_code(&r.text()).as_deref(),
            Some("wst:InvalidRequest"),
            "{proxy}"
        );
    }
    // Other paths are the resource server's as before.
    let page = s.get_with("/orders/1", &caller);
    assert_eq!(page.status, 200, "{page:?}");
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn via_types_answer_the_as_token_response_cached_per_subject() {
    let Some(s) = stack("sts_via_types") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    let endpoint = token_endpoint(&s.auth);
    let auth = bearer(&caller);
    for (token_type, grant, soap) in [
        (VIA_JWT_BEARER, JWT_BEARER, Soap::V11),
        (VIA_SAML2_BEARER, SAML2_BEARER, Soap::V12),
    ] {
        let rst = Rst {
            soap,
            request_type: ISSUE,
            token_type,
            applies_to: &endpoint,
            binary_token: None,
        };
        let mut first: Vec<String> = Vec::new();
        for round in 0..2 {
            let answers = post(
                &s,
                soap,
                rst.xml().as_bytes(),
                &[("authorization", auth.as_str())],
            );
            for (i, (proxy, r)) in answers.iter().enumerate() {
                let text = r.text();
                let case = format!("{proxy} {token_type} round {round}");
                assert_eq!(r.status, 200, "{case}: {text}");
                assert_eq!(
                    element_text(&text, "<wst:TokenType"),
                    Some(token_type),
                    "{case}"
                );
                assert!(
                    text.contains(&format!("ValueType=\"{token_type}\"")),
                    "{case}: {text}"
                );
                let b64 = element_text(&text, "<wsse:BinarySecurityToken").unwrap();
                let response: Value =
                    serde_json::from_slice(&STANDARD.decode(b64).unwrap()).unwrap();
                assert_eq!(response["token_type"], "Bearer", "{case}: {response}");
                let access = response["access_token"].as_str().unwrap().to_owned();
                // A token of the AS for the caller's subject, obtained by the STS's client.
                let info = s.auth.introspect(&access);
                assert_eq!(info["active"], true, "{case}: {info}");
                assert_eq!(info["sub"], peers::CLIENT_ID, "{case}: {info}");
                assert_eq!(info["client_id"], STS_CLIENT.0, "{case}: {info}");
                if round == 0 {
                    first.push(access);
                } else {
                    // Cached per (subject, token type, AppliesTo): the same token.
                    assert_eq!(first[i], access, "{case}: not cached");
                }
            }
        }
        // One grant per proxy (each has its own shared data), however many requests.
        assert_eq!(grants_seen(&s.auth, grant), 2, "{token_type}");
    }
}

#[test]
#[ignore = "end-to-end: needs real Envoy and the AS (cargo xtask test runs it)"]
fn rest_token_sources_send_a_token_on_behalf_of_the_caller_upstream() {
    let Some(s) = stack("sts_rest_token_sources") else {
        return;
    };
    let caller = s.auth.token(peers::RESOURCE_JWT, "read");
    let auth = bearer(&caller);
    for (path, grant) in [
        ("/rest/exchange/orders/1", TOKEN_EXCHANGE),
        ("/rest/jwt/orders/1", JWT_BEARER),
        ("/rest/saml/orders/1", SAML2_BEARER),
    ] {
        for (proxy, port) in [
            ("envoy", s.envoy.listener_port()),
            ("oauth-host", s.host.port()),
        ] {
            let mut seen: Option<String> = None;
            for round in 0..2 {
                let case = format!("{proxy} {path} round {round}");
                let r = peers::http_request(
                    port,
                    "GET",
                    path,
                    &[("authorization", auth.as_str())],
                    b"",
                )
                .unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(r.status, 200, "{case}: {}", r.text());
                // What the upstream got: a token of the AS for the caller's
                // subject, obtained by the STS's client; never the caller's.
                let page = r.json();
                let upstream = page["headers"]["authorization"]
                    .as_str()
                    .unwrap_or_default();
                let token = upstream
                    .strip_prefix("Bearer ")
                    .unwrap_or_else(|| panic!("{case}: {page}"));
                assert_ne!(token, caller, "{case}: the caller's token went upstream");
                let info = s.auth.introspect(token);
                assert_eq!(info["active"], true, "{case}: {info}");
                assert_eq!(info["sub"], peers::CLIENT_ID, "{case}: {info}");
                assert_eq!(info["client_id"], STS_CLIENT.0, "{case}: {info}");
                match &seen {
                    None => seen = Some(token.to_owned()),
                    // Cached per caller token.
                    Some(first) => assert_eq!(first, token, "{case}: not cached"),
                }
            }
        }
        // One grant per proxy.
        assert_eq!(grants_seen(&s.auth, grant), 2, "{grant}");
    }
    // A refused caller token gets the resource server's answer, no grant.
    let forged = bearer(&format!("{caller}x"));
    let refused = s.get("/rest/jwt/orders/1", &[("authorization", forged.as_str())]);
    refused.assert_invalid_token("e2e");
}
