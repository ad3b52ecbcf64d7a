//! Context control (`proxy_set_effective_context`, `proxy_done`).

use wasmtime::{Caller, Linker};

use super::Status;
use crate::runtime::state::HostState;

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_set_effective_context",
        |c: Caller<'_, HostState>, id: i32| {
            let state = c.data();
            let id = id as u32;
            if id == state.root_context_id || state.streams.contains_key(&id) {
                state.effective_context.set(id);
                Ok(Status::Ok.code())
            } else {
                Ok(Status::BadArgument.code())
            }
        },
    )?;
    // Contexts here are deleted as soon as the stream ends, so a deferred
    // `on_done` has nothing to wait for.
    linker.func_wrap("env", "proxy_done", |_: Caller<'_, HostState>| {
        Ok(Status::Ok.code())
    })?;
    Ok(())
}
