//! Shared queues (`proxy_register_shared_queue`, `proxy_resolve_shared_queue`,
//! `proxy_enqueue_shared_queue`, `proxy_dequeue_shared_queue`): process-wide
//! queues named per `vm_id`. The first root context that registers a queue
//! owns it; an enqueue wakes the owner's worker, which calls
//! `proxy_on_queue_ready` on the owner's instance.
//!
//! Bounded: a queue holds at most the enqueuing plugin's
//! `limits.max_queue_items`; beyond, the oldest item is dropped (the
//! enqueue still answers OK, the status the SDKs expect) and counted.

use std::collections::{HashMap, VecDeque};

use tokio::sync::mpsc::UnboundedSender;
use wasmtime::{Caller, Linker};

use super::memory::{read_bytes, read_string, return_bytes, tri, write_u32, HostResult};
use super::Status;
use crate::runtime::state::HostState;

/// Event sent to a worker: queue `queue_id` of plugin `plugin_index` has data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEvent {
    /// Index of the plugin in the chain.
    pub plugin_index: usize,
    /// The queue.
    pub queue_id: u32,
}

/// Where a queue's `on_queue_ready` goes.
#[derive(Debug, Clone)]
pub struct QueueOwner {
    /// Worker that owns the queue.
    pub worker_id: usize,
    /// Plugin index on that worker.
    pub plugin_index: usize,
    /// Channel to the worker.
    pub sender: UnboundedSender<QueueEvent>,
}

struct Queue<O> {
    owner: O,
    items: VecDeque<Vec<u8>>,
}

/// The registry (pure over the owner type; wrap it in a mutex to share it).
pub struct QueueRegistry<O = QueueOwner> {
    next_id: u32,
    names: HashMap<(String, String), u32>,
    queues: HashMap<u32, Queue<O>>,
}

impl<O> Default for QueueRegistry<O> {
    fn default() -> Self {
        QueueRegistry {
            next_id: 1,
            names: HashMap::new(),
            queues: HashMap::new(),
        }
    }
}

