//! Typed plugin configuration, parsed once from JSON.
//!
//! Parsing is two steps: serde (with `deny_unknown_fields` everywhere, so a
//! typo is an error rather than a silently ignored option) and then semantic
//! validation. Both steps report the failing field as a path such as
//! `providers[0].jwks.remote.uri`.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

use super::client::{Client, ClientConfig};
use super::introspect::{Introspection, IntrospectionCacheConfig, IntrospectionConfig};
use super::jose::Alg;
use super::jwk::JwkSet;
use super::uri::HttpUri;

/// A configuration that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Path of the offending field, e.g. `providers[0].jwks.remote.uri`
    /// (`.` for the document itself).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter configuration at `{}`: {}",
            self.path, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

/// The whole plugin configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Realm in `WWW-Authenticate` challenges.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Token issuers this filter trusts (at least one, unless `client` is
    /// set: without providers the filter only injects the gateway's token).
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    /// Where tokens are read from and how large they may be.
    #[serde(default)]
    pub token: TokenConfig,
    /// Required scopes, globally and per route.
    #[serde(default)]
    pub scopes: ScopeConfig,
    /// Request edits towards the upstream after a token is accepted.
    #[serde(default)]
    pub upstream: UpstreamConfig,
    /// Timing of remote key fetches.
    #[serde(default)]
    pub key_fetch: KeyFetchConfig,
    /// Per-worker cache of verified tokens.
    #[serde(default)]
    pub cache: CacheConfig,
    /// Shared cache of introspection answers.
    #[serde(default)]
    pub introspection_cache: IntrospectionCacheConfig,
    /// Audit log line per decision.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Tick period driving key fetches and held requests, in milliseconds.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// The gateway as an OAuth 2.0 client: token sources whose tokens go
    /// upstream ([`super::client`]).
    #[serde(default)]
    pub client: Option<ClientConfig>,
}

fn default_realm() -> String {
    "api".to_owned()
}
fn default_tick_ms() -> u64 {
    200
}

/// One trusted token issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short name used in logs, metrics and shared-data keys.
    pub name: String,
    /// Exact value of the `iss` claim.
    pub issuer: String,
    /// Accepted `aud` values; the token must carry at least one.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Skip the audience check entirely (insecure: any token of this issuer,
    /// minted for any API, is accepted).
    #[serde(default)]
    pub danger_accept_any_audience: bool,
    /// Allowed JWS algorithms. Default: every asymmetric algorithm.
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Where the verification keys come from (not needed with resolver
    /// `introspection`).
    #[serde(default)]
    pub jwks: Option<JwksSource>,
    /// How tokens of this provider are resolved.
    #[serde(default)]
    pub resolver: Resolver,
    /// The introspection endpoint (RFC 7662), for resolvers that introspect.
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
    /// Require the RFC 9068 header `typ` (`at+jwt` or `application/at+jwt`).
    #[serde(default)]
    pub require_at_jwt_typ: bool,
    /// Claims that must be present.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// Claims that must equal a given JSON value.
    #[serde(default)]
    pub claim_rules: Vec<ClaimRule>,
    /// Allowed clock difference for `exp`, `nbf` and `iat`, in seconds.
    #[serde(default = "default_skew")]
    pub clock_skew_s: u64,
}

fn default_skew() -> u64 {
    60
}

/// How a provider's tokens are turned into claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolver {
    /// Verify JWS signatures locally (the default).
    #[default]
    Jwt,
    /// Introspect every token (RFC 7662), JWT or opaque.
    Introspection,
    /// A JWS whose `iss` names this provider is verified locally; any token
    /// that is not a JWS of a configured issuer is introspected here.
    JwtOrIntrospection,
}

impl Resolver {
    /// Whether this resolver may introspect.
    pub fn introspects(self) -> bool {
        self != Resolver::Jwt
    }
}

/// Key source of a provider: exactly one of the variants.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum JwksSource {
    /// A JWK set written in the configuration.
    Inline(serde_json::Value),
    /// A JWK set fetched from a URI.
    Remote(RemoteJwks),
    /// OIDC discovery: `<issuer>/.well-known/openid-configuration` → `jwks_uri`.
    Discovery(DiscoveryJwks),
}

/// A remote JWK set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteJwks {
    /// `http://` or `https://` URI of the JWK set.
    pub uri: String,
    /// Proxy cluster the callout goes through.
    pub cluster: String,
    /// `:authority` of the callout; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
}

