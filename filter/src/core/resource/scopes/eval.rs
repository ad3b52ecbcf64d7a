//! Evaluation of the validated scope rules against one request: bounded by
//! the configuration's limits (rules × conditions × the request's size),
//! no recursion beyond the conditions' nesting limit.

use std::cell::OnceCell;

use serde_json::Value;

use super::{Required, ScopeInput};
use crate::core::config::sections::scope_expr::{
    scope_char, Cond, Part, PathTemplate, PathTest, ScopeTemplate, Segment, Test, Var,
    MAX_VALUE_LEN,
};
use crate::core::config::sections::RuleKind;
use crate::core::config::Scopes;
use crate::core::route::method_matches;
use crate::core::util::form::{parse_query, percent_decode as decode};

/// Captures of a `path_template`: name → decoded value (`None`: the
/// segment does not decode to text without `/`).
type Captures<'t> = [(&'t str, Option<String>)];

struct Cx<'a> {
    input: &'a ScopeInput<'a>,
    /// The decoded query, read once when a rule asks (`None`: undecodable).
    query: OnceCell<Option<Vec<(String, String)>>>,
}

impl Cx<'_> {
    fn query(&self) -> Option<&[(String, String)]> {
        self.query
            .get_or_init(|| parse_query(self.input.raw_path))
            .as_deref()
    }
}

/// The scopes the request needs: `scopes.required`, then the rules in
/// order (the first matching `required` rule, every matching `add` rule).
pub fn evaluate(cfg: &Scopes, input: &ScopeInput<'_>) -> Required {
    let cx = Cx {
        input,
        query: OnceCell::new(),
    };
    let mut out = Required::default();
    for t in cfg.required() {
        push(&mut out, t, &cx, &[]);
    }
    let mut required_rule_matched = false;
    // Only the rules that can match the path (configuration order kept).
    for rule in cfg.candidates(input.path) {
        if rule.kind == RuleKind::Required && required_rule_matched {
            continue;
        }
        if !rule.route.matches(input.method, input.path) {
            continue;
        }
        let captures = match &rule.template {
            Some(t) => match match_template(t, input.path) {
                Some(c) => c,
                None => continue,
            },
            None => Vec::new(),
        };
        match all(&rule.when, &cx) {
            Some(false) => continue,
            Some(true) => {
                for t in &rule.scopes {
                    push(&mut out, t, &cx, &captures);
                }
            }
            None => {
                // Undecidable: refuse, naming the rule's scopes as written.
                out.unresolved = true;
                for t in &rule.scopes {
                    out.push(t.text.clone());
                }
            }
        }
        if rule.kind == RuleKind::Required {
            required_rule_matched = true;
        }
    }
    out
}

fn push(out: &mut Required, t: &ScopeTemplate, cx: &Cx<'_>, captures: &Captures<'_>) {
    match resolve(t, cx, captures) {
        Some(s) => out.push(s),
        None => {
            out.unresolved = true;
            out.push(t.text.clone());
        }
    }
}

fn resolve(t: &ScopeTemplate, cx: &Cx<'_>, captures: &Captures<'_>) -> Option<String> {
    let mut s = String::new();
    for part in &t.parts {
        match part {
            Part::Literal(l) => s.push_str(l),
            Part::Var(v) => {
                let value = variable(v, cx, captures)?;
                if value.is_empty() || value.len() > MAX_VALUE_LEN || !value.bytes().all(scope_char)
                {
                    return None;
                }
                s.push_str(&value);
            }
        }
    }
    Some(s)
}

fn variable(v: &Var, cx: &Cx<'_>, captures: &Captures<'_>) -> Option<String> {
    let input = cx.input;
    match v {
        Var::Path(n) => captures
            .iter()
            .find(|(k, _)| k == n)
            .and_then(|(_, v)| v.clone()),
        Var::Method => Some(input.method.to_owned()),
        Var::Query(n) => one(query_values(cx.query()?, n)).map(str::to_owned),
        Var::Header(n) => one(header_values(input.headers, n)).map(str::to_owned),
        Var::Claim(n) => input.claims.get(n)?.as_str().map(str::to_owned),
    }
}

/// The one distinct value (`None`: absent, or different values).
fn one(values: Vec<&str>) -> Option<&str> {
    let first = *values.first()?;
    values.iter().all(|v| *v == first).then_some(first)
}

fn query_values<'q>(q: &'q [(String, String)], name: &str) -> Vec<&'q str> {
    q.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn header_values<'h>(h: &'h [(String, String)], name: &str) -> Vec<&'h str> {
    h.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Kleene conjunction: false if any is false, else unknown if any is.
