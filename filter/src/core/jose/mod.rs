//! JOSE: JWS compact parsing, JWK sets, signature verification (pure Rust,
//! or a backend the adapter injects), the host's `verify_signature` wire
//! format and how far it is trusted (`trust.rs`, per algorithm), signing
//! keys for the gateway's own assertions, and JWE compact decryption
//! (`jwe/`, pure RustCrypto; a nested JWT still goes through `jws` and
//! verification); verification keys from a key store (`keystore.rs`: PEM
//! public keys and X.509 certificates, also behind a JWK's `x5c`). Depends
//! only on [`super::util`].

pub mod foreign_sig;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod keystore;
pub mod sign;
pub mod trust;
pub mod verify;