/// OIDC discovery of the JWK set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryJwks {
    /// Proxy cluster the callouts (discovery document and JWK set) go through.
    pub cluster: String,
    /// `:authority` of the callouts; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
    /// Override of the discovery document URI.
    #[serde(default)]
    pub uri: Option<String>,
}

/// An exact-match rule on a claim.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// Claim name (top level).
    pub claim: String,
    /// Required value; compared as JSON. When the claim is an array and this
    /// is a scalar, the array must contain it.
    pub equals: serde_json::Value,
}

/// Token extraction options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Largest accepted token, in bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Another request header carrying the token (raw, or `Bearer <token>`).
    #[serde(default)]
    pub header: Option<String>,
    /// A cookie carrying the token.
    #[serde(default)]
    pub cookie: Option<String>,
}

fn default_max_bytes() -> usize {
    8192
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            max_bytes: default_max_bytes(),
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

/// Scopes for matching requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRule {
    /// Methods the rule applies to; empty means any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path prefix (segment-unaware, like Envoy's `prefix`), without query.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Exact path, without query.
    #[serde(default)]
    pub path: Option<String>,
    /// Scopes needed in addition to the global ones.
    pub required: Vec<String>,
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
    #[serde(default = "d_refresh")]
    pub refresh_interval_s: u64,
    /// Lower bound applied to `max-age`.
    #[serde(default = "d_min_refresh")]
    pub min_refresh_interval_s: u64,
    /// Upper bound applied to `max-age`.
    #[serde(default = "d_max_refresh")]
    pub max_refresh_interval_s: u64,
    /// At most one refetch per this interval when a token names an unknown `kid`.
    #[serde(default = "d_unknown_kid")]
    pub unknown_kid_refetch_interval_s: u64,
    /// Wait after a failed fetch before the next attempt.
    #[serde(default = "d_retry")]
    pub retry_interval_s: u64,
    /// Callout timeout.
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    /// How long a request may be held waiting for the first key set.
    #[serde(default = "d_initial_wait")]
    pub initial_wait_ms: u64,
}

fn d_refresh() -> u64 {
    600
}
fn d_min_refresh() -> u64 {
    30
}
fn d_max_refresh() -> u64 {
    86_400
}
fn d_unknown_kid() -> u64 {
    30
}
fn d_retry() -> u64 {
    5
}
fn d_timeout() -> u64 {
    5000
}
fn d_initial_wait() -> u64 {
    5000
}

impl Default for KeyFetchConfig {
    fn default() -> Self {
        KeyFetchConfig {
            refresh_interval_s: d_refresh(),
            min_refresh_interval_s: d_min_refresh(),
            max_refresh_interval_s: d_max_refresh(),
            unknown_kid_refetch_interval_s: d_unknown_kid(),
            retry_interval_s: d_retry(),
            timeout_ms: d_timeout(),
            initial_wait_ms: d_initial_wait(),
        }
    }
}

/// Verified-token cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Entries per worker; 0 disables the cache.
    #[serde(default = "d_cache_entries")]
    pub max_entries: usize,
}

fn d_cache_entries() -> usize {
    1024
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: d_cache_entries(),
        }
    }
}

/// Audit log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Emit one line per decision.
    #[serde(default = "d_true")]
    pub enabled: bool,
    /// Claim holding the token's tracking id.
    #[serde(default = "d_tracking")]
    pub tracking_id_claim: String,
}

fn d_true() -> bool {
    true
}
fn d_tracking() -> String {
    "jti".to_owned()
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            enabled: true,
            tracking_id_claim: d_tracking(),
        }
    }
}

/// A validated provider, ready for use by the core.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Short name.
    pub name: String,
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted audiences; `None` when the check is disabled.
    pub audiences: Option<Vec<String>>,
    /// Allowed algorithms.
    pub algorithms: Vec<Alg>,
    /// Key source.
    pub keys: KeySource,
    /// RFC 9068 `typ` enforcement.
    pub require_at_jwt_typ: bool,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// Exact-match rules.
    pub claim_rules: Vec<ClaimRule>,
    /// Skew in seconds.
    pub clock_skew_s: u64,
    /// Resolver choice.
    pub resolver: Resolver,
    /// Introspection endpoint, when the resolver introspects.
    pub introspection: Option<Introspection>,
}