fn all(cs: &[Cond], cx: &Cx<'_>) -> Option<bool> {
    let mut unknown = false;
    for c in cs {
        match holds(c, cx) {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    (!unknown).then_some(true)
}

/// Whether `c` holds (`None`: undecidable).
fn holds(c: &Cond, cx: &Cx<'_>) -> Option<bool> {
    let input = cx.input;
    match c {
        Cond::Path(t, s) => Some(path_test(*t, s, input.path)),
        Cond::Method(ms) => Some(ms.iter().any(|m| method_matches(m, input.method))),
        Cond::Query(n, t) => value_test(query_values(cx.query()?, n), t),
        Cond::Header(n, t) => value_test(header_values(input.headers, n), t),
        Cond::Claim(n, t) => Some(claim_test(input.claims.get(n), t)),
        Cond::Not(inner) => holds(inner, cx).map(|b| !b),
        Cond::Any(cs) => {
            let mut unknown = false;
            for c in cs {
                match holds(c, cx) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            (!unknown).then_some(false)
        }
        Cond::All(cs) => all(cs, cx),
    }
}

fn path_test(t: PathTest, s: &str, path: &str) -> bool {
    let trimmed = path.strip_suffix('/').filter(|p| !p.is_empty());
    match t {
        PathTest::StartsWith => path.starts_with(s),
        PathTest::EndsWith => path.ends_with(s) || trimmed.is_some_and(|p| p.ends_with(s)),
        PathTest::Equals => path == s || trimmed == Some(s),
    }
}

fn value_test(values: Vec<&str>, t: &Test) -> Option<bool> {
    match t {
        Test::Present(p) => Some(values.is_empty() != *p),
        Test::OneOf(list) => {
            if values.is_empty() {
                return Some(false);
            }
            let v = one(values)?;
            Some(list.iter().any(|x| x.as_str() == Some(v)))
        }
    }
}

fn claim_test(v: Option<&Value>, t: &Test) -> bool {
    let v = v.filter(|v| !v.is_null());
    match t {
        Test::Present(p) => v.is_some() == *p,
        Test::OneOf(list) => match v {
            None => false,
            Some(Value::Array(a)) => a.iter().any(|e| list.contains(e)),
            Some(v) => list.contains(v),
        },
    }
}

/// Match a template against the checked path; one trailing `/` is
/// ignored, as with `path`.
fn match_template<'t>(t: &'t PathTemplate, path: &str) -> Option<Vec<(&'t str, Option<String>)>> {
    let body = path.strip_prefix('/')?;
    let body = body.strip_suffix('/').unwrap_or(body);
    let segs: Vec<&str> = if body.is_empty() {
        Vec::new()
    } else {
        body.split('/').collect()
    };
    let mut caps = Vec::new();
    for (k, seg) in t.segments.iter().enumerate() {
        match seg {
            Segment::Literal(l) => {
                if segs.get(k)? != l {
                    return None;
                }
            }
            Segment::Capture(n) => {
                let s = segs.get(k).filter(|s| !s.is_empty())?;
                caps.push((n.as_str(), decode_segment(s)));
            }
            Segment::Rest(n) => {
                let rest = segs.get(k..).filter(|r| !r.is_empty())?;
                if rest.iter().any(|s| s.is_empty()) {
                    return None;
                }
                let decoded: Option<Vec<String>> = rest.iter().map(|s| decode_segment(s)).collect();
                caps.push((n.as_str(), decoded.map(|d| d.join("/"))));
                return Some(caps);
            }
        }
    }
    (segs.len() == t.segments.len()).then_some(caps)
}

/// A path segment percent-decoded; `None` when it is not UTF-8 or holds a
/// `/`.
fn decode_segment(s: &str) -> Option<String> {
    decode(s, false).filter(|d| !d.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(decode("a%2Fb+c", true).as_deref(), Some("a/b c"));
        assert_eq!(decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(decode("%zz", false), None);
        assert_eq!(decode("%4", false), None);
        assert_eq!(decode("%ff", false), None);
        assert_eq!(decode_segment("a%2Fb"), None);
        assert_eq!(
            parse_query("/p?a=1&b&&c=%C3%A9#x"),
            Some(vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "é".into())
            ])
        );
        assert_eq!(parse_query("/p?a=%G1"), None);
        assert_eq!(parse_query("/p"), Some(vec![]));
    }
}
