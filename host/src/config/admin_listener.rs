//! The `admin` section: the listener serving `/ready` and `/metrics`.

use std::net::SocketAddr;

use serde::Deserialize;

/// The admin listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `ip:port` to bind (port 0 picks a free port).
    pub address: SocketAddr,
}
