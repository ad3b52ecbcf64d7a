//! Security hardening: secrets never in `Debug` output, ambiguous paths
//! refused, spoofable identity headers removed in every spelling, claim
//! headers that would change the request's framing refused, introspection
//! answers about other token kinds refused, and the host's signature
//! verifier trusted per algorithm.

mod common;
use common::{Decision, Worker};

use oauth_filter::core::client::parse_token_answer;
use oauth_filter::core::config::{self, FilterConfig};
use oauth_filter::core::response::HeaderEdits;
use oauth_filter::core::util::time::UnixMillis;
use oauth_filter::core::CalloutResponse;
use serde_json::{json, Value};

const HMAC_K: &str =
    "LGap9ftoU7mRUmMsj45SaY6iz5WeGIjpTmQRI2bcjcYtvojnralmhBJ6QiGqu_229rpn4SUymV-V_6IF7DFpVQ";
const CLIENT_SECRET: &str = "client-secret-VALUE-1234";
const PASSWORD: &str = "password-VALUE-5678";
const INTROSPECTION_SECRET: &str = "introspection-secret-VALUE-9";

fn private_key() -> Value {
    let keys: Value = serde_json::from_str(include_str!("introspection/keys.json")).unwrap();
    keys["es256"]["private"].clone()
}

fn secret_config() -> FilterConfig {
    let doc = json!({
        "require_https": false, "providers": [
            {
                "name": "hmac", "issuer": "https://hmac.test", "audiences": ["api"],
                "algorithms": ["HS256"],
                "jwks": {"inline": {"keys": [{"kty": "oct", "k": HMAC_K, "kid": "h"}]}},
            },
            {
                "name": "intro", "issuer": "https://intro.test", "audiences": ["api"],
                "resolver": "introspection",
                "introspection": {
                    "uri": "https://as.test/introspect", "cluster": "as",
                    "client_auth": {"method": "client_secret_basic", "client_id": "rs",
                                    "client_secret": INTROSPECTION_SECRET},
                },
            },
        ],
        "client": {
            "sources": [
                {
                    "name": "a",
                    "grant": {"type": "password", "username": "alice", "password": PASSWORD},
                    "token_endpoint": {"uri": "https://as.test/token", "cluster": "as"},
                    "client_auth": {"method": "client_secret_post", "client_id": "gw",
                                    "client_secret": CLIENT_SECRET},
                },
                {
                    "name": "b",
                    "grant": {"type": "client_credentials"},
                    "token_endpoint": {"uri": "https://as.test/token", "cluster": "as"},
                    "client_auth": {"method": "private_key_jwt", "client_id": "gw",
                                    "private_key": private_key()},
                },
            ],
            "default_source": "a",
        },
    });
    config::parse(doc.to_string().as_bytes()).unwrap()
}

fn assert_redacted(what: &str, printed: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!printed.contains(s), "{what} prints a secret: {printed}");
    }
}

#[test]
fn debug_never_prints_secrets_keys_or_tokens() {
    let c = secret_config();
    let d = private_key()["d"].as_str().unwrap().to_owned();
    let secrets = [HMAC_K, CLIENT_SECRET, PASSWORD, INTROSPECTION_SECRET, &d];
    let printed = format!("{c:?}");
    assert_redacted("FilterConfig", &printed, &secrets);
    assert!(printed.contains("<redacted>"));
    assert_redacted("FilterConfig (pretty)", &format!("{c:#?}"), &secrets);
    // The raw document alone, too.
    assert_redacted("Config", &format!("{:?}", c.raw), &secrets);

    // What client authentication adds to a request.
    let client = c.client.as_ref().unwrap();
    for src in &client.sources {
        let parts = src
            .auth
            .parts("https://as.test/token", UnixMillis(1_800_000_000_000), "j");
        let printed = format!("{parts:?}");
        assert_redacted("AuthParts", &printed, &secrets);
        for (_, v) in parts.headers.iter().chain(&parts.form) {
            if v != "gw" && !v.starts_with("urn:") {
                assert!(!printed.contains(v.as_str()), "{printed}");
            }
        }
    }

    // The gateway's token: the token endpoint's answer and the header edit.
    let body =
        br#"{"access_token":"AT-SECRET-1","token_type":"Bearer","refresh_token":"RT-SECRET-2"}"#;
    let answer = parse_token_answer(CalloutResponse {
        status: Some(200),
        headers: &[],
        body,
    })
    .unwrap();
    assert_redacted(
        "TokenAnswer",
        &format!("{answer:?}"),
        &["AT-SECRET", "RT-SECRET"],
    );
    let edits = HeaderEdits {
        remove: vec![],
        set: vec![
            ("authorization".into(), "Bearer AT-SECRET-1".into()),
            ("x-auth-sub".into(), "alice".into()),
        ],
    };
    let printed = format!("{edits:?}");
    assert_redacted("HeaderEdits", &printed, &["AT-SECRET"]);
    assert!(printed.contains("alice"));

    // A parsed JWS: its signing input and signature are the bearer token.
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLWJ5dGVz";
    let jws = oauth_filter::core::jose::jws::parse(token).unwrap();
    assert_redacted(
        "Jws",
        &format!("{jws:?}"),
        &["eyJzdWIiOiJhIn0", "c2lnbmF0dXJl"],
    );
}

