//! The host's configuration: one YAML or JSON file with Envoy's concepts
//! (listeners, routes, clusters, a filter chain of wasm plugins, an admin
//! listener), parsed once into the typed structs below.
//!
//! Every error names the field it is about (`clusters[1].address: …`).
//! Relative paths are resolved against the directory of the config file.

mod units;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

pub use units::{parse_duration, parse_size};

use crate::runtime::{LogLevel, PluginSpec};

/// A configuration error: the field it is about and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Path of the field, e.g. `clusters[1].address` (empty for the file itself).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Worker threads (default: number of cores).
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// How long a graceful shutdown waits for in-flight requests (default 30s).
    #[serde(
        default = "default_drain_timeout",
        deserialize_with = "units::duration"
    )]
    pub drain_timeout: Duration,
    /// The admin listener (`/ready`, `/metrics`), if any.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// Downstream listeners (at least one).
    pub listeners: Vec<ListenerConfig>,
    /// Routes, tried in order; the first match wins, no match is a 404.
    pub routes: Vec<RouteConfig>,
    /// Upstream clusters, for routes and for `http_call`.
    pub clusters: Vec<ClusterConfig>,
    /// The filter chain (may be empty: the host is then a plain proxy).
    #[serde(default)]
    pub filters: Vec<FilterConfig>,
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn default_drain_timeout() -> Duration {
    Duration::from_secs(30)
}

/// The admin listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `ip:port` to bind (port 0 picks a free port).
    pub address: SocketAddr,
}

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

/// A route: host and path prefix to cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// `*` (default), an exact host (`api.example.com`) or a suffix
    /// wildcard (`*.example.com`). Compared without the port, case-insensitively.
    #[serde(default = "default_host")]
    pub host: String,
    /// Path prefix (default `/`).
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// Name of the cluster to forward to.
    pub cluster: String,
}

fn default_host() -> String {
    "*".into()
}

fn default_prefix() -> String {
    "/".into()
}

impl RouteConfig {
    /// Whether a request for `host` (may include a port) and `path` matches.
    pub fn matches(&self, host: &str, path: &str) -> bool {
        path.starts_with(&self.path_prefix) && host_matches(&self.host, host)
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let host = strip_port(host);
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
        }
        None => host.eq_ignore_ascii_case(pattern),
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [v6]:port
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rfind(':') {
        Some(colon) if host[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..colon],
        _ => host,
    }
}

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

/// One wasm plugin of the filter chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Plugin name (`plugin_name`, logs, metrics). Unique in the chain.
    pub name: String,
    /// Path of the `.wasm` module.
    pub module: PathBuf,
    /// Root context id (default empty).
    #[serde(default)]
    pub root_id: String,
    /// VM id (default empty); shared data and queues are scoped by it.
    #[serde(default)]
    pub vm_id: String,
    /// Plugin configuration inline: a string is passed as is, any other
    /// value as its JSON serialisation.
    #[serde(default)]
    pub configuration: Option<serde_yaml::Value>,
    /// Plugin configuration read from a file (exclusive with `configuration`).
    #[serde(default)]
    pub configuration_file: Option<PathBuf>,
    /// VM configuration inline (string as is, other values as JSON).
    #[serde(default)]
    pub vm_configuration: Option<serde_yaml::Value>,
    /// On a crash, let the request go on unfiltered instead of answering 500.
    #[serde(default)]
    pub fail_open: bool,
    /// Environment variables visible to the module through WASI.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Module log level (default `info`): `trace|debug|info|warn|error|critical`.
    #[serde(default = "default_log_level", deserialize_with = "log_level")]
    pub log_level: LogLevel,
}

fn default_log_level() -> LogLevel {
    LogLevel::Info
}

fn log_level<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<LogLevel, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_log_level(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown log level `{text}`, expected one of trace, debug, info, warn, error, critical"
        ))
    })
}

/// Parses a proxy-wasm log level name.
pub fn parse_log_level(text: &str) -> Option<LogLevel> {
    Some(match text {
        "trace" => LogLevel::Trace,
        "debug" => LogLevel::Debug,
        "info" => LogLevel::Info,
        "warn" => LogLevel::Warn,
        "error" => LogLevel::Error,
        "critical" => LogLevel::Critical,
        _ => return None,
    })
}

/// Per-plugin resource limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// CPU time one callback may use (default 1s).
    #[serde(default = "default_callback_cpu", deserialize_with = "units::duration")]
    pub callback_cpu: Duration,
    /// Largest linear memory of one instance (default 128MiB).
    #[serde(default = "default_max_memory", deserialize_with = "units::size")]
    pub max_memory: u64,
}

fn default_callback_cpu() -> Duration {
    Duration::from_secs(1)
}

fn default_max_memory() -> u64 {
    128 << 20
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            callback_cpu: default_callback_cpu(),
            max_memory: default_max_memory(),
        }
    }
}

