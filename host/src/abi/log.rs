//! Logging (`proxy_log`, `proxy_get_log_level`) to `tracing`, target `wasm`,
//! with the plugin name as a field. Lines below the plugin's level are
//! dropped.

use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, tri, write_u32, HostResult};
use super::Status;
use crate::runtime::state::HostState;
use crate::runtime::LogLevel;

/// Decodes a proxy-wasm log level.
pub fn level_from_raw(raw: i32) -> Option<LogLevel> {
    Some(match raw {
        0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        4 => LogLevel::Error,
        5 => LogLevel::Critical,
        _ => return None,
    })
}

/// Emits one module log line.
pub(crate) fn emit(plugin: &str, level: LogLevel, message: &str) {
    match level {
        LogLevel::Trace => tracing::trace!(target: "wasm", plugin, "{message}"),
        LogLevel::Debug => tracing::debug!(target: "wasm", plugin, "{message}"),
        LogLevel::Info => tracing::info!(target: "wasm", plugin, "{message}"),
        LogLevel::Warn => tracing::warn!(target: "wasm", plugin, "{message}"),
        LogLevel::Error | LogLevel::Critical => {
            tracing::error!(target: "wasm", plugin, "{message}")
        }
    }
}

fn log(caller: &mut Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> HostResult {
    let level = tri!(level_from_raw(level).ok_or(Status::BadArgument));
    let message = tri!(read_bytes(caller, ptr, len));
    let spec = caller.data().spec();
    if level >= spec.log_level {
        emit(&spec.name, level, &String::from_utf8_lossy(&message));
    }
    Ok(Status::Ok)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut c: Caller<'_, HostState>, level: i32, p: i32, l: i32| {
            log(&mut c, level, p, l).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_log_level",
        |mut c: Caller<'_, HostState>, ret: i32| {
            let level = c.data().spec().log_level as u32;
            Ok(write_u32(&mut c, ret, level)
                .err()
                .unwrap_or(Status::Ok)
                .code())
        },
    )?;
    Ok(())
}
