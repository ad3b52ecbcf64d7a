//! Computed scopes (`scopes.rules[]` with `path_template`, `when`, `add`
//! and `{var}` placeholders): the configured forms, their limits, and the
//! validated forms the resource server evaluates
//! ([`crate::core::resource::scopes`]).
//!
//! Not a scripting language: no loops, no regular expressions, no
//! recursion beyond [`MAX_DEPTH`]; every error is found here, at configure
//! time, and names the field.

use serde::Deserialize;
use serde_json::Value;

use super::super::check::{err, header_name_ok};
use super::super::ConfigError;

/// Rules in `scopes.rules`.
pub const MAX_RULES: usize = 1024;
/// Conditions in the whole `scopes` section, nested ones included.
pub const MAX_CONDITIONS: usize = 1024;
/// Conditions in one rule's `when` (top level).
pub const MAX_RULE_CONDITIONS: usize = 32;
/// Nesting of conditions: a top-level condition is depth 1; `not`, `any`
/// and `all` add one.
pub const MAX_DEPTH: usize = 4;
/// Scopes in one rule's `required` or `add`, or in `scopes.required`.
pub const MAX_SCOPES: usize = 64;
/// Placeholders in one scope.
pub const MAX_PLACEHOLDERS: usize = 8;
/// Length of a scope as written (placeholders included).
pub const MAX_SCOPE_LEN: usize = 256;
/// Segments of a `path_template`.
pub const MAX_SEGMENTS: usize = 32;
/// Length of a substituted value (bytes, after percent-decoding).
pub const MAX_VALUE_LEN: usize = 128;
/// Length of a query, header or claim name, and of a compared string.
pub const MAX_NAME_LEN: usize = 128;
/// Length of a path condition's string.
pub const MAX_PATH_LEN: usize = 1024;
/// Values in a `one_of`.
pub const MAX_ONE_OF: usize = 64;

/// A condition as configured: an object with exactly one member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum CondConfig {
    /// The checked path starts with this string.
    PathStartsWith(String),
    /// The checked path (one trailing `/` ignored) ends with this string.
    PathEndsWith(String),
    /// The checked path equals this string (one trailing `/` ignored).
    PathEquals(String),
    /// The method is one of these (a `GET` also covers `HEAD`).
    Method(Vec<String>),
    /// A query parameter (percent-decoded, `+` is a space).
    Query(ValueTestConfig),
    /// A request header (name in lowercase).
    Header(ValueTestConfig),
    /// A top-level claim of the verified token.
    Claim(ValueTestConfig),
    /// The condition does not hold.
    Not(Box<CondConfig>),
    /// At least one condition holds.
    Any(Vec<CondConfig>),
    /// Every condition holds.
    All(Vec<CondConfig>),
}

/// `{"name": …}` with exactly one of `equals`, `one_of`, `present`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueTestConfig {
    /// Parameter, header or claim name.
    pub name: String,
    /// The value (a string; for claims also a number or a boolean).
    #[serde(default)]
    pub equals: Option<Value>,
    /// Any of these strings.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// Present (`true`) or absent (`false`).
    #[serde(default)]
    pub present: Option<bool>,
}

/// Where a path test looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathTest {
    /// `path_starts_with`.
    StartsWith,
    /// `path_ends_with`.
    EndsWith,
    /// `path_equals`.
    Equals,
}

/// A validated value test.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Present (`true`) or absent (`false`).
    Present(bool),
    /// Equals one of these (strings for queries and headers).
    OneOf(Vec<Value>),
}

/// A validated condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A test on the checked (and, with `case_insensitive_paths`, folded) path.
    Path(PathTest, String),
    /// Methods.
    Method(Vec<String>),
    /// A query parameter.
    Query(String, Test),
    /// A request header (lowercase name).
    Header(String, Test),
    /// A claim.
    Claim(String, Test),
    /// Negation.
    Not(Box<Cond>),
    /// Disjunction.
    Any(Vec<Cond>),
    /// Conjunction.
    All(Vec<Cond>),
}

/// One segment of a `path_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A literal segment.
    Literal(String),
    /// `{name}`: one segment.
    Capture(String),
    /// `{name*}`: one or more segments, the rest of the path (last only).
    Rest(String),
}

