//! `cargo xtask soak [--secs N]`: a soak test of the `oauth-filter` module
//! through both proxies at once, against the real authorization server.
//!
//! Peers: the AS (oidc-provider on Node, [`AuthServer`]), an echo upstream
//! ([`Echo`]), Envoy (`envoy/jwt.yaml`, `--concurrency 2`) and the release
//! `oauth-host` binary as a child process (2 workers), both running the
//! filter with the configuration of `envoy/jwt.json` (discovery from the AS)
//! plus `key_fetch.unknown_kid_refetch_interval_s` 1 and `retry_interval_s` 1.
//!
//! Load: [`CLIENTS`] threads per proxy, each on one keep-alive HTTP/1.1
//! connection sending `GET /orders/1` with a valid token as fast as answers
//! come (half the clients ES256 tokens, half RS256). Events: every 10 s the
//! AS rotates its signing keys (`restart_with_new_key`; clients then fetch a
//! fresh token from it), and 5 s after each rotation it flaps (stopped 2 s,
//! started again with the same keys).
//!
//! Expected answers: 200; 401 only for a token whose `kid` the AS no longer
//! publishes (rotated out: a proxy that refetched the set may refuse it, one
//! that still caches the token or the old set may accept it); 503 only for a
//! request in flight while the AS was down AND whose `kid` that proxy had
//! not yet been seen to accept (keys not cached). Anything else (other
//! statuses, socket errors) is unexpected.
//!
//! RSS (`VmRSS` of the Envoy and oauth-host processes) is read after the
//! 10 s warm-up and at the end. Exit status 1 when any proxy saw an
//! unexpected answer or grew its RSS by more than 10 %.
//!
//! Options: `--secs N` (total run, warm-up included; default 60, at least
//! 20), `--host PATH` (default `target/release/oauth-host`), `--module PATH`
//! (default: built like the tests do), `--clients N` (per proxy, default 16).

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oauth_tests::host::{Echo, TempDir};
use oauth_tests::peers::{self, AuthServer, AuthServerOptions, Envoy, EnvoyOptions};
use serde_json::{json, Value};

/// Client threads (one keep-alive connection each) per proxy, by default.
const CLIENTS: usize = 16;
/// RSS is first read this long after the load starts.
const WARMUP: Duration = Duration::from_secs(10);
/// Key rotation period; the AS flaps half-way between two rotations.
const ROTATE_EVERY: u64 = 10;
/// How long the AS stays down in a flap.
const FLAP_DOWN: Duration = Duration::from_secs(2);
/// Largest RSS growth (end vs after the warm-up) that passes.
const MAX_RSS_GROWTH: f64 = 0.10;
/// Unexpected answers quoted in the report, per proxy.
const SAMPLES: usize = 10;

struct Options {
    secs: u64,
    host: PathBuf,
    module: Option<PathBuf>,
    clients: usize,
}

fn parse_args() -> Options {
    let mut o = Options {
        secs: 60,
        host: oauth_tests::wasm::workspace_root().join("target/release/oauth-host"),
        module: None,
        clients: CLIENTS,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--secs" => o.secs = value().parse().unwrap_or_else(|_| usage("--secs N")),
            "--clients" => o.clients = value().parse().unwrap_or_else(|_| usage("--clients N")),
            "--host" => o.host = absolute(value()),
            "--module" => o.module = Some(absolute(value())),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if o.secs < 2 * WARMUP.as_secs() {
        usage("--secs must be at least 20 (10 s warm-up, then the measured part)");
    }
    o
}

/// `path` made absolute (Envoy and oauth-host run in other directories).
fn absolute(path: String) -> PathBuf {
    std::path::absolute(&path).unwrap_or_else(|_| PathBuf::from(path))
}

fn usage(why: &str) -> ! {
    eprintln!("soak: {why}\nusage: soak [--secs N] [--clients N] [--host PATH] [--module PATH]");
    std::process::exit(2);
}

// ------------------------------------------------------------ shared state

/// What the clients need to know about the AS to judge an answer.
struct World {
    stop: AtomicBool,
    /// The AS is down (flap or rotation restart).
    as_down: AtomicBool,
    /// Times the AS went down so far (a request that saw it change overlapped a downtime).
    down_epoch: AtomicU64,
    /// Rotations done so far; clients fetch a fresh token when it changes.
    key_gen: AtomicU64,
    /// `kid`s the AS no longer publishes.
    retired: RwLock<HashSet<String>>,
    as_port: u16,
}

/// One proxy under load.
struct Proxy {
    name: &'static str,
    port: u16,
    pid: u32,
    /// `kid`s this proxy has accepted a token of (its key set has them).
    cached_kids: RwLock<HashSet<String>>,
    samples: Mutex<Vec<String>>,
}

/// What one client thread counted.
#[derive(Default)]
struct Tally {
    requests: u64,
    codes: BTreeMap<u16, u64>,
    unexpected: u64,
    io_errors: u64,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.unexpected += other.unexpected;
        self.io_errors += other.io_errors;
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
    }
}

