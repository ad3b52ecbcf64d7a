//! Registered-claim checks (RFC 7519 §4.1) and configured claim rules.

use serde_json::{Map, Value};

use crate::core::config::Provider;
use crate::core::error::ClaimError;
use crate::core::util::time::UnixMillis;

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
    check_with(provider, claims, now, true)
}

/// The same checks for an introspection answer (RFC 7662 §2.2): `exp` is
/// optional there, and `iss`, when present, must be the provider's.
pub fn check_answer(
    provider: &Provider,
    claims: &Map<String, Value>,
    now: UnixMillis,
) -> Result<(), ClaimError> {
    if let Some(iss) = claims.get("iss") {
        if iss.as_str() != Some(provider.issuer.as_str()) {
            return Err(ClaimError::ClaimMismatch("iss".into()));
        }
    }
    check_with(provider, claims, now, false)
}

fn check_with(
    provider: &Provider,
    claims: &Map<String, Value>,
    now: UnixMillis,
    exp_required: bool,
) -> Result<(), ClaimError> {
    let now_s = now.0 as f64 / 1000.0;
    let skew = provider.clock_skew_s as f64;
    match numeric_date(claims, "exp")? {
        Some(exp) if now_s >= exp + skew => return Err(ClaimError::Expired),
        Some(_) => {}
        None if exp_required => return Err(ClaimError::MissingExp),
        None => {}
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
    match claims.get(name)? {
        Value::String(s) => Some(crate::core::util::text::prefix_chars(s, 128)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{ClaimRule, KeySource, Provider};
    use crate::core::jose::jwk::JwkSet;
    use serde_json::json;

    fn provider() -> Provider {
        Provider {
            name: "p".into(),
            issuer: "i".into(),
            audiences: Some(vec!["a".into(), "b".into()]),
            algorithms: vec![],
            keys: KeySource::Inline(JwkSet::default()),
            require_at_jwt_typ: false,
            required_claims: vec!["sub".into()],
            claim_rules: vec![
                ClaimRule {
                    claim: "roles".into(),
                    equals: json!("admin"),
                },
                ClaimRule {
                    claim: "lvl".into(),
                    equals: json!(2),
                },
            ],
            clock_skew_s: 60,
            resolver: crate::core::config::Resolver::Jwt,
            introspection: None,
            sender_constraint: crate::core::config::SenderConstraintConfig::default()
                .validate("", &crate::core::config::Secrets::new())
                .unwrap(),
            decryption: None,
            scope_claims: crate::core::config::provider::ScopeClaim::defaults(),
        }
    }

    fn check_json(v: Value, now_s: u64) -> Result<(), ClaimError> {
        check(
            &provider(),
            v.as_object().unwrap(),
            UnixMillis::from_secs(now_s),
        )
    }

    fn base() -> Value {
        json!({"sub": "s", "aud": "a", "exp": 1000, "roles": ["x", "admin"], "lvl": 2})
    }

    #[test]
    fn time_claims_with_skew() {
        assert_eq!(check_json(base(), 1059), Ok(()));
        assert_eq!(check_json(base(), 1060), Err(ClaimError::Expired));
        let mut v = base();
        v["exp"] = json!(1000.5);
        assert_eq!(
            check_json(v.clone(), 1060),
            Ok(()),
            "fractional NumericDate"
        );
        v["exp"] = json!("1000");
        assert_eq!(check_json(v, 0), Err(ClaimError::BadTimeClaim("exp")));
        let mut v = base();
        v["nbf"] = json!(161);
        assert_eq!(check_json(v.clone(), 100), Err(ClaimError::NotYetValid));
        v["nbf"] = json!(160);
        assert_eq!(check_json(v, 100), Ok(()));
        let mut v = base();
        v["iat"] = json!(500);
        assert_eq!(check_json(v, 400), Err(ClaimError::IssuedInFuture));
        let mut v = base();
        v.as_object_mut().unwrap().remove("exp");
        assert_eq!(check_json(v, 0), Err(ClaimError::MissingExp));
    }

    #[test]
    fn audience_forms() {
        for (aud, ok) in [
            (json!("b"), true),
            (json!(["z", "b"]), true),
            (json!(["z", 1]), false),
            (json!("z"), false),
            (json!(null), false),
            (json!({"a": 1}), false),
        ] {
            let mut v = base();
            v["aud"] = aud.clone();
            assert_eq!(check_json(v, 0).is_ok(), ok, "{aud}");
        }
    }

    #[test]
    fn required_claims_and_rules() {
        let mut v = base();
        v.as_object_mut().unwrap().remove("sub");
        assert_eq!(
            check_json(v, 0),
            Err(ClaimError::MissingClaim("sub".into()))
        );
        let mut v = base();
        v["roles"] = json!("admin");
        assert_eq!(check_json(v, 0), Ok(()), "scalar equal");
        let mut v = base();
        v["roles"] = json!(["user"]);
        assert_eq!(
            check_json(v, 0),
            Err(ClaimError::ClaimMismatch("roles".into()))
        );
        let mut v = base();
        v["lvl"] = json!("2");
        assert_eq!(
            check_json(v, 0),
            Err(ClaimError::ClaimMismatch("lvl".into())),
            "types matter"
        );
    }
}
