//! `cargo xtask bench`: what the filter costs, next to what one would use
//! instead, measured in one run on one machine.
//!
//! Starts a fast upstream (hyper, 200 with a short body), `oauth-host` with
//! and without the filter, Envoy with no filter, with the filter and with
//! its native `jwt_authn`, all at once (each proxy with 2 workers), then
//! drives each case with `wrk` for a warm-up and a measured run, in several
//! rounds alternating the order of the cases. Prints the table and the
//! ratios the targets are about, and writes them to `bench/RESULTS.md`.
//!
//! Usage (normally through `cargo xtask bench`, which builds and installs
//! everything first):
//!
//! ```text
//! oauth-bench --envoy PATH --host PATH --module PATH [--smoke] [--rounds N]
//!             [--warmup S] [--duration S] [--connections N] [--only ID,ID]
//!             [--out FILE | --no-out] [--keep-logs] [--audit-off]
//! ```

mod procs;
mod tokens;
mod upstream;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use procs::{free_port, get, Group};

/// Number of distinct tokens of the verification-path case.
const ROTATING_TOKENS: usize = 10_000;
/// Workers of every proxy (`--concurrency` for Envoy).
const WORKERS: usize = 2;

struct Options {
    envoy: PathBuf,
    host: PathBuf,
    module: PathBuf,
    smoke: bool,
    rounds: usize,
    warmup: u64,
    duration: u64,
    connections: usize,
    only: Option<Vec<String>>,
    out: Option<PathBuf>,
    keep_logs: bool,
    audit_off: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")) // proof: the manifest dir has a parent
}

fn parse_args() -> Result<Options> {
    let root = root();
    let mut o = Options {
        envoy: root.join("target/peers/bin/envoy"),
        host: root.join("target/release/oauth-host"),
        module: root.join("target/wasm/wasm32-wasip1/wasm/oauth_filter.wasm"),
        smoke: false,
        rounds: 2,
        warmup: 2,
        duration: 10,
        connections: 32,
        only: None,
        out: Some(root.join("bench/RESULTS.md")),
        keep_logs: false,
        audit_off: false,
    };
    let mut args = std::env::args().skip(1);
    let mut explicit_out = false;
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--envoy" => o.envoy = value()?.into(),
            "--host" => o.host = value()?.into(),
            "--module" => o.module = value()?.into(),
            "--smoke" => o.smoke = true,
            "--rounds" => o.rounds = value()?.parse().context("--rounds")?,
            "--warmup" => o.warmup = value()?.parse().context("--warmup")?,
            "--duration" => o.duration = value()?.parse().context("--duration")?,
            "--connections" => o.connections = value()?.parse().context("--connections")?,
            "--only" => o.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--out" => {
                o.out = Some(value()?.into());
                explicit_out = true;
            }
            "--no-out" => o.out = None,
            "--keep-logs" => o.keep_logs = true,
            "--audit-off" => o.audit_off = true,
            other => bail!("unknown argument {other}"),
        }
    }
    if o.smoke {
        o.rounds = 1;
        o.warmup = 1;
        o.duration = 1;
        // A smoke run checks that everything works; its figures mean little.
        if !explicit_out {
            o.out = None;
        }
    }
    Ok(o)
}

/// Which proxy a case drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Upstream,
    HostPlain,
    HostJwt,
    HostIntrospection,
    EnvoyPlain,
    EnvoyJwt,
    EnvoyIntrospection,
    EnvoyJwtAuthn,
}

/// What each request carries.
#[derive(Debug, Clone, Copy)]
enum Load {
    None,
    Rs256,
    Es256,
    Opaque,
    Rotating,
}

struct Case {
    id: &'static str,
    label: &'static str,
    target: Target,
    load: Load,
}