// ------------------------------------------------------------ tokens

/// A client-credentials token for `resource` with scope `read`, or None
/// while the AS cannot give one.
fn fetch_token(as_port: u16, resource: &str) -> Option<String> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            peers::CLIENT_ID,
            peers::CLIENT_SECRET
        ))
    );
    let body = format!(
        "grant_type=client_credentials&scope=read&resource={}",
        resource.replace(':', "%3A").replace('/', "%2F")
    );
    let response = peers::http_request(
        as_port,
        "POST",
        "/token",
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
    .ok()?;
    if response.status != 200 {
        return None;
    }
    response.json()["access_token"].as_str().map(str::to_string)
}

fn kid_of(token: &str) -> String {
    peers::jwt_header(token)["kid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// ------------------------------------------------------------ keep-alive client

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
}

/// Why an exchange failed: before any byte of the answer (a reused
/// connection may just have been closed by the server) or later.
enum Failure {
    NoAnswer(std::io::Error),
    Broken(std::io::Error),
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends `request`; the status and whether the server keeps the
    /// connection open.
    fn exchange(&mut self, request: &[u8]) -> Result<(u16, bool), Failure> {
        self.reader
            .get_mut()
            .write_all(request)
            .map_err(Failure::NoAnswer)?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => {
                return Err(Failure::NoAnswer(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "closed before the status line",
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(Failure::NoAnswer(e)),
        }
        let broken = |what: &str| Failure::Broken(std::io::Error::other(what.to_string()));
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| broken(&format!("bad status line {line:?}")))?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut keep = true;
        loop {
            let mut header = String::new();
            if self
                .reader
                .read_line(&mut header)
                .map_err(Failure::Broken)?
                == 0
            {
                return Err(broken("closed in the headers"));
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim().to_ascii_lowercase();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().ok(),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => keep = !value.contains("close"),
                _ => {}
            }
        }
        if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).map_err(Failure::Broken)?;
                let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| broken("bad chunk size"))?;
                let mut skip = vec![0u8; size + 2];
                self.reader.read_exact(&mut skip).map_err(Failure::Broken)?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            let mut body = vec![0u8; n];
            self.reader.read_exact(&mut body).map_err(Failure::Broken)?;
        } else {
            let mut rest = Vec::new();
            self.reader
                .read_to_end(&mut rest)
                .map_err(Failure::Broken)?;
            keep = false;
        }
        Ok((status, keep))
    }
}

