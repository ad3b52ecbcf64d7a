//! `client`: the gateway as an OAuth 2.0 client (token sources, their
//! grants and endpoints, route rules), validated. The token manager is in
//! `core::client`.

use serde::Deserialize;

use super::check::{self, err};
use super::client_auth::{ClientAuth, ClientAuthConfig};
use super::defaults;
use super::secrets::{Secret, SecretRef, Secrets};
use super::ConfigError;
use crate::core::route::Route;
use crate::core::util::hex::sha256_id;
use crate::core::util::uri::HttpUri;

/// `client` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Token sources, by name.
    pub sources: Vec<TokenSourceConfig>,
    /// Source for requests no rule matches; none: such requests get no token.
    #[serde(default)]
    pub default_source: Option<String>,
    /// Per-route choice; the first matching rule applies.
    #[serde(default)]
    pub rules: Vec<ClientRule>,
    /// Request header receiving `Bearer <token>`. `authorization` (the
    /// default) replaces the client's own; any other name keeps the
    /// client's `Authorization` and puts the gateway's token there.
    #[serde(default = "defaults::client_header")]
    pub header: String,
}

route_rule! {
    /// Which source serves matching requests.
    ClientRule {
        /// Source name; `null` sends no token of the gateway's.
        source: Option<String>,
    }
}

/// One token source in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSourceConfig {
    /// Short name ([A-Za-z0-9_-]) used in logs, replies and rules.
    pub name: String,
    /// The grant.
    pub grant: GrantConfig,
    /// A fixed token endpoint (or `discovery`).
    #[serde(default)]
    pub token_endpoint: Option<EndpointConfig>,
    /// OIDC discovery of `token_endpoint` (or a fixed `token_endpoint`).
    #[serde(default)]
    pub discovery: Option<DiscoveryConfig>,
    /// How the gateway authenticates as a client.
    pub client_auth: ClientAuthConfig,
    /// Renew this long before the token expires, in seconds.
    #[serde(default = "defaults::renew_margin_s")]
    pub renew_margin_s: u64,
    /// Lifetime assumed when the answer has no `expires_in`, in seconds.
    #[serde(default = "defaults::default_expires_in_s")]
    pub default_expires_in_s: u64,
    /// After a failed token request, requests without a token get 502 for
    /// this long before the next attempt, in seconds.
    #[serde(default = "defaults::retry_after_failure_s")]
    pub retry_after_failure_s: u64,
    /// Callout timeout in milliseconds (a request waits at most twice this,
    /// plus one second).
    #[serde(default = "defaults::token_timeout_ms")]
    pub timeout_ms: u64,
}

/// The grant of a token source.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GrantConfig {
    /// RFC 6749 §4.4.
    ClientCredentials {
        /// `scope`.
        #[serde(default)]
        scopes: Vec<String>,
        /// `resource` indicators (RFC 8707), one parameter each.
        #[serde(default)]
        resource: Vec<String>,
        /// `audience` parameter (as several servers accept).
        #[serde(default)]
        audience: Option<String>,
    },
    /// RFC 6749 §4.3.
    Password {
        /// Resource owner's user name.
        username: String,
        /// Resource owner's password (inline or `{"env": "NAME"}`).
        password: SecretRef,
        /// `scope`.
        #[serde(default)]
        scopes: Vec<String>,
    },
}

/// A fixed HTTP endpoint reached by callout: a token endpoint, or a remote
/// JWK set ([`super::provider::RemoteJwks`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// `http://` or `https://` URI.
    pub uri: String,
    /// Proxy cluster the callout goes through.
    pub cluster: String,
    /// `:authority`; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
}

/// Token endpoint from the issuer's discovery document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// Issuer; the document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// Proxy cluster for both callouts.
    pub cluster: String,
    /// `:authority` of both callouts; default the URI's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
    /// Override of the discovery document URI.
    #[serde(default)]
    pub uri: Option<String>,
}

/// A validated grant.
#[derive(Debug, Clone)]
pub enum Grant {
    /// Client credentials.
    ClientCredentials {
        /// Requested scopes.
        scopes: Vec<String>,
        /// `resource` parameters.
        resource: Vec<String>,
        /// `audience` parameter.
        audience: Option<String>,
    },
    /// Resource-owner password.
    Password {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
        /// Requested scopes.
        scopes: Vec<String>,
    },
}

