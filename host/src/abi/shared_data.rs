//! Shared data (`proxy_get_shared_data`, `proxy_set_shared_data`): a
//! process-wide key-value store per `vm_id` with compare-and-swap, with the
//! semantics of proxy-wasm-cpp-host: the cas counter is global, starts at 1
//! and skips 0; a set with cas 0 always succeeds; a set on an existing key
//! with a non-zero cas must match; a set on a missing key succeeds.

use std::collections::HashMap;

use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, read_string, return_bytes, tri, write_u32, HostResult};
use super::Status;
use crate::runtime::state::HostState;

/// The store (pure; wrap it in a mutex to share it).
#[derive(Debug)]
pub struct SharedDataStore {
    next_cas: u32,
    vms: HashMap<String, HashMap<String, (Vec<u8>, u32)>>,
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
        self.vms.get(vm_id)?.get(key).cloned()
    }

    /// Stores `value` under `key` in `vm_id` if `cas` allows it.
    pub fn set(&mut self, vm_id: &str, key: &str, value: Vec<u8>, cas: u32) -> Result<(), Status> {
        let current = self
            .vms
            .get(vm_id)
            .and_then(|m| m.get(key))
            .map(|(_, c)| *c);
        if let Some(current) = current {
            if cas != 0 && cas != current {
                return Err(Status::CasMismatch);
            }
        }
        let new_cas = self.next_cas();
        self.vms
            .entry(vm_id.to_string())
            .or_default()
            .insert(key.to_string(), (value, new_cas));
        Ok(())
    }
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
    let mut store = plugin
        .process
        .shared_data
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Ok(store
        .set(&plugin.spec.vm_id, &key, value, cas as u32)
        .err()
        .unwrap_or(Status::Ok))
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

    #[test]
    fn cas_semantics() {
        let mut s = SharedDataStore::default();
        assert_eq!(s.get("vm", "k"), None);
        // Missing key: any cas succeeds.
        s.set("vm", "k", b"a".to_vec(), 77).unwrap();
        let (v, cas1) = s.get("vm", "k").unwrap();
        assert_eq!((v.as_slice(), cas1), (&b"a"[..], 1));
        // Wrong cas on an existing key.
        assert_eq!(
            s.set("vm", "k", b"b".to_vec(), cas1 + 5),
            Err(Status::CasMismatch)
        );
        // Right cas.
        s.set("vm", "k", b"b".to_vec(), cas1).unwrap();
        let (_, cas2) = s.get("vm", "k").unwrap();
        assert_ne!(cas1, cas2);
        // The old cas is stale now.
        assert_eq!(
            s.set("vm", "k", b"c".to_vec(), cas1),
            Err(Status::CasMismatch)
        );
        // cas 0 always wins.
        s.set("vm", "k", b"d".to_vec(), 0).unwrap();
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
        s.set("a", "x", vec![], 0).unwrap();
        assert_eq!(s.get("a", "x").unwrap().1, u32::MAX);
        s.set("b", "y", vec![], 0).unwrap();
        assert_eq!(
            s.get("b", "y").unwrap().1,
            1,
            "0 is skipped after wrap-around"
        );
    }
}
