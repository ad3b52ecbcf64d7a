//! Header lists (what plugins see and edit) to and from `http` types.

use crate::abi::headers::HeaderList;

/// The regular headers of `list` (pseudo-headers dropped); headers a filter
/// set with an invalid name or value are dropped with a warning.
pub(super) fn to_header_map(list: &HeaderList) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in &list.0 {
        if k.starts_with(b":") {
            continue;
        }
        match (
            http::HeaderName::from_bytes(k),
            http::HeaderValue::from_bytes(v),
        ) {
            (Ok(k), Ok(v)) => {
                map.append(k, v);
            }
            _ => {
                tracing::warn!(name = %String::from_utf8_lossy(k), "dropping invalid header set by a filter")
            }
        }
    }
    map
}

/// Every value is UTF-8 (the SDK's string accessors panic otherwise).
pub(super) fn all_utf8(headers: &http::HeaderMap) -> bool {
    headers
        .values()
        .all(|v| std::str::from_utf8(v.as_bytes()).is_ok())
}

/// The `request.protocol` name of `v`.
pub(super) fn version_name(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}
