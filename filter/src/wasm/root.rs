//! Root context: configuration, ticks, key-fetch callouts.

use std::collections::HashMap;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};

use super::http::Http;
use super::store::HostStore;
use super::{log, now, resume_waiting, worker_id, Worker, WorkerRef};
use crate::core::config;
use crate::core::keys::MAX_BODY;
use crate::core::{Callout, CalloutId, CalloutResponse, Filter};

/// One worker's root context.
pub struct Root {
    id: u32,
    worker: WorkerRef,
    worker_id: String,
    /// Host callout token → core callout id.
    callouts: HashMap<u32, CalloutId>,
}

impl Root {
    /// Root context `id`.
    pub fn new(id: u32) -> Root {
        Root {
            id,
            worker: Worker::new(),
            worker_id: worker_id(id),
            callouts: HashMap::new(),
        }
    }

    fn dispatch(&mut self, list: Vec<Callout>) {
        let mut failed = Vec::new();
        for c in list {
            let headers = c.headers();
            let hs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            match self.dispatch_http_call(
                &c.cluster,
                hs,
                None,
                vec![],
                Duration::from_millis(c.timeout_ms),
            ) {
                Ok(token) => {
                    self.callouts.insert(token, c.id);
                }
                Err(status) => {
                    log(
                        LogLevel::Warn,
                        &format!(
                            "oauth-filter: callout to cluster {} refused by the host: {status:?}",
                            c.cluster
                        ),
                    );
                    failed.push(c.id);
                }
            }
        }
        for id in failed {
            let more = self.with_filter(|f| {
                let resp = CalloutResponse {
                    status: None,
                    headers: &[],
                    body: &[],
                };
                f.on_callout_response(id, resp, now(), &mut HostStore)
            });
            // A failure never asks for a follow-up; guard against loops anyway.
            if let Some(more) = more {
                if !more.is_empty() {
                    log(
                        LogLevel::Warn,
                        "oauth-filter: follow-up callout after a refused dispatch dropped",
                    );
                }
            }
        }
    }

    fn with_filter<T>(&self, f: impl FnOnce(&mut Filter) -> T) -> Option<T> {
        let mut w = self.worker.borrow_mut();
        let filter = w.filter.as_mut()?;
        let out = f(filter);
        let events = filter.drain_events();
        w.emit(events);
        Some(out)
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
        let Some(id) = self.callouts.remove(&token) else {
            return;
        };
        let headers = if num_headers == 0 {
            Vec::new()
        } else {
            self.get_http_call_response_headers()
        };
        let status = headers
            .iter()
            .find(|(k, _)| k == ":status")
            .and_then(|(_, v)| v.parse::<u16>().ok());
        // Read at most one byte past the limit: the core refuses oversize bodies.
        let body = if status.is_some() && body_size > 0 {
            self.get_http_call_response_body(0, body_size.min(MAX_BODY + 1))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let resp = CalloutResponse {
            status,
            headers: &headers,
            body: &body,
        };
        let more = self
            .with_filter(|f| f.on_callout_response(id, resp, now(), &mut HostStore))
            .unwrap_or_default();
        self.dispatch(more);
        resume_waiting(&self.worker, self.id);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match config::parse(&bytes) {
            Ok(cfg) => {
                let tick = cfg.raw.tick_ms;
                let n = cfg.providers.len();
                // Answers to the old configuration's callouts are dropped.
                self.callouts.clear();
                self.worker.borrow_mut().filter = Some(Filter::new(cfg, &self.worker_id));
                self.set_tick_period(Duration::from_millis(tick));
                log(
                    LogLevel::Info,
                    &format!("oauth-filter: configured with {n} provider(s), tick {tick} ms"),
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
        let list = self
            .with_filter(|f| f.on_tick(now(), &mut HostStore))
            .unwrap_or_default();
        self.dispatch(list);
        resume_waiting(&self.worker, self.id);
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(context_id, self.worker.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
