//! The `clusters` section: upstream addresses, timeouts and TLS towards them.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::parse::require_file;
use super::{units, Config, ConfigError};

/// An upstream cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Name used by routes and `http_call`.
    pub name: String,
    /// `http://host:port` or `https://host:port`.
    pub address: ClusterAddress,
    /// TCP (and TLS) connect timeout (default 5s).
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "units::duration"
    )]
    pub connect_timeout: Duration,
    /// Time from sending the request to receiving the response headers (default 15s).
    #[serde(
        default = "default_request_timeout",
        deserialize_with = "units::duration"
    )]
    pub request_timeout: Duration,
    /// Largest answer body of a `proxy_http_call` to this cluster (default
    /// 1MiB); a larger answer fails the callout as a broken upstream would.
    #[serde(
        default = "default_max_callout_response_bytes",
        deserialize_with = "units::size"
    )]
    pub max_callout_response_bytes: u64,
    /// Speak HTTP/2 with prior knowledge to an `http://` upstream (h2c).
    /// Over `https://` HTTP/2 is negotiated with ALPN.
    #[serde(default)]
    pub http2: bool,
    /// Upstream TLS settings (only for `https://`).
    #[serde(default)]
    pub tls: Option<ClusterTls>,
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_max_callout_response_bytes() -> u64 {
    1 << 20
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(15)
}

/// TLS settings towards an `https://` cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterTls {
    /// PEM file with the CA certificates the upstream is verified against.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Server name sent and verified (default: the address's host).
    #[serde(default)]
    pub sni: Option<String>,
    /// Client certificate chain (PEM) for upstream mTLS.
    #[serde(default)]
    pub client_certificate: Option<PathBuf>,
    /// Private key (PEM) of `client_certificate`.
    #[serde(default)]
    pub client_private_key: Option<PathBuf>,
    /// Accept any upstream certificate. Insecure: for tests only.
    #[serde(default)]
    pub danger_accept_invalid_certificates: bool,
}

/// A validated cluster address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterAddress {
    /// `https://` (true) or `http://`.
    pub tls: bool,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// Port (default 80/443).
    pub port: u16,
}

impl ClusterAddress {
    /// Parses `http://host[:port]` or `https://host[:port]` (no path).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err("must start with http:// or https://".into());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err("must be http(s)://host[:port] with no path, query or user".into());
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or("unclosed `[` in IPv6 address")?;
            match after {
                "" => (host, default_port),
                _ => {
                    let port = after
                        .strip_prefix(':')
                        .ok_or("expected `:port` after `]`")?;
                    (
                        host,
                        port.parse().map_err(|_| format!("bad port `{port}`"))?,
                    )
                }
            }
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (
                    host,
                    port.parse().map_err(|_| format!("bad port `{port}`"))?,
                ),
                None => (rest, default_port),
            }
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        Ok(Self {
            tls,
            host: host.to_string(),
            port,
        })
    }

    /// `host:port` for a URI authority (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }
}

impl<'de> Deserialize<'de> for ClusterAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// The cluster called `name`.
    pub fn cluster(&self, name: &str) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

/// Checks every cluster; returns their names (unique).
pub(super) fn validate(clusters: &[ClusterConfig]) -> Result<HashSet<&str>, ConfigError> {
    let mut names = HashSet::new();
    for (i, cluster) in clusters.iter().enumerate() {
        let field = |name: &str| format!("clusters[{i}].{name}");
        if cluster.name.is_empty() {
            return Err(ConfigError::new(field("name"), "must not be empty"));
        }
        if !names.insert(cluster.name.as_str()) {
            return Err(ConfigError::new(
                field("name"),
                format!("duplicate cluster name `{}`", cluster.name),
            ));
        }
        if cluster.connect_timeout.is_zero() {
            return Err(ConfigError::new(
                field("connect_timeout"),
                "must be more than 0",
            ));
        }
        if cluster.request_timeout.is_zero() {
            return Err(ConfigError::new(
                field("request_timeout"),
                "must be more than 0",
            ));
        }
        match (&cluster.tls, cluster.address.tls) {
            (Some(_), false) => {
                return Err(ConfigError::new(
                    field("tls"),
                    "only allowed with an https:// address",
                ))
            }
            (None, true) => {
                return Err(ConfigError::new(
                    field("tls"),
                    "an https:// address needs tls.ca (the CA to verify the upstream)",
                ))
            }
            (None, false) => {}
            (Some(tls), true) => {
                let field = |name: &str| format!("clusters[{i}].tls.{name}");
                match &tls.ca {
                    Some(ca) => require_file(ca, &field("ca"))?,
                    None if tls.danger_accept_invalid_certificates => {}
                    None => {
                        return Err(ConfigError::new(
                            field("ca"),
                            "required to verify the upstream certificate",
                        ))
                    }
                }
                match (&tls.client_certificate, &tls.client_private_key) {
                    (Some(cert), Some(key)) => {
                        require_file(cert, &field("client_certificate"))?;
                        require_file(key, &field("client_private_key"))?;
                    }
                    (None, None) => {}
                    (Some(_), None) => {
                        return Err(ConfigError::new(
                            field("client_private_key"),
                            "required with client_certificate",
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(ConfigError::new(
                            field("client_certificate"),
                            "required with client_private_key",
                        ))
                    }
                }
                if let Some(sni) = &tls.sni {
                    if rustls::pki_types::ServerName::try_from(sni.as_str()).is_err() {
                        return Err(ConfigError::new(
                            field("sni"),
                            format!("`{sni}` is not a valid server name"),
                        ));
                    }
                }
            }
        }
    }
    Ok(names)
}
