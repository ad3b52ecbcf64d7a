//! Worker-side plumbing: calling into a plugin slot with crash containment,
//! and the tasks a worker runs for its instances (callouts, ticks, queues).

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use wasmtime::Store;

use super::state::{CallResponse, HostState, PendingCallout};
use super::vm::{Exports, PluginSlot};
use crate::abi::headers::HeaderList;
use crate::abi::queues::QueueEvent;

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
            Ok(value) => {
                let data = vm.store.data();
                let callouts = std::mem::take(&mut *data.pending_callouts.borrow_mut());
                let tick = data
                    .tick_changed
                    .replace(false)
                    .then(|| data.tick_period.get());
                let on_worker = data.on_worker;
                let tick = tick.map(|period| {
                    s.tick_epoch += 1;
                    (period, s.tick_epoch)
                });
                (
                    value,
                    AfterCall {
                        callouts,
                        tick,
                        generation,
                        on_worker,
                    },
                )
            }
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
        let Some(vm) = s.vm() else { return };
        let data = vm.store.data();
        let callouts = std::mem::take(&mut *data.pending_callouts.borrow_mut());
        let tick = data
            .tick_changed
            .replace(false)
            .then(|| data.tick_period.get());
        let on_worker = data.on_worker;
        let tick = tick.map(|period| {
            s.tick_epoch += 1;
            (period, s.tick_epoch)
        });
        AfterCall {
            callouts,
            tick,
            generation,
            on_worker,
        }
    };
    start_after_call(slot, after);
}

async fn run_callout(slot: Weak<RefCell<PluginSlot>>, generation: u64, callout: PendingCallout) {
    let client = match slot.upgrade() {
        Some(s) => s.borrow().compiled.shared.process.callouts.clone(),
        None => return,
    };
    let PendingCallout {
        token,
        cluster,
        request,
        timeout,
    } = callout;
    let call = client.call(&cluster, request, timeout);
    let result = if timeout.is_zero() {
        call.await
    } else {
        // The client applies the timeout too; this bounds a client that doesn't.
        match tokio::time::timeout(timeout + Duration::from_millis(50), call).await {
            Ok(r) => r,
            Err(_) => Err(super::CalloutError::Timeout),
        }
    };
    let response = match result {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let mut headers = HeaderList::default();
            headers.add(b":status", parts.status.as_str().as_bytes());
            for (k, v) in &parts.headers {
                headers.add(k.as_str().as_bytes(), v.as_bytes());
            }
            CallResponse {
                headers,
                trailers: HeaderList::default(),
                body: body.to_vec(),
                status: 0,
                message: String::new(),
            }
        }
        Err(e) => {
            tracing::warn!(cluster = %cluster, error = %e, "http_call failed");
            CallResponse {
                status: 14,
                message: e.to_string(),
                ..CallResponse::default()
            }
        }
    };
    let Some(slot) = slot.upgrade() else { return };
    let (nh, nb, nt) = (
        response.headers.len() as i32,
        response.body.len() as i32,
        response.trailers.len() as i32,
    );
    let root = 1u32;
    let _ = invoke(&slot, generation, root, move |ex, store| {
        store.data().call_response.replace(Some(response));
        let result = match &ex.on_http_call_response {
            Some(f) => f.call(&mut *store, (root as i32, token as i32, nh, nb, nt)),
            None => Ok(()),
        };
        store.data().call_response.replace(None);
        result
    });
}

async fn run_ticks(slot: Weak<RefCell<PluginSlot>>, generation: u64, epoch: u64, period: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(slot) = slot.upgrade() else { return };
        {
            let s = slot.borrow();
            if s.generation != generation || s.tick_epoch != epoch {
                return;
            }
        }
        let root = 1u32;
        let result = invoke(&slot, generation, root, |ex, store| match &ex.on_tick {
            Some(f) => f.call(store, root as i32),
            None => Ok(()),
        });
        if result.is_err() {
            return;
        }
    }
}

/// Delivers `on_queue_ready` for queues owned by this worker's instances.
pub(crate) async fn run_queue_events(
    slots: Vec<Weak<RefCell<PluginSlot>>>,
    mut events: UnboundedReceiver<QueueEvent>,
) {
    while let Some(event) = events.recv().await {
        let Some(slot) = slots.get(event.plugin_index).and_then(Weak::upgrade) else {
            if slots.iter().all(|s| s.strong_count() == 0) {
                return;
            }
            continue;
        };
        let Some(generation) = ensure(&slot) else {
            continue;
        };
        let root = 1u32;
        let _ = invoke(&slot, generation, root, |ex, store| {
            match &ex.on_queue_ready {
                Some(f) => f.call(store, (root as i32, event.queue_id as i32)),
                None => Ok(()),
            }
        });
    }
}
