//! What can go wrong between a forwarded request and its response, each
//! mapped to one status code and a small plain-text body.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};

use crate::runtime::Body;

/// Why the proxy answers a request itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No route matches host and path: 404.
    #[error("no route")]
    NoRoute,
    /// Connecting to the upstream failed (refused, unreachable, connect
    /// timeout): 503.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// The upstream broke the exchange or spoke bad HTTP: 502.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// No response headers within the cluster's request timeout: 504.
    #[error("upstream request timeout")]
    Timeout,
}

impl ProxyError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The response sent to the client (details stay in the log).
    pub fn response(&self) -> http::Response<Body> {
        let text: &'static str = match self {
            Self::NoRoute => "no route matches this request\n",
            Self::Unavailable(_) => "upstream unavailable\n",
            Self::BadGateway(_) => "bad gateway: invalid response from upstream\n",
            Self::Timeout => "upstream request timeout\n",
        };
        text_response(self.status(), text)
    }
}

/// A small `text/plain` response.
pub fn text_response(status: StatusCode, text: &'static str) -> http::Response<Body> {
    let mut response = http::Response::new(full(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A complete body.
pub fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}
