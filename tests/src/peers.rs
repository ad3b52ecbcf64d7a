//! Real peers for the end-to-end suites: Envoy 1.40 and the oidc-provider 9
//! authorization server (`tests/as/server.mjs` on Node 22), run as child
//! processes.
//!
//! `cargo xtask test` installs both (see `xtask/src/peers.rs`), sets
//! `OAUTH_E2E=1` and points at the binaries with `OAUTH_ENVOY_BIN`,
//! `OAUTH_NODE_BIN` and `OAUTH_AS_DIR`; without those variables the harness
//! looks at the installers' fixed paths (`target/peers/bin/{envoy,node}`,
//! `tests/as`). The tests that need the peers are `#[ignore]`d, so a plain
//! `cargo test` reports them as ignored; `cargo xtask test` runs them with
//! `--include-ignored`. Each starts with `peers::e2e_enabled("name")`, which
//! fails the test naming the fix when the peers are missing.
//!
//! Every process binds 127.0.0.1 only, on a port chosen at run time; each is
//! started in a session of its own (`setsid`) together with a watchdog that
//! kills the whole process group when the test process disappears, and is
//! killed (whole group) on drop, also when the test panics. Files (Envoy's
//! rendered config, logs, the AS's keys) live in a temp dir removed on drop.
//!
//! The calls here block (std sockets, polling): use them from plain `#[test]`
//! functions, or from async tests for peers that do not run on the test's own
//! runtime (these never do).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::wasm::workspace_root;

/// Client id of the confidential client-credentials client
/// (`client_secret_basic`).
pub const CLIENT_ID: &str = "gateway-client";
/// Its secret (a test fixture).
pub const CLIENT_SECRET: &str = "gateway-client-secret";
/// Client id of the client-credentials client using `client_secret_post`.
pub const POST_CLIENT_ID: &str = "gateway-client-post";
/// Its secret (a test fixture).
pub const POST_CLIENT_SECRET: &str = "gateway-client-post-secret";
/// Client id of the resource server (introspection and revocation only).
pub const RS_CLIENT_ID: &str = "resource-server";
/// Its secret (a test fixture).
pub const RS_CLIENT_SECRET: &str = "resource-server-secret";

/// Resource indicator (and `aud`) of JWT (`at+jwt`) access tokens signed ES256.
pub const RESOURCE_JWT: &str = "https://api.test/jwt";
/// Resource indicator of JWT access tokens signed RS256.
pub const RESOURCE_JWT_RS256: &str = "https://api.test/jwt-rs256";
/// Resource indicator of short-lived JWT access tokens (ES256).
pub const RESOURCE_JWT_SHORT: &str = "https://api.test/jwt-short";
/// Another JWT audience (ES256): tokens a proxy for [`RESOURCE_JWT`] refuses.
pub const RESOURCE_OTHER: &str = "https://api.test/other";
/// Resource indicator of opaque (introspectable) access tokens.
pub const RESOURCE_OPAQUE: &str = "https://api.test/opaque";
/// Resource indicator of short-lived opaque access tokens.
pub const RESOURCE_OPAQUE_SHORT: &str = "https://api.test/opaque-short";
/// Resource indicator of JWT access tokens (ES256) encrypted to the
/// resource server's key (JWE RSA-OAEP-256 + A256GCM, `cty: at+jwt`).
pub const RESOURCE_JWT_ENCRYPTED: &str = "https://api.test/jwt-encrypted";
/// The scopes every resource offers.
pub const SCOPES: [&str; 3] = ["read", "write", "admin"];

// ---------------------------------------------------------------- switches

/// Guards an end-to-end test. Those tests are `#[ignore]`d, so a plain
/// `cargo test` lists them as ignored (never as passed); `cargo xtask test`
/// runs them with `--include-ignored` after installing the peers. A test
/// that runs without the peers fails naming the fix; it never passes
/// silently. Always `true` when it returns.
pub fn e2e_enabled(test: &str) -> bool {
    for bin in [envoy_bin(), node_bin()] {
        assert!(
            bin.is_file(),
            "{test}: {} is missing: run `cargo xtask test`, or `cargo xtask peers` \
             and the exports it prints",
            bin.display()
        );
    }
    true
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
}