impl Grant {
    /// `grant_type` value.
    pub fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::Password { .. } => "password",
        }
    }
}

/// Where the token endpoint is.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Configured.
    Fixed {
        /// Target.
        uri: HttpUri,
        /// As written (default `aud` of client assertions).
        text: String,
    },
    /// Found in a discovery document.
    Discovery {
        /// The document.
        uri: HttpUri,
        /// `:authority` override, applied to the discovered endpoint too.
        authority: Option<String>,
        /// The `issuer` the document must name (RFC 8414 §3.3).
        issuer: String,
    },
}

/// A validated token source.
#[derive(Debug, Clone)]
pub struct TokenSource {
    /// Name.
    pub name: String,
    /// Grant.
    pub grant: Grant,
    /// Token endpoint.
    pub endpoint: Endpoint,
    /// Cluster for all callouts.
    pub cluster: String,
    /// Client authentication.
    pub auth: ClientAuth,
    /// Renewal margin.
    pub margin_ms: u64,
    /// Lifetime without `expires_in`.
    pub default_expires_ms: u64,
    /// Failure hold-down.
    pub retry_ms: u64,
    /// Callout timeout.
    pub timeout_ms: u64,
    /// Shared-data key prefix (hash of what makes tokens interchangeable).
    pub key: String,
}

/// A validated client rule: a route and the source it picks.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Methods and path.
    pub route: Route,
    /// Source index, or none.
    pub source: Option<usize>,
}

/// The validated client role.
#[derive(Debug, Clone)]
pub struct Client {
    /// Sources in configuration order.
    pub sources: Vec<TokenSource>,
    /// Default source.
    pub default_source: Option<usize>,
    /// Rules.
    pub rules: Vec<Rule>,
    /// Header for the token.
    pub header: String,
}

impl Client {
    /// Validate `c` found at `path` (`client`).
    pub fn from_config(
        c: &ClientConfig,
        path: &str,
        secrets: &Secrets,
    ) -> Result<Client, ConfigError> {
        if c.sources.is_empty() {
            return Err(err(format!("{path}.sources"), "at least one source"));
        }
        let mut sources: Vec<TokenSource> = Vec::new();
        for (i, s) in c.sources.iter().enumerate() {
            let sp = format!("{path}.sources[{i}]");
            let src = TokenSource::from_config(s, &sp, secrets)?;
            if sources.iter().any(|o| o.name == src.name) {
                return Err(err(format!("{sp}.name"), "duplicate source name"));
            }
            sources.push(src);
        }
        let find = |n: &str, p: String| {
            sources
                .iter()
                .position(|s| s.name == n)
                .ok_or_else(|| err(p, format!("no source named {n:?}")))
        };
        let default_source = match &c.default_source {
            Some(n) => Some(find(n, format!("{path}.default_source"))?),
            None => None,
        };
        let mut rules = Vec::new();
        for (i, r) in c.rules.iter().enumerate() {
            let rp = format!("{path}.rules[{i}]");
            let route = check::route(&r.methods, r.path_prefix.as_deref(), r.path.as_deref(), &rp)?;
            let source = match &r.source {
                Some(n) => Some(find(n, format!("{rp}.source"))?),
                None => None,
            };
            rules.push(Rule { route, source });
        }
        let h = &c.header;
        if !check::header_name_ok(h) {
            return Err(err(
                format!("{path}.header"),
                "must be a lowercase header name",
            ));
        }
        Ok(Client {
            sources,
            default_source,
            rules,
            header: h.clone(),
        })
    }
}

