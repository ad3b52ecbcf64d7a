//! Per-request context.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};

use super::{
    abandon_callouts, abi, deliver, evaluate, finish_audit, needs, request_body,
    strip_owned_trailers, upstream_response, wants_body, Applied, OwnedRequest, WorkerRef,
};

/// One HTTP stream.
pub struct Http {
    id: u32,
    worker: WorkerRef,
    /// A request whose body the core wants (the token service), with the
    /// limit: its headers are held while the body is buffered.
    awaiting_body: Option<(OwnedRequest, usize)>,
}

impl Http {
    /// Context for stream `id`.
    pub fn new(id: u32, worker: WorkerRef) -> Http {
        Http {
            id,
            worker,
            awaiting_body: None,
        }
    }

    /// Ask the core about `req` and turn the outcome into the callback's
    /// action.
    fn decide(&self, req: OwnedRequest) -> Action {
        match evaluate(&self.worker, self.id, req, None, false, self.id) {
            Applied::Forwarded => Action::Continue,
            // Held until the root context resumes or answers it; or answered.
            Applied::Held | Applied::Replied => Action::Pause,
        }
    }

    /// The body is complete (or past the limit): decide with at most one
    /// byte more than the limit, so the core can refuse an oversize body.
    fn decide_with_body(&mut self, available: usize) -> Action {
        let Some((mut req, limit)) = self.awaiting_body.take() else {
            return Action::Continue;
        };
        req.body = Some(request_body(available.min(limit.saturating_add(1))));
        self.decide(req)
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
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let spare = self.worker.borrow_mut().spare.take();
        let mut req = OwnedRequest::read(needs(&self.worker), spare);
        if let Some(limit) = wants_body(&self.worker, &req) {
            if !end_of_stream {
                // Decided when the body is complete (on_http_request_body).
                // Envoy delivers no body to a filter that paused the
                // headers (proxy-wasm's pause is StopAllIteration there):
                // the headers go on, the body is held here, and the local
                // answer resets the upstream request. The caller's token,
                // copied above, never reaches the upstream.
                let _ = abi::set_header(MapType::HttpRequestHeaders, "authorization", None);
                self.awaiting_body = Some((req, limit));
                return Action::Continue;
            }
            req.body = Some(Vec::new());
        }
        self.decide(req)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match &self.awaiting_body {
            None => Action::Continue,
            // Keep buffering (the host holds the body).
            Some((_, limit)) if !end_of_stream && body_size <= *limit => Action::Pause,
            Some(_) => self.decide_with_body(body_size),
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        strip_owned_trailers(&self.worker);
        if self.awaiting_body.is_some() {
            return self.decide_with_body(usize::MAX);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        upstream_response(&self.worker, self.id);
        Action::Continue
    }
}
