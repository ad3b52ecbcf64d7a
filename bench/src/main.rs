//! `cargo xtask bench`: what the filter costs, next to what one would use
//! instead and next to a module that does nothing, measured in one run on
//! one machine.
//!
//! Starts a fast upstream (hyper, 200 with a short body), `oauth-host` and
//! Envoy with no module, with a no-op proxy-wasm module (the floor), with
//! the filter (several configurations) and Envoy with its native
//! `jwt_authn`, all at once (each proxy with 2 workers). Drives each case
//! with `wrk` at saturation (a warm-up and a measured run, several rounds
//! alternating the order of the cases), then the floor and the cached
//! filter with `oha` at a fixed rate (half the filter's saturation rate,
//! latency corrected for coordinated omission). Prints the table and every
//! target of issue 15 with met/missed, writes them to `bench/RESULTS.md`
//! and draws `bench/RESULTS.svg`.
//!
//! Usage (normally through `cargo xtask bench`, which builds and installs
//! everything first):
//!
//! ```text
//! oauth-bench --envoy PATH --host PATH --module PATH --noop-module PATH
//!             [--oha PATH] [--quick|--smoke] [--rounds N] [--warmup S] [--prime S]
//!             [--duration S] [--fixed-duration S] [--connections N]
//!             [--only ID,ID] [--out FILE | --no-out] [--keep-logs]
//!             [--audit-off] [--wasm-profile NAME]
//! ```

mod cases;
mod chart;
mod imports;
mod oha;
mod procs;
mod proxies;
mod report;
mod tokens;
mod upstream;
mod wrk;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;

use cases::{Case, FixedCase, Load, Target, CASES, FIXED};
use procs::{get, Group};
use wrk::Sample;

/// Number of distinct tokens of the verification path.
const ROTATING_TOKENS: usize = 10_000;
/// Workers of every proxy (`--concurrency` for Envoy).
pub const WORKERS: usize = 2;
/// A proxy's log is emptied after a case once it is bigger than this.
const LOG_LIMIT: u64 = 64 << 20;

pub struct Options {
    envoy: PathBuf,
    host: PathBuf,
    module: PathBuf,
    noop_module: PathBuf,
    oha: PathBuf,
    wasm_profile: String,
    smoke: bool,
    rounds: usize,
    warmup: u64,
    /// Seconds of load each proxy gets once before the first round (the
    /// JIT tiers the module's hot code up; Envoy's V8 does it in the
    /// background, which would be charged to whichever case ran first).
    prime: u64,
    duration: u64,
    fixed_duration: Option<u64>,
    connections: usize,
    only: Option<Vec<String>>,
    out: Option<PathBuf>,
    keep_logs: bool,
    audit_off: bool,
}

impl Options {
    fn fixed_seconds(&self) -> u64 {
        self.fixed_duration.unwrap_or(2 * self.duration)
    }
}

pub fn root() -> PathBuf {
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
        noop_module: root.join("target/bench-noop/wasm32-wasip1/release/bench_noop_module.wasm"),
        oha: PathBuf::from("oha"),
        wasm_profile: "wasm".into(),
        smoke: false,
        rounds: 2,
        warmup: 2,
        prime: 6,
        duration: 10,
        fixed_duration: None,
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
            "--noop-module" => o.noop_module = value()?.into(),
            "--oha" => o.oha = value()?.into(),
            "--wasm-profile" => o.wasm_profile = value()?,
            "--smoke" | "--quick" => o.smoke = true,
            "--rounds" => o.rounds = value()?.parse().context("--rounds")?,
            "--warmup" => o.warmup = value()?.parse().context("--warmup")?,
            "--prime" => o.prime = value()?.parse().context("--prime")?,
            "--duration" => o.duration = value()?.parse().context("--duration")?,
            "--fixed-duration" => {
                o.fixed_duration = Some(value()?.parse().context("--fixed-duration")?)
            }
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
        o.prime = 1;
        o.rounds = 1;
        o.warmup = 1;
        o.duration = 1;
        o.fixed_duration = Some(o.fixed_duration.unwrap_or(2));
        // A smoke run checks that everything works; its figures mean little.
        if !explicit_out {
            o.out = None;
        }
    }
    if o.rounds == 0 || o.duration == 0 {
        bail!("--rounds and --duration must be at least 1");
    }
    Ok(o)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let o = parse_args()?;
    for (what, path) in [
        ("Envoy", &o.envoy),
        ("oauth-host", &o.host),
        ("filter module", &o.module),
        ("no-op module", &o.noop_module),
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
    eprintln!(
        "bench: done in {}",
        minutes(started.elapsed().as_secs_f64())
    );
    result
}