/// A validated `path_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    /// The segments after the leading `/`.
    pub segments: Vec<Segment>,
}

impl PathTemplate {
    /// Names of the captures, in order.
    pub fn captures(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Capture(n) | Segment::Rest(n) => Some(n.as_str()),
                Segment::Literal(_) => None,
            })
            .collect()
    }
}

/// A placeholder's variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// `path.<name>`: a capture of the rule's `path_template`.
    Path(String),
    /// `method`.
    Method,
    /// `query.<name>`.
    Query(String),
    /// `header.<name>`.
    Header(String),
    /// `claim.<name>`: a string claim.
    Claim(String),
}

/// Part of a scope as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Literal(String),
    /// A placeholder.
    Var(Var),
}

/// A validated scope, possibly with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeTemplate {
    /// As written (the challenge names it so when it cannot be resolved).
    pub text: String,
    /// Its parts; a plain scope is one literal.
    pub parts: Vec<Part>,
}

impl ScopeTemplate {
    /// A scope without placeholders (tests, built-in rules).
    pub fn literal(s: &str) -> ScopeTemplate {
        ScopeTemplate {
            text: s.to_owned(),
            parts: vec![Part::Literal(s.to_owned())],
        }
    }
}

/// RFC 6749 §3.3 scope-token characters: `%x21 / %x23-5B / %x5D-7E`.
pub fn scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

/// A name of a query parameter or a claim: 1–[`MAX_NAME_LEN`] bytes, no
/// control characters, spaces or braces.
fn plain_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME_LEN
        && !n
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '{' || c == '}')
}

/// A header name: lowercase `[a-z0-9_-]+`, or a pseudo-header `:name`.
fn header_ok(n: &str) -> bool {
    n.len() <= MAX_NAME_LEN && header_name_ok(n.strip_prefix(':').unwrap_or(n))
}

/// Validate one scope as written (`path`: its field), with the captures
/// of the rule's `path_template` available to `{path.<name>}`.
pub fn scope(text: &str, captures: &[&str], path: &str) -> Result<ScopeTemplate, ConfigError> {
    if text.is_empty() || text.len() > MAX_SCOPE_LEN {
        return Err(err(
            path,
            format!("a scope is 1 to {MAX_SCOPE_LEN} characters"),
        ));
    }
    let mut parts = Vec::new();
    let mut rest = text;
    let mut placeholders = 0;
    while !rest.is_empty() {
        let lit_end = rest.find(['{', '}']).unwrap_or(rest.len());
        let (lit, tail) = rest.split_at(lit_end);
        if !lit.is_empty() {
            if !lit.bytes().all(scope_char) {
                return Err(err(path, "not a valid scope token"));
            }
            parts.push(Part::Literal(lit.to_owned()));
        }
        let Some(after) = tail.strip_prefix('{') else {
            if tail.is_empty() {
                break;
            }
            return Err(err(path, "'}' without '{'"));
        };
        let Some(close) = after.find('}') else {
            return Err(err(path, "'{' without '}'"));
        };
        let name = &after[..close];
        if name.contains('{') {
            return Err(err(path, "placeholders do not nest"));
        }
        placeholders += 1;
        if placeholders > MAX_PLACEHOLDERS {
            return Err(err(
                path,
                format!("at most {MAX_PLACEHOLDERS} placeholders in a scope"),
            ));
        }
        parts.push(Part::Var(var(name, captures, path)?));
        rest = &after[close + 1..];
    }
    Ok(ScopeTemplate {
        text: text.to_owned(),
        parts,
    })
}

