//! Builds the workspace's proxy-wasm modules for tests.
//!
//! Modules are built with `cargo build --target wasm32-wasip1 --profile wasm`
//! into `target/wasm` (a target directory of their own, so a test can build
//! them while the outer `cargo test` holds the lock on `target/`).
//! `cargo xtask build`/`test` build into the same place first, so tests find
//! them up to date.

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
    file
}
