//! An in-process OAuth 2.0 introspection endpoint (RFC 7662) for end-to-end
//! tests: answers from a token table the test controls, checks the client's
//! `client_secret_basic` credentials, counts calls (in total and per token),
//! and can revoke tokens, go down, be slow or answer garbage.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answer from the token table.
    Up,
    /// Close every connection without an answer.
    Down,
    /// Answer from the token table after this long.
    Slow(Duration),
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Answer 500.
    Failing,
}

struct State {
    client_id: String,
    client_secret: String,
    tokens: Mutex<HashMap<String, Value>>,
    mode: Mutex<Mode>,
    calls: AtomicUsize,
    per_token: Mutex<HashMap<String, usize>>,
    bad_auth: AtomicUsize,
}

/// The running server; stops on drop.
pub struct IntrospectionServer {
    /// Bound address (127.0.0.1, free port).
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IntrospectionServer {
    /// Serves `POST /introspect` for a client with these credentials
    /// (`client_secret_basic`).
    pub fn start(client_id: &str, client_secret: &str) -> IntrospectionServer {
        let state = Arc::new(State {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            tokens: Mutex::new(HashMap::new()),
            mode: Mutex::new(Mode::Up),
            calls: AtomicUsize::new(0),
            per_token: Mutex::new(HashMap::new()),
            bad_auth: AtomicUsize::new(0),
        });
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind introspection server");
        std_listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = std_listener.local_addr().expect("local addr");
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            if *st.mode.lock().unwrap_or_else(|e| e.into_inner()) == Mode::Down {
                                drop(stream);
                                continue;
                            }
                            let _ = stream.set_nodelay(true);
                            let st = st.clone();
                            tokio::spawn(async move {
                                let svc = service_fn(move |req| serve(st.clone(), req));
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        IntrospectionServer {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>/introspect`.
    pub fn uri(&self) -> String {
        format!("http://{}/introspect", self.addr)
    }

    /// The answer for `token` (unknown tokens are `{"active": false}`).
    pub fn set_token(&self, token: &str, answer: Value) {
        self.state
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.to_owned(), answer);
    }

    /// Marks `token` revoked: `{"active": false}` from now on.
    pub fn revoke(&self, token: &str) {
        self.set_token(token, json!({ "active": false }));
    }

    /// Changes how it answers.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Introspection requests received (with good client authentication).
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Introspection requests received for `token`.
    pub fn calls_for(&self, token: &str) -> usize {
        self.state
            .per_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .copied()
            .unwrap_or(0)
    }

    /// Calls per token, for every token asked about.
    pub fn calls_per_token(&self) -> HashMap<String, usize> {
        self.state
            .per_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests refused for bad or missing client authentication.
    pub fn bad_auth(&self) -> usize {
        self.state.bad_auth.load(Ordering::SeqCst)
    }
}

impl Drop for IntrospectionServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            s.get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok()),
        ) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn basic_ok(st: &State, req: &Request<Incoming>) -> bool {
    let Some(v) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(b64) = v.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return false;
    };
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let Some((id, secret)) = raw.split_once(':') else {
        return false;
    };
    form_decode(id) == st.client_id && form_decode(secret) == st.client_secret
}

async fn serve(
    st: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mode = *st.mode.lock().unwrap_or_else(|e| e.into_inner());
    if req.method() != hyper::Method::POST || req.uri().path() != "/introspect" {
        return Ok(reply(404, "{\"error\":\"not_found\"}".into()));
    }
    let form_ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let auth_ok = basic_ok(&st, &req);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(400, "{\"error\":\"invalid_request\"}".into())),
    };
    if !auth_ok {
        st.bad_auth.fetch_add(1, Ordering::SeqCst);
        return Ok(reply(401, "{\"error\":\"invalid_client\"}".into()));
    }
    let form: HashMap<String, String> = String::from_utf8_lossy(&body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (form_decode(k), form_decode(v)))
        .collect();
    let Some(token) = form.get("token").filter(|_| form_ct) else {
        return Ok(reply(400, "{\"error\":\"invalid_request\"}".into()));
    };
    st.calls.fetch_add(1, Ordering::SeqCst);
    *st.per_token
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(token.clone())
        .or_insert(0) += 1;
    let answer = st
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
        .cloned()
        .unwrap_or_else(|| json!({ "active": false }));
    Ok(match mode {
        Mode::Up | Mode::Down => reply(200, answer.to_string()),
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            reply(200, answer.to_string())
        }
        Mode::Garbage => reply(200, "<html>not json</html>".into()),
        Mode::Failing => reply(500, "{\"error\":\"server_error\"}".into()),
    })
}
