//! JOSE: JWS compact parsing, JWK sets, signature verification (pure Rust,
//! or a backend the adapter injects), the host's `verify_signature` wire
//! format and how far it is trusted (`trust.rs`, per algorithm), and signing
//! keys for the gateway's own assertions. Room for
//! `jwe.rs` later. Depends only on [`super::util`].

pub mod foreign_sig;
pub mod jwk;
pub mod jws;
pub mod sign;
pub mod trust;
pub mod verify;
