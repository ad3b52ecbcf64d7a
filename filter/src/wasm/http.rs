//! Per-request context.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use super::{evaluate, Applied, WorkerRef};

/// One HTTP stream.
pub struct Http {
    id: u32,
    worker: WorkerRef,
}

impl Http {
    /// Context for stream `id`.
    pub fn new(id: u32, worker: WorkerRef) -> Http {
        Http { id, worker }
    }
}

impl Context for Http {
    fn on_done(&mut self) -> bool {
        // A held stream that ends (client gone) must not be resumed later.
        self.worker.borrow_mut().waiting.remove(&self.id);
        true
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match evaluate(&self.worker, self.id, None, false) {
            Applied::Forwarded => Action::Continue,
            // Held until the root context resumes or answers it; or answered.
            Applied::Held | Applied::Replied => Action::Pause,
        }
    }
}
