//! A proxy-wasm module that does nothing: a root context that creates one
//! HTTP context per stream, and the HTTP context's callbacks all keep their
//! defaults (continue, no host call). The bench's floor case.
//!
//! With the plugin configuration `{"reads":true}` it also makes the two
//! host calls any token filter needs per request, and nothing else: it
//! reads the request's header map (one `proxy_get_header_map_pairs`, whose
//! answer the host writes through the module's allocator) and the clock.
//! That is the bench's second floor (`2r`, `7r`): what reading a token
//! costs in each proxy before any work on it.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};

proxy_wasm::main! {{
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(NoopRoot { reads: false }) });
}}

struct NoopRoot {
    reads: bool,
}

impl Context for NoopRoot {}

impl RootContext for NoopRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let compact: Vec<u8> = config
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        self.reads = compact == br#"{"reads":true}"#;
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(if self.reads {
            Box::new(Reads) as Box<dyn HttpContext>
        } else {
            Box::new(Noop)
        })
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Noop;

impl Context for Noop {}

impl HttpContext for Noop {}

/// Reads the header map and the clock, then continues.
struct Reads;

impl Context for Reads {}

impl HttpContext for Reads {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // The `_bytes` getter: no panic on a non-UTF-8 value.
        let headers = self.get_http_request_headers_bytes();
        let now = hostcalls::get_current_time();
        let _ = std::hint::black_box((headers, now));
        Action::Continue
    }
}
