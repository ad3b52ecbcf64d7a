//! Header and trailer maps: the `proxy_*_header_map_*` host functions.
//!
//! The wire format is `abi_wire::header_map`, shared with the filter.

use abi_wire::header_map;
use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, return_bytes, tri, HostResult};
use super::{MapType, Status};
use crate::runtime::state::HostState;

/// Header pairs as raw bytes.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// An ordered multi-map of header names (lower case) to values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(pub Vec<(Vec<u8>, Vec<u8>)>);

impl HeaderList {
    /// First value of `key` (case-insensitive).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }

    /// Appends a value.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        self.0.push((key.to_ascii_lowercase(), value.to_vec()));
    }

    /// Replaces every value of `key` by one value (added if absent).
    pub fn replace(&mut self, key: &[u8], value: &[u8]) {
        match self.0.iter().position(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some(first) => {
                self.0[first].1 = value.to_vec();
                let mut i = 0;
                self.0.retain(|(k, _)| {
                    let keep = i <= first || !k.eq_ignore_ascii_case(key);
                    i += 1;
                    keep
                });
            }
            None => self.add(key, value),
        }
    }

    /// Removes every value of `key`.
    pub fn remove(&mut self, key: &[u8]) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parses the proxy-wasm map format ([`abi_wire::header_map::decode`])
/// into owned pairs. An empty input is an empty map; truncated or
/// inconsistent input is `ParseFailure`.
pub fn decode_map(bytes: &[u8]) -> Result<Pairs, Status> {
    header_map::decode(bytes)
        .map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect()
        })
        .ok_or(Status::ParseFailure)
}

fn map_type(raw: i32) -> Result<MapType, Status> {
    MapType::from_raw(raw).ok_or(Status::BadArgument)
}

fn get_pairs(
    caller: &mut Caller<'_, HostState>,
    map: i32,
    ret_ptr: i32,
    ret_len: i32,
) -> HostResult {
    let map = tri!(map_type(map));
    // The SDK panics on anything but OK: a map not available here is empty.
    let bytes = caller
        .data()
        .with_map(map, |m| header_map::encode(&m.0))
        .unwrap_or_else(|_| header_map::encode::<&[u8], &[u8]>(&[]));
    return_bytes(caller, &bytes, ret_ptr, ret_len)
}

fn set_pairs(caller: &mut Caller<'_, HostState>, map: i32, ptr: i32, len: i32) -> HostResult {
    let map = tri!(map_type(map));
    let bytes = tri!(read_bytes(caller, ptr, len));
    let pairs = tri!(decode_map(&bytes));
    tri!(caller.data().with_map(map, |m| {
        m.0 = pairs
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
    }));
    Ok(Status::Ok)
}

fn get_value(
    caller: &mut Caller<'_, HostState>,
    map: i32,
    key_ptr: i32,
    key_len: i32,
    ret_ptr: i32,
    ret_len: i32,
) -> HostResult {
    let map = tri!(map_type(map));
    let key = tri!(read_bytes(caller, key_ptr, key_len));
    let value = tri!(caller
        .data()
        .with_map(map, |m| m.get(&key).map(<[u8]>::to_vec)));
    let value = tri!(value.ok_or(Status::NotFound));
    return_bytes(caller, &value, ret_ptr, ret_len)
}

fn edit(
    caller: &mut Caller<'_, HostState>,
    map: i32,
    key: (i32, i32),
    value: Option<(i32, i32)>,
    op: fn(&mut HeaderList, &[u8], &[u8]),
) -> HostResult {
    let map = tri!(map_type(map));
    let key = tri!(read_bytes(caller, key.0, key.1));
    let value = match value {
        Some((p, l)) => tri!(read_bytes(caller, p, l)),
        None => Vec::new(),
    };
    tri!(caller.data().with_map(map, |m| op(m, &key, &value)));
    Ok(Status::Ok)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: Caller<'_, HostState>, map: i32, rp: i32, rl: i32| {
            get_pairs(&mut c, map, rp, rl).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: Caller<'_, HostState>, map: i32, p: i32, l: i32| {
            set_pairs(&mut c, map, p, l).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: Caller<'_, HostState>, map: i32, kp: i32, kl: i32, rp: i32, rl: i32| {
            get_value(&mut c, map, kp, kl, rp, rl).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: Caller<'_, HostState>, map: i32, kp: i32, kl: i32, vp: i32, vl: i32| {
            edit(&mut c, map, (kp, kl), Some((vp, vl)), |m, k, v| m.add(k, v)).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: Caller<'_, HostState>, map: i32, kp: i32, kl: i32, vp: i32, vl: i32| {
            edit(&mut c, map, (kp, kl), Some((vp, vl)), |m, k, v| {
                m.replace(k, v)
            })
            .map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: Caller<'_, HostState>, map: i32, kp: i32, kl: i32| {
            edit(&mut c, map, (kp, kl), None, |m, k, _| m.remove(k)).map(Status::code)
        },
    )?;
    // Envoy's legacy name for map size; cheap to offer.
    linker.func_wrap(
        "env",
        "proxy_get_header_map_size",
        |mut c: Caller<'_, HostState>, map: i32, ret: i32| -> wasmtime::Result<i32> {
            let Ok(map) = map_type(map) else {
                return Ok(Status::BadArgument.code());
            };
            let size = c
                .data()
                .with_map(map, |m| header_map::encode(&m.0).len())
                .unwrap_or(4);
            Ok(match super::memory::write_u32(&mut c, ret, size as u32) {
                Ok(()) => Status::Ok.code(),
                Err(s) => s.code(),
            })
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn decode_maps_failures_to_parse_failure() {
        let original = pairs(&[(":method", "GET"), ("x-a", "\u{e9}"), ("empty", "")]);
        let bytes = header_map::encode(&original);
        assert_eq!(decode_map(&bytes), Ok(original));
        assert_eq!(decode_map(&[]), Ok(vec![]));
        assert_eq!(
            decode_map(&bytes[..bytes.len() - 1]),
            Err(Status::ParseFailure)
        );
        assert_eq!(decode_map(&[255, 255, 255, 255]), Err(Status::ParseFailure));
    }

    #[test]
    fn header_list_edits() {
        let mut h = HeaderList::default();
        h.add(b"X-A", b"1");
        h.add(b"x-b", b"2");
        h.add(b"x-a", b"3");
        assert_eq!(h.get(b"x-a"), Some(&b"1"[..]));
        h.replace(b"X-A", b"9");
        assert_eq!(h.0, pairs(&[("x-a", "9"), ("x-b", "2")]));
        h.remove(b"x-b");
        h.replace(b"x-c", b"new");
        assert_eq!(h.0, pairs(&[("x-a", "9"), ("x-c", "new")]));
        assert_eq!(h.get(b"x-b"), None);
    }
}
