//! [`SharedStore`] over proxy-wasm shared data.

use super::abi;
use crate::core::shared::{CasMismatch, SharedStore};

/// The host's shared data (one map per `vm_id`, process-wide).
pub struct HostStore;

impl SharedStore for HostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        abi::shared_data(key).ok().flatten()
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), CasMismatch> {
        // Any refusal reads as a lost race: the caller reads again.
        abi::set_shared_data(key, value, cas).map_err(|_| CasMismatch)
    }
}
