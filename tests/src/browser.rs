//! A real browser for the login suite: Debian's Chromium driven over the
//! W3C WebDriver protocol by ChromeDriver (`$OAUTH_CHROMEDRIVER`, installed
//! by `cargo xtask test`). The protocol is JSON over HTTP; the requests go
//! through the harness's own HTTP/1.1 client, so no WebDriver crate is
//! needed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::peers::{free_port, Group, Scratch};

/// One WebDriver request: (status, JSON body). ChromeDriver keeps the
/// connection open whatever `connection: close` says, so the answer is
/// read up to its `content-length`.
fn webdriver_request(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(bad("connection closed before the answer"));
        }
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_string();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| bad("no status"))?;
        let len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while raw.len() < end + 4 + len {
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        let body = &raw[end + 4..(end + 4 + len).min(raw.len())];
        return Ok((status, serde_json::from_slice(body).unwrap_or(Value::Null)));
    }
}

/// The ChromeDriver binary.
pub fn chromedriver_bin() -> PathBuf {
    std::env::var_os("OAUTH_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// ChromeDriver and one headless Chromium session (a fresh profile: no
/// cookies). Dropping it ends the session and the driver.
pub struct Browser {
    port: u16,
    session: String,
    // Declared after `session` use: the driver stops before its scratch dir.
    _driver: Group,
    _dir: Scratch,
}

impl Browser {
    /// Starts ChromeDriver and a browser session.
    pub fn start() -> Browser {
        let bin = chromedriver_bin();
        assert!(
            bin.is_file(),
            "{} is missing: run `cargo xtask test` (it installs Debian's chromium and chromium-driver)",
            bin.display()
        );
        let dir = Scratch::new("browser");
        let port = free_port();
        let driver = Group::spawn(
            &bin,
            &[format!("--port={port}"), "--allowed-ips=127.0.0.1".into()],
            &dir.0,
            dir.0.join("chromedriver.log"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((_, v)) = webdriver_request(port, "GET", "/status", b"") {
                if v["value"]["ready"] == Value::Bool(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = dir.0.join("profile");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let mut b = Browser {
            port,
            session: String::new(),
            _driver: driver,
            _dir: dir,
        };
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, v) = webdriver_request(self.port, method, path, body.as_bytes())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        assert!(status == 200, "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Navigates to `url` (the browser follows redirects) and waits for the
    /// page.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text of the page (a JSON page: its `<pre>`).
    pub fn text(&self) -> String {
        let script = "const p = document.querySelector('pre'); \
                      return (p || document.body || document.documentElement).textContent;";
        self.script(script).as_str().unwrap_or_default().to_string()
    }

    /// The page as JSON (the echo upstream's answer).
    pub fn json(&self) -> Value {
        let t = self.text();
        serde_json::from_str(t.trim())
            .unwrap_or_else(|e| panic!("page at {} is not JSON ({e}): {t}", self.url()))
    }

    /// Runs `script` in the page and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// [`Browser::script`], `None` when the page cannot answer (it is being
    /// replaced).
    fn try_script(&self, script: &str) -> Option<Value> {
        let path = format!("/session/{}/execute/sync", self.session);
        let body = json!({"script": script, "args": []}).to_string();
        match webdriver_request(self.port, "POST", &path, body.as_bytes()) {
            Ok((200, v)) => Some(v["value"].clone()),
            _ => None,
        }
    }

    /// Whether an element matches `css`.
    pub fn has(&self, css: &str) -> bool {
        let script = format!("return document.querySelector({}) !== null;", json!(css));
        self.try_script(&script) == Some(Value::Bool(true))
    }

    fn element(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.has(css) {
            if Instant::now() > deadline {
                let text: String = self.text().chars().take(800).collect();
                panic!("no element {css} at {}: {text}", self.url());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let v = self.session_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css} at {}", self.url()))
            .to_string()
    }

    /// Types `text` into the element matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css);
        self.session_call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// Clicks the element matching `css` and waits until the page it leads
    /// to has loaded (a marker set on the old document is gone, and the new
    /// one is complete).
    pub fn click(&self, css: &str) {
        let el = self.element(css);
        self.script("window.__oauthTestsOld = true; return null;");
        self.session_call("POST", &format!("/element/{el}/click"), Some(json!({})));
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let state = self.try_script(
                "return window.__oauthTestsOld === true ? 'old' : document.readyState;",
            );
            if state == Some(json!("complete")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The browser's cookies for the current page.
    pub fn cookies(&self) -> Vec<Value> {
        self.session_call("GET", "/cookie", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Sets a cookie for the current page's origin.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.session_call(
            "POST",
            "/cookie",
            Some(json!({"cookie": {"name": name, "value": value, "path": "/"}})),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = webdriver_request(self.port, "DELETE", &path, b"");
        }
    }
}
