//! The entry: reading the file, parsing YAML or JSON into [`Config`] with
//! the field path in every error, resolving relative paths, and validating
//! section by section.

use std::path::{Path, PathBuf};

use super::{clusters, listeners, plugins, routes, Config, ConfigError};

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
        listeners::validate(&mut self.listeners)?;
        let names = clusters::validate(&self.clusters)?;
        routes::validate(&self.routes, &names)?;
        plugins::validate(&self.filters)
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

/// `path` exists and is a regular file.
pub(super) fn require_file(path: &Path, field: &str) -> Result<(), ConfigError> {
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
