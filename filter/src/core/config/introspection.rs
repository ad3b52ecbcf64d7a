//! `providers[].introspection` and `introspection_cache` (RFC 7662),
//! validated. The request, the answer and the shared answer cache are in
//! `core::resource::introspection`.

use serde::Deserialize;

use super::check::{self, err};
use super::client_auth::{ClientAuth, ClientAuthConfig};
use super::defaults;
use super::secrets::Secrets;
use super::ConfigError;
use crate::core::util::uri::HttpUri;

/// `providers[].introspection` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// `http://` or `https://` URI of the introspection endpoint.
    pub uri: String,
    /// Proxy cluster the callout goes through.
    pub cluster: String,
    /// `:authority` of the callout; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
    /// How the gateway authenticates to the endpoint.
    pub client_auth: ClientAuthConfig,
    /// Callout timeout in milliseconds.
    #[serde(default = "defaults::introspection_timeout_ms")]
    pub timeout_ms: u64,
    /// When the endpoint cannot give an answer (unreachable, timeout, 5xx,
    /// garbage), forward the request unauthenticated instead of 503.
    /// Insecure: anyone gets through while the server is down.
    #[serde(default)]
    pub danger_fail_open: bool,
}

/// A validated introspection endpoint.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// Target of the callout.
    pub endpoint: HttpUri,
    /// The URI as configured (default `aud` of client assertions).
    pub uri: String,
    /// Cluster.
    pub cluster: String,
    /// Client authentication.
    pub auth: ClientAuth,
    /// Callout timeout.
    pub timeout_ms: u64,
    /// Forward requests when no answer can be had.
    pub danger_fail_open: bool,
}

impl Introspection {
    /// Validate `c` found at `path`.
    pub fn from_config(
        c: &IntrospectionConfig,
        path: &str,
        secrets: &Secrets,
    ) -> Result<Introspection, ConfigError> {
        let endpoint = check::http_uri(&c.uri, c.authority.as_deref(), format!("{path}.uri"))?;
        check::cluster(&c.cluster, &format!("{path}.cluster"))?;
        check::timeout_ms(c.timeout_ms, &format!("{path}.timeout_ms"))?;
        let auth =
            ClientAuth::from_config(&c.client_auth, &format!("{path}.client_auth"), secrets)?;
        Ok(Introspection {
            endpoint,
            uri: c.uri.clone(),
            cluster: c.cluster.clone(),
            auth,
            timeout_ms: c.timeout_ms,
            danger_fail_open: c.danger_fail_open,
        })
    }
}

/// `introspection_cache` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionCacheConfig {
    /// Answers kept in shared data (all workers), per provider; 0 disables
    /// caching (and single-flight across workers).
    #[serde(default = "defaults::answers_max_entries")]
    pub max_entries: usize,
    /// Answers kept per worker in front of the shared cache.
    #[serde(default = "defaults::answers_local_max_entries")]
    pub local_max_entries: usize,
    /// Longest time an active answer is used (also bounds how long a
    /// revoked token keeps working).
    #[serde(default = "defaults::answers_max_ttl_s")]
    pub max_ttl_s: u64,
    /// Lifetime of an active answer without `exp`.
    #[serde(default = "defaults::answers_default_ttl_s")]
    pub default_ttl_s: u64,
    /// Lifetime of an `active: false` answer.
    #[serde(default = "defaults::answers_inactive_ttl_s")]
    pub inactive_ttl_s: u64,
    /// Larger answers are cached per worker only.
    #[serde(default = "defaults::answers_max_entry_bytes")]
    pub max_entry_bytes: usize,
}

impl Default for IntrospectionCacheConfig {
    fn default() -> Self {
        IntrospectionCacheConfig {
            max_entries: defaults::answers_max_entries(),
            local_max_entries: defaults::answers_local_max_entries(),
            max_ttl_s: defaults::answers_max_ttl_s(),
            default_ttl_s: defaults::answers_default_ttl_s(),
            inactive_ttl_s: defaults::answers_inactive_ttl_s(),
            max_entry_bytes: defaults::answers_max_entry_bytes(),
        }
    }
}

impl IntrospectionCacheConfig {
    /// Semantic checks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let e = |f: &str, m: &str| err(format!("introspection_cache.{f}"), m);
        if self.max_entries > 1_000_000 {
            return Err(e("max_entries", "must be at most 1000000"));
        }
        if self.local_max_entries > 1_000_000 {
            return Err(e("local_max_entries", "must be at most 1000000"));
        }
        if self.default_ttl_s > self.max_ttl_s {
            return Err(e("default_ttl_s", "must not exceed max_ttl_s"));
        }
        if self.inactive_ttl_s > self.max_ttl_s {
            return Err(e("inactive_ttl_s", "must not exceed max_ttl_s"));
        }
        if self.max_entry_bytes < 256 || self.max_entry_bytes > 65_536 {
            return Err(e("max_entry_bytes", "must be between 256 and 65536"));
        }
        Ok(())
    }
}
