//! The `listeners` section: downstream addresses and their TLS termination.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::parse::require_file;
use super::ConfigError;

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
