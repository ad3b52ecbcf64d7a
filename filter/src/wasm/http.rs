//! Per-request context.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use super::{
    abandon_callouts, deliver, evaluate, finish_audit, needs, strip_owned_trailers,
    upstream_response, Applied, OwnedRequest, WorkerRef,
};

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
        // A held stream that ends (client gone) must not be resumed later.
        self.worker.borrow_mut().held.release(self.id);
        self.worker.borrow_mut().injected.remove(&self.id);
        self.worker.borrow_mut().response_headers.remove(&self.id);
        finish_audit(&self.worker, self.id);
        abandon_callouts(&self.worker, self.id);
        true
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let req = OwnedRequest::read(needs(&self.worker));
        match evaluate(&self.worker, self.id, req, None, false, self.id) {
            Applied::Forwarded => Action::Continue,
            // Held until the root context resumes or answers it; or answered.
            Applied::Held | Applied::Replied => Action::Pause,
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        strip_owned_trailers(&self.worker);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        upstream_response(&self.worker, self.id);
        Action::Continue
    }
}
