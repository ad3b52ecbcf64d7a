//! Sender-constrained tokens (`providers[].sender_constraint`) and the
//! transport requirement (`require_https`, `trust_forwarded_proto`), as
//! configured and validated. The checks are in
//! [`crate::core::resource::binding`].

use serde::Deserialize;

use super::check::{self, err};
use super::secrets::{SecretRef, Secrets};
use super::ConfigError;
use crate::core::jose::jws::Alg;
use crate::core::util::cidr::Cidr;

/// `providers[].sender_constraint`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderConstraintConfig {
    /// Refuse tokens that are not sender-constrained (no `cnf.x5t#S256`,
    /// no `cnf.jkt`). Bound tokens are always checked, whatever this says.
    #[serde(default)]
    pub required: bool,
    /// Where the client certificate of RFC 8705 bindings comes from.
    #[serde(default)]
    pub certificate: CertificateConfig,
    /// DPoP proof checks (RFC 9449).
    #[serde(default)]
    pub dpop: DpopConfig,
}

/// Where the client certificate is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateFrom {
    /// The TLS connection (`connection.sha256_peer_certificate_digest`).
    #[default]
    Connection,
    /// Envoy's `x-forwarded-client-cert` (`Hash=`, else `Cert=`), set by a
    /// trusted hop.
    Xfcc,
    /// A header carrying the URL-encoded PEM certificate, set by a trusted hop.
    Header,
}

/// `sender_constraint.certificate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// `connection` (default), `xfcc` or `header`.
    #[serde(default)]
    pub from: CertificateFrom,
    /// The header of `from: header`.
    #[serde(default)]
    pub header: Option<String>,
    /// Peers (`source.address`, IPs or CIDR blocks) whose certificate
    /// header is believed (`xfcc`, `header`); from anyone else the header is
    /// ignored and removed. Empty: the proxy in front is trusted to set or
    /// remove it for every request (Envoy: `forward_client_cert_details:
    /// SANITIZE_SET`).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// `sender_constraint.dpop`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    /// Accepted proof algorithms (asymmetric only).
    #[serde(default = "default_dpop_algorithms")]
    pub algorithms: Vec<String>,
    /// How old a proof's `iat` may be, in seconds (also how long its `jti`
    /// is remembered).
    #[serde(default = "default_dpop_max_age_s")]
    pub max_age_s: u64,
    /// How far ahead of our clock a proof's `iat` may be, in seconds.
    #[serde(default = "default_dpop_max_future_s")]
    pub max_future_s: u64,
    /// Server nonces (RFC 9449 §9): proofs must carry a nonce the filter
    /// issued (`DPoP-Nonce` on a 401 `use_dpop_nonce`).
    #[serde(default)]
    pub nonce: Option<DpopNonceConfig>,
}

/// `sender_constraint.dpop.nonce`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopNonceConfig {
    /// Key of the nonces' MAC (≥ 32 bytes), the same on every proxy that
    /// should accept each other's nonces: a secret reference.
    pub secret: SecretRef,
    /// How long a nonce is good for, in seconds (a nonce of the previous
    /// period is still accepted).
    #[serde(default = "default_nonce_lifetime_s")]
    pub lifetime_s: u64,
}

fn default_nonce_lifetime_s() -> u64 {
    300
}

/// Validated nonce settings.
#[derive(Clone, PartialEq, Eq)]
pub struct DpopNonce {
    /// MAC key.
    pub key: Vec<u8>,
    /// Period length, ms.
    pub lifetime_ms: u64,
}

impl std::fmt::Debug for DpopNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopNonce")
            .field("key", &"<redacted>")
            .field("lifetime_ms", &self.lifetime_ms)
            .finish()
    }
}

