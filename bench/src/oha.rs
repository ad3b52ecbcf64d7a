//! Fixed-rate runs with `oha` (`-q RATE --latency-correction`): the request
//! rate is held whatever the latency, and each latency counts from when the
//! request was due, not from when it was sent (no coordinated omission).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The percentiles kept from each run (oha's names).
pub const PERCENTILES: &[(&str, f64)] = &[
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
];

/// One fixed-rate run.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    /// Requested rate (requests/s).
    pub rate: f64,
    /// Achieved rate.
    pub rps: f64,
    /// (percentile, µs), in the order of [`PERCENTILES`].
    pub percentiles: Vec<(f64, f64)>,
    /// Answers other than 2xx, and errors (connect, timeout, ...).
    pub failures: u64,
}

impl Latency {
    /// The latency at `p` (e.g. 99.0), in µs.
    pub fn at(&self, p: f64) -> Option<f64> {
        self.percentiles
            .iter()
            .find(|(q, _)| (q - p).abs() < 1e-9)
            .map(|(_, us)| *us)
    }
}

/// Runs `oha` for `seconds` at `rate` requests/s against `port`, with the
/// `authorization` header when given.
pub fn run(
    oha: &Path,
    port: u16,
    authorization: Option<&str>,
    rate: f64,
    seconds: u64,
    connections: usize,
) -> Result<Latency> {
    let mut cmd = Command::new(oha);
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--latency-correction",
        "-w",
    ])
    .arg("-z")
    .arg(format!("{seconds}s"))
    .arg("-c")
    .arg(connections.to_string())
    .arg("-q")
    .arg(format!("{rate:.0}"))
    .args(["-t", "5s"]);
    if let Some(a) = authorization {
        cmd.arg("-H").arg(format!("authorization: {a}"));
    }
    cmd.arg(format!("http://127.0.0.1:{port}/"));
    let out = cmd
        .output()
        .with_context(|| format!("running {}", oha.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "oha failed ({}): {}\n{}",
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json: Value =
        serde_json::from_str(&text).with_context(|| format!("oha output is not JSON:\n{text}"))?;
    let lat = &json["latencyPercentiles"];
    let mut percentiles = Vec::new();
    for (name, p) in PERCENTILES {
        let secs = lat[*name]
            .as_f64()
            .with_context(|| format!("no latencyPercentiles.{name} in oha output"))?;
        percentiles.push((*p, secs * 1e6));
    }
    let statuses: BTreeMap<String, u64> = json["statusCodeDistribution"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let non2xx: u64 = statuses
        .iter()
        .filter(|(k, _)| !k.starts_with('2'))
        .map(|(_, n)| n)
        .sum();
    let errors: u64 = json["errorDistribution"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    Ok(Latency {
        rate,
        rps: json["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        percentiles,
        failures: non2xx + errors,
    })
}
