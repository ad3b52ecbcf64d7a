//! Bounded copies of text for logs and audit lines.

/// The first `n` characters of `s`, copied at once (collecting `chars()`
/// pushes one character at a time, a call each at opt-level z).
pub fn prefix_chars(s: &str, n: usize) -> String {
    if s.len() <= n {
        // No more characters than bytes.
        return s.to_owned();
    }
    match s.char_indices().nth(n) {
        Some((end, _)) => s.get(..end).unwrap_or(s).to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_chars;

    #[test]
    fn prefixes_count_characters() {
        assert_eq!(prefix_chars("äbc", 2), "äb");
        assert_eq!(prefix_chars("ääää", 3), "äää");
        assert_eq!(prefix_chars("ab", 5), "ab");
        assert_eq!(prefix_chars("", 0), "");
        assert_eq!(prefix_chars("abc", 0), "");
    }
}