const CASES: &[Case] = &[
    Case {
        id: "1",
        label: "upstream direct",
        target: Target::Upstream,
        load: Load::None,
    },
    Case {
        id: "2",
        label: "oauth-host, no module",
        target: Target::HostPlain,
        load: Load::None,
    },
    Case {
        id: "3",
        label: "oauth-host + filter, RS256 cached",
        target: Target::HostJwt,
        load: Load::Rs256,
    },
    Case {
        id: "4",
        label: "oauth-host + filter, ES256 cached",
        target: Target::HostJwt,
        load: Load::Es256,
    },
    Case {
        id: "5",
        label: "oauth-host + filter, RS256 10k tokens (verify)",
        target: Target::HostJwt,
        load: Load::Rotating,
    },
    Case {
        id: "6",
        label: "oauth-host + filter, introspection cached",
        target: Target::HostIntrospection,
        load: Load::Opaque,
    },
    Case {
        id: "7",
        label: "Envoy, no filter",
        target: Target::EnvoyPlain,
        load: Load::None,
    },
    Case {
        id: "8.3",
        label: "Envoy + filter, RS256 cached",
        target: Target::EnvoyJwt,
        load: Load::Rs256,
    },
    Case {
        id: "8.4",
        label: "Envoy + filter, ES256 cached",
        target: Target::EnvoyJwt,
        load: Load::Es256,
    },
    Case {
        id: "8.5",
        label: "Envoy + filter, RS256 10k tokens (verify)",
        target: Target::EnvoyJwt,
        load: Load::Rotating,
    },
    Case {
        id: "8.6",
        label: "Envoy + filter, introspection cached",
        target: Target::EnvoyIntrospection,
        load: Load::Opaque,
    },
    Case {
        id: "9.3",
        label: "Envoy + jwt_authn, RS256 cached",
        target: Target::EnvoyJwtAuthn,
        load: Load::Rs256,
    },
    Case {
        id: "9.4",
        label: "Envoy + jwt_authn, ES256 cached",
        target: Target::EnvoyJwtAuthn,
        load: Load::Es256,
    },
    Case {
        id: "9.5",
        label: "Envoy + jwt_authn, RS256 10k tokens (verify)",
        target: Target::EnvoyJwtAuthn,
        load: Load::Rotating,
    },
];

/// One wrk run.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    non2xx: u64,
    socket_errors: u64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: error: {e:#}");
        std::process::exit(1);
    }
}

fn filter_jwt_config(jwks: &Value) -> Value {
    json!({
        "realm": "bench",
        "require_https": false, "providers": [{
            "name": "bench",
            "issuer": tokens::ISSUER,
            "audiences": [tokens::AUDIENCE],
            "algorithms": ["RS256", "ES256"],
            "jwks": { "inline": jwks },
        }],
    })
}

fn filter_introspection_config(upstream_port: u16) -> Value {
    json!({
        "realm": "bench",
        "require_https": false, "providers": [{
            "name": "bench",
            "issuer": tokens::ISSUER,
            "audiences": [tokens::AUDIENCE],
            "resolver": "introspection",
            "introspection": {
                "uri": format!("http://127.0.0.1:{upstream_port}/introspect"),
                "cluster": "upstream",
                "client_auth": {
                    "method": "client_secret_basic",
                    "client_id": "bench",
                    "client_secret": "bench-secret",
                },
                "timeout_ms": 2000,
            },
        }],
        "introspection_cache": { "max_ttl_s": 3600, "default_ttl_s": 3600 },
    })
}

fn introspection_answer() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    json!({
        "active": true,
        "iss": tokens::ISSUER,
        "aud": tokens::AUDIENCE,
        "sub": "bench-user",
        "client_id": "bench-client",
        "scope": "read",
        "token_type": "Bearer",
        "iat": now,
        "exp": now + 4 * 3600,
    })
    .to_string()
}

