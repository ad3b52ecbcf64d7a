//! Builds the workspace's proxy-wasm modules for tests.
//!
//! Modules are built with `cargo build --target wasm32-wasip1 --profile wasm`
//! into `target/wasm` (a target directory of their own, so a test can build
//! them while the outer `cargo test` holds the lock on `target/`).
//! `cargo xtask build`/`test` build into the same place first, so tests find
//! them up to date. The filter module is then optimised by binaryen's
//! `wasm-opt` into `target/wasm/opt/`, as shipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent") // proof: CARGO_MANIFEST_DIR is <root>/tests
        .to_path_buf()
}

/// Target directory for wasm builds.
pub fn wasm_target_dir() -> PathBuf {
    workspace_root().join("target").join("wasm")
}

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// The tests that run a module need the `wasm32-wasip1` target: installed
/// here with rustup when it is missing (as `cargo xtask` does), so a plain
/// `cargo test` works on a fresh machine, or fails saying what is missing.
fn ensure_target() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip1")
        })
        .unwrap_or(false);
    if installed {
        return;
    }
    eprintln!("the tests need the wasm32-wasip1 target: rustup target add wasm32-wasip1");
    let added = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip1"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        added,
        "the wasm32-wasip1 target is missing and `rustup target add wasm32-wasip1` failed"
    );
}

/// Builds package `package` (e.g. `abi-test-module`, `oauth-filter`) for
/// wasm32-wasip1 and returns the path of its `.wasm`.
pub fn module(package: &str) -> PathBuf {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    ensure_target();
    let root = workspace_root();
    let target_dir = wasm_target_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip1",
            "--profile",
            "wasm",
            "-p",
            package,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .expect("run cargo to build the wasm module");
    assert!(status.success(), "building {package} for wasm32-wasip1 failed (is the target installed? `rustup target add wasm32-wasip1`)");
    let file = target_dir
        .join("wasm32-wasip1")
        .join("wasm")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(file.exists(), "{} missing after build", file.display());
    if package == "oauth-filter" {
        return optimised(&file);
    }
    file
}

/// Binaryen's optimiser: `$OAUTH_WASM_OPT`, else `wasm-opt` on the PATH.
fn wasm_opt() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OAUTH_WASM_OPT") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("wasm-opt"))
            .find(|p| p.is_file())
    })
}

/// The module as shipped: `file` after `wasm-opt -O3` (what `cargo xtask
/// build` makes), rebuilt when `file` is newer. Without binaryen (a plain
/// `cargo test` on a machine without it) the unoptimised module.
pub fn optimised(file: &Path) -> PathBuf {
    let Some(opt) = wasm_opt() else {
        eprintln!("wasm-opt not found: testing the unoptimised module");
        return file.to_path_buf();
    };
    let out_dir = wasm_target_dir().join("opt");
    let name = file.file_name().expect("a module file name");
    let out = out_dir.join(name);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&out).is_some() && modified(&out) >= modified(file) {
        return out;
    }
    std::fs::create_dir_all(&out_dir).expect("create target/wasm/opt");
    let status = Command::new(&opt)
        .args(WASM_OPT_ARGS)
        .arg(file)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("run {}: {e}", opt.display()));
    assert!(status.success(), "wasm-opt failed on {}", file.display());
    out
}

/// The optimiser's arguments: speed first (`-O3`), with the features the
/// Rust wasm32-wasip1 target emits. `cargo xtask build` passes the same.
pub const WASM_OPT_ARGS: &[&str] = &[
    "-O3",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
];
