//! Properties (`proxy_get_property`, `proxy_set_property`): the path codec
//! and Envoy-compatible value encoding (pure), and the host functions.
//!
//! Paths are segments joined by NUL bytes (`request\0path`); a path without
//! NUL is also accepted with `.` as separator. Values are encoded as Envoy
//! does: strings raw, integers 8-byte little-endian, booleans one byte,
//! timestamps in nanoseconds since the epoch, header maps in the map format.

use std::time::UNIX_EPOCH;

use abi_wire::header_map;
use wasmtime::{Caller, Linker};

use super::headers::HeaderList;
use super::memory::{read_bytes, return_bytes, tri, HostResult};
use super::Status;
use crate::runtime::state::{HttpData, Phase};
use crate::runtime::PluginSpec;

/// Splits a serialized property path into its segments.
pub fn parse_path(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    let sep = if raw.contains(&0) { 0 } else { b'.' };
    raw.split(|b| *b == sep)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Canonical key for stored properties: segments joined by NUL.
pub fn path_key(segments: &[String]) -> Vec<u8> {
    segments.join("\0").into_bytes()
}

fn int(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn string(s: impl AsRef<str>) -> Vec<u8> {
    s.as_ref().as_bytes().to_vec()
}

fn headers_without_pseudo(h: &HeaderList) -> Vec<(Vec<u8>, Vec<u8>)> {
    h.0.iter()
        .filter(|(k, _)| !k.starts_with(b":"))
        .cloned()
        .collect()
}

fn header_lookup(h: &HeaderList, rest: &[String]) -> Option<Vec<u8>> {
    match rest {
        [] => Some(header_map::encode(&headers_without_pseudo(h))),
        [name] => h.get(name.as_bytes()).map(<[u8]>::to_vec),
        _ => None,
    }
}

fn split_path(path_and_query: &[u8]) -> (&[u8], Option<&[u8]>) {
    match path_and_query.iter().position(|b| *b == b'?') {
        Some(i) => (&path_and_query[..i], Some(&path_and_query[i + 1..])),
        None => (path_and_query, None),
    }
}

/// Looks a property up. `None` is NOT_FOUND.
pub(crate) fn lookup(
    spec: &PluginSpec,
    http: Option<&HttpData>,
    path: &[String],
) -> Option<Vec<u8>> {
    let segs: Vec<&str> = path.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["plugin_name"] => return Some(string(&spec.name)),
        ["plugin_root_id"] => return Some(string(&spec.root_id)),
        ["plugin_vm_id"] => return Some(string(&spec.vm_id)),
        _ => {}
    }
    let http = http?;
    if let Some(v) = http.properties.get(&path_key(path)) {
        return Some(v.clone());
    }
    let req = &http.request_headers;
    let conn = &http.connection;
    let tls = conn.tls.as_ref();
    let peer = tls.and_then(|t| t.peer_certificate_der.as_ref());
    match segs.as_slice() {
        ["request", "path"] => req.get(b":path").map(<[u8]>::to_vec),
        ["request", "url_path"] => req.get(b":path").map(|p| split_path(p).0.to_vec()),
        ["request", "query"] => req
            .get(b":path")
            .and_then(|p| split_path(p).1.map(<[u8]>::to_vec)),
        ["request", "host"] => req.get(b":authority").map(<[u8]>::to_vec),
        ["request", "scheme"] => req.get(b":scheme").map(<[u8]>::to_vec),
        ["request", "method"] => req.get(b":method").map(<[u8]>::to_vec),
        ["request", "id"] => req.get(b"x-request-id").map(<[u8]>::to_vec),
        ["request", "referer"] => req.get(b"referer").map(<[u8]>::to_vec),
        ["request", "useragent"] => req.get(b"user-agent").map(<[u8]>::to_vec),
        ["request", "protocol"] => Some(string(http.protocol)),
        ["request", "time"] => {
            let ns = http.start_time.duration_since(UNIX_EPOCH).ok()?.as_nanos();
            Some(int(u64::try_from(ns).ok()?))
        }
        ["request", "headers", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            header_lookup(req, &rest)
        }
        ["response", ..] if http.phase != Phase::Response => None,
        ["response", "code"] => {
            let status = http.response_headers.get(b":status")?;
            let code: u64 = std::str::from_utf8(status).ok()?.parse().ok()?;
            Some(int(code))
        }
        ["response", "headers", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            header_lookup(&http.response_headers, &rest)
        }
        ["response", "trailers"] => Some(header_map::encode(&http.response_trailers.0)),
        ["source", "address"] => Some(string(conn.source.to_string())),
        ["source", "port"] => Some(int(u64::from(conn.source.port()))),
        ["destination", "address"] => Some(string(conn.destination.to_string())),
        ["destination", "port"] => Some(int(u64::from(conn.destination.port()))),
        ["connection", "id"] => Some(int(conn.id)),
        ["connection", "mtls"] => Some(vec![u8::from(peer.is_some())]),
        ["connection", "tls_version"] => tls.map(|t| string(&t.version)),
        ["connection", "requested_server_name"] => tls.and_then(|t| t.sni.as_ref()).map(string),
        ["connection", "subject_peer_certificate"] => {
            tls.and_then(|t| t.peer_subject.as_ref()).map(string)
        }
        ["connection", "sha256_peer_certificate_digest"] => peer.map(|der| string(sha256_hex(der))),
        ["connection", "uri_san_peer_certificate"] => {
            tls.and_then(|t| t.peer_uri_sans.first()).map(string)
        }
        ["connection", "dns_san_peer_certificate"] => {
            tls.and_then(|t| t.peer_dns_sans.first()).map(string)
        }
        _ => None,
    }
}

/// Lowercase hex of the SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    abi_wire::hex::lower(&sha2::Sha256::digest(data))
}

