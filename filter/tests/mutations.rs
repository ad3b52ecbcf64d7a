//! Property test: mutated tokens never panic the core and are never accepted.
//! A small xorshift generator keeps it deterministic and dependency-free.

mod common;
use common::{Decision, Worker};

use oauth_filter::core::config;
use oauth_filter::core::{RequestView, UnixMillis};
use serde_json::Value;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~ \"{}\\\x00\xff";

fn mutate(rng: &mut Rng, tok: &str) -> Vec<u8> {
    let mut b = tok.as_bytes().to_vec();
    for _ in 0..=rng.below(3) {
        if b.is_empty() {
            b.push(b'.');
        }
        let i = rng.below(b.len());
        match rng.below(7) {
            0 => b[i] = ALPHABET[rng.below(ALPHABET.len())],
            1 => {
                b.remove(i);
            }
            2 => b.insert(i, ALPHABET[rng.below(ALPHABET.len())]),
            3 => b.truncate(i),
            4 => b[i] ^= 1 << rng.below(8),
            5 => {
                // Swap two dot-separated parts.
                let s = String::from_utf8_lossy(&b).into_owned();
                let mut parts: Vec<&str> = s.split('.').collect();
                if parts.len() >= 2 {
                    let (x, y) = (rng.below(parts.len()), rng.below(parts.len()));
                    parts.swap(x, y);
                }
                b = parts.join(".").into_bytes();
            }
            _ => {
                let j = rng.below(b.len());
                let chunk: Vec<u8> = b[i.min(j)..i.max(j)].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
    b
}

#[test]
fn mutated_tokens_never_panic_and_are_never_accepted() {
    let v: Value = serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    let cfg = config::parse(v["config"].to_string().as_bytes()).unwrap();
    let mut f = Worker::new(cfg, "fuzz");
    let now = UnixMillis::from_secs(v["now"].as_u64().unwrap());
    let good: Vec<String> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expect"]["status"] == 200 && c["path"] == "/")
        .map(|c| c["headers"][0][1].as_str().unwrap()["Bearer ".len()..].to_owned())
        .collect();
    assert!(good.len() >= 12);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut accepted = Vec::new();
    for round in 0..6000 {
        let base = &good[round % good.len()];
        let m = mutate(&mut rng, base);
        let text = String::from_utf8_lossy(&m).into_owned();
        let hs = vec![("authorization".to_owned(), format!("Bearer {text}"))];
        let req = RequestView {
            method: "GET",
            path: "/",
            headers: &hs,
            held_since: None,
            connection: Default::default(),
        };
        let d = f.on_request(&req, now);
        f.drain_events();
        if let Decision::Continue(_) = d {
            // Only a token identical to a valid one may pass (a mutation
            // that put back what it took away).
            if !good.contains(&text) {
                accepted.push(text);
            }
        }
    }
    assert!(accepted.is_empty(), "accepted mutated tokens: {accepted:?}");
}

#[test]
fn random_headers_never_panic() {
    let v: Value = serde_json::from_str(include_str!("vectors/vectors.json")).unwrap();
    let cfg = config::parse(v["config"].to_string().as_bytes()).unwrap();
    let mut f = Worker::new(cfg, "fuzz");
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(64);
        let value: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
            .collect();
        let scheme = ["Bearer ", "bearer\t", "", "Basic ", "BEARER  "][rng.below(5)];
        let hs = vec![("authorization".to_owned(), format!("{scheme}{value}"))];
        let req = RequestView {
            method: "POST",
            path: "/admin?x",
            headers: &hs,
            held_since: None,
            connection: Default::default(),
        };
        assert!(!matches!(
            f.on_request(&req, UnixMillis(0)),
            Decision::Continue(_)
        ));
    }
}
