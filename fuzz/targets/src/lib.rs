//! Fuzz target bodies. Each takes arbitrary bytes and must neither panic
//! nor loop; where a decoder has an encoder, what decodes must encode back
//! to something that decodes the same.
//!
//! `fuzz/fuzz_targets/<name>.rs` wraps each for cargo-fuzz
//! (`cargo xtask fuzz`); the test below replays every file of
//! `fuzz/corpus/<name>/` through it on stable, in `cargo test`.
#![deny(missing_docs)]

use abi_wire::{header_map, verify_signature};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by name (the corpus folder and the cargo-fuzz binary).
pub const TARGETS: &[(&str, Target)] = &[
    ("header_map", header_map_target),
    ("verify_signature_args", verify_signature_args),
    ("verify_signature_result", verify_signature_result),
];

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
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
        for (name, target) in super::TARGETS {
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
