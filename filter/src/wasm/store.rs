//! [`SharedStore`] over proxy-wasm shared data.

use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

use crate::core::shared::{CasMismatch, SharedStore};

/// The host's shared data (one map per `vm_id`, process-wide).
pub struct HostStore;

impl SharedStore for HostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(v), cas)) => Some((v, cas.unwrap_or(0))),
            _ => None,
        }
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), CasMismatch> {
        let cas = if cas == 0 { None } else { Some(cas) };
        match hostcalls::set_shared_data(key, Some(value), cas) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(CasMismatch),
            Err(_) => Err(CasMismatch),
        }
    }
}
