//! The `routes` section: host and path prefix to cluster, and how a request
//! matches a route.

use std::collections::HashSet;

use serde::Deserialize;

use super::ConfigError;

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

/// Checks every route; `clusters` holds the names of the configured clusters.
pub(super) fn validate(
    routes: &[RouteConfig],
    clusters: &HashSet<&str>,
) -> Result<(), ConfigError> {
    for (i, route) in routes.iter().enumerate() {
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
        if !clusters.contains(route.cluster.as_str()) {
            return Err(ConfigError::new(
                field("cluster"),
                format!("unknown cluster `{}`", route.cluster),
            ));
        }
    }
    Ok(())
}