fn var(name: &str, captures: &[&str], path: &str) -> Result<Var, ConfigError> {
    if name == "method" {
        return Ok(Var::Method);
    }
    let bad = |m: String| Err(err(path, m));
    match name.split_once('.') {
        Some(("path", n)) if captures.contains(&n) => Ok(Var::Path(n.to_owned())),
        Some(("path", n)) => bad(format!(
            "{{path.{n}}}: the rule's path_template has no capture {n:?}"
        )),
        Some(("query", n)) if plain_name(n) => Ok(Var::Query(n.to_owned())),
        Some(("header", n)) if header_ok(n) => Ok(Var::Header(n.to_owned())),
        Some(("header", n)) => bad(format!(
            "{{header.{n}}}: header names are lowercase [a-z0-9_-]+"
        )),
        Some(("claim", n)) if plain_name(n) => Ok(Var::Claim(n.to_owned())),
        Some(("query" | "claim", _)) => bad(format!(
            "{{{name}}}: names are 1 to {MAX_NAME_LEN} characters, without spaces or control characters"
        )),
        _ if captures.contains(&name) => bad(format!(
            "unknown variable {name:?} (path captures are written {{path.{name}}})"
        )),
        _ => bad(format!(
            "unknown variable {name:?}: one of path.<capture>, method, query.<name>, \
             header.<name>, claim.<name>"
        )),
    }
}

/// Validate a `path_template` (`fold`: `case_insensitive_paths`).
pub fn path_template(text: &str, fold: bool, path: &str) -> Result<PathTemplate, ConfigError> {
    let Some(body) = text.strip_prefix('/') else {
        return Err(err(path, "must start with /"));
    };
    let body = body.strip_suffix('/').unwrap_or(body);
    let raw: Vec<&str> = if body.is_empty() {
        Vec::new()
    } else {
        body.split('/').collect()
    };
    if raw.len() > MAX_SEGMENTS {
        return Err(err(path, format!("at most {MAX_SEGMENTS} segments")));
    }
    let mut segments = Vec::with_capacity(raw.len());
    let mut names: Vec<&str> = Vec::new();
    for (k, seg) in raw.iter().enumerate() {
        if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let (name, rest) = match inner.strip_suffix('*') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            let name_ok = !name.is_empty()
                && name.len() <= 32
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !name_ok {
                return Err(err(
                    path,
                    format!("capture {seg:?}: names are 1 to 32 of [A-Za-z0-9_]"),
                ));
            }
            if names.contains(&name) {
                return Err(err(path, format!("capture {name:?} appears twice")));
            }
            if rest && k + 1 != raw.len() {
                return Err(err(path, format!("{seg:?} must be the last segment")));
            }
            names.push(name);
            segments.push(if rest {
                Segment::Rest(name.to_owned())
            } else {
                Segment::Capture(name.to_owned())
            });
            continue;
        }
        if seg.is_empty() || *seg == "." || *seg == ".." {
            return Err(err(path, "empty, '.' and '..' segments never match"));
        }
        if seg.contains(['{', '}']) {
            return Err(err(
                path,
                format!("segment {seg:?}: a capture is a whole segment, {{name}} or {{name*}}"),
            ));
        }
        if seg
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#' | ';' | '\\'))
        {
            return Err(err(
                path,
                format!("segment {seg:?}: no spaces, control characters, '?', '#', ';' or '\\'"),
            ));
        }
        let mut s = (*seg).to_owned();
        if fold {
            s.make_ascii_lowercase();
        }
        segments.push(Segment::Literal(s));
    }
    Ok(PathTemplate { segments })
}

