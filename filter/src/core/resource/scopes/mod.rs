//! Scope requirements: the global ones, the first matching `required`
//! rule, every matching `add` rule, with placeholders filled from the
//! request and the verified claims ([`evaluate`]); the scopes a token
//! grants ([`granted_by`], per provider's `scope_claims`).
//!
//! Computed scopes fail closed: a placeholder that cannot be filled (the
//! variable is absent, repeated with different values, or its value is not
//! a valid scope fragment) or a condition that cannot be decided (a
//! compared header or query parameter repeated with different values, a
//! query that does not decode) marks the requirement [`Required::unresolved`],
//! and the request is refused (403 `insufficient_scope`, the challenge
//! naming the scope as written, e.g. `accounts:{path.id}:read`).

mod eval;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::core::config::provider::{ScopeClaim, ScopeFormat};
use crate::core::config::Scopes;
use crate::core::route::normalize_path;

pub use eval::evaluate;

/// What [`evaluate`] reads of a request.
#[derive(Debug, Clone, Copy)]
pub struct ScopeInput<'a> {
    /// `:method`.
    pub method: &'a str,
    /// The checked, normalised path ([`crate::core::route::check_path`]),
    /// lowercased with `case_insensitive_paths`.
    pub path: &'a str,
    /// `:path` as sent (its query is read by `query.*`).
    pub raw_path: &'a str,
    /// The request headers.
    pub headers: &'a [(String, String)],
    /// The verified token's claims.
    pub claims: &'a Map<String, Value>,
}

/// The scopes a request needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Required {
    /// In configuration order, without duplicates; a scope that could not
    /// be computed appears as written.
    pub scopes: Vec<String>,
    /// Some scope or condition could not be computed: refuse.
    pub unresolved: bool,
}

impl Required {
    fn push(&mut self, s: String) {
        if !self.scopes.contains(&s) {
            self.scopes.push(s);
        }
    }

    /// Whether a token with `claims`, read with the provider's
    /// `scope_claims`, has every scope (never when unresolved).
    pub fn satisfied_by(&self, scope_claims: &[ScopeClaim], claims: &Map<String, Value>) -> bool {
        if self.unresolved {
            return false;
        }
        if self.scopes.is_empty() {
            return true;
        }
        let g = granted_by(scope_claims, claims);
        self.scopes.iter().all(|r| g.contains(r.as_str()))
    }
}

/// Scopes the request needs, in configuration order, without duplicates
/// (`path` raw: normalised here; no headers, no claims).
pub fn required(cfg: &Scopes, method: &str, path: &str) -> Vec<String> {
    let normalized = normalize_path(path);
    let claims = Map::new();
    evaluate(
        cfg,
        &ScopeInput {
            method,
            path: &normalized,
            raw_path: path,
            headers: &[],
            claims: &claims,
        },
    )
    .scopes
}

/// [`required`] with the path already normalised
/// ([`crate::core::route::check_path`]).
pub fn required_normalized(cfg: &Scopes, method: &str, path: &str) -> Vec<String> {
    let claims = Map::new();
    evaluate(
        cfg,
        &ScopeInput {
            method,
            path,
            raw_path: path,
            headers: &[],
            claims: &claims,
        },
    )
    .scopes
}

/// The token's scopes as the provider's `scope_claims` name them: each
/// claim a space-separated string or an array of strings, as its format
/// allows; a claim of another form grants nothing.
pub fn granted_by<'c>(
    scope_claims: &[ScopeClaim],
    claims: &'c Map<String, Value>,
) -> BTreeSet<&'c str> {
    let mut out = BTreeSet::new();
    for sc in scope_claims {
        match (claims.get(&sc.claim), sc.format) {
            (Some(Value::String(s)), ScopeFormat::String | ScopeFormat::StringOrArray) => {
                out.extend(s.split(' ').filter(|x| !x.is_empty()))
            }
            (Some(Value::Array(a)), ScopeFormat::Array | ScopeFormat::StringOrArray) => {
                out.extend(a.iter().filter_map(Value::as_str))
            }
            _ => {}
        }
    }
    out
}

/// The token's scopes with the default `scope_claims`: `scope` and `scp`,
/// each a space-separated string or an array of strings.
pub fn granted(claims: &Map<String, Value>) -> BTreeSet<&str> {
    granted_by(&ScopeClaim::defaults(), claims)
}

/// Whether every required scope is granted (default `scope_claims`).
pub fn satisfied(required: &[String], claims: &Map<String, Value>) -> bool {
    Required {
        scopes: required.to_vec(),
        unresolved: false,
    }
    .satisfied_by(&ScopeClaim::defaults(), claims)
}

#[cfg(test)]
mod tests;
