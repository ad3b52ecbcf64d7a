//! The validators every configuration section shares: one definition of a
//! header name, a cluster, a scope token, a name, a callout URI, a timeout.

use super::ConfigError;
use crate::core::route::{Route, RouteError};
use crate::core::util::header::{canonical, MAX_SEPARATORS};
use crate::core::util::uri::HttpUri;

/// A [`ConfigError`] at `path`.
pub(crate) fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

/// A lowercase header name (`[a-z0-9_-]+`).
pub(crate) fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Headers a configured failure response may not set: framing, hop-by-hop,
/// and the ones the filter itself owns in a reply.
pub(crate) fn is_forbidden_reply_header(h: &str) -> bool {
    matches!(
        canonical(h).as_str(),
        "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "upgrade"
            | "te"
            | "trailer"
            | "location"
            | "www-authenticate"
            | "content-type"
    ) || h.starts_with(':')
}

/// A header the filter sets that must not be `authorization`.
pub(crate) fn header_not_authorization(h: &str, path: &str) -> Result<(), ConfigError> {
    if !header_name_ok(h) || h == "authorization" {
        return Err(err(
            path,
            "must be a lowercase header name other than authorization",
        ));
    }
    Ok(())
}

/// Names a claim header or the payload header must not take, compared
/// after folding case and `_` to `-` ([`canonical`]): they frame the
/// message (an upstream would read the body differently), are hop-by-hop
/// (RFC 9110 §7.6.1, and the legacy ones), route it (`host`), or carry
/// credentials. Pseudo-headers (`:path`, …) are not header names at all.
pub const RESERVED_HEADERS: [&str; 14] = [
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authenticate",
    "proxy-authorization",
    "authorization",
];

/// A header the filter sets from claims (`upstream.claim_headers[i].header`,
/// `upstream.payload_header`): a lowercase name, not
/// [`RESERVED_HEADERS`] in any spelling, at most
/// [`MAX_SEPARATORS`] separators (it is removed from client requests in
/// every `-`/`_` spelling).
pub(crate) fn claim_header(h: &str, path: &str) -> Result<(), ConfigError> {
    if !header_name_ok(h) {
        return Err(err(path, "must be a lowercase header name ([a-z0-9_-]+)"));
    }
    let c = canonical(h);
    if RESERVED_HEADERS.contains(&c.as_str()) {
        return Err(err(
            path,
            format!("{h:?} is a framing, hop-by-hop or credential header"),
        ));
    }
    if h.bytes().filter(|b| *b == b'-' || *b == b'_').count() > MAX_SEPARATORS {
        return Err(err(
            path,
            format!("at most {MAX_SEPARATORS} '-' or '_' separators"),
        ));
    }
    Ok(())
}

/// A proxy cluster name.
pub(crate) fn cluster(c: &str, path: &str) -> Result<(), ConfigError> {
    if c.is_empty() {
        return Err(err(path, "must not be empty"));
    }
    Ok(())
}

/// RFC 6749 §3.3 scope-tokens: `%x21 / %x23-5B / %x5D-7E`.
pub(crate) fn scopes(list: &[String], path: &str) -> Result<(), ConfigError> {
    for (i, s) in list.iter().enumerate() {
        if s.is_empty()
            || !s
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(err(format!("{path}[{i}]"), "not a valid scope token"));
        }
    }
    Ok(())
}

/// A short name (`[A-Za-z0-9_-]`, at most `max` bytes).
pub(crate) fn name_ok(n: &str, max: usize) -> bool {
    !n.is_empty()
        && n.len() <= max
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A callout target: `http(s)://` URI `text` (errors at `path`), with an
/// optional `:authority` override.
pub(crate) fn http_uri(
    text: &str,
    authority: Option<&str>,
    path: impl Into<String>,
) -> Result<HttpUri, ConfigError> {
    let uri = HttpUri::parse(text).map_err(|m| err(path, m))?;
    Ok(match authority {
        Some(a) => uri.with_authority(a),
        None => uri,
    })
}

/// A callout timeout: 1..=60000 ms.
pub(crate) fn timeout_ms(v: u64, path: &str) -> Result<(), ConfigError> {
    if v == 0 || v > 60_000 {
        return Err(err(path, "must be between 1 and 60000"));
    }
    Ok(())
}

/// A client identifier: non-empty, no control characters.
pub(crate) fn client_id(id: &str, path: &str) -> Result<(), ConfigError> {
    if id.is_empty() || id.chars().any(char::is_control) {
        return Err(err(path, "must be non-empty, without control characters"));
    }
    Ok(())
}

/// A route rule found at `path` (e.g. `scopes.rules[0]`).
pub(crate) fn route(
    methods: &[String],
    path_prefix: Option<&str>,
    exact: Option<&str>,
    path: &str,
) -> Result<Route, ConfigError> {
    Route::new(methods, path_prefix, exact).map_err(|RouteError { field, message }| match field {
        Some(f) => err(format!("{path}.{f}"), message),
        None => err(path, message),
    })
}

/// A JWS algorithm list at `field` (e.g. `providers[0].algorithms`): `None`
/// gives every asymmetric algorithm; names must be known, the list not
/// empty, and symmetric ones only where `allow_symmetric`.
pub(crate) fn algorithms(
    list: Option<&[String]>,
    field: &str,
    allow_symmetric: bool,
) -> Result<Vec<crate::core::jose::jws::Alg>, ConfigError> {
    use crate::core::jose::jws::Alg;
    let Some(list) = list else {
        return Ok(Alg::ALL
            .iter()
            .copied()
            .filter(|a| !a.is_symmetric())
            .collect());
    };
    if list.is_empty() {
        return Err(err(field, "must not be empty"));
    }
    let mut out = Vec::with_capacity(list.len());
    for (j, name) in list.iter().enumerate() {
        match Alg::from_name(name) {
            Some(a) if allow_symmetric || !a.is_symmetric() => out.push(a),
            _ => {
                return Err(err(
                    format!("{field}[{j}]"),
                    format!("unsupported algorithm {name:?}"),
                ))
            }
        }
    }
    Ok(out)
}
