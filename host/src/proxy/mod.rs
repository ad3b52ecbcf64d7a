//! The proxy layer: sockets, TLS, HTTP/1.1 and HTTP/2, routing and upstream
//! clients. It drives each request through the runtime's filter chain
//! ([`crate::runtime::HttpStream`]) and never looks inside the modules.
//!
//! Flow of one request on a worker: acceptor → worker (TLS handshake,
//! hyper) → [`headers`] (host, hop-by-hop, `x-forwarded-*`, `x-request-id`)
//! → `on_request` → route → [`upstream`] → `on_response` → client.

pub mod error;
pub mod headers;
pub mod tls;
pub mod upstream;
pub mod worker;
