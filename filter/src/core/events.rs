//! What the core wants logged and counted: audit lines, metrics, log lines.
//! They leave the core in [`crate::core::Outbox::events`], polled after
//! every call.

use serde::Serialize;

/// Log severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Diagnostics.
    Debug,
    /// Normal operation (audit lines).
    Info,
    /// Something failed but the filter copes (e.g. a key fetch).
    Warn,
    /// Something the operator must fix.
    Error,
}

/// A counter to increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A request was let through.
    Allowed,
    /// A request was refused, by reason (see [`crate::core::error::Rejection::reason`]).
    Denied(&'static str),
    /// A token was found in the verified-token cache.
    CacheHit,
    /// A token was not in the cache (and verified in full).
    CacheMiss,
    /// A key-set (or discovery) callout was started.
    KeyFetch,
    /// A key-set fetch failed.
    KeyFetchFailure,
    /// An introspection callout was started.
    IntrospectionCall,
    /// An introspection callout gave no answer, by kind
    /// (see `IntrospectionError::kind`).
    IntrospectionError(&'static str),
    /// An introspection answer was found in the cache (local or shared).
    AnswerCacheHit,
    /// A token had no cached introspection answer.
    AnswerCacheMiss,
    /// A live introspection answer was evicted (local or shared).
    AnswerCacheEviction,
    /// The gateway asked a token endpoint for a token of its own.
    ClientTokenRequest,
    /// A token request of the gateway's failed (or its refresh did).
    ClientTokenFailure,
    /// The upstream refused the gateway's token (401 `invalid_token`).
    ClientTokenDropped,
}

impl Metric {
    /// The proxy-wasm metric name.
    pub fn name(&self) -> String {
        match self {
            Metric::Allowed => "oauth_filter_allowed".to_owned(),
            Metric::Denied(r) => format!("oauth_filter_denied_{r}"),
            Metric::CacheHit => "oauth_filter_token_cache_hits".to_owned(),
            Metric::CacheMiss => "oauth_filter_token_cache_misses".to_owned(),
            Metric::KeyFetch => "oauth_filter_key_fetches".to_owned(),
            Metric::KeyFetchFailure => "oauth_filter_key_fetch_failures".to_owned(),
            Metric::IntrospectionCall => "oauth_filter_introspection_calls".to_owned(),
            Metric::IntrospectionError(k) => format!("oauth_filter_introspection_errors_{k}"),
            Metric::AnswerCacheHit => "oauth_filter_introspection_cache_hits".to_owned(),
            Metric::AnswerCacheMiss => "oauth_filter_introspection_cache_misses".to_owned(),
            Metric::AnswerCacheEviction => "oauth_filter_introspection_cache_evictions".to_owned(),
            Metric::ClientTokenRequest => "oauth_filter_client_token_requests".to_owned(),
            Metric::ClientTokenFailure => "oauth_filter_client_token_failures".to_owned(),
            Metric::ClientTokenDropped => "oauth_filter_client_tokens_dropped".to_owned(),
        }
    }
}

/// A histogram to record into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Histogram {
    /// Introspection callout latency in milliseconds (answered or not).
    IntrospectionLatencyMs,
}

impl Histogram {
    /// The proxy-wasm metric name.
    pub fn name(&self) -> &'static str {
        match self {
            Histogram::IntrospectionLatencyMs => "oauth_filter_introspection_latency_ms",
        }
    }
}

/// One access decision, as logged (PingGateway's access audit: time,
/// transaction and tracking ids, principal, decision, the upstream's status
/// and the latency). Never holds the token, only a hash prefix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// When the request was decided, RFC 3339 UTC.
    pub timestamp: String,
    /// The request's `x-request-id`, or one made by the filter.
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// HTTP status sent (200 stands for "forwarded").
    pub status: u16,
    /// Reason code (`ok` when allowed).
    pub reason: &'static str,
    /// Request method.
    pub method: String,
    /// Request path without query.
    pub path: String,
    /// Provider name, once the token is verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Verified `iss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Verified `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Verified `client_id` (or `azp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Verified tracking id claim (default `jti`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_id: Option<String>,
    /// Every tracking id: `tracking_id` and `audit.tracking_claims`.
    #[serde(rename = "trackingIds", skip_serializing_if = "Vec::is_empty")]
    pub tracking_ids: Vec<String>,
    /// The upstream's status, for a forwarded request whose response came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// Milliseconds from the request's arrival to the decision, or to the
    /// upstream's response headers.
    pub elapsed_ms: u64,
    /// First 16 hex digits of SHA-256(token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
}

impl AuditEvent {
    /// The one-line JSON form.
    pub fn to_line(&self) -> String {
        let mut s = String::from("oauth-filter audit ");
        s.push_str(&serde_json::to_string(self).unwrap_or_default());
        s
    }
}

/// Something for the adapter to do on the side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Log this audit line at info level.
    Audit(Box<AuditEvent>),
    /// Increment this counter.
    Metric(Metric),
    /// Record a value in this histogram.
    Histogram(Histogram, u64),
    /// Log this line.
    Log(Level, String),
}

/// Hex of the first 8 bytes of a SHA-256 digest.
pub fn hash_prefix(digest: &[u8; 32]) -> String {
    super::util::hex::hex(&digest[..8])
}
