//! The part of WASI preview 1 (`wasi_snapshot_preview1`) that proxy-wasm
//! modules built for `wasm32-wasip1` import: `fd_write` to stdout/stderr goes
//! to the log, clocks, `random_get` from the OS, the environment from the
//! plugin spec, no arguments, `proc_exit` ends the instance. Everything else
//! answers `EBADF`/`ENOSYS` (modules get no files, sockets or directories).

use std::time::Instant;

use wasmtime::{Caller, Linker};

use super::memory::{memory_size, read_bytes, write_bytes, write_u32, write_u64};
use crate::runtime::state::HostState;
use crate::runtime::LogLevel;

/// WASI errno values used here.
mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const IO: i32 = 29;
    pub const NOSYS: i32 = 52;
}

const MODULE: &str = "wasi_snapshot_preview1";

/// Serializes `KEY=VALUE\0` entries; returns (offsets, buffer).
pub fn environ_block(env: &[(String, String)]) -> (Vec<u32>, Vec<u8>) {
    let mut offsets = Vec::with_capacity(env.len());
    let mut buf = Vec::new();
    for (k, v) in env {
        offsets.push(buf.len() as u32);
        buf.extend_from_slice(k.as_bytes());
        buf.push(b'=');
        buf.extend_from_slice(v.as_bytes());
        buf.push(0);
    }
    (offsets, buf)
}

fn fault<T>(r: Result<T, crate::abi::Status>) -> Result<T, i32> {
    r.map_err(|_| errno::FAULT)
}

fn fd_write(
    caller: &mut Caller<'_, HostState>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> Result<(), i32> {
    if fd != 1 && fd != 2 {
        return Err(errno::BADF);
    }
    // Every iovec may point at the same region: bound the total by the
    // guest's memory size, not by what the iovecs claim.
    let limit = fault(memory_size(caller))?;
    let mut data = Vec::new();
    for i in 0..iovs_len.max(0) {
        let iov = fault(read_bytes(caller, iovs.wrapping_add(i.wrapping_mul(8)), 8))?;
        let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        if data.len().saturating_add(len as u32 as usize) > limit {
            return Err(errno::FAULT);
        }
        data.extend(fault(read_bytes(caller, ptr, len))?);
    }
    let spec = caller.data().spec();
    let level = if fd == 1 {
        LogLevel::Info
    } else {
        LogLevel::Error
    };
    if level >= spec.log_level {
        let text = String::from_utf8_lossy(&data);
        let text = text.trim_end_matches('\n');
        if !text.is_empty() {
            crate::abi::log::emit(&spec.name, level, text);
        }
    }
    fault(write_u32(caller, nwritten, data.len() as u32))
}

fn clock_time_get(caller: &mut Caller<'_, HostState>, id: i32, ret: i32) -> Result<(), i32> {
    let ns = match id {
        0 => crate::abi::timers::now_ns(),
        // Monotonic (and CPU clocks, approximated by it).
        1..=3 => {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
        }
        _ => return Err(errno::INVAL),
    };
    fault(write_u64(caller, ret, ns))
}

fn random_get(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Result<(), i32> {
    // The length is the guest's: check the target range against its memory
    // before allocating anything of that size.
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    if start.saturating_add(len) > fault(memory_size(caller))? {
        return Err(errno::FAULT);
    }
    let mut buf = vec![0u8; len];
    getrandom::getrandom(&mut buf).map_err(|_| errno::IO)?;
    fault(write_bytes(caller, ptr, &buf))
}

fn environ_get(caller: &mut Caller<'_, HostState>, environ: i32, buf_ptr: i32) -> Result<(), i32> {
    let (offsets, buf) = environ_block(&caller.data().spec().environment);
    fault(write_bytes(caller, buf_ptr, &buf))?;
    for (i, off) in offsets.iter().enumerate() {
        let at = environ.wrapping_add((i * 4) as i32);
        fault(write_u32(caller, at, (buf_ptr as u32).wrapping_add(*off)))?;
    }
    Ok(())
}

fn environ_sizes_get(caller: &mut Caller<'_, HostState>, count: i32, size: i32) -> Result<(), i32> {
    let (offsets, buf) = environ_block(&caller.data().spec().environment);
    fault(write_u32(caller, count, offsets.len() as u32))?;
    fault(write_u32(caller, size, buf.len() as u32))
}

fn code(r: Result<(), i32>) -> wasmtime::Result<i32> {
    Ok(r.err().unwrap_or(errno::SUCCESS))
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Caller<'_, HostState>, fd: i32, iovs: i32, n: i32, ret: i32| {
            code(fd_write(&mut c, fd, iovs, n, ret))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: Caller<'_, HostState>, id: i32, _precision: i64, ret: i32| {
            code(clock_time_get(&mut c, id, ret))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: Caller<'_, HostState>, _id: i32, ret: i32| code(fault(write_u64(&mut c, ret, 1))),
    )?;
    linker.func_wrap(
        MODULE,
        "random_get",
        |mut c: Caller<'_, HostState>, p: i32, l: i32| code(random_get(&mut c, p, l)),
    )?;
    linker.func_wrap(
        MODULE,
        "environ_get",
        |mut c: Caller<'_, HostState>, e: i32, b: i32| code(environ_get(&mut c, e, b)),
    )?;
    linker.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut c: Caller<'_, HostState>, n: i32, s: i32| code(environ_sizes_get(&mut c, n, s)),
    )?;
    linker.func_wrap(
        MODULE,
        "args_get",
        |_: Caller<'_, HostState>, _: i32, _: i32| Ok(errno::SUCCESS),
    )?;
    linker.func_wrap(
        MODULE,
        "args_sizes_get",
        |mut c: Caller<'_, HostState>, n: i32, s: i32| {
            code(fault(write_u32(&mut c, n, 0)).and_then(|()| fault(write_u32(&mut c, s, 0))))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: Caller<'_, HostState>, status: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::msg(format!(
                "module called proc_exit({status})"
            )))
        },
    )?;
    linker.func_wrap(MODULE, "sched_yield", |_: Caller<'_, HostState>| {
        Ok(errno::SUCCESS)
    })?;
    linker.func_wrap(MODULE, "fd_close", |_: Caller<'_, HostState>, _: i32| {
        Ok(errno::BADF)
    })?;
    linker.func_wrap(
        MODULE,
        "fd_read",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_seek",
        |_: Caller<'_, HostState>, _: i32, _: i64, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_tell",
        |_: Caller<'_, HostState>, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(MODULE, "fd_sync", |_: Caller<'_, HostState>, _: i32| {
        Ok(errno::BADF)
    })?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |_: Caller<'_, HostState>, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_set_flags",
        |_: Caller<'_, HostState>, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_filestat_get",
        |_: Caller<'_, HostState>, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_get",
        |_: Caller<'_, HostState>, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_dir_name",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "fd_readdir",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i64, _: i32| Ok(errno::BADF),
    )?;
    linker.func_wrap(
        MODULE,
        "path_open",
        |_: Caller<'_, HostState>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i64,
         _: i64,
         _: i32,
         _: i32| Ok(errno::NOSYS),
    )?;
    linker.func_wrap(
        MODULE,
        "path_filestat_get",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32, _: i32| Ok(errno::NOSYS),
    )?;
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| Ok(errno::NOSYS),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environ_block_layout() {
        let (offsets, buf) = environ_block(&[("A".into(), "1".into()), ("BB".into(), "".into())]);
        assert_eq!(offsets, vec![0, 4]);
        assert_eq!(buf, b"A=1\0BB=\0");
        assert_eq!(environ_block(&[]), (vec![], vec![]));
    }
}
