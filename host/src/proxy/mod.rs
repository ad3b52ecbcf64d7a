//! The proxy layer: sockets, TLS, HTTP/1.1 and HTTP/2, routing and upstream
//! clients. It drives each request through the runtime's filter chain
//! ([`crate::runtime::HttpStream`]) and never looks inside the modules.
//!
//! Flow of one request on a worker: acceptor ([`crate::server`]) →
//! [`worker_thread`] → [`connection`] (TLS handshake, hyper) →
//! [`request_path`] (the one path: normalised or 400) →
//! [`forwarding_headers`] (host, hop-by-hop, `x-forwarded-*`,
//! `x-request-id`) → `on_request` → route → [`upstream_pool`] →
//! `on_response` → client. [`proxy_error`] maps the proxy's own failures to
//! responses; [`tls`] loads certificates and builds rustls configs;
//! [`limits`] counts connections per listener and tracks idle connections.

pub mod connection;
pub mod forwarding_headers;
pub mod limits;
pub mod proxy_error;
pub mod request_path;
pub mod tls;
pub mod upstream_pool;
pub mod worker_thread;
