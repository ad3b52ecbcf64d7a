//! Scope requirements: global plus the first matching route rule.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::config::ScopeConfig;

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

/// Whether a route rule (methods, empty for any; an exact `path` or a
/// `path_prefix`) matches a request whose path was normalized with
/// [`normalize_path`]. Scope rules and the client role's rules both use it,
/// so neither can be dodged by spelling a path differently.
pub fn rule_matches(
    methods: &[String],
    exact: Option<&str>,
    prefix: Option<&str>,
    method: &str,
    normalized: &str,
) -> bool {
    (methods.is_empty() || methods.iter().any(|m| m == method))
        && match (exact, prefix) {
            // A trailing slash names the same resource for most upstreams.
            (Some(p), _) => normalized == p || normalized.strip_suffix('/') == Some(p),
            (None, Some(pre)) => normalized.starts_with(pre),
            (None, None) => false,
        }
}

/// Scopes the request needs, in configuration order, without duplicates.
pub fn required(cfg: &ScopeConfig, method: &str, path: &str) -> Vec<String> {
    let normalized = normalize_path(path);
    let path = normalized.as_str();
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &String| {
        if !out.contains(s) {
            out.push(s.clone());
        }
    };
    cfg.required.iter().for_each(&mut push);
    let rule = cfg.rules.iter().find(|r| {
        rule_matches(
            &r.methods,
            r.path.as_deref(),
            r.path_prefix.as_deref(),
            method,
            path,
        )
    });
    if let Some(r) = rule {
        r.required.iter().for_each(&mut push);
    }
    out
}

/// The token's scopes: `scope` and `scp`, each a space-separated string or
/// an array of strings.
pub fn granted(claims: &Map<String, Value>) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => out.extend(s.split(' ').filter(|x| !x.is_empty())),
            Some(Value::Array(a)) => out.extend(a.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    out
}

/// Whether every required scope is granted.
pub fn satisfied(required: &[String], claims: &Map<String, Value>) -> bool {
    if required.is_empty() {
        return true;
    }
    let g = granted(claims);
    required.iter().all(|r| g.contains(r.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::ScopeRule;
    use serde_json::json;

    fn cfg() -> ScopeConfig {
        ScopeConfig {
            required: vec!["api".into()],
            rules: vec![
                ScopeRule {
                    methods: vec!["POST".into()],
                    path_prefix: Some("/orders".into()),
                    path: None,
                    required: vec!["orders:write".into()],
                },
                ScopeRule {
                    methods: vec![],
                    path_prefix: None,
                    path: Some("/admin".into()),
                    required: vec!["admin".into(), "api".into()],
                },
            ],
        }
    }

    #[test]
    fn rules_match_method_and_path() {
        let c = cfg();
        assert_eq!(required(&c, "POST", "/orders/1?x"), ["api", "orders:write"]);
        assert_eq!(required(&c, "GET", "/orders/1"), ["api"]);
        assert_eq!(required(&c, "GET", "/admin?q"), ["api", "admin"]);
        assert_eq!(required(&c, "GET", "/admin/x"), ["api"]);
    }

    #[test]
    fn rules_cannot_be_dodged_by_path_tricks() {
        let c = cfg();
        for p in [
            "/admin",
            "//admin",
            "/x/../admin",
            "/./admin",
            "/%61dmin",
            "/%61%64min?q",
            "/admin/",
        ] {
            assert_eq!(required(&c, "GET", p), ["api", "admin"], "{p}");
        }
        assert_eq!(normalize_path("/a%2Fb/%7e/../c"), "/a%2Fb/c");
        assert_eq!(normalize_path("/../.."), "/");
        assert_eq!(normalize_path("/%zz%4"), "/%zz%4");
    }

    #[test]
    fn scope_and_scp_forms() {
        let c = json!({"scope": "a  b", "scp": ["c", 1]});
        let g = granted(c.as_object().unwrap());
        assert_eq!(g.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        let c = json!({"scp": "x y"});
        assert!(satisfied(&["y".into()], c.as_object().unwrap()));
        assert!(!satisfied(&["z".into()], c.as_object().unwrap()));
    }
}
