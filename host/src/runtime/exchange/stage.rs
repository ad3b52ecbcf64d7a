//! One plugin's part in one stream ([`Stage`]) and the stages of one stream
//! ([`StreamShared`]): the stream context is created with the stream
//! (`proxy_on_context_create`) and ended when its last owner goes
//! (`proxy_on_done`, `proxy_on_log`, `proxy_on_delete`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::Notify;

use crate::abi::headers::HeaderList;
use crate::runtime::invoke::{ensure, invoke, Crashed, SlotRef};
use crate::runtime::state::{HostState, HttpData, Phase, StreamCtx};
use crate::runtime::vm::Exports;
use crate::runtime::ConnectionInfo;

/// One plugin's part in one stream.
pub(super) struct Stage {
    slot: SlotRef,
    pub(super) fail_open: bool,
    /// Largest body this plugin may hold buffered (its memory limit: the
    /// data is copied into its linear memory anyway).
    pub(super) max_buffer: usize,
    generation: u64,
    pub(super) ctx_id: u32,
    pub(super) ctx: Rc<StreamCtx>,
    alive: Cell<bool>,
}

impl Stage {
    fn new(slot: &SlotRef, http: &Rc<RefCell<HttpData>>, notify: &Rc<Notify>) -> Stage {
        let (fail_open, max_buffer) = {
            let s = slot.borrow();
            (
                s.compiled.shared.spec.fail_open,
                s.compiled.shared.spec.max_memory_bytes,
            )
        };
        let ctx = Rc::new(StreamCtx {
            http: http.clone(),
            notify: notify.clone(),
            request_body: RefCell::new(Vec::new()),
            response_body: RefCell::new(Vec::new()),
            resume_request: Cell::new(false),
            resume_response: Cell::new(false),
        });
        let mut stage = Stage {
            slot: slot.clone(),
            fail_open,
            max_buffer,
            generation: 0,
            ctx_id: 0,
            ctx,
            alive: Cell::new(false),
        };
        let Some(generation) = ensure(slot) else {
            return stage;
        };
        let ctx_id = {
            let mut s = slot.borrow_mut();
            let Some(vm) = s.vm() else { return stage };
            let data = vm.store.data_mut();
            let id = data.next_context_id;
            data.next_context_id = data.next_context_id.wrapping_add(1).max(2);
            data.streams.insert(id, stage.ctx.clone());
            id
        };
        stage.generation = generation;
        stage.ctx_id = ctx_id;
        stage.alive.set(true);
        let _ = stage.call(|ex, store| match &ex.on_context_create {
            Some(f) => f.call(store, (ctx_id as i32, 1)),
            None => Ok(()),
        });
        stage
    }

    pub(super) fn is_alive(&self) -> bool {
        if !self.alive.get() {
            return false;
        }
        let alive = self
            .slot
            .try_borrow()
            .map(|s| s.generation == self.generation)
            .unwrap_or(true);
        if !alive {
            self.alive.set(false);
        }
        alive
    }

    pub(super) fn call<R>(
        &self,
        f: impl FnOnce(&Exports, &mut wasmtime::Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, Crashed> {
        if !self.is_alive() {
            return Err(Crashed);
        }
        let r = invoke(&self.slot, self.generation, self.ctx_id, f);
        if r.is_err() {
            self.alive.set(false);
        }
        r
    }
}

/// State of one stream shared by `HttpStream` and its pipeline tasks; the
/// last owner to go ends the stream contexts.
pub(crate) struct StreamShared {
    pub(super) http: Rc<RefCell<HttpData>>,
    pub(super) notify: Rc<Notify>,
    pub(super) stages: Vec<Stage>,
    /// Body bytes a direction may hold before its headers are decided
    /// (`max_buffered_body_bytes`); beyond, the stream is refused.
    pub(super) max_held_body: usize,
}

impl StreamShared {
    pub(crate) fn new(
        slots: &[SlotRef],
        connection: Arc<ConnectionInfo>,
        max_held_body: usize,
    ) -> StreamShared {
        let http = Rc::new(RefCell::new(HttpData {
            connection,
            phase: Phase::Request,
            request_headers: HeaderList::default(),
            request_trailers: HeaderList::default(),
            response_headers: HeaderList::default(),
            response_trailers: HeaderList::default(),
            protocol: "HTTP/1.1",
            start_time: SystemTime::now(),
            local_reply: None,
            closed: false,
            properties: Default::default(),
        }));
        let notify = Rc::new(Notify::new());
        let stages = slots
            .iter()
            .map(|slot| Stage::new(slot, &http, &notify))
            .collect();
        StreamShared {
            http,
            notify,
            stages,
            max_held_body,
        }
    }
}

impl Drop for StreamShared {
    fn drop(&mut self) {
        for stage in &self.stages {
            if !stage.is_alive() {
                continue;
            }
            let ctx = stage.ctx_id as i32;
            let ok = stage
                .call(|ex, store| {
                    if let Some(f) = &ex.on_done {
                        f.call(&mut *store, ctx)?;
                    }
                    if let Some(f) = &ex.on_log {
                        f.call(&mut *store, ctx)?;
                    }
                    if let Some(f) = &ex.on_delete {
                        f.call(&mut *store, ctx)?;
                    }
                    Ok(())
                })
                .is_ok();
            if let Ok(mut s) = stage.slot.try_borrow_mut() {
                if s.generation == stage.generation {
                    if ok {
                        s.crashes_in_row = 0;
                    }
                    if let Some(vm) = s.vm() {
                        vm.store.data_mut().streams.remove(&stage.ctx_id);
                    }
                }
            }
        }
    }
}
