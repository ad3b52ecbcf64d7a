//! The login's ID-token checks (OIDC Core §3.1.3.7) against tokens made by
//! jwcrypto and pyjwt (`vectors/make_login_vectors.py`): every valid token
//! is accepted, every bad one refused for its own reason.

use oauth_filter::core::config;
use oauth_filter::core::jose::jwk::JwkSet;
use oauth_filter::core::jose::verify::Verifier;
use oauth_filter::core::login::id_token::{check, Expect};
use oauth_filter::core::UnixMillis;
use serde_json::{json, Value};

#[test]
fn id_token_vectors() {
    let v: Value = serde_json::from_str(include_str!("vectors/login_vectors.json")).unwrap();
    let cfg = config::parse(
        json!({"login": {
            "registrations": [{
                "name": "vectors",
                "issuer": v["issuer"],
                "client_auth": {"method": "client_secret_basic", "client_id": v["client_id"],
                                "client_secret": "s"},
                "authorization_endpoint": "https://as.vectors.test/authorize",
                "token_endpoint": {"uri": "https://as.vectors.test/token", "cluster": "as"},
                "jwks": {"inline": v["jwks"]},
            }],
            "session": {"keys": ["0123456789abcdef0123456789abcdef"]},
        }})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let reg = &cfg.login.as_ref().unwrap().registrations[0];
    let keys = JwkSet::from_value(&v["jwks"], true).unwrap();
    let expect = Expect {
        nonce: v["nonce"].as_str(),
        access_token: v["access_token"].as_str().unwrap(),
        now: UnixMillis(v["now_ms"].as_u64().unwrap()),
    };
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for c in cases {
        let token = c["token"].as_str().unwrap();
        let got = match check(token, reg, &keys, &Verifier::default(), expect) {
            Ok(claims) => {
                assert_eq!(claims["sub"], "alice");
                "ok"
            }
            Err(e) => e.reason(),
        };
        assert_eq!(got, c["expect"], "case {}", c["name"]);
    }
}
