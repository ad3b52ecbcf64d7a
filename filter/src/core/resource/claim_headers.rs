//! Claim headers: the header edits for the request that goes upstream
//! (claims copied into headers, the payload header, spoofed copies removed
//! in every spelling).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::core::config::UpstreamConfig;
pub use crate::core::response::HeaderEdits;
use crate::core::util::header::{same_header, spellings};

/// Headers a client must never be able to send (we own them): each claim
/// header and the payload header in every `-`/`_` spelling
/// ([`spellings`]: `x-auth-sub` → also `x_auth-sub`, `x-auth_sub`,
/// `x_auth_sub`), lowercase. The adapter removes each that the request
/// carries, comparing names case-insensitively, so `X-Auth_Sub` goes too.
pub fn owned_headers(cfg: &UpstreamConfig) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let names = cfg
        .claim_headers
        .iter()
        .map(|c| &c.header)
        .chain(cfg.payload_header.iter());
    for name in names {
        for s in spellings(name) {
            if !v.contains(&s) {
                v.push(s);
            }
        }
    }
    v
}

/// Whether the request header `name` is a spelling (case, `-`/`_`) of a
/// header the filter owns: for adapters that remove by matching each
/// request header rather than by the [`owned_headers`] list.
pub fn is_owned(cfg: &UpstreamConfig, name: &str) -> bool {
    cfg.claim_headers
        .iter()
        .map(|c| &c.header)
        .chain(cfg.payload_header.iter())
        .any(|h| same_header(h, name))
}

/// A claim as a header value, or None when it cannot be one.
pub fn claim_value(v: &Value) -> Option<String> {
    let s = match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) | Value::Object(_) => v.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
    };
    // No CR, LF, NUL or other controls: they would split or corrupt headers.
    if s.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(s)
}

/// Edits for an accepted request. Returns the edits and the names of claims
/// that could not be forwarded.
pub fn edits(
    cfg: &UpstreamConfig,
    claims: &Map<String, Value>,
    payload_b64: Option<&str>,
) -> (HeaderEdits, Vec<String>) {
    let mut e = HeaderEdits {
        remove: owned_headers(cfg),
        set: Vec::new(),
    };
    let mut dropped = Vec::new();
    if cfg.remove_authorization {
        e.remove.push("authorization".to_owned());
    }
    for ch in &cfg.claim_headers {
        if let Some(v) = claims.get(&ch.claim) {
            match claim_value(v) {
                Some(s) => e.set.push((ch.header.clone(), s)),
                None => dropped.push(ch.claim.clone()),
            }
        }
    }
    if let Some(h) = &cfg.payload_header {
        let p = match payload_b64 {
            Some(p) => p.to_owned(),
            None => URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string()),
        };
        e.set.push((h.clone(), p));
    }
    (e, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_forms() {
        assert_eq!(claim_value(&json!("a b")).as_deref(), Some("a b"));
        assert_eq!(claim_value(&json!(42)).as_deref(), Some("42"));
        assert_eq!(claim_value(&json!(1.5)).as_deref(), Some("1.5"));
        assert_eq!(claim_value(&json!(true)).as_deref(), Some("true"));
        assert_eq!(claim_value(&json!(["a", "b", 3])).as_deref(), Some("a,b,3"));
        assert_eq!(
            claim_value(&json!({"k": "v"})).as_deref(),
            Some("{\"k\":\"v\"}")
        );
        assert_eq!(claim_value(&json!("a\r\nx-evil: 1")), None);
        assert_eq!(claim_value(&json!(null)), None);
    }
}
