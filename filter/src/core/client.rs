//! The gateway as an OAuth 2.0 client: it gets an access token of its own
//! from the authorization server and sends it upstream.
//!
//! A *token source* is one grant — client credentials (RFC 6749 §4.4) or
//! resource-owner password (§4.3) — with its client authentication
//! ([`super::client_auth`], shared with introspection) and its token
//! endpoint (fixed, or found by OIDC discovery). Route rules pick the source.
//!
//! The token lives in shared data, one record per source for every worker
//! of the VM: `{gen, token, failure, endpoint}`. A worker that needs a token
//! (none, expired, or within the renewal margin) takes the source's lease
//! ([`super::shared::try_acquire`]); only the holder calls the token
//! endpoint, every other request waits (`Pause`) for the record to change
//! (single flight). Renewal starts `renew_margin_s` before expiry while the
//! old token still serves requests; the password grant renews with its
//! refresh token when one was issued. An upstream `401` with
//! `error="invalid_token"` drops the token it was given (by generation), so
//! the next request gets a new one. Failures are kept for
//! `retry_after_failure_s`: requests without a usable token get `502`
//! naming the failure (the OAuth `error` code, never a secret).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client_auth::{form_body, ClientAuth, ClientAuthConfig, Secret};
use super::config::ConfigError;
use super::events::{hash_prefix, Event, Level, Metric};
use super::json::parse_strict;
use super::keys::{Callout, CalloutId, CalloutResponse};
use super::shared::{release, try_acquire, LeaseOutcome, SharedStore};
use super::time::UnixMillis;
use super::uri::HttpUri;

/// Callout ids of token-source calls have this bit set; bits 32..40 hold the
/// source index.
pub const CLIENT_ID: u64 = 1 << 61;

/// Largest token endpoint or discovery answer accepted.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Largest access token accepted (it goes into a request header).
pub const MAX_TOKEN: usize = 16 * 1024;

fn d_margin() -> u64 {
    30
}
fn d_timeout() -> u64 {
    5000
}
fn d_default_expires() -> u64 {
    300
}
fn d_retry() -> u64 {
    5
}
fn d_header() -> String {
    "authorization".to_owned()
}

/// `client` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Token sources, by name.
    pub sources: Vec<TokenSourceConfig>,
    /// Source for requests no rule matches; none: such requests get no token.
    #[serde(default)]
    pub default_source: Option<String>,
    /// Per-route choice; the first matching rule applies.
    #[serde(default)]
    pub rules: Vec<ClientRule>,
    /// Request header receiving `Bearer <token>`. `authorization` (the
    /// default) replaces the client's own; any other name keeps the
    /// client's `Authorization` and puts the gateway's token there.
    #[serde(default = "d_header")]
    pub header: String,
}

/// Which source serves matching requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRule {
    /// Methods the rule applies to; empty means any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path prefix (segment-unaware), without query.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Exact path, without query.
    #[serde(default)]
    pub path: Option<String>,
    /// Source name; `null` sends no token of the gateway's.
    pub source: Option<String>,
}

/// One token source in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSourceConfig {
    /// Short name ([A-Za-z0-9_-]) used in logs, replies and rules.
    pub name: String,
    /// The grant.
    pub grant: GrantConfig,
    /// A fixed token endpoint (or `discovery`).
    #[serde(default)]
    pub token_endpoint: Option<EndpointConfig>,
    /// OIDC discovery of `token_endpoint` (or a fixed `token_endpoint`).
    #[serde(default)]
    pub discovery: Option<DiscoveryConfig>,
    /// How the gateway authenticates as a client.
    pub client_auth: ClientAuthConfig,
    /// Renew this long before the token expires, in seconds.
    #[serde(default = "d_margin")]
    pub renew_margin_s: u64,
    /// Lifetime assumed when the answer has no `expires_in`, in seconds.
    #[serde(default = "d_default_expires")]
    pub default_expires_in_s: u64,
    /// After a failed token request, requests without a token get 502 for
    /// this long before the next attempt, in seconds.
    #[serde(default = "d_retry")]
    pub retry_after_failure_s: u64,
    /// Callout timeout in milliseconds (a request waits at most twice this,
    /// plus one second).
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
}

/// The grant of a token source.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GrantConfig {
    /// RFC 6749 §4.4.
    ClientCredentials {
        /// `scope`.
        #[serde(default)]
        scopes: Vec<String>,
        /// `resource` indicators (RFC 8707), one parameter each.
        #[serde(default)]
        resource: Vec<String>,
        /// `audience` parameter (as several servers accept).
        #[serde(default)]
        audience: Option<String>,
    },
    /// RFC 6749 §4.3.
    Password {
        /// Resource owner's user name.
        username: String,
        /// Resource owner's password (inline or `{"env": "NAME"}`).
        password: Secret,
        /// `scope`.
        #[serde(default)]
        scopes: Vec<String>,
    },
}

/// A fixed token endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// `http://` or `https://` URI.
    pub uri: String,
    /// Proxy cluster the callout goes through.
    pub cluster: String,
    /// `:authority`; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
}

