//! The one request-path policy of the filter and oauth-host: a raw `:path`
//! is either refused (it could be read differently by route rules and by an
//! upstream, or by two upstreams) or given one normal form that the filter's
//! rules, oauth-host's routes and the upstream all see. Envoy gets the same
//! from its HTTP connection manager (`normalize_path`, `merge_slashes`,
//! `path_with_escaped_slashes_action: REJECT_REQUEST`); see
//! `docs/filter-config.md`, "Request paths".

use crate::hex::nibble;

/// A request path as route rules see it (from [`check_path`]): the query
/// dropped, percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// decoded, other escapes kept with uppercase hex digits, `//` merged into
/// `/`; a trailing `/` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath(String);

impl NormalPath {
    /// The normalized path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalized path, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Why a request path is refused (400 `invalid_request`): it could be read
/// differently by the rules here and by the upstream, or by two upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Empty, or not starting with `/` (absolute-form, `*`).
    NotOriginForm,
    /// A `#` (a request target has no fragment).
    Fragment,
    /// A NUL, another control byte, a space or DEL, raw or percent-encoded.
    ControlByte,
    /// A raw `\`.
    Backslash,
    /// `%2F` or `%5C` (any case): an encoded `/` or `\`.
    EncodedSeparator,
    /// A `;` (path parameters: `/x/..;/admin`, `;jsessionid=`).
    PathParameter,
    /// A `.` or `..` segment, raw or percent-encoded (`%2e`, `.%2E`, …).
    DotSegment,
    /// A `%` not followed by two hex digits.
    BadEscape,
}

impl PathError {
    /// For the `error_description` and log lines.
    pub fn describe(self) -> &'static str {
        match self {
            PathError::NotOriginForm => "the request path must start with /",
            PathError::Fragment => "the request path has a fragment (#)",
            PathError::ControlByte => "the request path has a control character or a space",
            PathError::Backslash => "the request path has a backslash",
            PathError::EncodedSeparator => "the request path has an encoded / or \\",
            PathError::PathParameter => "the request path has a ; (path parameter)",
            PathError::DotSegment => "the request path has a . or .. segment",
            PathError::BadEscape => "the request path has a malformed percent escape",
        }
    }
}

/// Checks a raw request path (`:path`) and gives the one path every route
/// rule matches against; see `docs/filter-config.md` ("Request paths").
///
/// Refused, so that the path the rules see is the path the upstream sees:
/// anything not starting with `/`; a `#`; control bytes, DEL and spaces,
/// raw or percent-encoded (`%00`, `%0A`, …); a raw `\`; `%2F` and `%5C`
/// in any case; a `;` anywhere in the path; `.` and `..` segments, raw or
/// with their dots percent-encoded (`/%2e%2E/`); a `%` without two hex
/// digits. The query (after the first `?`) is not looked at.
pub fn check_path(raw: &str) -> Result<NormalPath, PathError> {
    let path = raw.split('?').next().unwrap_or(raw);
    let b = path.as_bytes();
    if b.first() != Some(&b'/') {
        return Err(PathError::NotOriginForm);
    }
    // Decode unreserved escapes, refuse the ambiguous ones, then split.
    let mut decoded: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'%' => {
                let (Some(h), Some(l)) = (
                    b.get(i + 1).copied().and_then(nibble),
                    b.get(i + 2).copied().and_then(nibble),
                ) else {
                    return Err(PathError::BadEscape);
                };
                let v = h * 16 + l;
                match v {
                    b'/' | b'\\' => return Err(PathError::EncodedSeparator),
                    0..=0x20 | 0x7f => return Err(PathError::ControlByte),
                    _ if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') => {
                        decoded.push(v)
                    }
                    _ => {
                        decoded.push(b'%');
                        decoded.push(b[i + 1].to_ascii_uppercase());
                        decoded.push(b[i + 2].to_ascii_uppercase());
                    }
                }
                i += 3;
                continue;
            }
            0..=0x20 | 0x7f => return Err(PathError::ControlByte),
            b'\\' => return Err(PathError::Backslash),
            b';' => return Err(PathError::PathParameter),
            b'#' => return Err(PathError::Fragment),
            _ => decoded.push(c),
        }
        i += 1;
    }
    // Only ASCII bytes were decoded; the rest is the input's UTF-8.
    let text = String::from_utf8_lossy(&decoded);
    let mut norm = String::with_capacity(text.len());
    for seg in text.split('/') {
        match seg {
            "" => {}
            "." | ".." => return Err(PathError::DotSegment),
            s => {
                norm.push('/');
                norm.push_str(s);
            }
        }
    }
    if norm.is_empty() || text.ends_with('/') {
        norm.push('/');
    }
    Ok(NormalPath(norm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_path_refuses_ambiguous_paths() {
        use PathError::*;
        for (raw, e) in [
            ("/admin/../public", DotSegment),
            ("/admin/./x", DotSegment),
            ("/admin/..", DotSegment),
            ("/..", DotSegment),
            ("/admin/%2e%2e/public", DotSegment),
            ("/admin/%2E%2e/public", DotSegment),
            ("/admin/.%2E/public", DotSegment),
            ("/admin/%2e/public", DotSegment),
            ("/admin%2Fusers", EncodedSeparator),
            ("/admin%2fusers", EncodedSeparator),
            ("/admin%5Cusers", EncodedSeparator),
            ("/admin%5cusers", EncodedSeparator),
            ("/x/..;/admin", PathParameter),
            ("/admin;jsessionid=1", PathParameter),
            ("/x;/admin", PathParameter),
            ("/admin\\users", Backslash),
            ("/admin\0", ControlByte),
            ("/admin%00", ControlByte),
            ("/admin%0a", ControlByte),
            ("/admin%20x", ControlByte),
            ("/admin x", ControlByte),
            ("/admin\x7f", ControlByte),
            ("/admin\t", ControlByte),
            ("/admin%zz", BadEscape),
            ("/admin%4", BadEscape),
            ("/admin%", BadEscape),
            ("/admin#x", Fragment),
            ("", NotOriginForm),
            ("admin", NotOriginForm),
            ("*", NotOriginForm),
            ("http://h/admin", NotOriginForm),
            ("?/admin", NotOriginForm),
        ] {
            assert_eq!(check_path(raw), Err(e), "{raw:?}");
        }
    }

    #[test]
    fn check_path_normal_forms() {
        for (raw, norm) in [
            ("/", "/"),
            ("/admin", "/admin"),
            ("/admin/", "/admin/"),
            ("//admin//users", "/admin/users"),
            ("/%61dmin/%7e/%7E", "/admin/~/~"),
            ("/a%3fb%3Bc", "/a%3Fb%3Bc"),
            ("/admin?x=/../y;z\\", "/admin"),
            ("/admin/...", "/admin/..."),
            ("/admin/.well-known", "/admin/.well-known"),
            ("/caf\u{e9}", "/caf\u{e9}"),
            ("/a%C3%A9", "/a%C3%A9"),
        ] {
            assert_eq!(
                check_path(raw).map(|p| p.into_string()),
                Ok(norm.to_owned()),
                "{raw:?}"
            );
        }
    }
}
