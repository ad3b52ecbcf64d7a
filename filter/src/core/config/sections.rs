//! The sections around the providers: `token`, `scopes`, `upstream`,
//! `key_fetch`, `cache`, `audit` (and `realm`, `tick_ms`), validated.

use std::collections::HashSet;

use serde::Deserialize;

pub mod scope_expr;

pub use self::scope_expr::Cond;
use self::scope_expr::{CondConfig, PathTemplate, ScopeTemplate};
use super::check::{self, err};
use super::{defaults, Config, ConfigError};
use crate::core::route::index::RouteIndex;
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
    /// Scopes every request needs (placeholders allowed, but not `{path.*}`).
    #[serde(default)]
    pub required: Vec<String>,
    /// Rules: the first matching rule with `required` applies; every
    /// matching rule with `add` applies.
    #[serde(default)]
    pub rules: Vec<ScopeRule>,
}

/// Scopes for matching requests. Written out rather than with
/// `route_rule!`: besides the route fields it has `path_template`, `when`
/// and either `required` or `add`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRule {
    /// Methods the rule applies to (any case; a `GET` rule also covers
    /// `HEAD`); empty means any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path prefix (segment-unaware, like Envoy's `prefix`), without query.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Exact path, without query.
    #[serde(default)]
    pub path: Option<String>,
    /// Path pattern: `{name}` captures one segment, `{name*}` the rest.
    #[serde(default)]
    pub path_template: Option<String>,
    /// Conditions that must all hold.
    #[serde(default)]
    pub when: Vec<CondConfig>,
    /// Scopes needed in addition to the global ones (first matching rule).
    #[serde(default)]
    pub required: Option<Vec<String>>,
    /// Scopes added whenever the rule matches, whatever other rules match.
    #[serde(default)]
    pub add: Option<Vec<String>>,
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
    /// More claims whose values join `trackingIds` (e.g. `auditTrackingId`).
    #[serde(default)]
    pub tracking_claims: Vec<String>,
    /// For forwarded requests, write the event when the upstream's response
    /// headers arrive, with its status and the latency.
    #[serde(default = "defaults::enabled")]
    pub response: bool,
    /// Write the lines of a worker together: one log call when 16 KiB
    /// wait, and at every tick (`tick_ms`); `false`: each line at once.
    #[serde(default = "defaults::enabled")]
    pub batch: bool,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            tracking_id_claim: defaults::tracking_id_claim(),
            tracking_claims: Vec::new(),
            response: true,
            batch: true,
        }
    }
}

/// Validated scope requirements. Built by [`Scopes::new`] only, so the
/// rule index always matches the rules.
#[derive(Debug, Clone, Default)]
pub struct Scopes {
    /// Scopes every request needs.
    required: Vec<ScopeTemplate>,
    /// The rules, in configuration order (paths already lowercased with
    /// `case_insensitive_paths`).
    rules: Vec<ScopeRoute>,
    /// The rules by first path segment.
    index: RouteIndex,
}

impl Scopes {
    /// Scopes every request needs, and the rules in order.
    pub fn new(required: Vec<ScopeTemplate>, rules: Vec<ScopeRoute>) -> Scopes {
        let index = RouteIndex::new(rules.iter().map(|r| &r.route));
        Scopes {
            required,
            rules,
            index,
        }
    }

    /// Scopes every request needs.
    pub fn required(&self) -> &[ScopeTemplate] {
        &self.required
    }

    /// The rules, in configuration order.
    pub fn rules(&self) -> &[ScopeRoute] {
        &self.rules
    }

    /// The rules that can match the normalised `path`, in configuration
    /// order (see [`RouteIndex`]).
    pub fn candidates<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a ScopeRoute> + 'a {
        self.index
            .candidates(path)
            .filter_map(|i| self.rules.get(i))
    }
}

/// How a rule's scopes count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `required`: only the first matching such rule applies.
    Required,
    /// `add`: every matching such rule applies.
    Add,
}

