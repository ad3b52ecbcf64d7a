//! `RESULTS.md`: the machine, every case, and every target of issue 15
//! with met/missed.

use std::fmt::Write as _;

use anyhow::Result;

use crate::imports;
use crate::{cmd_line, cpu_model, mean, Options, Results, WORKERS};

/// Largest module the size target allows (1.5 MiB).
pub const MODULE_LIMIT: u64 = 1_572_864;
/// A scale case is "flat" when it keeps at least this share of the 1-item
/// case's requests/s (the spread of a shared machine is a few %).
pub const FLAT: f64 = 0.95;

/// What a target asks of its value.
enum Goal {
    AtLeast(f64),
    AtMost(f64),
    /// The case ran (the floor cases).
    Measured,
}

struct Row {
    name: String,
    from: String,
    value: Option<f64>,
    unit: &'static str,
    goal: Goal,
}

impl Row {
    fn verdict(&self) -> &'static str {
        match (self.value, &self.goal) {
            (None, _) => "not measured",
            (Some(v), Goal::AtLeast(t)) if v >= *t => "met",
            (Some(v), Goal::AtMost(t)) if v <= *t => "met",
            (Some(_), Goal::Measured) => "met",
            _ => "missed",
        }
    }
}

/// Mean requests/s of a saturation case.
pub fn rps(r: &Results, id: &str) -> Option<f64> {
    let v = r.samples.get(id)?;
    Some(mean(&v.iter().map(|s| s.rps).collect::<Vec<_>>()))
}

/// Mean latency at percentile `p` (µs) of a fixed-rate case.
pub fn latency(r: &Results, id: &str, p: f64) -> Option<f64> {
    let v = r.latencies.get(id)?;
    let at: Vec<f64> = v.iter().filter_map(|l| l.at(p)).collect();
    (!at.is_empty()).then(|| mean(&at))
}

fn ratio(r: &Results, a: &str, b: &str) -> Option<f64> {
    Some(rps(r, a)? / rps(r, b)?)
}

/// Mean proxy CPU µs per request of a case over its rounds (None without
/// a proxy process).
fn cpu_per_req(r: &Results, id: &str) -> Option<f64> {
    let v: Vec<f64> = r
        .samples
        .get(id)?
        .iter()
        .map(|s| s.cpu_us_per_req)
        .filter(|c| *c > 0.0)
        .collect();
    (!v.is_empty()).then(|| mean(&v))
}

/// The floor case of a proxy family, for the "× floor" column.
fn floor_of(id: &str, r: &Results) -> Option<&'static str> {
    use crate::cases::Proxy;
    let case = r.cases.iter().find(|c| c.id == id)?;
    match case.target.proxy() {
        Proxy::Host => Some("2n"),
        Proxy::Envoy => Some("7n"),
        Proxy::None => None,
    }
}

