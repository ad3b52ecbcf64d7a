//! The serialized header map of the proxy-wasm ABI
//! (`proxy_get_header_map_pairs`, `proxy_set_header_map_pairs`): a
//! little-endian `u32` pair count, a `(u32 name length, u32 value length)`
//! per pair, then each name and each value followed by a NUL byte.
//!
//! The SDK's own decoder (proxy-wasm 0.2.5, `get_map`/`get_map_bytes`)
//! calls `unwrap` on UTF-8 and slices without bounds checks, so one request
//! header carrying a byte such as `0xff` panics a module that uses it. The
//! decoders here are total.

/// Serializes `pairs`.
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 10 + k.as_ref().len() + v.as_ref().len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.as_ref().len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

/// The pairs of a serialized map, as bytes. An empty input is an empty map;
/// a truncated or inconsistent one (a count or length past the end, a
/// missing NUL) is `None`.
pub fn decode(bytes: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = read_u32(bytes, 0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    if data > bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let name_len = read_u32(bytes, 4 + i * 8)?;
        let value_len = read_u32(bytes, 8 + i * 8)?;
        let name = take(bytes, &mut data, name_len)?;
        let value = take(bytes, &mut data, value_len)?;
        out.push((name, value));
    }
    Some(out)
}

/// [`decode`] for a reader that wants text: names and values that are not
/// UTF-8 are decoded lossily (each invalid sequence becomes U+FFFD), and a
/// malformed map is an empty one.
pub fn decode_lossy(bytes: &[u8]) -> Vec<(String, String)> {
    decode(bytes)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (owned(k), owned(v)))
        .collect()
}

/// [`decode_lossy`] into `out`, reusing the strings it holds: a reader that
/// decodes a map per request (the filter's adapter) allocates only when a
/// name or value outgrows the buffer it had, or the map has more pairs.
pub fn decode_lossy_into(bytes: &[u8], out: &mut Vec<(String, String)>) {
    let pairs = decode(bytes).unwrap_or_default();
    out.truncate(pairs.len());
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        match out.get_mut(i) {
            Some((name, value)) => {
                refill(name, k);
                refill(value, v);
            }
            None => out.push((owned(k), owned(v))),
        }
    }
}

/// `s` becomes `bytes` as text ([`owned`]'s decoding), in its own buffer.
fn refill(s: &mut String, bytes: &[u8]) {
    s.clear();
    match std::str::from_utf8(bytes) {
        Ok(t) => s.push_str(t),
        Err(_) => s.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// `bytes` as a `String`, U+FFFD for invalid UTF-8. Valid text (nearly
/// every header) takes `from_utf8`'s word-at-a-time check, several times
/// faster than the lossy decoder's chunk iterator.
fn owned(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

/// `len` bytes at `*at` followed by a NUL; moves `*at` past the NUL.
fn take<'a>(bytes: &'a [u8], at: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = at.checked_add(len)?;
    let chunk = bytes.get(*at..end)?;
    if bytes.get(end) != Some(&0) {
        return None;
    }
    *at = end + 1;
    Some(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_into_reuses_and_matches_decode_lossy() {
        let first = encode(&[
            (":path", "/aaaa"),
            ("authorization", "Bearer x"),
            ("x", "1"),
        ]);
        let second: Vec<(&[u8], &[u8])> = vec![(b":path", b"/bb"), (b"x-y", b"\xff")];
        let second = encode(&second);
        let mut out = Vec::new();
        decode_lossy_into(&first, &mut out);
        assert_eq!(out, decode_lossy(&first));
        let buffer = out[0].1.as_ptr();
        decode_lossy_into(&second, &mut out);
        assert_eq!(out, decode_lossy(&second));
        assert_eq!(out[1].1, "\u{fffd}");
        // The first value's buffer was big enough for "/bb": kept.
        assert_eq!(out[0].1.as_ptr(), buffer);
        decode_lossy_into(b"\x05", &mut out);
        assert!(out.is_empty(), "a malformed map is an empty one");
    }

    #[test]
    fn encodes_the_documented_layout() {
        let bytes = encode(&[("ab", "c"), (":x", "")]);
        let mut expected = vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(b"ab\0c\0:x\0\0");
        assert_eq!(bytes, expected);
        assert_eq!(encode::<&str, &str>(&[]), vec![0, 0, 0, 0]);
    }

    #[test]
    fn decode_inverts_encode() {
        let pairs: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"GET"),
            (b"x-a", b"1"),
            (b"x-a", b"\xff\xfe"),
            (b"empty", b""),
        ];
        assert_eq!(decode(&encode(&pairs)), Some(pairs));
        assert_eq!(decode(&[]), Some(vec![]));
        assert_eq!(decode(&[0, 0, 0, 0]), Some(vec![]));
    }

    #[test]
    fn decode_refuses_bad_input() {
        let good = encode(&[("key", "value")]);
        for cut in 1..good.len() {
            assert_eq!(decode(&good[..cut]), None, "cut at {cut}");
        }
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(decode(&no_nul), None);
        assert_eq!(decode(&[255, 255, 255, 255]), None);
        let mut huge_len = good;
        huge_len[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge_len), None);
    }

    #[test]
    fn lossy_text_never_panics_on_non_utf8() {
        let m = decode_lossy(&encode(&[
            (&b"x-a"[..], &b"\xff\xfe"[..]),
            (b"\xc3", b"ok"),
            (b"authorization", b"Bearer a\x80b"),
        ]));
        assert_eq!(m[0], ("x-a".into(), "\u{fffd}\u{fffd}".into()));
        assert_eq!(m[1], ("\u{fffd}".into(), "ok".into()));
        assert_eq!(m[2].1, "Bearer a\u{fffd}b");
        assert!(decode_lossy(&[1, 0, 0, 0]).is_empty());
    }
}
