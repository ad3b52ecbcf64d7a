//! Route rules: one method + path rule type, validated once, used by the
//! scope rules and the client role's rules alike. Requests are matched on
//! the path [`check_path`] gives, so neither can be dodged by spelling a
//! path differently; paths that could be read differently by the rules and
//! by an upstream (dot segments, encoded `/`, `;`, `\`, NUL, …) are refused
//! with 400 before any rule is matched. The check itself is
//! [`abi_wire::request_path`], shared with oauth-host, which routes on the
//! same path.

pub mod index;

use abi_wire::hex::nibble;
pub use abi_wire::request_path::{check_path, NormalPath, PathError};

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

    /// Lowercase the rule's path (ASCII), for `case_insensitive_paths`:
    /// request paths are then lowercased before matching.
    pub fn fold_case(&mut self) {
        match &mut self.path {
            PathMatch::Prefix(p) | PathMatch::Exact(p) => p.make_ascii_lowercase(),
        }
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
            if let (Some(h), Some(l)) = (nibble(b[i + 1]), nibble(b[i + 2])) {
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