impl<O: Clone> QueueRegistry<O> {
    /// Registers `name` in `vm_id`; returns the existing id if already
    /// registered. `replace_owner` decides whether `owner` takes the queue
    /// over (e.g. the previous owner is gone, or it is the same instance
    /// rebuilt).
    pub fn register(
        &mut self,
        vm_id: &str,
        name: &str,
        owner: O,
        replace_owner: impl Fn(&O) -> bool,
    ) -> u32 {
        if let Some(id) = self.names.get(&(vm_id.to_string(), name.to_string())) {
            if let Some(q) = self.queues.get_mut(id) {
                if replace_owner(&q.owner) {
                    q.owner = owner;
                }
            }
            return *id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.names.insert((vm_id.to_string(), name.to_string()), id);
        self.queues.insert(
            id,
            Queue {
                owner,
                items: VecDeque::new(),
            },
        );
        id
    }

    /// Id of queue `name` in `vm_id`.
    pub fn resolve(&self, vm_id: &str, name: &str) -> Option<u32> {
        self.names
            .get(&(vm_id.to_string(), name.to_string()))
            .copied()
    }

    /// Appends `item`, dropping the oldest items beyond `max_items`;
    /// returns the owner to wake and how many items were dropped.
    pub fn enqueue(
        &mut self,
        id: u32,
        item: Vec<u8>,
        max_items: usize,
    ) -> Result<(O, usize), Status> {
        let q = self.queues.get_mut(&id).ok_or(Status::NotFound)?;
        q.items.push_back(item);
        let mut dropped = 0;
        while q.items.len() > max_items.max(1) {
            q.items.pop_front();
            dropped += 1;
        }
        Ok((q.owner.clone(), dropped))
    }

    /// Takes the oldest item.
    pub fn dequeue(&mut self, id: u32) -> Result<Vec<u8>, Status> {
        let q = self.queues.get_mut(&id).ok_or(Status::NotFound)?;
        q.items.pop_front().ok_or(Status::Empty)
    }
}

fn register(caller: &mut Caller<'_, HostState>, np: i32, nl: i32, ret: i32) -> HostResult {
    let name = tri!(read_string(caller, np, nl));
    let state = caller.data();
    let Some(owner) = state.queue_owner.clone() else {
        // `oauth-host check`: no worker to deliver to; ids stay valid.
        let reg = state
            .plugin
            .process
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let id = reg.resolve(&state.plugin.spec.vm_id, &name).unwrap_or(0);
        drop(reg);
        tri!(write_u32(caller, ret, id));
        return Ok(Status::Ok);
    };
    let id = {
        let mut reg = state
            .plugin
            .process
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let me = (owner.worker_id, owner.plugin_index);
        reg.register(&state.plugin.spec.vm_id, &name, owner, |old| {
            old.sender.is_closed() || (old.worker_id, old.plugin_index) == me
        })
    };
    tri!(write_u32(caller, ret, id));
    Ok(Status::Ok)
}

fn resolve(
    caller: &mut Caller<'_, HostState>,
    vp: i32,
    vl: i32,
    np: i32,
    nl: i32,
    ret: i32,
) -> HostResult {
    let vm_id = tri!(read_string(caller, vp, vl));
    let name = tri!(read_string(caller, np, nl));
    let vm_id = if vm_id.is_empty() {
        caller.data().plugin.spec.vm_id.clone()
    } else {
        vm_id
    };
    let id = {
        let reg = caller
            .data()
            .plugin
            .process
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        reg.resolve(&vm_id, &name)
    };
    let id = tri!(id.ok_or(Status::NotFound));
    tri!(write_u32(caller, ret, id));
    Ok(Status::Ok)
}

fn enqueue(caller: &mut Caller<'_, HostState>, id: i32, vp: i32, vl: i32) -> HostResult {
    let value = tri!(read_bytes(caller, vp, vl));
    let plugin = &caller.data().plugin;
    let enqueued = plugin
        .process
        .queues
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .enqueue(id as u32, value, plugin.spec.max_queue_items);
    let (owner, dropped) = tri!(enqueued);
    if dropped > 0 {
        plugin.process.metrics.inc_counter(
            "oauth_host_queue_items_dropped_total",
            &[("plugin", &plugin.spec.name)],
            dropped as u64,
        );
    }
    // A closed channel means the owner's worker is gone; the item waits for
    // a dequeue by id.
    let _ = owner.sender.send(QueueEvent {
        plugin_index: owner.plugin_index,
        queue_id: id as u32,
    });
    Ok(Status::Ok)
}

fn dequeue(caller: &mut Caller<'_, HostState>, id: i32, rp: i32, rl: i32) -> HostResult {
    let item = {
        let mut reg = caller
            .data()
            .plugin
            .process
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        reg.dequeue(id as u32)
    };
    let item = tri!(item);
    return_bytes(caller, &item, rp, rl)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: Caller<'_, HostState>, np: i32, nl: i32, ret: i32| {
            register(&mut c, np, nl, ret).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: Caller<'_, HostState>, vp: i32, vl: i32, np: i32, nl: i32, ret: i32| {
            resolve(&mut c, vp, vl, np, nl, ret).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |mut c: Caller<'_, HostState>, id: i32, vp: i32, vl: i32| {
            enqueue(&mut c, id, vp, vl).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: Caller<'_, HostState>, id: i32, rp: i32, rl: i32| {
            dequeue(&mut c, id, rp, rl).map(Status::code)
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_registrant_owns_until_replaced() {
        let mut reg: QueueRegistry<&'static str> = QueueRegistry::default();
        let a = reg.register("vm", "q", "worker0", |_| false);
        let b = reg.register("vm", "q", "worker1", |_| false);
        assert_eq!(a, b);
        assert_eq!(
            reg.enqueue(a, b"1".to_vec(), 100).map(|(o, _)| o),
            Ok("worker0")
        );
        let c = reg.register("vm", "q", "worker1", |old| *old == "worker0");
        assert_eq!(c, a);
        assert_eq!(
            reg.enqueue(a, b"2".to_vec(), 100).map(|(o, _)| o),
            Ok("worker1")
        );
        assert_ne!(reg.register("other-vm", "q", "w", |_| false), a);
        assert_eq!(reg.resolve("vm", "q"), Some(a));
        assert_eq!(reg.resolve("vm", "nope"), None);
    }

    #[test]
    fn fifo_and_statuses() {
        let mut reg: QueueRegistry<()> = QueueRegistry::default();
        let id = reg.register("vm", "q", (), |_| false);
        assert_eq!(reg.dequeue(id), Err(Status::Empty));
        reg.enqueue(id, b"a".to_vec(), 100).map(|(o, _)| o).unwrap();
        reg.enqueue(id, b"b".to_vec(), 100).map(|(o, _)| o).unwrap();
        assert_eq!(reg.dequeue(id), Ok(b"a".to_vec()));
        assert_eq!(reg.dequeue(id), Ok(b"b".to_vec()));
        assert_eq!(reg.dequeue(99), Err(Status::NotFound));
        assert_eq!(
            reg.enqueue(99, vec![], 100).map(|(o, _)| o),
            Err(Status::NotFound)
        );
    }

    #[test]
    fn a_queue_keeps_its_newest_items() {
        let mut reg: QueueRegistry<&str> = QueueRegistry::default();
        let id = reg.register("vm", "q", "w", |_| false);
        for i in 0..5u8 {
            let (_, dropped) = reg.enqueue(id, vec![i], 3).unwrap();
            assert_eq!(dropped, usize::from(i >= 3));
        }
        assert_eq!(reg.dequeue(id), Ok(vec![2]));
        assert_eq!(reg.dequeue(id), Ok(vec![3]));
        assert_eq!(reg.dequeue(id), Ok(vec![4]));
        assert_eq!(reg.dequeue(id), Err(Status::Empty));
    }
}
