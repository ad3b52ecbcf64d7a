//! Bounded copies of text for logs and audit lines, and numbers written
//! into them.

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

/// Appends `n` in `radix` (10 or 16: lowercase digits), zero-padded to at
/// least `width` digits: the audit line's numbers, times and ids, written
/// without the formatting machinery (a call per piece in wasm).
pub fn push_number(out: &mut String, mut n: u64, radix: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let radix = radix.clamp(2, 16);
    let mut buf = [b'0'; 64];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = DIGITS[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    let i = i.min(buf.len().saturating_sub(width));
    // ASCII digits: valid UTF-8.
    out.push_str(std::str::from_utf8(buf.get(i..).unwrap_or_default()).unwrap_or("0"));
}

#[cfg(test)]
mod tests {
    use super::{prefix_chars, push_number};

    #[test]
    fn numbers_read_as_formatted() {
        for n in [0, 1, 9, 10, 255, 1_796_232_000_123, u64::MAX] {
            for width in [1, 3, 20] {
                let mut dec = String::from(">");
                push_number(&mut dec, n, 10, width);
                assert_eq!(dec, format!(">{n:0width$}"));
                let mut hex = String::new();
                push_number(&mut hex, n, 16, width);
                assert_eq!(hex, format!("{n:0width$x}"));
            }
        }
    }

    #[test]
    fn prefixes_count_characters() {
        assert_eq!(prefix_chars("äbc", 2), "äb");
        assert_eq!(prefix_chars("ääää", 3), "äää");
        assert_eq!(prefix_chars("ab", 5), "ab");
        assert_eq!(prefix_chars("", 0), "");
        assert_eq!(prefix_chars("abc", 0), "");
    }
}
