//! Every JSON example in docs/filter-config.md is a valid configuration.
//! The secrets the examples name (`{"env": …}`) are given, as a deployment
//! would give them.

use oauth_filter::core::config::{self, Secrets};

fn secrets() -> Secrets {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("vectors/jwe_vectors.json")).expect("JWE vectors");
    let rsa = v["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["kid"] == "rsa1"))
        .expect("rsa1 in the JWE vectors")
        .to_string();
    let long = "0123456789abcdef0123456789abcdef".to_owned();
    Secrets::new().with_env([
        ("RS_DECRYPTION_JWK".to_owned(), rsa),
        ("WEB_CLIENT_SECRET".to_owned(), "web-secret".to_owned()),
        ("SESSION_KEY".to_owned(), long.clone()),
        ("SESSION_KEY_OLD".to_owned(), long),
    ])
}

#[test]
fn documented_examples_parse() {
    let doc = include_str!("../../docs/filter-config.md");
    let secrets = secrets();
    let mut examples = 0;
    let mut rest = doc;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed code block");
        let json = &body[..end];
        if let Err(e) = config::parse_with(json.as_bytes(), &secrets) {
            panic!("example {examples} in docs/filter-config.md: {e}\n{json}");
        }
        examples += 1;
        rest = &body[end..];
    }
    assert!(examples >= 4, "found {examples} examples");
}
