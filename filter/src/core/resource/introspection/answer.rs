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
    Ok(Answer::Active(map))
}