/// A validated key source.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// No keys: the provider only introspects.
    None,
    /// Keys from the configuration.
    Inline(JwkSet),
    /// A JWK set at a URI.
    Remote {
        /// Where.
        uri: HttpUri,
        /// Through which cluster.
        cluster: String,
    },
    /// Discovery document at a URI, then its `jwks_uri`.
    Discovery {
        /// Discovery document.
        uri: HttpUri,
        /// Through which cluster.
        cluster: String,
        /// `:authority` override for both callouts.
        authority: Option<String>,
    },
}

/// The validated configuration the core runs with.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// The raw (already type-checked) document.
    pub raw: Config,
    /// Validated providers, in configuration order.
    pub providers: Vec<Provider>,
    /// The provider that introspects tokens no other resolver claims
    /// (resolver `introspection` or `jwt_or_introspection`), if any.
    pub introspector: Option<usize>,
    /// The client role, when configured.
    pub client: Option<Client>,
}

/// Parse and validate a configuration document.
pub fn parse(json: &[u8]) -> Result<FilterConfig, ConfigError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let raw: Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        err(path, strip_location(&inner.to_string()))
    })?;
    de.end().map_err(|e| err(".", e.to_string()))?;
    validate(raw)
}

/// serde_json appends " at line L column C"; keep the message short and
/// field-oriented.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn validate(raw: Config) -> Result<FilterConfig, ConfigError> {
    if raw.providers.is_empty() && raw.client.is_none() {
        return Err(err(
            "providers",
            "at least one provider is required (or a client section)",
        ));
    }
    if raw.realm.contains(['"', '\\']) || raw.realm.chars().any(char::is_control) {
        return Err(err(
            "realm",
            "must not contain quotes, backslashes or control characters",
        ));
    }
    if raw.tick_ms == 0 || raw.tick_ms > 60_000 {
        return Err(err("tick_ms", "must be between 1 and 60000"));
    }
    if raw.token.max_bytes == 0 {
        return Err(err("token.max_bytes", "must be positive"));
    }
    if let Some(h) = &raw.token.header {
        if !header_name_ok(h) || h == "authorization" {
            return Err(err(
                "token.header",
                "must be a lowercase header name other than authorization",
            ));
        }
    }
    if let Some(c) = &raw.token.cookie {
        if c.is_empty() || c.contains([';', '=', ' ']) {
            return Err(err("token.cookie", "must be a cookie name"));
        }
    }
    let kf = &raw.key_fetch;
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
    for (i, rule) in raw.scopes.rules.iter().enumerate() {
        let p = format!("scopes.rules[{i}]");
        match (&rule.path_prefix, &rule.path) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(err(p, "exactly one of path_prefix and path is required"))
            }
            (Some(x), None) | (None, Some(x)) if !x.starts_with('/') => {
                return Err(err(p, "paths must start with /"))
            }
            _ => {}
        }
        for (j, m) in rule.methods.iter().enumerate() {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(err(
                    format!("{p}.methods[{j}]"),
                    "must be an uppercase method name",
                ));
            }
        }
        check_scopes(&rule.required, &format!("{p}.required"))?;
    }
    check_scopes(&raw.scopes.required, "scopes.required")?;
    let mut seen_headers = HashSet::new();
    for (i, ch) in raw.upstream.claim_headers.iter().enumerate() {
        let p = format!("upstream.claim_headers[{i}].header");
        if !header_name_ok(&ch.header) || ch.header == "authorization" {
            return Err(err(
                p,
                "must be a lowercase header name other than authorization",
            ));
        }
        if !seen_headers.insert(ch.header.clone()) {
            return Err(err(p, "duplicate header"));
        }
    }
    if let Some(h) = &raw.upstream.payload_header {
        if !header_name_ok(h) || h == "authorization" {
            return Err(err(
                "upstream.payload_header",
                "must be a lowercase header name other than authorization",
            ));
        }
        if seen_headers.contains(h) {
            return Err(err(
                "upstream.payload_header",
                "already used by a claim header",
            ));
        }
    }
    if raw.audit.tracking_id_claim.is_empty() {
        return Err(err("audit.tracking_id_claim", "must not be empty"));
    }

    let mut providers = Vec::with_capacity(raw.providers.len());
    let mut names = HashSet::new();
    let mut issuers = HashSet::new();
    let mut introspector: Option<usize> = None;
    for (i, pc) in raw.providers.iter().enumerate() {
        let p = format!("providers[{i}]");
        if pc.name.is_empty()
            || !pc
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(err(format!("{p}.name"), "must be non-empty [A-Za-z0-9_-]"));
        }
        if !names.insert(pc.name.clone()) {
            return Err(err(format!("{p}.name"), "duplicate provider name"));
        }
        if pc.issuer.is_empty() {
            return Err(err(format!("{p}.issuer"), "must not be empty"));
        }
        if !issuers.insert(pc.issuer.clone()) {
            return Err(err(format!("{p}.issuer"), "duplicate issuer"));
        }
        let audiences = match (pc.audiences.is_empty(), pc.danger_accept_any_audience) {
            (true, false) => {
                return Err(err(
                    format!("{p}.audiences"),
                    "at least one audience is required (or danger_accept_any_audience: true)",
                ))
            }
            (false, true) => {
                return Err(err(
                    format!("{p}.danger_accept_any_audience"),
                    "cannot be combined with audiences",
                ))
            }
            (true, true) => None,
            (false, false) => Some(pc.audiences.clone()),
        };
        let algorithms = match &pc.algorithms {
            None => Alg::ALL
                .iter()
                .copied()
                .filter(|a| !a.is_symmetric())
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err(err(format!("{p}.algorithms"), "must not be empty"));
                }
                let mut out = Vec::new();
                for (j, name) in list.iter().enumerate() {
                    match Alg::from_name(name) {
                        Some(a) => out.push(a),
                        None => {
                            return Err(err(
                                format!("{p}.algorithms[{j}]"),
                                format!("unsupported algorithm {name:?}"),
                            ))
                        }
                    }
                }
                out
            }
        };
        let keys = match &pc.jwks {
            None if pc.resolver == Resolver::Introspection => KeySource::None,
            None => {
                return Err(err(
                    format!("{p}.jwks"),
                    "required unless resolver is introspection",
                ))
            }
            Some(JwksSource::Inline(v)) => {
                let set = JwkSet::from_value(v, true)
                    .map_err(|e| err(format!("{p}.jwks.inline{}", e.path), e.message))?;
                if set.keys.is_empty() {
                    return Err(err(format!("{p}.jwks.inline.keys"), "no usable key"));
                }
                KeySource::Inline(set)
            }
            Some(JwksSource::Remote(r)) => {
                let uri =
                    HttpUri::parse(&r.uri).map_err(|m| err(format!("{p}.jwks.remote.uri"), m))?;
                let uri = match &r.authority {
                    Some(a) => uri.with_authority(a),
                    None => uri,
                };
                check_cluster(&r.cluster, &format!("{p}.jwks.remote.cluster"))?;
                KeySource::Remote {
                    uri,
                    cluster: r.cluster.clone(),
                }
            }
            Some(JwksSource::Discovery(d)) => {
                let text = match &d.uri {
                    Some(u) => u.clone(),
                    None => format!(
                        "{}/.well-known/openid-configuration",
                        pc.issuer.trim_end_matches('/')
                    ),
                };
                let field = if d.uri.is_some() {
                    format!("{p}.jwks.discovery.uri")
                } else {
                    format!("{p}.issuer")
                };
                let uri = HttpUri::parse(&text).map_err(|m| err(field, m))?;
                let uri = match &d.authority {
                    Some(a) => uri.with_authority(a),
                    None => uri,
                };
                check_cluster(&d.cluster, &format!("{p}.jwks.discovery.cluster"))?;
                KeySource::Discovery {
                    uri,
                    cluster: d.cluster.clone(),
                    authority: d.authority.clone(),
                }
            }
        };
        for (j, c) in pc.required_claims.iter().enumerate() {
            if c.is_empty() {
                return Err(err(
                    format!("{p}.required_claims[{j}]"),
                    "must not be empty",
                ));
            }
        }
        let introspection = match (&pc.introspection, pc.resolver.introspects()) {
            (Some(ic), true) => Some(Introspection::from_config(
                ic,
                &format!("{p}.introspection"),
            )?),
            (None, true) => {
                return Err(err(
                    format!("{p}.introspection"),
                    "required when resolver is introspection or jwt_or_introspection",
                ))
            }
            (Some(_), false) => {
                return Err(err(
                    format!("{p}.introspection"),
                    "only used with resolver introspection or jwt_or_introspection",
                ))
            }
            (None, false) => None,
        };
        if pc.resolver.introspects() {
            if let Some(first) = introspector {
                return Err(err(
                    format!("{p}.resolver"),
                    format!("only one provider may introspect (providers[{first}] already does)"),
                ));
            }
            introspector = Some(i);
        }
        providers.push(Provider {
            name: pc.name.clone(),
            issuer: pc.issuer.clone(),
            audiences,
            algorithms,
            keys,
            require_at_jwt_typ: pc.require_at_jwt_typ,
            required_claims: pc.required_claims.clone(),
            claim_rules: pc.claim_rules.clone(),
            clock_skew_s: pc.clock_skew_s,
            resolver: pc.resolver,
            introspection,
        });
    }
    raw.introspection_cache.validate()?;
    let client = match &raw.client {
        Some(c) => Some(Client::from_config(c, "client")?),
        None => None,
    };
    Ok(FilterConfig {
        raw,
        providers,
        introspector,
        client,
    })
}

