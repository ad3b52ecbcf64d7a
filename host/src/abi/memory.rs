//! Guest memory helpers: bounds-checked reads and writes, and returning data
//! to the guest through its allocator (`proxy_on_memory_allocate` or
//! `malloc`).

use wasmtime::{Caller, Extern, Memory};

use super::Status;
use crate::runtime::state::HostState;

/// Early-returns `Ok(status)` from a host function when `$e` is `Err(status)`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(status) => return Ok(status),
        }
    };
}
pub(crate) use tri;

/// Result of a host function body: `Ok(status)` goes back to the guest,
/// `Err` traps the guest.
pub(crate) type HostResult = wasmtime::Result<Status>;

fn memory(caller: &mut Caller<'_, HostState>) -> Result<Memory, Status> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(Status::InvalidMemoryAccess),
    }
}

/// Size of the guest's linear memory in bytes: the bound for any buffer
/// sized by a guest-supplied length.
pub(crate) fn memory_size(caller: &mut Caller<'_, HostState>) -> Result<usize, Status> {
    let mem = memory(caller)?;
    Ok(mem.data_size(&*caller))
}

/// Copies `len` bytes at `ptr` out of guest memory.
pub(crate) fn read_bytes(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> Result<Vec<u8>, Status> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let mem = memory(caller)?;
    let data = mem.data(&*caller);
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(len as u32 as usize)
        .ok_or(Status::InvalidMemoryAccess)?;
    data.get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or(Status::InvalidMemoryAccess)
}

/// Reads a UTF-8 string (lossy) from guest memory.
pub(crate) fn read_string(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    len: i32,
) -> Result<String, Status> {
    let bytes = read_bytes(caller, ptr, len)?;
    String::from_utf8(bytes).map_err(|_| Status::BadArgument)
}

/// Writes `bytes` at `ptr` in guest memory.
pub(crate) fn write_bytes(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    bytes: &[u8],
) -> Result<(), Status> {
    let mem = memory(caller)?;
    mem.write(&mut *caller, ptr as u32 as usize, bytes)
        .map_err(|_| Status::InvalidMemoryAccess)
}

/// Writes a little-endian `u32` at `ptr`.
pub(crate) fn write_u32(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    value: u32,
) -> Result<(), Status> {
    write_bytes(caller, ptr, &value.to_le_bytes())
}

/// Writes a little-endian `u64` at `ptr`.
pub(crate) fn write_u64(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    value: u64,
) -> Result<(), Status> {
    write_bytes(caller, ptr, &value.to_le_bytes())
}

/// Allocates `size` bytes in the guest through its exported allocator.
/// A trap inside the allocator is returned as `Err(trap)`.
pub(crate) fn allocate(
    caller: &mut Caller<'_, HostState>,
    size: u32,
) -> wasmtime::Result<Result<u32, Status>> {
    let func = ["proxy_on_memory_allocate", "malloc"]
        .iter()
        .find_map(|name| caller.get_export(name).and_then(Extern::into_func));
    let Some(func) = func else {
        return Ok(Err(Status::InternalFailure));
    };
    let typed = match func.typed::<i32, i32>(&*caller) {
        Ok(t) => t,
        Err(_) => return Ok(Err(Status::InternalFailure)),
    };
    let ptr = typed.call(&mut *caller, size as i32)? as u32;
    if ptr == 0 && size != 0 {
        return Ok(Err(Status::InternalFailure));
    }
    Ok(Ok(ptr))
}

/// Copies `data` into freshly allocated guest memory and stores its address
/// and length at `ret_ptr` / `ret_len` (the usual `return_*` out-parameters).
pub(crate) fn return_bytes(
    caller: &mut Caller<'_, HostState>,
    data: &[u8],
    ret_ptr: i32,
    ret_len: i32,
) -> wasmtime::Result<Status> {
    let len = u32::try_from(data.len())
        .map_err(|_| wasmtime::Error::msg("value too large for wasm32"))?;
    let ptr = tri!(allocate(caller, len)?);
    tri!(write_bytes(caller, ptr as i32, data));
    tri!(write_u32(caller, ret_ptr, ptr));
    tri!(write_u32(caller, ret_len, len));
    Ok(Status::Ok)
}
