//! Root context: configuration, ticks, key-fetch callouts.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};

use super::abi;
use super::foreign_verify::FOREIGN_VERIFY;
use super::http::Http;
use super::store::HostStore;
use super::{call, deliver, dispatch, log, now, resume_all, worker_id, Worker, WorkerRef};
use crate::core::config::{self, Secrets};
use crate::core::Filter;

/// One worker's root context.
pub struct Root {
    id: u32,
    worker: WorkerRef,
    worker_id: String,
}

impl Root {
    /// Root context `id`.
    pub fn new(id: u32) -> Root {
        let worker = Worker::new();
        worker.borrow_mut().root_id = id;
        Root {
            id,
            worker,
            worker_id: worker_id(id),
        }
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        deliver(&self.worker, token, num_headers, body_size, self.id);
    }

    fn on_done(&mut self) -> bool {
        // The plugin stops: write what the audit batch holds.
        self.worker.borrow_mut().flush_audit();
        true
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = configuration(BufferType::PluginConfiguration);
        // Secrets may live in the VM configuration ({"secrets": {...}}),
        // apart from the plugin configuration.
        let vm = configuration(BufferType::VmConfiguration);
        // `{"env": NAME}` secrets: the VM's environment (WASI `environ_get`).
        let parsed = config::parse_vm_secrets(&vm).and_then(|vm_secrets| {
            // (vars_os: a variable that is not UTF-8 is skipped, never a panic.)
            let env = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
            let secrets = Secrets::new().with_env(env).with_vm_config(vm_secrets);
            config::parse_with(&bytes, &secrets)
        });
        match parsed {
            Ok(cfg) => {
                let tick = cfg.raw.tick_ms;
                let n = cfg.providers.len();
                let sources = cfg.client.as_ref().map_or(0, |c| c.sources.len());
                // Answers to the old configuration's callouts are dropped.
                // Native RSA/ECDSA when the host offers `verify_signature`.
                let mut filter = if cfg.raw.host_signature_verification {
                    Filter::with_backend(cfg, &self.worker_id, &FOREIGN_VERIFY)
                } else {
                    Filter::new(cfg, &self.worker_id)
                };
                let mut seed = [0u8; 32];
                if getrandom::getrandom(&mut seed).is_ok() {
                    filter.seed_rng(seed);
                }
                filter.init_shared(&mut HostStore);
                let mut w = self.worker.borrow_mut();
                w.callouts.clear();
                w.filter = Some(filter);
                drop(w);
                if abi::set_tick_period(tick).is_err() {
                    log(
                        LogLevel::Error,
                        "oauth-filter: the host refused the tick period; key refresh and held-request budgets depend on it",
                    );
                }
                log(
                    LogLevel::Info,
                    &format!(
                        "oauth-filter: configured with {n} provider(s), {sources} token source(s), tick {tick} ms"
                    ),
                );
                true
            }
            Err(e) => {
                log(LogLevel::Error, &format!("oauth-filter: {e}"));
                false
            }
        }
    }

    fn on_tick(&mut self) {
        // A tick wakes every held request, whatever is ready.
        if let Some(p) = call(&self.worker, now(), None, |f, io| f.handle_tick(io)) {
            dispatch(&self.worker, p.callouts, self.id);
        }
        resume_all(&self.worker, self.id);
        let mut w = self.worker.borrow_mut();
        w.flush_counters();
        w.flush_audit();
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(context_id, self.worker.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// The plugin's or the VM's configuration (empty when absent or refused).
fn configuration(which: BufferType) -> Vec<u8> {
    abi::buffer(which, 0, usize::MAX)
        .ok()
        .flatten()
        .unwrap_or_default()
}
