//! Callouts: the HTTP requests the core asks the adapter to start
//! (proxy-wasm `dispatch_http_call`), their typed ids and their answers.

use super::util::uri::HttpUri;

/// Largest accepted discovery document or JWK set.
pub const MAX_BODY: usize = 512 * 1024;

/// Largest token endpoint, discovery (client role) or introspection answer
/// accepted.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Identifies a callout started by the core: which capability started it,
/// and for what. The answer goes back to that capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalloutId {
    /// A key-set or discovery fetch of provider `provider`.
    Keys {
        /// Provider index.
        provider: usize,
        /// Per-worker sequence number.
        seq: u64,
    },
    /// A token introspection (RFC 7662).
    Introspection(u64),
    /// A token request (or its endpoint discovery) of token source `source`.
    Token {
        /// Token source index.
        source: usize,
        /// Per-worker sequence number.
        seq: u64,
    },
    /// A browser login's call (code exchange, refresh, revocation), by
    /// per-worker sequence number.
    Login(u64),
    /// A token request of the token service (via token types), by
    /// per-worker sequence number.
    Sts(u64),
}

/// An HTTP request the adapter must start (proxy-wasm `dispatch_http_call`).
#[derive(Clone, PartialEq, Eq)]
pub struct Callout {
    /// Id to hand back with the response.
    pub id: CalloutId,
    /// Proxy cluster.
    pub cluster: String,
    /// Target.
    pub uri: HttpUri,
    /// Timeout.
    pub timeout_ms: u64,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Headers besides the pseudo-headers and `accept` (may hold credentials).
    pub extra_headers: Vec<(String, String)>,
    /// Request body (may hold credentials or a token).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Callout {
    // Headers and body can carry secrets and tokens: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callout")
            .field("id", &self.id)
            .field("cluster", &self.cluster)
            .field("uri", &self.uri)
            .field("method", &self.method)
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

impl Callout {
    /// A `GET` accepting JSON.
    pub fn get(id: CalloutId, cluster: String, uri: HttpUri, timeout_ms: u64) -> Callout {
        Callout {
            id,
            cluster,
            uri,
            timeout_ms,
            method: "GET",
            extra_headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `POST` of `form` (`application/x-www-form-urlencoded`) with
    /// `headers` besides (client authentication).
    pub fn form_post(
        id: CalloutId,
        cluster: String,
        uri: HttpUri,
        timeout_ms: u64,
        form: &[(String, String)],
        headers: Vec<(String, String)>,
    ) -> Callout {
        let mut extra_headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        extra_headers.extend(headers);
        Callout {
            id,
            cluster,
            uri,
            timeout_ms,
            method: "POST",
            extra_headers,
            body: super::util::form::form_body(form).into_bytes(),
        }
    }

    /// Request headers, pseudo-headers included.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![
            (":method".into(), self.method.into()),
            (":path".into(), self.uri.path.clone()),
            (":authority".into(), self.uri.authority.clone()),
            (":scheme".into(), self.uri.scheme.into()),
            ("accept".into(), "application/json".into()),
        ];
        h.extend(self.extra_headers.iter().cloned());
        h
    }
}

/// A callout's answer; `status` None when the call failed (reset, timeout).
#[derive(Debug, Clone, Copy)]
pub struct CalloutResponse<'a> {
    /// `:status`, if a response arrived.
    pub status: Option<u16>,
    /// Response headers.
    pub headers: &'a [(String, String)],
    /// Response body.
    pub body: &'a [u8],
}