/// Validate one condition at `path`; `depth` starts at 1, `budget` counts
/// down the conditions left for the whole section.
pub fn cond(
    c: &CondConfig,
    depth: usize,
    fold: bool,
    budget: &mut usize,
    path: &str,
) -> Result<Cond, ConfigError> {
    if depth > MAX_DEPTH {
        return Err(err(
            path,
            format!("conditions nest at most {MAX_DEPTH} deep"),
        ));
    }
    if *budget == 0 {
        return Err(err(
            path,
            format!("at most {MAX_CONDITIONS} conditions in scopes"),
        ));
    }
    *budget -= 1;
    let path_str = |s: &str, sub: &str, absolute: bool| -> Result<String, ConfigError> {
        let p = format!("{path}.{sub}");
        if s.is_empty() || s.len() > MAX_PATH_LEN {
            return Err(err(p, format!("1 to {MAX_PATH_LEN} characters")));
        }
        if absolute && !s.starts_with('/') {
            return Err(err(p, "must start with /"));
        }
        if s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '?' | '#'))
        {
            return Err(err(p, "no spaces, control characters, '?' or '#'"));
        }
        Ok(if fold {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        })
    };
    let list = |cs: &[CondConfig], sub: &str, budget: &mut usize| {
        if cs.is_empty() {
            return Err(err(format!("{path}.{sub}"), "must not be empty"));
        }
        cs.iter()
            .enumerate()
            .map(|(i, c)| cond(c, depth + 1, fold, budget, &format!("{path}.{sub}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match c {
        CondConfig::PathStartsWith(s) => {
            Cond::Path(PathTest::StartsWith, path_str(s, "path_starts_with", true)?)
        }
        CondConfig::PathEndsWith(s) => {
            Cond::Path(PathTest::EndsWith, path_str(s, "path_ends_with", false)?)
        }
        CondConfig::PathEquals(s) => {
            Cond::Path(PathTest::Equals, path_str(s, "path_equals", true)?)
        }
        CondConfig::Method(ms) => {
            if ms.is_empty() {
                return Err(err(format!("{path}.method"), "must not be empty"));
            }
            for (j, m) in ms.iter().enumerate() {
                if m.is_empty() || m.len() > 32 || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(err(
                        format!("{path}.method[{j}]"),
                        "must be an uppercase method name",
                    ));
                }
            }
            Cond::Method(ms.clone())
        }
        CondConfig::Query(t) => {
            let p = format!("{path}.query");
            if !plain_name(&t.name) {
                return Err(err(
                    format!("{p}.name"),
                    format!(
                        "1 to {MAX_NAME_LEN} characters, no spaces, control characters or braces"
                    ),
                ));
            }
            Cond::Query(t.name.clone(), test(t, false, &p)?)
        }
        CondConfig::Header(t) => {
            let p = format!("{path}.header");
            if !header_ok(&t.name) {
                return Err(err(
                    format!("{p}.name"),
                    "must be a lowercase header name ([a-z0-9_-]+, or :pseudo)",
                ));
            }
            Cond::Header(t.name.clone(), test(t, false, &p)?)
        }
        CondConfig::Claim(t) => {
            let p = format!("{path}.claim");
            if !plain_name(&t.name) {
                return Err(err(
                    format!("{p}.name"),
                    format!(
                        "1 to {MAX_NAME_LEN} characters, no spaces, control characters or braces"
                    ),
                ));
            }
            Cond::Claim(t.name.clone(), test(t, true, &p)?)
        }
        CondConfig::Not(inner) => Cond::Not(Box::new(cond(
            inner,
            depth + 1,
            fold,
            budget,
            &format!("{path}.not"),
        )?)),
        CondConfig::Any(cs) => Cond::Any(list(cs, "any", budget)?),
        CondConfig::All(cs) => Cond::All(list(cs, "all", budget)?),
    })
}

fn test(t: &ValueTestConfig, claim: bool, path: &str) -> Result<Test, ConfigError> {
    let string_ok = |s: &str| s.len() <= MAX_NAME_LEN && !s.chars().any(char::is_control);
    match (&t.equals, &t.one_of, t.present) {
        (Some(v), None, None) => {
            let ok = match v {
                Value::String(s) => string_ok(s),
                Value::Number(_) | Value::Bool(_) => claim,
                _ => false,
            };
            if !ok {
                return Err(err(
                    format!("{path}.equals"),
                    if claim {
                        "must be a string (at most 128 characters, no control characters), a number or a boolean"
                    } else {
                        "must be a string of at most 128 characters, without control characters"
                    },
                ));
            }
            Ok(Test::OneOf(vec![v.clone()]))
        }
        (None, Some(list), None) => {
            if list.is_empty() || list.len() > MAX_ONE_OF {
                return Err(err(
                    format!("{path}.one_of"),
                    format!("1 to {MAX_ONE_OF} strings"),
                ));
            }
            for (i, s) in list.iter().enumerate() {
                if !string_ok(s) {
                    return Err(err(
                        format!("{path}.one_of[{i}]"),
                        "at most 128 characters, no control characters",
                    ));
                }
            }
            Ok(Test::OneOf(
                list.iter().map(|s| Value::String(s.clone())).collect(),
            ))
        }
        (None, None, Some(p)) => Ok(Test::Present(p)),
        _ => Err(err(path, "exactly one of equals, one_of and present")),
    }
}
