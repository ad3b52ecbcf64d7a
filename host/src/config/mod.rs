//! The host's configuration: one YAML or JSON file with Envoy's concepts
//! (listeners, routes, clusters, a filter chain of wasm plugins, an admin
//! listener), parsed once into the typed structs of this module.
//!
//! Every error names the field it is about (`clusters[1].address: …`).
//! Relative paths are resolved against the directory of the config file.
//!
//! One file per section: `listeners`, `admin_listener`, `routes`,
//! `clusters`, `plugins` (the filter chain); `parse` is the entry
//! ([`Config::from_file`], [`Config::parse`]: read, resolve paths, validate
//! each section); `units` parses durations and sizes.

mod admin_listener;
mod clusters;
mod listeners;
mod parse;
mod plugins;
mod routes;
mod units;

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

pub use admin_listener::AdminConfig;
pub use clusters::{ClusterAddress, ClusterConfig, ClusterTls};
pub use listeners::{ClientCertificateMode, ListenerConfig, ListenerLimits, ListenerTls};
pub use plugins::{parse_log_level, FilterConfig, Limits};
pub(crate) use plugins::{Redacted, RedactedEnv};
pub use routes::RouteConfig;
pub use units::{parse_duration, parse_size};

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

#[cfg(test)]
mod tests;
