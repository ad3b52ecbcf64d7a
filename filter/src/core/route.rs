//! Route rules: one method + path rule type, validated once, used by the
//! scope rules and the client role's rules alike. Requests are matched on
//! the normalized path, so neither can be dodged by spelling a path
//! differently.

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
    /// [`normalize_path`].
    pub fn matches(&self, method: &str, normalized: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
            && match &self.path {
                // A trailing slash names the same resource for most upstreams.
                PathMatch::Exact(p) => normalized == p || normalized.strip_suffix('/') == Some(p),
                PathMatch::Prefix(pre) => normalized.starts_with(pre.as_str()),
            }
    }
}

/// The path as route rules see it: query dropped, percent-encoded unreserved
/// characters decoded, `//` merged, `.` and `..` segments resolved (RFC 3986
/// §5.2.4), so `/a/../admin` or `/%61dmin` cannot dodge a rule for `/admin`.
/// Encoded `/` (`%2F`) stays encoded.
pub fn normalize_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let b = path.as_bytes();
    let mut decoded = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let c = (h * 16 + l) as u8;
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