/// Starts oauth-host with `filter` (a filter configuration) or none.
fn start_host(
    o: &Options,
    dir: &Path,
    name: &str,
    upstream_port: u16,
    filter: Option<&Value>,
) -> Result<(Group, u16)> {
    let port = free_port()?;
    let mut config = json!({
        "workers": WORKERS,
        "listeners": [{ "address": format!("127.0.0.1:{port}") }],
        "routes": [{ "path_prefix": "/", "cluster": "upstream" }],
        "clusters": [{ "name": "upstream", "address": format!("http://127.0.0.1:{upstream_port}") }],
    });
    if let Some(f) = filter {
        config["filters"] = json!([{
            "name": "oauth",
            "module": o.module.display().to_string(),
            "root_id": "oauth",
            "vm_id": "oauth",
            "configuration": f,
        }]);
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    let group = Group::spawn(
        name,
        &o.host,
        &[
            "--config".into(),
            path.display().to_string(),
            "--log-level".into(),
            if o.keep_logs { "info" } else { "warn" }.into(),
        ],
        dir.join(format!("{name}.log")),
    )?;
    Ok((group, port))
}

fn render(template: &str, vars: &[(&str, String)]) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").context("unclosed {{ in template")?;
        let name = after[..end].trim();
        let value = vars
            .iter()
            .find(|(k, _)| *k == name)
            .with_context(|| format!("no value for {{{{{name}}}}}"))?;
        out.push_str(&value.1);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Starts Envoy with these HTTP filters before the router.
fn start_envoy(
    o: &Options,
    dir: &Path,
    name: &str,
    base_id: u32,
    upstream_port: u16,
    filters: Vec<Value>,
) -> Result<(Group, u16)> {
    let port = free_port()?;
    let admin = free_port()?;
    let mut all = filters;
    all.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
    }));
    let template = std::fs::read_to_string(root().join("bench/envoy/bench.yaml"))
        .context("reading bench/envoy/bench.yaml")?;
    let rendered = render(
        &template,
        &[
            ("ADMIN_PORT", admin.to_string()),
            ("LISTENER_PORT", port.to_string()),
            ("UPSTREAM_PORT", upstream_port.to_string()),
            ("HTTP_FILTERS", Value::Array(all).to_string()),
        ],
    )?;
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, rendered)?;
    let group = Group::spawn(
        name,
        &o.envoy,
        &[
            "-c".into(),
            path.display().to_string(),
            "--concurrency".into(),
            WORKERS.to_string(),
            "--base-id".into(),
            base_id.to_string(),
            "--disable-hot-restart".into(),
            "-l".into(),
            if o.keep_logs { "info" } else { "warning" }.into(),
        ],
        dir.join(format!("{name}.log")),
    )?;
    Ok((group, port))
}

fn wasm_filter(module: &Path, config: &Value) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "oauth",
                "root_id": "oauth",
                "vm_config": {
                    "vm_id": "oauth",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": module.display().to_string() } },
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config.to_string(),
                },
                "failure_policy": "FAIL_CLOSED",
            },
        },
    })
}

fn jwt_authn_filter(jwks: &Value) -> Value {
    json!({
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "bench": {
                    "issuer": tokens::ISSUER,
                    "audiences": [tokens::AUDIENCE],
                    "local_jwks": { "inline_string": jwks.to_string() },
                    // As a user would run it: the verified-token cache on
                    // (its default size, 100).
                    "jwt_cache_config": { "jwt_cache_size": 100 },
                },
            },
            "rules": [{ "match": { "prefix": "/" }, "requires": { "provider_name": "bench" } }],
        },
    })
}

