//! `cargo xtask bench [--quick] [options]`: builds everything in release
//! (the filter at the `wasm` profile, or `--wasm-profile NAME`; the no-op
//! floor module of `bench/noop`), installs what the load test needs (Envoy
//! 1.40 under target/peers, `wrk` from apt, `oha` from crates.io into
//! `<target>/bench-tools` when missing), then runs the bench driver
//! (`bench/`, crate `oauth-bench`), which writes `bench/RESULTS.md` and
//! `bench/RESULTS.svg`. The other options are passed to the driver
//! (`--rounds N`, `--duration S`, `--fixed-duration S`, `--warmup S`,
//! `--connections N`, `--only 3,8.3,f7n`, `--out FILE`, `--no-out`,
//! `--keep-logs`, `--audit-off`). `--quick` (or `--smoke`): every case 1 s,
//! one round, fixed-rate cases 2 s; writes `<target>/bench-quick/RESULTS.md`
//! (and its chart) instead of `bench/RESULTS.md`.
//!
//! The build directory is `$CARGO_TARGET_DIR` when set, else `target/`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{cargo, root, run};

/// The build directory cargo uses (`CARGO_TARGET_DIR`, else `target/`).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        _ => root().join("target"),
    }
}

/// Runs the benchmark; `args` are the driver's options plus
/// `--wasm-profile NAME`.
pub fn run_bench(args: &[String]) -> Result<()> {
    let mut driver: Vec<String> = Vec::new();
    let mut profile = "wasm".to_string();
    let mut quick = false;
    let mut out_given = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--wasm-profile" => {
                profile = it.next().context("--wasm-profile needs a name")?.clone();
                continue;
            }
            "--quick" | "--smoke" => quick = true,
            "--out" | "--no-out" => out_given = true,
            _ => {}
        }
        driver.push(a.clone());
    }
    let target = target_dir();
    let module = build_filter(&target, &profile)?;
    let noop = build_noop(&target)?;
    // Two builds, not one: built together, the two packages' features
    // unify and wasmtime is compiled a second time.
    run(cargo().args(["build", "--release", "-p", "oauth-host"]))?;
    run(cargo().args(["build", "--release", "-p", "oauth-bench"]))?;
    let envoy = crate::peers::ensure_envoy()?;
    ensure_wrk()?;
    let oha = ensure_oha(&target)?;
    if quick && !out_given {
        let dir = target.join("bench-quick");
        std::fs::create_dir_all(&dir)?;
        driver.push("--out".into());
        driver.push(dir.join("RESULTS.md").display().to_string());
    }
    let mut cmd = Command::new(target.join("release/oauth-bench"));
    cmd.current_dir(root())
        .arg("--envoy")
        .arg(&envoy)
        .arg("--host")
        .arg(target.join("release/oauth-host"))
        .arg("--module")
        .arg(&module)
        .arg("--noop-module")
        .arg(&noop)
        .arg("--oha")
        .arg(&oha)
        .arg("--wasm-profile")
        .arg(&profile)
        .args(&driver);
    run(&mut cmd)
}

/// The filter for wasm32-wasip1 at `profile`, into `<target>/wasm`.
fn build_filter(target: &std::path::Path, profile: &str) -> Result<PathBuf> {
    crate::ensure_wasm_target()?;
    let dir = target.join("wasm");
    run(cargo()
        .args(["build", "--target", "wasm32-wasip1", "--profile", profile])
        .args(["-p", "oauth-filter", "--target-dir"])
        .arg(&dir))?;
    // cargo names the output directory of the built-in profiles after
    // their role, not their name.
    let sub = match profile {
        "dev" => "debug",
        "release" | "bench" => "release",
        other => other,
    };
    let module = dir
        .join("wasm32-wasip1")
        .join(sub)
        .join("oauth_filter.wasm");
    std::fs::metadata(&module).with_context(|| format!("{} missing", module.display()))?;
    crate::optimise(&module)
}

/// The no-op floor module (`bench/noop`, a workspace of its own), into
/// `<target>/bench-noop`.
fn build_noop(target: &std::path::Path) -> Result<PathBuf> {
    let dir = target.join("bench-noop");
    run(cargo()
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip1",
        ])
        .arg("--manifest-path")
        .arg(root().join("bench/noop/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir))?;
    Ok(dir.join("wasm32-wasip1/release/bench_noop_module.wasm"))
}

/// `oha` on PATH, else in `<target>/bench-tools/bin`, else `cargo install
/// oha --locked` there.
fn ensure_oha(target: &std::path::Path) -> Result<PathBuf> {
    let works = |p: &std::path::Path| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("oha");
    if works(&on_path) {
        return Ok(on_path);
    }
    let root_dir = target.join("bench-tools");
    let local = root_dir.join("bin/oha");
    if works(&local) {
        return Ok(local);
    }
    eprintln!("xtask: oha not found, installing it from crates.io (a few minutes)");
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["install", "oha", "--locked", "--root"])
            .arg(&root_dir),
    )?;
    if !works(&local) {
        bail!("{} does not run after cargo install", local.display());
    }
    Ok(local)
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
