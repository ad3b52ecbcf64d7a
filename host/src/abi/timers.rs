//! Time and tick timers (`proxy_get_current_time_nanoseconds`,
//! `proxy_set_tick_period_milliseconds`). Ticks run per root context per
//! worker; the worker (re)arms its timer after the callback that changed the
//! period.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Linker};

use super::memory::write_u64;
use super::Status;
use crate::runtime::state::HostState;

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Caller<'_, HostState>, ret: i32| {
            Ok(write_u64(&mut c, ret, now_ns())
                .err()
                .unwrap_or(Status::Ok)
                .code())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |c: Caller<'_, HostState>, period: i32| {
            let state = c.data();
            // Ticks belong to the root context; the SDK calls this from it.
            state
                .tick_period
                .set(Duration::from_millis(u64::from(period as u32)));
            state.tick_changed.set(true);
            Ok(Status::Ok.code())
        },
    )?;
    Ok(())
}
