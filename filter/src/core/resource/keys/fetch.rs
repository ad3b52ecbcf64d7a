//! Key-fetch answers: the discovery document, the JWK set and its
//! `Cache-Control` lifetime.

use serde_json::Value;

use crate::core::callout::{CalloutResponse, MAX_BODY};
use crate::core::jose::jwk::JwkSet;
use crate::core::util::json::parse_strict;
use crate::core::util::uri::HttpUri;

pub(super) fn unreachable_uri() -> HttpUri {
    HttpUri {
        scheme: "http",
        authority: "invalid".into(),
        path: "/".into(),
    }
}

fn body_json(resp: CalloutResponse<'_>) -> Result<Value, String> {
    match resp.status {
        None => return Err("no response (connection failed or timed out)".into()),
        Some(200) => {}
        Some(s) => return Err(format!("HTTP status {s}")),
    }
    if resp.body.len() > MAX_BODY {
        return Err("response too large".into());
    }
    parse_strict(resp.body).map_err(|_| "response is not valid JSON".to_owned())
}

pub(super) fn parse_discovery(resp: CalloutResponse<'_>, issuer: &str) -> Result<HttpUri, String> {
    let v = body_json(resp)?;
    if v.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err("issuer in the discovery document differs from the configured one".into());
    }
    let uri = v
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("no jwks_uri in the discovery document")?;
    HttpUri::parse(uri).map_err(|m| format!("jwks_uri {m}"))
}

pub(super) fn parse_jwks(
    resp: CalloutResponse<'_>,
) -> Result<(Value, usize, usize, Option<u64>), String> {
    let v = body_json(resp)?;
    let set = JwkSet::from_value(&v, false)
        .map_err(|e| format!("not a JWK set: {}{}", e.path, e.message))?;
    if set.keys().is_empty() {
        return Err("JWK set has no usable key".into());
    }
    Ok((
        v,
        set.keys().len(),
        set.skipped.len(),
        max_age(resp.headers),
    ))
}

/// `Cache-Control: max-age=N` (`no-cache`/`no-store` count as 0).
pub fn max_age(headers: &[(String, String)]) -> Option<u64> {
    let mut out = None;
    for (_, v) in headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cache-control"))
    {
        for d in v.split(',') {
            let d = d.trim();
            if d.eq_ignore_ascii_case("no-cache") || d.eq_ignore_ascii_case("no-store") {
                return Some(0);
            }
            if let Some((k, n)) = d.split_once('=') {
                if k.trim().eq_ignore_ascii_case("max-age") {
                    out = n.trim().trim_matches('"').parse().ok().or(out);
                }
            }
        }
    }
    out
}