fn targets(o: &Options, r: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut at_least = |name: &str, a: &str, b: &str, t: f64| {
        rows.push(Row {
            name: name.into(),
            from: format!("{a} / {b}"),
            value: ratio(r, a, b),
            unit: "×",
            goal: Goal::AtLeast(t),
        })
    };
    at_least(
        "Envoy + filter, RS256 cached, audit off ≥ 0.95× Envoy + no-op module",
        "8.3off",
        "7n",
        0.95,
    );
    at_least(
        "Envoy + filter, ES256 cached, audit off ≥ 0.95× Envoy + no-op module",
        "8.4off",
        "7n",
        0.95,
    );
    at_least(
        "… which puts it at ≥ 0.93× jwt_authn, RS256 cached",
        "8.3off",
        "9.3",
        0.93,
    );
    at_least(
        "… which puts it at ≥ 0.93× jwt_authn, ES256 cached",
        "8.4off",
        "9.4",
        0.93,
    );
    at_least(
        "Envoy + filter, verification path (10k RS256) ≥ 0.9× jwt_authn",
        "8.5",
        "9.5",
        0.9,
    );
    at_least(
        "Envoy + filter, introspection cached, audit off ≥ 0.95× Envoy + no-op module",
        "8.6off",
        "7n",
        0.95,
    );
    at_least(
        "oauth-host + no-op module ≥ 0.85× oauth-host alone",
        "2n",
        "2",
        0.85,
    );
    at_least(
        "oauth-host + filter (RS256 cached, audit off) ≥ 0.9× + no-op module",
        "3off",
        "2n",
        0.9,
    );
    at_least(
        "oauth-host + filter ≥ 1.2× Envoy + filter, RS256 cached, audit off",
        "3off",
        "8.3off",
        1.2,
    );
    at_least(
        "oauth-host + filter ≥ 1.2× Envoy + filter, RS256 cached",
        "3",
        "8.3",
        1.2,
    );
    at_least(
        "oauth-host + filter ≥ 1.2× Envoy + filter, ES256 cached",
        "4",
        "8.4",
        1.2,
    );
    at_least(
        "oauth-host + filter ≥ 1.2× Envoy + filter, verification path",
        "5",
        "8.5",
        1.2,
    );
    at_least(
        "oauth-host + filter ≥ 1.2× Envoy + filter, introspection cached",
        "6",
        "8.6",
        1.2,
    );
    at_least(
        "audit line costs ≤ 3 %: Envoy, RS256 cached, on / off",
        "8.3",
        "8.3off",
        0.97,
    );
    at_least(
        "audit line costs ≤ 3 %: Envoy, ES256 cached, on / off",
        "8.4",
        "8.4off",
        0.97,
    );
    at_least(
        "audit line costs ≤ 3 %: oauth-host, RS256 cached, on / off",
        "3",
        "3off",
        0.97,
    );
    at_least(
        "flat in providers: 50 issuers / 1 (RS256 cached)",
        "sp50",
        "s1",
        FLAT,
    );
    at_least(
        "flat in keys: 100 keys per set / 1 (10k RS256, verify)",
        "sk100",
        "s1v",
        FLAT,
    );
    at_least(
        "flat in route rules: 1 000 / 1 (RS256 cached)",
        "sr1000",
        "s1",
        FLAT,
    );
    for (proxy, filter, noop) in [("oauth-host", "f3off", "f2n"), ("Envoy", "f8.3off", "f7n")] {
        for p in [50.0, 99.0] {
            let value = match (latency(r, filter, p), latency(r, noop, p)) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            };
            rows.push(Row {
                name: format!(
                    "added latency at a fixed rate, {proxy}: p{p:.0} filter cached − no-op ≤ 50 µs"
                ),
                from: format!("{filter} − {noop}"),
                value,
                unit: "µs",
                goal: Goal::AtMost(50.0),
            });
        }
    }
    // Where a filter's cost starts: the read floor makes the two host calls
    // any token filter needs (header map, clock) and nothing else.
    for (name, a, b) in [
        (
            "read floor / no-op floor, oauth-host (what reading headers and clock costs)",
            "2r",
            "2n",
        ),
        (
            "oauth-host + filter, RS256 cached, audit off / read floor (the filter's own work)",
            "3off",
            "2r",
        ),
        (
            "Envoy + filter, introspection cached, audit on / Envoy + no-op module",
            "8.6",
            "7n",
        ),
        (
            "read floor / no-op floor, Envoy (what reading headers and clock costs)",
            "7r",
            "7n",
        ),
        (
            "Envoy + filter, RS256 cached, audit off / read floor (the filter's own work)",
            "8.3off",
            "7r",
        ),
    ] {
        rows.push(Row {
            name: name.into(),
            from: format!("{a} / {b}"),
            value: ratio(r, a, b),
            unit: "×",
            goal: Goal::Measured,
        });
    }
    for (name, id) in [
        ("floor case: oauth-host + no-op module (req/s)", "2n"),
        ("floor case: Envoy + no-op module (req/s)", "7n"),
        (
            "read floor: oauth-host + no-op module reading headers and clock (req/s)",
            "2r",
        ),
        (
            "read floor: Envoy + no-op module reading headers and clock (req/s)",
            "7r",
        ),
    ] {
        rows.push(Row {
            name: name.into(),
            from: id.into(),
            value: rps(r, id),
            unit: "req/s",
            goal: Goal::Measured,
        });
    }
    let size = std::fs::metadata(&o.module).map(|m| m.len()).ok();
    rows.push(Row {
        name: format!("module size ≤ 1.5 MiB (profile `{}`)", o.wasm_profile),
        from: "oauth_filter.wasm".into(),
        value: size.map(|s| s as f64),
        unit: "bytes",
        goal: Goal::AtMost(MODULE_LIMIT as f64),
    });
    let foreign = std::fs::read(&o.module)
        .ok()
        .and_then(|b| imports::imports(&b).ok())
        .map(|i| imports::foreign(&i).len() as f64);
    rows.push(Row {
        name: "ABI-only imports (imports other than env.proxy_* and WASI)".into(),
        from: "oauth_filter.wasm".into(),
        value: foreign,
        unit: "",
        goal: Goal::AtMost(0.0),
    });
    rows
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "×" => format!("{v:.2}×"),
        "µs" => format!("{v:+.0} µs"),
        "req/s" => format!("{v:.0} req/s"),
        "bytes" => format!("{v:.0} B ({:.2} MiB)", v / 1_048_576.0),
        _ => format!("{v:.0}"),
    }
}

