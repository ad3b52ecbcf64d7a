//! Runs the JWE vectors made by `tests/vectors/make_jwe_vectors.py`
//! (jwcrypto) through `core::jose::jwe`: every alg x enc combination
//! decrypts to the expected plaintext (a nested JWT then parses and
//! verifies with the `jws` / `verify` modules), every negative case fails
//! with the expected `JweError::reason()`.

use oauth_filter::core::jose::jwe::{self, DecryptionKey, Enc, KeyAlg};
use oauth_filter::core::jose::jwk::JwkSet;
use oauth_filter::core::jose::{jws, verify};
use serde_json::{json, Value};

fn load() -> Value {
    serde_json::from_str(include_str!("vectors/jwe_vectors.json")).expect("jwe_vectors.json")
}

fn keys(v: &Value) -> Vec<DecryptionKey> {
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| DecryptionKey::from_jwk(k).unwrap_or_else(|e| panic!("{}: {e:?}", k["kid"])))
        .collect()
}

fn names<T>(v: &Value, parse: fn(&str) -> Option<T>) -> Vec<T> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| parse(n.as_str().unwrap()).unwrap())
        .collect()
}

fn run(v: &Value, keys: &[DecryptionKey], case: &Value) -> Result<jwe::Decrypted, jwe::JweError> {
    let algs = names(case.get("algs").unwrap_or(&v["algs"]), KeyAlg::from_name);
    let encs = names(case.get("encs").unwrap_or(&v["encs"]), Enc::from_name);
    jwe::decrypt(
        case["token"].as_str().unwrap(),
        keys,
        &algs,
        &encs,
        &mut rand_core::OsRng,
    )
}

#[test]
fn vectors_cover_every_combination() {
    let v = load();
    let mut seen = std::collections::HashSet::new();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut it = name.split('/');
        seen.insert((it.next().unwrap().to_owned(), it.next().unwrap().to_owned()));
    }
    for alg in KeyAlg::ALL {
        for enc in Enc::ALL {
            assert!(
                seen.contains(&(alg.name().to_owned(), enc.name().to_owned())),
                "no vector for {} {}",
                alg.name(),
                enc.name()
            );
        }
    }
}

#[test]
fn positive_vectors_decrypt() {
    let v = load();
    let keys = keys(&v);
    let sig_keys =
        JwkSet::from_value(&json!({ "keys": [v["signing_key"].clone()] }), true).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 45);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let d = run(&v, &keys, case).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            d.plaintext,
            case["plaintext"].as_str().unwrap().as_bytes(),
            "{name}"
        );
        let header = d.header;
        assert_eq!(Some(header.alg.name()), name.split('/').next(), "{name}");
        assert_eq!(
            jwe::is_nested_jwt(&header),
            case["nested"] == true,
            "{name}"
        );
        if jwe::is_nested_jwt(&header) {
            let inner = std::str::from_utf8(&d.plaintext).unwrap();
            let jws = jws::parse(inner).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let key = sig_keys
                .candidates(jws.header.alg, jws.header.kid.as_deref())
                .next()
                .unwrap();
            assert!(
                verify::verify_pure(
                    jws.header.alg,
                    &key.material,
                    jws.signing_input,
                    &jws.signature
                ),
                "{name}: inner JWS does not verify"
            );
            assert_eq!(jws.claims["aud"], "api", "{name}");
        }
    }
}

#[test]
fn negative_vectors_fail_with_their_reason() {
    let v = load();
    let keys = keys(&v);
    let cases = v["negative"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        match run(&v, &keys, case) {
            Ok(_) => panic!("{name}: decrypted"),
            Err(e) => assert_eq!(e.reason(), case["error"].as_str().unwrap(), "{name}: {e:?}"),
        }
    }
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let v = load();
    let keys = keys(&v);
    let token = v["cases"][0]["token"].as_str().unwrap();
    let big = format!("{token}{}", "A".repeat(jwe::MAX_TOKEN_LEN));
    let e = jwe::decrypt(&big, &keys, &KeyAlg::ALL, &Enc::ALL, &mut rand_core::OsRng);
    assert_eq!(e.unwrap_err().reason(), "too_large");
}

#[test]
fn keys_are_redacted_and_validated() {
    let v = load();
    for (jwk, key) in v["keys"].as_array().unwrap().iter().zip(keys(&v)) {
        let dbg = format!("{key:?}");
        for secret in ["d", "k", "p", "q", "dp", "dq", "qi"] {
            if let Some(s) = jwk[secret].as_str() {
                assert!(!dbg.contains(&s[..8]), "{dbg}");
            }
        }
    }
    // A 1024-bit RSA key, or one whose CRT member belongs to another key.
    let rsa = v["keys"][0].clone();
    let mut other = v["keys"][1].clone();
    other["dp"] = rsa["dp"].clone();
    assert_eq!(DecryptionKey::from_jwk(&other).unwrap_err().member, "dp");
    let mut mixed = rsa.clone();
    mixed["q"] = v["keys"][1]["q"].clone();
    assert!(DecryptionKey::from_jwk(&mixed).is_err());
    let mut sig = rsa;
    sig["use"] = json!("sig");
    assert_eq!(DecryptionKey::from_jwk(&sig).unwrap_err().member, "use");
}

#[test]
fn hostile_part_lengths_fail_cleanly() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let v = load();
    let keys = keys(&v);
    let token_of = |name: &str| {
        let case = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        case["token"].as_str().unwrap().to_owned()
    };
    let b = |n: usize, fill: u8| URL_SAFE_NO_PAD.encode(vec![fill; n]);
    for name in [
        "RSA-OAEP/A128GCM",
        "RSA-OAEP-256/A256CBC-HS512",
        "A128KW/A128CBC-HS256",
        "A256KW/A256GCM",
        "ECDH-ES+A128KW/A128GCM/P-256",
        "ECDH-ES/A128CBC-HS256/P-384",
        "dir/A128GCM",
    ] {
        let token = token_of(name);
        let p: Vec<&str> = token.split('.').collect();
        let mut variants = Vec::new();
        for n in [
            0, 1, 7, 8, 15, 16, 17, 23, 24, 40, 72, 255, 256, 257, 512, 1024,
        ] {
            for fill in [0u8, 0xff] {
                variants.push(format!(
                    "{}.{}.{}.{}.{}",
                    p[0],
                    b(n, fill),
                    p[2],
                    p[3],
                    p[4]
                ));
                variants.push(format!(
                    "{}.{}.{}.{}.{}",
                    p[0],
                    p[1],
                    p[2],
                    b(n, fill),
                    p[4]
                ));
                variants.push(format!(
                    "{}.{}.{}.{}.{}",
                    p[0],
                    p[1],
                    b(n, fill),
                    p[3],
                    p[4]
                ));
                variants.push(format!(
                    "{}.{}.{}.{}.{}",
                    p[0],
                    p[1],
                    p[2],
                    p[3],
                    b(n, fill)
                ));
            }
        }
        // (An empty encrypted key for ECDH-ES / dir is the token itself.)
        for t in variants.into_iter().filter(|t| *t != token) {
            let e = jwe::decrypt(&t, &keys, &KeyAlg::ALL, &Enc::ALL, &mut rand_core::OsRng)
                .expect_err(name);
            assert!(
                ["decrypt_failed", "malformed"].contains(&e.reason()),
                "{name}: {e:?}"
            );
        }
    }
}
