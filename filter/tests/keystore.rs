//! Key store keys (PEM public keys, PEM and DER certificates, bundles) and
//! JWK `x5c`: every form of every vector key verifies the JWS that pyjwt
//! signed with it; refused forms are refused with the right path or
//! problem. Vectors: `vectors/keystore_vectors.json` (made by
//! `make_keystore_vectors.py` with cryptography, jwcrypto and pyjwt).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use oauth_filter::core::jose::jwk::{JwkSet, KeyMaterial};
use oauth_filter::core::jose::jws::{Alg, KeyKind};
use oauth_filter::core::jose::keystore::{
    self, jwk_set_from_pem, key_from_der_certificate, key_from_der_public_key, keys_from_pem,
    KeyProblem, KeyStoreError,
};
use oauth_filter::core::jose::verify::verify_pure;
use serde_json::{json, Value};

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/keystore_vectors.json")).unwrap()
}

fn kind(name: &str) -> KeyKind {
    match name {
        "Rsa" => KeyKind::Rsa,
        "P256" => KeyKind::P256,
        "P384" => KeyKind::P384,
        "Ed25519" => KeyKind::Ed25519,
        other => panic!("kind {other}"),
    }
}

/// Whether `key` verifies the compact JWS `token` under `alg`.
fn verifies(alg: Alg, key: &KeyMaterial, token: &str) -> bool {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    verify_pure(alg, key, input.as_bytes(), &sig)
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key].as_str().unwrap_or_else(|| panic!("{key}"))
}

