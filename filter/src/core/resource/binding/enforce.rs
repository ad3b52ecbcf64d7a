//! The sender-constraint stage of the pipeline: a resolved token's `cnf`
//! against the request (RFC 8705 certificate, RFC 9449 DPoP proof), under
//! the provider's [`SenderConstraint`] policy.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::dpop::{self, DpopError, DpopPolicy, ProofRequest};
use super::mtls::{self, CertSource, MtlsBinding};
use super::nonce;
use crate::core::config::{CertificateSource, SenderConstraint};
use crate::core::error::{BindingFailure, Rejection};
use crate::core::jose::jws::Alg;
use crate::core::jose::verify::Verifier;
use crate::core::request::RequestView;
use crate::core::resource::extract::Scheme;
use crate::core::shared::replay::{ReplayCache, Seen, ID_BYTES};
use crate::core::shared::SharedStore;
use crate::core::util::cidr::{address_ip, Cidr};
use crate::core::util::time::UnixMillis;

/// Shared-data prefix of the DPoP `jti` replay cache.
pub const REPLAY_PREFIX: &str = "oauth-filter/dpop-jti/";
/// Buckets of the replay cache.
pub const REPLAY_BUCKETS: u32 = 256;
/// Proofs per bucket: 256 × 1,024 proofs live at once (≈ 4,300 proofs/s
/// with the default 60 s window) before new proofs are refused.
pub const REPLAY_PER_BUCKET: usize = 1024;

/// The process-wide DPoP replay cache.
pub fn replay_cache() -> ReplayCache {
    ReplayCache::new(REPLAY_PREFIX, REPLAY_BUCKETS, REPLAY_PER_BUCKET)
}

/// Why a token's binding does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingError {
    /// RFC 8705: no certificate, another certificate, or a malformed one.
    Certificate(MtlsBinding),
    /// RFC 9449: the proof is missing or fails a check (the accepted
    /// algorithms go into the challenge; with `use_dpop_nonce`, the nonce
    /// to retry with).
    Dpop(DpopError, Vec<Alg>, Option<String>),
    /// The proof's key is not the key the token is bound to (`cnf.jkt`).
    DpopKeyMismatch(Vec<Alg>),
    /// A DPoP-bound token presented with the `Bearer` scheme.
    DpopSchemeRequired(Vec<Alg>),
    /// The `DPoP` scheme with a token that is not DPoP-bound.
    NotDpopBound,
    /// `sender_constraint.required` and the token is not bound.
    Unbound,
    /// The replay cache could not record the proof (full, contended): 503.
    ReplayCacheUnavailable,
}

impl BindingError {
    /// Stable short reason.
    pub fn reason(&self) -> &'static str {
        match self {
            BindingError::Certificate(b) => b.reason(),
            BindingError::Dpop(e, ..) => e.reason(),
            BindingError::DpopKeyMismatch(_) => "jkt_mismatch",
            BindingError::DpopSchemeRequired(_) => "dpop_scheme_required",
            BindingError::NotDpopBound => "not_dpop_bound",
            BindingError::Unbound => "unbound_token",
            BindingError::ReplayCacheUnavailable => "replay_cache_unavailable",
        }
    }

    /// Text for `error_description`.
    pub fn describe(&self) -> String {
        match self {
            BindingError::Certificate(MtlsBinding::NoCertificate) => {
                "the token is bound to a client certificate; none was presented".to_owned()
            }
            BindingError::Certificate(MtlsBinding::Malformed(e)) => e.describe().to_owned(),
            BindingError::Certificate(_) => {
                "the token is bound to another client certificate".to_owned()
            }
            BindingError::Dpop(e, ..) => e.describe(),
            BindingError::DpopKeyMismatch(_) => {
                "the DPoP proof key is not the key the token is bound to".to_owned()
            }
            BindingError::DpopSchemeRequired(_) => {
                "the token is DPoP-bound: present it with the DPoP scheme and a proof".to_owned()
            }
            BindingError::NotDpopBound => "the token is not DPoP-bound".to_owned(),
            BindingError::Unbound => "a sender-constrained token is required".to_owned(),
            BindingError::ReplayCacheUnavailable => {
                "the DPoP proof could not be recorded; retry".to_owned()
            }
        }
    }

    /// The OAuth `error` code of the JSON body.
    pub fn error_code(&self) -> &'static str {
        match self {
            BindingError::Dpop(e, ..) => e.error_code(),
            BindingError::ReplayCacheUnavailable => "temporarily_unavailable",
            _ => "invalid_token",
        }
    }

    /// As the reply needs it.
    pub fn failure(&self) -> BindingFailure {
        let algs = match self {
            BindingError::Dpop(_, a, _)
            | BindingError::DpopKeyMismatch(a)
            | BindingError::DpopSchemeRequired(a) => {
                Some(a.iter().map(|a| a.name()).collect::<Vec<_>>().join(" "))
            }
            _ => None,
        };
        BindingFailure {
            status: self.status(),
            code: self.error_code(),
            reason: self.reason(),
            description: self.describe(),
            dpop_algs: algs,
            dpop_nonce: match self {
                BindingError::Dpop(_, _, n) => n.clone(),
                _ => None,
            },
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            BindingError::ReplayCacheUnavailable => 503,
            _ => 401,
        }
    }
}

/// What the stage needs from the pipeline besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The provider's policy.
    pub policy: &'a SenderConstraint,
    /// The token's claims (or introspection answer).
    pub claims: &'a Map<String, Value>,
    /// The token as presented, and its scheme.
    pub token: &'a str,
    /// `Bearer` or `DPoP`.
    pub scheme: Scheme,
    /// Believe `x-forwarded-proto` for the request URI.
    pub trust_forwarded_proto: bool,
    /// Verifier for proof signatures.
    pub verifier: &'a Verifier,
    /// The time.
    pub now: UnixMillis,
}

