//! The security token service (STS), after PingFederate's STS OAuth
//! integration: a WS-Trust 1.3 endpoint where a web service client, proving
//! who it is with an OAuth access token (the OAuth token processor), gets
//! back a JWT or a SAML 2.0 assertion usable as an OAuth authorization
//! grant (RFC 7523, RFC 7522), or the token response an authorization
//! server gave for that grant ("via" token types).
//!
//! Sans-IO like the rest of `core`: time and randomness are given.
//!
//! - [`config`]: the `sts` section, validated;
//! - [`rst`]: the request (SOAP 1.1/1.2 envelope, RST), read with a
//!   DTD-refusing parser; [`soap`], [`fault`], [`rstr`]: the answers;
//! - [`principal`]: the caller's token claims → subject and attributes;
//! - [`mint`], [`key`], [`jwt_bearer`], [`saml`]: the assertions;
//! - [`xml`]: the element tree and its exclusive canonical form;
//! - [`token_type`]: the four token types;
//! - [`endpoint`]: the endpoint's request checks and the caller's token;
//!   [`issue`]: the principal, minting, the answer; [`via`]: the grants
//!   at the AS for the via types, cached in shared data; [`on_behalf`]:
//!   the REST token sources (upstream tokens on behalf of the caller).

pub mod config;
pub mod endpoint;
pub mod fault;
pub mod issue;
pub mod jwt_bearer;
pub mod key;
pub mod mint;
pub mod on_behalf;
pub mod principal;
pub mod rst;
pub mod rstr;
pub mod saml;
pub mod soap;
pub mod token_type;
pub mod via;
pub mod xml;

pub use config::{Sts, StsConfig};
pub use fault::{Fault, WstFault};
pub use token_type::TokenType;