// ------------------------------------------------------- identity headers

fn upstream(upstream: Value) -> Result<FilterConfig, String> {
    let doc = json!({
        "require_https": false, "providers": [{
            "name": "p", "issuer": "https://p.test", "audiences": ["api"],
            "jwks": {"remote": {"uri": "https://p.test/jwks", "cluster": "p"}},
        }],
        "upstream": upstream,
    });
    config::parse(doc.to_string().as_bytes()).map_err(|e| e.to_string())
}

#[test]
fn claim_headers_are_removed_in_every_spelling() {
    use oauth_filter::core::resource::claim_headers::{edits, is_owned};
    let c = upstream(json!({
        "claim_headers": [{"claim": "sub", "header": "x-auth-sub"}],
        "payload_header": "x_auth_payload",
    }))
    .unwrap();
    let up = &c.raw.upstream;
    let claims = json!({"sub": "alice"}).as_object().unwrap().clone();
    let (e, _) = edits(up, &claims, None);
    // The adapter removes each listed name the request carries, ignoring
    // case: so `X-Auth_Sub`, `X_AUTH_SUB`, … all go.
    for spoof in [
        "x-auth-sub",
        "X-Auth-Sub",
        "x_auth_sub",
        "X-Auth_Sub",
        "X_AUTH-SUB",
        "x-auth-payload",
        "X_Auth_Payload",
    ] {
        assert!(
            e.remove.iter().any(|r| r.eq_ignore_ascii_case(spoof)),
            "{spoof} not removed: {:?}",
            e.remove
        );
        assert!(is_owned(up, spoof), "{spoof}");
    }
    assert_eq!(e.remove.len(), 8);
    assert!(!is_owned(up, "x-auth-subject"));
    assert!(!is_owned(up, "x.auth.sub"));
    assert_eq!(e.set[0], ("x-auth-sub".to_owned(), "alice".to_owned()));
}

#[test]
fn framing_hop_by_hop_and_credential_headers_are_refused_as_claim_headers() {
    for (i, name) in [
        "content-length",
        "content_length",
        "transfer-encoding",
        "host",
        "connection",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "authorization",
        "expect",
        "content-encoding",
    ]
    .into_iter()
    .enumerate()
    {
        let mut hs = vec![
            json!({"claim": "a", "header": "x-a"}),
            json!({"claim": "b", "header": "x-b"}),
            json!({"claim": "c", "header": "x-c"}),
        ];
        hs[2] = json!({"claim": "sub", "header": name});
        let e = upstream(json!({ "claim_headers": hs })).unwrap_err();
        assert!(
            e.contains("upstream.claim_headers[2].header"),
            "{i} {name}: {e}"
        );
        let e = upstream(json!({ "payload_header": name })).unwrap_err();
        assert!(e.contains("upstream.payload_header"), "{name}: {e}");
    }
    let e = upstream(json!({"claim_headers": [{"claim": "a", "header": "content-length"}]}))
        .unwrap_err();
    assert!(
        e.contains("\"content-length\" is a framing, hop-by-hop or credential header"),
        "{e}"
    );
    // Pseudo-headers and upper case are not lowercase header names.
    for name in [":path", ":authority", "X-Auth"] {
        assert!(upstream(json!({"claim_headers": [{"claim": "a", "header": name}]})).is_err());
    }
    // Two spellings of one header: one would overwrite the other upstream.
    let e = upstream(json!({"claim_headers": [
        {"claim": "a", "header": "x-auth-sub"}, {"claim": "b", "header": "x_auth_sub"}]}))
    .unwrap_err();
    assert!(e.contains("upstream.claim_headers[1].header"), "{e}");
    let e = upstream(
        json!({"claim_headers": [{"claim": "a", "header": "x-auth-sub"}],
                            "payload_header": "x_auth-sub"}),
    )
    .unwrap_err();
    assert!(e.contains("upstream.payload_header"), "{e}");
    // At most 8 separators (2^8 spellings).
    assert!(upstream(json!({"payload_header": "a-b-c-d-e-f-g-h-i"})).is_ok());
    assert!(upstream(json!({"payload_header": "a-b-c-d-e-f-g-h-i-j"})).is_err());
}