/// Token endpoint from the issuer's discovery document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// Issuer; the document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// Proxy cluster for both callouts.
    pub cluster: String,
    /// `:authority` of both callouts; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
    /// Override of the discovery document URI.
    #[serde(default)]
    pub uri: Option<String>,
}

/// A validated grant.
#[derive(Debug, Clone)]
pub enum Grant {
    /// Client credentials.
    ClientCredentials {
        /// Requested scopes.
        scopes: Vec<String>,
        /// `resource` parameters.
        resource: Vec<String>,
        /// `audience` parameter.
        audience: Option<String>,
    },
    /// Resource-owner password.
    Password {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
        /// Requested scopes.
        scopes: Vec<String>,
    },
}

impl Grant {
    /// `grant_type` value.
    pub fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::Password { .. } => "password",
        }
    }
}

/// Where the token endpoint is.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Configured.
    Fixed {
        /// Target.
        uri: HttpUri,
        /// As written (default `aud` of client assertions).
        text: String,
    },
    /// Found in a discovery document.
    Discovery {
        /// The document.
        uri: HttpUri,
        /// `:authority` override, applied to the discovered endpoint too.
        authority: Option<String>,
    },
}

/// A validated token source.
#[derive(Debug, Clone)]
pub struct TokenSource {
    /// Name.
    pub name: String,
    /// Grant.
    pub grant: Grant,
    /// Token endpoint.
    pub endpoint: Endpoint,
    /// Cluster for all callouts.
    pub cluster: String,
    /// Client authentication.
    pub auth: ClientAuth,
    /// Renewal margin.
    pub margin_ms: u64,
    /// Lifetime without `expires_in`.
    pub default_expires_ms: u64,
    /// Failure hold-down.
    pub retry_ms: u64,
    /// Callout timeout.
    pub timeout_ms: u64,
    /// Shared-data key prefix (hash of what makes tokens interchangeable).
    pub key: String,
}

/// A validated route rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Methods; empty: any.
    pub methods: Vec<String>,
    /// Prefix, or exact path.
    pub path: PathMatch,
    /// Source index, or none.
    pub source: Option<usize>,
}

/// Path matching of a rule.
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// Starts with.
    Prefix(String),
    /// Equals.
    Exact(String),
}

/// The validated client role.
#[derive(Debug, Clone)]
pub struct Client {
    /// Sources in configuration order.
    pub sources: Vec<TokenSource>,
    /// Default source.
    pub default_source: Option<usize>,
    /// Rules.
    pub rules: Vec<Rule>,
    /// Header for the token.
    pub header: String,
}

fn cerr(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

fn name_ok(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn scopes_ok(list: &[String], path: &str) -> Result<(), ConfigError> {
    for (i, s) in list.iter().enumerate() {
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(cerr(format!("{path}[{i}]"), "not a valid scope token"));
        }
    }
    Ok(())
}

impl Client {
    /// Creates every source's token-request lease in shared data (see
    /// [`super::shared::ensure_lease`]).
    pub fn init_shared(&self, store: &mut dyn SharedStore) {
        for src in &self.sources {
            super::shared::ensure_lease(store, &format!("{}/lease", src.key));
        }
    }

    /// Validate `c` found at `path` (`client`).
    pub fn from_config(c: &ClientConfig, path: &str) -> Result<Client, ConfigError> {
        if c.sources.is_empty() {
            return Err(cerr(format!("{path}.sources"), "at least one source"));
        }
        let mut sources: Vec<TokenSource> = Vec::new();
        for (i, s) in c.sources.iter().enumerate() {
            let sp = format!("{path}.sources[{i}]");
            let src = TokenSource::from_config(s, &sp)?;
            if sources.iter().any(|o| o.name == src.name) {
                return Err(cerr(format!("{sp}.name"), "duplicate source name"));
            }
            sources.push(src);
        }
        let find = |n: &str, p: String| {
            sources
                .iter()
                .position(|s| s.name == n)
                .ok_or_else(|| cerr(p, format!("no source named {n:?}")))
        };
        let default_source = match &c.default_source {
            Some(n) => Some(find(n, format!("{path}.default_source"))?),
            None => None,
        };
        let mut rules = Vec::new();
        for (i, r) in c.rules.iter().enumerate() {
            let rp = format!("{path}.rules[{i}]");
            let pm = match (&r.path_prefix, &r.path) {
                (Some(p), None) if p.starts_with('/') => PathMatch::Prefix(p.clone()),
                (None, Some(p)) if p.starts_with('/') => PathMatch::Exact(p.clone()),
                (Some(_), None) | (None, Some(_)) => {
                    return Err(cerr(rp, "paths must start with /"))
                }
                _ => return Err(cerr(rp, "exactly one of path_prefix and path is required")),
            };
            for (j, m) in r.methods.iter().enumerate() {
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(cerr(
                        format!("{rp}.methods[{j}]"),
                        "must be an uppercase method name",
                    ));
                }
            }
            let source = match &r.source {
                Some(n) => Some(find(n, format!("{rp}.source"))?),
                None => None,
            };
            rules.push(Rule {
                methods: r.methods.clone(),
                path: pm,
                source,
            });
        }
        let h = &c.header;
        if h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(cerr(
                format!("{path}.header"),
                "must be a lowercase header name",
            ));
        }
        Ok(Client {
            sources,
            default_source,
            rules,
            header: h.clone(),
        })
    }

    /// The source for a request, if any.
    pub fn source_for(&self, method: &str, path: &str) -> Option<usize> {
        let normalized = super::scopes::normalize_path(path);
        for r in &self.rules {
            let (exact, prefix) = match &r.path {
                PathMatch::Exact(p) => (Some(p.as_str()), None),
                PathMatch::Prefix(p) => (None, Some(p.as_str())),
            };
            if super::scopes::rule_matches(&r.methods, exact, prefix, method, &normalized) {
                return r.source;
            }
        }
        self.default_source
    }
}

