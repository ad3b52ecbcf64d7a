//! Fuzz target bodies. Each takes arbitrary bytes and must neither panic
//! nor loop; where a decoder has an encoder, what decodes must encode back
//! to something that decodes the same.
//!
//! `fuzz/fuzz_targets/<name>.rs` wraps each for cargo-fuzz
//! (`cargo xtask fuzz`); the test below replays every file of
//! `fuzz/corpus/<name>/` through it on stable, in `cargo test`.
#![deny(missing_docs)]

use abi_wire::{header_map, verify_signature};
use oauth_filter::core::callout::CalloutResponse;
use oauth_filter::core::config::TokenConfig;
use oauth_filter::core::jose::{jwk::JwkSet, jws, verify};
use oauth_filter::core::resource::{extract, introspection};
use oauth_filter::core::util::json;
use oauth_filter::core::{client, route};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name (the corpus folder and the cargo-fuzz binary).
pub fn targets() -> Vec<(&'static str, Target)> {
    let mut all: Vec<(&'static str, Target)> = vec![
        ("header_map", header_map_target),
        ("verify_signature_args", verify_signature_args),
        ("verify_signature_result", verify_signature_result),
        ("jws", jws_parse_verify),
        ("json", strict_json),
        ("jwks", jwks),
        ("extract", token_extraction),
        ("path", path_check),
        ("introspection_answer", introspection_answer),
        ("token_answer", token_answer),
        ("jwe", jwe_decrypt),
        ("dpop", dpop_proof),
        ("cert_header", cert_header),
        ("sts_rst", sts_rst),
        ("login_cookie", login_cookie),
    ];
    #[cfg(feature = "host")]
    all.push(("host_config", host_config));
    all
}

/// A WS-Trust request body: parsed (SOAP 1.1/1.2, DTDs refused); whatever
/// parses or fails, nothing panics, and a refusal has a fault.
pub fn sts_rst(data: &[u8]) {
    use oauth_filter::core::sts::rst;
    let _ = rst::parse(data);
}

/// A browser's `cookie` header and a login query: the session and
/// transaction cookies are joined from their chunks and opened (a sealed
/// value is never forged by chance), the query decoded, `goto` checked.
pub fn login_cookie(data: &[u8]) {
    use oauth_filter::core::config::login::SessionKey;
    use oauth_filter::core::login::{cookies, origin, session};
    use oauth_filter::core::util::form::parse_query;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (cookie, query) = text.split_once('\n').unwrap_or((text, ""));
    let headers = vec![("cookie".to_owned(), cookie.to_owned())];
    let keys = [SessionKey {
        id: [1, 2, 3, 4],
        key: [9; 32],
    }];
    if let Some(v) = cookies::get_chunked(&headers, "oauth_session") {
        let opened: Option<session::Session> = session::open_json(&keys, "oauth_session", &v);
        assert!(opened.is_none(), "a session opened from fuzzed bytes");
    }
    let _ = cookies::without(cookie, |n| n.starts_with("oauth_session"));
    if let Some(q) = parse_query(&format!("/oauth2/login?{query}")) {
        if let Some((_, goto)) = q.iter().find(|(k, _)| k == "goto") {
            let login = login_config();
            if let Some(g) = origin::checked_goto(&login, "https://gw.example", goto) {
                assert!(!g.starts_with("//") && !g.contains('\\'), "{g}");
            }
        }
    }
}

fn login_config() -> oauth_filter::core::config::login::Login {
    let cfg = oauth_filter::core::config::parse(
        br#"{"login":{"registrations":[{"name":"as","issuer":"https://as",
        "client_auth":{"method":"client_secret_basic","client_id":"c","client_secret":"s"},
        "authorization_endpoint":"https://as/auth",
        "token_endpoint":{"uri":"https://as/token","cluster":"as"},
        "jwks":{"remote":{"uri":"https://as/jwks","cluster":"as"}}}],
        "session":{"keys":["0123456789abcdef0123456789abcdef"]}}}"#,
    );
    match cfg.ok().and_then(|c| c.login) {
        Some(l) => l,
        None => unreachable!("the fuzz target's own login configuration parses"),
    }
}

/// The JWE vectors' private keys (made by python jwcrypto; test keys).
const JWE_VECTORS: &str = include_str!("../../filter/tests/vectors/jwe_vectors.json");