/// The Envoy binary: `$OAUTH_ENVOY_BIN`, else `target/peers/bin/envoy`.
pub fn envoy_bin() -> PathBuf {
    env_path(
        "OAUTH_ENVOY_BIN",
        workspace_root().join("target/peers/bin/envoy"),
    )
}

/// The Node 22 binary: `$OAUTH_NODE_BIN`, else `target/peers/bin/node`.
pub fn node_bin() -> PathBuf {
    env_path(
        "OAUTH_NODE_BIN",
        workspace_root().join("target/peers/bin/node"),
    )
}

/// The authorization server's directory: `$OAUTH_AS_DIR`, else `tests/as`.
pub fn as_dir() -> PathBuf {
    env_path("OAUTH_AS_DIR", workspace_root().join("tests/as"))
}

/// A port that was free a moment ago on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ---------------------------------------------------------------- templating

/// Replaces every `{{NAME}}` in `template` by its value in `vars`; panics
/// naming any placeholder left without a value.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut missing = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            panic!(
                "unclosed `{{{{` in template near: {}",
                &rest[start..rest.len().min(start + 40)]
            );
        };
        let name = after[..end].trim();
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, value)) => out.push_str(value),
            None => {
                missing.push(name.to_string());
                out.push_str(&rest[start..start + 2 + end + 2]);
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    assert!(
        missing.is_empty(),
        "template placeholders without a value: {missing:?}"
    );
    out
}

