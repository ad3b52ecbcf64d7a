//! `sts` in the configuration: the WS-Trust endpoint, its key, what it
//! issues, for whom (the claim mapping) and to which authorization servers
//! (the `applies_to` allow-list, each token endpoint with its client
//! authentication). Serde reads [`StsConfig`]; [`Sts::from_config`]
//! validates it, errors naming the field (`sts.applies_to[0].address`).
//!
//! ```json
//! "sts": {
//!   "path": "/sts/wst13",
//!   "issuer": "https://gateway.example/sts",
//!   "signing_key": {"env": "STS_KEY"},
//!   "jwt_algorithm": "PS256",
//!   "saml": {"certificate": "-----BEGIN CERTIFICATE-----\n…"},
//!   "mapping": {"subject_claim": "sub", "attributes": [{"claim": "email", "name": "mail"}]},
//!   "applies_to": [{"address": "https://as.example/token", "cluster": "as",
//!                   "client_auth": {"method": "client_secret_basic", "client_id": "sts",
//!                                   "client_secret": {"env": "STS_SECRET"}}}]
//! }
//! ```

use serde::Deserialize;
use serde_json::Value;

use super::jwt_bearer::REGISTERED;
use super::key::{JwtAlg, StsKey};
use super::mint::{Window, DEFAULT_LIFETIME_S, DEFAULT_NOT_BEFORE_S};
use super::principal::{AttributeRule, Mapping};
use super::saml::DEFAULT_NAME_ID_FORMAT;
use super::token_type::{Assertion, TokenType};
use super::xml::tree::checked;
use crate::core::config::{ClientAuth, ClientAuthConfig, ConfigError, Secret, SecretRef, Secrets};
use crate::core::jose::jwk::KeyMaterial;
use crate::core::jose::keystore::keys_from_pem;
use crate::core::util::uri::HttpUri;

/// Default and largest `max_body_bytes`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
const MAX_MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_TIMEOUT_MS: u64 = 5000;
/// Longest validity window, seconds (a day).
const MAX_WINDOW_S: u64 = 86_400;

fn err(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: path.into(),
        message: message.into(),
    }
}

/// A private JWK: inline (an object with `kty`), or a secret reference
/// (`{"env": NAME}`, `{"vm_config": NAME}`, a string) whose value is the
/// JWK's JSON text. `Debug` never prints key material.
#[derive(Clone)]
pub enum KeyConfig {
    /// The JWK in the configuration.
    Inline(Value),
    /// Where the JWK's JSON text is.
    Secret(SecretRef),
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyConfig::Inline(_) => f.write_str("<redacted>"),
            KeyConfig::Secret(r) => write!(f, "{r:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for KeyConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyConfig, D::Error> {
        let v = Value::deserialize(d)?;
        if v.get("kty").is_some() {
            return Ok(KeyConfig::Inline(v));
        }
        SecretRef::deserialize(v)
            .map(KeyConfig::Secret)
            .map_err(|_| {
                serde::de::Error::custom(
                    "expected a private JWK, {\"env\": \"NAME\"} or {\"vm_config\": \"NAME\"}",
                )
            })
    }
}

/// `sts` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsConfig {
    /// Exact path of the WS-Trust endpoint (POST).
    pub path: String,
    /// Largest request body, bytes (default 64 KiB, at most 1 MiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// `iss` / `Issuer` of what the STS mints.
    pub issuer: String,
    /// The private JWK signing JWTs (and SAML assertions, when RSA and no
    /// `saml.signing_key`).
    pub signing_key: KeyConfig,
    /// JWS algorithm: RS256 (RSA default), PS256, ES256 (P-256).
    #[serde(default)]
    pub jwt_algorithm: Option<JwtAlg>,
    /// SAML 2.0 assertion settings.
    #[serde(default)]
    pub saml: SamlConfig,
    /// Token types issued; default all four.
    #[serde(default = "all_token_types")]
    pub token_types: Vec<TokenType>,
    /// The validity window of minted assertions.
    #[serde(default)]
    pub validity: ValidityConfig,
    /// Caller token claims → subject and attributes.
    #[serde(default)]
    pub mapping: MappingConfig,
    /// Where the caller's access token may come from; default both.
    #[serde(default = "all_token_sources")]
    pub token_from: Vec<TokenSource>,
    /// The token endpoints `AppliesTo` may name.
    pub applies_to: Vec<AppliesToConfig>,
    /// REST token sources: upstream tokens on behalf of the caller.
    #[serde(default)]
    pub token_sources: Vec<OnBehalfConfig>,
}

