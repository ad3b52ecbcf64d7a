//! `cargo xtask bench [--smoke] [options]`: builds everything in release,
//! installs what the load test needs (Envoy 1.40 under target/peers, `wrk`
//! from apt when missing), then runs the bench driver (`bench/`, crate
//! `oauth-bench`), which writes `bench/RESULTS.md`. Options are passed to
//! the driver (`--rounds N`, `--duration S`, `--warmup S`, `--connections N`,
//! `--only 3,8.3,9.3`, `--out FILE`, `--no-out`); `--smoke` runs every case
//! for 1 s without writing the results file.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{build_wasm, cargo, root, run};

/// Runs the benchmark; `args` are the driver's options.
pub fn run_bench(args: &[String]) -> Result<()> {
    let module = build_wasm()?;
    // Two builds, not one: built together, the two packages' features
    // unify and wasmtime is compiled a second time.
    run(cargo().args(["build", "--release", "-p", "oauth-host"]))?;
    run(cargo().args(["build", "--release", "-p", "oauth-bench"]))?;
    let envoy = crate::peers::ensure_envoy()?;
    ensure_wrk()?;
    let mut cmd = Command::new(root().join("target/release/oauth-bench"));
    cmd.current_dir(root())
        .arg("--envoy")
        .arg(&envoy)
        .arg("--host")
        .arg(root().join("target/release/oauth-host"))
        .arg("--module")
        .arg(&module)
        .args(args);
    run(&mut cmd)
}

/// `wrk` on PATH, else `apt-get install -y wrk` (as root, or with sudo).
fn ensure_wrk() -> Result<()> {
    let found = Command::new("wrk").arg("--version").output().is_ok();
    if found {
        return Ok(());
    }
    eprintln!("xtask: wrk not found, installing it with apt-get");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = if is_root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update"]))?;
    run(&mut apt(&["install", "-y", "wrk"])).context("installing wrk (Debian package)")?;
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk still not on PATH after apt-get install");
    }
    Ok(())
}
