//! What can go wrong between a forwarded request and its response, each
//! mapped to one status code and a small plain-text body.

use http::StatusCode;

use crate::runtime::{fixed_response, Body};

/// Content type of the proxy's own plain-text answers.
pub const TEXT_PLAIN_UTF8: &str = "text/plain; charset=utf-8";

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
    /// The client's request body broke while it streamed upstream (bad
    /// chunked framing, a reset): 400. The upstream is not to blame.
    #[error("request body error: {0}")]
    RequestBody(String),
    /// The client stopped sending its body (`request_body_timeout`): 408.
    #[error("request body timeout")]
    RequestBodyTimeout,
}

impl ProxyError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::RequestBody(_) => StatusCode::BAD_REQUEST,
            Self::RequestBodyTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// The response sent to the client (details stay in the log).
    pub fn response(&self) -> http::Response<Body> {
        let text: &'static str = match self {
            Self::NoRoute => "no route matches this request\n",
            Self::Unavailable(_) => "upstream unavailable\n",
            Self::BadGateway(_) => "bad gateway: invalid response from upstream\n",
            Self::Timeout => "upstream request timeout\n",
            Self::RequestBody(_) => "request body error\n",
            Self::RequestBodyTimeout => "request body timeout\n",
        };
        fixed_response(self.status(), Some(TEXT_PLAIN_UTF8), text)
    }
}