/// `sts.token_sources[i]`: for requests on this route whose token the
/// resource server accepted, the upstream gets a token obtained on behalf
/// of the caller at `token_endpoint` (an `applies_to` address).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnBehalfConfig {
    /// Name (logs, error answers).
    pub name: String,
    /// Methods (empty: any).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path prefix.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Exact path.
    #[serde(default)]
    pub path: Option<String>,
    /// The token endpoint: one of `applies_to[].address`.
    pub token_endpoint: String,
    /// How the token is obtained.
    pub grant: OnBehalfGrantConfig,
}

/// How a REST token source gets its token.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OnBehalfGrantConfig {
    /// RFC 8693 token exchange with the caller's token as `subject_token`.
    TokenExchange {
        /// `subject_token_type` (default `…:token-type:access_token`).
        #[serde(default)]
        subject_token_type: Option<String>,
        /// `requested_token_type`.
        #[serde(default)]
        requested_token_type: Option<String>,
        /// `audience`.
        #[serde(default)]
        audience: Option<String>,
        /// `resource`.
        #[serde(default)]
        resource: Option<String>,
        /// `scope`.
        #[serde(default)]
        scope: Option<String>,
        /// `actor_token` (a secret reference).
        #[serde(default)]
        actor_token: Option<SecretRef>,
        /// `actor_token_type` (default `…:token-type:access_token`).
        #[serde(default)]
        actor_token_type: Option<String>,
    },
    /// An RFC 7523 grant with a JWT the STS mints for the caller.
    JwtBearer {
        /// `scope`.
        #[serde(default)]
        scope: Option<String>,
    },
    /// An RFC 7522 grant with a SAML assertion the STS mints for the caller.
    Saml2Bearer {
        /// `scope`.
        #[serde(default)]
        scope: Option<String>,
    },
}

/// `sts.saml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlConfig {
    /// An RSA private JWK for SAML only; default `signing_key`.
    #[serde(default)]
    pub signing_key: Option<KeyConfig>,
    /// PEM certificate of the SAML key, sent in `KeyInfo` (else the RSA
    /// public key is).
    #[serde(default)]
    pub certificate: Option<String>,
    /// `NameID` `Format`.
    #[serde(default)]
    pub name_id_format: Option<String>,
}

/// `sts.validity`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidityConfig {
    /// Valid from this many seconds before issue (default 300).
    #[serde(default = "default_not_before")]
    pub not_before_s: u64,
    /// Valid until this many seconds after issue (default 1800).
    #[serde(default = "default_lifetime")]
    pub lifetime_s: u64,
}

impl Default for ValidityConfig {
    fn default() -> ValidityConfig {
        ValidityConfig {
            not_before_s: DEFAULT_NOT_BEFORE_S,
            lifetime_s: DEFAULT_LIFETIME_S,
        }
    }
}

/// `sts.mapping`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Claim naming the subject (default `sub`).
    #[serde(default = "default_subject_claim")]
    pub subject_claim: String,
    /// Claims copied as attributes.
    #[serde(default)]
    pub attributes: Vec<AttributeConfig>,
}

impl Default for MappingConfig {
    fn default() -> MappingConfig {
        MappingConfig {
            subject_claim: default_subject_claim(),
            attributes: Vec::new(),
        }
    }
}

/// `sts.mapping.attributes[i]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeConfig {
    /// Claim read.
    pub claim: String,
    /// Attribute name; default the claim's.
    #[serde(default)]
    pub name: Option<String>,
}

