//! Saturation runs with `wrk` (`bench/lua/*.lua` print one result line).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cases::Load;
use crate::{root, tokens, WORKERS};

/// One wrk run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub non2xx: u64,
    pub socket_errors: u64,
    /// Requests completed.
    pub requests: f64,
    /// CPU time the proxy process spent per request (user + system, all
    /// threads), µs; 0 when there is no proxy (the upstream case). Unlike
    /// requests/s it does not depend on what else the two cores run.
    pub cpu_us_per_req: f64,
}

/// Runs wrk once for `seconds`.
pub fn run(
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
        requests: f("requests"),
        cpu_us_per_req: 0.0,
    })
}
