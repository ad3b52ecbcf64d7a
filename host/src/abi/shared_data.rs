//! Shared data (`proxy_get_shared_data`, `proxy_set_shared_data`): a
//! process-wide key-value store per `vm_id` with compare-and-swap, with the
//! semantics of proxy-wasm-cpp-host: the cas counter is global, starts at 1
//! and skips 0; a set with cas 0 always succeeds; a set on an existing key
//! with a non-zero cas must match; a set on a missing key succeeds.
//!
//! Bounded: the keys and values of one `vm_id` together stay within the
//! plugin's `limits.max_shared_data_bytes`. A set that would go beyond is
//! refused with `CAS_MISMATCH`, the one failure the SDKs accept without
//! panicking (a module sees a lost race and reads again), and counted.

use std::collections::HashMap;

use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, read_string, return_bytes, tri, write_u32, HostResult};
use super::Status;
use crate::runtime::state::HostState;

/// The store (pure; wrap it in a mutex to share it).
#[derive(Debug)]
pub struct SharedDataStore {
    next_cas: u32,
    vms: HashMap<String, VmData>,
}

/// One `vm_id`'s map and its size (keys plus values, in bytes).
#[derive(Debug, Default)]
struct VmData {
    entries: HashMap<String, (Vec<u8>, u32)>,
    bytes: usize,
}

impl Default for SharedDataStore {
    fn default() -> Self {
        SharedDataStore {
            next_cas: 1,
            vms: HashMap::new(),
        }
    }
}

impl SharedDataStore {
    fn next_cas(&mut self) -> u32 {
        let cas = self.next_cas;
        self.next_cas = self.next_cas.wrapping_add(1);
        if self.next_cas == 0 {
            self.next_cas = 1;
        }
        cas
    }

    /// Value and cas of `key` in `vm_id`.
    pub fn get(&self, vm_id: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        self.vms.get(vm_id)?.entries.get(key).cloned()
    }

    /// Bytes (keys plus values) stored for `vm_id`.
    pub fn bytes(&self, vm_id: &str) -> usize {
        self.vms.get(vm_id).map_or(0, |v| v.bytes)
    }

    /// Stores `value` under `key` in `vm_id` if `cas` allows it and the
    /// vm's keys and values stay within `max_bytes` (else `CasMismatch`,
    /// see the module comment; the caller counts it).
    pub fn set(
        &mut self,
        vm_id: &str,
        key: &str,
        value: Vec<u8>,
        cas: u32,
        max_bytes: usize,
    ) -> Result<(), SetRefused> {
        let (current, old_size) = match self.vms.get(vm_id).and_then(|m| m.entries.get(key)) {
            Some((v, c)) => (Some(*c), key.len() + v.len()),
            None => (None, 0),
        };
        if let Some(current) = current {
            if cas != 0 && cas != current {
                return Err(SetRefused::CasMismatch);
            }
        }
        let used = self.bytes(vm_id) - old_size;
        let size = key.len() + value.len();
        if used.saturating_add(size) > max_bytes {
            return Err(SetRefused::Full);
        }
        let new_cas = self.next_cas();
        let vm = self.vms.entry(vm_id.to_string()).or_default();
        vm.entries.insert(key.to_string(), (value, new_cas));
        vm.bytes = used + size;
        Ok(())
    }
}

/// Why a set did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetRefused {
    /// The cas did not match.
    CasMismatch,
    /// The vm's shared data would exceed `max_shared_data_bytes`.
    Full,
}

fn get(
    caller: &mut Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    rp: i32,
    rl: i32,
    rc: i32,
) -> HostResult {
    let key = tri!(read_string(caller, kp, kl));
    let found = {
        let plugin = &caller.data().plugin;
        let store = plugin
            .process
            .shared_data
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        store.get(&plugin.spec.vm_id, &key)
    };
    let (value, cas) = tri!(found.ok_or(Status::NotFound));
    let status = return_bytes(caller, &value, rp, rl)?;
    if status != Status::Ok {
        return Ok(status);
    }
    tri!(write_u32(caller, rc, cas));
    Ok(Status::Ok)
}