/// Where the caller's OAuth access token is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `Authorization: Bearer` of the HTTP request.
    Authorization,
    /// `wsse:Security/wsse:BinarySecurityToken` of the SOAP header.
    BinarySecurityToken,
}

/// `sts.applies_to[i]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesToConfig {
    /// The token endpoint, as `wsa:Address` names it (exact match).
    pub address: String,
    /// Proxy cluster of the token request.
    pub cluster: String,
    /// `:authority`; default the address's host\[:port\].
    #[serde(default)]
    pub authority: Option<String>,
    /// `aud` / `Audience` of assertions for this AS; default `address`.
    #[serde(default)]
    pub audience: Option<String>,
    /// How the STS authenticates to this AS.
    pub client_auth: ClientAuthConfig,
    /// Token request timeout (default 5000 ms).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn all_token_types() -> Vec<TokenType> {
    TokenType::ALL.to_vec()
}
fn all_token_sources() -> Vec<TokenSource> {
    vec![TokenSource::Authorization, TokenSource::BinarySecurityToken]
}
fn default_not_before() -> u64 {
    DEFAULT_NOT_BEFORE_S
}
fn default_lifetime() -> u64 {
    DEFAULT_LIFETIME_S
}
fn default_subject_claim() -> String {
    "sub".into()
}
fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// A token endpoint `AppliesTo` may name.
#[derive(Debug, Clone)]
pub struct AppliesTo {
    /// The address as configured (what `wsa:Address` must equal).
    pub address: String,
    /// The callout target.
    pub uri: HttpUri,
    /// Proxy cluster.
    pub cluster: String,
    /// `aud` / `Audience`.
    pub audience: String,
    /// Client authentication.
    pub client_auth: ClientAuth,
    /// Timeout, ms.
    pub timeout_ms: u64,
}

/// The SAML key and what goes with it.
#[derive(Debug, Clone)]
pub struct SamlSigner {
    /// An RSA key.
    pub key: StsKey,
    /// DER certificate for `KeyInfo`.
    pub certificate: Option<Vec<u8>>,
    /// `NameID` `Format`.
    pub name_id_format: String,
}

/// The validated STS.
#[derive(Debug, Clone)]
pub struct Sts {
    /// Exact path of the endpoint.
    pub path: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Issuer.
    pub issuer: String,
    /// JWT key.
    pub jwt_key: StsKey,
    /// SAML key; present when a SAML token type is enabled.
    pub saml: Option<SamlSigner>,
    /// Token types issued.
    pub token_types: Vec<TokenType>,
    /// Validity window.
    pub window: Window,
    /// Claim mapping.
    pub mapping: Mapping,
    /// Token sources.
    pub token_from: Vec<TokenSource>,
    /// The allow-list.
    pub applies_to: Vec<AppliesTo>,
    /// REST token sources.
    pub token_sources: Vec<OnBehalf>,
}

/// `token_type` of an access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A validated REST token source.
#[derive(Debug, Clone)]
pub struct OnBehalf {
    /// Name.
    pub name: String,
    /// Its route.
    pub route: crate::core::route::Route,
    /// Index into [`Sts::applies_to`].
    pub endpoint: usize,
    /// How the token is obtained.
    pub grant: OnBehalfGrant,
}

/// A validated REST grant.
#[derive(Debug, Clone)]
pub enum OnBehalfGrant {
    /// RFC 8693 token exchange: the form members besides `grant_type` and
    /// `subject_token` (the actor token resolved).
    TokenExchange {
        /// `subject_token_type`.
        subject_token_type: String,
        /// Further members (`requested_token_type`, `audience`, …).
        members: Vec<(String, String)>,
        /// `actor_token` and its type.
        actor: Option<(Secret, String)>,
    },
    /// A minted assertion of this kind, with an optional `scope`.
    Assertion(Assertion, Option<String>),
}

impl Sts {
    /// The allowed token endpoint `address` names (exact match).
    pub fn endpoint(&self, address: &str) -> Option<&AppliesTo> {
        self.applies_to.iter().find(|a| a.address == address)
    }