impl TokenSource {
    /// Validate one source at `path`.
    pub fn from_config(c: &TokenSourceConfig, path: &str) -> Result<TokenSource, ConfigError> {
        if !name_ok(&c.name) {
            return Err(cerr(
                format!("{path}.name"),
                "must be 1-64 of [A-Za-z0-9_-]",
            ));
        }
        let grant = match &c.grant {
            GrantConfig::ClientCredentials {
                scopes,
                resource,
                audience,
            } => {
                scopes_ok(scopes, &format!("{path}.grant.scopes"))?;
                for (i, r) in resource.iter().enumerate() {
                    // RFC 8707 §2: an absolute URI without a fragment.
                    if !r.contains(':') || r.contains('#') || r.chars().any(char::is_whitespace) {
                        return Err(cerr(
                            format!("{path}.grant.resource[{i}]"),
                            "must be an absolute URI without fragment",
                        ));
                    }
                }
                if audience.as_deref().is_some_and(str::is_empty) {
                    return Err(cerr(format!("{path}.grant.audience"), "must not be empty"));
                }
                Grant::ClientCredentials {
                    scopes: scopes.clone(),
                    resource: resource.clone(),
                    audience: audience.clone(),
                }
            }
            GrantConfig::Password {
                username,
                password,
                scopes,
            } => {
                if username.is_empty() || username.chars().any(char::is_control) {
                    return Err(cerr(
                        format!("{path}.grant.username"),
                        "must be non-empty, without control characters",
                    ));
                }
                scopes_ok(scopes, &format!("{path}.grant.scopes"))?;
                Grant::Password {
                    username: username.clone(),
                    password: password.clone(),
                    scopes: scopes.clone(),
                }
            }
        };
        let (endpoint, cluster) = match (&c.token_endpoint, &c.discovery) {
            (Some(e), None) => {
                let uri = HttpUri::parse(&e.uri)
                    .map_err(|m| cerr(format!("{path}.token_endpoint.uri"), m))?;
                let uri = match &e.authority {
                    Some(a) => uri.with_authority(a),
                    None => uri,
                };
                (
                    Endpoint::Fixed {
                        uri,
                        text: e.uri.clone(),
                    },
                    (e.cluster.clone(), format!("{path}.token_endpoint.cluster")),
                )
            }
            (None, Some(d)) => {
                let (text, field) = match &d.uri {
                    Some(u) => (u.clone(), format!("{path}.discovery.uri")),
                    None => (
                        format!(
                            "{}/.well-known/openid-configuration",
                            d.issuer.trim_end_matches('/')
                        ),
                        format!("{path}.discovery.issuer"),
                    ),
                };
                let uri = HttpUri::parse(&text).map_err(|m| cerr(field, m))?;
                let uri = match &d.authority {
                    Some(a) => uri.with_authority(a),
                    None => uri,
                };
                (
                    Endpoint::Discovery {
                        uri,
                        authority: d.authority.clone(),
                    },
                    (d.cluster.clone(), format!("{path}.discovery.cluster")),
                )
            }
            _ => {
                return Err(cerr(
                    path,
                    "exactly one of token_endpoint and discovery is required",
                ))
            }
        };
        let (cluster, cpath) = cluster;
        if cluster.is_empty() {
            return Err(cerr(cpath, "must not be empty"));
        }
        let auth = ClientAuth::from_config(&c.client_auth, &format!("{path}.client_auth"))?;
        if c.timeout_ms == 0 || c.timeout_ms > 60_000 {
            return Err(cerr(
                format!("{path}.timeout_ms"),
                "must be between 1 and 60000",
            ));
        }
        if c.default_expires_in_s == 0 {
            return Err(cerr(
                format!("{path}.default_expires_in_s"),
                "must be positive",
            ));
        }
        if c.retry_after_failure_s > 3600 {
            return Err(cerr(
                format!("{path}.retry_after_failure_s"),
                "must be at most 3600",
            ));
        }
        // Tokens are interchangeable between configurations (and VMs sharing
        // data) only for the same source, endpoint, client and grant.
        let ident = format!(
            "{}\n{:?}\n{}\n{}\n{}",
            c.name,
            endpoint_ident(&endpoint),
            auth.client_id(),
            grant.name(),
            match &grant {
                Grant::ClientCredentials {
                    scopes,
                    resource,
                    audience,
                } => format!("{scopes:?}{resource:?}{audience:?}"),
                Grant::Password {
                    username, scopes, ..
                } => format!("{username}{scopes:?}"),
            }
        );
        let key: String = Sha256::digest(ident.as_bytes())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(TokenSource {
            name: c.name.clone(),
            grant,
            endpoint,
            cluster,
            auth,
            margin_ms: c.renew_margin_s.saturating_mul(1000),
            default_expires_ms: c.default_expires_in_s.saturating_mul(1000),
            retry_ms: c.retry_after_failure_s * 1000,
            timeout_ms: c.timeout_ms,
            key: format!("oauth-filter/client/{}/{key}", c.name),
        })
    }