fn set(
    caller: &mut Caller<'_, HostState>,
    kp: i32,
    kl: i32,
    vp: i32,
    vl: i32,
    cas: i32,
) -> HostResult {
    let key = tri!(read_string(caller, kp, kl));
    let value = tri!(read_bytes(caller, vp, vl));
    let plugin = &caller.data().plugin;
    let result = plugin
        .process
        .shared_data
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set(
            &plugin.spec.vm_id,
            &key,
            value,
            cas as u32,
            plugin.spec.max_shared_data_bytes,
        );
    match result {
        Ok(()) => Ok(Status::Ok),
        Err(SetRefused::CasMismatch) => Ok(Status::CasMismatch),
        Err(SetRefused::Full) => {
            plugin.process.metrics.inc_counter(
                "oauth_host_shared_data_refused_total",
                &[("plugin", &plugin.spec.name)],
                1,
            );
            Ok(Status::CasMismatch)
        }
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: Caller<'_, HostState>, kp: i32, kl: i32, rp: i32, rl: i32, rc: i32| {
            get(&mut c, kp, kl, rp, rl, rc).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: Caller<'_, HostState>, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32| {
            set(&mut c, kp, kl, vp, vl, cas).map(Status::code)
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    #[test]
    fn cas_semantics() {
        let mut s = SharedDataStore::default();
        assert_eq!(s.get("vm", "k"), None);
        // Missing key: any cas succeeds.
        s.set("vm", "k", b"a".to_vec(), 77, MAX).unwrap();
        let (v, cas1) = s.get("vm", "k").unwrap();
        assert_eq!((v.as_slice(), cas1), (&b"a"[..], 1));
        // Wrong cas on an existing key.
        assert_eq!(
            s.set("vm", "k", b"b".to_vec(), cas1 + 5, MAX),
            Err(SetRefused::CasMismatch)
        );
        // Right cas.
        s.set("vm", "k", b"b".to_vec(), cas1, MAX).unwrap();
        let (_, cas2) = s.get("vm", "k").unwrap();
        assert_ne!(cas1, cas2);
        // The old cas is stale now.
        assert_eq!(
            s.set("vm", "k", b"c".to_vec(), cas1, MAX),
            Err(SetRefused::CasMismatch)
        );
        // cas 0 always wins.
        s.set("vm", "k", b"d".to_vec(), 0, MAX).unwrap();
        assert_eq!(s.get("vm", "k").unwrap().0, b"d");
        // vm_ids are separate namespaces.
        assert_eq!(s.get("other", "k"), None);
    }

    #[test]
    fn cas_counter_is_global_and_skips_zero() {
        let mut s = SharedDataStore {
            next_cas: u32::MAX,
            vms: HashMap::new(),
        };
        s.set("a", "x", vec![], 0, MAX).unwrap();
        assert_eq!(s.get("a", "x").unwrap().1, u32::MAX);
        s.set("b", "y", vec![], 0, MAX).unwrap();
        assert_eq!(
            s.get("b", "y").unwrap().1,
            1,
            "0 is skipped after wrap-around"
        );
    }

    #[test]
    fn a_vm_stays_within_its_bytes() {
        let mut s = SharedDataStore::default();
        s.set("vm", "k1", vec![0; 6], 0, 10).unwrap();
        assert_eq!(s.bytes("vm"), 8);
        // A new key past the bound is refused; the store is unchanged.
        assert_eq!(s.set("vm", "k2", vec![0; 7], 0, 10), Err(SetRefused::Full));
        assert_eq!(s.get("vm", "k2"), None);
        // Replacing a value counts the new size, not both.
        s.set("vm", "k1", vec![0; 8], 0, 10).unwrap();
        assert_eq!(s.bytes("vm"), 10);
        s.set("vm", "k1", vec![], 0, 10).unwrap();
        assert_eq!(s.bytes("vm"), 2);
        // Other vms have their own budget.
        s.set("other", "k", vec![0; 8], 0, 10).unwrap();
    }
}