/// (alg, kind, jws) per vector key.
fn entries() -> Vec<(Value, Alg, KeyKind, String)> {
    vectors()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e.clone(),
                Alg::from_name(str_of(e, "alg")).unwrap(),
                kind(str_of(e, "kind")),
                str_of(e, "jws").to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_key_form_verifies_its_jws() {
    let all = entries();
    assert_eq!(all.len(), 4);
    for (e, alg, kind, token) in &all {
        let name = str_of(e, "name");
        let der = STANDARD.decode(str_of(e, "cert_der_b64")).unwrap();
        let spki = keys_from_pem(str_of(e, "spki_pem")).unwrap();
        let cert = keys_from_pem(str_of(e, "cert_pem")).unwrap();
        assert_eq!((spki.len(), cert.len()), (1, 1), "{name}");
        let from_der = key_from_der_certificate(&der).unwrap();
        let set = JwkSet::from_value(&json!({ "keys": [e["jwk"], e["jwk_x5c_only"]] }), true)
            .unwrap_or_else(|err| panic!("{name}: {err:?}"));
        assert_eq!(set.keys().len(), 2, "{name}");
        let forms: Vec<(&str, &KeyMaterial)> = vec![
            ("spki pem", &spki[0]),
            ("cert pem", &cert[0]),
            ("cert der", &from_der),
            ("jwk + x5c", &set.keys()[0].material),
            ("x5c only", &set.keys()[1].material),
        ];
        for (form, key) in forms {
            assert_eq!(key.kind(), *kind, "{name} {form}");
            assert!(keystore::same_key(key, &spki[0]), "{name} {form}");
            assert!(verifies(*alg, key, token), "{name} {form}");
            // A flipped signature bit fails.
            let mut bad = token.clone();
            let last = bad.pop().unwrap();
            bad.push(if last == 'A' { 'Q' } else { 'A' });
            assert!(!verifies(*alg, key, &bad), "{name} {form} tampered");
        }
        // No other vector key verifies this token.
        for (other, _, _, _) in &all {
            if str_of(other, "name") != name {
                let k = keys_from_pem(str_of(other, "spki_pem")).unwrap();
                assert!(!verifies(*alg, &k[0], token), "{name} by {}", other["name"]);
            }
        }
        // The SPKI DER (the PEM body) parses directly too.
        let body: String = str_of(e, "spki_pem")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let k = key_from_der_public_key(&STANDARD.decode(body).unwrap()).unwrap();
        assert!(verifies(*alg, &k, token), "{name} spki der");
    }
}

#[test]
fn bundles_keep_order_and_kid() {
    let v = vectors();
    let all = entries();
    let keys = keys_from_pem(str_of(&v, "bundle_pem")).unwrap();
    assert_eq!(keys.len(), 8);
    for (i, (_, alg, kind, token)) in all.iter().enumerate() {
        for key in &keys[2 * i..2 * i + 2] {
            assert_eq!(key.kind(), *kind);
            assert!(verifies(*alg, key, token));
        }
    }
    // CRLF line endings are fine.
    let crlf = str_of(&v, "bundle_pem").replace('\n', "\r\n");
    assert_eq!(keys_from_pem(&crlf).unwrap().len(), 8);
    // As JWK set entries with a configured kid, found like any JWK.
    let set = jwk_set_from_pem(str_of(&v, "bundle_pem"), Some("store")).unwrap();
    assert_eq!(set.keys().len(), 8);
    assert!(set.keys().iter().all(|k| k.alg.is_none()));
    assert_eq!(set.candidates(Alg::Es384, Some("store")).count(), 2);
    assert_eq!(set.candidates(Alg::Ps512, Some("store")).count(), 2);
    assert_eq!(set.candidates(Alg::Es256, Some("other")).count(), 0);
    assert_eq!(set.candidates(Alg::Hs256, None).count(), 0);
    let anonymous = jwk_set_from_pem(str_of(&v, "bundle_pem"), None).unwrap();
    assert!(anonymous.keys().iter().all(|k| k.kid.is_none()));
}

#[test]
fn bad_blocks_are_named_by_index() {
    let v = vectors();
    let bundle = str_of(&v, "bundle_pem");
    let rsa1024 = &v["rsa1024"];
    for (extra, problem) in [
        (str_of(rsa1024, "cert_pem"), KeyProblem::RsaTooSmall(1024)),
        (str_of(rsa1024, "spki_pem"), KeyProblem::RsaTooSmall(1024)),
        (
            str_of(&v, "private_key_pem"),
            KeyProblem::PemLabel("PRIVATE KEY".into()),
        ),
    ] {
        let text = format!("{bundle}\n{extra}");
        let err = keys_from_pem(&text).unwrap_err();
        assert_eq!(
            err,
            KeyStoreError::Block {
                block: 8,
                problem: problem.clone()
            }
        );
        let shown = err.to_string();
        assert!(shown.starts_with("PEM block 8: "), "{shown}");
        // The message names the problem, never key bytes.
        let body_line = extra.lines().nth(1).unwrap();
        assert!(!shown.contains(body_line), "{shown}");
        // Alone, it is block 0.
        assert_eq!(
            keys_from_pem(extra).unwrap_err(),
            KeyStoreError::Block { block: 0, problem }
        );
    }
    // A damaged block in the middle: block 3.
    let mut blocks: Vec<String> = Vec::new();
    for e in v["keys"].as_array().unwrap() {
        blocks.push(str_of(e, "cert_pem").to_owned());
    }
    blocks[3] = blocks[3].replacen("MII", "MIJ", 1);
    let err = keys_from_pem(&blocks.concat()).unwrap_err();
    assert!(
        matches!(err, KeyStoreError::Block { block: 3, .. }),
        "{err:?}"
    );
    // An unterminated last block.
    let cut = &bundle[..bundle.len() - 10];
    let err = keys_from_pem(cut).unwrap_err();
    assert_eq!(
        err,
        KeyStoreError::Block {
            block: 7,
            problem: KeyProblem::PemUnterminated
        }
    );
    // DER: 1024-bit certificate refused; a PEM text is not DER.
    let der = STANDARD.decode(str_of(rsa1024, "cert_der_b64")).unwrap();
    assert_eq!(
        key_from_der_certificate(&der).err(),
        Some(KeyStoreError::Key(KeyProblem::RsaTooSmall(1024)))
    );
    assert_eq!(
        key_from_der_certificate(str_of(rsa1024, "cert_pem").as_bytes()).err(),
        Some(KeyStoreError::Key(KeyProblem::Certificate))
    );
    // A public key is not a certificate and vice versa.
    let spki = entries()[1].0.clone();
    let body: String = str_of(&spki, "spki_pem")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let spki_der = STANDARD.decode(body).unwrap();
    assert!(key_from_der_certificate(&spki_der).is_err());
    let cert_der = STANDARD.decode(str_of(&spki, "cert_der_b64")).unwrap();
    assert!(key_from_der_public_key(&cert_der).is_err());
    // Truncations of a certificate never panic and are refused.
    for len in 0..cert_der.len() {
        assert!(key_from_der_certificate(&cert_der[..len]).is_err(), "{len}");
    }
}

#[test]
fn expired_certificates_still_carry_their_key() {
    let v = vectors();
    let e = &v["expired"];
    let keys = keys_from_pem(str_of(e, "cert_pem")).unwrap();
    assert!(verifies(Alg::Es256, &keys[0], str_of(e, "jws")));
}

#[test]
fn jwk_sets_with_x5c() {
    let v = vectors();
    let set = JwkSet::from_value(&v["jwks_x5c"], true).unwrap();
    assert_eq!(set.keys().len(), 9);
    for (e, alg, _, token) in entries() {
        let name = str_of(&e, "name");
        for kid in [name.to_owned(), format!("{name}-x5c-only")] {
            let keys: Vec<_> = set.candidates(alg, Some(&kid)).collect();
            assert_eq!(keys.len(), 1, "{kid}");
            assert!(verifies(alg, &keys[0].material, &token), "{kid}");
        }
    }
    // Only the first certificate of the chain counts.
    let chained: Vec<_> = set.candidates(Alg::Es256, Some("p256-chain")).collect();
    assert_eq!(chained.len(), 1);
    assert!(verifies(Alg::Es256, &chained[0].material, &entries()[1].3));

    // x5t#S256 is optional.
    let mut no_thumb = v["keys"][0]["jwk"].clone();
    no_thumb.as_object_mut().unwrap().remove("x5t#S256");
    assert!(JwkSet::from_value(&json!({ "keys": [no_thumb] }), true).is_ok());
}

#[test]
fn refused_x5c_jwks() {
    let v = vectors();
    let r = &v["refused_jwks"];
    for (name, path) in [
        ("x5c_mismatch_rsa", ".keys[0].x5c"),
        ("x5c_mismatch_ec", ".keys[0].x5c"),
        ("bad_x5t_s256", ".keys[0].x5t#S256"),
        ("x5c_base64url", ".keys[0].x5c[0]"),
        ("x5c_kty_mismatch", ".keys[0].x5c"),
        ("rsa1024", ".keys[0].x5c[0]"),
    ] {
        let err = JwkSet::from_value(&json!({ "keys": [r[name]] }), true).unwrap_err();
        assert_eq!(err.path, path, "{name}: {err:?}");
        // A fetched set skips the key and keeps the good one; a certificate
        // it cannot decode at all leaves the key its own n/e.
        let doc = json!({ "keys": [r[name], v["keys"][0]["jwk"]] });
        let set = JwkSet::from_value(&doc, false).unwrap();
        if name == "x5c_base64url" {
            assert_eq!((set.keys().len(), set.skipped.len()), (2, 0), "{name}");
            continue;
        }
        assert_eq!(set.keys().len(), 1, "{name}");
        assert_eq!(set.skipped.len(), 1, "{name}");
        assert_eq!(set.skipped[0].path, path, "{name}");
    }
    // The 1024-bit certificate alone (no n/e) is refused at the certificate.
    let mut only = r["rsa1024"].clone();
    for m in ["n", "e"] {
        only.as_object_mut().unwrap().remove(m);
    }
    let err = JwkSet::from_value(&json!({ "keys": [only] }), true).unwrap_err();
    assert_eq!(err.path, ".keys[0].x5c[0]");
    assert!(err.message.contains("2048"), "{err:?}");

    // Structural problems.
    let good = v["keys"][1]["jwk_x5c_only"].clone();
    let with = |member: &str, value: Value| {
        let mut k = good.clone();
        k[member] = value;
        JwkSet::from_value(&json!({ "keys": [k] }), true)
            .map(|_| ())
            .map_err(|e| e.path)
    };
    assert_eq!(with("x5c", json!([])), Err(".keys[0].x5c".into()));
    assert_eq!(with("x5c", json!("MII=")), Err(".keys[0].x5c".into()));
    assert_eq!(with("x5c", json!([5])), Err(".keys[0].x5c".into()));
    assert_eq!(with("x5c", json!(["!!"])), Err(".keys[0].x5c[0]".into()));
    assert_eq!(with("x5c", json!(["MAA="])), Err(".keys[0].x5c[0]".into()));
    assert_eq!(with("x5t#S256", json!(5)), Err(".keys[0].x5t#S256".into()));
    assert_eq!(
        with("x5t#S256", json!("+/")),
        Err(".keys[0].x5t#S256".into())
    );
    assert_eq!(with("crv", json!("P-384")), Err(".keys[0].x5c".into()));
    assert_eq!(with("crv", json!("P-521")), Err(".keys[0].crv".into()));
    assert_eq!(with("crv", json!("P-256")), Ok(()));
    assert_eq!(with("alg", json!("ES384")), Err(".keys[0].alg".into()));
    assert_eq!(with("alg", json!("ES256")), Ok(()));
    assert_eq!(with("kty", json!("oct")), Err(".keys[0].x5c".into()));
    assert_eq!(with("kty", json!("XYZ")), Err(".keys[0].kty".into()));
    // Own members present but incomplete: the usual member error.
    let mut partial = v["keys"][1]["jwk"].clone();
    partial.as_object_mut().unwrap().remove("y");
    let err = JwkSet::from_value(&json!({ "keys": [partial] }), true).unwrap_err();
    assert_eq!(err.path, ".keys[0].y");
    // x5t#S256 without x5c is ignored, as before.
    let mut plain = v["keys"][0]["jwk"].clone();
    plain.as_object_mut().unwrap().remove("x5c");
    plain["x5t#S256"] = json!("garbage");
    assert!(JwkSet::from_value(&json!({ "keys": [plain] }), true).is_ok());
}

/// A fetched set keeps a key whose `x5c` this parser cannot read (its
/// `n`/`e` still verify); a configured set refuses it; a readable
/// certificate of another key refuses it in both.
#[test]
fn unreadable_x5c_costs_a_fetched_key_nothing() {
    use oauth_filter::core::jose::jwk::JwkSet;
    let v = vectors();
    let mut jwk = v["keys"][0]["jwk"].clone();
    jwk.as_object_mut().unwrap().remove("x5t#S256");
    // Valid base64 of a DER that is no certificate.
    jwk["x5c"] = serde_json::json!(["MAMCAQE="]);
    let set = serde_json::json!({ "keys": [jwk] });
    let fetched = JwkSet::from_value(&set, false).unwrap();
    assert_eq!(fetched.keys().len(), 1, "{:?}", fetched.skipped);
    assert!(JwkSet::from_value(&set, true).is_err());
    let mut other = v["keys"][0]["jwk"].clone();
    other.as_object_mut().unwrap().remove("x5t#S256");
    other["x5c"] = serde_json::json!([str_of(&v["keys"][1], "cert_der_b64")]);
    let set = serde_json::json!({ "keys": [other] });
    let fetched = JwkSet::from_value(&set, false).unwrap();
    assert!(
        fetched.keys().is_empty(),
        "a mismatching certificate must refuse the key"
    );
}
