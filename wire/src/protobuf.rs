//! Protobuf wire format: varints and length-delimited fields, enough for
//! the foreign functions' small messages.

/// Wire type of a varint field.
pub const VARINT: u64 = 0;
/// Wire type of a length-delimited field.
pub const LEN: u64 = 2;

/// One varint and the bytes after it; `None` when truncated or longer than
/// ten bytes.
pub fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, bytes.get(i + 1..)?));
        }
    }
    None
}

/// Appends `v` as a varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends field `number` as a length-delimited field holding `value`.
pub fn put_bytes(out: &mut Vec<u8>, number: u64, value: &[u8]) {
    put_varint(out, (number << 3) | LEN);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Appends field `number` as a varint field.
pub fn put_uint(out: &mut Vec<u8>, number: u64, value: u64) {
    put_varint(out, (number << 3) | VARINT);
    put_varint(out, value);
}

/// A field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Uint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
}

/// The fields of a message in order, as `(number, value)`; `None` for the
/// whole message when any field is truncated or of a wire type other than
/// 0 and 2 (the messages here use no others).
pub fn fields(mut bytes: &[u8]) -> Option<Vec<(u64, Value<'_>)>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (key, rest) = varint(bytes)?;
        match key & 7 {
            VARINT => {
                let (v, rest) = varint(rest)?;
                out.push((key >> 3, Value::Uint(v)));
                bytes = rest;
            }
            LEN => {
                let (len, rest) = varint(rest)?;
                let len = usize::try_from(len).ok()?;
                out.push((key >> 3, Value::Bytes(rest.get(..len)?)));
                bytes = rest.get(len..)?;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_truncation() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(varint(&b), Some((v, &[][..])));
            assert_eq!(varint(&b[..b.len() - 1]), None);
        }
        assert_eq!(varint(&[0xff; 11]), None);
    }

    #[test]
    fn fields_round_trip() {
        let mut b = Vec::new();
        put_bytes(&mut b, 1, b"sha256");
        put_uint(&mut b, 7, 1);
        put_bytes(&mut b, 2, &[0u8; 200]);
        let f = fields(&b).unwrap();
        assert_eq!(f[0], (1, Value::Bytes(b"sha256")));
        assert_eq!(f[1], (7, Value::Uint(1)));
        assert_eq!(f[2], (2, Value::Bytes(&[0u8; 200])));
        for n in 1..b.len() {
            let _ = fields(&b[..n]);
        }
        assert_eq!(fields(&[0x0a, 0x05, b's']), None);
        assert_eq!(fields(&[0x0d, 0, 0, 0, 0]), None);
    }
}