fn default_dpop_algorithms() -> Vec<String> {
    ["ES256", "ES384", "RS256", "PS256", "EdDSA"]
        .map(str::to_owned)
        .to_vec()
}
fn default_dpop_max_age_s() -> u64 {
    60
}
fn default_dpop_max_future_s() -> u64 {
    10
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            algorithms: default_dpop_algorithms(),
            max_age_s: default_dpop_max_age_s(),
            max_future_s: default_dpop_max_future_s(),
            nonce: None,
        }
    }
}

/// The validated certificate source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSource {
    /// The TLS connection.
    Connection,
    /// `x-forwarded-client-cert`.
    Xfcc,
    /// A URL-encoded PEM header (lowercase name).
    Header(String),
}

impl CertificateSource {
    /// The request header it is read from, if any (lowercase).
    pub fn header(&self) -> Option<&str> {
        match self {
            CertificateSource::Connection => None,
            CertificateSource::Xfcc => Some("x-forwarded-client-cert"),
            CertificateSource::Header(h) => Some(h),
        }
    }
}

/// A validated `sender_constraint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConstraint {
    /// Unbound tokens are refused.
    pub required: bool,
    /// Where the client certificate comes from.
    pub certificate: CertificateSource,
    /// Whose certificate header is believed (empty: everyone's).
    pub trusted_proxies: Vec<Cidr>,
    /// Accepted DPoP proof algorithms.
    pub dpop_algorithms: Vec<Alg>,
    /// `iat` window: how old, in ms.
    pub dpop_max_age_ms: u64,
    /// `iat` window: how far ahead, in ms.
    pub dpop_max_future_ms: u64,
    /// Server nonces, when required.
    pub dpop_nonce: Option<DpopNonce>,
}