/// The text of `envoy/<name>` (e.g. `jwt.yaml`).
pub fn envoy_template(name: &str) -> String {
    let path = workspace_root().join("envoy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `json` as a YAML double-quoted scalar (a JSON string literal, which YAML
/// reads as the same string): the value for `{{PLUGIN_CONFIG}}`.
pub fn yaml_string(json: &str) -> String {
    Value::String(json.to_string()).to_string()
}

/// Renders `envoy/<name>` with the module, the plugin configuration (JSON)
/// and the two peer ports; `{{ADMIN_PORT}}` and `{{LISTENER_PORT}}` stay for
/// [`Envoy::start`] to fill.
pub fn envoy_config(
    name: &str,
    module: &Path,
    plugin_config: &Value,
    upstream_port: u16,
    as_port: u16,
) -> String {
    let module = module.display().to_string();
    let plugin = yaml_string(&plugin_config.to_string());
    let upstream = upstream_port.to_string();
    let auth = as_port.to_string();
    render(
        &envoy_template(name),
        &[
            ("MODULE", &module),
            ("PLUGIN_CONFIG", &plugin),
            ("UPSTREAM_PORT", &upstream),
            ("AS_PORT", &auth),
            ("ADMIN_PORT", "{{ADMIN_PORT}}"),
            ("LISTENER_PORT", "{{LISTENER_PORT}}"),
            ("TLS_CERT", "{{TLS_CERT}}"),
            ("TLS_KEY", "{{TLS_KEY}}"),
            ("TLS_CA", "{{TLS_CA}}"),
        ],
    )
}

/// Fills the TLS placeholders of a rendered config (`envoy/mtls.yaml`)
/// with `pki`'s server certificate, key and CA; a config without them is
/// returned unchanged.
pub fn with_tls(config: &str, pki: &crate::host::Pki) -> String {
    render(
        config,
        &[
            ("ADMIN_PORT", "{{ADMIN_PORT}}"),
            ("LISTENER_PORT", "{{LISTENER_PORT}}"),
            ("TLS_CERT", &pki.path("server.pem")),
            ("TLS_KEY", &pki.path("server.key")),
            ("TLS_CA", &pki.path("ca.pem")),
        ],
    )
}

// ---------------------------------------------------------------- processes

/// A directory under the system temp dir, removed with its content on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "oauth-peers-{tag}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Shell prologue run by `setsid sh -c`: starts a watchdog that, once the
/// test process (`$1`) is gone (killed before its drops could run), removes
/// the scratch directory (`$2`) and kills the whole process group (`kill 0`);
/// then `exec`s the real program (`$3 ...`), which keeps the group leader's
/// pid.
const WATCHDOG: &str = r#"p=$1; d=$2; shift 2
( while kill -0 "$p" 2>/dev/null; do sleep 1; done; rm -rf "$d"; kill -KILL 0 ) </dev/null >/dev/null 2>&1 &
exec "$@""#;

/// A child process leading its own session and process group; its stdout
/// and stderr go to `log`. Drop kills the group; a watchdog kills it too
/// when the test process dies.
pub struct Group {
    child: Child,
    log: PathBuf,
}

impl Group {
    /// Runs `program` in `scratch` (removed by the watchdog if the test
    /// process dies), logging to `log`.
    pub fn spawn(program: &Path, args: &[String], scratch: &Path, log: PathBuf) -> Group {
        let out = File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        let child = Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(std::process::id().to_string())
            .arg(scratch)
            .arg(program)
            .args(args)
            .current_dir(scratch)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        Group { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_text(), lines)
    }

    /// Its pid (the program's: the shell `exec`s it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn kill(&mut self) {
        if self.exited().is_none() {
            // The child is the leader of its own group: `kill -- -pid`
            // reaches the program and its watchdog.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Last `lines` lines of `text`, for failure messages.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `ready` every 50 ms until it yields a value; panics when `process`
/// ends first or `limit` passes, quoting the process's log.
fn wait_until<T>(
    what: &str,
    process: &mut Group,
    limit: Duration,
    mut ready: impl FnMut(&Group) -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = ready(process) {
            return value;
        }
        if let Some(status) = process.exited() {
            panic!(
                "{what} exited ({status}) before it was ready; log:\n{}",
                tail(&process.log_text(), 40)
            );
        }
        if Instant::now() > deadline {
            panic!(
                "{what} not ready after {limit:?}; log:\n{}",
                tail(&process.log_text(), 40)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- HTTP client

/// A complete HTTP/1.1 response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body (chunked transfer coding removed).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body as JSON; panics quoting the body otherwise.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}, body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

/// One blocking HTTP/1.1 request to `127.0.0.1:port` on a fresh connection
/// (`Connection: close`), headers sent exactly as given (repeats allowed).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let head = request_head(method, path, &format!("127.0.0.1:{port}"), headers, body);
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    // No half-close: Node's server drops a half-closed connection before
    // answering a POST. `connection: close` ends the exchange.
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

/// The head of a `connection: close` HTTP/1.1 request (with
/// `content-length` when there is a body or the method has one).
fn request_head(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head
}

/// Sends `raw` (a whole HTTP/1.1 request, byte for byte: hostile shapes
/// included) to `127.0.0.1:port` on a fresh connection and reads the answer
/// until the server closes it.
pub fn http_request_raw(port: u16, raw: &[u8]) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(raw)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let head_only = raw.starts_with(b"HEAD ");
    parse_response(&answer, head_only)
}

/// [`http_request`] over TLS to `127.0.0.1:port` (server name
/// `localhost`, trusting `pki`'s CA), presenting `client_cert`.
pub fn https_request(
    port: u16,
    pki: &crate::host::Pki,
    client_cert: crate::host::ClientCert,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let config = pki.client_config_as(&["http/1.1"], client_cert);
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|_| bad("name"))?;
    let conn = rustls::ClientConnection::new(config, name)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    let head = request_head(method, path, &format!("localhost:{port}"), headers, body);
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    // A peer that closes without close_notify ends the answer too.
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    parse_response(&raw, method == "HEAD")
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

fn parse_response(raw: &[u8], head_only: bool) -> std::io::Result<HttpResponse> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if head_only || status == 204 || status == 304 {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else if let Some(len) = headers.iter().find(|(k, _)| k == "content-length") {
        let len: usize = len.1.parse().map_err(|_| bad("bad content-length"))?;
        rest.get(..len)
            .ok_or_else(|| bad("body shorter than content-length"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("bad chunk"))?;
        let size_text =
            std::str::from_utf8(&data[..line_end]).map_err(|_| bad("bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or_else(|| bad("truncated chunk"))?);
        data = data.get(size + 2..).ok_or_else(|| bad("truncated chunk"))?;
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The payload of a JWS compact token, decoded (no verification): for test
/// assertions about what the AS issued.
pub fn jwt_payload(token: &str) -> Value {
    let part = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {} parts", token.split('.').count()));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("JWT payload is base64url");
    serde_json::from_slice(&bytes).expect("JWT payload is JSON")
}

/// The protected header of a JWS compact token, decoded.
pub fn jwt_header(token: &str) -> Value {
    let part = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("JWT header is base64url");
    serde_json::from_slice(&bytes).expect("JWT header is JSON")
}

// ---------------------------------------------------------------- the AS

/// Options of the authorization server.
#[derive(Debug, Clone)]
pub struct AuthServerOptions {
    /// Access-token lifetime of the normal resources, seconds.
    pub ttl_s: u32,
    /// Lifetime of [`RESOURCE_JWT_SHORT`] and [`RESOURCE_OPAQUE_SHORT`] tokens.
    pub short_ttl_s: u32,
    /// Certificate and key (PEM files) for a second, HTTPS port that asks
    /// for client certificates (certificate-bound tokens, RFC 8705).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// CA (PEM) whose client certificates count as authorized there
    /// (`tls_client_auth`).
    pub tls_ca: Option<PathBuf>,
}

impl Default for AuthServerOptions {
    fn default() -> Self {
        Self {
            ttl_s: 300,
            short_ttl_s: 2,
            tls: None,
            tls_ca: None,
        }
    }
}

/// The oidc-provider authorization server (`tests/as/server.mjs`) on
/// `http://127.0.0.1:<port>`; see the module docs of `server.mjs` for its
/// clients and resources. It keeps its port across restarts, so a proxy
/// configured with it follows.
pub struct AuthServer {
    options: AuthServerOptions,
    port: u16,
    tls_port: u16,
    kids: Vec<String>,
    // Declared before `dir`: the process ends before its files go.
    process: Option<Group>,
    dir: Scratch,
    starts: u32,
}

impl AuthServer {
    /// Starts the server on a free port and waits until it listens.
    pub fn start(options: AuthServerOptions) -> AuthServer {
        let dir = Scratch::new("as");
        let mut server = AuthServer {
            options,
            port: 0,
            tls_port: 0,
            kids: Vec::new(),
            process: None,
            dir,
            starts: 0,
        };
        server.launch(false);
        server
    }

    fn launch(&mut self, new_keys: bool) {
        assert!(
            self.process.is_none(),
            "authorization server already running"
        );
        let script = as_dir().join("server.mjs");
        let mut args = vec![
            script.display().to_string(),
            "--port".into(),
            self.port.to_string(),
            "--keys".into(),
            self.dir.0.join("keys.json").display().to_string(),
            "--ttl".into(),
            self.options.ttl_s.to_string(),
            "--short-ttl".into(),
            self.options.short_ttl_s.to_string(),
        ];
        if new_keys {
            args.push("--new-keys".into());
        }
        if let Some((cert, key)) = &self.options.tls {
            args.push("--tls-cert".into());
            args.push(cert.display().to_string());
            args.push("--tls-key".into());
            args.push(key.display().to_string());
        }
        if let Some(ca) = &self.options.tls_ca {
            args.push("--tls-ca".into());
            args.push(ca.display().to_string());
        }
        self.starts += 1;
        let log = self.dir.0.join(format!("as-{}.log", self.starts));
        let mut process = Group::spawn(&node_bin(), &args, &self.dir.0, log);
        let ready = wait_until(
            "authorization server",
            &mut process,
            Duration::from_secs(30),
            |p| {
                p.log_text()
                    .lines()
                    .find_map(|l| l.strip_prefix("AS READY ").map(str::to_string))
            },
        );
        let field = |name: &str| {
            ready
                .split(' ')
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .unwrap_or_else(|| panic!("AS ready line lacks {name}: {ready}"))
                .to_string()
        };
        self.port = field("port").parse().expect("AS port is a number");
        self.tls_port = field("tls_port").parse().expect("AS TLS port is a number");
        self.kids = field("kids").split(',').map(str::to_string).collect();
        self.process = Some(process);
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its HTTPS port (0 unless started with [`AuthServerOptions::tls`]).
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// A fresh DPoP proof (RFC 9449) made by the AS process (node `jose`)
    /// with the test client key `key` (`a` or `b`): `{"proof", "jkt"}`.
    /// `iat_offset_s` moves its `iat` from now.
    pub fn dpop_proof(
        &self,
        htm: &str,
        htu: &str,
        ath: Option<&str>,
        key: &str,
        iat_offset_s: i64,
    ) -> Value {
        self.dpop_proof_with_nonce(htm, htu, ath, key, iat_offset_s, None)
    }

    /// [`AuthServer::dpop_proof`] carrying the server nonce `nonce`.
    pub fn dpop_proof_with_nonce(
        &self,
        htm: &str,
        htu: &str,
        ath: Option<&str>,
        key: &str,
        iat_offset_s: i64,
        nonce: Option<&str>,
    ) -> Value {
        let mut q = vec![("htm", htm.to_string()), ("htu", htu.to_string())];
        if let Some(n) = nonce {
            q.push(("nonce", n.to_string()));
        }
        q.push(("key", key.to_string()));
        q.push(("iat_offset", iat_offset_s.to_string()));
        if let Some(a) = ath {
            q.push(("ath", a.to_string()));
        }
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = self.request(
            "GET",
            &format!("/_test/dpop-proof?{}", form(&pairs)),
            &[],
            b"",
        );
        assert_eq!(r.status, 200, "dpop proof: {}", r.text());
        r.json()
    }

    /// A DPoP-bound access token (`token_type` DPoP, `cnf.jkt` of key `a`)
    /// for `resource`, by client credentials.
    pub fn dpop_token(&self, resource: &str, scope: &str) -> String {
        let proof = self.dpop_proof("POST", &self.url("/token"), None, "a", 0);
        let proof = proof["proof"].as_str().expect("proof").to_string();
        let auth = basic(CLIENT_ID, CLIENT_SECRET);
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ]);
        let r = self.request(
            "POST",
            "/token",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
                ("dpop", &proof),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "DPoP token request: {}", r.text());
        assert_eq!(r.json()["token_type"], "DPoP", "{}", r.text());
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A certificate-bound access token (`cnf.x5t#S256` of `pki`'s client
    /// certificate) for `resource`: client `gateway-mtls` over the HTTPS
    /// port with that certificate.
    pub fn mtls_token(&self, pki: &crate::host::Pki, resource: &str, scope: &str) -> String {
        assert_ne!(self.tls_port, 0, "the AS was started without TLS");
        let auth = basic("gateway-mtls", "gateway-mtls-secret");
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ]);
        let r = https_request(
            self.tls_port,
            pki,
            crate::host::ClientCert::First,
            "POST",
            "/token",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
        .expect("mTLS token request");
        assert_eq!(r.status, 200, "mTLS token request: {}", r.text());
        r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Its signing keys' public halves as PEM `PUBLIC KEY` blocks.
    pub fn public_keys_pem(&self) -> String {
        let r = self.request("GET", "/_test/keys.pem", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    }

    /// The resource server's private decryption key (RSA-OAEP-256) for
    /// [`RESOURCE_JWT_ENCRYPTED`] tokens, as a JWK.
    pub fn rs_decryption_key(&self) -> Value {
        let r = self.request("GET", "/_test/rs-decryption-key", &[], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// Its issuer identifier, `http://127.0.0.1:<port>` (the `iss` of its tokens).
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `<issuer><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    /// The `kid`s of its current signing keys (ES256 first, then RS256).
    pub fn kids(&self) -> &[String] {
        &self.kids
    }

    /// Its log so far (stdout and stderr of the current process).
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(Group::log_text)
            .unwrap_or_default()
    }

    /// Whether the process is up.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.exited().is_none())
    }

    /// A request to the AS; panics if it cannot be reached.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        http_request(self.port, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {} failed: {e}", self.url(path)))
    }

    /// Token request (`client_credentials`) by `client_id`/`secret` with
    /// `client_secret_basic`; `resource` and `scope` are sent when not empty.
    pub fn token_response(
        &self,
        client_id: &str,
        secret: &str,
        resource: &str,
        scope: &str,
    ) -> HttpResponse {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if !resource.is_empty() {
            pairs.push(("resource", resource));
        }
        if !scope.is_empty() {
            pairs.push(("scope", scope));
        }
        let auth = basic(client_id, secret);
        self.request(
            "POST",
            "/token",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form(&pairs).as_bytes(),
        )
    }

    /// A client-credentials access token of [`CLIENT_ID`] for `resource`
    /// with `scope` (space-separated); panics unless the AS issues it.
    pub fn token(&self, resource: &str, scope: &str) -> String {
        let response = self.token_response(CLIENT_ID, CLIENT_SECRET, resource, scope);
        assert_eq!(
            response.status,
            200,
            "token request failed: {}",
            response.text()
        );
        response.json()["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {}", response.text()))
            .to_string()
    }

    /// Introspects `token` as [`RS_CLIENT_ID`] (RFC 7662); the JSON answer.
    /// Only opaque tokens can be introspected at this AS.
    pub fn introspect(&self, token: &str) -> Value {
        let auth = basic(RS_CLIENT_ID, RS_CLIENT_SECRET);
        let response = self.request(
            "POST",
            "/token/introspection",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form(&[("token", token)]).as_bytes(),
        );
        assert_eq!(
            response.status,
            200,
            "introspection failed: {}",
            response.text()
        );
        response.json()
    }

    /// Revokes `token` (RFC 7009) as [`RS_CLIENT_ID`]; panics unless 200.
    pub fn revoke(&self, token: &str) {
        let auth = basic(RS_CLIENT_ID, RS_CLIENT_SECRET);
        let response = self.request(
            "POST",
            "/token/revocation",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form(&[("token", token)]).as_bytes(),
        );
        assert_eq!(
            response.status,
            200,
            "revocation failed: {}",
            response.text()
        );
    }

    /// Its JWK set (public keys) as served at `/jwks`.
    pub fn jwks(&self) -> Value {
        let response = self.request("GET", "/jwks", &[], b"");
        assert_eq!(response.status, 200, "jwks: {}", response.text());
        response.json()
    }

    /// Stops the process (the port then refuses connections). Opaque tokens
    /// issued so far are forgotten (in-memory storage).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// Stops if running and starts again on the same port with the same keys.
    pub fn restart(&mut self) {
        self.stop();
        self.launch(false);
    }

    /// Stops if running and starts again on the same port with a new key set
    /// (new `kid`s; the old keys are gone from its JWKS): key rotation.
    pub fn restart_with_new_key(&mut self) {
        let old = self.kids.clone();
        self.stop();
        self.launch(true);
        assert!(
            self.kids.iter().all(|k| !old.contains(k)),
            "rotation kept a kid: {old:?} -> {:?}",
            self.kids
        );
    }
}

// ---------------------------------------------------------------- Envoy

/// A base id for `--base-id` unique within this machine's concurrent test
/// processes (pid-derived) and within this process (counter).
pub fn next_base_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 40_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed) % 100
}

/// Options of an Envoy run.
#[derive(Debug, Clone)]
pub struct EnvoyOptions {
    /// `--base-id`.
    pub base_id: u32,
    /// Worker threads (`--concurrency`).
    pub concurrency: u32,
    /// `-l` log level.
    pub log_level: String,
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        Self {
            base_id: next_base_id(),
            concurrency: 2,
            log_level: "info".into(),
        }
    }
}

/// A running Envoy. Its config is a rendered template in which the harness
/// fills `{{ADMIN_PORT}}` and `{{LISTENER_PORT}}` with 0 (the kernel picks;
/// the harness reads the real ports back from the admin API).
pub struct Envoy {
    admin_port: u16,
    listeners: BTreeMap<String, u16>,
    // Declared before `dir`: the process ends before its files go.
    process: Option<Group>,
    _dir: Scratch,
}

fn fill_ports(config: &str) -> String {
    render(config, &[("ADMIN_PORT", "0"), ("LISTENER_PORT", "0")])
}

impl Envoy {
    /// Starts Envoy with `config` (YAML; every placeholder but the two ports
    /// already filled) and `--base-id base_id`, and waits until its admin
    /// `/ready` says LIVE.
    pub fn start(config: &str, base_id: u32) -> Envoy {
        Self::start_with(
            config,
            EnvoyOptions {
                base_id,
                ..EnvoyOptions::default()
            },
        )
    }

    /// [`Envoy::start`] with all options.
    pub fn start_with(config: &str, options: EnvoyOptions) -> Envoy {
        let dir = Scratch::new("envoy");
        let config_path = dir.0.join("envoy.yaml");
        std::fs::write(&config_path, fill_ports(config)).expect("write envoy config");
        let admin_path = dir.0.join("admin-address");
        let args: Vec<String> = vec![
            "-c".into(),
            config_path.display().to_string(),
            "--base-id".into(),
            options.base_id.to_string(),
            "--disable-hot-restart".into(),
            "--concurrency".into(),
            options.concurrency.to_string(),
            "-l".into(),
            options.log_level.clone(),
            "--admin-address-path".into(),
            admin_path.display().to_string(),
        ];
        let mut process = Group::spawn(&envoy_bin(), &args, &dir.0, dir.0.join("envoy.log"));
        let limit = Duration::from_secs(60);
        let admin_port = wait_until("envoy (admin address)", &mut process, limit, |_| {
            let text = std::fs::read_to_string(&admin_path).ok()?;
            text.trim().rsplit(':').next()?.parse::<u16>().ok()
        });
        wait_until("envoy (/ready)", &mut process, limit, |_| {
            let r = http_request(admin_port, "GET", "/ready", &[], b"").ok()?;
            (r.status == 200).then_some(())
        });
        let listeners = wait_until("envoy (/listeners)", &mut process, limit, |_| {
            let r = http_request(admin_port, "GET", "/listeners?format=json", &[], b"").ok()?;
            listener_ports(&serde_json::from_slice(&r.body).ok()?)
        });
        Envoy {
            admin_port,
            listeners,
            process: Some(process),
            _dir: dir,
        }
    }

    /// Port of the first listener (by name order when there are several).
    pub fn listener_port(&self) -> u16 {
        *self
            .listeners
            .values()
            .next()
            .expect("envoy has a listener")
    }

    /// Port of listener `name`.
    pub fn listener_port_named(&self, name: &str) -> u16 {
        *self
            .listeners
            .get(name)
            .unwrap_or_else(|| panic!("no listener {name}: {:?}", self.listeners))
    }

    /// Admin port.
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// `GET` on the admin API.
    pub fn admin_get(&self, path: &str) -> HttpResponse {
        http_request(self.admin_port, "GET", path, &[], b"")
            .unwrap_or_else(|e| panic!("envoy admin {path}: {e}"))
    }

    /// Value of stat `name` (`/stats?filter=^name$`), if Envoy has it.
    pub fn stat(&self, name: &str) -> Option<u64> {
        let text = self
            .admin_get(&format!("/stats?filter=%5E{}%24", percent_encode(name)))
            .text();
        text.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(": ")?
                .trim()
                .parse()
                .ok()
        })
    }

    /// A blocking request to the (first) listener.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        http_request(self.listener_port(), method, path, headers, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path} via envoy failed: {e}\nlog:\n{}",
                tail(&self.log(), 40)
            )
        })
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(Group::log_text)
            .unwrap_or_default()
    }

    /// Stops Envoy (kills the process group).
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("envoy log (last lines):\n{}", tail(&self.log(), 60));
        }
        self.stop();
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "authorization server log (last lines):\n{}",
                tail(&self.log(), 30)
            );
        }
        self.stop();
    }
}

/// Name → port from the admin API's `/listeners?format=json`.
fn listener_ports(json: &Value) -> Option<BTreeMap<String, u16>> {
    let mut ports = BTreeMap::new();
    for status in json.get("listener_statuses")?.as_array()? {
        let name = status.get("name")?.as_str()?;
        let port = status
            .pointer("/local_address/socket_address/port_value")?
            .as_u64()?;
        ports.insert(name.to_string(), u16::try_from(port).ok()?);
    }
    (!ports.is_empty() && ports.values().all(|p| *p != 0)).then_some(ports)
}

/// `envoy --mode validate -c <config>`: Ok, or the error lines Envoy printed.
/// The two port placeholders may be left in; the rest must be filled.
/// Validation loads the wasm module and runs its `on_configure`.
pub fn envoy_validate(config: &str) -> Result<(), String> {
    let dir = Scratch::new("envoy-validate");
    let path = dir.0.join("envoy.yaml");
    std::fs::write(&path, fill_ports(config)).expect("write envoy config");
    let output = Command::new(envoy_bin())
        .arg("--mode")
        .arg("validate")
        .arg("-c")
        .arg(&path)
        .args(["--disable-hot-restart", "-l", "warn"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", envoy_bin().display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && text.contains("OK") {
        Ok(())
    } else {
        Err(text
            .lines()
            .filter(|l| l.contains("critical") || l.contains("error"))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_fills_and_names_missing() {
        assert_eq!(
            render("a {{X}} b {{ Y }}", &[("X", "1"), ("Y", "2")]),
            "a 1 b 2"
        );
        let err = std::panic::catch_unwind(|| render("{{X}} {{Z}}", &[("X", "1")])).unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("\"Z\""), "{msg}");
    }

    #[test]
    fn yaml_string_is_a_json_literal() {
        assert_eq!(yaml_string(r#"{"a":"b\c"}"#), r#""{\"a\":\"b\\c\"}""#);
    }

    #[test]
    fn parses_chunked_and_sized_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let r = parse_response(raw, false).unwrap();
        assert_eq!(
            (r.status, r.text().as_str(), r.header("x-a")),
            (200, "abcde", Some("1"))
        );
        let raw = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nhi";
        let r = parse_response(raw, false).unwrap();
        assert_eq!((r.status, r.text().as_str()), (401, "hi"));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhi", false).is_err());
    }

    #[test]
    fn listener_ports_from_admin_json() {
        let json: Value = serde_json::from_str(
            r#"{"listener_statuses":[{"name":"api","local_address":{"socket_address":{"address":"127.0.0.1","port_value":4321}}}]}"#,
        )
        .unwrap();
        assert_eq!(listener_ports(&json).unwrap().get("api"), Some(&4321));
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form(&[("scope", "read write"), ("r", "https://a/b")]),
            "scope=read%20write&r=https%3A%2F%2Fa%2Fb"
        );
    }
}
