//! Token introspection (RFC 7662): configuration, the request, the answer.
//!
//! The request is `POST <endpoint>` with the form
//! `token=…&token_type_hint=access_token` plus the client authentication
//! members of [`super::client_auth`]. The answer must be a JSON object with a
//! boolean `active`; registered members are type-checked, every other
//! member is kept as a claim (for claim headers and scope rules).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::client_auth::{form_body, ClientAuth, ClientAuthConfig};
use super::config::ConfigError;
use super::json::parse_strict;
use super::keys::{Callout, CalloutId, CalloutResponse};
use super::time::UnixMillis;
use super::uri::HttpUri;

/// Shortest lifetime of a cached answer.
pub const MIN_TTL_MS: u64 = 1000;

/// Largest introspection answer accepted.
pub const MAX_ANSWER: usize = 64 * 1024;

fn d_timeout() -> u64 {
    2000
}

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
    #[serde(default = "d_timeout")]
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
    pub fn from_config(c: &IntrospectionConfig, path: &str) -> Result<Introspection, ConfigError> {
        let e = |f: &str, m: String| ConfigError {
            path: format!("{path}.{f}"),
            message: m,
        };
        let endpoint = HttpUri::parse(&c.uri).map_err(|m| e("uri", m))?;
        let endpoint = match &c.authority {
            Some(a) => endpoint.with_authority(a),
            None => endpoint,
        };
        if c.cluster.is_empty() {
            return Err(e("cluster", "must not be empty".into()));
        }
        if c.timeout_ms == 0 || c.timeout_ms > 60_000 {
            return Err(e("timeout_ms", "must be between 1 and 60000".into()));
        }
        let auth = ClientAuth::from_config(&c.client_auth, &format!("{path}.client_auth"))?;
        Ok(Introspection {
            endpoint,
            uri: c.uri.clone(),
            cluster: c.cluster.clone(),
            auth,
            timeout_ms: c.timeout_ms,
            danger_fail_open: c.danger_fail_open,
        })
    }

    /// The introspection callout for `token`; `jti` is a fresh unique id for
    /// a client assertion.
    pub fn request(&self, id: CalloutId, token: &str, now: UnixMillis, jti: &str) -> Callout {
        let parts = self.auth.parts(&self.uri, now, jti);
        let mut form = vec![
            ("token".to_owned(), token.to_owned()),
            ("token_type_hint".to_owned(), "access_token".to_owned()),
        ];
        form.extend(parts.form);
        let mut headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        headers.extend(parts.headers);
        Callout {
            id,
            cluster: self.cluster.clone(),
            uri: self.endpoint.clone(),
            timeout_ms: self.timeout_ms,
            method: "POST",
            extra_headers: headers,
            body: form_body(&form).into_bytes(),
        }
    }
}

/// What the authorization server said about a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `active: true` with its members (all kept as claims).
    Active(Map<String, Value>),
    /// `active: false` (other members ignored, RFC 7662 §2.2).
    Inactive,
}

/// Why no answer could be had (each maps to 503, or fail-open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectionError {
    /// No response: connection failed, reset, or timed out.
    NoResponse,
    /// An HTTP status other than 200.
    Status(u16),
    /// Body larger than [`MAX_ANSWER`].
    TooLarge,
    /// Body is not one JSON object (or has duplicate members).
    NotJson,
    /// `active` is missing or not a boolean.
    NoActive,
    /// A registered member has the wrong type.
    BadMember(&'static str),
}

