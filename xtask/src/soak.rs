//! `cargo xtask soak [--secs N] [--clients N]`: builds the module (size
//! profile) and `oauth-host` in release, installs the peers (Envoy 1.40,
//! Node + the AS), then runs the soak driver `tests/src/bin/soak.rs` (crate
//! `oauth-tests`): Envoy and the release `oauth-host` binary (child process)
//! under saturating load at once while the AS rotates its keys every 10 s
//! and flaps; it fails on an unexpected answer or > 10 % RSS growth. See
//! bench/README.md, "Soak".

use anyhow::Result;

use crate::{build_wasm, cargo, root, run};

/// Runs the soak; `args` are the driver's options (`--secs N`, `--clients N`).
pub fn run_soak(args: &[String]) -> Result<()> {
    let module = build_wasm()?;
    run(cargo().args(["build", "--release", "-p", "oauth-host"]))?;
    let envoy = crate::peers::ensure_envoy()?;
    let node_as = crate::peers::ensure_node_as()?;
    // The driver itself is built in the dev profile, as the test suites are:
    // a release build of `oauth-tests` would compile wasmtime once more.
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", "oauth-tests", "--bin", "soak", "--"])
        .arg("--host")
        .arg(root().join("target/release/oauth-host"))
        .arg("--module")
        .arg(&module)
        .args(args)
        .env("OAUTH_E2E", "1")
        .env("OAUTH_ENVOY_BIN", &envoy)
        .env("OAUTH_NODE_BIN", &node_as.node)
        .env("OAUTH_AS_DIR", &node_as.dir);
    run(&mut cmd)
}
