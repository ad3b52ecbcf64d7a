//! Stream control (`proxy_send_local_response`, `proxy_continue_stream`,
//! `proxy_close_stream`, and 0.1's `proxy_continue_request` /
//! `proxy_continue_response`). These only record the decision; the stream's
//! pipeline acts on it once the callback has returned.

use bytes::Bytes;
use wasmtime::{Caller, Linker};

use super::headers::decode_map;
use super::memory::{read_bytes, tri, HostResult};
use super::{Status, StreamType};
use crate::runtime::state::{HostState, LocalReply};

#[allow(clippy::too_many_arguments)]
fn send_local_response(
    caller: &mut Caller<'_, HostState>,
    status: i32,
    _details: (i32, i32),
    body: (i32, i32),
    headers: (i32, i32),
    _grpc_status: i32,
) -> HostResult {
    let body = tri!(read_bytes(caller, body.0, body.1));
    let headers = tri!(read_bytes(caller, headers.0, headers.1));
    let headers = tri!(decode_map(&headers).map_err(|_| Status::BadArgument));
    let Ok(status) = u16::try_from(status) else {
        return Ok(Status::BadArgument);
    };
    if !(100..=999).contains(&status) {
        return Ok(Status::BadArgument);
    }
    let state = caller.data();
    let stream = tri!(state.stream().ok_or(Status::NotFound));
    stream.http.borrow_mut().local_reply = Some(LocalReply {
        status,
        headers,
        body: Bytes::from(body),
    });
    stream.notify.notify_one();
    Ok(Status::Ok)
}

fn continue_stream(caller: &Caller<'_, HostState>, kind: StreamType) -> Status {
    let Some(stream) = caller.data().stream() else {
        return Status::NotFound;
    };
    match kind {
        StreamType::HttpRequest => stream.resume_request.set(true),
        StreamType::HttpResponse => stream.resume_response.set(true),
        StreamType::Downstream | StreamType::Upstream => return Status::BadArgument,
    }
    stream.notify.notify_one();
    Status::Ok
}

fn close_stream(caller: &Caller<'_, HostState>, kind: i32) -> Status {
    match StreamType::from_raw(kind) {
        Some(StreamType::HttpRequest | StreamType::HttpResponse) => {}
        _ => return Status::BadArgument,
    }
    let Some(stream) = caller.data().stream() else {
        return Status::NotFound;
    };
    stream.http.borrow_mut().closed = true;
    stream.notify.notify_one();
    Status::Ok
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: Caller<'_, HostState>,
         st: i32,
         dp: i32,
         dl: i32,
         bp: i32,
         bl: i32,
         hp: i32,
         hl: i32,
         grpc: i32| {
            send_local_response(&mut c, st, (dp, dl), (bp, bl), (hp, hl), grpc).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_continue_stream",
        |c: Caller<'_, HostState>, kind: i32| {
            Ok(match StreamType::from_raw(kind) {
                Some(kind) => continue_stream(&c, kind),
                None => Status::BadArgument,
            }
            .code())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_close_stream",
        |c: Caller<'_, HostState>, kind: i32| Ok(close_stream(&c, kind).code()),
    )?;
    linker.func_wrap(
        "env",
        "proxy_continue_request",
        |c: Caller<'_, HostState>| Ok(continue_stream(&c, StreamType::HttpRequest).code()),
    )?;
    linker.func_wrap(
        "env",
        "proxy_continue_response",
        |c: Caller<'_, HostState>| Ok(continue_stream(&c, StreamType::HttpResponse).code()),
    )?;
    linker.func_wrap(
        "env",
        "proxy_clear_route_cache",
        |_: Caller<'_, HostState>| Ok(Status::Ok.code()),
    )?;
    Ok(())
}
