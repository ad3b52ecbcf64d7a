//! Criterion micro-benchmarks of the sans-IO core, natively:
//! signature verification per algorithm (pure Rust, as inside the wasm
//! module), a token-cache hit through `Filter::handle_request`, and JWKS
//! parsing. Tokens and keys are the committed vectors
//! (`tests/vectors/make_vectors.py`: cryptography, jwcrypto, pyjwt).
//!
//! `cargo bench -p oauth-filter --bench core`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use oauth_filter::core::jose::jwk::JwkSet;
use oauth_filter::core::jose::jws as jose;
use oauth_filter::core::jose::verify::verify_pure;
use oauth_filter::core::shared::MemoryStore;
use oauth_filter::core::{config, Decision, Filter, Io, Outbox, RequestView, UnixMillis};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../tests/vectors/vectors.json")).expect("vectors.json")
}

fn jwks(v: &Value) -> Value {
    v["config"]["providers"][0]["jwks"]["inline"].clone()
}

/// The bearer token of vector case `alg_<ALG>`.
fn token(v: &Value, alg: &str) -> String {
    let case = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == format!("alg_{alg}"))
        .unwrap_or_else(|| panic!("no vector alg_{alg}"));
    let auth = case["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .find(|h| h[0] == "authorization")
        .expect("authorization header");
    auth[1]
        .as_str()
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("bearer")
        .to_owned()
}

fn signatures(c: &mut Criterion) {
    let v = vectors();
    let set = JwkSet::from_value(&jwks(&v), true).expect("inline JWKS");
    let mut group = c.benchmark_group("verify");
    for alg in [
        "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA", "HS256",
    ] {
        let token = token(&v, alg);
        let jws = jose::parse(&token).expect("vector parses");
        let key = set
            .candidates(jws.header.alg, jws.header.kid.as_deref())
            .next()
            .expect("a key for the vector");
        assert!(verify_pure(
            jws.header.alg,
            &key.material,
            jws.signing_input,
            &jws.signature
        ));
        group.bench_function(alg, |b| {
            b.iter(|| {
                verify_pure(
                    jws.header.alg,
                    black_box(&key.material),
                    black_box(jws.signing_input),
                    black_box(&jws.signature),
                )
            })
        });
    }
    group.finish();
}

fn cache_hit(c: &mut Criterion) {
    let v = vectors();
    let cfg = config::parse(v["config"].to_string().as_bytes()).expect("vector config");
    let now = UnixMillis::from_secs(v["now"].as_u64().expect("now"));
    let mut group = c.benchmark_group("on_request");
    for alg in ["RS256", "ES256"] {
        let mut filter = Filter::new(cfg.clone(), "bench");
        let headers = vec![(
            "authorization".to_owned(),
            format!("Bearer {}", token(&v, alg)),
        )];
        let req = RequestView {
            method: "GET",
            path: "/",
            headers: &headers,
            held_since: None,
            connection: Default::default(),
        };
        let mut store = MemoryStore::default();
        let mut out = Outbox::default();
        assert!(matches!(
            filter.handle_request(&req, &mut Io::new(now, &mut store, &mut out)),
            Decision::Continue(_)
        ));
        group.bench_function(format!("cache_hit_{alg}"), |b| {
            b.iter(|| {
                let mut out = Outbox::default();
                filter.handle_request(black_box(&req), &mut Io::new(now, &mut store, &mut out))
            })
        });
    }
    group.finish();
}

fn jwks_parse(c: &mut Criterion) {
    let v = vectors();
    let set = jwks(&v);
    let text = set.to_string();
    let keys = set["keys"].as_array().map_or(0, Vec::len);
    c.bench_function(&format!("jwks_parse_{keys}_keys"), |b| {
        b.iter(|| {
            let value: Value = serde_json::from_str(black_box(&text)).expect("json");
            JwkSet::from_value(&value, true).expect("jwks")
        })
    });
}

criterion_group!(benches, signatures, cache_hit, jwks_parse);
criterion_main!(benches);