/// One client: sends until told to stop; what it counted.
fn client(world: &World, proxy: &Proxy, resource: &str) -> Tally {
    let mut tally = Tally::default();
    let mut token = String::new();
    let mut kid = String::new();
    let mut generation = u64::MAX;
    let mut next_fetch = Instant::now();
    let mut known: HashSet<String> = HashSet::new();
    let mut conn: Option<Conn> = None;
    while !world.stop.load(Ordering::Relaxed) {
        let current = world.key_gen.load(Ordering::SeqCst);
        if current != generation && Instant::now() >= next_fetch {
            match fetch_token(world.as_port, resource) {
                Some(t) => {
                    kid = kid_of(&t);
                    token = t;
                    generation = current;
                }
                // The AS is down: keep the old token, ask again shortly.
                None => next_fetch = Instant::now() + Duration::from_millis(200),
            }
        }
        if token.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let request = format!(
            "GET /orders/1 HTTP/1.1\r\nhost: api.test\r\nauthorization: Bearer {token}\r\n\r\n"
        );
        let down_before = world.down_epoch.load(Ordering::SeqCst);
        let was_down = world.as_down.load(Ordering::SeqCst);
        let mut answer = None;
        let mut error = None;
        // A reused connection that fails before any answer byte is opened
        // again once (the server may have closed it between two requests).
        for attempt in 0..2 {
            let reused = conn.is_some();
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match Conn::open(proxy.port) {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        error = Some(format!("connect: {e}"));
                        break;
                    }
                },
            };
            match c.exchange(request.as_bytes()) {
                Ok((status, keep)) => {
                    if !keep {
                        conn = None;
                    }
                    answer = Some(status);
                    break;
                }
                Err(Failure::NoAnswer(e)) if reused && attempt == 0 => {
                    conn = None;
                    error = Some(format!("no answer: {e}"));
                }
                Err(Failure::NoAnswer(e) | Failure::Broken(e)) => {
                    conn = None;
                    error = Some(format!("socket: {e}"));
                    break;
                }
            }
        }
        tally.requests += 1;
        let Some(status) = answer else {
            tally.io_errors += 1;
            tally.unexpected += 1;
            sample(proxy, format!("{} (kid {kid})", error.unwrap_or_default()));
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        *tally.codes.entry(status).or_default() += 1;
        let expected = match status {
            200 => {
                if known.insert(kid.clone()) {
                    write(&proxy.cached_kids).insert(kid.clone());
                }
                true
            }
            401 => read(&world.retired).contains(&kid),
            503 => {
                let overlapped_downtime = was_down
                    || world.as_down.load(Ordering::SeqCst)
                    || world.down_epoch.load(Ordering::SeqCst) != down_before;
                overlapped_downtime && !read(&proxy.cached_kids).contains(&kid)
            }
            _ => false,
        };
        if !expected {
            tally.unexpected += 1;
            sample(
                proxy,
                format!(
                    "{status} for kid {kid} (AS down: {}, retired: {}, cached: {})",
                    world.as_down.load(Ordering::SeqCst),
                    read(&world.retired).contains(&kid),
                    read(&proxy.cached_kids).contains(&kid)
                ),
            );
        }
    }
    tally
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn sample(proxy: &Proxy, what: String) {
    let mut samples = proxy.samples.lock().unwrap_or_else(|e| e.into_inner());
    if samples.len() < SAMPLES {
        samples.push(what);
    }
}

// ------------------------------------------------------------ processes

/// The pid of the Envoy started with `--base-id base_id` (found in /proc:
/// the harness does not expose it).
fn envoy_pid(base_id: u32) -> Option<u32> {
    let want = base_id.to_string();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_envoy = args
            .first()
            .is_some_and(|a| String::from_utf8_lossy(a).ends_with("envoy"));
        let has_id = args
            .windows(2)
            .any(|w| w[0] == b"--base-id" && w[1] == want.as_bytes());
        if is_envoy && has_id {
            return Some(pid);
        }
    }
    None
}

/// `VmRSS` of `pid`, KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix("VmRSS:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

