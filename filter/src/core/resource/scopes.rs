//! Scope requirements: global plus the first matching route rule; the
//! scopes a token grants.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::core::config::Scopes;
use crate::core::route::normalize_path;

/// Scopes the request needs, in configuration order, without duplicates
/// (`path` raw: normalised here).
pub fn required(cfg: &Scopes, method: &str, path: &str) -> Vec<String> {
    required_normalized(cfg, method, &normalize_path(path))
}

/// [`required`] with the path already normalised
/// ([`crate::core::route::check_path`]).
pub fn required_normalized(cfg: &Scopes, method: &str, path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &String| {
        if !out.contains(s) {
            out.push(s.clone());
        }
    };
    cfg.required.iter().for_each(&mut push);
    if let Some(r) = cfg.rules.iter().find(|r| r.route.matches(method, path)) {
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
    use crate::core::config::{ScopeRoute, Scopes};
    use crate::core::route::Route;
    use serde_json::json;

    fn cfg() -> Scopes {
        Scopes {
            required: vec!["api".into()],
            rules: vec![
                ScopeRoute {
                    route: Route::new(&["POST".into()], Some("/orders"), None).unwrap(),
                    required: vec!["orders:write".into()],
                },
                ScopeRoute {
                    route: Route::new(&[], None, Some("/admin")).unwrap(),
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
