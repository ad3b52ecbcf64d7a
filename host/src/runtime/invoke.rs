//! Calling into a plugin's instance on a worker ([`invoke`]) with crash
//! containment, keeping the instance running ([`ensure`]), and starting the
//! work a call leaves behind: the callouts it asked for and its tick timer
//! (run by `super::worker_tasks`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use wasmtime::Store;

use super::state::{HostState, PendingCallout};
use super::vm::{Exports, PluginSlot};
use super::worker_tasks::{run_callout, run_ticks};

/// A worker's slot for one plugin.
pub(crate) type SlotRef = Rc<RefCell<PluginSlot>>;

/// The instance crashed (or was already replaced); the callback did not run
/// to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Crashed;

/// Work left by a callback for the worker.
struct AfterCall {
    callouts: Vec<PendingCallout>,
    tick: Option<(Duration, u64)>,
    generation: u64,
    on_worker: bool,
}

impl AfterCall {
    /// What the last callback into `s`'s instance left for the worker: its
    /// callouts and a changed tick period (with a new tick epoch). `None`
    /// when there is no instance.
    fn take(s: &mut PluginSlot, generation: u64) -> Option<AfterCall> {
        let vm = s.vm()?;
        let data = vm.store.data();
        let callouts = std::mem::take(&mut *data.pending_callouts.borrow_mut());
        let period = data
            .tick_changed
            .replace(false)
            .then(|| data.tick_period.get());
        let on_worker = data.on_worker;
        let tick = period.map(|period| {
            s.tick_epoch += 1;
            (period, s.tick_epoch)
        });
        Some(AfterCall {
            callouts,
            tick,
            generation,
            on_worker,
        })
    }
}

/// Calls into `slot`'s instance of generation `generation` with context
/// `ctx` effective. On a trap the instance is dropped (and counted), the
/// streams it served are woken, and `Err(Crashed)` is returned. Afterwards
/// the callouts and tick changes the callback asked for are started.
pub(crate) fn invoke<R>(
    slot: &SlotRef,
    generation: u64,
    ctx: u32,
    f: impl FnOnce(&Exports, &mut Store<HostState>) -> wasmtime::Result<R>,
) -> Result<R, Crashed> {
    let (value, after) = {
        let mut s = slot.borrow_mut();
        if s.generation != generation {
            return Err(Crashed);
        }
        let Some(vm) = s.vm() else {
            return Err(Crashed);
        };
        match vm.call(ctx, f) {
            Ok(value) => match AfterCall::take(&mut s, generation) {
                Some(after) => (value, after),
                // Not reached: the instance that just answered is there.
                None => return Ok(value),
            },
            Err(error) => {
                let woken = s.crash(&error);
                drop(s);
                for ctx in woken {
                    ctx.notify.notify_one();
                }
                return Err(Crashed);
            }
        }
    };
    start_after_call(slot, after);
    Ok(value)
}

fn start_after_call(slot: &SlotRef, after: AfterCall) {
    if !after.on_worker {
        return;
    }
    for callout in after.callouts {
        spawn_on_worker(run_callout(Rc::downgrade(slot), after.generation, callout));
    }
    if let Some((period, epoch)) = after.tick {
        if !period.is_zero() {
            spawn_on_worker(run_ticks(
                Rc::downgrade(slot),
                after.generation,
                epoch,
                period,
            ));
        }
    }
}

/// Spawns on the worker's `LocalSet`. Outside of one (a stream dropped while
/// the worker shuts down) the work is dropped instead of panicking.
fn spawn_on_worker(task: impl std::future::Future<Output = ()> + 'static) {
    let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tokio::task::spawn_local(task);
    }));
    if spawned.is_err() {
        tracing::warn!("wasm callout or timer dropped: worker is shutting down");
    }
}

/// Makes sure the slot's instance runs (rebuilding it after a crash once
/// the backoff has passed); returns its generation.
pub(crate) fn ensure(slot: &SlotRef) -> Option<u64> {
    let (running, rebuilt, generation) = {
        let mut s = slot.borrow_mut();
        let before = s.generation;
        let running = s.ensure_running();
        (running, s.generation != before, s.generation)
    };
    if rebuilt {
        after_start(slot);
    }
    running.then_some(generation)
}

/// Starts the callouts and ticks left by start-up (`on_vm_start`/`on_configure`).
pub(crate) fn after_start(slot: &SlotRef) {
    let after = {
        let mut s = slot.borrow_mut();
        let generation = s.generation;
        let Some(after) = AfterCall::take(&mut s, generation) else {
            return;
        };
        after
    };
    start_after_call(slot, after);
}
