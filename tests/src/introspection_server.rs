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

use crate::serve::{basic_credentials, json_reply, parse_form, ServerThread};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Value};

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
    _server: ServerThread,
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
        let (up, st) = (state.clone(), state.clone());
        let accept = move || *up.mode.lock().unwrap_or_else(|e| e.into_inner()) != Mode::Down;
        let server = ServerThread::spawn("introspection server", accept, move |_, req| {
            serve(st.clone(), req)
        });
        IntrospectionServer {
            addr: server.addr,
            state,
            _server: server,
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

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    json_reply(status, body, &[])
}

fn basic_ok(st: &State, req: &Request<Incoming>) -> bool {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    basic_credentials(header)
        .is_some_and(|(id, secret)| id == st.client_id && secret == st.client_secret)
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
    let form = parse_form(&body);
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
