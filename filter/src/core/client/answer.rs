//! The token endpoint's answer (RFC 6749 §5.1, §5.2) and the
//! `token_endpoint` of a discovery document.

use std::fmt;

use serde_json::Value;

use crate::core::callout::{CalloutResponse, MAX_ANSWER};
use crate::core::util::json::parse_strict;
use crate::core::util::uri::HttpUri;

/// Largest access token accepted (it goes into a request header).
pub const MAX_TOKEN: usize = 16 * 1024;

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
    /// `id_token` (OpenID Connect: authorization code and refresh grants).
    pub id_token: Option<String>,
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
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
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
    /// Larger than [`crate::core::callout::MAX_ANSWER`].
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
    let id_token = opt_str("id_token")
        .map_err(|_| TokenFailure::Malformed("id_token is not a string"))?
        .filter(|s| !s.is_empty());
    Ok(TokenAnswer {
        access_token,
        token_type,
        expires_in,
        refresh_token,
        scope,
        id_token,
    })
}

/// `token_endpoint` of a discovery document, which must name `issuer`
/// exactly (RFC 8414 §3.3: a document naming another issuer could point the
/// gateway's credentials at anyone's token endpoint).
pub fn parse_discovery(resp: CalloutResponse<'_>, issuer: &str) -> Result<String, TokenFailure> {
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
    match m.get("issuer") {
        Some(Value::String(i)) if i == issuer => {}
        _ => {
            return Err(TokenFailure::Discovery(
                "the document's issuer is not the configured one",
            ))
        }
    }
    match m.get("token_endpoint") {
        Some(Value::String(s)) if HttpUri::parse(s).is_ok() => Ok(s.clone()),
        _ => Err(TokenFailure::Discovery("no http(s) token_endpoint")),
    }
}
