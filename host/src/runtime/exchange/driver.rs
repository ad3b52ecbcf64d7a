//! [`StreamDriver`], what [`crate::runtime::HttpStream`] runs: turns the
//! proxy's request and response into the header lists plugins see, runs
//! each direction's pipeline task, and rebuilds the (possibly edited)
//! message, or the response that replaces it.

use std::rc::Rc;

use http_body::Body as _;
use tokio::sync::oneshot;

use super::body::{channel_body, fixed_response, BodyTimeout};
use super::header_conversion::{all_utf8, to_header_map, version_name};
use super::pipeline_task::{run_pipeline, Head};
use super::stage::StreamShared;
use super::stage_pipeline::{Dir, Interrupt, Pipeline};
use crate::abi::headers::HeaderList;
use crate::runtime::state::{HttpData, LocalReply, Phase};
use crate::runtime::{Body, RequestVerdict};

/// One request/response exchange; see [`crate::runtime::HttpStream`].
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
                None => error_response(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "filter error\n",
                    false,
                ),
            },
            Interrupt::Closed => error_response(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "stream closed by filter\n",
                true,
            ),
            Interrupt::Failed => error_response(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "filter error\n",
                false,
            ),
            Interrupt::TooLarge if dir == Dir::Request => error_response(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large for the filter\n",
                true,
            ),
            Interrupt::TooLarge => error_response(
                http::StatusCode::BAD_GATEWAY,
                "upstream body too large for the filter\n",
                false,
            ),
            Interrupt::Source(e) if dir == Dir::Request && e.is::<BodyTimeout>() => error_response(
                http::StatusCode::REQUEST_TIMEOUT,
                "request body timeout\n",
                true,
            ),
            Interrupt::Source(_) if dir == Dir::Request => {
                error_response(http::StatusCode::BAD_REQUEST, "request body error\n", true)
            }
            Interrupt::Source(_) => error_response(
                http::StatusCode::BAD_GATEWAY,
                "upstream body error\n",
                false,
            ),
        }
    }

    pub(crate) async fn on_request(&mut self, request: http::Request<Body>) -> RequestVerdict {
        let (parts, body) = request.into_parts();
        // The SDK's string accessors panic on non-UTF-8 values: refuse them
        // here instead of letting a client crash the filter.
        if !all_utf8(&parts.headers) {
            return RequestVerdict::Respond(error_response(
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
        match decide_head(pipeline, has_body.then_some(body)).await {
            Ok(Head::Ready(body_rx)) => RequestVerdict::Forward(rebuild_request(
                parts,
                &self.shared.http.borrow(),
                channel_body(body_rx),
            )),
            Ok(Head::Interrupted(i)) => {
                RequestVerdict::Respond(self.interrupt_response(i, Dir::Request))
            }
            Err(_) => {
                RequestVerdict::Respond(self.interrupt_response(Interrupt::Failed, Dir::Request))
            }
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
            return error_response(
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
        match decide_head(pipeline, has_body.then_some(body)).await {
            Ok(Head::Ready(body_rx)) => {
                rebuild_response(parts, &self.shared.http.borrow(), channel_body(body_rx))
            }
            Ok(Head::Interrupted(i)) => self.interrupt_response(i, Dir::Response),
            Err(_) => self.interrupt_response(Interrupt::Failed, Dir::Response),
        }
    }
}

/// Runs `pipeline` until its head is decided. Without a body, and when no
/// stage pauses (the common GET), that is done here at once: no task, no
/// channels. Otherwise the pipeline runs on a task of the worker's
/// `LocalSet`, which also carries the body on; `Err` when that task ended
/// without deciding.
async fn decide_head(mut pipeline: Pipeline, body: Option<Body>) -> Result<Head, ()> {
    if body.is_none() {
        match pipeline.advance() {
            Err(interrupt) => return Ok(Head::Interrupted(interrupt)),
            Ok(()) if pipeline.headers_done() => return Ok(Head::Ready(None)),
            // Paused: the task waits for the resume.
            Ok(()) => {}
        }
    }
    let (tx, rx) = oneshot::channel();
    tokio::task::spawn_local(run_pipeline(pipeline, body, tx));
    rx.await.map_err(|_| ())
}

/// The host's own answer when a filter stopped the exchange, `close` asking
/// the client to close the connection.
fn error_response(
    status: http::StatusCode,
    text: &'static str,
    close: bool,
) -> http::Response<Body> {
    let mut response = fixed_response(status, Some("text/plain"), text);
    if close {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// The reply a plugin decided (`proxy_send_local_response`).
fn local_reply_response(reply: LocalReply) -> http::Response<Body> {
    let status =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = fixed_response(status, None, reply.body);
    *response.headers_mut() = to_header_map(&HeaderList(reply.headers));
    response
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
