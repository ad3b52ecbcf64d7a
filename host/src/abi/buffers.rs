//! Buffers: request/response bodies, callout bodies, configurations
//! (`proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`).

use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, return_bytes, tri, write_u32, HostResult};
use super::{BufferType, Status};
use crate::runtime::state::HostState;

/// The slice `[start, start + max)` of `data`, clamped to its end; `None`
/// when it is empty (reported as NOT_FOUND, which the SDK reads as "no data").
pub fn slice(data: &[u8], start: usize, max: usize) -> Option<&[u8]> {
    if start >= data.len() {
        return None;
    }
    let end = start.saturating_add(max).min(data.len());
    (end > start).then(|| &data[start..end])
}

/// Replaces `[start, start + size)` of `data` (clamped to its end) with
/// `value`, Envoy's semantics: `(0, 0)` prepends, `start >= len` appends,
/// `(0, len or more)` replaces everything.
pub fn splice(data: &mut Vec<u8>, start: usize, size: usize, value: &[u8]) {
    let start = start.min(data.len());
    let end = start.saturating_add(size).min(data.len());
    data.splice(start..end, value.iter().copied());
}

fn get(
    caller: &mut Caller<'_, HostState>,
    kind: i32,
    start: i32,
    max: i32,
    rp: i32,
    rl: i32,
) -> HostResult {
    let kind = tri!(BufferType::from_raw(kind).ok_or(Status::BadArgument));
    let (start, max) = (start as u32 as usize, max as u32 as usize);
    let data = tri!(caller
        .data()
        .with_buffer(kind, |b| slice(b, start, max).map(<[u8]>::to_vec)));
    let data = tri!(data.ok_or(Status::NotFound));
    return_bytes(caller, &data, rp, rl)
}

fn set(
    caller: &mut Caller<'_, HostState>,
    kind: i32,
    start: i32,
    size: i32,
    ptr: i32,
    len: i32,
) -> HostResult {
    let kind = tri!(BufferType::from_raw(kind).ok_or(Status::BadArgument));
    if !matches!(
        kind,
        BufferType::HttpRequestBody
            | BufferType::HttpResponseBody
            | BufferType::HttpCallResponseBody
    ) {
        return Ok(Status::BadArgument);
    }
    let value = tri!(read_bytes(caller, ptr, len));
    let (start, size) = (start as u32 as usize, size as u32 as usize);
    tri!(caller
        .data()
        .with_buffer(kind, |b| splice(b, start, size, &value)));
    Ok(Status::Ok)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Caller<'_, HostState>, kind: i32, start: i32, max: i32, rp: i32, rl: i32| {
            get(&mut c, kind, start, max, rp, rl).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Caller<'_, HostState>, kind: i32, start: i32, size: i32, p: i32, l: i32| {
            set(&mut c, kind, start, size, p, l).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut c: Caller<'_, HostState>,
         kind: i32,
         len_ptr: i32,
         flags_ptr: i32|
         -> wasmtime::Result<i32> {
            let Some(kind) = BufferType::from_raw(kind) else {
                return Ok(Status::BadArgument.code());
            };
            let Ok(len) = c.data().with_buffer(kind, |b| b.len()) else {
                return Ok(Status::NotFound.code());
            };
            let r = write_u32(&mut c, len_ptr, len as u32)
                .and_then(|()| write_u32(&mut c, flags_ptr, 0));
            Ok(r.err().unwrap_or(Status::Ok).code())
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_clamps_and_reports_empty() {
        assert_eq!(slice(b"hello", 0, 100), Some(&b"hello"[..]));
        assert_eq!(slice(b"hello", 1, 3), Some(&b"ell"[..]));
        assert_eq!(slice(b"hello", 5, 1), None);
        assert_eq!(slice(b"hello", 2, 0), None);
        assert_eq!(slice(b"hello", 3, usize::MAX), Some(&b"lo"[..]));
    }

    #[test]
    fn splice_follows_envoy() {
        let mut d = b"body".to_vec();
        splice(&mut d, 0, 0, b">");
        assert_eq!(d, b">body");
        splice(&mut d, 99, 0, b"<");
        assert_eq!(d, b">body<");
        splice(&mut d, 0, usize::MAX, b"new");
        assert_eq!(d, b"new");
        splice(&mut d, 1, 1, b"EE");
        assert_eq!(d, b"nEEw");
    }
}