/// A compact JWE: decrypted with every vector key (RSA, EC, oct), every
/// algorithm allowed. Fuzzed input never decrypts; nothing panics.
pub fn jwe_decrypt(data: &[u8]) {
    use oauth_filter::core::jose::jwe::{self, DecryptionKey, Enc, KeyAlg};
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(JWE_VECTORS) else {
        return;
    };
    let keys: Vec<DecryptionKey> = v["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| DecryptionKey::from_jwk(k).ok())
        .collect();
    let mut rng = rand_chacha_seed();
    let _ = jwe::decrypt(token, &keys, &KeyAlg::ALL, &Enc::ALL, &mut rng);
}

fn rand_chacha_seed() -> impl oauth_filter::core::jose::jwe::CryptoRngCore {
    use rand_chacha::rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::from_seed([7; 32])
}

/// A `DPoP` header value checked as a proof of `GET
/// https://api.vectors.test/resource/items` with an access token, at the
/// binding vectors' clock, with the default policy.
pub fn dpop_proof(data: &[u8]) {
    use oauth_filter::core::resource::binding::dpop::{check_proof, DpopPolicy, ProofRequest};
    use oauth_filter::core::UnixMillis;
    let Ok(proof) = std::str::from_utf8(data) else {
        return;
    };
    let proofs = [proof];
    let req = ProofRequest {
        proofs: &proofs,
        method: "GET",
        uri: "https://api.vectors.test/resource/items",
        access_token: Some("access-token"),
        nonces: &[],
        now: UnixMillis(1_800_000_000_000),
    };
    let _ = check_proof(&DpopPolicy::default(), &req, &verify::Verifier::default());
}

/// A client-certificate header: as Envoy's `x-forwarded-client-cert` and as
/// a URL-encoded PEM certificate.
pub fn cert_header(data: &[u8]) {
    use oauth_filter::core::resource::binding::mtls;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = mtls::from_xfcc(&[text]);
    let _ = mtls::from_pem_header(&[text]);
    let _ = mtls::from_connection(Some(data));
}

/// The keys the JWS target verifies against (EC P-256, RSA, Ed25519, HMAC;
/// public parts made by python jwcrypto, the HMAC key a fixed test value).
const KEYS: &str = include_str!("../keys.json");

/// A JWS compact token: parsed, then verified by the pure-Rust verifiers
/// with every key that fits its `alg`. Fuzzed input never verifies.
pub fn jws_parse_verify(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = jws::parse(token) else {
        return;
    };
    let Ok(keys) = serde_json::from_str(KEYS) else {
        return;
    };
    let Ok(set) = JwkSet::from_value(&keys, true) else {
        return;
    };
    for key in set.candidates(parsed.header.alg, parsed.header.kid.as_deref()) {
        let _ = verify::verify_pure(
            parsed.header.alg,
            &key.material,
            parsed.signing_input,
            &parsed.signature,
        );
    }
}

/// Strict JSON (duplicate members refused).
pub fn strict_json(data: &[u8]) {
    let _ = json::parse_strict(data);
}

/// A JWK set as a JWKS endpoint would serve it.
pub fn jwks(data: &[u8]) {
    if let Ok(v) = json::parse_strict(data) {
        let _ = JwkSet::from_value(&v, false);
        let _ = JwkSet::from_value(&v, true);
    }
}

/// RFC 6750 token extraction from arbitrary header pairs.
pub fn token_extraction(data: &[u8]) {
    let headers = header_map::decode_lossy(data);
    let _ = extract::extract(&TokenConfig::default(), &headers);
}

/// Path checking and normalisation: an accepted path is stable.
pub fn path_check(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    if let Ok(p) = route::check_path(&raw) {
        let once = p.into_string();
        let again = route::check_path(&once).map(|p| p.into_string());
        assert_eq!(
            again.as_deref(),
            Ok(once.as_str()),
            "normalising twice changed {raw:?}"
        );
    }
    let _ = route::normalize_path(&raw);
}

/// An introspection endpoint's answer (status from the first byte).
pub fn introspection_answer(data: &[u8]) {
    let (status, body) = status_and_body(data);
    let _ = introspection::answer::parse_answer(CalloutResponse {
        status,
        headers: &[],
        body,
    });
}

/// A token endpoint's answer, and a discovery document.
pub fn token_answer(data: &[u8]) {
    let (status, body) = status_and_body(data);
    let resp = || CalloutResponse {
        status,
        headers: &[],
        body,
    };
    let _ = client::parse_token_answer(resp());
    let _ = client::parse_discovery(resp(), "https://issuer.example");
}

/// oauth-host's configuration (YAML or JSON).
#[cfg(feature = "host")]
pub fn host_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = oauth_host::config::Config::parse(text, std::path::Path::new("/nonexistent"));
    }
}

fn status_and_body(data: &[u8]) -> (Option<u16>, &[u8]) {
    match data.split_first() {
        None => (None, data),
        Some((b, rest)) => {
            let status = match b % 4 {
                0 => None,
                1 => Some(200),
                2 => Some(400),
                _ => Some(500),
            };
            (status, rest)
        }
    }
}

/// The proxy-wasm header map: strict decode round-trips; lossy never fails.
pub fn header_map_target(data: &[u8]) {
    if let Some(pairs) = header_map::decode(data) {
        let again = header_map::encode(&pairs);
        assert_eq!(header_map::decode(&again), Some(pairs));
    }
    let _ = header_map::decode_lossy(data);
}

/// `VerifySignatureArguments` as the host decodes them.
pub fn verify_signature_args(data: &[u8]) {
    if let Some(args) = verify_signature::Arguments::decode(data) {
        let again = args.encode();
        assert_eq!(verify_signature::Arguments::decode(&again), Some(args));
    }
}

/// `VerifySignatureResult` as the module decodes it.
pub fn verify_signature_result(data: &[u8]) {
    let _ = verify_signature::Answer::decode(data);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays `fuzz/corpus/<target>/*` (and a few built-in inputs) through
    /// every target.
    #[test]
    fn corpus_replays_without_a_panic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (name, target) in super::targets() {
            let mut n = 0;
            for seed in [&b""[..], b"\x00", b"\xff\xff\xff\xff", b"\x01\x00\x00\x00"] {
                target(seed);
            }
            if let Ok(dir) = std::fs::read_dir(root.join(name)) {
                for entry in dir.flatten() {
                    if let Ok(bytes) = std::fs::read(entry.path()) {
                        target(&bytes);
                        n += 1;
                    }
                }
            }
            assert!(n > 0, "fuzz/corpus/{name} has no seed");
        }
    }
}