    /// Whether `t` is issued.
    pub fn issues(&self, t: TokenType) -> bool {
        self.token_types.contains(&t)
    }

    /// Validates `c`, found at `path` (`sts`).
    pub fn from_config(c: &StsConfig, path: &str, secrets: &Secrets) -> Result<Sts, ConfigError> {
        if !c.path.starts_with('/') || c.path.contains(['?', '#']) {
            return Err(err(
                format!("{path}.path"),
                "must start with / and have no query",
            ));
        }
        if c.max_body_bytes == 0 || c.max_body_bytes > MAX_MAX_BODY_BYTES {
            return Err(err(
                format!("{path}.max_body_bytes"),
                "must be between 1 and 1048576",
            ));
        }
        xml_text(&c.issuer, &format!("{path}.issuer"))?;
        if c.token_types.is_empty() {
            return Err(err(format!("{path}.token_types"), "must not be empty"));
        }
        let jwt_key = key(
            &c.signing_key,
            c.jwt_algorithm,
            &format!("{path}.signing_key"),
            secrets,
        )?;
        let wants_saml = c
            .token_types
            .iter()
            .any(|t| t.assertion() == Assertion::Saml2);
        let saml = if wants_saml {
            Some(saml(&c.saml, &c.signing_key, path, secrets)?)
        } else {
            None
        };
        let window = validity(&c.validity, &format!("{path}.validity"))?;
        let mapping = mapping(&c.mapping, &format!("{path}.mapping"))?;
        if c.token_from.is_empty() {
            return Err(err(format!("{path}.token_from"), "must not be empty"));
        }
        if c.applies_to.is_empty() {
            return Err(err(
                format!("{path}.applies_to"),
                "at least one token endpoint is required",
            ));
        }
        let mut applies_to: Vec<AppliesTo> = Vec::new();
        for (i, a) in c.applies_to.iter().enumerate() {
            let p = format!("{path}.applies_to[{i}]");
            let v = endpoint(a, &p, secrets)?;
            if applies_to.iter().any(|x| x.address == v.address) {
                return Err(err(format!("{p}.address"), "listed twice"));
            }
            applies_to.push(v);
        }
        let mut token_sources: Vec<OnBehalf> = Vec::new();
        for (i, o) in c.token_sources.iter().enumerate() {
            let p = format!("{path}.token_sources[{i}]");
            let v = on_behalf(o, &p, &applies_to, secrets)?;
            if token_sources.iter().any(|x| x.name == v.name) {
                return Err(err(format!("{p}.name"), "used twice"));
            }
            if matches!(v.grant, OnBehalfGrant::Assertion(Assertion::Saml2, _)) && saml.is_none() {
                return Err(err(
                    format!("{p}.grant"),
                    "a saml2_bearer source needs a SAML token type in token_types (the SAML key)",
                ));
            }
            token_sources.push(v);
        }
        Ok(Sts {
            path: c.path.clone(),
            max_body_bytes: c.max_body_bytes,
            issuer: c.issuer.clone(),
            jwt_key,
            saml,
            token_types: c.token_types.clone(),
            window,
            mapping,
            token_from: c.token_from.clone(),
            applies_to,
            token_sources,
        })
    }
}

fn xml_text(v: &str, path: &str) -> Result<(), ConfigError> {
    if v.is_empty() || checked(v, "").is_err() {
        return Err(err(
            path,
            "must be non-empty text without control characters",
        ));
    }
    Ok(())
}

/// The private JWK of `c` as a signing key.
fn key(
    c: &KeyConfig,
    alg: Option<JwtAlg>,
    path: &str,
    secrets: &Secrets,
) -> Result<StsKey, ConfigError> {
    let resolved;
    let jwk = match c {
        KeyConfig::Inline(v) => v,
        KeyConfig::Secret(r) => {
            let text = secrets.resolve(r, path)?;
            resolved = serde_json::from_str::<Value>(text.expose())
                .map_err(|_| err(path, "the secret is not a JWK (JSON object)"))?;
            &resolved
        }
    };
    StsKey::from_jwk(jwk, alg).map_err(|e| err(format!("{path}.{}", e.member), e.message))
}