    /// The form of a token request (without client authentication): a new
    /// grant, or a refresh (RFC 6749 §6) with `refresh_token`.
    pub fn grant_form(&self, refresh_token: Option<&str>) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: &str| f.push((k.to_owned(), v.to_owned()));
        if let Some(rt) = refresh_token {
            push("grant_type", "refresh_token");
            push("refresh_token", rt);
            return f;
        }
        match &self.grant {
            Grant::ClientCredentials {
                scopes,
                resource,
                audience,
            } => {
                push("grant_type", "client_credentials");
                if !scopes.is_empty() {
                    push("scope", &scopes.join(" "));
                }
                for r in resource {
                    push("resource", r);
                }
                if let Some(a) = audience {
                    push("audience", a);
                }
            }
            Grant::Password {
                username,
                password,
                scopes,
            } => {
                push("grant_type", "password");
                push("username", username);
                push("password", password.expose());
                if !scopes.is_empty() {
                    push("scope", &scopes.join(" "));
                }
            }
        }
        f
    }

    /// The token request callout to `endpoint` (`text`: its URI as the
    /// default `aud` of a client assertion).
    pub fn token_request(
        &self,
        id: CalloutId,
        endpoint: &HttpUri,
        text: &str,
        refresh_token: Option<&str>,
        now: UnixMillis,
        jti: &str,
    ) -> Callout {
        let parts = self.auth.parts(text, now, jti);
        let mut form = self.grant_form(refresh_token);
        form.extend(parts.form);
        let mut headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        headers.extend(parts.headers);
        Callout {
            id,
            cluster: self.cluster.clone(),
            uri: endpoint.clone(),
            timeout_ms: self.timeout_ms,
            method: "POST",
            extra_headers: headers,
            body: form_body(&form).into_bytes(),
        }
    }

    fn discovery_request(&self, id: CalloutId, uri: &HttpUri) -> Callout {
        Callout {
            id,
            cluster: self.cluster.clone(),
            uri: uri.clone(),
            timeout_ms: self.timeout_ms,
            method: "GET",
            extra_headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn lease_ms(&self) -> u64 {
        // Discovery and the token request, plus slack.
        2 * self.timeout_ms + 1000
    }
}

fn endpoint_ident(e: &Endpoint) -> String {
    match e {
        Endpoint::Fixed { text, .. } => text.clone(),
        Endpoint::Discovery { uri, .. } => uri.to_text(),
    }
}

/// A token endpoint's answer, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenAnswer {
    /// `access_token`.
    pub access_token: String,
    /// `token_type` (always `Bearer` here).
    pub token_type: String,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// `refresh_token`.
    pub refresh_token: Option<String>,
    /// `scope` granted.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why no token came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFailure {
    /// No answer (unreachable, reset, timeout, refused dispatch).
    NoResponse,
    /// An OAuth error answer (RFC 6749 §5.2): the `error` code (and status).
    OAuth {
        /// `error`, e.g. `invalid_client`.
        error: String,
        /// HTTP status of the answer.
        status: u16,
    },
    /// A status that is neither 200 nor an OAuth error.
    Status(u16),
    /// Larger than [`MAX_ANSWER`].
    TooLarge,
    /// Not a JSON object, or a member of the wrong type or missing.
    Malformed(&'static str),
    /// `token_type` other than Bearer.
    UnsupportedTokenType,
    /// The discovery document gave no usable `token_endpoint`.
    Discovery(&'static str),
}

impl TokenFailure {
    /// Short code for logs, metrics and the 502 body.
    pub fn code(&self) -> String {
        match self {
            TokenFailure::NoResponse => "no_response".into(),
            TokenFailure::OAuth { error, .. } => error.clone(),
            TokenFailure::Status(s) => format!("http_{s}"),
            TokenFailure::TooLarge => "answer_too_large".into(),
            TokenFailure::Malformed(_) => "malformed_answer".into(),
            TokenFailure::UnsupportedTokenType => "unsupported_token_type".into(),
            TokenFailure::Discovery(_) => "discovery_failed".into(),
        }
    }

    /// One sentence for logs and replies.
    pub fn describe(&self) -> String {
        match self {
            TokenFailure::NoResponse => "the token endpoint did not answer".into(),
            TokenFailure::OAuth { error, status } => {
                format!(
                    "the authorization server refused the token request: {error} (HTTP {status})"
                )
            }
            TokenFailure::Status(s) => format!("the token endpoint answered HTTP {s}"),
            TokenFailure::TooLarge => "the token endpoint's answer is too large".into(),
            TokenFailure::Malformed(m) => format!("the token endpoint's answer is malformed: {m}"),
            TokenFailure::UnsupportedTokenType => {
                "the token endpoint issued a token that is not a Bearer token".into()
            }
            TokenFailure::Discovery(m) => format!("token endpoint discovery failed: {m}"),
        }
    }
}

/// RFC 6749 §5.1 `error` codes are `%x20-21 / %x23-5B / %x5D-7E`; we only
/// repeat short, printable, quote-free ones.
fn error_code_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Parse a token endpoint answer (RFC 6749 §5.1, §5.2).
pub fn parse_token_answer(resp: CalloutResponse<'_>) -> Result<TokenAnswer, TokenFailure> {
    let Some(status) = resp.status else {
        return Err(TokenFailure::NoResponse);
    };
    if resp.body.len() > MAX_ANSWER {
        return Err(TokenFailure::TooLarge);
    }
    let json = parse_strict(resp.body);
    if status != 200 {
        // RFC 6749 §5.2: 400 (or 401 for client authentication) with `error`.
        if let Ok(Value::Object(m)) = &json {
            if let Some(Value::String(e)) = m.get("error") {
                let error = if error_code_ok(e) {
                    e.clone()
                } else {
                    "unrecognised_error".into()
                };
                return Err(TokenFailure::OAuth { error, status });
            }
        }
        return Err(TokenFailure::Status(status));
    }
    let Ok(Value::Object(m)) = json else {
        return Err(TokenFailure::Malformed("not a JSON object"));
    };
    let access_token = match m.get("access_token") {
        Some(Value::String(s))
            if !s.is_empty()
                && s.len() <= MAX_TOKEN
                && s.bytes().all(|b| (0x21..0x7f).contains(&b)) =>
        {
            s.clone()
        }
        Some(Value::String(_)) => {
            return Err(TokenFailure::Malformed(
                "access_token is empty, too large or not printable ASCII",
            ))
        }
        _ => return Err(TokenFailure::Malformed("no access_token string")),
    };
    let token_type = match m.get("token_type") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("bearer") => s.clone(),
        Some(Value::String(_)) => return Err(TokenFailure::UnsupportedTokenType),
        _ => return Err(TokenFailure::Malformed("no token_type string")),
    };
    let expires_in = match m.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) => Some(v),
            // Some servers send a float; a negative value is garbage.
            None => match n.as_f64() {
                Some(f) if (0.0..1e12).contains(&f) => Some(f as u64),
                _ => {
                    return Err(TokenFailure::Malformed(
                        "expires_in is not a positive number",
                    ))
                }
            },
        },
        // A string of digits is common enough to accept.
        Some(Value::String(s)) => match s.parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => return Err(TokenFailure::Malformed("expires_in is not a number")),
        },
        Some(_) => return Err(TokenFailure::Malformed("expires_in is not a number")),
    };
    let opt_str = |k: &'static str| match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenFailure::Malformed(k)),
    };
    let refresh_token = opt_str("refresh_token")
        .map_err(|_| TokenFailure::Malformed("refresh_token is not a string"))?
        .filter(|s| !s.is_empty());
    let scope = opt_str("scope").map_err(|_| TokenFailure::Malformed("scope is not a string"))?;
    Ok(TokenAnswer {
        access_token,
        token_type,
        expires_in,
        refresh_token,
        scope,
    })
}