/// A validated scope rule.
#[derive(Debug, Clone)]
pub struct ScopeRoute {
    /// Methods and path (prefix `/`, i.e. any path, for a rule with a
    /// `path_template` or without a path).
    pub route: Route,
    /// The `path_template`, when configured (then it decides the path).
    pub template: Option<PathTemplate>,
    /// Conditions that must all hold.
    pub when: Vec<Cond>,
    /// `required` or `add`.
    pub kind: RuleKind,
    /// The rule's scopes.
    pub scopes: Vec<ScopeTemplate>,
}

impl ScopeRoute {
    /// A plain `required` rule (tests, built-in rules).
    pub fn required(route: Route, scopes: &[&str]) -> ScopeRoute {
        ScopeRoute {
            route,
            template: None,
            when: Vec::new(),
            kind: RuleKind::Required,
            scopes: scopes.iter().map(|s| ScopeTemplate::literal(s)).collect(),
        }
    }
}

fn scope_list(
    list: &[String],
    captures: &[&str],
    path: &str,
) -> Result<Vec<ScopeTemplate>, ConfigError> {
    if list.len() > scope_expr::MAX_SCOPES {
        return Err(err(
            path,
            format!("at most {} scopes", scope_expr::MAX_SCOPES),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, s)| scope_expr::scope(s, captures, &format!("{path}[{i}]")))
        .collect()
}

/// Validate `scopes`.
fn validate_scopes(cfg: &Config) -> Result<Scopes, ConfigError> {
    let sc = &cfg.scopes;
    let fold = cfg.case_insensitive_paths;
    if sc.rules.len() > scope_expr::MAX_RULES {
        return Err(err(
            "scopes.rules",
            format!("at most {} rules", scope_expr::MAX_RULES),
        ));
    }
    let mut budget = scope_expr::MAX_CONDITIONS;
    let mut rules = Vec::with_capacity(sc.rules.len());
    for (i, rule) in sc.rules.iter().enumerate() {
        let p = format!("scopes.rules[{i}]");
        let (kind, list, field) = match (&rule.required, &rule.add) {
            (Some(r), None) => (RuleKind::Required, r, "required"),
            (None, Some(a)) => (RuleKind::Add, a, "add"),
            _ => return Err(err(&p, "exactly one of required and add")),
        };
        let paths = [
            rule.path_prefix.is_some(),
            rule.path.is_some(),
            rule.path_template.is_some(),
        ]
        .into_iter()
        .filter(|x| *x)
        .count();
        if paths > 1 {
            return Err(err(
                &p,
                "at most one of path_prefix, path and path_template",
            ));
        }
        if paths == 0 && kind == RuleKind::Required {
            return Err(err(
                &p,
                "exactly one of path_prefix, path and path_template is required \
                 (a rule with add may have none)",
            ));
        }
        let mut route = if rule.path_prefix.is_some() || rule.path.is_some() {
            check::route(
                &rule.methods,
                rule.path_prefix.as_deref(),
                rule.path.as_deref(),
                &p,
            )?
        } else {
            check::route(&rule.methods, Some("/"), None, &p)?
        };
        if fold {
            // Request paths are lowercased before matching.
            route.fold_case();
        }
        let template = match &rule.path_template {
            Some(t) => Some(scope_expr::path_template(
                t,
                fold,
                &format!("{p}.path_template"),
            )?),
            None => None,
        };
        if rule.when.len() > scope_expr::MAX_RULE_CONDITIONS {
            return Err(err(
                format!("{p}.when"),
                format!("at most {} conditions", scope_expr::MAX_RULE_CONDITIONS),
            ));
        }
        let when = rule
            .when
            .iter()
            .enumerate()
            .map(|(j, c)| scope_expr::cond(c, 1, fold, &mut budget, &format!("{p}.when[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        if kind == RuleKind::Add && list.is_empty() {
            return Err(err(format!("{p}.add"), "must not be empty"));
        }
        let captures = template.as_ref().map(|t| t.captures()).unwrap_or_default();
        let scopes = scope_list(list, &captures, &format!("{p}.{field}"))?;
        rules.push(ScopeRoute {
            route,
            template,
            when,
            kind,
            scopes,
        });
    }
    Ok(Scopes::new(
        scope_list(&sc.required, &[], "scopes.required")?,
        rules,
    ))
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
    let scopes = validate_scopes(cfg)?;
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
    Ok(scopes)
}