fn saml(
    c: &SamlConfig,
    main: &KeyConfig,
    path: &str,
    secrets: &Secrets,
) -> Result<SamlSigner, ConfigError> {
    let (kc, kpath) = match &c.signing_key {
        Some(k) => (k, format!("{path}.saml.signing_key")),
        None => (main, format!("{path}.signing_key")),
    };
    let key = key(kc, None, &kpath, secrets)?;
    if !key.is_rsa() {
        return Err(err(
            kpath,
            "SAML assertions are signed RSA-SHA256: an RSA key is needed (or saml.signing_key)",
        ));
    }
    let certificate = match &c.certificate {
        None => None,
        Some(pem) => Some(certificate(pem, &key, &format!("{path}.saml.certificate"))?),
    };
    let name_id_format = c
        .name_id_format
        .clone()
        .unwrap_or_else(|| DEFAULT_NAME_ID_FORMAT.into());
    xml_text(&name_id_format, &format!("{path}.saml.name_id_format"))?;
    Ok(SamlSigner {
        key,
        certificate,
        name_id_format,
    })
}

/// The DER of one PEM certificate whose public key is `key`'s.
fn certificate(pem: &str, key: &StsKey, path: &str) -> Result<Vec<u8>, ConfigError> {
    let keys = keys_from_pem(pem).map_err(|e| err(path, e.to_string()))?;
    let same = match (keys.as_slice(), key.rsa_public_key()) {
        ([KeyMaterial::Rsa(cert_key)], Some(k)) => *cert_key == k,
        _ => false,
    };
    if !same {
        return Err(err(path, "must be one certificate of the SAML signing key"));
    }
    let (label, der) = pem_rfc7468::decode_vec(pem.trim().as_bytes())
        .map_err(|_| err(path, "not one PEM block"))?;
    if label != "CERTIFICATE" {
        return Err(err(path, "must be a CERTIFICATE block"));
    }
    Ok(der)
}

fn validity(c: &ValidityConfig, path: &str) -> Result<Window, ConfigError> {
    if c.lifetime_s == 0 || c.lifetime_s > MAX_WINDOW_S {
        return Err(err(
            format!("{path}.lifetime_s"),
            "must be between 1 and 86400",
        ));
    }
    if c.not_before_s > MAX_WINDOW_S {
        return Err(err(format!("{path}.not_before_s"), "must be at most 86400"));
    }
    Ok(Window {
        not_before_s: c.not_before_s,
        lifetime_s: c.lifetime_s,
    })
}

fn mapping(c: &MappingConfig, path: &str) -> Result<Mapping, ConfigError> {
    if c.subject_claim.is_empty() {
        return Err(err(format!("{path}.subject_claim"), "must not be empty"));
    }
    let mut attributes: Vec<AttributeRule> = Vec::new();
    for (i, a) in c.attributes.iter().enumerate() {
        let p = format!("{path}.attributes[{i}]");
        if a.claim.is_empty() {
            return Err(err(format!("{p}.claim"), "must not be empty"));
        }
        let name = a.name.clone().unwrap_or_else(|| a.claim.clone());
        xml_text(&name, &format!("{p}.name"))?;
        if REGISTERED.contains(&name.as_str()) {
            return Err(err(
                format!("{p}.name"),
                "names a claim the STS sets itself",
            ));
        }
        if attributes.iter().any(|r| r.name == name) {
            return Err(err(format!("{p}.name"), "used twice"));
        }
        attributes.push(AttributeRule {
            claim: a.claim.clone(),
            name,
        });
    }
    Ok(Mapping {
        subject_claim: c.subject_claim.clone(),
        attributes,
    })
}