// ------------------------------------------------------------------ paths

#[test]
fn ambiguous_paths_are_refused_with_400_invalid_request() {
    use oauth_filter::core::error::Rejection;
    use oauth_filter::core::response::reply;
    use oauth_filter::core::route::check_path;
    for raw in [
        "/admin/../public",
        "/public/../admin",
        "/admin/%2e%2e/public",
        "/admin/%2E%2e/public",
        "/admin/.%2e/public",
        "/./admin",
        "/admin%2Fusers",
        "/admin%2fusers",
        "/admin%5Cusers",
        "/x/..;/admin",
        "/admin;a=b",
        "/admin\\users",
        "/admin\0",
        "/admin%00",
        "/admin%0d%0aX-Evil:%201",
        "/admin%zz",
        "admin",
    ] {
        let e = check_path(raw).expect_err(raw);
        let r = reply("api", &Rejection::from(e));
        assert_eq!(r.status, 400, "{raw}");
        assert!(r.body.contains("\"invalid_request\""), "{raw}: {}", r.body);
        let challenge = r.header("www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
        assert_eq!(Rejection::from(e).reason(), "invalid_path");
    }
}

#[test]
fn scope_rules_match_the_checked_path_and_methods_ignore_case() {
    use oauth_filter::core::resource::scopes::required;
    let doc = json!({
        "require_https": false, "providers": [{
            "name": "p", "issuer": "https://p.test", "audiences": ["api"],
            "jwks": {"remote": {"uri": "https://p.test/jwks", "cluster": "p"}},
        }],
        "scopes": {"rules": [
            {"methods": ["GET"], "path_prefix": "/admin", "required": ["admin:read"]},
            {"methods": ["POST"], "path_prefix": "/admin", "required": ["admin:write"]},
        ]},
    });
    let c = config::parse(doc.to_string().as_bytes()).unwrap();
    let s = &c.scopes;
    for (m, p, want) in [
        ("GET", "/admin/users", vec!["admin:read"]),
        ("get", "/admin/users", vec!["admin:read"]),
        ("HEAD", "/admin/users", vec!["admin:read"]),
        ("head", "/admin", vec!["admin:read"]),
        ("Post", "/admin", vec!["admin:write"]),
        ("GET", "//admin//users", vec!["admin:read"]),
        ("GET", "/%61dmin/users?x=1", vec!["admin:read"]),
        ("GET", "/public", vec![]),
        ("PUT", "/admin", vec![]),
    ] {
        assert_eq!(required(s, m, p), want, "{m} {p}");
    }
}

#[test]
fn the_pipeline_refuses_ambiguous_paths_before_anything_else() {
    use oauth_filter::core::RequestView;
    let c = upstream(json!({})).unwrap();
    let mut w = Worker::new(c, "w");
    let now = UnixMillis(1_800_000_000_000);
    for (method, path) in [
        ("GET", "/admin/../public"),
        ("GET", "/admin/%2e%2e/public"),
        ("POST", "/admin%2Fusers"),
        ("GET", "/x/..;/admin"),
        ("GET", "/a\\b"),
        ("GET", "/a%00"),
    ] {
        // No token at all: the path is refused first (400, not 401).
        let req = RequestView {
            method,
            path,
            headers: &[],
            held_since: None,
            connection: Default::default(),
        };
        match w.on_request(&req, now) {
            Decision::Reply(r) => {
                assert_eq!(r.status, 400, "{path}");
                assert!(r.body.contains("invalid_request"), "{path}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    let req = RequestView {
        method: "GET",
        path: "/public?x=/../y",
        headers: &[],
        held_since: None,
        connection: Default::default(),
    };
    match w.on_request(&req, now) {
        Decision::Reply(r) => assert_eq!(r.status, 401),
        other => panic!("{other:?}"),
    }
}

/// The adapter makes its host calls through `wasm/abi.rs`, whose statuses
/// are error values: the SDK's wrappers panic on a status they do not
/// expect. Only `proxy_http_call` goes through the SDK, whose dispatcher
/// must register the callout.
#[test]
fn the_adapter_calls_no_panicking_sdk_wrapper() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/wasm");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let sdk_call =
                line.contains("hostcalls::") && !line.contains("hostcalls::dispatch_http_call");
            // The trait helpers (`self.get_plugin_configuration()`, …) wrap
            // the same panicking calls.
            let trait_call = [
                "self.get_",
                "self.set_",
                "self.send_",
                "self.resume_",
                "self.dispatch_",
            ]
            .iter()
            .any(|m| line.contains(m));
            if sdk_call || trait_call {
                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SDK host calls left:\n{}",
        found.join("\n")
    );
}
