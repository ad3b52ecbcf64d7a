//! Typed plugin configuration, parsed once from JSON: [`parse`] (or
//! [`parse_with`] and the [`Secrets`] the adapter gives) is the one entry.
//!
//! Parsing is two steps: serde (with `deny_unknown_fields` everywhere, so a
//! typo is an error rather than a silently ignored option) and then semantic
//! validation, one file per section. Both steps report the failing field as
//! a path such as `providers[0].jwks.remote.uri`. The validated types live
//! here too, so the capabilities depend on the configuration and never the
//! other way round. Serde defaults are all in `defaults.rs`; the shared
//! validators in `check.rs`.

use std::fmt;

use serde::Deserialize;

/// Declares a rule of the configuration: the route fields every rule has
/// (`methods`, `path_prefix`, `path`, validated into one
/// [`crate::core::route::Route`] by `check::route`) written once, plus the
/// rule's own field. (A flattened struct would lose `deny_unknown_fields`.)
macro_rules! route_rule {
    ($(#[$meta:meta])* $name:ident { $(#[$fmeta:meta])* $field:ident: $ty:ty $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Methods the rule applies to (any case; a `GET` rule also
            /// covers `HEAD`); empty means any.
            #[serde(default)]
            pub methods: Vec<String>,
            /// Path prefix (segment-unaware, like Envoy's `prefix`), without query.
            #[serde(default)]
            pub path_prefix: Option<String>,
            /// Exact path, without query.
            #[serde(default)]
            pub path: Option<String>,
            $(#[$fmeta])*
            pub $field: $ty,
        }
    };
}

pub mod binding;
pub mod client;
pub mod client_auth;
pub mod introspection;
pub mod login;
pub mod provider;
pub mod responses;
pub mod secrets;
pub mod sections;

mod check;
mod defaults;

pub use binding::{CertificateSource, SenderConstraint, SenderConstraintConfig};
pub use client::{
    Client, ClientConfig, ClientRule, DiscoveryConfig, Endpoint, EndpointConfig, Grant,
    GrantConfig, Rule, TokenSource, TokenSourceConfig,
};
pub use client_auth::{ClientAuth, ClientAuthConfig, PrivateJwk};
pub use introspection::{Introspection, IntrospectionCacheConfig, IntrospectionConfig};
pub use provider::{
    ClaimRule, DiscoveryJwks, JwksSource, KeySource, Provider, ProviderConfig, RemoteJwks, Resolver,
};
pub use secrets::{parse_vm_secrets, Secret, SecretRef, Secrets};
pub use sections::{
    AuditConfig, CacheConfig, ClaimHeader, KeyFetchConfig, ScopeConfig, ScopeRoute, ScopeRule,
    Scopes, TokenConfig, UpstreamConfig,
};

use check::err;

/// A configuration that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Path of the offending field, e.g. `providers[0].jwks.remote.uri`
    /// (`.` for the document itself).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter configuration at `{}`: {}",
            self.path, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

/// The whole plugin configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Realm in `WWW-Authenticate` challenges.
    #[serde(default = "defaults::realm")]
    pub realm: String,
    /// Ask the host's `verify_signature` foreign function (Envoy,
    /// oauth-host: native RSA/ECDSA) before the pure-Rust verifiers. Off for
    /// hosts that fail on an unknown foreign function instead of answering
    /// NOT_FOUND (docs/hosts.md).
    #[serde(default = "defaults::enabled")]
    pub host_signature_verification: bool,
    /// A configured answer per error class (PingGateway's failure
    /// handlers), keeping the RFC 6750 challenge.
    #[serde(default)]
    pub failure_responses: std::collections::BTreeMap<String, responses::FailureResponseConfig>,
    /// RFC 9728 protected-resource metadata, served and named in challenges.
    #[serde(default)]
    pub resource_metadata: Option<responses::ResourceMetadataConfig>,
    /// Refuse requests that did not arrive over TLS (403), as PingGateway's
    /// `requireHttps`; tokens sent in clear text are as good as leaked.
    /// Applies to the resource server (with `providers`).
    #[serde(default = "defaults::require_https")]
    pub require_https: bool,
    /// Believe `x-forwarded-proto: https` from the hop in front (TLS ends
    /// there); otherwise only the connection counts.
    #[serde(default)]
    pub trust_forwarded_proto: bool,
    /// Match route rules ignoring ASCII case (rule paths and request paths
    /// lowercased), for upstreams that treat `/Admin` as `/admin` (ASP.NET,
    /// IIS, case-insensitive file systems). Off: rules match case-sensitively,
    /// as Envoy's routes do by default.
    #[serde(default)]
    pub case_insensitive_paths: bool,
    /// Token issuers this filter trusts (at least one, unless `client` is
    /// set: without providers the filter only injects the gateway's token).
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    /// Where tokens are read from and how large they may be.
    #[serde(default)]
    pub token: TokenConfig,
    /// Required scopes, globally and per route.
    #[serde(default)]
    pub scopes: ScopeConfig,
    /// Request edits towards the upstream after a token is accepted.
    #[serde(default)]
    pub upstream: UpstreamConfig,
    /// Timing of remote key fetches.
    #[serde(default)]
    pub key_fetch: KeyFetchConfig,
    /// Per-worker cache of verified tokens.
    #[serde(default)]
    pub cache: CacheConfig,
    /// Shared cache of introspection answers.
    #[serde(default)]
    pub introspection_cache: IntrospectionCacheConfig,
    /// Audit log line per decision.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Tick period driving key fetches and held requests, in milliseconds.
    #[serde(default = "defaults::tick_ms")]
    pub tick_ms: u64,
    /// The gateway as an OAuth 2.0 client: token sources whose tokens go
    /// upstream ([`super::client`]).
    #[serde(default)]
    pub client: Option<ClientConfig>,
    /// The gateway as an OpenID Connect relying party: browser login,
    /// sessions in sealed cookies ([`super::login`]).
    #[serde(default)]
    pub login: Option<login::LoginConfig>,
    /// The security token service: a WS-Trust 1.3 endpoint answered here
    /// ([`crate::core::sts`]).
    #[serde(default)]
    pub sts: Option<crate::core::sts::StsConfig>,
}