/// Runs wrk once; `None` duration means the measured run.
fn wrk(
    port: u16,
    load: Load,
    tokens: &tokens::Tokens,
    tokens_file: &Path,
    seconds: u64,
    connections: usize,
) -> Result<Sample> {
    let lua = root().join("bench/lua");
    let mut cmd = Command::new("wrk");
    cmd.arg("-t")
        .arg(WORKERS.min(connections).to_string())
        .arg("-c")
        .arg(connections.to_string())
        .arg("-d")
        .arg(format!("{seconds}s"))
        .args(["--timeout", "5s"]);
    let bearer = |t: &str| format!("Authorization: Bearer {t}");
    match load {
        Load::None => {
            cmd.arg("-s").arg(lua.join("static.lua"));
        }
        Load::Rs256 => {
            cmd.arg("-s")
                .arg(lua.join("static.lua"))
                .arg("-H")
                .arg(bearer(&tokens.rs256));
        }
        Load::Es256 => {
            cmd.arg("-s")
                .arg(lua.join("static.lua"))
                .arg("-H")
                .arg(bearer(&tokens.es256));
        }
        Load::Opaque => {
            cmd.arg("-s")
                .arg(lua.join("static.lua"))
                .arg("-H")
                .arg(bearer(tokens::OPAQUE));
        }
        Load::Rotating => {
            cmd.arg("-s").arg(lua.join("rotate.lua"));
        }
    }
    cmd.arg(format!("http://127.0.0.1:{port}/"));
    if matches!(load, Load::Rotating) {
        cmd.arg("--").arg(tokens_file);
    }
    let out = cmd.output().context("running wrk (is it installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed: {}\n{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let line = text
        .lines()
        .find(|l| l.starts_with("BENCH "))
        .with_context(|| format!("no result line from wrk:\n{text}"))?;
    let fields: BTreeMap<&str, f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k, v)))
        .collect();
    let f = |k: &str| fields.get(k).copied().unwrap_or(0.0);
    let secs = f("duration_us") / 1e6;
    Ok(Sample {
        rps: if secs > 0.0 {
            f("requests") / secs
        } else {
            0.0
        },
        p50_us: f("p50_us"),
        p99_us: f("p99_us"),
        non2xx: f("non2xx") as u64,
        socket_errors: f("socket_errors") as u64,
    })
}

fn load_headers(load: Load, t: &tokens::Tokens) -> Option<String> {
    match load {
        Load::None => None,
        Load::Rs256 => Some(format!("Bearer {}", t.rs256)),
        Load::Es256 => Some(format!("Bearer {}", t.es256)),
        Load::Opaque => Some(format!("Bearer {}", tokens::OPAQUE)),
        Load::Rotating => t.rotating.first().map(|x| format!("Bearer {x}")),
    }
}

