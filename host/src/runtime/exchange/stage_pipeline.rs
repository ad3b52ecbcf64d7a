//! One direction (request or response) of a stream through every stage:
//! headers first, then body chunks, then trailers, each stage in turn
//! (response stages in reverse order). [`Pipeline::advance`] moves data as
//! far as the stages let it; it never waits.
//!
//! Per stage, a [`StageRun`] says where its headers are ([`HeadersState`]),
//! how far the end of stream got ([`BodyState`]) and whether the data it
//! holds may go on ([`BodyFlow`]).

use std::cell::RefCell;
use std::rc::Rc;

use super::stage::{Stage, StreamShared};
use crate::abi::headers::HeaderList;
use crate::runtime::BoxError;

/// The direction a pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
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

/// How far the end of stream got through one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    /// The plugin has not been shown the end of stream.
    Open,
    /// The body callback ran with `end_of_stream` (then the trailers
    /// callback, if there are trailers); the end has not gone on yet.
    Ended,
    /// The end of stream went on to the next stage (a skipped `fail_open`
    /// stage gets here without `Ended`).
    Delivered,
}

/// Whether a stage lets the body data it holds go on. Independent of
/// [`BodyState`]: a plugin may write into its body buffer at any time (from
/// a callout answer too), and what it holds then goes on or not by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFlow {
    /// No body callback has continued yet, or the last one paused
    /// (StopIterationAndBuffer): the data stays in the plugin's buffer.
    Hold,
    /// The last body callback continued, or the plugin resumed the stream.
    Pass,
}

/// Body data handed on but not yet taken: by the next stage, or after the
/// last one, by the pipeline task.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub(super) data: Vec<u8>,
    /// The end of stream came with (or after) `data`.
    pub(super) end: bool,
}

#[derive(Debug)]
struct StageRun {
    headers: HeadersState,
    body: BodyState,
    flow: BodyFlow,
    /// Data handed over by the previous stage, not yet shown to this one.
    input: Pending,
}

/// Why a direction stopped before its end.
#[derive(Debug)]
pub(super) enum Interrupt {
    LocalReply,
    Closed,
    Failed,
    /// A plugin buffered more body than its memory limit.
    TooLarge,
    Source(BoxError),
}

/// See the module documentation.
pub(super) struct Pipeline {
    pub(super) shared: Rc<StreamShared>,
    dir: Dir,
    order: Vec<usize>,
    runs: Vec<StageRun>,
    pub(super) has_body: bool,
    /// What the last stage let through, for the pipeline task to send on.
    pub(super) output: Pending,
}

impl Pipeline {
    pub(super) fn new(shared: Rc<StreamShared>, dir: Dir, has_body: bool) -> Pipeline {
        let mut order: Vec<usize> = (0..shared.stages.len()).collect();
        if dir == Dir::Response {
            order.reverse();
        }
        let runs = order
            .iter()
            .map(|_| StageRun {
                headers: HeadersState::NotStarted,
                body: BodyState::Open,
                flow: BodyFlow::Hold,
                input: Pending::default(),
            })
            .collect();
        Pipeline {
            shared,
            dir,
            order,
            runs,
            has_body,
            output: Pending {
                data: Vec::new(),
                end: !has_body,
            },
        }
    }

    fn take_resume(&self, stage: &Stage) -> bool {
        match self.dir {
            Dir::Request => stage.ctx.resume_request.replace(false),
            Dir::Response => stage.ctx.resume_response.replace(false),
        }
    }

    /// A resume is pending (without consuming it).
    fn resume_pending(&self, stage: &Stage) -> bool {
        match self.dir {
            Dir::Request => stage.ctx.resume_request.get(),
            Dir::Response => stage.ctx.resume_response.get(),
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

    /// Every stage passed the headers: they may go on.
    pub(super) fn headers_done(&self) -> bool {
        self.runs
            .last()
            .is_none_or(|r| r.headers == HeadersState::Passed)
    }

    /// Where stage `pos` hands data to: the input of the stage after it, or
    /// the output after the last one.
    fn pending_at(&mut self, pos: usize) -> &mut Pending {
        match self.runs.get_mut(pos) {
            Some(r) => &mut r.input,
            None => &mut self.output,
        }
    }

    /// Body data from the source.
    pub(super) fn push_input(&mut self, data: &[u8]) {
        self.pending_at(0).data.extend_from_slice(data);
    }

    /// The source's end of stream.
    pub(super) fn push_eos(&mut self) {
        self.pending_at(0).end = true;
    }

    fn deliver(&mut self, pos: usize, data: Vec<u8>, eos: bool) {
        let next = self.pending_at(pos + 1);
        next.data.extend_from_slice(&data);
        next.end |= eos;
    }

    /// Runs every stage until none makes progress.
    pub(super) fn advance(&mut self) -> Result<(), Interrupt> {
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
                data.append(&mut run.input.data);
                let eos = run.input.end && run.body != BodyState::Delivered;
                if eos {
                    run.body = BodyState::Delivered;
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
            run.flow = BodyFlow::Pass;
            progress = true;
        }
        if self.runs[pos].headers == HeadersState::NotStarted || !self.has_body {
            return Ok(progress);
        }

        let run = &mut self.runs[pos];
        if !run.input.data.is_empty() || (run.input.end && run.body == BodyState::Open) {
            let size = {
                let mut buf = body_buffer(self.dir, stage).borrow_mut();
                buf.append(&mut run.input.data);
                buf.len()
            };
            if size > stage.max_buffer || i32::try_from(size).is_err() {
                return Err(Interrupt::TooLarge);
            }
            let size = size as i32;
            let eos = run.input.end;
            // The first time the plugin is shown the end: trailers follow.
            let first_end = eos && run.body == BodyState::Open;
            if first_end {
                run.body = BodyState::Ended;
            }
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
            self.runs[pos].flow = if action == 0 || self.resume_pending(stage) {
                BodyFlow::Pass
            } else {
                BodyFlow::Hold
            };
            progress = true;
            if first_end {
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
        if run.headers == HeadersState::Passed && run.flow == BodyFlow::Pass {
            let data = std::mem::take(&mut *body_buffer(self.dir, stage).borrow_mut());
            let eos = run.body == BodyState::Ended;
            if eos {
                self.runs[pos].body = BodyState::Delivered;
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

    fn crashed(&self, stage: &Stage) -> Result<bool, Interrupt> {
        if stage.fail_open {
            Ok(true)
        } else {
            Err(Interrupt::Failed)
        }
    }

    /// The direction's trailers, taken to be sent after the body.
    pub(super) fn take_trailers(&self) -> HeaderList {
        let mut http = self.shared.http.borrow_mut();
        match self.dir {
            Dir::Request => std::mem::take(&mut http.request_trailers),
            Dir::Response => std::mem::take(&mut http.response_trailers),
        }
    }

    /// Trailers from the source, for the plugins to see.
    pub(super) fn store_trailers(&self, trailers: &http::HeaderMap) {
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