fn get_property(
    caller: &mut Caller<'_, crate::runtime::state::HostState>,
    pp: i32,
    pl: i32,
    rp: i32,
    rl: i32,
) -> HostResult {
    let raw = tri!(read_bytes(caller, pp, pl));
    let path = parse_path(&raw);
    let state = caller.data();
    let value = match state.stream() {
        Some(stream) => lookup(state.spec(), Some(&stream.http.borrow()), &path),
        None => state
            .root_properties
            .borrow()
            .get(&path_key(&path))
            .cloned()
            .or_else(|| lookup(state.spec(), None, &path)),
    };
    let value = tri!(value.ok_or(Status::NotFound));
    return_bytes(caller, &value, rp, rl)
}

fn set_property(
    caller: &mut Caller<'_, crate::runtime::state::HostState>,
    pp: i32,
    pl: i32,
    vp: i32,
    vl: i32,
) -> HostResult {
    let raw = tri!(read_bytes(caller, pp, pl));
    let value = tri!(read_bytes(caller, vp, vl));
    let key = path_key(&parse_path(&raw));
    let state = caller.data();
    match state.stream() {
        Some(stream) => {
            stream.http.borrow_mut().properties.insert(key, value);
        }
        None => {
            state.root_properties.borrow_mut().insert(key, value);
        }
    }
    Ok(Status::Ok)
}