fn cmd_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn run() -> Result<()> {
    let o = parse_args()?;
    for (what, path) in [
        ("Envoy", &o.envoy),
        ("oauth-host", &o.host),
        ("filter module", &o.module),
    ] {
        if !path.is_file() {
            bail!(
                "{what} not found at {} (run `cargo xtask bench`)",
                path.display()
            );
        }
    }
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("oauth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&o, &dir);
    if o.keep_logs {
        eprintln!("bench: proxy configs and logs kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!("bench: done in {:.0} s", started.elapsed().as_secs_f64());
    result
}

fn run_in(o: &Options, dir: &Path) -> Result<()> {
    let t0 = Instant::now();
    let rotating = if o.smoke { 1000 } else { ROTATING_TOKENS };
    let tokens = tokens::mint(rotating)?;
    let tokens_file = dir.join("tokens.txt");
    std::fs::write(&tokens_file, tokens.rotating.join("\n") + "\n")?;
    eprintln!(
        "bench: {} RS256 tokens minted in {:.1} s",
        tokens.rotating.len(),
        t0.elapsed().as_secs_f64()
    );

    let upstream = upstream::start(introspection_answer())?;
    let up = upstream.addr.port();
    let mut jwt = filter_jwt_config(&tokens.jwks);
    let mut intro = filter_introspection_config(up);
    if o.audit_off {
        // What the per-decision audit line costs (it is on by default).
        jwt["audit"] = json!({ "enabled": false });
        intro["audit"] = json!({ "enabled": false });
    }

    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| {
            o.only
                .as_ref()
                .is_none_or(|only| only.iter().any(|i| i == c.id))
        })
        .collect();
    let needed = |t: Target| cases.iter().any(|c| c.target == t);

    // Start every proxy the cases need; all stay up for the whole run.
    let mut ports: BTreeMap<Target, u16> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    ports.insert(Target::Upstream, up);
    let base = 40_000 + (std::process::id() % 1000) * 8;
    let mut start = |target: Target, r: Result<(Group, u16)>| -> Result<()> {
        let (g, port) = r?;
        groups.push(g);
        ports.insert(target, port);
        Ok(())
    };
    if needed(Target::HostPlain) {
        start(
            Target::HostPlain,
            start_host(o, dir, "host-plain", up, None),
        )?;
    }
    if needed(Target::HostJwt) {
        start(
            Target::HostJwt,
            start_host(o, dir, "host-jwt", up, Some(&jwt)),
        )?;
    }
    if needed(Target::HostIntrospection) {
        start(
            Target::HostIntrospection,
            start_host(o, dir, "host-introspection", up, Some(&intro)),
        )?;
    }
    if needed(Target::EnvoyPlain) {
        start(
            Target::EnvoyPlain,
            start_envoy(o, dir, "envoy-plain", base, up, vec![]),
        )?;
    }
    if needed(Target::EnvoyJwt) {
        let f = vec![wasm_filter(&o.module, &jwt)];
        start(
            Target::EnvoyJwt,
            start_envoy(o, dir, "envoy-jwt", base + 1, up, f),
        )?;
    }
    if needed(Target::EnvoyIntrospection) {
        let f = vec![wasm_filter(&o.module, &intro)];
        start(
            Target::EnvoyIntrospection,
            start_envoy(o, dir, "envoy-introspection", base + 2, up, f),
        )?;
    }
    if needed(Target::EnvoyJwtAuthn) {
        let f = vec![jwt_authn_filter(&tokens.jwks)];
        start(
            Target::EnvoyJwtAuthn,
            start_envoy(o, dir, "envoy-jwt-authn", base + 3, up, f),
        )?;
    }

    // Ready and correct: every protected proxy says 200 with a good token
    // and 401 without one.
    for case in &cases {
        let port = ports[&case.target];
        let header = load_headers(case.load, &tokens);
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("authorization", h.as_str()))
            .collect();
        if let Err(e) = wait_port(port, &headers) {
            let logs: Vec<String> = groups.iter_mut().map(|g| g.log_tail()).collect();
            bail!(
                "case {}: {e:#}; proxy logs:\n{}",
                case.id,
                logs.join("\n---\n")
            );
        }
        if !headers.is_empty() {
            let status = get(port, "/", &[])?;
            if status != 401 {
                bail!(
                    "case {}: a request without a token got {status}, expected 401",
                    case.id
                );
            }
        }
    }
    eprintln!(
        "bench: {} proxies ready; {} cases × {} round(s), {} s warm-up + {} s each, wrk -c {}",
        groups.len(),
        cases.len(),
        o.rounds,
        o.warmup,
        o.duration,
        o.connections
    );

    let mut samples: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    for round in 0..o.rounds {
        let order: Vec<&&Case> = if round % 2 == 0 {
            cases.iter().collect()
        } else {
            cases.iter().rev().collect()
        };
        for case in order {
            let port = ports[&case.target];
            if o.warmup > 0 {
                wrk(
                    port,
                    case.load,
                    &tokens,
                    &tokens_file,
                    o.warmup,
                    o.connections,
                )?;
            }
            let s = wrk(
                port,
                case.load,
                &tokens,
                &tokens_file,
                o.duration,
                o.connections,
            )?;
            eprintln!(
                "bench: round {} case {:>4} {:<48} {:>9.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs{}",
                round + 1,
                case.id,
                case.label,
                s.rps,
                s.p50_us,
                s.p99_us,
                if s.non2xx + s.socket_errors > 0 {
                    format!("  ERRORS non-2xx {} socket {}", s.non2xx, s.socket_errors)
                } else {
                    String::new()
                }
            );
            samples.entry(case.id).or_default().push(s);
        }
    }
    // The introspection endpoint must have been asked about once per proxy
    // VM (cached answers), not once per request.
    let introspections = upstream
        .introspections
        .load(std::sync::atomic::Ordering::Relaxed);
    drop(groups);

    let report = report(o, &cases, &samples, introspections)?;
    println!("{report}");
    if let Some(out) = &o.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("bench: wrote {}", out.display());
    }
    let errors: u64 = samples
        .values()
        .flatten()
        .map(|s| s.non2xx + s.socket_errors)
        .sum();
    if errors > 0 {
        bail!("{errors} requests failed (non-2xx or socket errors): see the table");
    }
    Ok(())
}