/// What the run measured, for the report and the chart.
pub struct Results<'a> {
    pub cases: Vec<&'a Case>,
    pub fixed: Vec<&'a FixedCase>,
    pub samples: BTreeMap<&'a str, Vec<Sample>>,
    pub latencies: BTreeMap<&'a str, Vec<oha::Latency>>,
    pub introspections: u64,
    pub rotating: usize,
    /// Cases not run, and why.
    pub skipped: Vec<(String, String)>,
}

/// One step of the run.
enum Step<'a> {
    Saturation(usize, &'a Case),
    Fixed(usize, &'a FixedCase),
}

/// "case n of N, time left" lines: the time left is the planned time of the
/// steps still to run, scaled by how the steps so far compared with their
/// plan.
struct Progress {
    total: usize,
    done: usize,
    planned_done: f64,
    planned_left: f64,
    started: Instant,
}

impl Progress {
    fn new(planned: &[f64]) -> Progress {
        Progress {
            total: planned.len(),
            done: 0,
            planned_done: 0.0,
            planned_left: planned.iter().sum(),
            started: Instant::now(),
        }
    }

    fn begin(&self, what: &str) {
        let spent = self.started.elapsed().as_secs_f64();
        let scale = if self.planned_done > 0.0 {
            spent / self.planned_done
        } else {
            1.0
        };
        eprintln!(
            "bench: [{:>2}/{}] {what}  (≈ {} left)",
            self.done + 1,
            self.total,
            minutes(self.planned_left * scale)
        );
    }

    fn end(&mut self, planned: f64) {
        self.done += 1;
        self.planned_done += planned;
        self.planned_left = (self.planned_left - planned).max(0.0);
    }
}

fn minutes(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

fn run_in(o: &Options, dir: &Path) -> Result<()> {
    let t0 = Instant::now();
    let rotating = if o.smoke { 1000 } else { ROTATING_TOKENS };
    let tokens = tokens::mint(rotating)?;
    let fillers = tokens::filler_keys(99)?;
    let tokens_file = dir.join("tokens.txt");
    std::fs::write(&tokens_file, tokens.rotating.join("\n") + "\n")?;
    eprintln!(
        "bench: {} RS256 tokens and {} spare keys made in {:.1} s",
        tokens.rotating.len(),
        fillers.len(),
        t0.elapsed().as_secs_f64()
    );

    let upstream = upstream::start(proxies::introspection_answer())?;
    let up = upstream.addr.port();
    let mut jwt = proxies::filter_jwt_config(&tokens.jwks);
    let mut intro = proxies::filter_introspection_config(up);
    if o.audit_off {
        // Every filter with the audit line off (the `... audit off` cases
        // have it off anyway).
        jwt["audit"] = json!({ "enabled": false });
        intro["audit"] = json!({ "enabled": false });
    }
    let mut jwt_quiet = proxies::filter_jwt_config(&tokens.jwks);
    jwt_quiet["audit"] = json!({ "enabled": false });
    let mut intro_quiet = proxies::filter_introspection_config(up);
    intro_quiet["audit"] = json!({ "enabled": false });
    let rsa_jwk = tokens.jwks["keys"][0].clone();
    let noop_config = json!({});
    let reads_config = json!({ "reads": true });

    // The cases: `--only` picks saturation and fixed-rate cases by id; a
    // fixed-rate case brings the saturation case its rate comes from.
    let wanted = |id: &str| {
        o.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|i| i == id))
    };
    let fixed: Vec<&FixedCase> = FIXED.iter().filter(|f| wanted(f.id)).collect();
    let cases: Vec<&Case> = CASES
        .iter()
        .filter(|c| wanted(c.id) || fixed.iter().any(|f| f.rate_of == c.id))
        .collect();
    if let Some(only) = &o.only {
        for id in only {
            if !CASES.iter().any(|c| c.id == id) && !FIXED.iter().any(|f| f.id == id) {
                bail!("--only: no case {id}");
            }
        }
    }
    let targets: BTreeSet<Target> = cases
        .iter()
        .map(|c| c.target)
        .chain(fixed.iter().map(|f| f.target))
        .collect();

    // Start every proxy the cases need; all stay up for the whole run.
    let mut ports: BTreeMap<Target, u16> = BTreeMap::new();
    let mut groups: Vec<Group> = Vec::new();
    // The proxy process of each target (its CPU time per request).
    let mut group_of: BTreeMap<Target, usize> = BTreeMap::new();
    ports.insert(Target::Upstream, up);
    let base = 40_000 + (std::process::id() % 1000) * 8;
    let filter = o.module.as_path();
    let noop = o.noop_module.as_path();
    for &target in &targets {
        let scale = |p, k, r| proxies::scale_config(&rsa_jwk, &fillers, p, k, r);
        let started = match target {
            Target::Upstream => continue,
            Target::HostPlain => proxies::start_host(o, dir, "host-plain", up, None),
            Target::HostNoop => {
                proxies::start_host(o, dir, "host-noop", up, Some((noop, &noop_config)))
            }
            Target::HostReads => {
                proxies::start_host(o, dir, "host-reads", up, Some((noop, &reads_config)))
            }
            Target::HostJwt => proxies::start_host(o, dir, "host-jwt", up, Some((filter, &jwt))),
            Target::HostJwtAuditOff => {
                proxies::start_host(o, dir, "host-jwt-quiet", up, Some((filter, &jwt_quiet)))
            }
            Target::HostIntrospection => {
                proxies::start_host(o, dir, "host-introspection", up, Some((filter, &intro)))
            }
            Target::ScaleBase => {
                let c = scale(1, 1, 1);
                proxies::start_host(o, dir, "host-scale-1", up, Some((filter, &c)))
            }
            Target::ScaleProviders => {
                let c = scale(50, 1, 1);
                proxies::start_host(o, dir, "host-scale-providers", up, Some((filter, &c)))
            }
            Target::ScaleKeys => {
                let c = scale(1, 100, 1);
                proxies::start_host(o, dir, "host-scale-keys", up, Some((filter, &c)))
            }
            Target::ScaleRules => {
                let c = scale(1, 1, 1000);
                proxies::start_host(o, dir, "host-scale-rules", up, Some((filter, &c)))
            }
            Target::EnvoyPlain => proxies::start_envoy(o, dir, "envoy-plain", base, up, vec![]),
            Target::EnvoyNoop => {
                let f = vec![proxies::wasm_filter(noop, "noop", &noop_config)];
                proxies::start_envoy(o, dir, "envoy-noop", base + 1, up, f)
            }
            Target::EnvoyReads => {
                let f = vec![proxies::wasm_filter(noop, "reads", &reads_config)];
                proxies::start_envoy(o, dir, "envoy-reads", base + 6, up, f)
            }
            Target::EnvoyJwt => {
                let f = vec![proxies::wasm_filter(filter, "oauth", &jwt)];
                proxies::start_envoy(o, dir, "envoy-jwt", base + 2, up, f)
            }
            Target::EnvoyJwtAuditOff => {
                let f = vec![proxies::wasm_filter(filter, "oauth", &jwt_quiet)];
                proxies::start_envoy(o, dir, "envoy-jwt-quiet", base + 3, up, f)
            }
            Target::EnvoyIntrospection => {
                let f = vec![proxies::wasm_filter(filter, "oauth", &intro)];
                proxies::start_envoy(o, dir, "envoy-introspection", base + 4, up, f)
            }
            Target::EnvoyIntrospectionAuditOff => {
                let f = vec![proxies::wasm_filter(filter, "oauth", &intro_quiet)];
                proxies::start_envoy(o, dir, "envoy-introspection-quiet", base + 7, up, f)
            }
            Target::EnvoyJwtAuthn => {
                let f = vec![proxies::jwt_authn_filter(&tokens.jwks)];
                proxies::start_envoy(o, dir, "envoy-jwt-authn", base + 5, up, f)
            }
        };
        let (g, port) = started?;
        group_of.insert(target, groups.len());
        groups.push(g);
        ports.insert(target, port);
    }

    // Ready and correct: every protected proxy says 200 with the case's
    // token and 401 without one; the others 200.
    let checks: Vec<(&str, Target, Load)> = cases
        .iter()
        .map(|c| (c.id, c.target, c.load))
        .chain(fixed.iter().map(|f| (f.id, f.target, f.load)))
        .collect();
    // A scale configuration the filter refuses (e.g. more rules than it
    // accepts) skips its case instead of failing the run; the report says
    // why.
    let mut skipped: Vec<(String, String)> = Vec::new();
    for (id, target, load) in checks {
        let port = ports[&target];
        let scale = matches!(
            target,
            Target::ScaleProviders | Target::ScaleKeys | Target::ScaleRules
        );
        if scale && !proxy_up(port) {
            let why = groups
                .iter()
                .map(|g| g.log_tail())
                .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
                .find(|l| l.contains("invalid filter configuration"))
                .unwrap_or_else(|| "the proxy did not start".into());
            eprintln!("bench: case {id} skipped: {why}");
            skipped.push((id.to_string(), why));
            continue;
        }
        let header = load_headers(load, &tokens);
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("authorization", h.as_str()))
            .collect();
        if let Err(e) = wait_port(port, &headers) {
            let logs: Vec<String> = groups.iter().map(|g| g.log_tail()).collect();
            bail!("case {id}: {e:#}; proxy logs:\n{}", logs.join("\n---\n"));
        }
        if target.protects() {
            let status = get(port, "/", &[])?;
            if status != 401 {
                bail!("case {id}: a request without a token got {status}, expected 401");
            }
        }
    }
    let cases: Vec<&Case> = cases
        .into_iter()
        .filter(|c| !skipped.iter().any(|(id, _)| id == c.id))
        .collect();
    eprintln!(
        "bench: {} proxies ready; {} cases × {} round(s) at saturation ({} s warm-up + {} s, \
         wrk -c {}), {} at a fixed rate × {} round(s) ({} s, oha)",
        groups.len(),
        cases.len(),
        o.rounds,
        o.warmup,
        o.duration,
        o.connections,
        fixed.len(),
        o.rounds,
        o.fixed_seconds(),
    );

    // Prime every proxy once: the first case of each target, under load.
    if o.prime > 0 {
        let mut primed: BTreeSet<Target> = BTreeSet::new();
        for case in &cases {
            if !primed.insert(case.target) {
                continue;
            }
            eprintln!(
                "bench: priming {} ({} s of load, not measured)",
                case.label, o.prime
            );
            let port = ports[&case.target];
            wrk::run(
                port,
                case.load,
                &tokens,
                &tokens_file,
                o.prime,
                o.connections,
            )?;
        }
    }

    // The plan: every round of saturation cases (alternating the order, so
    // slow drift of a shared machine spreads over all cases), then every
    // round of fixed-rate cases (their rate comes from the first part).
    let mut steps: Vec<Step> = Vec::new();
    for round in 0..o.rounds {
        let order: Vec<&Case> = if round % 2 == 0 {
            cases.clone()
        } else {
            cases.iter().rev().copied().collect()
        };
        steps.extend(order.into_iter().map(|c| Step::Saturation(round, c)));
    }
    for round in 0..o.rounds {
        let order: Vec<&FixedCase> = if round % 2 == 0 {
            fixed.clone()
        } else {
            fixed.iter().rev().copied().collect()
        };
        steps.extend(order.into_iter().map(|f| Step::Fixed(round, f)));
    }
    let planned_of = |s: &Step| match s {
        Step::Saturation(..) => (o.warmup + o.duration) as f64 + 0.3,
        Step::Fixed(..) => o.fixed_seconds() as f64 + 0.5,
    };
    let planned: Vec<f64> = steps.iter().map(planned_of).collect();
    let mut progress = Progress::new(&planned);

    let mut samples: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    let mut latencies: BTreeMap<&str, Vec<oha::Latency>> = BTreeMap::new();
    for (step, plan) in steps.iter().zip(&planned) {
        match step {
            Step::Saturation(round, case) => {
                progress.begin(&format!(
                    "round {}/{} case {} ({})",
                    round + 1,
                    o.rounds,
                    case.id,
                    case.label
                ));
                let port = ports[&case.target];
                let wrk =
                    |secs| wrk::run(port, case.load, &tokens, &tokens_file, secs, o.connections);
                if o.warmup > 0 {
                    wrk(o.warmup)?;
                }
                let proxy = group_of.get(&case.target).map(|&i| &groups[i]);
                let cpu_before = proxy.and_then(Group::cpu_time);
                let mut s = wrk(o.duration)?;
                if let (Some(before), Some(after)) = (cpu_before, proxy.and_then(Group::cpu_time)) {
                    if s.requests > 0.0 {
                        s.cpu_us_per_req =
                            after.saturating_sub(before).as_secs_f64() * 1e6 / s.requests;
                    }
                }
                eprintln!(
                    "bench:         {:>9.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  proxy CPU {:>5.1} µs/req{}",
                    s.rps,
                    s.p50_us,
                    s.p99_us,
                    s.cpu_us_per_req,
                    if s.non2xx + s.socket_errors > 0 {
                        format!("  ERRORS non-2xx {} socket {}", s.non2xx, s.socket_errors)
                    } else {
                        String::new()
                    }
                );
                samples.entry(case.id).or_default().push(s);
            }
            Step::Fixed(round, f) => {
                let saturation = samples
                    .get(f.rate_of)
                    .map(|v| mean(&v.iter().map(|s| s.rps).collect::<Vec<_>>()))
                    .unwrap_or(0.0);
                let rate = (saturation / 2.0).max(10.0);
                progress.begin(&format!(
                    "round {}/{} fixed rate {} ({}) at {rate:.0} req/s",
                    round + 1,
                    o.rounds,
                    f.id,
                    f.label
                ));
                let header = load_headers(f.load, &tokens);
                let l = oha::run(
                    &o.oha,
                    ports[&f.target],
                    header.as_deref(),
                    rate,
                    o.fixed_seconds(),
                    o.connections,
                )?;
                eprintln!(
                    "bench:         {:>9.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs{}",
                    l.rps,
                    l.at(50.0).unwrap_or(0.0),
                    l.at(99.0).unwrap_or(0.0),
                    if l.failures > 0 {
                        format!("  ERRORS {}", l.failures)
                    } else {
                        String::new()
                    }
                );
                latencies.entry(f.id).or_default().push(l);
            }
        }
        for g in &groups {
            g.truncate_log(LOG_LIMIT);
        }
        progress.end(*plan);
    }
    // The introspection endpoint must have been asked about once per proxy
    // VM (cached answers), not once per request.
    let introspections = upstream
        .introspections
        .load(std::sync::atomic::Ordering::Relaxed);
    drop(groups);

    let results = Results {
        cases,
        fixed,
        samples,
        latencies,
        introspections,
        rotating,
        skipped,
    };
    let chart_name = o
        .out
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| format!("{}.svg", s.to_string_lossy()))
        .unwrap_or_else(|| "RESULTS.svg".into());
    let report = report::write(o, &results, &chart_name)?;
    println!("{report}");
    if let Some(out) = &o.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
        let svg = out.with_file_name(&chart_name);
        chart::draw(&svg, &results)?;
        eprintln!("bench: wrote {} and {}", out.display(), svg.display());
    }
    let errors: u64 = results
        .samples
        .values()
        .flatten()
        .map(|s| s.non2xx + s.socket_errors)
        .sum::<u64>()
        + results
            .latencies
            .values()
            .flatten()
            .map(|l| l.failures)
            .sum::<u64>();
    if errors > 0 {
        bail!("{errors} requests failed (non-2xx or socket errors): see the table");
    }
    Ok(())
}

/// Whether anything answers on `port` within 20 s (a process that failed
/// to start answers nothing).
fn proxy_up(port: u16) -> bool {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while Instant::now() < deadline {
        if get(port, "/", &[]).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    false
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

fn load_headers(load: Load, t: &tokens::Tokens) -> Option<String> {
    match load {
        Load::None => None,
        Load::Rs256 => Some(format!("Bearer {}", t.rs256)),
        Load::Es256 => Some(format!("Bearer {}", t.es256)),
        Load::Opaque => Some(format!("Bearer {}", tokens::OPAQUE)),
        Load::Rotating => t.rotating.first().map(|x| format!("Bearer {x}")),
    }
}

pub fn cmd_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub fn cpu_model() -> String {
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

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}
