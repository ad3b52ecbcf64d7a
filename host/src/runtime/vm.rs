//! One plugin instance (wasmtime `Store` + instance) and its slot on a
//! worker: start-up, calls under the CPU limit, crash containment and
//! rebuild with backoff.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Engine, Instance, Linker, Module, Store, Trap, TypedFunc};

use super::state::{HostState, PluginShared, StreamCtx};
use super::RuntimeError;
use crate::abi::queues::QueueOwner;

/// Interval of the epoch ticker thread; CPU limits are rounded up to it.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Name of the crash counter.
pub const CRASH_METRIC: &str = "oauth_host_wasm_crashes_total";

/// proxy-wasm ABI version announced by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiVersion {
    /// `proxy_abi_version_0_2_0`
    V0_2_0,
    /// `proxy_abi_version_0_2_1`
    V0_2_1,
}

/// A compiled plugin: module, linker and facts, shared by every worker.
pub(crate) struct CompiledPlugin {
    pub shared: Arc<PluginShared>,
    pub module: Module,
    pub linker: Linker<HostState>,
    pub abi: AbiVersion,
}

type F1 = TypedFunc<i32, ()>;
type F1R = TypedFunc<i32, i32>;
type F2 = TypedFunc<(i32, i32), ()>;
type F2R = TypedFunc<(i32, i32), i32>;
type F3R = TypedFunc<(i32, i32, i32), i32>;
type F5 = TypedFunc<(i32, i32, i32, i32, i32), ()>;

/// The module's proxy-wasm exports (missing callbacks are skipped).
pub(crate) struct Exports {
    pub on_context_create: Option<F2>,
    pub on_vm_start: Option<F2R>,
    pub on_configure: Option<F2R>,
    pub on_request_headers: Option<F3R>,
    pub on_request_body: Option<F3R>,
    pub on_request_trailers: Option<F2R>,
    pub on_response_headers: Option<F3R>,
    pub on_response_body: Option<F3R>,
    pub on_response_trailers: Option<F2R>,
    pub on_done: Option<F1R>,
    pub on_log: Option<F1>,
    pub on_delete: Option<F1>,
    pub on_tick: Option<F1>,
    pub on_queue_ready: Option<F2>,
    pub on_http_call_response: Option<F5>,
}

impl Exports {
    fn load(store: &mut Store<HostState>, instance: &Instance) -> Exports {
        macro_rules! get {
            ($name:literal) => {
                instance.get_typed_func(&mut *store, $name).ok()
            };
        }
        Exports {
            on_context_create: get!("proxy_on_context_create"),
            on_vm_start: get!("proxy_on_vm_start"),
            on_configure: get!("proxy_on_configure"),
            on_request_headers: get!("proxy_on_request_headers"),
            on_request_body: get!("proxy_on_request_body"),
            on_request_trailers: get!("proxy_on_request_trailers"),
            on_response_headers: get!("proxy_on_response_headers"),
            on_response_body: get!("proxy_on_response_body"),
            on_response_trailers: get!("proxy_on_response_trailers"),
            on_done: get!("proxy_on_done"),
            on_log: get!("proxy_on_log"),
            on_delete: get!("proxy_on_delete"),
            on_tick: get!("proxy_on_tick"),
            on_queue_ready: get!("proxy_on_queue_ready"),
            on_http_call_response: get!("proxy_on_http_call_response"),
        }
    }
}

