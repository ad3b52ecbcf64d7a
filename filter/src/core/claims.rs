//! Registered-claim checks (RFC 7519 §4.1) and configured claim rules.

use serde_json::{Map, Value};

use super::config::Provider;
use super::error::ClaimError;
use super::time::UnixMillis;

fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<f64>, ClaimError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(ClaimError::BadTimeClaim(name)),
        Some(_) => Err(ClaimError::BadTimeClaim(name)),
    }
}

/// `exp` in milliseconds, if present and numeric.
pub fn exp_ms(claims: &Map<String, Value>) -> Option<UnixMillis> {
    numeric_date(claims, "exp")
        .ok()
        .flatten()
        .map(|s| UnixMillis((s.max(0.0) * 1000.0) as u64))
}

/// Check time claims, audience, required claims and claim rules.
/// `iss` has already selected `provider`.
pub fn check(
    provider: &Provider,
    claims: &Map<String, Value>,
    now: UnixMillis,
) -> Result<(), ClaimError> {
    let now_s = now.0 as f64 / 1000.0;
    let skew = provider.clock_skew_s as f64;
    let exp = numeric_date(claims, "exp")?.ok_or(ClaimError::MissingExp)?;
    if now_s >= exp + skew {
        return Err(ClaimError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if now_s + skew < nbf {
            return Err(ClaimError::NotYetValid);
        }
    }
    if let Some(iat) = numeric_date(claims, "iat")? {
        if now_s + skew < iat {
            return Err(ClaimError::IssuedInFuture);
        }
    }
    if let Some(accepted) = &provider.audiences {
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => accepted.iter().any(|x| x == a),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str().is_some_and(|a| accepted.iter().any(|x| x == a))),
            _ => false,
        };
        if !ok {
            return Err(ClaimError::WrongAudience);
        }
    }
    for name in &provider.required_claims {
        if !claims.contains_key(name) {
            return Err(ClaimError::MissingClaim(name.clone()));
        }
    }
    for rule in &provider.claim_rules {
        let ok = match (claims.get(&rule.claim), &rule.equals) {
            (None, _) => false,
            (Some(Value::Array(have)), want) if !want.is_array() => have.contains(want),
            (Some(have), want) => have == want,
        };
        if !ok {
            return Err(ClaimError::ClaimMismatch(rule.claim.clone()));
        }
    }
    Ok(())
}

/// The claim as a short display string (audit lines), if it is a string or number.
pub fn short_str(claims: &Map<String, Value>, name: &str) -> Option<String> {
    let s = match claims.get(name)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(s.chars().take(128).collect())
}
