//! `providers[]`: the token issuers the filter trusts, as configured and
//! validated (key source, resolver, audiences, algorithms, claim rules).

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;

use super::binding::{SenderConstraint, SenderConstraintConfig};
use super::check::{self, err};
use super::defaults;
use super::introspection::{Introspection, IntrospectionConfig};
use super::secrets::{SecretRef, Secrets};
use super::ConfigError;
use crate::core::jose::jwe::{DecryptionKey, Enc, KeyAlg};
use crate::core::jose::jwk::JwkSet;
use crate::core::jose::jws::Alg;
use crate::core::jose::keystore::jwk_set_from_pem;
use crate::core::util::uri::HttpUri;

/// One trusted token issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short name used in logs, metrics and shared-data keys.
    pub name: String,
    /// Exact value of the `iss` claim.
    pub issuer: String,
    /// Accepted `aud` values; the token must carry at least one.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Skip the audience check entirely (insecure: any token of this issuer,
    /// minted for any API, is accepted).
    #[serde(default)]
    pub danger_accept_any_audience: bool,
    /// Allowed JWS algorithms. Default: every asymmetric algorithm.
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Where the verification keys come from (not needed with resolver
    /// `introspection`).
    #[serde(default)]
    pub jwks: Option<JwksSource>,
    /// How tokens of this provider are resolved.
    #[serde(default)]
    pub resolver: Resolver,
    /// The introspection endpoint (RFC 7662), for resolvers that introspect.
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
    /// Require the RFC 9068 header `typ` (`at+jwt` or `application/at+jwt`).
    #[serde(default)]
    pub require_at_jwt_typ: bool,
    /// Claims that must be present.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// Claims that must equal a given JSON value.
    #[serde(default)]
    pub claim_rules: Vec<ClaimRule>,
    /// Allowed clock difference for `exp`, `nbf` and `iat`, in seconds.
    #[serde(default = "defaults::clock_skew_s")]
    pub clock_skew_s: u64,
    /// Sender-constrained tokens: RFC 8705 certificate binding, DPoP.
    #[serde(default)]
    pub sender_constraint: SenderConstraintConfig,
    /// Encrypted (JWE) access tokens: the resource server's private keys.
    #[serde(default)]
    pub decryption: Option<DecryptionConfig>,
    /// Claims the token's scopes are read from (default: `scope` and
    /// `scp`, each a string or an array).
    #[serde(default)]
    pub scope_claims: Option<Vec<ScopeClaim>>,
}

/// Most entries in `scope_claims`.
pub const MAX_SCOPE_CLAIMS: usize = 8;

/// `providers[].scope_claims[]`: a claim holding scopes, and its form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeClaim {
    /// Top-level claim name.
    pub claim: String,
    /// Its form (default: either).
    #[serde(default)]
    pub format: ScopeFormat,
}

/// The form of a scope claim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeFormat {
    /// A space-separated string (RFC 8693 / RFC 9068 `scope`).
    String,
    /// An array of strings.
    Array,
    /// Either.
    #[default]
    StringOrArray,
}

impl ScopeClaim {
    /// `scope` and `scp`, each a string or an array.
    pub fn defaults() -> Vec<ScopeClaim> {
        ["scope", "scp"]
            .into_iter()
            .map(|c| ScopeClaim {
                claim: c.to_owned(),
                format: ScopeFormat::StringOrArray,
            })
            .collect()
    }
}

fn scope_claims(list: Option<&[ScopeClaim]>, p: &str) -> Result<Vec<ScopeClaim>, ConfigError> {
    let Some(list) = list else {
        return Ok(ScopeClaim::defaults());
    };
    let path = format!("{p}.scope_claims");
    if list.is_empty() || list.len() > MAX_SCOPE_CLAIMS {
        return Err(err(
            path,
            format!("1 to {MAX_SCOPE_CLAIMS} entries (omit it for scope and scp)"),
        ));
    }
    for (j, sc) in list.iter().enumerate() {
        if sc.claim.is_empty() || sc.claim.len() > 128 || sc.claim.chars().any(char::is_control) {
            return Err(err(
                format!("{path}[{j}].claim"),
                "1 to 128 characters, no control characters",
            ));
        }
        if list.iter().take(j).any(|o| o.claim == sc.claim) {
            return Err(err(format!("{path}[{j}].claim"), "duplicate claim"));
        }
    }
    Ok(list.to_vec())
}

