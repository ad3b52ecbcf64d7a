//! Why a request is refused, each reason mapping to one HTTP answer.

use super::jose::jwe::JweError;
use super::jose::jws::JoseError;
use super::route::PathError;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// RFC 6750 `invalid_request` (400): e.g. two `Authorization` headers.
    InvalidRequest(RequestError),
    /// No token, or not a Bearer token (401 without error code).
    NoToken,
    /// RFC 6750 `invalid_token` (401).
    InvalidToken(TokenError),
    /// RFC 6750 `insufficient_scope` (403) with every scope the route needs.
    InsufficientScope {
        /// All scopes the request needs (not only the missing ones).
        required: Vec<String>,
    },
    /// No usable verification key: fetch failed or timed out (503).
    KeysUnavailable,
    /// The introspection endpoint gave no answer: unreachable, timeout,
    /// non-200 status or garbage (503).
    IntrospectionUnavailable,
    /// The request did not arrive over TLS and `require_https` is on (403).
    HttpsRequired,
    /// A sender-constrained token's binding does not hold (401; 503 when
    /// the DPoP replay cache cannot record the proof).
    Binding(BindingFailure),
    /// The gateway could not get its own token for the upstream (502): the
    /// token endpoint refused (OAuth `error`), failed, or did not answer.
    UpstreamTokenUnavailable {
        /// Token source name.
        source: String,
        /// OAuth `error` code or failure kind (`invalid_client`, `no_response`, …).
        code: String,
        /// What failed, without secrets.
        message: String,
    },
}

/// A failed sender-constraint check, as the reply needs it (built by
/// `resource::binding::enforce`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingFailure {
    /// 401 or 503.
    pub status: u16,
    /// OAuth `error`: `invalid_token`, `invalid_dpop_proof`, …
    pub code: &'static str,
    /// Stable short reason.
    pub reason: &'static str,
    /// `error_description`.
    pub description: String,
    /// For DPoP failures, the accepted proof algorithms (space-separated):
    /// the challenge is then `DPoP algs="…"` (RFC 9449 §7.1).
    pub dpop_algs: Option<String>,
    /// A fresh DPoP server nonce for the client's retry (`DPoP-Nonce`).
    pub dpop_nonce: Option<String>,
}

/// Malformed requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Two or more `Authorization` headers.
    MultipleAuthorization,
    /// `Authorization: Bearer` with nothing after it.
    EmptyBearer,
    /// A request path the rules and an upstream could read differently
    /// (see [`crate::core::route::check_path`]).
    InvalidPath(PathError),
}

/// Why a token is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Longer than `token.max_bytes`.
    TooLarge,
    /// Characters outside RFC 6750's b64token.
    BadCharacters,
    /// Not a well-formed JWS.
    Jose(JoseError),
    /// An encrypted token (JWE) that could not be decrypted or carries no
    /// nested JWT.
    Jwe(JweError),
    /// `iss` absent or not one of the configured providers.
    UntrustedIssuer,
    /// `alg` not in the provider's allow-list.
    DisallowedAlg,
    /// The key named by `kid` cannot be used with `alg` (e.g. HMAC with an RSA key).
    AlgKeyMismatch,
    /// No key with this `kid` (after a refetch, when one was allowed).
    UnknownKid,
    /// No key of the right type (token without `kid`).
    NoMatchingKey,
    /// The signature does not verify.
    BadSignature,
    /// Header `typ` is not `at+jwt` (RFC 9068) where required.
    WrongTyp,
    /// A claim check failed.
    Claims(ClaimError),
    /// The authorization server says the token is not active (RFC 7662).
    Inactive,
}

/// Failed claim checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// `exp` is past (beyond the skew).
    Expired,
    /// `nbf` is in the future (beyond the skew).
    NotYetValid,
    /// `iat` is in the future (beyond the skew).
    IssuedInFuture,
    /// No `exp` claim.
    MissingExp,
    /// `exp`, `nbf` or `iat` is not a number.
    BadTimeClaim(&'static str),
    /// `aud` does not name any accepted audience.
    WrongAudience,
    /// A required claim is absent.
    MissingClaim(String),
    /// A claim rule did not match.
    ClaimMismatch(String),
}

impl From<PathError> for Rejection {
    /// 400 `invalid_request`, reason `invalid_path`.
    fn from(e: PathError) -> Rejection {
        Rejection::InvalidRequest(RequestError::InvalidPath(e))
    }
}

