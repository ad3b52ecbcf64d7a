//! HTTP streams through a worker's chain: one stream context per plugin,
//! and a pipeline per direction that delivers headers and body chunks to
//! each plugin in turn, honouring pauses (`Action::Pause` from headers =
//! StopIteration, from body = StopIterationAndBuffer), resumes
//! (`continue_stream`, typically from a callout answer), local replies,
//! `close_stream` and crashes.
//!
//! The body is buffered at a plugin only while that plugin pauses; otherwise
//! chunks stream through. The pipeline runs as a task on the worker's
//! `LocalSet`; the forwarded body is a channel fed by that task, so it is
//! `Send` for the proxy's client and server.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};
use tokio::sync::{mpsc, oneshot, Notify};

use super::state::{HttpData, LocalReply, Phase, StreamCtx};
use super::worker::{ensure, invoke, Crashed, SlotRef};
use super::{Body, BoxError, ConnectionInfo};
use crate::abi::headers::HeaderList;

/// One plugin's part in one stream.
pub(crate) struct Stage {
    slot: SlotRef,
    fail_open: bool,
    /// Largest body this plugin may hold buffered (its memory limit: the
    /// data is copied into its linear memory anyway).
    max_buffer: usize,
    generation: u64,
    ctx_id: u32,
    ctx: Rc<StreamCtx>,
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

