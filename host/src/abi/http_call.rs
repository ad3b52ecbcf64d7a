//! Outbound HTTP calls (`proxy_http_call`, `proxy_get_status`) and the gRPC
//! calls, which this host does not offer (answered with the failure
//! statuses the SDK expects, never UNIMPLEMENTED).
//!
//! A call is queued in the instance state; after the callback returns, the
//! worker sends it through the [`CalloutClient`](crate::runtime::CalloutClient)
//! and delivers the answer with `proxy_on_http_call_response` to the root
//! context (the SDK switches to the calling stream itself). A failed call is
//! delivered with zero headers.

use std::time::Duration;

use bytes::Bytes;
use wasmtime::{Caller, Linker};

use super::headers::decode_map;
use super::memory::{read_bytes, read_string, return_bytes, tri, write_u32, HostResult};
use super::Status;
use crate::runtime::state::{HostState, PendingCallout};

/// Timeout of a call made with timeout 0.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the outbound request from the serialized headers (which must hold
/// `:method`, `:path` and `:authority`), body and trailers.
pub fn build_request(
    headers: &[(Vec<u8>, Vec<u8>)],
    body: Vec<u8>,
) -> Result<http::Request<Bytes>, Status> {
    let pseudo = |name: &[u8]| {
        headers
            .iter()
            .find(|(k, _)| k.as_slice() == name)
            .map(|(_, v)| v.clone())
    };
    let method = pseudo(b":method").ok_or(Status::BadArgument)?;
    let path = pseudo(b":path").ok_or(Status::BadArgument)?;
    let authority = pseudo(b":authority").ok_or(Status::BadArgument)?;
    let method = http::Method::from_bytes(&method).map_err(|_| Status::BadArgument)?;
    let uri = http::Uri::try_from(path.as_slice()).map_err(|_| Status::BadArgument)?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    builder = builder.header(
        http::header::HOST,
        http::HeaderValue::from_bytes(&authority).map_err(|_| Status::BadArgument)?,
    );
    for (k, v) in headers.iter().filter(|(k, _)| !k.starts_with(b":")) {
        let name = http::HeaderName::from_bytes(k).map_err(|_| Status::BadArgument)?;
        let value = http::HeaderValue::from_bytes(v).map_err(|_| Status::BadArgument)?;
        builder = builder.header(name, value);
    }
    builder
        .body(Bytes::from(body))
        .map_err(|_| Status::BadArgument)
}

#[allow(clippy::too_many_arguments)]
fn http_call(
    caller: &mut Caller<'_, HostState>,
    up: (i32, i32),
    hdr: (i32, i32),
    body: (i32, i32),
    trl: (i32, i32),
    timeout_ms: i32,
    ret_token: i32,
) -> HostResult {
    let cluster = tri!(read_string(caller, up.0, up.1));
    let headers = tri!(read_bytes(caller, hdr.0, hdr.1));
    let body = tri!(read_bytes(caller, body.0, body.1));
    let _trailers = tri!(read_bytes(caller, trl.0, trl.1));
    let headers = tri!(decode_map(&headers).map_err(|_| Status::BadArgument));
    let state = caller.data();
    if !state.plugin.process.callouts.has_cluster(&cluster) {
        return Ok(Status::BadArgument);
    }
    if !state.on_worker {
        return Ok(Status::InternalFailure);
    }
    let request = tri!(build_request(&headers, body));
    let token = state.next_token.get();
    state.next_token.set(token.wrapping_add(1).max(1));
    state.pending_callouts.borrow_mut().push(PendingCallout {
        token,
        cluster,
        request,
        timeout: match timeout_ms as u32 {
            // No timeout asked for: bound it anyway.
            0 => DEFAULT_TIMEOUT,
            ms => Duration::from_millis(u64::from(ms)),
        },
    });
    tri!(write_u32(caller, ret_token, token));
    Ok(Status::Ok)
}

fn get_status(caller: &mut Caller<'_, HostState>, rc: i32, rp: i32, rl: i32) -> HostResult {
    let (code, message) = match caller.data().call_response.borrow().as_ref() {
        Some(c) => (c.status, c.message.clone()),
        None => (0, String::new()),
    };
    tri!(write_u32(caller, rc, code));
    if message.is_empty() {
        tri!(write_u32(caller, rp, 0));
        tri!(write_u32(caller, rl, 0));
        return Ok(Status::Ok);
    }
    return_bytes(caller, message.as_bytes(), rp, rl)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Caller<'_, HostState>,
         up: i32,
         ul: i32,
         hp: i32,
         hl: i32,
         bp: i32,
         bl: i32,
         tp: i32,
         tl: i32,
         timeout: i32,
         ret: i32| {
            http_call(&mut c, (up, ul), (hp, hl), (bp, bl), (tp, tl), timeout, ret)
                .map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_status",
        |mut c: Caller<'_, HostState>, rc: i32, rp: i32, rl: i32| {
            get_status(&mut c, rc, rp, rl).map(Status::code)
        },
    )?;
    // gRPC is not offered: calls fail the way the SDK expects a host to fail.
    linker.func_wrap(
        "env",
        "proxy_grpc_call",
        |_: Caller<'_, HostState>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32| { Ok(Status::InternalFailure.code()) },
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_stream",
        |_: Caller<'_, HostState>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32| { Ok(Status::InternalFailure.code()) },
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_send",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| Ok(Status::NotFound.code()),
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_cancel",
        |_: Caller<'_, HostState>, _: i32| Ok(Status::NotFound.code()),
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_close",
        |_: Caller<'_, HostState>, _: i32| Ok(Status::NotFound.code()),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn builds_request_from_pseudo_headers() {
        let req = build_request(
            &h(&[
                (":method", "POST"),
                (":path", "/token?a=1"),
                (":authority", "as.example"),
                ("content-type", "x"),
            ]),
            b"body".to_vec(),
        )
        .unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), "/token?a=1");
        assert_eq!(req.headers()["host"], "as.example");
        assert_eq!(req.headers()["content-type"], "x");
        assert_eq!(req.body().as_ref(), b"body");
    }

    #[test]
    fn missing_pseudo_headers_are_bad_arguments() {
        assert_eq!(
            build_request(&h(&[(":method", "GET"), (":path", "/")]), vec![]).unwrap_err(),
            Status::BadArgument
        );
        assert_eq!(
            build_request(
                &h(&[(":method", "G T"), (":path", "/"), (":authority", "a")]),
                vec![]
            )
            .unwrap_err(),
            Status::BadArgument
        );
    }
}