/// The validated configuration the core runs with.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// The raw (already type-checked) document.
    pub raw: Config,
    /// Validated scope requirements.
    pub scopes: Scopes,
    /// Validated providers, in configuration order.
    pub providers: Vec<Provider>,
    /// The provider that introspects tokens no other resolver claims
    /// (resolver `introspection` or `jwt_or_introspection`), if any.
    pub introspector: Option<usize>,
    /// The client role, when configured.
    pub client: Option<Client>,
    /// Browser login, when configured.
    pub login: Option<login::Login>,
    /// The security token service, when configured.
    pub sts: Option<crate::core::sts::Sts>,
    /// Failure responses by error class.
    pub failure_responses: std::collections::BTreeMap<String, responses::FailureResponse>,
    /// The metadata document, when configured.
    pub resource_metadata: Option<responses::ResourceMetadata>,
}

/// Parse and validate a configuration document without environment or VM
/// secrets (`{"env": …}` and `{"vm_config": …}` references fail).
pub fn parse(json: &[u8]) -> Result<FilterConfig, ConfigError> {
    parse_with(json, &Secrets::new())
}

/// Parse and validate a configuration document; secret references are
/// resolved against `secrets`.
pub fn parse_with(json: &[u8], secrets: &Secrets) -> Result<FilterConfig, ConfigError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let raw: Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        err(path, strip_location(&inner.to_string()))
    })?;
    de.end().map_err(|e| err(".", e.to_string()))?;
    resolve_secrets(&raw, secrets)?;
    validate(raw, secrets)
}

/// serde_json appends " at line L column C"; keep the message short and
/// field-oriented.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Every secret reference resolves, before any semantic check (as when
/// they were resolved while deserializing).
fn resolve_secrets(raw: &Config, secrets: &Secrets) -> Result<(), ConfigError> {
    let auth_refs = |c: &ClientAuthConfig| match c {
        ClientAuthConfig::ClientSecretBasic { client_secret, .. }
        | ClientAuthConfig::ClientSecretPost { client_secret, .. }
        | ClientAuthConfig::ClientSecretJwt { client_secret, .. } => Some(client_secret.clone()),
        ClientAuthConfig::PrivateKeyJwt { .. }
        | ClientAuthConfig::TlsClientAuth { .. }
        | ClientAuthConfig::SelfSignedTlsClientAuth { .. } => None,
    };
    let mut refs: Vec<(String, SecretRef)> = Vec::new();
    for (i, p) in raw.providers.iter().enumerate() {
        if let Some(r) = p
            .introspection
            .as_ref()
            .and_then(|ic| auth_refs(&ic.client_auth))
        {
            refs.push((format!("providers[{i}].introspection.client_auth"), r));
        }
    }
    for (i, s) in raw.client.iter().flat_map(|c| c.sources.iter()).enumerate() {
        if let GrantConfig::Password { password, .. } = &s.grant {
            refs.push((format!("client.sources[{i}].grant"), password.clone()));
        }
        if let Some(r) = auth_refs(&s.client_auth) {
            refs.push((format!("client.sources[{i}].client_auth"), r));
        }
    }
    for (path, r) in &refs {
        secrets.resolve(r, path)?;
    }
    Ok(())
}