/// Compiles the module and checks it is a proxy-wasm module.
pub(crate) fn compile(
    engine: &Engine,
    base_linker: &Linker<HostState>,
    shared: Arc<PluginShared>,
) -> Result<CompiledPlugin, RuntimeError> {
    let spec = &shared.spec;
    let load_err = |reason: String| RuntimeError::Load {
        plugin: spec.name.clone(),
        path: spec.module_path.clone(),
        reason,
    };
    let bytes = std::fs::read(&spec.module_path).map_err(|e| load_err(e.to_string()))?;
    let module = Module::new(engine, &bytes).map_err(|e| load_err(format!("{e:#}")))?;
    let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
    let abi = if exports.contains(&"proxy_abi_version_0_2_1") {
        AbiVersion::V0_2_1
    } else if exports.contains(&"proxy_abi_version_0_2_0") {
        AbiVersion::V0_2_0
    } else {
        return Err(load_err(
            "not a proxy-wasm 0.2.x module (no proxy_abi_version_0_2_1 or _0_2_0 export)".into(),
        ));
    };
    if !exports.contains(&"proxy_on_memory_allocate") && !exports.contains(&"malloc") {
        return Err(load_err(
            "module exports neither proxy_on_memory_allocate nor malloc".into(),
        ));
    }
    if !exports.contains(&"memory") {
        return Err(load_err("module exports no memory".into()));
    }
    let mut linker = base_linker.clone();
    // Imports this host does not provide trap if called, so modules that
    // merely link them still load.
    linker
        .define_unknown_imports_as_traps(&module)
        .map_err(|e| load_err(format!("{e:#}")))?;
    Ok(CompiledPlugin {
        shared,
        module,
        linker,
        abi,
    })
}

/// A running instance.
pub(crate) struct Vm {
    pub store: Store<HostState>,
    pub exports: Exports,
    cpu_ticks: u64,
}

impl Vm {
    /// Instantiates, runs `_initialize`/`main` or `_start`, creates the root
    /// context and runs `on_vm_start` and `on_configure`.
    pub(crate) fn start(
        engine: &Engine,
        compiled: &CompiledPlugin,
        queue_owner: Option<QueueOwner>,
    ) -> Result<Vm, RuntimeError> {
        let spec = &compiled.shared.spec;
        let fail = |phase: &'static str, reason: String| RuntimeError::Start {
            plugin: spec.name.clone(),
            phase,
            reason,
        };
        let mut store = Store::new(engine, HostState::new(compiled.shared.clone(), queue_owner));
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        let cpu_ticks =
            (spec.callback_cpu_limit.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1;
        store.set_epoch_deadline(cpu_ticks);
        let instance = compiled
            .linker
            .instantiate(&mut store, &compiled.module)
            .map_err(|e| fail("instantiate", describe(&e)))?;
        let exports = Exports::load(&mut store, &instance);
        let mut vm = Vm {
            store,
            exports,
            cpu_ticks,
        };

        if let Ok(init) = instance.get_typed_func::<(), ()>(&mut vm.store, "_initialize") {
            vm.arm();
            init.call(&mut vm.store, ())
                .map_err(|e| fail("_initialize", describe(&e)))?;
            if let Ok(main) = instance.get_typed_func::<(i32, i32), i32>(&mut vm.store, "main") {
                vm.arm();
                main.call(&mut vm.store, (0, 0))
                    .map_err(|e| fail("main", describe(&e)))?;
            }
        } else if let Ok(start) = instance.get_typed_func::<(), ()>(&mut vm.store, "_start") {
            vm.arm();
            start
                .call(&mut vm.store, ())
                .map_err(|e| fail("_start", describe(&e)))?;
        }
        let root = vm.store.data().root_context_id as i32;
        let vm_config_len = spec.vm_configuration.len() as i32;
        let plugin_config_len = spec.configuration.len() as i32;
        if let Some(f) = vm.exports.on_context_create.clone() {
            vm.arm();
            f.call(&mut vm.store, (root, 0))
                .map_err(|e| fail("proxy_on_context_create", describe(&e)))?;
        }
        if let Some(f) = vm.exports.on_vm_start.clone() {
            vm.arm();
            let ok = f
                .call(&mut vm.store, (root, vm_config_len))
                .map_err(|e| fail("proxy_on_vm_start", describe(&e)))?;
            if ok == 0 {
                return Err(fail(
                    "proxy_on_vm_start",
                    "the module returned false".into(),
                ));
            }
        }
        if let Some(f) = vm.exports.on_configure.clone() {
            vm.arm();
            let ok = f
                .call(&mut vm.store, (root, plugin_config_len))
                .map_err(|e| fail("proxy_on_configure", describe(&e)))?;
            if ok == 0 {
                return Err(fail(
                    "proxy_on_configure",
                    "the module returned false (bad plugin configuration?)".into(),
                ));
            }
        }
        Ok(vm)
    }

    fn arm(&mut self) {
        self.store.set_epoch_deadline(self.cpu_ticks);
    }

