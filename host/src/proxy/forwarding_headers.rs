//! Header handling a proxy owes to both sides: hop-by-hop headers removed,
//! `x-forwarded-for`/`x-forwarded-proto` set, `x-request-id` generated when
//! absent, `host` made explicit. Pure functions over [`http::HeaderMap`].

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `x-request-id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `x-forwarded-for`.
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `x-forwarded-proto`.
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Headers that describe one connection, not the message (RFC 9110 7.6.1).
/// `trailer` is not one (RFC 9110 6.6.2): it declares the message's
/// trailer fields, and hyper sends over HTTP/1.1 only the trailers it
/// declares, so removing it would drop every request trailer.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Removes the hop-by-hop headers and every header the `connection` header
/// names. `te: trailers` is kept: it is end-to-end in HTTP/2 and gRPC needs it.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    let te_trailers = headers
        .get(header::TE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if te_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Appends the client address to `x-forwarded-for` and sets
/// `x-forwarded-proto` to the scheme the client used.
pub fn set_forwarded(headers: &mut HeaderMap, client: IpAddr, tls: bool) {
    let client = client.to_string();
    let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing}, {client}"),
        _ => client,
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.remove(&X_FORWARDED_FOR);
        headers.insert(X_FORWARDED_FOR.clone(), value);
    }
    let proto = if tls { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
}

/// Sets `x-request-id` to a fresh UUID v4 unless the request has a
/// non-empty one. Returns the id in use.
pub fn ensure_request_id(headers: &mut HeaderMap) -> String {
    if let Some(id) = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
        if !id.is_empty() {
            return id.to_string();
        }
    }
    let id = uuid_v4(random_16());
    // proof: a UUID is ASCII hex and dashes, always a valid header value
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("unknown"));
    headers.insert(X_REQUEST_ID.clone(), value);
    id
}

fn random_16() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut bytes).is_err() {
        // The OS RNG failing is not expected; a time-based id keeps requests
        // apart in logs, it is not used for security.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    bytes
}

/// Formats 16 random bytes as a version 4, variant 1 UUID.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = abi_wire::hex::lower(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Makes the `host` header explicit (HTTP/2 requests carry the authority
/// in the URI only). Returns the host the request is for.
pub fn ensure_host(headers: &mut HeaderMap, uri: &http::Uri) -> String {
    if let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        return host.to_string();
    }
    match uri.authority() {
        Some(authority) => {
            if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
                headers.insert(header::HOST, value);
            }
            authority.as_str().to_string()
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut headers = map(&[
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("te", "trailers"),
            ("x-kept", "yes"),
        ]);
        remove_hop_by_hop(&mut headers);
        let names: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["x-kept", "te"]);
        let mut headers = map(&[("te", "gzip")]);
        remove_hop_by_hop(&mut headers);
        assert!(headers.is_empty());
    }

    #[test]
    fn forwarded_headers() {
        let mut headers = map(&[("x-forwarded-proto", "https")]);
        set_forwarded(&mut headers, "10.0.0.1".parse().unwrap(), false);
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        let mut headers = map(&[("x-forwarded-for", "1.1.1.1")]);
        set_forwarded(&mut headers, "::1".parse().unwrap(), true);
        assert_eq!(headers["x-forwarded-for"], "1.1.1.1, ::1");
        assert_eq!(headers["x-forwarded-proto"], "https");
    }

    #[test]
    fn request_ids() {
        let mut headers = map(&[("x-request-id", "abc")]);
        assert_eq!(ensure_request_id(&mut headers), "abc");
        let mut headers = HeaderMap::new();
        let a = ensure_request_id(&mut headers);
        assert_eq!(headers["x-request-id"], a.as_str());
        let b = ensure_request_id(&mut HeaderMap::new());
        assert_ne!(a, b);
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn host_from_authority() {
        let mut headers = HeaderMap::new();
        let uri: http::Uri = "https://api.example:8443/x".parse().unwrap();
        assert_eq!(ensure_host(&mut headers, &uri), "api.example:8443");
        assert_eq!(headers["host"], "api.example:8443");
        let mut headers = map(&[("host", "h")]);
        assert_eq!(ensure_host(&mut headers, &uri), "h");
    }
}