/// `providers[].decryption`: JWE (RFC 7516) access tokens, decrypted with
/// the resource server's keys, then verified as the nested JWS they carry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionConfig {
    /// Private JWKs (RSA, EC P-256/P-384, oct), each a secret whose value
    /// is the JWK's JSON text: `{"env": NAME}`, `{"vm_config": NAME}`, or
    /// inline (tests only).
    pub keys: Vec<SecretRef>,
    /// Accepted key management algorithms (default: all supported).
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Accepted content encryptions (default: all supported).
    #[serde(default)]
    pub encryptions: Option<Vec<String>>,
}

/// Validated `decryption`.
#[derive(Debug, Clone)]
pub struct Decryption {
    /// The keys, in configuration order.
    pub keys: Arc<Vec<DecryptionKey>>,
    /// Accepted `alg` values.
    pub algs: Vec<KeyAlg>,
    /// Accepted `enc` values.
    pub encs: Vec<Enc>,
}

impl DecryptionConfig {
    fn validate(&self, path: &str, secrets: &Secrets) -> Result<Decryption, ConfigError> {
        if self.keys.is_empty() {
            return Err(err(format!("{path}.keys"), "at least one key"));
        }
        let mut keys = Vec::with_capacity(self.keys.len());
        for (i, r) in self.keys.iter().enumerate() {
            let kp = format!("{path}.keys[{i}]");
            let text = secrets.resolve(r, &kp)?;
            let v: serde_json::Value = serde_json::from_str(text.expose())
                .map_err(|_| err(&kp, "is not a JSON object (a private JWK)"))?;
            let key = DecryptionKey::from_jwk(&v)
                .map_err(|e| err(format!("{kp}.{}", e.member), e.message))?;
            keys.push(key);
        }
        let algs = match &self.algorithms {
            None => KeyAlg::ALL.to_vec(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    KeyAlg::from_name(a).ok_or_else(|| {
                        err(
                            format!("{path}.algorithms[{i}]"),
                            format!("unsupported {a:?}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let encs = match &self.encryptions {
            None => Enc::ALL.to_vec(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    Enc::from_name(e).ok_or_else(|| {
                        err(
                            format!("{path}.encryptions[{i}]"),
                            format!("unsupported {e:?}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Decryption {
            keys: Arc::new(keys),
            algs,
            encs,
        })
    }
}

/// How a provider's tokens are turned into claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolver {
    /// Verify JWS signatures locally (the default).
    #[default]
    Jwt,
    /// Introspect every token (RFC 7662), JWT or opaque.
    Introspection,
    /// A JWS whose `iss` names this provider is verified locally; any token
    /// that is not a JWS of a configured issuer is introspected here.
    JwtOrIntrospection,
}

impl Resolver {
    /// Whether this resolver may introspect.
    pub fn introspects(self) -> bool {
        self != Resolver::Jwt
    }
}

/// Key source of a provider: exactly one of the variants. `Debug` prints
/// an inline set with its private and secret members (`k`, `d`, `p`, …)
/// as `<redacted>`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum JwksSource {
    /// A JWK set written in the configuration.
    Inline(serde_json::Value),
    /// A JWK set fetched from a URI.
    Remote(RemoteJwks),
    /// OIDC discovery: `<issuer>/.well-known/openid-configuration` → `jwks_uri`.
    Discovery(DiscoveryJwks),
    /// A key store: PEM `PUBLIC KEY` and `CERTIFICATE` blocks.
    Pem(PemKeys),
}

/// Keys from a key store, as PEM text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKeys {
    /// One or more `-----BEGIN PUBLIC KEY-----` (SPKI) or
    /// `-----BEGIN CERTIFICATE-----` blocks (the certificate only carries
    /// the key: its validity and issuer are not checked).
    pub keys: String,
    /// The `kid` these keys answer to; absent: tokens with any `kid`.
    #[serde(default)]
    pub kid: Option<String>,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::Inline(v) => f
                .debug_tuple("Inline")
                .field(&crate::core::jose::jwk::redacted_jwks(v))
                .finish(),
            JwksSource::Remote(r) => f.debug_tuple("Remote").field(r).finish(),
            JwksSource::Discovery(d) => f.debug_tuple("Discovery").field(d).finish(),
            JwksSource::Pem(k) => f.debug_tuple("Pem").field(k).finish(),
        }
    }
}

/// A remote JWK set: its URI, the cluster and `:authority` of the callout
/// (the same shape as a fixed token endpoint).
pub type RemoteJwks = super::client::EndpointConfig;

/// OIDC discovery of the JWK set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryJwks {
    /// Proxy cluster the callouts (discovery document and JWK set) go through.
    pub cluster: String,
    /// `:authority` of the callouts; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
    /// Override of the discovery document URI.
    #[serde(default)]
    pub uri: Option<String>,
}

/// An exact-match rule on a claim.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// Claim name (top level).
    pub claim: String,
    /// Required value; compared as JSON. When the claim is an array and this
    /// is a scalar, the array must contain it.
    pub equals: serde_json::Value,
}

/// A validated provider, ready for use by the core.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Short name.
    pub name: String,
    /// Exact `iss`.
    pub issuer: String,
    /// Accepted audiences; `None` when the check is disabled.
    pub audiences: Option<Vec<String>>,
    /// Allowed algorithms.
    pub algorithms: Vec<Alg>,
    /// Key source.
    pub keys: KeySource,
    /// RFC 9068 `typ` enforcement.
    pub require_at_jwt_typ: bool,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// Exact-match rules.
    pub claim_rules: Vec<ClaimRule>,
    /// Skew in seconds.
    pub clock_skew_s: u64,
    /// Resolver choice.
    pub resolver: Resolver,
    /// Introspection endpoint, when the resolver introspects.
    pub introspection: Option<Introspection>,
    /// Sender-constraint policy.
    pub sender_constraint: SenderConstraint,
    /// JWE decryption, when configured.
    pub decryption: Option<Decryption>,
    /// Claims holding the token's scopes.
    pub scope_claims: Vec<ScopeClaim>,
}

/// A validated key source.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// No keys: the provider only introspects.
    None,
    /// Keys from the configuration.
    Inline(JwkSet),
    /// A JWK set at a URI.
    Remote {
        /// Where.
        uri: HttpUri,
        /// Through which cluster.
        cluster: String,
    },
    /// Discovery document at a URI, then its `jwks_uri`.
    Discovery {
        /// Discovery document.
        uri: HttpUri,
        /// Through which cluster.
        cluster: String,
        /// `:authority` override for both callouts.
        authority: Option<String>,
    },
}