impl IntrospectionError {
    /// Short kind for metrics (`oauth_filter_introspection_errors_<kind>`).
    pub fn kind(&self) -> &'static str {
        match self {
            IntrospectionError::NoResponse => "unreachable",
            IntrospectionError::Status(s) if *s >= 500 => "status_5xx",
            IntrospectionError::Status(_) => "status_other",
            IntrospectionError::TooLarge
            | IntrospectionError::NotJson
            | IntrospectionError::NoActive
            | IntrospectionError::BadMember(_) => "malformed",
        }
    }

    /// For log lines.
    pub fn describe(&self) -> String {
        match self {
            IntrospectionError::NoResponse => {
                "no response (connection failed or timed out)".to_owned()
            }
            IntrospectionError::Status(s) => format!("HTTP status {s}"),
            IntrospectionError::TooLarge => "answer too large".to_owned(),
            IntrospectionError::NotJson => "answer is not a JSON object".to_owned(),
            IntrospectionError::NoActive => "answer has no boolean active".to_owned(),
            IntrospectionError::BadMember(m) => format!("answer member {m} has the wrong type"),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Num,
    StrOrStrArray,
    Object,
}

/// Registered members (RFC 7662 §2.2, RFC 8705 §3.2 `cnf`) and their types.
const MEMBERS: [(&str, Kind); 12] = [
    ("scope", Kind::Str),
    ("client_id", Kind::Str),
    ("username", Kind::Str),
    ("token_type", Kind::Str),
    ("sub", Kind::Str),
    ("iss", Kind::Str),
    ("jti", Kind::Str),
    ("exp", Kind::Num),
    ("iat", Kind::Num),
    ("nbf", Kind::Num),
    ("aud", Kind::StrOrStrArray),
    ("cnf", Kind::Object),
];

fn fits(v: &Value, k: Kind) -> bool {
    match k {
        Kind::Str => v.is_string(),
        Kind::Num => v.as_f64().is_some_and(f64::is_finite),
        Kind::StrOrStrArray => {
            v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        }
        Kind::Object => v.is_object(),
    }
}

/// Parse the endpoint's response.
pub fn parse_answer(resp: CalloutResponse<'_>) -> Result<Answer, IntrospectionError> {
    match resp.status {
        None => return Err(IntrospectionError::NoResponse),
        Some(200) => {}
        Some(s) => return Err(IntrospectionError::Status(s)),
    }
    if resp.body.len() > MAX_ANSWER {
        return Err(IntrospectionError::TooLarge);
    }
    let Ok(Value::Object(map)) = parse_strict(resp.body) else {
        return Err(IntrospectionError::NotJson);
    };
    match map.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(Answer::Inactive),
        _ => return Err(IntrospectionError::NoActive),
    }
    for (name, kind) in MEMBERS {
        if let Some(v) = map.get(name) {
            if !fits(v, kind) {
                return Err(IntrospectionError::BadMember(name));
            }
        }
    }
    Ok(Answer::Active(map))
}

fn d_max_entries() -> usize {
    4096
}
fn d_local_entries() -> usize {
    1024
}
fn d_max_ttl() -> u64 {
    300
}
fn d_default_ttl() -> u64 {
    60
}
fn d_inactive_ttl() -> u64 {
    10
}
fn d_entry_bytes() -> usize {
    4096
}

/// `introspection_cache` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionCacheConfig {
    /// Answers kept in shared data (all workers), per provider; 0 disables
    /// caching (and single-flight across workers).
    #[serde(default = "d_max_entries")]
    pub max_entries: usize,
    /// Answers kept per worker in front of the shared cache.
    #[serde(default = "d_local_entries")]
    pub local_max_entries: usize,
    /// Longest time an active answer is used (also bounds how long a
    /// revoked token keeps working).
    #[serde(default = "d_max_ttl")]
    pub max_ttl_s: u64,
    /// Lifetime of an active answer without `exp`.
    #[serde(default = "d_default_ttl")]
    pub default_ttl_s: u64,
    /// Lifetime of an `active: false` answer.
    #[serde(default = "d_inactive_ttl")]
    pub inactive_ttl_s: u64,
    /// Larger answers are cached per worker only.
    #[serde(default = "d_entry_bytes")]
    pub max_entry_bytes: usize,
}

impl Default for IntrospectionCacheConfig {
    fn default() -> Self {
        IntrospectionCacheConfig {
            max_entries: d_max_entries(),
            local_max_entries: d_local_entries(),
            max_ttl_s: d_max_ttl(),
            default_ttl_s: d_default_ttl(),
            inactive_ttl_s: d_inactive_ttl(),
            max_entry_bytes: d_entry_bytes(),
        }
    }
}

impl IntrospectionCacheConfig {
    /// Semantic checks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let e = |f: &str, m: &str| ConfigError {
            path: format!("introspection_cache.{f}"),
            message: m.to_owned(),
        };
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

    /// Until when an answer obtained at `now` may be used: at least 1 s,
    /// so that the requests waiting for it see it (an answer whose `exp`
    /// has passed is refused by the claim checks anyway).
    pub fn until(&self, answer: &Answer, now: UnixMillis) -> UnixMillis {
        let max = now.plus_secs(self.max_ttl_s);
        let until = match answer {
            Answer::Inactive => now.plus_secs(self.inactive_ttl_s),
            Answer::Active(m) => match super::claims::exp_ms(m) {
                Some(exp) => exp.min(max),
                None => now.plus_secs(self.default_ttl_s),
            },
        };
        until.max(now.plus_ms(MIN_TTL_MS))
    }
}
