//! An in-process OAuth 2.0 token endpoint (RFC 6749 §3.2) for end-to-end
//! tests of the filter's client role: grants `client_credentials`,
//! `password` (one fixed user) and `refresh_token`; client authentication
//! `client_secret_basic` or `client_secret_post`; counts token requests;
//! can refuse every client (`invalid_client`) and issue short-lived tokens.
//! Serves a discovery document at `/.well-known/openid-configuration`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::serve::{basic_credentials, json_reply, parse_form, ServerThread};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::json;

/// The fixed resource owner of the password grant.
pub const USER: (&str, &str) = ("alice", "wonderland");

struct State {
    client_id: String,
    client_secret: String,
    refuse: AtomicBool,
    expires_in: AtomicU64,
    issue_refresh: AtomicBool,
    next: AtomicUsize,
    requests: AtomicUsize,
    per_grant: Mutex<HashMap<String, usize>>,
    issued: Mutex<Vec<String>>,
    bad_auth: AtomicUsize,
}

/// The running server; stops on drop.
pub struct TokenServer {
    /// Bound address (127.0.0.1, free port).
    pub addr: SocketAddr,
    state: Arc<State>,
    _server: ServerThread,
}

impl TokenServer {
    /// Serves `POST /token` for one client.
    pub fn start(client_id: &str, client_secret: &str) -> TokenServer {
        let state = Arc::new(State {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            refuse: AtomicBool::new(false),
            expires_in: AtomicU64::new(3600),
            issue_refresh: AtomicBool::new(true),
            next: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            per_grant: Mutex::new(HashMap::new()),
            issued: Mutex::new(Vec::new()),
            bad_auth: AtomicUsize::new(0),
        });
        let st = state.clone();
        let server = ServerThread::spawn(
            "token server",
            || true,
            move |addr, req| serve(st.clone(), addr, req),
        );
        TokenServer {
            addr: server.addr,
            state,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>/token`.
    pub fn uri(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// `http://127.0.0.1:<port>` (issuer of the discovery document).
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Refuse every client with `invalid_client` (401) from now on, or not.
    pub fn refuse_clients(&self, refuse: bool) {
        self.state.refuse.store(refuse, Ordering::SeqCst);
    }

    /// `expires_in` of tokens issued from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        self.state.expires_in.store(seconds, Ordering::SeqCst);
    }

    /// Whether password grants come with a refresh token.
    pub fn issue_refresh_tokens(&self, yes: bool) {
        self.state.issue_refresh.store(yes, Ordering::SeqCst);
    }

    /// Token requests received (every answer: issued or refused).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Token requests per `grant_type`.
    pub fn requests_for(&self, grant: &str) -> usize {
        self.state
            .per_grant
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(grant)
            .copied()
            .unwrap_or(0)
    }

    /// Access tokens issued, in order.
    pub fn issued(&self) -> Vec<String> {
        self.state
            .issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests with missing or wrong client credentials.
    pub fn bad_auth(&self) -> usize {
        self.state.bad_auth.load(Ordering::SeqCst)
    }
}

fn reply(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    let challenge: &[(&str, &str)] = if status == 401 {
        &[("www-authenticate", "Basic realm=\"token\"")]
    } else {
        &[]
    };
    json_reply(status, body.to_string(), challenge)
}

/// Client credentials from `Authorization: Basic` or the form.
fn client_of(req_auth: Option<&str>, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(credentials) = basic_credentials(req_auth) {
        return Some(credentials);
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

async fn serve(
    st: Arc<State>,
    addr: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == hyper::Method::GET && req.uri().path() == "/.well-known/openid-configuration"
    {
        return Ok(reply(
            200,
            json!({"issuer": format!("http://{addr}"), "token_endpoint": format!("http://{addr}/token")}),
        ));
    }
    if req.method() != hyper::Method::POST || req.uri().path() != "/token" {
        return Ok(reply(404, json!({"error": "not_found"})));
    }
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(400, json!({"error": "invalid_request"}))),
    };
    let form = parse_form(&body);
    st.requests.fetch_add(1, Ordering::SeqCst);
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    *st.per_grant
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(grant.clone())
        .or_insert(0) += 1;
    let good_client = client_of(auth.as_deref(), &form)
        .is_some_and(|(id, secret)| id == st.client_id && secret == st.client_secret);
    if !good_client {
        st.bad_auth.fetch_add(1, Ordering::SeqCst);
    }
    if !good_client || st.refuse.load(Ordering::SeqCst) {
        return Ok(reply(
            401,
            json!({"error": "invalid_client", "error_description": "client authentication failed"}),
        ));
    }
    let refresh = match grant.as_str() {
        "client_credentials" => false,
        "password" => {
            let ok = form.get("username").map(String::as_str) == Some(USER.0)
                && form.get("password").map(String::as_str) == Some(USER.1);
            if !ok {
                return Ok(reply(400, json!({"error": "invalid_grant"})));
            }
            st.issue_refresh.load(Ordering::SeqCst)
        }
        "refresh_token" => {
            if !form
                .get("refresh_token")
                .is_some_and(|r| r.starts_with("rt-"))
            {
                return Ok(reply(400, json!({"error": "invalid_grant"})));
            }
            false
        }
        _ => return Ok(reply(400, json!({"error": "unsupported_grant_type"}))),
    };
    let n = st.next.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("at-{n}-{}", std::process::id());
    st.issued
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(token.clone());
    let mut answer = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": st.expires_in.load(Ordering::SeqCst),
        "scope": form.get("scope").cloned().unwrap_or_default(),
    });
    if refresh {
        answer["refresh_token"] = json!(format!("rt-{n}"));
    }
    Ok(reply(200, answer))
}