/// `token_endpoint` of a discovery document.
pub fn parse_discovery(resp: CalloutResponse<'_>) -> Result<String, TokenFailure> {
    match resp.status {
        None => return Err(TokenFailure::NoResponse),
        Some(200) => {}
        Some(s) => return Err(TokenFailure::Status(s)),
    }
    if resp.body.len() > MAX_ANSWER {
        return Err(TokenFailure::TooLarge);
    }
    let Ok(Value::Object(m)) = parse_strict(resp.body) else {
        return Err(TokenFailure::Discovery("document is not a JSON object"));
    };
    match m.get("token_endpoint") {
        Some(Value::String(s)) if HttpUri::parse(s).is_ok() => Ok(s.clone()),
        _ => Err(TokenFailure::Discovery("no http(s) token_endpoint")),
    }
}

/// Whether a `WWW-Authenticate` value is a Bearer challenge with
/// `error="invalid_token"` (RFC 6750 §3).
pub fn is_invalid_token_challenge(value: &str) -> bool {
    let v = value.trim_start();
    let Some(scheme_end) = v.find([' ', '\t']).or(Some(v.len())) else {
        return false;
    };
    if !v[..scheme_end].eq_ignore_ascii_case("bearer") {
        return false;
    }
    // auth-params: name=value or name="quoted", separated by commas.
    let mut rest = &v[scheme_end..];
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let name = rest[..eq].trim();
        rest = rest[eq + 1..].trim_start();
        let value: String;
        if let Some(q) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => out.push(c),
                }
            }
            let Some(e) = end else {
                return false;
            };
            value = out;
            rest = &q[e..];
        } else {
            let e = rest.find(',').unwrap_or(rest.len());
            value = rest[..e].trim().to_owned();
            rest = &rest[e..];
        }
        if name.eq_ignore_ascii_case("error") {
            return value == "invalid_token";
        }
    }
}

