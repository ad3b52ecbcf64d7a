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

/// Builds package `package` (e.g. `abi-test-module`, `oauth-filter`) for
/// wasm32-wasip1 and returns the path of its `.wasm`.
pub fn module(package: &str) -> PathBuf {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
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
