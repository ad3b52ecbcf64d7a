//! HTTP exchanges through a worker's chain (what [`super::HttpStream`]
//! runs): one stream context per plugin, and a pipeline per direction that
//! delivers headers and body chunks to each plugin in turn, honouring pauses
//! (`Action::Pause` from headers = StopIteration, from body =
//! StopIterationAndBuffer), resumes (`continue_stream`, typically from a
//! callout answer), local replies, `close_stream` and crashes.
//!
//! The body is buffered at a plugin only while that plugin pauses; otherwise
//! chunks stream through. The pipeline runs as a task on the worker's
//! `LocalSet`; the forwarded body is a channel fed by that task, so it is
//! `Send` for the proxy's client and server.
//!
//! One role per file:
//! - `stage`: one plugin's stream context, from `proxy_on_context_create`
//!   to `proxy_on_delete` ([`StreamShared`] holds every stage of a stream).
//! - `stage_pipeline`: one direction through every stage; per stage, where its
//!   headers and its body are.
//! - `pipeline_task`: the task running a pipeline between the source body
//!   and the forwarded one.
//! - `driver`: [`StreamDriver`], behind `HttpStream`: requests and responses
//!   in, verdicts and filtered messages out.
//! - `header_conversion`: header lists to and from `http` types.
//! - `body`: the channel body, complete bodies, and the one helper building
//!   a response with a complete body.

mod body;
mod driver;
mod header_conversion;
mod pipeline_task;
mod stage;
mod stage_pipeline;

pub use body::{fixed_response, full_body, timeout_body, BodyTimeout};
pub(crate) use driver::StreamDriver;
pub(crate) use stage::StreamShared;
