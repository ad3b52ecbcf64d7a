//! The sections around the providers: `token`, `scopes`, `upstream`,
//! `key_fetch`, `cache`, `audit` (and `realm`, `tick_ms`), validated.

use std::collections::HashSet;

use serde::Deserialize;

use super::check::{self, err};
use super::{defaults, Config, ConfigError};
use crate::core::route::Route;
use crate::core::util::header::canonical;

/// Token extraction options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Largest accepted token, in bytes.
    #[serde(default = "defaults::token_max_bytes")]
    pub max_bytes: usize,
    /// Another request header carrying the token (raw, or `Bearer <token>`).
    #[serde(default)]
    pub header: Option<String>,
    /// A cookie carrying the token.
    #[serde(default)]
    pub cookie: Option<String>,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            max_bytes: defaults::token_max_bytes(),
            header: None,
            cookie: None,
        }
    }
}

/// Required scopes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    /// Scopes every request needs.
    #[serde(default)]
    pub required: Vec<String>,
    /// Per-route additions; the first matching rule applies.
    #[serde(default)]
    pub rules: Vec<ScopeRule>,
}

route_rule! {
    /// Scopes for matching requests.
    ScopeRule {
        /// Scopes needed in addition to the global ones.
        required: Vec<String>,
    }
}

/// Request edits towards the upstream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Claims copied into request headers.
    #[serde(default)]
    pub claim_headers: Vec<ClaimHeader>,
    /// Header receiving the validated payload (base64url, no padding).
    #[serde(default)]
    pub payload_header: Option<String>,
    /// Remove `Authorization` before the request goes upstream.
    #[serde(default)]
    pub remove_authorization: bool,
}

/// One claim → header mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimHeader {
    /// Claim name.
    pub claim: String,
    /// Header name (lowercase).
    pub header: String,
}

/// Key fetch timing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFetchConfig {
    /// Refresh interval when the response has no `Cache-Control: max-age`.
    #[serde(default = "defaults::refresh_interval_s")]
    pub refresh_interval_s: u64,
    /// Lower bound applied to `max-age`.
    #[serde(default = "defaults::min_refresh_interval_s")]
    pub min_refresh_interval_s: u64,
    /// Upper bound applied to `max-age`.
    #[serde(default = "defaults::max_refresh_interval_s")]
    pub max_refresh_interval_s: u64,
    /// At most one refetch per this interval when a token names an unknown `kid`.
    #[serde(default = "defaults::unknown_kid_refetch_interval_s")]
    pub unknown_kid_refetch_interval_s: u64,
    /// Wait after a failed fetch before the next attempt.
    #[serde(default = "defaults::retry_interval_s")]
    pub retry_interval_s: u64,
    /// Callout timeout.
    #[serde(default = "defaults::key_fetch_timeout_ms")]
    pub timeout_ms: u64,
    /// How long a request may be held waiting for the first key set.
    #[serde(default = "defaults::initial_wait_ms")]
    pub initial_wait_ms: u64,
}

impl Default for KeyFetchConfig {
    fn default() -> Self {
        KeyFetchConfig {
            refresh_interval_s: defaults::refresh_interval_s(),
            min_refresh_interval_s: defaults::min_refresh_interval_s(),
            max_refresh_interval_s: defaults::max_refresh_interval_s(),
            unknown_kid_refetch_interval_s: defaults::unknown_kid_refetch_interval_s(),
            retry_interval_s: defaults::retry_interval_s(),
            timeout_ms: defaults::key_fetch_timeout_ms(),
            initial_wait_ms: defaults::initial_wait_ms(),
        }
    }
}

/// Verified-token cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Entries per worker; 0 disables the cache.
    #[serde(default = "defaults::cache_max_entries")]
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: defaults::cache_max_entries(),
        }
    }
}

/// Audit log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Emit one line per decision.
    #[serde(default = "defaults::enabled")]
    pub enabled: bool,
    /// Claim holding the token's tracking id.
    #[serde(default = "defaults::tracking_id_claim")]
    pub tracking_id_claim: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            tracking_id_claim: defaults::tracking_id_claim(),
        }
    }
}

/// Validated scope requirements.
#[derive(Debug, Clone, Default)]
pub struct Scopes {
    /// Scopes every request needs.
    pub required: Vec<String>,
    /// Per-route additions; the first matching rule applies.
    pub rules: Vec<ScopeRoute>,
}

/// Scopes for requests matching a route.
#[derive(Debug, Clone)]
pub struct ScopeRoute {
    /// Methods and path.
    pub route: Route,
    /// Scopes needed in addition to the global ones.
    pub required: Vec<String>,
}

/// Validate every section but `providers`, `introspection_cache` and
/// `client`; returns the validated scopes.
pub(super) fn validate(cfg: &Config) -> Result<Scopes, ConfigError> {
    if cfg.realm.contains(['"', '\\']) || cfg.realm.chars().any(char::is_control) {
        return Err(err(
            "realm",
            "must not contain quotes, backslashes or control characters",
        ));
    }
    if cfg.tick_ms == 0 || cfg.tick_ms > 60_000 {
        return Err(err("tick_ms", "must be between 1 and 60000"));
    }
    if cfg.token.max_bytes == 0 {
        return Err(err("token.max_bytes", "must be positive"));
    }
    if let Some(h) = &cfg.token.header {
        check::header_not_authorization(h, "token.header")?;
    }
    if let Some(c) = &cfg.token.cookie {
        if c.is_empty() || c.contains([';', '=', ' ']) {
            return Err(err("token.cookie", "must be a cookie name"));
        }
    }
    let kf = &cfg.key_fetch;
    if kf.min_refresh_interval_s == 0 {
        return Err(err("key_fetch.min_refresh_interval_s", "must be positive"));
    }
    if kf.min_refresh_interval_s > kf.max_refresh_interval_s {
        return Err(err(
            "key_fetch.max_refresh_interval_s",
            "must not be below min_refresh_interval_s",
        ));
    }
    if kf.timeout_ms == 0 {
        return Err(err("key_fetch.timeout_ms", "must be positive"));
    }
    let mut rules = Vec::with_capacity(cfg.scopes.rules.len());
    for (i, rule) in cfg.scopes.rules.iter().enumerate() {
        let p = format!("scopes.rules[{i}]");
        let route = check::route(
            &rule.methods,
            rule.path_prefix.as_deref(),
            rule.path.as_deref(),
            &p,
        )?;
        check::scopes(&rule.required, &format!("{p}.required"))?;
        rules.push(ScopeRoute {
            route,
            required: rule.required.clone(),
        });
    }
    check::scopes(&cfg.scopes.required, "scopes.required")?;
    let mut seen_headers = HashSet::new();
    for (i, ch) in cfg.upstream.claim_headers.iter().enumerate() {
        let p = format!("upstream.claim_headers[{i}].header");
        check::claim_header(&ch.header, &p)?;
        if !seen_headers.insert(canonical(&ch.header)) {
            return Err(err(
                p,
                "duplicate header (names are compared ignoring case and '-'/'_')",
            ));
        }
    }
    if let Some(h) = &cfg.upstream.payload_header {
        check::claim_header(h, "upstream.payload_header")?;
        if seen_headers.contains(&canonical(h)) {
            return Err(err(
                "upstream.payload_header",
                "already used by a claim header",
            ));
        }
    }
    if cfg.audit.tracking_id_claim.is_empty() {
        return Err(err("audit.tracking_id_claim", "must not be empty"));
    }
    Ok(Scopes {
        required: cfg.scopes.required.clone(),
        rules,
    })
}