/// Validate `providers`; also returns the one that introspects tokens no
/// other resolver claims, if any.
pub(super) fn validate(
    list: &[ProviderConfig],
    secrets: &Secrets,
) -> Result<(Vec<Provider>, Option<usize>), ConfigError> {
    let mut providers = Vec::with_capacity(list.len());
    let mut names = HashSet::new();
    let mut issuers = HashSet::new();
    let mut introspector: Option<usize> = None;
    for (i, pc) in list.iter().enumerate() {
        let p = format!("providers[{i}]");
        if !check::name_ok(&pc.name, usize::MAX) {
            return Err(err(format!("{p}.name"), "must be non-empty [A-Za-z0-9_-]"));
        }
        if !names.insert(pc.name.clone()) {
            return Err(err(format!("{p}.name"), "duplicate provider name"));
        }
        if pc.issuer.is_empty() {
            return Err(err(format!("{p}.issuer"), "must not be empty"));
        }
        if !issuers.insert(pc.issuer.clone()) {
            return Err(err(format!("{p}.issuer"), "duplicate issuer"));
        }
        let audiences = match (pc.audiences.is_empty(), pc.danger_accept_any_audience) {
            (true, false) => {
                return Err(err(
                    format!("{p}.audiences"),
                    "at least one audience is required (or danger_accept_any_audience: true)",
                ))
            }
            (false, true) => {
                return Err(err(
                    format!("{p}.danger_accept_any_audience"),
                    "cannot be combined with audiences",
                ))
            }
            (true, true) => None,
            (false, false) => Some(pc.audiences.clone()),
        };
        let algorithms =
            check::algorithms(pc.algorithms.as_deref(), &format!("{p}.algorithms"), true)?;
        let keys = match &pc.jwks {
            None if pc.resolver == Resolver::Introspection => KeySource::None,
            None => {
                return Err(err(
                    format!("{p}.jwks"),
                    "required unless resolver is introspection",
                ))
            }
            Some(src) => key_source(src, &pc.issuer, &p)?,
        };
        for (j, c) in pc.required_claims.iter().enumerate() {
            if c.is_empty() {
                return Err(err(
                    format!("{p}.required_claims[{j}]"),
                    "must not be empty",
                ));
            }
        }
        let introspection = match (&pc.introspection, pc.resolver.introspects()) {
            (Some(ic), true) => Some(Introspection::from_config(
                ic,
                &format!("{p}.introspection"),
                secrets,
            )?),
            (None, true) => {
                return Err(err(
                    format!("{p}.introspection"),
                    "required when resolver is introspection or jwt_or_introspection",
                ))
            }
            (Some(_), false) => {
                return Err(err(
                    format!("{p}.introspection"),
                    "only used with resolver introspection or jwt_or_introspection",
                ))
            }
            (None, false) => None,
        };
        if pc.resolver.introspects() {
            if let Some(first) = introspector {
                return Err(err(
                    format!("{p}.resolver"),
                    format!("only one provider may introspect (providers[{first}] already does)"),
                ));
            }
            introspector = Some(i);
        }
        providers.push(Provider {
            name: pc.name.clone(),
            issuer: pc.issuer.clone(),
            audiences,
            algorithms,
            keys,
            require_at_jwt_typ: pc.require_at_jwt_typ,
            required_claims: pc.required_claims.clone(),
            claim_rules: pc.claim_rules.clone(),
            clock_skew_s: pc.clock_skew_s,
            resolver: pc.resolver,
            introspection,
            sender_constraint: pc
                .sender_constraint
                .validate(&format!("{p}.sender_constraint"), secrets)?,
            decryption: match &pc.decryption {
                Some(d) => Some(d.validate(&format!("{p}.decryption"), secrets)?),
                None => None,
            },
            scope_claims: scope_claims(pc.scope_claims.as_deref(), &p)?,
        });
    }
    Ok((providers, introspector))
}