    fn is_alive(&self) -> bool {
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

    fn call<R>(
        &self,
        f: impl FnOnce(
            &super::vm::Exports,
            &mut wasmtime::Store<super::state::HostState>,
        ) -> wasmtime::Result<R>,
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
    pub http: Rc<RefCell<HttpData>>,
    pub notify: Rc<Notify>,
    pub stages: Vec<Stage>,
}

impl StreamShared {
    pub(crate) fn new(slots: &[SlotRef], connection: Arc<ConnectionInfo>) -> StreamShared {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Request,
    Response,
}

fn body_buffer(dir: Dir, stage: &Stage) -> &RefCell<Vec<u8>> {
    match dir {
        Dir::Request => &stage.ctx.request_body,
        Dir::Response => &stage.ctx.response_body,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadersState {
    NotStarted,
    Stopped,
    Passed,
}

#[derive(Debug)]
struct StageRun {
    headers: HeadersState,
    /// Data handed over by the previous stage, not yet shown to this one.
    input: Vec<u8>,
    input_eos: bool,
    eos_called: bool,
    trailers_called: bool,
    body_continue: bool,
    eos_flushed: bool,
}

/// Why a direction stopped before its end.
#[derive(Debug)]
enum Interrupt {
    LocalReply,
    Closed,
    Failed,
    /// A plugin buffered more body than its memory limit.
    TooLarge,
    Source(BoxError),
}

struct Pipeline {
    shared: Rc<StreamShared>,
    dir: Dir,
    order: Vec<usize>,
    runs: Vec<StageRun>,
    has_body: bool,
    output: Vec<u8>,
    output_eos: bool,
}

impl Pipeline {
    fn new(shared: Rc<StreamShared>, dir: Dir, has_body: bool) -> Pipeline {
        let mut order: Vec<usize> = (0..shared.stages.len()).collect();
        if dir == Dir::Response {
            order.reverse();
        }
        let runs = order
            .iter()
            .map(|_| StageRun {
                headers: HeadersState::NotStarted,
                input: Vec::new(),
                input_eos: false,
                eos_called: false,
                trailers_called: false,
                body_continue: false,
                eos_flushed: false,
            })
            .collect();
        Pipeline {
            shared,
            dir,
            order,
            runs,
            has_body,
            output: Vec::new(),
            output_eos: !has_body,
        }
    }

    fn take_resume(&self, stage: &Stage) -> bool {
        match self.dir {
            Dir::Request => stage.ctx.resume_request.replace(false),
            Dir::Response => stage.ctx.resume_response.replace(false),
        }
    }

    fn check(&self) -> Result<(), Interrupt> {
        let http = self.shared.http.borrow();
        if http.local_reply.is_some() {
            Err(Interrupt::LocalReply)
        } else if http.closed {
            Err(Interrupt::Closed)
        } else {
            Ok(())
        }
    }

    fn headers_done(&self) -> bool {
        self.runs
            .last()
            .is_none_or(|r| r.headers == HeadersState::Passed)
    }

    fn push_input(&mut self, data: &[u8]) {
        match self.runs.first_mut() {
            Some(r) => r.input.extend_from_slice(data),
            None => self.output.extend_from_slice(data),
        }
    }

    fn push_eos(&mut self) {
        match self.runs.first_mut() {
            Some(r) => r.input_eos = true,
            None => self.output_eos = true,
        }
    }

    fn deliver(&mut self, pos: usize, data: Vec<u8>, eos: bool) {
        match self.runs.get_mut(pos + 1) {
            Some(next) => {
                next.input.extend_from_slice(&data);
                next.input_eos |= eos;
            }
            None => {
                self.output.extend_from_slice(&data);
                self.output_eos |= eos;
            }
        }
    }

    fn advance(&mut self) -> Result<(), Interrupt> {
        self.check()?;
        loop {
            let mut progress = false;
            for pos in 0..self.order.len() {
                progress |= self.step(pos)?;
            }
            if !progress {
                return Ok(());
            }
        }
    }

    fn num_headers(&self) -> i32 {
        let http = self.shared.http.borrow();
        match self.dir {
            Dir::Request => http.request_headers.len() as i32,
            Dir::Response => http.response_headers.len() as i32,
        }
    }

    fn step(&mut self, pos: usize) -> Result<bool, Interrupt> {
        let shared = self.shared.clone();
        let stage = &shared.stages[self.order[pos]];
        let prev_passed = pos == 0 || self.runs[pos - 1].headers == HeadersState::Passed;
        let mut progress = false;

        if !stage.is_alive() {
            if !stage.fail_open {
                return Err(Interrupt::Failed);
            }
            // fail_open: the plugin is skipped; what it held flows on.
            let run = &mut self.runs[pos];
            if run.headers != HeadersState::Passed && prev_passed {
                run.headers = HeadersState::Passed;
                progress = true;
            }
            if run.headers == HeadersState::Passed {
                let mut data = std::mem::take(&mut *body_buffer(self.dir, stage).borrow_mut());
                data.append(&mut run.input);
                let eos = run.input_eos && !run.eos_flushed;
                if eos {
                    run.eos_flushed = true;
                }
                if !data.is_empty() || eos {
                    self.deliver(pos, data, eos);
                    progress = true;
                }
            }
            return Ok(progress);
        }

        let resumed = self.take_resume(stage);
        let ctx = stage.ctx_id as i32;
        let dir = self.dir;

        if self.runs[pos].headers == HeadersState::NotStarted && prev_passed {
            let n = self.num_headers();
            let eos = i32::from(!self.has_body);
            let action = stage.call(|ex, store| {
                let f = match dir {
                    Dir::Request => &ex.on_request_headers,
                    Dir::Response => &ex.on_response_headers,
                };
                match f {
                    Some(f) => f.call(store, (ctx, n, eos)),
                    None => Ok(0),
                }
            });
            self.check()?;
            let Ok(action) = action else {
                return self.crashed(stage);
            };
            self.runs[pos].headers = if action == 0 {
                HeadersState::Passed
            } else {
                HeadersState::Stopped
            };
            progress = true;
        }
        if resumed {
            let run = &mut self.runs[pos];
            if run.headers == HeadersState::Stopped {
                run.headers = HeadersState::Passed;
            }
            run.body_continue = true;
            progress = true;
        }
        if self.runs[pos].headers == HeadersState::NotStarted || !self.has_body {
            return Ok(progress);
        }

        let run = &mut self.runs[pos];
        if !run.input.is_empty() || (run.input_eos && !run.eos_called) {
            let size = {
                let mut buf = body_buffer(self.dir, stage).borrow_mut();
                buf.append(&mut run.input);
                buf.len()
            };
            if size > stage.max_buffer || i32::try_from(size).is_err() {
                return Err(Interrupt::TooLarge);
            }
            let size = size as i32;
            let eos = run.input_eos;
            run.eos_called = eos;
            let action = stage.call(|ex, store| {
                let f = match dir {
                    Dir::Request => &ex.on_request_body,
                    Dir::Response => &ex.on_response_body,
                };
                match f {
                    Some(f) => f.call(store, (ctx, size, i32::from(eos))),
                    None => Ok(0),
                }
            });
            self.check()?;
            let Ok(action) = action else {
                return self.crashed(stage);
            };
            // A resume during the callback still counts.
            self.runs[pos].body_continue = action == 0 || self.take_resume_peek(stage);
            progress = true;
            if eos && !self.runs[pos].trailers_called {
                self.runs[pos].trailers_called = true;
                let n = self.num_trailers();
                if n > 0 {
                    // Trailers may be read and edited here; a pause from the
                    // trailers callback is not supported and counts as Continue.
                    let result = stage.call(|ex, store| {
                        let f = match dir {
                            Dir::Request => &ex.on_request_trailers,
                            Dir::Response => &ex.on_response_trailers,
                        };
                        match f {
                            Some(f) => f.call(store, (ctx, n)),
                            None => Ok(0),
                        }
                    });
                    self.check()?;
                    if result.is_err() {
                        return self.crashed(stage);
                    }
                }
            }
        }
        let run = &self.runs[pos];
        if run.headers == HeadersState::Passed && run.body_continue {
            let data = std::mem::take(&mut *body_buffer(self.dir, stage).borrow_mut());
            let eos = run.eos_called && !run.eos_flushed;
            if eos {
                self.runs[pos].eos_flushed = true;
            }
            if !data.is_empty() || eos {
                self.deliver(pos, data, eos);
                progress = true;
            }
        }
        Ok(progress)
    }

    fn num_trailers(&self) -> i32 {
        let http = self.shared.http.borrow();
        match self.dir {
            Dir::Request => http.request_trailers.len() as i32,
            Dir::Response => http.response_trailers.len() as i32,
        }
    }

    fn take_resume_peek(&self, stage: &Stage) -> bool {
        match self.dir {
            Dir::Request => stage.ctx.resume_request.get(),
            Dir::Response => stage.ctx.resume_response.get(),
        }
    }

    fn crashed(&self, stage: &Stage) -> Result<bool, Interrupt> {
        if stage.fail_open {
            Ok(true)
        } else {
            Err(Interrupt::Failed)
        }
    }

    fn take_trailers(&self) -> HeaderList {
        let mut http = self.shared.http.borrow_mut();
        match self.dir {
            Dir::Request => std::mem::take(&mut http.request_trailers),
            Dir::Response => std::mem::take(&mut http.response_trailers),
        }
    }

    fn store_trailers(&self, trailers: &http::HeaderMap) {
        let mut http = self.shared.http.borrow_mut();
        let map = match self.dir {
            Dir::Request => &mut http.request_trailers,
            Dir::Response => &mut http.response_trailers,
        };
        for (k, v) in trailers {
            map.add(k.as_str().as_bytes(), v.as_bytes());
        }
    }
}

type FrameResult = Result<Frame<Bytes>, BoxError>;

/// The head of a direction is decided.
enum Head {
    Ready(Option<mpsc::Receiver<FrameResult>>),
    Interrupted(Interrupt),
}

async fn drive(mut p: Pipeline, mut source: Option<Body>, head_tx: oneshot::Sender<Head>) {
    let (body_tx, body_rx) = mpsc::channel::<FrameResult>(8);
    let mut head_tx = Some(head_tx);
    let mut body_rx = Some(body_rx);
    let notify = p.shared.notify.clone();
    loop {
        if let Err(interrupt) = p.advance() {
            match head_tx.take() {
                Some(tx) => {
                    let _ = tx.send(Head::Interrupted(interrupt));
                }
                None => {
                    let reason: BoxError = match interrupt {
                        Interrupt::Source(e) => e,
                        other => format!("stream ended by a filter ({other:?})").into(),
                    };
                    let _ = body_tx.send(Err(reason)).await;
                }
            }
            return;
        }
        if head_tx.is_some() && p.headers_done() {
            let rx = if p.has_body { body_rx.take() } else { None };
            let Some(tx) = head_tx.take() else { return };
            if tx.send(Head::Ready(rx)).is_err() || !p.has_body {
                return;
            }
        }
        if head_tx.is_none() {
            if !p.output.is_empty() {
                let data = Bytes::from(std::mem::take(&mut p.output));
                if body_tx.send(Ok(Frame::data(data))).await.is_err() {
                    return;
                }
            }
            if p.output_eos {
                let trailers = p.take_trailers();
                if !trailers.is_empty() {
                    let _ = body_tx
                        .send(Ok(Frame::trailers(to_header_map(&trailers))))
                        .await;
                }
                return;
            }
        }
        let source_open = source.is_some();
        let head_sent = head_tx.is_none();
        tokio::select! {
            frame = async {
                match source.as_mut() {
                    Some(body) => body.frame().await,
                    None => std::future::pending().await,
                }
            }, if source_open => match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => p.push_input(&data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            p.store_trailers(&trailers);
                            source = None;
                            p.push_eos();
                        }
                    }
                },
                Some(Err(e)) => {
                    let reason: BoxError = e;
                    match head_tx.take() {
                        Some(tx) => {
                            let _ = tx.send(Head::Interrupted(Interrupt::Source(reason)));
                        }
                        None => {
                            let _ = body_tx.send(Err(reason)).await;
                        }
                    }
                    return;
                }
                None => {
                    source = None;
                    p.push_eos();
                }
            },
            _ = notify.notified() => {}
            _ = body_tx.closed(), if head_sent => return,
        }
    }
}

/// Body fed by a pipeline task.
struct ChannelBody {
    rx: mpsc::Receiver<FrameResult>,
    done: bool,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FrameResult>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

pub(crate) fn empty_body() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub(crate) fn full_body(data: Bytes) -> Body {
    Full::new(data)
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn channel_body(rx: Option<mpsc::Receiver<FrameResult>>) -> Body {
    match rx {
        Some(rx) => ChannelBody { rx, done: false }.boxed_unsync(),
        None => empty_body(),
    }
}

fn to_header_map(list: &HeaderList) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in &list.0 {
        if k.starts_with(b":") {
            continue;
        }
        match (
            http::HeaderName::from_bytes(k),
            http::HeaderValue::from_bytes(v),
        ) {
            (Ok(k), Ok(v)) => {
                map.append(k, v);
            }
            _ => {
                tracing::warn!(name = %String::from_utf8_lossy(k), "dropping invalid header set by a filter")
            }
        }
    }
    map
}

fn simple_response(
    status: http::StatusCode,
    body: &'static str,
    close: bool,
) -> http::Response<Body> {
    let mut resp = http::Response::new(full_body(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    if close {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    resp
}

fn local_reply_response(reply: LocalReply) -> http::Response<Body> {
    let mut resp = http::Response::new(full_body(reply.body));
    *resp.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    *resp.headers_mut() = to_header_map(&HeaderList(reply.headers));
    resp
}

fn all_utf8(headers: &http::HeaderMap) -> bool {
    headers
        .values()
        .all(|v| std::str::from_utf8(v.as_bytes()).is_ok())
}

fn version_name(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// One request/response exchange; see [`super::HttpStream`].
pub(crate) struct StreamDriver {
    shared: Rc<StreamShared>,
}

impl StreamDriver {
    pub(crate) fn new(shared: StreamShared) -> Self {
        StreamDriver {
            shared: Rc::new(shared),
        }
    }

    fn interrupt_response(&self, interrupt: Interrupt, dir: Dir) -> http::Response<Body> {
        match interrupt {
            Interrupt::LocalReply => match self.shared.http.borrow_mut().local_reply.take() {
                Some(reply) => local_reply_response(reply),
                None => simple_response(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "filter error\n",
                    false,
                ),
            },
            Interrupt::Closed => simple_response(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "stream closed by filter\n",
                true,
            ),
            Interrupt::Failed => simple_response(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "filter error\n",
                false,
            ),
            Interrupt::TooLarge if dir == Dir::Request => simple_response(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large for the filter\n",
                true,
            ),
            Interrupt::TooLarge => simple_response(
                http::StatusCode::BAD_GATEWAY,
                "upstream body too large for the filter\n",
                false,
            ),
            Interrupt::Source(_) if dir == Dir::Request => {
                simple_response(http::StatusCode::BAD_REQUEST, "request body error\n", true)
            }
            Interrupt::Source(_) => simple_response(
                http::StatusCode::BAD_GATEWAY,
                "upstream body error\n",
                false,
            ),
        }
    }

    pub(crate) async fn on_request(
        &mut self,
        request: http::Request<Body>,
    ) -> super::RequestVerdict {
        let (parts, body) = request.into_parts();
        // The SDK's string accessors panic on non-UTF-8 values: refuse them
        // here instead of letting a client crash the filter.
        if !all_utf8(&parts.headers) {
            return super::RequestVerdict::Respond(simple_response(
                http::StatusCode::BAD_REQUEST,
                "invalid header value\n",
                true,
            ));
        }
        {
            let mut http = self.shared.http.borrow_mut();
            let tls = http.connection.tls.is_some();
            let h = &mut http.request_headers;
            h.add(b":method", parts.method.as_str().as_bytes());
            let scheme = parts
                .uri
                .scheme_str()
                .unwrap_or(if tls { "https" } else { "http" });
            h.add(b":scheme", scheme.as_bytes());
            let authority = parts
                .uri
                .authority()
                .map(|a| a.as_str().as_bytes().to_vec())
                .or_else(|| {
                    parts
                        .headers
                        .get(http::header::HOST)
                        .map(|v| v.as_bytes().to_vec())
                });
            if let Some(a) = authority {
                h.add(b":authority", &a);
            }
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            h.add(b":path", path.as_bytes());
            for (k, v) in &parts.headers {
                if k != http::header::HOST {
                    h.add(k.as_str().as_bytes(), v.as_bytes());
                }
            }
            http.protocol = version_name(parts.version);
            http.phase = Phase::Request;
        }
        let has_body = !body.is_end_stream();
        let pipeline = Pipeline::new(self.shared.clone(), Dir::Request, has_body);
        let (tx, rx) = oneshot::channel();
        tokio::task::spawn_local(drive(pipeline, has_body.then_some(body), tx));
        match rx.await {
            Ok(Head::Ready(body_rx)) => super::RequestVerdict::Forward(rebuild_request(
                parts,
                &self.shared.http.borrow(),
                channel_body(body_rx),
            )),
            Ok(Head::Interrupted(i)) => {
                super::RequestVerdict::Respond(self.interrupt_response(i, Dir::Request))
            }
            Err(_) => super::RequestVerdict::Respond(
                self.interrupt_response(Interrupt::Failed, Dir::Request),
            ),
        }
    }

    pub(crate) async fn on_response(
        &mut self,
        response: http::Response<Body>,
    ) -> http::Response<Body> {
        // A local reply decided while the request body streamed upstream wins.
        if let Some(reply) = self.shared.http.borrow_mut().local_reply.take() {
            return local_reply_response(reply);
        }
        let (parts, body) = response.into_parts();
        if !all_utf8(&parts.headers) {
            tracing::warn!("upstream response has a non-UTF-8 header value");
            return simple_response(
                http::StatusCode::BAD_GATEWAY,
                "invalid upstream header value\n",
                false,
            );
        }
        {
            let mut http = self.shared.http.borrow_mut();
            http.phase = Phase::Response;
            let h = &mut http.response_headers;
            h.add(b":status", parts.status.as_str().as_bytes());
            for (k, v) in &parts.headers {
                h.add(k.as_str().as_bytes(), v.as_bytes());
            }
        }
        let has_body = !body.is_end_stream();
        let pipeline = Pipeline::new(self.shared.clone(), Dir::Response, has_body);
        let (tx, rx) = oneshot::channel();
        tokio::task::spawn_local(drive(pipeline, has_body.then_some(body), tx));
        match rx.await {
            Ok(Head::Ready(body_rx)) => {
                rebuild_response(parts, &self.shared.http.borrow(), channel_body(body_rx))
            }
            Ok(Head::Interrupted(i)) => self.interrupt_response(i, Dir::Response),
            Err(_) => self.interrupt_response(Interrupt::Failed, Dir::Response),
        }
    }
}

fn rebuild_request(
    mut parts: http::request::Parts,
    http: &HttpData,
    body: Body,
) -> http::Request<Body> {
    let h = &http.request_headers;
    if let Some(m) = h
        .get(b":method")
        .and_then(|m| http::Method::from_bytes(m).ok())
    {
        parts.method = m;
    }
    let path = String::from_utf8_lossy(h.get(b":path").unwrap_or(b"/")).into_owned();
    let authority = h
        .get(b":authority")
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let uri = match (&authority, parts.uri.authority().is_some()) {
        (Some(a), true) => {
            let scheme = h
                .get(b":scheme")
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_else(|| "http".into());
            format!("{scheme}://{a}{path}")
        }
        _ => path,
    };
    match http::Uri::try_from(uri) {
        Ok(u) => parts.uri = u,
        Err(e) => tracing::warn!(error = %e, "filter set an invalid :path; keeping the original"),
    }
    let mut headers = to_header_map(h);
    if parts.version <= http::Version::HTTP_11 {
        if let Some(a) = authority.and_then(|a| http::HeaderValue::try_from(a).ok()) {
            headers.insert(http::header::HOST, a);
        }
    }
    parts.headers = headers;
    http::Request::from_parts(parts, body)
}

fn rebuild_response(
    mut parts: http::response::Parts,
    http: &HttpData,
    body: Body,
) -> http::Response<Body> {
    let h = &http.response_headers;
    if let Some(status) = h
        .get(b":status")
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| http::StatusCode::from_u16(s).ok())
    {
        parts.status = status;
    }
    parts.headers = to_header_map(h);
    http::Response::from_parts(parts, body)
}
