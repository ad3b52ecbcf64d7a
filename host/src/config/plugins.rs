//! The `filters` section: the wasm plugins of the filter chain, their
//! configuration, limits and log level, and their conversion to the
//! runtime's [`PluginSpec`]s.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use super::parse::require_file;
use super::{units, Config, ConfigError};
use crate::runtime::{LogLevel, PluginSpec};

/// One wasm plugin of the filter chain. Its `Debug` shows the names of the
/// `environment` variables, not their values (they may be secrets).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Plugin name (`plugin_name`, logs, metrics). Unique in the chain.
    pub name: String,
    /// Path of the `.wasm` module.
    pub module: PathBuf,
    /// Root context id (default empty).
    #[serde(default)]
    pub root_id: String,
    /// VM id (default: the plugin's `name`); shared data and queues are
    /// scoped by it, so plugins share them only when configured with the
    /// same `vm_id`.
    #[serde(default)]
    pub vm_id: Option<String>,
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
    /// On a crash, let the request go on unfiltered instead of answering
    /// 500. Dangerous for an authorization filter: the request then reaches
    /// the upstream unchecked.
    #[serde(default)]
    pub danger_fail_open: bool,
    /// The old name of `danger_fail_open`, refused with an error naming the
    /// new one.
    #[serde(default, rename = "fail_open", skip_serializing)]
    pub(super) renamed_fail_open: Option<serde_yaml::Value>,
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

impl std::fmt::Debug for FilterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterConfig")
            .field("name", &self.name)
            .field("module", &self.module)
            .field("root_id", &self.root_id)
            .field("vm_id", &self.vm_id)
            .field(
                "configuration",
                &self.configuration.as_ref().map(|_| Redacted),
            )
            .field("configuration_file", &self.configuration_file)
            .field(
                "vm_configuration",
                &self.vm_configuration.as_ref().map(|_| Redacted),
            )
            .field("danger_fail_open", &self.danger_fail_open)
            .field("environment", &RedactedEnv(self.environment.keys()))
            .field("limits", &self.limits)
            .field("log_level", &self.log_level)
            .finish()
    }
}

/// Stands for a value that may hold secrets.
pub(crate) struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Environment variable names with their values redacted.
pub(crate) struct RedactedEnv<I>(pub(crate) I);

impl<'a, I: Iterator<Item = &'a String> + Clone> std::fmt::Debug for RedactedEnv<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.clone().map(|k| (k, Redacted)))
            .finish()
    }
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
    /// Shared data (keys plus values) the plugin's `vm_id` may hold
    /// (default 64MiB); a set beyond answers `CAS_MISMATCH`.
    #[serde(default = "default_max_shared_data", deserialize_with = "units::size")]
    pub max_shared_data: u64,
    /// Items one shared queue holds (default 10000); beyond, the oldest
    /// are dropped.
    #[serde(default = "default_max_queue_items")]
    pub max_queue_items: usize,
}

fn default_max_shared_data() -> u64 {
    64 << 20
}

fn default_max_queue_items() -> usize {
    10_000
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
            max_shared_data: default_max_shared_data(),
            max_queue_items: default_max_queue_items(),
        }
    }
}

impl Config {
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
                let max_shared_data_bytes =
                    usize::try_from(f.limits.max_shared_data).map_err(|_| {
                        ConfigError::new(
                            format!("filters[{i}].limits.max_shared_data"),
                            "too large",
                        )
                    })?;
                Ok(PluginSpec {
                    name: f.name.clone(),
                    module_path: f.module.clone(),
                    root_id: f.root_id.clone(),
                    vm_id: f.vm_id.clone().unwrap_or_else(|| f.name.clone()),
                    configuration,
                    vm_configuration,
                    fail_open: f.danger_fail_open,
                    environment: f.environment.clone().into_iter().collect(),
                    callback_cpu_limit: f.limits.callback_cpu,
                    max_memory_bytes,
                    max_shared_data_bytes,
                    max_queue_items: f.limits.max_queue_items,
                    log_level: f.log_level,
                })
            })
            .collect()
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

/// Checks every plugin of the chain.
pub(super) fn validate(filters: &[FilterConfig]) -> Result<(), ConfigError> {
    let mut plugin_names = HashSet::new();
    for (i, filter) in filters.iter().enumerate() {
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
        if filter.renamed_fail_open.is_some() {
            return Err(ConfigError::new(
                field("fail_open"),
                "renamed to danger_fail_open (after a crash the request reaches the upstream \
                 unfiltered); set danger_fail_open instead",
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
        if filter.limits.max_queue_items == 0 {
            return Err(ConfigError::new(
                field("limits.max_queue_items"),
                "must be at least 1",
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
