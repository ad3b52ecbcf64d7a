//! Foreign functions (`proxy_call_foreign_function`): native functions a
//! module calls by name. [`ForeignFunctions::builtin`] has the ones the host
//! offers every module (`verify_signature`, see [`super::verify_signature_ring`]).
//! Unknown names answer NOT_FOUND.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, read_string, return_bytes, tri, write_u32, HostResult};
use super::Status;
use crate::runtime::state::HostState;

/// A native function: arguments in, result out, or a status for the guest.
pub type ForeignFunction = Arc<dyn Fn(&[u8]) -> Result<Vec<u8>, Status> + Send + Sync>;

/// Registry of foreign functions by name.
#[derive(Clone, Default)]
pub struct ForeignFunctions {
    functions: HashMap<String, ForeignFunction>,
}

impl std::fmt::Debug for ForeignFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.functions.keys()).finish()
    }
}

impl ForeignFunctions {
    /// The functions every module gets: `verify_signature`.
    pub fn builtin() -> ForeignFunctions {
        let mut functions = ForeignFunctions::default();
        super::verify_signature_ring::register(&mut functions);
        functions
    }

    /// Adds (or replaces) `name`.
    pub fn register(&mut self, name: &str, function: ForeignFunction) {
        self.functions.insert(name.to_string(), function);
    }

    /// Calls `name` with `args`.
    pub fn call(&self, name: &str, args: &[u8]) -> Result<Vec<u8>, Status> {
        let f = self.functions.get(name).ok_or(Status::NotFound)?;
        f(args)
    }
}

fn call(
    caller: &mut Caller<'_, HostState>,
    np: i32,
    nl: i32,
    ap: i32,
    al: i32,
    rp: i32,
    rl: i32,
) -> HostResult {
    let name = tri!(read_string(caller, np, nl));
    let args = tri!(read_bytes(caller, ap, al));
    let result = caller.data().plugin.process.foreign.call(&name, &args);
    let result = tri!(result);
    if result.is_empty() {
        tri!(write_u32(caller, rp, 0));
        tri!(write_u32(caller, rl, 0));
        return Ok(Status::Ok);
    }
    return_bytes(caller, &result, rp, rl)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |mut c: Caller<'_, HostState>, np: i32, nl: i32, ap: i32, al: i32, rp: i32, rl: i32| {
            call(&mut c, np, nl, ap, al, rp, rl).map(Status::code)
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_not_found_known_is_called() {
        let mut f = ForeignFunctions::default();
        assert_eq!(f.call("verify_signature", b""), Err(Status::NotFound));
        f.register("echo", Arc::new(|a: &[u8]| Ok(a.to_vec())));
        assert_eq!(f.call("echo", b"x"), Ok(b"x".to_vec()));
    }
}