/// The shared record of one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// Generation: +1 at each new token.
    pub gen: u64,
    /// The current token.
    #[serde(default)]
    pub token: Option<StoredToken>,
    /// The last failure, when the last attempt failed.
    #[serde(default)]
    pub failure: Option<StoredFailure>,
    /// Token endpoint found by discovery.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// A token as kept in shared data.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredToken {
    /// The access token.
    pub access: String,
    /// Expiry, Unix milliseconds.
    pub exp: u64,
    /// When it was obtained.
    pub obtained: u64,
    /// Refresh token (password grant).
    #[serde(default)]
    pub refresh: Option<String>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access", &"<redacted>")
            .field("exp", &self.exp)
            .field("obtained", &self.obtained)
            .field("refresh", &self.refresh.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A failure as kept in shared data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredFailure {
    /// [`TokenFailure::code`].
    pub code: String,
    /// [`TokenFailure::describe`].
    pub message: String,
    /// When.
    pub at: u64,
}

/// What a request gets from [`TokenManager::token_for`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    /// Use this token (generation `gen`).
    Ready {
        /// The access token.
        token: String,
        /// Its generation.
        gen: u64,
    },
    /// A token request is under way (here or in another worker): hold.
    Wait,
    /// No token: 502 naming the failure.
    Failed(StoredFailure),
}

/// The token a request was sent upstream with, for the response phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injected {
    /// Source index.
    pub source: usize,
    /// Token generation.
    pub gen: u64,
}

/// A token request this worker has under way.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Flight {
    /// Fetching the discovery document.
    Discovery(CalloutId),
    /// Calling the token endpoint (with a refresh token or not).
    Token { id: CalloutId, refresh: bool },
}

impl Flight {
    fn id(&self) -> CalloutId {
        match self {
            Flight::Discovery(id) | Flight::Token { id, .. } => *id,
        }
    }
}

/// Per worker state of one source.
#[derive(Debug, Default)]
struct Local {
    /// Last record read and its cas.
    seen: Option<(u32, Record)>,
    /// Discovered endpoint (parsed) and its text.
    endpoint: Option<(HttpUri, String)>,
    flight: Option<Flight>,
}

/// Token state of every source, for one worker.
#[derive(Debug)]
pub struct TokenManager {
    worker: String,
    locals: Vec<Local>,
    next: u64,
    /// Renewals to start from the root context.
    background: Vec<Callout>,
}

impl TokenManager {
    /// State for `n` sources of worker `worker`.
    pub fn new(n: usize, worker: &str) -> TokenManager {
        TokenManager {
            worker: worker.to_owned(),
            locals: (0..n).map(|_| Local::default()).collect(),
            next: 0,
            background: Vec::new(),
        }
    }

    /// Renewal callouts to start from the root context (on tick).
    pub fn drain_background(&mut self) -> Vec<Callout> {
        std::mem::take(&mut self.background)
    }

    /// Whether `id` is a token-source callout.
    pub fn owns_id(id: CalloutId) -> bool {
        id.0 & CLIENT_ID != 0
    }

    fn read(&mut self, src: &TokenSource, idx: usize, store: &dyn SharedStore) -> (Record, u32) {
        let Some((bytes, cas)) = store.get(&src.key) else {
            self.locals[idx].seen = None;
            return (Record::default(), 0);
        };
        if let Some((c, r)) = &self.locals[idx].seen {
            if *c == cas {
                return (r.clone(), cas);
            }
        }
        // An unreadable record is replaced at the next write.
        let r: Record = serde_json::from_slice(&bytes).unwrap_or_default();
        self.locals[idx].seen = Some((cas, r.clone()));
        (r, cas)
    }

    /// Change the record with `f` (compare-and-swap, retried).
    fn update(
        &mut self,
        src: &TokenSource,
        idx: usize,
        store: &mut dyn SharedStore,
        mut f: impl FnMut(&mut Record),
    ) {
        for _ in 0..8 {
            let (mut r, cas) = self.read(src, idx, store);
            f(&mut r);
            let bytes = serde_json::to_vec(&r).unwrap_or_default();
            if store.set(&src.key, &bytes, cas).is_ok() {
                return;
            }
        }
    }

