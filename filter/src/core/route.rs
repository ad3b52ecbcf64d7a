//! Route rules: one method + path rule type, validated once, used by the
//! scope rules and the client role's rules alike. Requests are matched on
//! the path [`check_path`] gives, so neither can be dodged by spelling a
//! path differently; paths that could be read differently by the rules and
//! by an upstream (dot segments, encoded `/`, `;`, `\`, NUL, …) are refused
//! with 400 before any rule is matched.

/// How a rule matches the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// Starts with (segment-unaware, like Envoy's `prefix`).
    Prefix(String),
    /// Equals (a trailing slash names the same resource).
    Exact(String),
}

/// A validated method + path rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Methods; empty: any.
    pub methods: Vec<String>,
    /// Prefix, or exact path.
    pub path: PathMatch,
}

/// Why a rule is refused: `field` is the member at fault below the rule
/// (None: the rule itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    /// E.g. `methods[1]`.
    pub field: Option<String>,
    /// What is wrong.
    pub message: &'static str,
}

impl Route {
    /// Validate a rule as configured: `methods`, and exactly one of
    /// `path_prefix` and `path`.
    pub fn new(
        methods: &[String],
        path_prefix: Option<&str>,
        path: Option<&str>,
    ) -> Result<Route, RouteError> {
        let rule = |message| RouteError {
            field: None,
            message,
        };
        let pm = match (path_prefix, path) {
            (Some(p), None) if p.starts_with('/') => PathMatch::Prefix(p.to_owned()),
            (None, Some(p)) if p.starts_with('/') => PathMatch::Exact(p.to_owned()),
            (Some(_), None) | (None, Some(_)) => return Err(rule("paths must start with /")),
            _ => return Err(rule("exactly one of path_prefix and path is required")),
        };
        for (j, m) in methods.iter().enumerate() {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(RouteError {
                    field: Some(format!("methods[{j}]")),
                    message: "must be an uppercase method name",
                });
            }
        }
        Ok(Route {
            methods: methods.to_vec(),
            path: pm,
        })
    }

    /// Whether the rule matches a request whose path was normalized with
    /// [`check_path`] (or [`normalize_path`]). Methods compare ignoring
    /// case, and a `GET` rule also matches `HEAD` (same resource, same
    /// authorization).
    pub fn matches(&self, method: &str, normalized: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| method_matches(m, method)))
            && match &self.path {
                // A trailing slash names the same resource for most upstreams.
                PathMatch::Exact(p) => normalized == p || normalized.strip_suffix('/') == Some(p),
                PathMatch::Prefix(pre) => normalized.starts_with(pre.as_str()),
            }
    }
}

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

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
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
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
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

/// The path as route rules see it: [`check_path`]'s, or, for a path it
/// refuses (the pipeline answers those with 400 before matching), the old
/// normalization: query dropped, unreserved escapes decoded, `//` merged,
/// `.` and `..` resolved (RFC 3986 §5.2.4), `%2F` kept encoded.
pub fn normalize_path(path: &str) -> String {
    match check_path(path) {
        Ok(p) => p.into_string(),
        Err(_) => resolve_dots(path),
    }
}

fn resolve_dots(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let b = path.as_bytes();
    let mut decoded = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let c = h * 16 + l;
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                    decoded.push(c);
                    i += 3;
                    continue;
                }
            }
        }
        decoded.push(b[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded);
    let mut out: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut norm = String::from("/");
    norm.push_str(&out.join("/"));
    if text.ends_with('/') && !out.is_empty() {
        norm.push('/');
    }
    norm
}

/// Whether a rule's method `rule` covers the request's `method`.
pub fn method_matches(rule: &str, method: &str) -> bool {
    rule.eq_ignore_ascii_case(method)
        || (rule.eq_ignore_ascii_case("GET") && method.eq_ignore_ascii_case("HEAD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(normalize_path("/a%2Fb/%7e/../c"), "/a%2Fb/c");
        assert_eq!(normalize_path("/../.."), "/");
        assert_eq!(normalize_path("/%zz%4"), "/%zz%4");
    }

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

    #[test]
    fn methods_ignore_case_and_get_covers_head() {
        let r = Route::new(&["GET".to_owned()], Some("/a"), None).unwrap();
        assert!(r.matches("GET", "/a") && r.matches("get", "/a") && r.matches("HEAD", "/a"));
        assert!(r.matches("head", "/a") && !r.matches("POST", "/a"));
        let h = Route::new(&["HEAD".to_owned()], Some("/a"), None).unwrap();
        assert!(h.matches("Head", "/a") && !h.matches("GET", "/a"));
    }

    #[test]
    fn one_validator() {
        let m = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(Route::new(&[], None, None).is_err());
        assert!(Route::new(&[], Some("/a"), Some("/b")).is_err());
        assert_eq!(
            Route::new(&[], Some("a"), None).unwrap_err().message,
            "paths must start with /"
        );
        assert_eq!(
            Route::new(&m(&["GET", "get"]), Some("/a"), None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("methods[1]")
        );
        let r = Route::new(&m(&["GET"]), None, Some("/admin")).unwrap();
        assert!(r.matches("GET", "/admin/") && !r.matches("POST", "/admin"));
    }
}