/// A validated key source from `jwks` at `{p}.jwks` (providers, login
/// registrations); `issuer` places the discovery document.
pub(super) fn key_source(
    src: &JwksSource,
    issuer: &str,
    p: &str,
) -> Result<KeySource, ConfigError> {
    Ok(match src {
        JwksSource::Inline(v) => {
            let set = JwkSet::from_value(v, true)
                .map_err(|e| err(format!("{p}.jwks.inline{}", e.path), e.message))?;
            if set.keys().is_empty() {
                return Err(err(format!("{p}.jwks.inline.keys"), "no usable key"));
            }
            KeySource::Inline(set)
        }
        JwksSource::Pem(k) => {
            let set = jwk_set_from_pem(&k.keys, k.kid.as_deref())
                .map_err(|e| err(format!("{p}.jwks.pem.keys"), e.to_string()))?;
            KeySource::Inline(set)
        }
        JwksSource::Remote(r) => {
            let uri = check::http_uri(
                &r.uri,
                r.authority.as_deref(),
                format!("{p}.jwks.remote.uri"),
            )?;
            check::cluster(&r.cluster, &format!("{p}.jwks.remote.cluster"))?;
            KeySource::Remote {
                uri,
                cluster: r.cluster.clone(),
            }
        }
        JwksSource::Discovery(d) => {
            let text = match &d.uri {
                Some(u) => u.clone(),
                None => format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                ),
            };
            let field = if d.uri.is_some() {
                format!("{p}.jwks.discovery.uri")
            } else {
                format!("{p}.issuer")
            };
            let uri = check::http_uri(&text, d.authority.as_deref(), field)?;
            check::cluster(&d.cluster, &format!("{p}.jwks.discovery.cluster"))?;
            KeySource::Discovery {
                uri,
                cluster: d.cluster.clone(),
                authority: d.authority.clone(),
            }
        }
    })
}