    /// The token for a request to source `idx`; may start a token request
    /// (see [`TokenManager`]'s callouts in `out`). `held_since`: when the
    /// request was first held.
    #[allow(clippy::too_many_arguments)]
    pub fn token_for(
        &mut self,
        src: &TokenSource,
        idx: usize,
        held_since: Option<UnixMillis>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        out: &mut Vec<Callout>,
        events: &mut Vec<Event>,
    ) -> TokenState {
        let (rec, _) = self.read(src, idx, store);
        let recent_failure = rec
            .failure
            .as_ref()
            .filter(|f| now.0 < f.at.saturating_add(src.retry_ms));
        if let Some(t) = &rec.token {
            if now.0 < t.exp {
                if now.0.saturating_add(src.margin_ms) >= t.exp && recent_failure.is_none() {
                    // Renew in the background; this request uses the old one.
                    // The callout starts from the root context at the next
                    // tick ([`TokenManager::drain_background`]): a request's
                    // stream may end before the answer, taking it along.
                    let mut bg = Vec::new();
                    self.start(src, idx, &rec, now, store, &mut bg, events);
                    self.background.extend(bg);
                }
                return TokenState::Ready {
                    token: t.access.clone(),
                    gen: rec.gen,
                };
            }
        }
        if let Some(f) = recent_failure {
            // Requests held across the failure, and new ones within the
            // hold-down, get it.
            return TokenState::Failed(f.clone());
        }
        let waited = held_since.map(|s| now.since(s)).unwrap_or(0);
        if waited >= src.lease_ms() {
            return TokenState::Failed(StoredFailure {
                code: "timeout".into(),
                message: "no token in time: the token request did not complete".into(),
                at: now.0,
            });
        }
        self.start(src, idx, &rec, now, store, out, events);
        TokenState::Wait
    }

