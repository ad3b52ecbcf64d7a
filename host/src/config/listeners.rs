//! The `listeners` section: downstream addresses and their TLS termination.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::parse::require_file;
use super::{units, ConfigError};

/// One downstream listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Name for logs (default `listener_<index>`).
    #[serde(default)]
    pub name: String,
    /// `ip:port` to bind (port 0 picks a free port).
    pub address: SocketAddr,
    /// TLS termination; plain TCP (HTTP/1.1 and h2c) without it.
    #[serde(default)]
    pub tls: Option<ListenerTls>,
    /// Connection, header, timeout and HTTP/2 limits.
    #[serde(default)]
    pub limits: ListenerLimits,
}

/// Limits of one listener's connections and requests; every field has a
/// safe default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerLimits {
    /// Open connections at most; more are accepted and closed at once
    /// (`oauth_host_downstream_connections_rejected_total`). Default 10000.
    pub max_connections: usize,
    /// Time a client has to send a complete HTTP/1 request head (default
    /// 10s); the connection is closed after it.
    #[serde(deserialize_with = "units::duration")]
    pub header_read_timeout: Duration,
    /// A connection without a request in flight for this long is closed
    /// (default 60s).
    #[serde(deserialize_with = "units::duration")]
    pub idle_timeout: Duration,
    /// Longest wait for the next piece of a request body (default 30s):
    /// 408 while the host still holds the request, else the upstream
    /// request is aborted.
    #[serde(deserialize_with = "units::duration")]
    pub request_body_timeout: Duration,
    /// Largest request head (HTTP/1) or header list (HTTP/2), default
    /// 64KiB, at least 8KiB; beyond: 431 (HTTP/1), stream reset (HTTP/2).
    #[serde(deserialize_with = "units::size")]
    pub max_header_bytes: u64,
    /// Most header fields of an HTTP/1 request (default 100); beyond: 431.
    pub max_headers: usize,
    /// Request body bytes held while a plugin holds the request (paused
    /// before deciding on the headers), per stream; beyond: 413 and the
    /// body is not read further. Default 64KiB.
    #[serde(deserialize_with = "units::size")]
    pub max_buffered_body_bytes: u64,
    /// HTTP/2 streams open at once per connection (default 100).
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2 streams reset by the client before the host saw them, at
    /// once (rapid-reset protection; default 20): beyond, the connection is
    /// closed with GOAWAY.
    pub h2_max_pending_accept_reset_streams: usize,
    /// HTTP/2 streams the host resets for protocol errors per connection
    /// (default 1024): beyond, the connection is closed with GOAWAY.
    pub h2_max_local_error_reset_streams: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_body_timeout: Duration::from_secs(30),
            max_header_bytes: 64 << 10,
            max_headers: 100,
            max_buffered_body_bytes: 64 << 10,
            h2_max_concurrent_streams: 100,
            h2_max_pending_accept_reset_streams: 20,
            h2_max_local_error_reset_streams: 1024,
        }
    }
}

/// hyper's smallest HTTP/1 read buffer.
const MIN_HEADER_BYTES: u64 = 8 << 10;

fn validate_limits(limits: &ListenerLimits, i: usize) -> Result<(), ConfigError> {
    let field = |name: &str| format!("listeners[{i}].limits.{name}");
    let positive = [
        ("max_connections", limits.max_connections == 0),
        ("header_read_timeout", limits.header_read_timeout.is_zero()),
        ("idle_timeout", limits.idle_timeout.is_zero()),
        (
            "request_body_timeout",
            limits.request_body_timeout.is_zero(),
        ),
        ("max_headers", limits.max_headers == 0),
        (
            "h2_max_concurrent_streams",
            limits.h2_max_concurrent_streams == 0,
        ),
    ];
    for (name, zero) in positive {
        if zero {
            return Err(ConfigError::new(field(name), "must be more than 0"));
        }
    }
    if limits.max_header_bytes < MIN_HEADER_BYTES || limits.max_header_bytes > u64::from(u32::MAX) {
        return Err(ConfigError::new(
            field("max_header_bytes"),
            "must be between 8KiB and 4GiB",
        ));
    }
    if usize::try_from(limits.max_buffered_body_bytes).is_err() {
        return Err(ConfigError::new(
            field("max_buffered_body_bytes"),
            "too large",
        ));
    }
    Ok(())
}

/// TLS settings of a listener. ALPN offers `h2` and `http/1.1`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    /// PEM file with the server certificate chain.
    pub certificate: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// Whether clients must present a certificate (default `none`).
    #[serde(default)]
    pub client_certificate: ClientCertificateMode,
    /// PEM file with the CA certificates client certificates are verified
    /// against (required unless `client_certificate` is `none`).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// Client-certificate verification of a TLS listener.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientCertificateMode {
    /// Do not ask for a client certificate.
    #[default]
    None,
    /// Ask; verify it when presented; accept clients without one.
    Optional,
    /// Ask and refuse the handshake without a valid certificate.
    Required,
}

/// Checks every listener and names the unnamed ones (`listener_<index>`).
pub(super) fn validate(listeners: &mut [ListenerConfig]) -> Result<(), ConfigError> {
    for (i, listener) in listeners.iter_mut().enumerate() {
        if listener.name.is_empty() {
            listener.name = format!("listener_{i}");
        }
        validate_limits(&listener.limits, i)?;
        if let Some(tls) = &listener.tls {
            let field = |name: &str| format!("listeners[{i}].tls.{name}");
            require_file(&tls.certificate, &field("certificate"))?;
            require_file(&tls.private_key, &field("private_key"))?;
            match (tls.client_certificate, &tls.client_ca) {
                (ClientCertificateMode::None, Some(_)) => {
                    return Err(ConfigError::new(
                        field("client_ca"),
                        "set client_certificate to optional or required to use a client CA",
                    ))
                }
                (ClientCertificateMode::None, None) => {}
                (_, None) => {
                    return Err(ConfigError::new(
                        field("client_ca"),
                        "required when client_certificate is optional or required",
                    ))
                }
                (_, Some(ca)) => require_file(ca, &field("client_ca"))?,
            }
        }
    }
    Ok(())
}
