//! What the core wants logged and counted: audit lines, metrics, log lines.
//! They leave the core in [`crate::core::Outbox::events`], polled after
//! every call.

use std::borrow::Cow;

use serde::Serialize;

use super::util::hex::push_hex;
use super::util::text::push_number;
use super::util::time::UnixMillis;

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
    /// When the request was decided (written RFC 3339 UTC).
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: UnixMillis,
    /// The request's `x-request-id`, or one made by the filter.
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// HTTP status sent (200 stands for "forwarded").
    pub status: u16,
    /// Reason code (`ok` when allowed).
    pub reason: &'static str,
    /// Request method (the common ones without a copy).
    pub method: Cow<'static, str>,
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
    pub token_hash: Option<HashPrefix>,
}

impl AuditEvent {
    /// The one-line JSON form.
    pub fn to_line(&self) -> String {
        let mut s = String::with_capacity(384);
        self.write_line(&mut s);
        s
    }

    /// Append the one-line JSON form to `out`: the same object as the
    /// `Serialize` form (field order, names, omissions), written directly
    /// (serde_json's escaper is a tenth of the per-request cost in wasm).
    pub fn write_line(&self, out: &mut String) {
        out.push_str("oauth-filter audit {");
        let mut w = JsonObject { out, first: true };
        w.key("timestamp");
        w.out.push('"');
        self.timestamp.write_rfc3339(w.out);
        w.out.push('"');
        w.str("transactionId", &self.transaction_id);
        w.str("decision", self.decision);
        w.num("status", u64::from(self.status));
        w.str("reason", self.reason);
        w.str("method", &self.method);
        w.str("path", &self.path);
        w.opt_str("provider", self.provider.as_deref());
        w.opt_str("issuer", self.issuer.as_deref());
        w.opt_str("sub", self.sub.as_deref());
        w.opt_str("client_id", self.client_id.as_deref());
        w.opt_str("tracking_id", self.tracking_id.as_deref());
        if !self.tracking_ids.is_empty() {
            w.key("trackingIds");
            w.out.push('[');
            for (i, t) in self.tracking_ids.iter().enumerate() {
                if i > 0 {
                    w.out.push(',');
                }
                json_string(w.out, t);
            }
            w.out.push(']');
        }
        if let Some(u) = self.upstream_status {
            w.num("upstream_status", u64::from(u));
        }
        w.num("elapsed_ms", self.elapsed_ms);
        if let Some(h) = &self.token_hash {
            w.key("token_hash");
            w.out.push('"');
            push_hex(w.out, &h.0);
            w.out.push('"');
        }
        w.out.push('}');
    }
}

/// Members of a JSON object being written.
struct JsonObject<'a> {
    out: &'a mut String,
    first: bool,
}

impl JsonObject<'_> {
    /// `"k":` (after a comma but for the first member); the names are
    /// plain ASCII, written as they are.
    fn key(&mut self, k: &str) {
        self.out.push_str(if self.first { "\"" } else { ",\"" });
        self.first = false;
        self.out.push_str(k);
        self.out.push_str("\":");
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        json_string(self.out, v);
    }

    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    fn num(&mut self, k: &str, n: u64) {
        self.key(k);
        push_number(self.out, n, 10, 1);
    }
}

/// `s` as a JSON string (RFC 8259 §7): `"` and `\` escaped, control
/// characters as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`; runs of
/// plain characters copied at once.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    // An index loop: iterator adapters are calls per byte at opt-level z.
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x20 && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        // Only ASCII bytes are escaped: `start` and `i` are char boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        i += 1;
        start = i;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
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
    HashPrefix::of(digest).to_string()
}

/// The first 8 bytes of a token's SHA-256: the audit line's `token_hash`
/// (written as 16 hex digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPrefix(pub [u8; 8]);

impl HashPrefix {
    /// The prefix of `digest`.
    pub fn of(digest: &[u8; 32]) -> HashPrefix {
        let mut p = [0; 8];
        p.copy_from_slice(&digest[..8]);
        HashPrefix(p)
    }
}

impl std::fmt::Display for HashPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::util::hex::hex(&self.0))
    }
}

impl Serialize for HashPrefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn rfc3339<S: serde::Serializer>(t: &UnixMillis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            timestamp: UnixMillis(1_796_232_000_123),
            transaction_id: "req-\"42\\".into(),
            decision: "allow",
            status: 200,
            reason: "ok",
            method: "GET".into(),
            path: "/ä/\u{1}\u{1f}\n\r\t\u{8}\u{c}\u{7f}\u{85}/x".into(),
            provider: Some("corp".into()),
            issuer: None,
            sub: Some("alice \u{2028} é".into()),
            client_id: None,
            tracking_id: Some("t1".into()),
            tracking_ids: vec!["t1".into(), "a\"b".into()],
            upstream_status: Some(503),
            elapsed_ms: u64::MAX,
            token_hash: Some(HashPrefix([0xba, 0x04, 0x3f, 0x25, 0x44, 0xf4, 0xe3, 0xd2])),
        }
    }

    #[test]
    fn the_line_is_the_serialized_object() {
        for ev in [
            event(),
            AuditEvent {
                provider: None,
                sub: None,
                tracking_id: None,
                tracking_ids: vec![],
                upstream_status: None,
                token_hash: None,
                elapsed_ms: 0,
                ..event()
            },
        ] {
            let line = ev.to_line();
            let json = line.strip_prefix("oauth-filter audit ").expect("marker");
            assert_eq!(json, serde_json::to_string(&ev).expect("serde"));
            assert!(!json.contains('\n'), "one line");
        }
        let line = event().to_line();
        assert!(line.contains(r#""timestamp":"2026-12-02T17:20:00.123Z""#));
        assert!(line.contains(r#""token_hash":"ba043f2544f4e3d2"}"#));
        assert!(line.contains(r#""elapsed_ms":18446744073709551615,"#));
    }
}