fn endpoint(a: &AppliesToConfig, p: &str, secrets: &Secrets) -> Result<AppliesTo, ConfigError> {
    let mut uri = HttpUri::parse(&a.address).map_err(|m| err(format!("{p}.address"), m))?;
    if let Some(auth) = &a.authority {
        uri = uri.with_authority(auth);
    }
    xml_text(&a.address, &format!("{p}.address"))?;
    if a.cluster.is_empty() {
        return Err(err(format!("{p}.cluster"), "must not be empty"));
    }
    if a.timeout_ms == 0 || a.timeout_ms > 60_000 {
        return Err(err(
            format!("{p}.timeout_ms"),
            "must be between 1 and 60000",
        ));
    }
    let audience = a.audience.clone().unwrap_or_else(|| a.address.clone());
    xml_text(&audience, &format!("{p}.audience"))?;
    Ok(AppliesTo {
        address: a.address.clone(),
        uri,
        cluster: a.cluster.clone(),
        audience,
        client_auth: ClientAuth::from_config(&a.client_auth, &format!("{p}.client_auth"), secrets)?,
        timeout_ms: a.timeout_ms,
    })
}

fn on_behalf(
    o: &OnBehalfConfig,
    p: &str,
    applies_to: &[AppliesTo],
    secrets: &Secrets,
) -> Result<OnBehalf, ConfigError> {
    if o.name.is_empty() {
        return Err(err(format!("{p}.name"), "must not be empty"));
    }
    let route =
        crate::core::route::Route::new(&o.methods, o.path_prefix.as_deref(), o.path.as_deref())
            .map_err(|e| match e.field {
                Some(f) => err(format!("{p}.{f}"), e.message),
                None => err(p, e.message),
            })?;
    let endpoint = applies_to
        .iter()
        .position(|a| a.address == o.token_endpoint)
        .ok_or_else(|| {
            err(
                format!("{p}.token_endpoint"),
                "must be one of applies_to[].address",
            )
        })?;
    let scope_member = |scope: &Option<String>| scope.clone().filter(|s| !s.is_empty());
    let grant = match &o.grant {
        OnBehalfGrantConfig::JwtBearer { scope } => {
            OnBehalfGrant::Assertion(Assertion::Jwt, scope_member(scope))
        }
        OnBehalfGrantConfig::Saml2Bearer { scope } => {
            OnBehalfGrant::Assertion(Assertion::Saml2, scope_member(scope))
        }
        OnBehalfGrantConfig::TokenExchange {
            subject_token_type,
            requested_token_type,
            audience,
            resource,
            scope,
            actor_token,
            actor_token_type,
        } => {
            let mut members = Vec::new();
            for (name, v) in [
                ("requested_token_type", requested_token_type),
                ("audience", audience),
                ("resource", resource),
                ("scope", scope),
            ] {
                match v.as_deref() {
                    None => {}
                    Some("") => return Err(err(format!("{p}.grant.{name}"), "must not be empty")),
                    Some(v) => members.push((name.to_owned(), v.to_owned())),
                }
            }
            let actor = match actor_token {
                None => None,
                Some(r) => Some((
                    secrets.resolve(r, &format!("{p}.grant.actor_token"))?,
                    actor_token_type
                        .clone()
                        .unwrap_or_else(|| ACCESS_TOKEN_TYPE.to_owned()),
                )),
            };
            OnBehalfGrant::TokenExchange {
                subject_token_type: subject_token_type
                    .clone()
                    .unwrap_or_else(|| ACCESS_TOKEN_TYPE.to_owned()),
                members,
                actor,
            }
        }
    };
    Ok(OnBehalf {
        name: o.name.clone(),
        route,
        endpoint,
        grant,
    })
}

/// Parses and validates an `sts` section on its own (`json` is the section's
/// document); paths start with `sts`.
pub fn parse(json: &[u8], secrets: &Secrets) -> Result<Sts, ConfigError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let c: StsConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let msg = e.into_inner().to_string();
        let msg = msg
            .rfind(" at line ")
            .map_or(msg.as_str(), |i| &msg[..i])
            .to_owned();
        err(
            if at == "." {
                "sts".into()
            } else {
                format!("sts.{at}")
            },
            msg,
        )
    })?;
    de.end().map_err(|e| err("sts", e.to_string()))?;
    Sts::from_config(&c, "sts", secrets)
}