fn validate(raw: Config, secrets: &Secrets) -> Result<FilterConfig, ConfigError> {
    if raw.providers.is_empty() && raw.client.is_none() && raw.login.is_none() {
        return Err(err(
            "providers",
            "at least one provider is required (or a client or login section)",
        ));
    }
    let scopes = sections::validate(&raw)?;
    let (providers, introspector) = provider::validate(&raw.providers, secrets)?;
    raw.introspection_cache.validate()?;
    let mut client = match &raw.client {
        Some(c) => Some(Client::from_config(c, "client", secrets)?),
        None => None,
    };
    if raw.case_insensitive_paths {
        // (The scope rules are lowercased as they are validated, before
        // they are indexed.)
        for r in client.iter_mut().flat_map(|c| c.rules.iter_mut()) {
            r.route.fold_case();
        }
    }
    let mut login = match &raw.login {
        Some(l) => Some(login::Login::from_config(l, secrets)?),
        None => None,
    };
    if raw.case_insensitive_paths {
        for route in login.iter_mut().flat_map(|l| l.routes.iter_mut()) {
            route.fold_case();
        }
    }
    let sts = match &raw.sts {
        // The OAuth token processor validates callers' tokens with the
        // resource server's resolvers.
        Some(_) if providers.is_empty() => {
            return Err(err(
                "sts",
                "the token service validates callers' tokens with `providers`: at least one is required",
            ))
        }
        Some(s) => Some(crate::core::sts::Sts::from_config(s, "sts", secrets)?),
        None => None,
    };
    let failure_responses = responses::failure_responses(&raw.failure_responses)?;
    let resource_metadata = match &raw.resource_metadata {
        Some(m) => {
            let issuers: Vec<String> = providers.iter().map(|p| p.issuer.clone()).collect();
            // Scopes may be computed from the request: only configured
            // `scopes_supported` are published.
            let all_scopes: Vec<String> = Vec::new();
            let algs: Vec<&str> = providers
                .first()
                .map(|p| {
                    p.sender_constraint
                        .dpop_algorithms
                        .iter()
                        .map(|a| a.name())
                        .collect()
                })
                .unwrap_or_default();
            Some(m.validate(&issuers, &all_scopes, &algs)?)
        }
        None => None,
    };
    Ok(FilterConfig {
        failure_responses,
        resource_metadata,
        raw,
        scopes,
        providers,
        introspector,
        client,
        login,
        sts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"{"providers":[{"name":"p","issuer":"https://as","audiences":["api"],
        "jwks":{"remote":{"uri":"https://as/jwks","cluster":"as"}}}]}"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse(MIN.as_bytes()).unwrap();
        assert_eq!(c.raw.realm, "api");
        assert_eq!(c.raw.token.max_bytes, 8192);
        assert_eq!(c.providers[0].clock_skew_s, 60);
        assert!(c.providers[0].algorithms.iter().all(|a| !a.is_symmetric()));
    }

    #[test]
    fn unknown_field_names_its_path() {
        let bad = MIN.replace("\"cluster\":\"as\"", "\"cluster\":\"as\",\"urj\":1");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].jwks.remote.urj");
        assert!(e.message.contains("urj"), "{e}");
    }

    #[test]
    fn bad_uri_names_its_path() {
        let bad = MIN.replace("https://as/jwks", "ftp://as/jwks");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].jwks.remote.uri");
    }

    #[test]
    fn wrong_type_names_its_path() {
        let bad = MIN.replace("\"audiences\":[\"api\"]", "\"audiences\":\"api\"");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].audiences");
    }

    #[test]
    fn missing_audience_is_refused() {
        let bad = MIN.replace("\"audiences\":[\"api\"],", "");
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].audiences");
        let ok = MIN.replace(
            "\"audiences\":[\"api\"]",
            "\"danger_accept_any_audience\":true",
        );
        assert!(parse(ok.as_bytes()).unwrap().providers[0]
            .audiences
            .is_none());
    }

    #[test]
    fn unknown_algorithm_is_refused() {
        let bad = MIN.replace(
            "\"audiences\"",
            "\"algorithms\":[\"RS256\",\"none\"],\"audiences\"",
        );
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[0].algorithms[1]");
    }

    #[test]
    fn scope_rule_needs_one_path() {
        let bad = MIN.replace(
            "{\"providers\"",
            "{\"scopes\":{\"rules\":[{\"required\":[\"a\"]}]},\"providers\"",
        );
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "scopes.rules[0]");
    }

    #[test]
    fn duplicate_issuer_is_refused() {
        let two = r#"{"providers":[
          {"name":"a","issuer":"https://as","audiences":["x"],"jwks":{"remote":{"uri":"https://as/j","cluster":"c"}}},
          {"name":"b","issuer":"https://as","audiences":["x"],"jwks":{"remote":{"uri":"https://as/j","cluster":"c"}}}]}"#;
        let e = parse(two.as_bytes()).unwrap_err();
        assert_eq!(e.path, "providers[1].issuer");
    }

    #[test]
    fn inline_key_errors_name_the_key() {
        let c = r#"{"providers":[{"name":"a","issuer":"i","audiences":["x"],
          "jwks":{"inline":{"keys":[{"kty":"EC","crv":"P-256","x":"AA"}]}}}]}"#;
        let e = parse(c.as_bytes()).unwrap_err();
        assert!(
            e.path.starts_with("providers[0].jwks.inline.keys[0]"),
            "{e}"
        );
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let e = parse(format!("{MIN} x").as_bytes()).unwrap_err();
        assert_eq!(e.path, ".");
    }
}