    /// Calls into the module with context `ctx` effective, under the CPU limit.
    pub(crate) fn call<R>(
        &mut self,
        ctx: u32,
        f: impl FnOnce(&Exports, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        self.arm();
        self.store.data().effective_context.set(ctx);
        f(&self.exports, &mut self.store)
    }
}

/// Describes why a call failed, naming CPU and memory limits.
pub(crate) fn describe(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => "CPU time limit exceeded (epoch deadline)".into(),
        Some(trap) => format!("trap: {trap}"),
        None => {
            let text = format!("{e:#}");
            if text.contains("grow") && text.contains("memory") {
                format!("memory limit exceeded: {text}")
            } else {
                text
            }
        }
    }
}

/// Lifecycle of a worker's instance of one plugin.
pub(crate) enum VmState {
    /// Serving.
    Running(Box<Vm>),
    /// Crashed or failed to rebuild; rebuilt on first use after `retry_at`.
    Failed { retry_at: Instant },
}

/// One plugin on one worker.
pub(crate) struct PluginSlot {
    pub engine: Engine,
    pub compiled: Arc<CompiledPlugin>,
    pub queue_owner: Option<QueueOwner>,
    pub state: VmState,
    /// Changes on every crash and rebuild: callouts, ticks and streams of
    /// an older generation are dropped.
    pub generation: u64,
    pub crashes_in_row: u32,
    /// Changes whenever the tick timer is re-armed.
    pub tick_epoch: u64,
}

impl PluginSlot {
    pub(crate) fn name(&self) -> &str {
        &self.compiled.shared.spec.name
    }

    pub(crate) fn vm(&mut self) -> Option<&mut Vm> {
        match &mut self.state {
            VmState::Running(vm) => Some(vm),
            VmState::Failed { .. } => None,
        }
    }

    /// Rebuilds a failed instance once its backoff has passed. Returns
    /// whether the instance is running.
    pub(crate) fn ensure_running(&mut self) -> bool {
        match &self.state {
            VmState::Running(_) => true,
            VmState::Failed { retry_at } if Instant::now() < *retry_at => false,
            VmState::Failed { .. } => {
                match Vm::start(&self.engine, &self.compiled, self.queue_owner.clone()) {
                    Ok(vm) => {
                        tracing::info!(plugin = %self.name(), "wasm instance rebuilt");
                        self.state = VmState::Running(Box::new(vm));
                        self.generation += 1;
                        true
                    }
                    Err(e) => {
                        self.crashes_in_row += 1;
                        let backoff = backoff(self.crashes_in_row);
                        tracing::error!(plugin = %self.name(), error = %e, ?backoff, "wasm instance rebuild failed");
                        self.state = VmState::Failed {
                            retry_at: Instant::now() + backoff,
                        };
                        false
                    }
                }
            }
        }
    }

    /// Records a crash: drops the instance, counts it, schedules a rebuild.
    /// Returns the stream contexts to wake.
    pub(crate) fn crash(&mut self, error: &wasmtime::Error) -> Vec<Rc<StreamCtx>> {
        self.crashes_in_row += 1;
        let backoff = backoff(self.crashes_in_row);
        let shared = &self.compiled.shared;
        tracing::error!(plugin = %shared.spec.name, reason = %describe(error), ?backoff, "wasm instance crashed; it will be rebuilt");
        shared
            .process
            .metrics
            .inc_counter(CRASH_METRIC, &[("plugin", &shared.spec.name)], 1);
        let old = std::mem::replace(
            &mut self.state,
            VmState::Failed {
                retry_at: Instant::now() + backoff,
            },
        );
        self.generation += 1;
        match old {
            VmState::Running(vm) => vm.store.data().streams.values().cloned().collect(),
            VmState::Failed { .. } => Vec::new(),
        }
    }
}

/// Delay before rebuilding after `n` crashes in a row: the first rebuild is
/// immediate, then 50 ms doubling up to 10 s.
pub(crate) fn backoff(n: u32) -> Duration {
    if n <= 1 {
        return Duration::ZERO;
    }
    let ms = 50u64.saturating_mul(1u64 << (n - 2).min(20));
    Duration::from_millis(ms.min(10_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_millis(50));
        assert_eq!(backoff(3), Duration::from_millis(100));
        assert_eq!(backoff(40), Duration::from_secs(10));
    }
}