pub(crate) fn add_to_linker(
    linker: &mut Linker<crate::runtime::state::HostState>,
) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Caller<'_, _>, pp: i32, pl: i32, rp: i32, rl: i32| {
            get_property(&mut c, pp, pl, rp, rl).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: Caller<'_, _>, pp: i32, pl: i32, vp: i32, vl: i32| {
            set_property(&mut c, pp, pl, vp, vl).map(Status::code)
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::runtime::{ConnectionInfo, LogLevel, TlsInfo};

    fn spec() -> PluginSpec {
        PluginSpec {
            name: "p".into(),
            module_path: "m.wasm".into(),
            root_id: "r".into(),
            vm_id: "v".into(),
            configuration: Default::default(),
            vm_configuration: Default::default(),
            fail_open: false,
            environment: vec![],
            callback_cpu_limit: Duration::from_secs(1),
            max_memory_bytes: 1 << 20,
            max_shared_data_bytes: 64 << 20,
            max_queue_items: 10_000,
            log_level: LogLevel::Info,
        }
    }

    fn http(tls: Option<TlsInfo>) -> HttpData {
        let mut req = HeaderList::default();
        for (k, v) in [
            (":method", "POST"),
            (":path", "/a/b?x=1&y"),
            (":authority", "h.example"),
            (":scheme", "https"),
            ("x-request-id", "rid"),
            ("accept", "*/*"),
        ] {
            req.add(k.as_bytes(), v.as_bytes());
        }
        HttpData {
            connection: Arc::new(ConnectionInfo {
                id: 42,
                source: "127.0.0.1:5555".parse().unwrap(),
                destination: "127.0.0.1:8080".parse().unwrap(),
                tls,
            }),
            phase: Phase::Request,
            request_headers: req,
            request_trailers: HeaderList::default(),
            response_headers: HeaderList::default(),
            response_trailers: HeaderList::default(),
            protocol: "HTTP/1.1",
            start_time: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            local_reply: None,
            closed: false,
            properties: HashMap::new(),
        }
    }

    fn get(h: Option<&HttpData>, path: &str) -> Option<Vec<u8>> {
        lookup(&spec(), h, &parse_path(path.replace('.', "\0").as_bytes()))
    }

    #[test]
    fn path_codec() {
        assert_eq!(parse_path(b"request\0path"), vec!["request", "path"]);
        assert_eq!(parse_path(b"request\0path\0"), vec!["request", "path"]);
        assert_eq!(parse_path(b"request.url_path"), vec!["request", "url_path"]);
        assert_eq!(parse_path(b"plugin_name"), vec!["plugin_name"]);
        assert_eq!(path_key(&parse_path(b"a.b")), b"a\0b".to_vec());
    }

    #[test]
    fn request_properties_encode_like_envoy() {
        let h = http(None);
        assert_eq!(get(Some(&h), "request.path").unwrap(), b"/a/b?x=1&y");
        assert_eq!(get(Some(&h), "request.url_path").unwrap(), b"/a/b");
        assert_eq!(get(Some(&h), "request.query").unwrap(), b"x=1&y");
        assert_eq!(get(Some(&h), "request.host").unwrap(), b"h.example");
        assert_eq!(get(Some(&h), "request.method").unwrap(), b"POST");
        assert_eq!(get(Some(&h), "request.id").unwrap(), b"rid");
        assert_eq!(
            get(Some(&h), "request.time").unwrap(),
            1_700_000_000_123_456_789u64.to_le_bytes()
        );
        assert_eq!(get(Some(&h), "source.port").unwrap(), 5555u64.to_le_bytes());
        assert_eq!(get(Some(&h), "source.address").unwrap(), b"127.0.0.1:5555");
        assert_eq!(get(Some(&h), "connection.id").unwrap(), 42u64.to_le_bytes());
        assert_eq!(get(Some(&h), "connection.mtls").unwrap(), vec![0]);
        assert_eq!(get(Some(&h), "connection.tls_version"), None);
        assert_eq!(get(Some(&h), "request.headers.accept").unwrap(), b"*/*");
        let map =
            super::super::headers::decode_map(&get(Some(&h), "request.headers").unwrap()).unwrap();
        assert_eq!(
            map,
            vec![
                (b"x-request-id".to_vec(), b"rid".to_vec()),
                (b"accept".to_vec(), b"*/*".to_vec())
            ]
        );
        assert_eq!(
            get(Some(&h), "response.code"),
            None,
            "no response in request phase"
        );
        assert_eq!(get(Some(&h), "nope.nothing"), None);
        assert_eq!(get(None, "plugin_vm_id").unwrap(), b"v");
        assert_eq!(get(None, "request.path"), None);
    }

    #[test]
    fn tls_and_response_properties() {
        let der = b"not really DER but bytes".to_vec();
        let mut h = http(Some(TlsInfo {
            version: "TLSv1.3".into(),
            sni: Some("sni.example".into()),
            peer_certificate_der: Some(der.clone()),
            peer_subject: Some("CN=client".into()),
            peer_uri_sans: vec!["spiffe://x/y".into()],
            peer_dns_sans: vec![],
        }));
        assert_eq!(get(Some(&h), "connection.mtls").unwrap(), vec![1]);
        assert_eq!(get(Some(&h), "connection.tls_version").unwrap(), b"TLSv1.3");
        assert_eq!(
            get(Some(&h), "connection.requested_server_name").unwrap(),
            b"sni.example"
        );
        let digest =
            String::from_utf8(get(Some(&h), "connection.sha256_peer_certificate_digest").unwrap())
                .unwrap();
        assert_eq!(digest.len(), 64);
        assert_eq!(digest, sha256_hex(&der));
        assert_eq!(
            get(Some(&h), "connection.uri_san_peer_certificate").unwrap(),
            b"spiffe://x/y"
        );
        assert_eq!(get(Some(&h), "connection.dns_san_peer_certificate"), None);
        h.phase = Phase::Response;
        h.response_headers.add(b":status", b"404");
        h.response_headers.add(b"server", b"s");
        assert_eq!(
            get(Some(&h), "response.code").unwrap(),
            404u64.to_le_bytes()
        );
        assert_eq!(get(Some(&h), "response.headers.server").unwrap(), b"s");
    }

    #[test]
    fn sha256_hex_known_value() {
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
