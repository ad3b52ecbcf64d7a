//! Lowercase hex, as the ABI's text properties carry digests
//! (`connection.sha256_peer_certificate_digest`) and as the filter names
//! shared-data keys by token hashes.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lowercase hex.
pub fn lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_lower(&mut out, bytes);
    out
}

/// Appends `bytes` as lowercase hex to `out`.
pub fn push_lower(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Decodes hex (either case); `None` on an odd length or a non-hex digit.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    t.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// The value of one hex digit (either case).
pub fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(lower(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(decode("000FabfF"), Some(vec![0x00, 0x0f, 0xab, 0xff]));
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(lower(&[]), "");
        let mut s = String::from("x");
        push_lower(&mut s, &[0xa5]);
        assert_eq!(s, "xa5");
    }
}
