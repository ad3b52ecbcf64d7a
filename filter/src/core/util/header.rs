//! Header-name spellings. Proxies and application servers disagree on
//! whether `X_Auth_Sub` is `x-auth-sub` (CGI, PHP, nginx with
//! `underscores_in_headers`, many frameworks fold `-` and `_`, and all fold
//! case): a header the filter owns is removed in every such spelling.

/// Most `-`/`_` separators in a header name the filter owns, so that its
/// spellings stay few (2^8 at most).
pub const MAX_SEPARATORS: usize = 8;

/// The name as the most lenient reader sees it: ASCII lowercase, `_` as `-`.
pub fn canonical(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'_' => '-',
            b => char::from(b.to_ascii_lowercase()),
        })
        .collect()
}

/// Whether `a` and `b` are the same header to a lenient reader (case and
/// `-`/`_` folded).
pub fn same_header(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            let f = |c: u8| {
                if c == b'_' {
                    b'-'
                } else {
                    c.to_ascii_lowercase()
                }
            };
            f(x) == f(y)
        })
}

/// Every lowercase spelling of `name` with each separator `-` or `_`
/// (`x-a-b` → `x-a-b`, `x-a_b`, `x_a-b`, `x_a_b`); `name` itself first.
/// Case is left to the caller (header maps compare names
/// case-insensitively). A name with more than [`MAX_SEPARATORS`]
/// separators gets only its own spelling and its canonical one.
pub fn spellings(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let seps: Vec<usize> = lower
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'-' || *b == b'_')
        .map(|(i, _)| i)
        .collect();
    let mut out = vec![lower.clone()];
    if seps.len() > MAX_SEPARATORS {
        let c = canonical(&lower);
        if c != lower {
            out.push(c);
        }
        return out;
    }
    for mask in 0u32..(1 << seps.len()) {
        let mut b = lower.clone().into_bytes();
        for (bit, &i) in seps.iter().enumerate() {
            b[i] = if mask & (1 << bit) != 0 { b'_' } else { b'-' };
        }
        // Only ASCII bytes were replaced by ASCII bytes.
        let s = String::from_utf8(b).unwrap_or_default();
        if s != lower {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_cover_every_separator() {
        let mut s = spellings("x-auth_sub");
        assert_eq!(s[0], "x-auth_sub");
        s.sort();
        assert_eq!(s, ["x-auth-sub", "x-auth_sub", "x_auth-sub", "x_auth_sub"]);
        assert_eq!(spellings("plain"), ["plain"]);
        assert_eq!(spellings("X-A"), ["x-a", "x_a"]);
        assert_eq!(spellings(&"a-".repeat(9)).len(), 1);
        assert_eq!(spellings(&"a_".repeat(9)), ["a_".repeat(9), "a-".repeat(9)]);
        assert_eq!(spellings(&"a-".repeat(8)).len(), 256);
    }

    #[test]
    fn same_header_folds_case_and_separators() {
        assert!(same_header("X-Auth_Sub", "x_auth-sub"));
        assert!(!same_header("x-auth-sub", "x-auth-su"));
        assert!(!same_header("x-auth-sub", "x.auth-sub"));
        assert_eq!(canonical("Content_Length"), "content-length");
    }
}