fn check_cluster(c: &str, path: &str) -> Result<(), ConfigError> {
    if c.is_empty() {
        return Err(err(path, "must not be empty"));
    }
    Ok(())
}

fn check_scopes(list: &[String], path: &str) -> Result<(), ConfigError> {
    for (i, s) in list.iter().enumerate() {
        // RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(err(format!("{path}[{i}]"), "not a valid scope token"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"{"providers":[{"name":"p","issuer":"https://as","audiences":["api"],
        "jwks":{"remote":{"uri":"https://as/jwks","cluster":"as"}}}]}"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MIN.as_bytes()).unwrap();
        assert_eq!(c.raw.realm, "api");
        assert_eq!(c.raw.token.max_bytes, 8192);
        assert_eq!(c.providers[0].clock_skew_s, 60);
        assert!(c.providers[0].algorithms.iter().all(|a| !a.is_symmetric()));
    }

    #[test]
    fn unknown_field_names_its_path() {
        let bad = MIN.replace("\"cluster\":\"as\"", "\"cluster\":\"as\",\"urj\":1");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].jwks.remote.urj");
        assert!(e.message.contains("urj"), "{e}");
    }

    #[test]
    fn bad_uri_names_its_path() {
        let bad = MIN.replace("https://as/jwks", "ftp://as/jwks");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].jwks.remote.uri");
    }

    #[test]
    fn wrong_type_names_its_path() {
        let bad = MIN.replace("\"audiences\":[\"api\"]", "\"audiences\":\"api\"");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].audiences");
    }

    #[test]
    fn missing_audience_is_refused() {
        let bad = MIN.replace("\"audiences\":[\"api\"],", "");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].audiences");
        let ok = MIN.replace(
            "\"audiences\":[\"api\"]",
            "\"danger_accept_any_audience\":true",
        );
        assert!(parse(ok.as_bytes()).unwrap().providers[0]
            .audiences
            .is_none());
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        let bad = MIN.replace(
            "\"audiences\"",
            "\"algorithms\":[\"RS256\",\"none\"],\"audiences\"",
        );
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].algorithms[1]");
    }

    #[test]
    fn scope_rule_needs_one_path() {
        let bad = MIN.replace(
            "{\"providers\"",
            "{\"scopes\":{\"rules\":[{\"required\":[\"a\"]}]},\"providers\"",
        );
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "scopes.rules[0]");
    }

    #[test]
    fn duplicate_issuer_is_refused() {
        let two = r#"{"providers":[
          {"name":"a","issuer":"https://as","audiences":["x"],"jwks":{"remote":{"uri":"https://as/j","cluster":"c"}}},
          {"name":"b","issuer":"https://as","audiences":["x"],"jwks":{"remote":{"uri":"https://as/j","cluster":"c"}}}]}"#;
        let e = parse(two.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[1].issuer");
    }

    #[test]
    fn inline_key_errors_name_the_key() {
        let c = r#"{"providers":[{"name":"a","issuer":"i","audiences":["x"],
          "jwks":{"inline":{"keys":[{"kty":"EC","crv":"P-256","x":"AA"}]}}}]}"#;
        let e = parse(c.as_bytes()).unwrap_err();
        assert!(
            e.path.starts_with("providers[0].jwks.inline.keys[0]"),
            "{e}"
        );
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let e = parse(format!("{MIN} x").as_bytes()).unwrap_err();
        assert_eq!(e.path, ".");
    }
}