impl Rejection {
    /// HTTP status of the local reply.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::InvalidRequest(_) => 400,
            Rejection::NoToken | Rejection::InvalidToken(_) => 401,
            Rejection::InsufficientScope { .. } | Rejection::HttpsRequired => 403,
            Rejection::Binding(b) => b.status,
            Rejection::KeysUnavailable | Rejection::IntrospectionUnavailable => 503,
            Rejection::UpstreamTokenUnavailable { .. } => 502,
        }
    }

    /// Stable short reason for metrics and audit lines.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::InvalidRequest(RequestError::MultipleAuthorization) => {
                "multiple_authorization"
            }
            Rejection::InvalidRequest(RequestError::EmptyBearer) => "empty_bearer",
            Rejection::InvalidRequest(RequestError::InvalidPath(_)) => "invalid_path",
            Rejection::NoToken => "no_token",
            Rejection::InvalidToken(t) => t.reason(),
            Rejection::InsufficientScope { .. } => "insufficient_scope",
            Rejection::HttpsRequired => "https_required",
            Rejection::Binding(b) => b.reason,
            Rejection::KeysUnavailable => "keys_unavailable",
            Rejection::IntrospectionUnavailable => "introspection_unavailable",
            Rejection::UpstreamTokenUnavailable { .. } => "upstream_token_unavailable",
        }
    }

    /// Text for `error_description` (no token content, no secrets).
    pub fn describe(&self) -> String {
        match self {
            Rejection::InvalidRequest(RequestError::MultipleAuthorization) => {
                "more than one Authorization header".to_owned()
            }
            Rejection::InvalidRequest(RequestError::EmptyBearer) => "empty bearer token".to_owned(),
            Rejection::InvalidRequest(RequestError::InvalidPath(e)) => e.describe().to_owned(),
            Rejection::NoToken => "bearer token required".to_owned(),
            Rejection::InvalidToken(t) => t.describe(),
            Rejection::InsufficientScope { .. } => "the token lacks a required scope".to_owned(),
            Rejection::HttpsRequired => "requests must use HTTPS".to_owned(),
            Rejection::Binding(b) => b.description.clone(),
            Rejection::KeysUnavailable => "token verification keys are unavailable".to_owned(),
            Rejection::IntrospectionUnavailable => {
                "the token could not be checked: authorization server unavailable".to_owned()
            }
            Rejection::UpstreamTokenUnavailable {
                source,
                code,
                message,
            } => format!("no token for the upstream from token source {source}: {code}: {message}"),
        }
    }
}

impl TokenError {
    /// Stable short reason.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "token_too_large",
            TokenError::BadCharacters => "malformed",
            TokenError::Jose(j) => j.reason(),
            TokenError::Jwe(j) => j.reason(),
            TokenError::UntrustedIssuer => "untrusted_issuer",
            TokenError::DisallowedAlg => "disallowed_alg",
            TokenError::AlgKeyMismatch => "alg_key_mismatch",
            TokenError::UnknownKid => "unknown_kid",
            TokenError::NoMatchingKey => "no_matching_key",
            TokenError::BadSignature => "bad_signature",
            TokenError::WrongTyp => "wrong_typ",
            TokenError::Inactive => "inactive",
            TokenError::Claims(c) => match c {
                ClaimError::Expired => "expired",
                ClaimError::NotYetValid => "not_yet_valid",
                ClaimError::IssuedInFuture => "issued_in_future",
                ClaimError::MissingExp => "missing_exp",
                ClaimError::BadTimeClaim(_) => "bad_time_claim",
                ClaimError::WrongAudience => "wrong_audience",
                ClaimError::MissingClaim(_) => "missing_claim",
                ClaimError::ClaimMismatch(_) => "claim_mismatch",
            },
        }
    }

    /// Text for `error_description`.
    pub fn describe(&self) -> String {
        match self {
            TokenError::TooLarge => "token too large".to_owned(),
            TokenError::BadCharacters => "token has invalid characters".to_owned(),
            TokenError::Jose(j) => j.describe(),
            TokenError::Jwe(j) => j.describe(),
            TokenError::UntrustedIssuer => "untrusted issuer".to_owned(),
            TokenError::DisallowedAlg => "algorithm not allowed".to_owned(),
            TokenError::AlgKeyMismatch => "algorithm does not match the key".to_owned(),
            TokenError::UnknownKid => "unknown key id".to_owned(),
            TokenError::NoMatchingKey => "no key for this algorithm".to_owned(),
            TokenError::BadSignature => "invalid signature".to_owned(),
            TokenError::WrongTyp => "token type is not at+jwt".to_owned(),
            TokenError::Inactive => "token is not active".to_owned(),
            TokenError::Claims(c) => match c {
                ClaimError::Expired => "token expired".to_owned(),
                ClaimError::NotYetValid => "token not yet valid".to_owned(),
                ClaimError::IssuedInFuture => "token issued in the future".to_owned(),
                ClaimError::MissingExp => "token has no exp".to_owned(),
                ClaimError::BadTimeClaim(c) => format!("claim {c} is not a number"),
                ClaimError::WrongAudience => "audience not accepted".to_owned(),
                // Claim names come from the configuration, not the token.
                ClaimError::MissingClaim(c) => format!("missing claim {c}"),
                ClaimError::ClaimMismatch(c) => format!("claim {c} has a wrong value"),
            },
        }
    }
}
