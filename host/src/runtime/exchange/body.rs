//! Bodies on the edges between the proxy layer and the runtime: the channel
//! body a pipeline task feeds, complete (possibly empty) bodies, and
//! [`fixed_response`], the one helper every text or empty-body response of
//! the host is built with.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full};
use tokio::sync::mpsc;

use crate::runtime::{Body, BoxError};

/// One frame of a [`Body`].
pub(super) type FrameResult = Result<Frame<Bytes>, BoxError>;

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

fn empty_body() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A complete body (empty when `data` is).
pub fn full_body(data: Bytes) -> Body {
    Full::new(data)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The body fed by a pipeline task through `rx`; empty without one.
pub(super) fn channel_body(rx: Option<mpsc::Receiver<FrameResult>>) -> Body {
    match rx {
        Some(rx) => ChannelBody { rx, done: false }.boxed_unsync(),
        None => empty_body(),
    }
}

/// A response with `status`, the complete body `body` (may be empty) and,
/// when given, its `content-type`. The host builds every response whose
/// body it knows in full here: filter errors, local replies, the proxy's
/// own errors, the admin listener's answers.
pub fn fixed_response(
    status: http::StatusCode,
    content_type: Option<&'static str>,
    body: impl Into<Bytes>,
) -> http::Response<Body> {
    let mut response = http::Response::new(full_body(body.into()));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
    }
    response
}

/// The error of a body whose next frame took longer than its timeout
/// ([`timeout_body`]): the client stopped sending.
#[derive(Debug, thiserror::Error)]
#[error("no body data for {0:?}")]
pub struct BodyTimeout(pub std::time::Duration);

/// Fails `body` with [`BodyTimeout`] when its next frame takes longer than
/// `timeout` from the moment its reader asks for it (a slow reader does not
/// count against the sender).
pub fn timeout_body(body: Body, timeout: std::time::Duration) -> Body {
    TimeoutBody {
        inner: body,
        timeout,
        sleep: Box::pin(tokio::time::sleep(timeout)),
        waiting: false,
    }
    .boxed_unsync()
}

struct TimeoutBody {
    inner: Body,
    timeout: std::time::Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// A read is under way: the deadline runs.
    waiting: bool,
}

impl http_body::Body for TimeoutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FrameResult>> {
        if !self.waiting {
            let deadline = tokio::time::Instant::now() + self.timeout;
            self.sleep.as_mut().reset(deadline);
            self.waiting = true;
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                self.waiting = false;
                Poll::Ready(frame)
            }
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.waiting = false;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout(self.timeout)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