impl SenderConstraintConfig {
    /// Validate; `path` names the section in errors.
    pub fn validate(&self, path: &str, secrets: &Secrets) -> Result<SenderConstraint, ConfigError> {
        let cert = &self.certificate;
        let certificate = match (cert.from, &cert.header) {
            (CertificateFrom::Connection, None) => CertificateSource::Connection,
            (CertificateFrom::Xfcc, None) => CertificateSource::Xfcc,
            (CertificateFrom::Header, Some(h)) => {
                if !check::header_name_ok(h) || h.starts_with(':') {
                    return Err(err(
                        format!("{path}.certificate.header"),
                        "must be a header name",
                    ));
                }
                CertificateSource::Header(h.to_ascii_lowercase())
            }
            (CertificateFrom::Header, None) => {
                return Err(err(
                    format!("{path}.certificate.header"),
                    "required with from: header",
                ))
            }
            (_, Some(_)) => {
                return Err(err(
                    format!("{path}.certificate.header"),
                    "only used with from: header",
                ))
            }
        };
        if certificate == CertificateSource::Connection && !cert.trusted_proxies.is_empty() {
            return Err(err(
                format!("{path}.certificate.trusted_proxies"),
                "only used with from: xfcc or header",
            ));
        }
        let mut trusted_proxies = Vec::with_capacity(cert.trusted_proxies.len());
        for (i, t) in cert.trusted_proxies.iter().enumerate() {
            trusted_proxies.push(Cidr::parse(t).ok_or_else(|| {
                err(
                    format!("{path}.certificate.trusted_proxies[{i}]"),
                    "must be an IP address or a CIDR block (10.0.0.0/8)",
                )
            })?);
        }
        let d = &self.dpop;
        let mut dpop_algorithms = Vec::with_capacity(d.algorithms.len());
        for (i, a) in d.algorithms.iter().enumerate() {
            let ap = format!("{path}.dpop.algorithms[{i}]");
            match Alg::from_name(a) {
                Some(alg) if alg.is_symmetric() => {
                    return Err(err(ap, "DPoP proofs use asymmetric algorithms only"))
                }
                Some(alg) => dpop_algorithms.push(alg),
                None => return Err(err(ap, format!("unknown algorithm {a:?}"))),
            }
        }
        if dpop_algorithms.is_empty() {
            return Err(err(format!("{path}.dpop.algorithms"), "at least one"));
        }
        if d.max_age_s == 0 || d.max_age_s > 3600 {
            return Err(err(format!("{path}.dpop.max_age_s"), "must be 1-3600"));
        }
        if d.max_future_s > 300 {
            return Err(err(format!("{path}.dpop.max_future_s"), "must be 0-300"));
        }
        let dpop_nonce = match &d.nonce {
            None => None,
            Some(n) => {
                let np = format!("{path}.dpop.nonce");
                let key = secrets.resolve(&n.secret, &format!("{np}.secret"))?;
                if key.expose().len() < 32 {
                    return Err(err(format!("{np}.secret"), "must be at least 32 bytes"));
                }
                if n.lifetime_s == 0 || n.lifetime_s > 86_400 {
                    return Err(err(format!("{np}.lifetime_s"), "must be 1-86400"));
                }
                Some(DpopNonce {
                    key: key.expose().as_bytes().to_vec(),
                    lifetime_ms: n.lifetime_s * 1000,
                })
            }
        };
        Ok(SenderConstraint {
            dpop_nonce,
            required: self.required,
            certificate,
            trusted_proxies,
            dpop_algorithms,
            dpop_max_age_ms: d.max_age_s * 1000,
            dpop_max_future_ms: d.max_future_s * 1000,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::core::config::parse;
    use serde_json::json;

    fn provider(extra: serde_json::Value) -> Vec<u8> {
        let mut p = json!({"name": "p", "issuer": "https://as", "audiences": ["api"],
            "jwks": {"remote": {"uri": "https://as/jwks", "cluster": "as"}}});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        json!({ "providers": [p] }).to_string().into_bytes()
    }

    #[test]
    fn errors_name_the_field() {
        for (extra, path) in [
            (
                json!({"sender_constraint": {"certificate": {"from": "header"}}}),
                "providers[0].sender_constraint.certificate.header",
            ),
            (
                json!({"sender_constraint": {"certificate": {"header": "x-cert"}}}),
                "providers[0].sender_constraint.certificate.header",
            ),
            (
                json!({"sender_constraint": {"certificate": {"from": "xfcc", "trusted_proxies": ["10.0.0.0/33"]}}}),
                "providers[0].sender_constraint.certificate.trusted_proxies[0]",
            ),
            (
                json!({"sender_constraint": {"certificate": {"trusted_proxies": ["10.0.0.1"]}}}),
                "providers[0].sender_constraint.certificate.trusted_proxies",
            ),
            (
                json!({"sender_constraint": {"dpop": {"algorithms": ["ES256", "HS256"]}}}),
                "providers[0].sender_constraint.dpop.algorithms[1]",
            ),
            (
                json!({"sender_constraint": {"dpop": {"max_age_s": 0}}}),
                "providers[0].sender_constraint.dpop.max_age_s",
            ),
            (
                json!({"decryption": {"keys": []}}),
                "providers[0].decryption.keys",
            ),
            (
                json!({"decryption": {"keys": ["not json"]}}),
                "providers[0].decryption.keys[0]",
            ),
            (
                json!({"decryption": {"keys": [r#"{"kty":"oct","k":"AAAA"}"#]}}),
                "providers[0].decryption.keys[0].k",
            ),
            (
                json!({"jwks": {"pem": {"keys": "no pem here"}}}),
                "providers[0].jwks.pem.keys",
            ),
        ] {
            let e = parse(&provider(extra.clone())).unwrap_err();
            assert_eq!(e.path, path, "{extra}: {e}");
        }
        let ok = parse(&provider(json!({"sender_constraint": {"required": true,
            "certificate": {"from": "header", "header": "x-client-cert",
                            "trusted_proxies": ["127.0.0.1", "fd00::/8"]}}})))
        .unwrap();
        let sc = &ok.providers[0].sender_constraint;
        assert!(sc.required && sc.trusted_proxies.len() == 2);
        assert!(ok.raw.require_https, "require_https is on by default");
    }
}