impl TokenSource {
    /// Validate one source at `path`.
    pub fn from_config(
        c: &TokenSourceConfig,
        path: &str,
        secrets: &Secrets,
    ) -> Result<TokenSource, ConfigError> {
        if !check::name_ok(&c.name, 64) {
            return Err(err(format!("{path}.name"), "must be 1-64 of [A-Za-z0-9_-]"));
        }
        let grant = match &c.grant {
            GrantConfig::ClientCredentials {
                scopes,
                resource,
                audience,
            } => {
                check::scopes(scopes, &format!("{path}.grant.scopes"))?;
                for (i, r) in resource.iter().enumerate() {
                    // RFC 8707 §2: an absolute URI without a fragment.
                    if !r.contains(':') || r.contains('#') || r.chars().any(char::is_whitespace) {
                        return Err(err(
                            format!("{path}.grant.resource[{i}]"),
                            "must be an absolute URI without fragment",
                        ));
                    }
                }
                if audience.as_deref().is_some_and(str::is_empty) {
                    return Err(err(format!("{path}.grant.audience"), "must not be empty"));
                }
                Grant::ClientCredentials {
                    scopes: scopes.clone(),
                    resource: resource.clone(),
                    audience: audience.clone(),
                }
            }
            GrantConfig::Password {
                username,
                password,
                scopes,
            } => {
                if username.is_empty() || username.chars().any(char::is_control) {
                    return Err(err(
                        format!("{path}.grant.username"),
                        "must be non-empty, without control characters",
                    ));
                }
                check::scopes(scopes, &format!("{path}.grant.scopes"))?;
                Grant::Password {
                    username: username.clone(),
                    password: secrets.resolve(password, &format!("{path}.grant"))?,
                    scopes: scopes.clone(),
                }
            }
        };
        let (endpoint, cluster) = match (&c.token_endpoint, &c.discovery) {
            (Some(e), None) => {
                let uri = check::http_uri(
                    &e.uri,
                    e.authority.as_deref(),
                    format!("{path}.token_endpoint.uri"),
                )?;
                (
                    Endpoint::Fixed {
                        uri,
                        text: e.uri.clone(),
                    },
                    (e.cluster.clone(), format!("{path}.token_endpoint.cluster")),
                )
            }
            (None, Some(d)) => {
                let (text, field) = match &d.uri {
                    Some(u) => (u.clone(), format!("{path}.discovery.uri")),
                    None => (
                        format!(
                            "{}/.well-known/openid-configuration",
                            d.issuer.trim_end_matches('/')
                        ),
                        format!("{path}.discovery.issuer"),
                    ),
                };
                let uri = check::http_uri(&text, d.authority.as_deref(), field)?;
                (
                    Endpoint::Discovery {
                        uri,
                        authority: d.authority.clone(),
                        issuer: d.issuer.clone(),
                    },
                    (d.cluster.clone(), format!("{path}.discovery.cluster")),
                )
            }
            _ => {
                return Err(err(
                    path,
                    "exactly one of token_endpoint and discovery is required",
                ))
            }
        };
        let (cluster, cpath) = cluster;
        check::cluster(&cluster, &cpath)?;
        let auth =
            ClientAuth::from_config(&c.client_auth, &format!("{path}.client_auth"), secrets)?;
        check::timeout_ms(c.timeout_ms, &format!("{path}.timeout_ms"))?;
        if c.default_expires_in_s == 0 {
            return Err(err(
                format!("{path}.default_expires_in_s"),
                "must be positive",
            ));
        }
        if c.retry_after_failure_s > 3600 {
            return Err(err(
                format!("{path}.retry_after_failure_s"),
                "must be at most 3600",
            ));
        }
        // Tokens are interchangeable between configurations (and VMs sharing
        // data) only for the same source, endpoint, client and grant.
        let ident = format!(
            "{}\n{:?}\n{}\n{}\n{}",
            c.name,
            endpoint_ident(&endpoint),
            auth.client_id(),
            grant.name(),
            match &grant {
                Grant::ClientCredentials {
                    scopes,
                    resource,
                    audience,
                } => format!("{scopes:?}{resource:?}{audience:?}"),
                Grant::Password {
                    username, scopes, ..
                } => format!("{username}{scopes:?}"),
            }
        );
        let key = sha256_id(&ident, 6);
        Ok(TokenSource {
            name: c.name.clone(),
            grant,
            endpoint,
            cluster,
            auth,
            margin_ms: c.renew_margin_s.saturating_mul(1000),
            default_expires_ms: c.default_expires_in_s.saturating_mul(1000),
            retry_ms: c.retry_after_failure_s * 1000,
            timeout_ms: c.timeout_ms,
            key: format!("oauth-filter/client/{}/{key}", c.name),
        })
    }
}

fn endpoint_ident(e: &Endpoint) -> String {
    match e {
        Endpoint::Fixed { text, .. } => text.clone(),
        Endpoint::Discovery { uri, .. } => uri.to_text(),
    }
}