impl From<BindingError> for Rejection {
    fn from(e: BindingError) -> Rejection {
        Rejection::Binding(e.failure())
    }
}

/// Check the token's binding against the request.
pub fn enforce(
    cx: &Context<'_>,
    req: &RequestView<'_>,
    store: &mut dyn SharedStore,
) -> Result<(), BindingError> {
    let cnf = cx.claims.get("cnf");
    let mut bound = false;
    // RFC 8705 §3: certificate-bound. A certificate header from a peer
    // outside `trusted_proxies` counts as no certificate.
    let header_values = match cx.policy.certificate.header() {
        Some(h) if trusted_peer(&cx.policy.trusted_proxies, req) => req.header_values(h),
        _ => Vec::new(),
    };
    let source = match &cx.policy.certificate {
        CertificateSource::Connection => {
            CertSource::Connection(req.connection.peer_certificate_sha256.map(str::as_bytes))
        }
        CertificateSource::Xfcc => CertSource::Xfcc(&header_values),
        CertificateSource::Header(_) => CertSource::PemHeader(&header_values),
    };
    match mtls::check(cnf, source) {
        MtlsBinding::Unbound => {}
        MtlsBinding::Bound => bound = true,
        other => return Err(BindingError::Certificate(other)),
    }
    // RFC 9449 §7: DPoP-bound.
    let has_jkt = matches!(cnf, Some(Value::Object(o)) if o.contains_key("jkt"));
    let algs = || cx.policy.dpop_algorithms.clone();
    match (has_jkt, cx.scheme) {
        (true, Scheme::Dpop) => {
            dpop_proof(cx, req, cnf, store)?;
            bound = true;
        }
        (true, Scheme::Bearer) => return Err(BindingError::DpopSchemeRequired(algs())),
        (false, Scheme::Dpop) => return Err(BindingError::NotDpopBound),
        (false, Scheme::Bearer) => {}
    }
    if cx.policy.required && !bound {
        return Err(BindingError::Unbound);
    }
    Ok(())
}

fn dpop_proof(
    cx: &Context<'_>,
    req: &RequestView<'_>,
    cnf: Option<&Value>,
    store: &mut dyn SharedStore,
) -> Result<(), BindingError> {
    let algs = &cx.policy.dpop_algorithms;
    let nonce_cfg = cx.policy.dpop_nonce.as_ref();
    let fail = |e: DpopError| {
        let retry = match (&e, nonce_cfg) {
            (DpopError::UseNonce, Some(c)) => Some(nonce::current(c, cx.now)),
            _ => None,
        };
        BindingError::Dpop(e, algs.clone(), retry)
    };
    let accepted = nonce_cfg.map(|c| nonce::accepted(c, cx.now));
    let nonces: Vec<&str> = accepted.iter().flatten().map(String::as_str).collect();
    let policy = DpopPolicy {
        algs: algs.clone(),
        iat_past_ms: cx.policy.dpop_max_age_ms,
        iat_future_ms: cx.policy.dpop_max_future_ms,
    };
    let proofs = req.header_values("dpop");
    let uri = request_uri(req, cx.trust_forwarded_proto).ok_or(fail(DpopError::BadRequestUri))?;
    let proof = dpop::check_proof(
        &policy,
        &ProofRequest {
            proofs: &proofs,
            method: req.method,
            uri: &uri,
            access_token: Some(cx.token),
            nonces: &nonces,
            now: cx.now,
        },
        cx.verifier,
    )
    .map_err(fail)?;
    if dpop::check_jkt(cnf, &proof.jkt) != dpop::JktBinding::Bound {
        return Err(BindingError::DpopKeyMismatch(algs.clone()));
    }
    let entry = dpop::replay_entry(&policy, &proof, cx.now);
    let digest = Sha256::digest(entry.key.as_bytes());
    let mut id = [0u8; ID_BYTES];
    id.copy_from_slice(&digest[..ID_BYTES]);
    match replay_cache().remember(store, &id, entry.expires_at, cx.now) {
        Seen::Fresh => Ok(()),
        Seen::Replayed => Err(fail(DpopError::Replayed)),
        Seen::Full | Seen::Busy => Err(BindingError::ReplayCacheUnavailable),
    }
}

/// Whether the request's peer may set the certificate header.
pub fn trusted_peer(trusted: &[Cidr], req: &RequestView<'_>) -> bool {
    if trusted.is_empty() {
        return true;
    }
    req.connection
        .source_address
        .and_then(address_ip)
        .is_some_and(|ip| trusted.iter().any(|c| c.contains(ip)))
}

/// The request URI as the client saw it (RFC 9449 §4.3 `htu`): scheme
/// (`x-forwarded-proto` when trusted, else `:scheme`, else `http`),
/// authority (`:authority`, else `host`), and the path without the query.
pub fn request_uri(req: &RequestView<'_>, trust_forwarded_proto: bool) -> Option<String> {
    let forwarded = trust_forwarded_proto
        .then(|| req.header("x-forwarded-proto"))
        .flatten();
    let scheme = forwarded
        .or_else(|| req.header(":scheme"))
        .unwrap_or("http")
        .to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = req.header(":authority").or_else(|| req.header("host"))?;
    let path = req.path.split(['?', '#']).next().unwrap_or("/");
    Some(format!("{scheme}://{authority}{path}"))
}
