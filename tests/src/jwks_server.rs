//! An in-process JWKS and OIDC discovery server for end-to-end tests: serves a
//! key set that tests change at will, counts fetches, and can play dead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::serve::ServerThread;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve the key set.
    Up,
    /// Answer 503 to everything.
    Failing,
    /// Answer 200 with a body that is not a JWK set.
    Garbage,
}

struct State {
    jwks: Mutex<Value>,
    mode: Mutex<Mode>,
    max_age: Mutex<Option<u64>>,
    non_utf8_header: std::sync::atomic::AtomicBool,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
}

/// The running server; stops on drop.
pub struct JwksServer {
    /// Bound address (127.0.0.1, free port).
    pub addr: SocketAddr,
    state: Arc<State>,
    _server: ServerThread,
}

impl JwksServer {
    /// Starts serving `jwks` at `/jwks.json` and discovery at
    /// `/.well-known/openid-configuration` (issuer = [`JwksServer::issuer`]).
    pub fn start(jwks: Value) -> JwksServer {
        let state = Arc::new(State {
            jwks: Mutex::new(jwks),
            mode: Mutex::new(Mode::Up),
            max_age: Mutex::new(None),
            non_utf8_header: std::sync::atomic::AtomicBool::new(false),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
        });
        let st = state.clone();
        let server = ServerThread::spawn(
            "JWKS server",
            || true,
            move |addr, req| serve(st.clone(), addr, req),
        );
        JwksServer {
            addr: server.addr,
            state,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>`: the issuer its discovery document names.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the key set.
    pub fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap_or_else(|e| e.into_inner()) = jwks;
    }

    /// Changes how it answers.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Sends `Cache-Control: max-age=N` with the key set.
    pub fn set_max_age(&self, max_age: Option<u64>) {
        *self.state.max_age.lock().unwrap_or_else(|e| e.into_inner()) = max_age;
    }

    /// Adds a header whose value is not UTF-8 (`x-bin: \xff\xfe`, legal
    /// obs-text in HTTP/1.1) to every answer.
    pub fn set_non_utf8_header(&self, on: bool) {
        self.state.non_utf8_header.store(on, Ordering::SeqCst);
    }

    /// Number of `/jwks.json` requests served so far (in any mode).
    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// Number of discovery requests served so far.
    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }
}

async fn serve(
    st: Arc<State>,
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mode = *st.mode.lock().unwrap_or_else(|e| e.into_inner());
    let path = req.uri().path().to_string();
    let counter = match path.as_str() {
        "/jwks.json" => Some(&st.jwks_hits),
        "/.well-known/openid-configuration" => Some(&st.discovery_hits),
        _ => None,
    };
    if let Some(c) = counter {
        c.fetch_add(1, Ordering::SeqCst);
    }
    let non_utf8 = st.non_utf8_header.load(Ordering::SeqCst);
    let reply = |status: u16, body: String, max_age: Option<u64>| {
        let mut b = Response::builder()
            .status(status)
            .header("content-type", "application/json");
        if non_utf8 {
            let raw = hyper::header::HeaderValue::from_bytes(b"\xff\xfe")
                .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("unreachable"));
            b = b.header("x-bin", raw);
        }
        if let Some(m) = max_age {
            b = b.header("cache-control", format!("public, max-age={m}"));
        }
        b.body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    };
    Ok(match (mode, path.as_str()) {
        (Mode::Failing, _) => reply(503, "{\"error\":\"unavailable\"}".into(), None),
        (Mode::Garbage, _) => reply(200, "<html>not json</html>".into(), None),
        (Mode::Up, "/jwks.json") => {
            let body = st
                .jwks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .to_string();
            let max_age = *st.max_age.lock().unwrap_or_else(|e| e.into_inner());
            reply(200, body, max_age)
        }
        (Mode::Up, "/.well-known/openid-configuration") => {
            let issuer = format!("http://{addr}");
            let doc = json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/jwks.json"),
                "token_endpoint": format!("{issuer}/token"),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            });
            reply(200, doc.to_string(), None)
        }
        _ => reply(404, "{\"error\":\"not_found\"}".into(), None),
    })
}
