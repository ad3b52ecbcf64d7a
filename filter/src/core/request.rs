//! The request as the core sees it: method, path, headers, and what the
//! host says about the downstream connection.

/// What the host says about the downstream connection. The adapter reads
/// only what the configuration needs ([`crate::core::Filter::needs`]); the
/// rest stays `None` (unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connection<'a> {
    /// Whether the connection is TLS (`connection.tls_version` present).
    pub tls: Option<bool>,
    /// `connection.sha256_peer_certificate_digest`: SHA-256 of the client
    /// certificate's DER, hex (`None`: no client certificate, or not read).
    pub peer_certificate_sha256: Option<&'a str>,
    /// `source.address`: the peer's `ip:port` (or `[v6]:port`).
    pub source_address: Option<&'a str>,
}

/// The request as the core sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestView<'a> {
    /// `:method`.
    pub method: &'a str,
    /// Path (query allowed; it is ignored for matching).
    pub path: &'a str,
    /// All request headers, in order, repeated names kept (pseudo-headers
    /// `:scheme`, `:authority` included where the host gives them).
    pub headers: &'a [(String, String)],
    /// When this request was first paused (None on first evaluation).
    pub held_since: Option<crate::core::util::time::UnixMillis>,
    /// The downstream connection.
    pub connection: Connection<'a>,
}

impl<'a> RequestView<'a> {
    /// Every value of header `name` (ASCII case-insensitive), in order.
    pub fn header_values(&self, name: &str) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name`; `None` when absent or repeated.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name));
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v.as_str()),
            _ => None,
        }
    }
}

/// What the adapter must read from the host for each request, beyond the
/// headers: each costs a host call, so only what the configuration uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// [`Connection::tls`] (`require_https`, DPoP `htu`).
    pub tls: bool,
    /// [`Connection::peer_certificate_sha256`] (certificate-bound tokens
    /// checked against the connection).
    pub peer_certificate: bool,
    /// [`Connection::source_address`] (trusted proxies).
    pub source_address: bool,
}