impl Config {
    /// Reads and validates the config file at `path`. Relative paths inside
    /// it are resolved against its directory.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                "",
                format!("cannot read config file {}: {e}", path.display()),
            )
        })?;
        let base = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(&text, &base)
    }

    /// Parses and validates YAML or JSON `text`; relative paths resolve
    /// against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        let deserializer = serde_yaml::Deserializer::from_str(text);
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let inner = e.into_inner();
            let message = yaml_message(&inner.to_string(), &field, inner.location());
            ConfigError::new(field, message)
        })?;
        config.resolve_paths(base_dir);
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for listener in &mut self.listeners {
            if let Some(tls) = &mut listener.tls {
                resolve(&mut tls.certificate);
                resolve(&mut tls.private_key);
                tls.client_ca.as_mut().map(resolve);
            }
        }
        for cluster in &mut self.clusters {
            if let Some(tls) = &mut cluster.tls {
                tls.ca.as_mut().map(resolve);
                tls.client_certificate.as_mut().map(resolve);
                tls.client_private_key.as_mut().map(resolve);
            }
        }
        for filter in &mut self.filters {
            resolve(&mut filter.module);
            filter.configuration_file.as_mut().map(resolve);
        }
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
        if self.workers == 0 {
            return Err(ConfigError::new("workers", "must be at least 1"));
        }
        if self.listeners.is_empty() {
            return Err(ConfigError::new(
                "listeners",
                "at least one listener is required",
            ));
        }
        for (i, listener) in self.listeners.iter_mut().enumerate() {
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

        let mut names = HashSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
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

        for (i, route) in self.routes.iter().enumerate() {
            let field = |name: &str| format!("routes[{i}].{name}");
            if !route.path_prefix.starts_with('/') {
                return Err(ConfigError::new(
                    field("path_prefix"),
                    "must start with `/`",
                ));
            }
            let host = route.host.strip_prefix("*.").unwrap_or(&route.host);
            if route.host != "*" && (host.is_empty() || host.contains(['*', '/', ' '])) {
                return Err(ConfigError::new(
                    field("host"),
                    "must be `*`, a host name, or `*.` followed by a domain",
                ));
            }
            if !names.contains(route.cluster.as_str()) {
                return Err(ConfigError::new(
                    field("cluster"),
                    format!("unknown cluster `{}`", route.cluster),
                ));
            }
        }

        let mut plugin_names = HashSet::new();
        for (i, filter) in self.filters.iter().enumerate() {
            let field = |name: &str| format!("filters[{i}].{name}");
            if filter.name.is_empty() {
                return Err(ConfigError::new(field("name"), "must not be empty"));
            }
            if !plugin_names.insert(filter.name.as_str()) {
                return Err(ConfigError::new(
                    field("name"),
                    format!("duplicate plugin name `{}`", filter.name),
                ));
            }
            require_file(&filter.module, &field("module"))?;
            if filter.configuration.is_some() && filter.configuration_file.is_some() {
                return Err(ConfigError::new(
                    field("configuration_file"),
                    "set either configuration or configuration_file, not both",
                ));
            }
            if let Some(file) = &filter.configuration_file {
                require_file(file, &field("configuration_file"))?;
            }
            if filter.limits.callback_cpu.is_zero() {
                return Err(ConfigError::new(
                    field("limits.callback_cpu"),
                    "must be more than 0",
                ));
            }
            if filter.limits.max_memory < 64 * 1024 {
                return Err(ConfigError::new(
                    field("limits.max_memory"),
                    "must be at least one wasm page (64KiB)",
                ));
            }
            for key in filter.environment.keys() {
                if key.is_empty() || key.contains(['=', '\0']) {
                    return Err(ConfigError::new(
                        field("environment"),
                        format!("`{key}` is not a valid variable name"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The filter chain as the runtime wants it (reads `configuration_file`s).
    pub fn plugin_specs(&self) -> Result<Vec<PluginSpec>, ConfigError> {
        self.filters
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let configuration = match (&f.configuration, &f.configuration_file) {
                    (_, Some(path)) => Bytes::from(std::fs::read(path).map_err(|e| {
                        ConfigError::new(
                            format!("filters[{i}].configuration_file"),
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?),
                    (Some(value), None) => value_bytes(value)
                        .map_err(|e| ConfigError::new(format!("filters[{i}].configuration"), e))?,
                    (None, None) => Bytes::new(),
                };
                let vm_configuration = match &f.vm_configuration {
                    Some(value) => value_bytes(value).map_err(|e| {
                        ConfigError::new(format!("filters[{i}].vm_configuration"), e)
                    })?,
                    None => Bytes::new(),
                };
                let max_memory_bytes = usize::try_from(f.limits.max_memory).map_err(|_| {
                    ConfigError::new(format!("filters[{i}].limits.max_memory"), "too large")
                })?;
                Ok(PluginSpec {
                    name: f.name.clone(),
                    module_path: f.module.clone(),
                    root_id: f.root_id.clone(),
                    vm_id: f.vm_id.clone(),
                    configuration,
                    vm_configuration,
                    fail_open: f.fail_open,
                    environment: f.environment.clone().into_iter().collect(),
                    callback_cpu_limit: f.limits.callback_cpu,
                    max_memory_bytes,
                    log_level: f.log_level,
                })
            })
            .collect()
    }

    /// The cluster called `name`.
    pub fn cluster(&self, name: &str) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

/// serde_yaml's message without its own (coarser) path prefix and with
/// the location in parentheses.
fn yaml_message(text: &str, field: &str, location: Option<serde_yaml::Location>) -> String {
    let mut message = text;
    if let Some((prefix, rest)) = message.split_once(": ") {
        let path_like = !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c));
        if path_like && field.starts_with(prefix) {
            message = rest;
        }
    }
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match location {
        Some(l) => format!("{message} (line {}, column {})", l.line(), l.column()),
        None => message,
    }
}

/// A string is passed as is; any other value as compact JSON.
fn value_bytes(value: &serde_yaml::Value) -> Result<Bytes, String> {
    match value {
        serde_yaml::Value::String(s) => Ok(Bytes::from(s.clone())),
        other => serde_json::to_vec(other)
            .map(Bytes::from)
            .map_err(|e| format!("cannot be expressed as JSON: {e}")),
    }
}

fn require_file(path: &Path, field: &str) -> Result<(), ConfigError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(ConfigError::new(
            field,
            format!("{} is not a file", path.display()),
        )),
        Err(e) => Err(ConfigError::new(
            field,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

#[cfg(test)]
mod tests;