/// Waits until `port` answers 200 to a GET with `token` (first key fetch done).
fn wait_ready(name: &str, port: u16, token: &str, on_fail: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let auth = format!("Bearer {token}");
    loop {
        let status =
            peers::http_request(port, "GET", "/orders/1", &[("authorization", &auth)], b"")
                .map(|r| r.status);
        if let Ok(200) = status {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{name} not answering 200 after 60 s (last: {status:?}); log:\n{}",
                on_fail()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ------------------------------------------------------------ the run

fn main() {
    let o = parse_args();
    if !o.host.exists() {
        usage(&format!(
            "{} missing (cargo build --release -p oauth-host)",
            o.host.display()
        ));
    }
    let module = o
        .module
        .clone()
        .unwrap_or_else(|| oauth_tests::wasm::module("oauth-filter"));
    let mut auth = AuthServer::start(AuthServerOptions::default());
    let upstream = Echo::start("upstream");
    let as_port = auth.port();
    let upstream_port = upstream.addr.port();

    // envoy/jwt.json with the AS's port, unknown kids refetched after 1 s.
    let as_port_text = as_port.to_string();
    let mut plugin: Value = serde_json::from_str(&peers::render(
        &peers::envoy_template("jwt.json"),
        &[("AS_PORT", &as_port_text)],
    ))
    .expect("envoy/jwt.json is JSON");
    plugin["key_fetch"] = json!({ "unknown_kid_refetch_interval_s": 1, "retry_interval_s": 1 });

    let base_id = peers::next_base_id();
    let envoy_config = peers::envoy_config("jwt.yaml", &module, &plugin, upstream_port, as_port);
    let envoy = Envoy::start_with(
        &envoy_config,
        EnvoyOptions {
            base_id,
            concurrency: 2,
            log_level: "warn".into(),
        },
    );
    let envoy_pid = envoy_pid(base_id).expect("Envoy's pid in /proc");

    let dir = TempDir::new("soak");
    let host_port = peers::free_port();
    let host_config = json!({
        "workers": 2,
        "listeners": [{ "address": format!("127.0.0.1:{host_port}") }],
        "routes": [{ "path_prefix": "/", "cluster": "upstream" }],
        "clusters": [
            { "name": "upstream", "address": format!("http://127.0.0.1:{upstream_port}") },
            { "name": "auth_server", "address": format!("http://127.0.0.1:{as_port}"), "connect_timeout": "2s" }
        ],
        "filters": [{
            "name": "oauth",
            "module": module.display().to_string(),
            "root_id": "oauth",
            "vm_id": "oauth",
            "configuration": plugin.to_string(),
        }],
    });
    let config_path = dir.write(
        "oauth-host.yaml",
        serde_json::to_string_pretty(&host_config).expect("config as JSON"),
    );
    let args = [
        "--config".to_string(),
        config_path.display().to_string(),
        "--log-level".to_string(),
        "warn".to_string(),
    ];
    let host = peers::Group::spawn(
        &o.host,
        &args,
        dir.path(),
        dir.path().join("oauth-host.log"),
    );
    let host_pid = host.pid();

    let probe = auth.token(peers::RESOURCE_JWT, "read");
    wait_ready("envoy", envoy.listener_port(), &probe, || envoy.log());
    wait_ready("oauth-host", host_port, &probe, || host.log_tail(30));

    let world = Arc::new(World {
        stop: AtomicBool::new(false),
        as_down: AtomicBool::new(false),
        down_epoch: AtomicU64::new(0),
        key_gen: AtomicU64::new(0),
        retired: RwLock::new(HashSet::new()),
        as_port,
    });
    let proxies: Vec<Arc<Proxy>> = [
        ("envoy", envoy.listener_port(), envoy_pid),
        ("oauth-host", host_port, host_pid),
    ]
    .into_iter()
    .map(|(name, port, pid)| {
        Arc::new(Proxy {
            name,
            port,
            pid,
            cached_kids: RwLock::new(HashSet::new()),
            samples: Mutex::new(Vec::new()),
        })
    })
    .collect();
    eprintln!(
        "soak: {} s, {} clients per proxy, Envoy pid {envoy_pid} port {}, oauth-host pid {host_pid} port {host_port}, AS port {as_port}",
        o.secs,
        o.clients,
        envoy.listener_port()
    );

    let started = Instant::now();
    let mut threads = Vec::new();
    for (p, proxy) in proxies.iter().enumerate() {
        for i in 0..o.clients {
            let world = world.clone();
            let proxy = proxy.clone();
            let resource = if i % 2 == 0 {
                peers::RESOURCE_JWT
            } else {
                peers::RESOURCE_JWT_RS256
            };
            threads.push((
                p,
                std::thread::spawn(move || client(&world, &proxy, resource)),
            ));
        }
    }

    // Events: RSS after the warm-up; a rotation every 10 s; a flap 5 s after each.
    let total = Duration::from_secs(o.secs);
    let mut events: Vec<(Duration, &str)> = vec![(WARMUP, "rss")];
    let mut t = ROTATE_EVERY / 2;
    while Duration::from_secs(t) + FLAP_DOWN + Duration::from_secs(2) < total {
        let kind = if t.is_multiple_of(ROTATE_EVERY) {
            "rotate"
        } else {
            "flap"
        };
        events.push((Duration::from_secs(t), kind));
        t += ROTATE_EVERY / 2;
    }
    events.sort_by_key(|(at, kind)| (*at, *kind != "rss"));
    let mut rss_warm = [None, None];
    let (mut rotations, mut flaps) = (0, 0);
    for (at, kind) in events {
        if let Some(wait) = at.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        match kind {
            "rss" => {
                for (slot, proxy) in rss_warm.iter_mut().zip(&proxies) {
                    *slot = rss_kib(proxy.pid);
                }
            }
            "rotate" => {
                write(&world.retired).extend(auth.kids().iter().cloned());
                world.as_down.store(true, Ordering::SeqCst);
                world.down_epoch.fetch_add(1, Ordering::SeqCst);
                auth.restart_with_new_key();
                world.as_down.store(false, Ordering::SeqCst);
                world.key_gen.fetch_add(1, Ordering::SeqCst);
                rotations += 1;
                eprintln!(
                    "soak: {:>5.1} s  rotated keys -> {:?}",
                    started.elapsed().as_secs_f64(),
                    auth.kids()
                );
            }
            _ => {
                world.as_down.store(true, Ordering::SeqCst);
                world.down_epoch.fetch_add(1, Ordering::SeqCst);
                auth.stop();
                std::thread::sleep(FLAP_DOWN);
                auth.restart();
                world.as_down.store(false, Ordering::SeqCst);
                flaps += 1;
                eprintln!(
                    "soak: {:>5.1} s  AS flapped (down {FLAP_DOWN:?})",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    if let Some(wait) = total.checked_sub(started.elapsed()) {
        std::thread::sleep(wait);
    }
    let rss_end: Vec<Option<u64>> = proxies.iter().map(|p| rss_kib(p.pid)).collect();
    world.stop.store(true, Ordering::SeqCst);
    let elapsed = started.elapsed().as_secs_f64();
    let mut tallies = [Tally::default(), Tally::default()];
    for (p, thread) in threads {
        match thread.join() {
            Ok(t) => tallies[p].merge(t),
            Err(_) => tallies[p].unexpected += 1,
        }
    }

    // Report.
    println!();
    println!(
        "soak: {elapsed:.0} s, {} clients per proxy, {rotations} key rotations, {flaps} AS flaps",
        o.clients
    );
    println!(
        "| proxy | pid | requests | req/s | statuses | unexpected | RSS after {} s | RSS at end | growth |",
        WARMUP.as_secs()
    );
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|");
    let mut failed = false;
    for ((proxy, tally), (warm, end)) in proxies
        .iter()
        .zip(&tallies)
        .zip(rss_warm.iter().zip(&rss_end))
    {
        let statuses: Vec<String> = tally
            .codes
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .chain((tally.io_errors > 0).then(|| format!("socket errors: {}", tally.io_errors)))
            .collect();
        let growth = match (warm, end) {
            (Some(w), Some(e)) if *w > 0 => Some((*e as f64 - *w as f64) / *w as f64),
            _ => None,
        };
        let mib = |v: &Option<u64>| {
            v.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "?".into())
        };
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            proxy.name,
            proxy.pid,
            tally.requests,
            tally.requests as f64 / elapsed,
            statuses.join(", "),
            tally.unexpected,
            mib(warm),
            mib(end),
            growth
                .map(|g| format!("{:+.1} %", g * 100.0))
                .unwrap_or_else(|| "?".into()),
        );
        if tally.unexpected > 0 || tally.requests == 0 {
            failed = true;
        }
        match growth {
            Some(g) if g <= MAX_RSS_GROWTH => {}
            _ => failed = true,
        }
    }
    for proxy in &proxies {
        let samples = proxy.samples.lock().unwrap_or_else(|e| e.into_inner());
        for s in samples.iter() {
            println!("unexpected via {}: {s}", proxy.name);
        }
    }
    println!(
        "expected: 200; 401 for a token whose kid the AS no longer publishes; \
         503 while the AS is down for a kid the proxy had not accepted yet"
    );
    drop(host);
    drop(envoy);
    drop(upstream);
    drop(auth);
    if failed {
        println!(
            "soak: FAILED (unexpected answers, or RSS grew more than {:.0} %)",
            MAX_RSS_GROWTH * 100.0
        );
        std::process::exit(1);
    }
    println!("soak: ok");
}