    /// Become the fetcher if no one is, and start the first callout.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        src: &TokenSource,
        idx: usize,
        rec: &Record,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        out: &mut Vec<Callout>,
        events: &mut Vec<Event>,
    ) {
        if self.locals[idx].flight.is_some() {
            return;
        }
        let lease = format!("{}/lease", src.key);
        if try_acquire(store, &lease, &self.worker, now, src.lease_ms()) != LeaseOutcome::Acquired {
            return;
        }
        // The record may have changed between our read and the lease: a
        // fetcher that just finished leaves a fresh token behind.
        let (fresh, _) = self.read(src, idx, store);
        if fresh.gen != rec.gen
            && fresh
                .token
                .as_ref()
                .is_some_and(|t| now.0.saturating_add(src.margin_ms) < t.exp)
        {
            release(store, &lease, &self.worker);
            return;
        }
        self.next += 1;
        let id = CalloutId(CLIENT_ID | ((idx as u64 & 0xff) << 32) | (self.next & 0xffff_ffff));
        let endpoint = match &src.endpoint {
            Endpoint::Fixed { uri, text } => Some((uri.clone(), text.clone())),
            Endpoint::Discovery { authority, .. } => {
                if self.locals[idx].endpoint.is_none() {
                    if let Some(e) = &fresh.endpoint {
                        self.locals[idx].endpoint = discovered(e, authority.as_deref());
                    }
                }
                self.locals[idx].endpoint.clone()
            }
        };
        match endpoint {
            Some((uri, text)) => {
                let refresh = fresh.token.as_ref().and_then(|t| t.refresh.clone());
                let jti = super::client_auth::jti(&self.worker, self.next, now);
                out.push(src.token_request(id, &uri, &text, refresh.as_deref(), now, &jti));
                self.locals[idx].flight = Some(Flight::Token {
                    id,
                    refresh: refresh.is_some(),
                });
                events.push(Event::Metric(Metric::ClientTokenRequest));
            }
            None => {
                let Endpoint::Discovery { uri, .. } = &src.endpoint else {
                    return; // Fixed endpoints always have Some above.
                };
                out.push(src.discovery_request(id, uri));
                self.locals[idx].flight = Some(Flight::Discovery(id));
            }
        }
    }

    /// A callout of ours answered (or failed: status None). Returns a
    /// follow-up callout (the token request after discovery).
    pub fn on_response(
        &mut self,
        sources: &[TokenSource],
        id: CalloutId,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) -> Vec<Callout> {
        let idx = ((id.0 >> 32) & 0xff) as usize;
        let (Some(src), Some(local)) = (sources.get(idx), self.locals.get(idx)) else {
            return Vec::new();
        };
        let flight = match &local.flight {
            Some(f) if f.id() == id => f.clone(),
            _ => return Vec::new(), // abandoned or from an older configuration
        };
        self.locals[idx].flight = None;
        let lease = format!("{}/lease", src.key);
        match flight {
            Flight::Discovery(_) => {
                let Endpoint::Discovery { authority, .. } = &src.endpoint else {
                    return Vec::new();
                };
                match parse_discovery(resp) {
                    Ok(text) => {
                        let Some(ep) = discovered(&text, authority.as_deref()) else {
                            return Vec::new();
                        };
                        self.locals[idx].endpoint = Some(ep.clone());
                        self.update(src, idx, store, |r| r.endpoint = Some(text.clone()));
                        // Still holding the lease: go on with the token request.
                        self.next += 1;
                        let nid =
                            CalloutId(CLIENT_ID | ((idx as u64) << 32) | (self.next & 0xffff_ffff));
                        let (rec, _) = self.read(src, idx, store);
                        let refresh = rec.token.as_ref().and_then(|t| t.refresh.clone());
                        let jti = super::client_auth::jti(&self.worker, self.next, now);
                        self.locals[idx].flight = Some(Flight::Token {
                            id: nid,
                            refresh: refresh.is_some(),
                        });
                        events.push(Event::Metric(Metric::ClientTokenRequest));
                        vec![src.token_request(nid, &ep.0, &ep.1, refresh.as_deref(), now, &jti)]
                    }
                    Err(e) => {
                        self.failed(src, idx, &e, now, store, events);
                        release(store, &lease, &self.worker);
                        Vec::new()
                    }
                }
            }
            Flight::Token { refresh, .. } => {
                match parse_token_answer(resp) {
                    Ok(a) => {
                        let exp_ms = a
                            .expires_in
                            .map(|s| s.saturating_mul(1000))
                            .unwrap_or(src.default_expires_ms);
                        let digest: [u8; 32] = Sha256::digest(a.access_token.as_bytes()).into();
                        let keep_refresh = matches!(src.grant, Grant::Password { .. });
                        let old_refresh =
                            self.read(src, idx, store).0.token.and_then(|t| t.refresh);
                        let tok = StoredToken {
                            access: a.access_token,
                            exp: now.0.saturating_add(exp_ms),
                            obtained: now.0,
                            // A refresh answer without a new refresh token
                            // keeps the old one (RFC 6749 §6).
                            refresh: if keep_refresh {
                                a.refresh_token.or(if refresh { old_refresh } else { None })
                            } else {
                                None
                            },
                        };
                        self.update(src, idx, store, |r| {
                            r.gen += 1;
                            r.token = Some(tok.clone());
                            r.failure = None;
                        });
                        events.push(Event::Log(
                            Level::Info,
                            format!(
                                "token source {}: {} token obtained{}, expires in {} s, scope {:?}; token_hash {}",
                                src.name,
                                if refresh { "refreshed" } else { src.grant.name() },
                                if tok.refresh.is_some() { " with a refresh token" } else { "" },
                                exp_ms / 1000,
                                a.scope.as_deref().unwrap_or(""),
                                hash_prefix(&digest)
                            ),
                        ));
                    }
                    Err(e) if refresh => {
                        // A refused refresh: forget the refresh token; the
                        // next request makes a new grant (the current token,
                        // if still valid, keeps serving meanwhile).
                        events.push(Event::Log(
                            Level::Warn,
                            format!(
                                "token source {}: refresh failed ({}); a new grant follows",
                                src.name,
                                e.describe()
                            ),
                        ));
                        events.push(Event::Metric(Metric::ClientTokenFailure));
                        self.update(src, idx, store, |r| {
                            if let Some(t) = &mut r.token {
                                t.refresh = None;
                            }
                        });
                    }
                    Err(e) => self.failed(src, idx, &e, now, store, events),
                }
                release(store, &lease, &self.worker);
                Vec::new()
            }
        }
    }

    fn failed(
        &mut self,
        src: &TokenSource,
        idx: usize,
        e: &TokenFailure,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) {
        events.push(Event::Log(
            Level::Warn,
            format!(
                "token source {} ({} grant, client {}): token request failed: error {}: {}",
                src.name,
                src.grant.name(),
                src.auth.client_id(),
                e.code(),
                e.describe()
            ),
        ));
        events.push(Event::Metric(Metric::ClientTokenFailure));
        let f = StoredFailure {
            code: e.code(),
            message: e.describe(),
            at: now.0,
        };
        self.update(src, idx, store, |r| r.failure = Some(f.clone()));
    }

    /// A callout of ours will never be answered (its stream ended): give the
    /// lease up so that another request can fetch.
    pub fn abandon(&mut self, sources: &[TokenSource], id: CalloutId, store: &mut dyn SharedStore) {
        let idx = ((id.0 >> 32) & 0xff) as usize;
        let (Some(src), Some(local)) = (sources.get(idx), self.locals.get_mut(idx)) else {
            return;
        };
        if local.flight.as_ref().is_some_and(|f| f.id() == id) {
            local.flight = None;
            release(store, &format!("{}/lease", src.key), &self.worker);
        }
    }

    /// The upstream refused the token of generation `gen` (401
    /// `invalid_token`): drop it if it is still the current one.
    pub fn invalidate(
        &mut self,
        src: &TokenSource,
        idx: usize,
        gen: u64,
        store: &mut dyn SharedStore,
        events: &mut Vec<Event>,
    ) {
        let (rec, _) = self.read(src, idx, store);
        if rec.gen != gen || rec.token.is_none() {
            return; // already replaced
        }
        let mut dropped = false;
        self.update(src, idx, store, |r| {
            dropped = false;
            if r.gen == gen && r.token.is_some() {
                r.token = None;
                dropped = true;
            }
        });
        if dropped {
            events.push(Event::Log(
                Level::Warn,
                format!(
                    "token source {}: upstream answered 401 invalid_token; token dropped",
                    src.name
                ),
            ));
            events.push(Event::Metric(Metric::ClientTokenDropped));
        }
    }
}

fn discovered(text: &str, authority: Option<&str>) -> Option<(HttpUri, String)> {
    let uri = HttpUri::parse(text).ok()?;
    let uri = match authority {
        Some(a) => uri.with_authority(a),
        None => uri,
    };
    Some((uri, text.to_owned()))
}