fn wait_port(port: u16, headers: &[(&str, &str)]) -> Result<()> {
    let deadline = Instant::now() + std::time::Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < deadline {
        match get(port, "/", headers) {
            Ok(200) => return Ok(()),
            Ok(s) => last = format!("status {s}"),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    bail!("port {port} not answering 200 after 90 s ({last})")
}

fn report(
    o: &Options,
    cases: &[&Case],
    samples: &BTreeMap<&str, Vec<Sample>>,
    introspections: u64,
) -> Result<String> {
    let agg = |id: &str| -> Option<(f64, f64, f64, f64, f64)> {
        let v = samples.get(id)?;
        let rps: Vec<f64> = v.iter().map(|s| s.rps).collect();
        let min = rps.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = rps.iter().cloned().fold(0.0, f64::max);
        Some((
            mean(&rps),
            min,
            max,
            mean(&v.iter().map(|s| s.p50_us).collect::<Vec<_>>()),
            mean(&v.iter().map(|s| s.p99_us).collect::<Vec<_>>()),
        ))
    };
    let mut r = String::new();
    let date = cmd_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let module_size = std::fs::metadata(&o.module).map(|m| m.len()).unwrap_or(0);
    let envoy_version = cmd_line(&o.envoy.display().to_string(), &["--version"]);
    let envoy_version = envoy_version
        .split_whitespace()
        .find(|w| w.contains("/1."))
        .unwrap_or("?")
        .to_string();
    writeln!(r, "# Benchmark results\n")?;
    writeln!(
        r,
        "Written by `cargo xtask bench{}` on {date}.\n",
        if o.smoke { " --smoke" } else { "" }
    )?;
    writeln!(
        r,
        "- Machine: {cores} cores, {}; Linux {}",
        cpu_model(),
        cmd_line("uname", &["-r"])
    )?;
    writeln!(
        r,
        "- Load: wrk, {} connections, {} threads, over loopback; {} s warm-up + {} s measured per case, \
         {} round(s) alternating the order of the cases; figures are the mean of the rounds \
         (requests/s range in brackets)",
        o.connections,
        WORKERS.min(o.connections),
        o.warmup,
        o.duration,
        o.rounds
    )?;
    writeln!(
        r,
        "- Proxies: oauth-host (release, {WORKERS} workers) and Envoy {envoy_version} \
         (`--concurrency {WORKERS}`, V8), every one in front of the same hyper upstream \
         (200, 3-byte body); filter module {} bytes ({:.2} MiB)",
        module_size,
        module_size as f64 / 1048576.0
    )?;
    writeln!(
        r,
        "- Tokens: RS256 (2048-bit) and ES256, signed with ring; the verification path rotates \
         {} distinct RS256 tokens (more than any cache holds: filter 1024 per worker, \
         jwt_authn 100)\n",
        if o.smoke { 1000 } else { ROTATING_TOKENS }
    )?;
    writeln!(r, "| case | what | requests/s | p50 µs | p99 µs |")?;
    writeln!(r, "|---|---|---:|---:|---:|")?;
    for case in cases {
        match agg(case.id) {
            Some((rps, min, max, p50, p99)) => {
                let range = if samples[case.id].len() > 1 {
                    format!(" [{min:.0}–{max:.0}]")
                } else {
                    String::new()
                };
                writeln!(
                    r,
                    "| {} | {} | {rps:.0}{range} | {p50:.0} | {p99:.0} |",
                    case.id, case.label
                )?
            }
            None => writeln!(r, "| {} | {} | n/a | | |", case.id, case.label)?,
        }
    }
    writeln!(
        r,
        "\nIntrospection requests the upstream received: {introspections} (answers cached).\n"
    )?;

    writeln!(r, "## Ratios\n")?;
    writeln!(r, "| ratio | value | target | |")?;
    writeln!(r, "|---|---:|---:|---|")?;
    let rps = |id: &str| agg(id).map(|a| a.0);
    let p99 = |id: &str| agg(id).map(|a| a.4);
    let mut ratio = |name: &str, a: &str, b: &str, target: Option<f64>| -> Result<()> {
        if let (Some(x), Some(y)) = (rps(a), rps(b)) {
            let v = x / y;
            let (t, verdict) = match target {
                Some(t) => (format!("≥ {t:.1}"), if v >= t { "met" } else { "missed" }),
                None => (String::new(), ""),
            };
            writeln!(r, "| {name} ({a} / {b}) | {v:.2} | {t} | {verdict} |")?;
        }
        Ok(())
    };
    ratio(
        "Envoy: filter / jwt_authn, RS256 cached",
        "8.3",
        "9.3",
        Some(1.0),
    )?;
    ratio(
        "Envoy: filter / jwt_authn, ES256 cached",
        "8.4",
        "9.4",
        Some(1.0),
    )?;
    ratio(
        "Envoy: filter / jwt_authn, verification path",
        "8.5",
        "9.5",
        Some(0.8),
    )?;
    ratio(
        "filter: oauth-host / Envoy, RS256 cached",
        "3",
        "8.3",
        Some(1.2),
    )?;
    ratio(
        "filter: oauth-host / Envoy, ES256 cached",
        "4",
        "8.4",
        Some(1.2),
    )?;
    ratio(
        "filter: oauth-host / Envoy, verification path",
        "5",
        "8.5",
        Some(1.2),
    )?;
    ratio(
        "filter: oauth-host / Envoy, introspection cached",
        "6",
        "8.6",
        Some(1.2),
    )?;
    ratio("no filter: oauth-host / Envoy", "2", "7", Some(1.0))?;
    ratio("oauth-host: filter / none, RS256 cached", "3", "2", None)?;
    ratio("oauth-host: filter / none, ES256 cached", "4", "2", None)?;
    ratio(
        "oauth-host: filter / none, verification path",
        "5",
        "2",
        None,
    )?;
    ratio(
        "oauth-host: filter / none, introspection cached",
        "6",
        "2",
        None,
    )?;
    ratio("Envoy: filter / none, RS256 cached", "8.3", "7", None)?;
    ratio("Envoy: filter / none, ES256 cached", "8.4", "7", None)?;
    ratio("Envoy: filter / none, verification path", "8.5", "7", None)?;
    ratio("Envoy: jwt_authn / none, RS256 cached", "9.3", "7", None)?;
    ratio(
        "Envoy: jwt_authn / none, verification path",
        "9.5",
        "7",
        None,
    )?;
    ratio("oauth-host direct / upstream direct", "2", "1", None)?;
    writeln!(r)?;
    writeln!(r, "| added p99 latency, cached path | µs | target | |")?;
    writeln!(r, "|---|---:|---:|---|")?;
    for (name, a, b) in [
        ("oauth-host + filter RS256 − oauth-host", "3", "2"),
        ("oauth-host + filter ES256 − oauth-host", "4", "2"),
        ("Envoy + filter RS256 − Envoy", "8.3", "7"),
        ("Envoy + filter ES256 − Envoy", "8.4", "7"),
    ] {
        if let (Some(x), Some(y)) = (p99(a), p99(b)) {
            let d = x - y;
            writeln!(
                r,
                "| {name} | {d:.0} | ≤ 50 | {} |",
                if d <= 50.0 { "met" } else { "missed" }
            )?;
        }
    }
    writeln!(
        r,
        "\nModule size: {module_size} bytes, target ≤ 1.5 MiB (1572864): {}.",
        if module_size <= 1_572_864 {
            "met"
        } else {
            "missed"
        }
    )?;
    writeln!(
        r,
        "\nLatencies are measured at saturation ({} connections), so they include queueing; \
         see bench/README.md for how to read them and for the micro-benchmarks.",
        o.connections
    )?;
    Ok(r)
}