fn fmt_goal(g: &Goal, unit: &str) -> String {
    match g {
        Goal::AtLeast(t) if unit == "×" => format!("≥ {t:.2}×"),
        Goal::AtLeast(t) => format!("≥ {t}"),
        Goal::AtMost(t) if unit == "bytes" => format!("≤ {t:.0} B"),
        Goal::AtMost(t) if unit == "µs" => format!("≤ {t:.0} µs"),
        Goal::AtMost(t) => format!("≤ {t:.0}"),
        Goal::Measured => "measured".into(),
    }
}

/// The whole `RESULTS.md`; `chart` is the SVG's file name beside it.
pub fn write(o: &Options, r: &Results, chart: &str) -> Result<String> {
    let mut w = String::new();
    let date = cmd_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let module_size = std::fs::metadata(&o.module).map(|m| m.len()).unwrap_or(0);
    let noop_size = std::fs::metadata(&o.noop_module)
        .map(|m| m.len())
        .unwrap_or(0);
    let envoy_version = cmd_line(&o.envoy.display().to_string(), &["--version"]);
    let envoy_version = envoy_version
        .split_whitespace()
        .find(|w| w.contains("/1."))
        .and_then(|w| w.split('/').nth(1))
        .unwrap_or("?")
        .to_string();
    let oha_version = cmd_line(&o.oha.display().to_string(), &["--version"]);
    writeln!(w, "# Benchmark results\n")?;
    writeln!(
        w,
        "Written by `cargo xtask bench{}` on {date}.\n",
        if o.smoke { " --quick" } else { "" }
    )?;
    writeln!(
        w,
        "- Machine: {cores} cores, {}; Linux {}",
        cpu_model(),
        cmd_line("uname", &["-r"])
    )?;
    writeln!(
        w,
        "- Saturation: wrk, {} connections, {} threads, over loopback; {} s warm-up + {} s \
         measured per case, {} round(s) alternating the order of the cases; figures are the \
         mean of the rounds (requests/s range in brackets)",
        o.connections,
        WORKERS.min(o.connections),
        o.warmup,
        o.duration,
        o.rounds
    )?;
    writeln!(
        w,
        "- Fixed rate: {oha_version}, `-q` at half the saturation rate of the filter case \
         (same rate for the filter and the no-op module), `--latency-correction` (latency \
         counted from when each request was due), {} connections, {} s per case and round",
        o.connections,
        o.fixed_seconds()
    )?;
    writeln!(
        w,
        "- Proxies: oauth-host (release, {WORKERS} workers) and Envoy {envoy_version} \
         (`--concurrency {WORKERS}`, V8), every one in front of the same hyper upstream \
         (200, 3-byte body); the module's log at info, so the audit line, when on, is \
         written to the proxy's log"
    )?;
    writeln!(
        w,
        "- Modules: filter {module_size} bytes ({:.2} MiB, profile `{}`); no-op module \
         (`bench/noop`, every callback continues untouched) {noop_size} bytes",
        module_size as f64 / 1_048_576.0,
        o.wasm_profile
    )?;
    writeln!(
        w,
        "- Tokens: RS256 (2048-bit) and ES256, signed with ring; the verification path rotates \
         {} distinct RS256 tokens (more than any cache holds: filter 1024 per worker, \
         jwt_authn 100)\n",
        r.rotating
    )?;
    writeln!(
        w,
        "![requests/s per case, floor marked; fixed-rate latency percentiles]({chart})\n"
    )?;

    let rows = targets(o, r);
    let met = rows.iter().filter(|x| x.verdict() == "met").count();
    writeln!(w, "## Targets (issue 15): {met} of {} met\n", rows.len())?;
    writeln!(w, "| target | cases | measured | goal | |")?;
    writeln!(w, "|---|---|---:|---:|---|")?;
    for row in &rows {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            row.name,
            row.from,
            row.value
                .map(|v| fmt_value(v, row.unit))
                .unwrap_or_else(|| "n/a".into()),
            fmt_goal(&row.goal, row.unit),
            row.verdict()
        )?;
    }
    for (id, why) in &r.skipped {
        writeln!(w, "\nCase {id} not run: {}", why.trim())?;
    }
    let foreign: Vec<String> = std::fs::read(&o.module)
        .ok()
        .and_then(|b| imports::imports(&b).ok())
        .map(|i| imports::foreign(&i))
        .unwrap_or_default();
    if !foreign.is_empty() {
        writeln!(w, "\nImports outside the ABI: {}", foreign.join(", "))?;
    }

    writeln!(w, "\n## Cases at saturation\n")?;
    writeln!(
        w,
        "`× floor`: requests/s against the no-op module in the same proxy (2n for \
         oauth-host, 7n for Envoy). `CPU µs/req`: CPU time of the proxy process \
         (every thread, user + system) per request during the measured runs, and \
         `+ floor` what that is above the floor case: the cost of a case in the \
         proxy alone, steadier than requests/s on two cores shared with the load \
         generator and the upstream.\n"
    )?;
    writeln!(
        w,
        "| case | what | requests/s | × floor | p50 µs | p99 µs | CPU µs/req | + floor |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for case in &r.cases {
        let Some(v) = r.samples.get(case.id) else {
            writeln!(w, "| {} | {} | n/a | | | | | |", case.id, case.label)?;
            continue;
        };
        let all: Vec<f64> = v.iter().map(|s| s.rps).collect();
        let min = all.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = all.iter().cloned().fold(0.0, f64::max);
        let range = if all.len() > 1 {
            format!(" [{min:.0}–{max:.0}]")
        } else {
            String::new()
        };
        let floor = floor_of(case.id, r)
            .and_then(|f| ratio(r, case.id, f))
            .map(|x| format!("{x:.2}"))
            .unwrap_or_default();
        let cpu = cpu_per_req(r, case.id);
        let cpu_floor = floor_of(case.id, r).and_then(|f| cpu_per_req(r, f));
        let over = match (cpu, cpu_floor) {
            (Some(c), Some(f)) if floor_of(case.id, r) != Some(case.id) => {
                format!("{:+.1}", c - f)
            }
            _ => String::new(),
        };
        writeln!(
            w,
            "| {} | {} | {:.0}{range} | {floor} | {:.0} | {:.0} | {} | {over} |",
            case.id,
            case.label,
            mean(&all),
            mean(&v.iter().map(|s| s.p50_us).collect::<Vec<_>>()),
            mean(&v.iter().map(|s| s.p99_us).collect::<Vec<_>>()),
            cpu.map(|c| format!("{c:.1}")).unwrap_or_default(),
        )?;
    }
    writeln!(
        w,
        "\nIntrospection requests the upstream received: {} (answers cached).",
        r.introspections
    )?;

    if !r.fixed.is_empty() {
        writeln!(w, "\n## Cases at a fixed rate (oha, latency corrected)\n")?;
        let heads: Vec<String> = crate::oha::PERCENTILES
            .iter()
            .map(|(n, _)| format!("{n} µs"))
            .collect();
        writeln!(
            w,
            "| case | what | rate req/s | achieved req/s | {} |",
            heads.join(" | ")
        )?;
        writeln!(w, "|---|---|---:|---:|{}", "---:|".repeat(heads.len()))?;
        for f in &r.fixed {
            let Some(v) = r.latencies.get(f.id) else {
                continue;
            };
            let pct: Vec<String> = crate::oha::PERCENTILES
                .iter()
                .map(|(_, p)| {
                    latency(r, f.id, *p)
                        .map(|x| format!("{x:.0}"))
                        .unwrap_or_default()
                })
                .collect();
            writeln!(
                w,
                "| {} | {} | {:.0} | {:.0} | {} |",
                f.id,
                f.label,
                mean(&v.iter().map(|l| l.rate).collect::<Vec<_>>()),
                mean(&v.iter().map(|l| l.rps).collect::<Vec<_>>()),
                pct.join(" | ")
            )?;
        }
    }

    writeln!(w, "\n## Other ratios\n")?;
    writeln!(w, "| ratio | cases | value |")?;
    writeln!(w, "|---|---|---:|")?;
    for (name, a, b) in [
        (
            "Envoy: filter / jwt_authn, RS256 cached (audit on)",
            "8.3",
            "9.3",
        ),
        (
            "Envoy: filter / jwt_authn, ES256 cached (audit on)",
            "8.4",
            "9.4",
        ),
        ("Envoy: no-op module / no module", "7n", "7"),
        ("Envoy: jwt_authn / no-op module, RS256 cached", "9.3", "7n"),
        (
            "Envoy: filter / no-op module, verification path",
            "8.5",
            "7n",
        ),
        ("oauth-host / Envoy, no module", "2", "7"),
        ("oauth-host / Envoy, no-op module", "2n", "7n"),
        ("oauth-host: filter / no-op module, ES256 cached", "4", "2n"),
        (
            "oauth-host: filter / no-op module, verification path",
            "5",
            "2n",
        ),
        (
            "oauth-host: filter / no-op module, introspection cached",
            "6",
            "2n",
        ),
        (
            "oauth-host: scale 1-item case / filter, RS256 cached, audit off",
            "s1",
            "3off",
        ),
        ("oauth-host direct / upstream direct", "2", "1"),
    ] {
        if let Some(v) = ratio(r, a, b) {
            writeln!(w, "| {name} | {a} / {b} | {v:.2} |")?;
        }
    }
    writeln!(
        w,
        "\nScale cases: oauth-host + filter, audit off; the 1-item case has 1 provider, 1 key \
         and 1 route rule; the others grow one of them, the token's issuer, key or rule being \
         the last one (providers and rules on the cached path, keys on the verification path, \
         where the key is looked up). Flat means ≥ {FLAT:.2}× the 1-item case. Saturation \
         latencies include queueing ({} connections); the added-latency targets use the \
         fixed-rate runs. See bench/README.md.",
        o.connections
    )?;
    Ok(w)
}
