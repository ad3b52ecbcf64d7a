//! An index of route rules by the first path segment, so a request is
//! matched against the rules that can match it, not all of them: per-request
//! cost stays flat in the number of rules (1,000 prefix rules cost one map
//! lookup).
//!
//! The index is conservative: a rule lands in a segment's bucket only when
//! every path it can match has that first segment (`/area/` as a prefix,
//! `/area` or `/area/x` exact). Any other rule (a prefix without a second
//! `/`, such as `/` or `/are`) is checked for every request. Candidates come
//! back in configuration order, so "the first matching rule" keeps its
//! meaning; a path that does not start with `/` gets every rule.

use std::collections::HashMap;

use super::{PathMatch, Route};
use crate::core::util::sorted::{merge, Merge};

/// Rules by first path segment (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct RouteIndex {
    /// Segment → indices of the rules that need it, ascending.
    by_segment: HashMap<Box<str>, Vec<u32>>,
    /// Rules that can match any first segment, ascending.
    always: Vec<u32>,
    /// How many rules were indexed.
    len: u32,
}

/// The first segment of every path `m` can match, when there is one.
fn segment_of(m: &PathMatch) -> Option<&str> {
    let (p, exact) = match m {
        PathMatch::Prefix(p) => (p, false),
        PathMatch::Exact(p) => (p, true),
    };
    let rest = p.strip_prefix('/')?;
    match rest.find('/') {
        Some(end) => Some(&rest[..end]),
        // `/area` exact matches `/area` and `/area/`; as a prefix it also
        // matches `/areas`.
        None if exact => Some(rest),
        None => None,
    }
}

/// The first segment of a request path (None: not an origin-form path).
fn first_segment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    Some(rest.split('/').next().unwrap_or(rest))
}

impl RouteIndex {
    /// Index `routes` (in configuration order). More than `u32::MAX` rules
    /// are not indexed (every rule is then a candidate); configurations
    /// bound rules far below that.
    pub fn new<'r>(routes: impl IntoIterator<Item = &'r Route>) -> RouteIndex {
        let mut ix = RouteIndex::default();
        for (i, r) in routes.into_iter().enumerate() {
            let Ok(i) = u32::try_from(i) else {
                return RouteIndex::default();
            };
            match segment_of(&r.path) {
                Some(seg) => ix.by_segment.entry(seg.into()).or_default().push(i),
                None => ix.always.push(i),
            }
            ix.len = i + 1;
        }
        ix
    }

    /// The indices of the rules that can match `path` (a normalised path,
    /// as [`Route::matches`] reads it), ascending. Each still has to be
    /// checked with [`Route::matches`].
    pub fn candidates<'a>(&'a self, path: &str) -> Candidates<'a> {
        if self.by_segment.is_empty() {
            return Candidates::All(0..self.len);
        }
        match first_segment(path) {
            None => Candidates::All(0..self.len),
            Some(seg) => Candidates::Merge(merge(
                self.by_segment.get(seg).map(Vec::as_slice).unwrap_or(&[]),
                &self.always,
            )),
        }
    }
}

/// Rule indices in ascending order ([`RouteIndex::candidates`]).
#[derive(Debug, Clone)]
pub enum Candidates<'a> {
    /// Every rule.
    All(std::ops::Range<u32>),
    /// The segment's bucket merged with the rules checked for every path.
    Merge(Merge<'a, u32>),
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let next = match self {
            Candidates::All(r) => r.next()?,
            Candidates::Merge(m) => m.next()?,
        };
        usize::try_from(next).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(prefix: Option<&str>, exact: Option<&str>) -> Route {
        Route::new(&[], prefix, exact).unwrap()
    }

    fn rules() -> Vec<Route> {
        vec![
            route(Some("/a/"), None),      // 0: segment a
            route(Some("/"), None),        // 1: always
            route(None, Some("/b")),       // 2: segment b
            route(Some("/ab"), None),      // 3: always (matches /abc too)
            route(None, Some("/a/x")),     // 4: segment a
            route(Some("/b/c/"), None),    // 5: segment b
            route(None, Some("/")),        // 6: segment ""
            route(Some("/a/deep/"), None), // 7: segment a
        ]
    }

    /// The candidates are exactly the rules that are not excluded by the
    /// first segment, in order; and every rule that matches is among them.
    #[test]
    fn candidates_keep_order_and_miss_no_matching_rule() {
        let rs = rules();
        let ix = RouteIndex::new(&rs);
        let c = |p: &str| ix.candidates(p).collect::<Vec<_>>();
        assert_eq!(c("/a/x"), vec![0, 1, 3, 4, 7]);
        assert_eq!(c("/b"), vec![1, 2, 3, 5]);
        assert_eq!(c("/"), vec![1, 3, 6]);
        assert_eq!(c("/abc"), vec![1, 3]);
        assert_eq!(c("*"), (0..8).collect::<Vec<_>>());
        for path in [
            "/",
            "//",
            "/a",
            "/a/",
            "/a/x",
            "/a/x/",
            "/a/deep/1",
            "/ab",
            "/abc/d",
            "/b",
            "/b/",
            "/b/c/d",
            "/c",
            "*",
            "",
        ] {
            let matching: Vec<usize> = (0..rs.len())
                .filter(|&i| rs[i].matches("GET", path))
                .collect();
            let cands = c(path);
            assert!(
                matching.iter().all(|i| cands.contains(i)),
                "{path}: {matching:?} not within {cands:?}"
            );
        }
    }

    #[test]
    fn without_segment_rules_every_rule_is_a_candidate() {
        let rs = vec![route(Some("/"), None), route(Some("/x"), None)];
        let ix = RouteIndex::new(&rs);
        assert_eq!(ix.candidates("/y").collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(RouteIndex::default().candidates("/").count(), 0);
    }
}
