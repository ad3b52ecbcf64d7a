//! The proxy-wasm header-map wire format, decoded without trusting the host.
//!
//! `proxy_get_header_map_pairs` answers one buffer: a little-endian `u32`
//! pair count, then a `(u32 name length, u32 value length)` per pair, then
//! each name and value followed by a NUL byte. The SDK's own decoder
//! (proxy-wasm 0.2.5, `get_map`/`get_map_bytes`) calls `unwrap` on UTF-8 and
//! indexes without bounds checks, so one request header carrying a byte such
//! as `0xff` panics the module and, with `panic = "abort"`, kills the VM.
//!
//! Policy (documented in docs/filter-config.md): names and values that are
//! not UTF-8 are decoded lossily (each invalid sequence becomes U+FFFD). A
//! token containing such bytes then fails its syntax check (401), an
//! identity header with such a name is still found and removed, and the
//! bytes forwarded upstream are the client's own (the filter only edits the
//! headers it names). A malformed buffer (lengths past its end) decodes to
//! the pairs read before the fault: never a panic.

/// Decodes a serialized header map; see the module docs for the policy.
pub fn decode(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(count) = read_u32(bytes, 0) else {
        return out;
    };
    // Each pair needs 8 bytes of sizes: a count the buffer cannot hold is a
    // lie, bounded here before anything is allocated.
    let count = count.min(bytes.len().saturating_sub(4) / 8);
    let mut sizes = 4usize;
    let Some(mut data) = count.checked_mul(8).and_then(|n| n.checked_add(4)) else {
        return out;
    };
    out.reserve(count);
    for _ in 0..count {
        let (Some(nlen), Some(vlen)) = (read_u32(bytes, sizes), read_u32(bytes, sizes + 4)) else {
            break;
        };
        sizes += 8;
        let Some(name) = slice(bytes, data, nlen) else {
            break;
        };
        data += nlen + 1;
        let Some(value) = slice(bytes, data, vlen) else {
            break;
        };
        data += vlen + 1;
        out.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    out
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

/// `len` bytes at `at`, with room for the NUL that follows them.
fn slice(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    let end = at.checked_add(len)?;
    if end >= bytes.len() {
        return None;
    }
    bytes.get(at..end)
}

#[cfg(test)]
mod tests {
    use super::decode;

    fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut b = (pairs.len() as u32).to_le_bytes().to_vec();
        for (n, v) in pairs {
            b.extend((n.len() as u32).to_le_bytes());
            b.extend((v.len() as u32).to_le_bytes());
        }
        for (n, v) in pairs {
            b.extend(*n);
            b.push(0);
            b.extend(*v);
            b.push(0);
        }
        b
    }

    #[test]
    fn utf8_pairs_round_trip() {
        let b = encode(&[(b":path", b"/a"), (b"x-b", b"")]);
        assert_eq!(
            decode(&b),
            vec![(":path".into(), "/a".into()), ("x-b".into(), String::new())]
        );
    }

    #[test]
    fn non_utf8_names_and_values_are_lossy_not_a_panic() {
        let b = encode(&[(b"x-a", b"\xff\xfe"), (b"\xc3", b"ok"), (b"authorization", b"Bearer a\x80b")]);
        let m = decode(&b);
        assert_eq!(m[0], ("x-a".into(), "\u{fffd}\u{fffd}".into()));
        assert_eq!(m[1], ("\u{fffd}".into(), "ok".into()));
        assert_eq!(m[2].1, "Bearer a\u{fffd}b");
    }

    #[test]
    fn malformed_buffers_decode_what_fits() {
        assert!(decode(&[]).is_empty());
        assert!(decode(&[1, 0]).is_empty());
        // A count far beyond the buffer.
        assert!(decode(&u32::MAX.to_le_bytes()).is_empty());
        // Lengths past the end.
        let mut b = encode(&[(b"a", b"b"), (b"c", b"d")]);
        b.truncate(b.len() - 3);
        assert_eq!(decode(&b), vec![("a".into(), "b".into())]);
        let mut b = encode(&[(b"a", b"b")]);
        b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&b).is_empty());
        // Every truncation of a valid buffer.
        let full = encode(&[(b"name", b"\xffvalue"), (b"n2", b"v2")]);
        for n in 0..full.len() {
            let _ = decode(&full[..n]);
        }
    }
}
