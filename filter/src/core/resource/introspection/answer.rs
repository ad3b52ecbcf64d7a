//! The introspection endpoint's answer (RFC 7662 §2.2): a JSON object with a
//! boolean `active`; registered members are type-checked, every other
//! member is kept as a claim (for claim headers and scope rules).

use serde_json::{Map, Value};

use crate::core::callout::{CalloutResponse, MAX_ANSWER};
use crate::core::util::json::parse_strict;

/// What the authorization server said about a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `active: true` with its members (all kept as claims).
    Active(Map<String, Value>),
    /// `active: false` (other members ignored, RFC 7662 §2.2), or an
    /// active answer about a token that is not an access token (see
    /// [`is_access_token_type`]): either way the token is refused with 401
    /// `invalid_token`, and the answer is cached as inactive.
    Inactive,
}

/// Why no answer could be had (each maps to 503, or fail-open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntrospectionError {
    /// No response: connection failed, reset, or timed out.
    NoResponse,
    /// An HTTP status other than 200.
    Status(u16),
    /// Body larger than [`crate::core::callout::MAX_ANSWER`].
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
    if !is_access_token_type(&map) {
        return Ok(Answer::Inactive);
    }
    Ok(Answer::Active(map))
}

/// `token_type` values (compared case-insensitively) that name an access
/// token: the RFC 6749 §7.1 types the filter accepts (`Bearer`, `DPoP`) and
/// the names some servers use (`access_token`, RFC 8693's
/// `urn:ietf:params:oauth:token-type:access_token`).
pub const ACCESS_TOKEN_TYPES: [&str; 4] = [
    "bearer",
    "dpop",
    "access_token",
    "urn:ietf:params:oauth:token-type:access_token",
];

/// Whether an active answer is about an access token: `token_type`, when
/// present, must be one of [`ACCESS_TOKEN_TYPES`], and `token_use` (Ory
/// Hydra), when present, must be `access_token`. An answer about a refresh
/// token (`"token_type": "refresh_token"`) or an ID token is refused; an
/// answer without either member is accepted (oidc-provider omits
/// `token_type` for refresh tokens, most servers only introspect access
/// tokens).
pub fn is_access_token_type(map: &Map<String, Value>) -> bool {
    let type_ok = match map.get("token_type").and_then(Value::as_str) {
        None => true,
        Some(t) => ACCESS_TOKEN_TYPES.iter().any(|a| a.eq_ignore_ascii_case(t)),
    };
    let use_ok = match map.get("token_use") {
        None => true,
        Some(v) => v
            .as_str()
            .is_some_and(|u| u.eq_ignore_ascii_case("access_token")),
    };
    type_ok && use_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Result<Answer, IntrospectionError> {
        parse_answer(CalloutResponse {
            status: Some(200),
            headers: &[],
            body: body.as_bytes(),
        })
    }

    #[test]
    fn refresh_tokens_and_id_tokens_are_refused() {
        for body in [
            r#"{"active":true,"sub":"a","token_type":"refresh_token"}"#,
            r#"{"active":true,"sub":"a","token_type":"urn:ietf:params:oauth:token-type:refresh_token"}"#,
            r#"{"active":true,"sub":"a","token_type":"id_token"}"#,
            r#"{"active":true,"sub":"a","token_type":""}"#,
            r#"{"active":true,"sub":"a","token_type":"Bearer","token_use":"refresh_token"}"#,
            r#"{"active":true,"sub":"a","token_use":1}"#,
        ] {
            assert_eq!(answer(body), Ok(Answer::Inactive), "{body}");
        }
    }

    #[test]
    fn access_token_types_are_accepted() {
        for body in [
            r#"{"active":true,"sub":"a"}"#,
            r#"{"active":true,"sub":"a","token_type":"Bearer"}"#,
            r#"{"active":true,"sub":"a","token_type":"bearer"}"#,
            r#"{"active":true,"sub":"a","token_type":"DPoP"}"#,
            r#"{"active":true,"sub":"a","token_type":"access_token"}"#,
            r#"{"active":true,"sub":"a","token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
            r#"{"active":true,"sub":"a","token_type":"Bearer","token_use":"access_token"}"#,
        ] {
            assert!(matches!(answer(body), Ok(Answer::Active(_))), "{body}");
        }
    }
}
