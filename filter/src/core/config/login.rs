//! `login`: the gateway as an OpenID Connect relying party for browsers
//! (PingGateway's AuthorizationCodeOAuth2ClientFilter, Envoy's `oauth2`
//! filter), validated. The flow itself is in `core::login`.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::check::{self, err};
use super::client::EndpointConfig;
use super::client_auth::{ClientAuth, ClientAuthConfig};
use super::provider::{key_source, JwksSource, KeySource};
use super::secrets::{SecretRef, Secrets};
use super::ConfigError;
use crate::core::jose::jws::Alg;
use crate::core::route::{normalize_path, Route};
use crate::core::util::uri::HttpUri;

/// Most registrations.
pub const MAX_REGISTRATIONS: usize = 16;
/// Most session keys (the first seals, all unseal).
pub const MAX_SESSION_KEYS: usize = 4;

/// `login` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// Path prefix of the client endpoint: `<prefix>/login`,
    /// `<prefix>/callback` (the redirect URI), `<prefix>/logout`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Authorization servers and the client registered at each.
    pub registrations: Vec<RegistrationConfig>,
    /// The registration used when a login does not name one; default the
    /// first.
    #[serde(default)]
    pub default_registration: Option<String>,
    /// Requests that need a session (method and path rules, as in
    /// `scopes.rules`); default every request outside the client endpoint.
    #[serde(default)]
    pub routes: Vec<LoginRouteConfig>,
    /// What a request without a session gets.
    #[serde(default)]
    pub require_login: RequireLogin,
    /// The session cookie.
    pub session: SessionConfig,
    /// Origins (`https://host[:port]`) besides the request's own that a
    /// `goto` may send the browser to after login or logout.
    #[serde(default)]
    pub goto_allow: Vec<String>,
    /// The public origin of the gateway (`https://host[:port]`), for the
    /// redirect URI; default the request's scheme and `:authority`.
    #[serde(default)]
    pub public_origin: Option<String>,
    /// What the upstream receives for a logged-in request.
    #[serde(default)]
    pub upstream: LoginUpstreamConfig,
    /// Where a failed login goes (AS error, state mismatch, bad ID token).
    #[serde(default)]
    pub failure: LoginFailureConfig,
}

fn default_prefix() -> String {
    "/oauth2".into()
}

/// One rule of `login.routes`: the method and path fields of every rule
/// (`scopes.rules`, `client.rules`), with nothing of its own, so written
/// out rather than with `route_rule!`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRouteConfig {
    /// Methods (any case; a `GET` rule also covers `HEAD`); empty: any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Path prefix, without query.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Exact path, without query.
    #[serde(default)]
    pub path: Option<String>,
}

/// `login.require_login`: the answer to a request without a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequireLogin {
    /// Browser navigations (`Sec-Fetch-Mode: navigate`, or `Accept` with
    /// `text/html`) of GET/HEAD are redirected to log in; the rest get 401.
    #[default]
    Auto,
    /// Always redirect to log in.
    Redirect,
    /// Always 401 (an API behind a single-page application).
    Unauthorized,
}

/// `login.registrations[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Name (`?registration=` of the login endpoint, logs).
    pub name: String,
    /// The authorization server's issuer (exact `iss` of ID tokens).
    pub issuer: String,
    /// How the gateway authenticates at the token and revocation endpoints
    /// (the client id is in here).
    pub client_auth: ClientAuthConfig,
    /// The authorization endpoint, as the browser reaches it.
    pub authorization_endpoint: String,
    /// The token endpoint (callout).
    pub token_endpoint: EndpointConfig,
    /// RFC 7009 revocation endpoint (callout), used at logout.
    #[serde(default)]
    pub revocation_endpoint: Option<EndpointConfig>,
    /// OIDC RP-initiated logout endpoint, as the browser reaches it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// `post_logout_redirect_uri` sent there (registered at the AS).
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    /// ID-token verification keys (inline, remote, discovery, PEM).
    pub jwks: JwksSource,
    /// Requested scopes (`openid` is always sent).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `prompt` (`login`, `consent`, `select_account`, `none`).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Extra authorization request parameters.
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    /// Accepted ID-token algorithms; default every asymmetric one.
    #[serde(default)]
    pub id_token_algorithms: Option<Vec<String>>,
    /// Allowed clock difference for `exp` and `iat`, seconds.
    #[serde(default = "default_skew")]
    pub clock_skew_s: u64,
}

fn default_skew() -> u64 {
    60
}

/// `login.session`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Cookie name (chunks are `<name>.1`, `<name>.2`, …).
    #[serde(default = "default_cookie")]
    pub cookie_name: String,
    /// Sealing keys, each at least 32 bytes: the first seals, every one
    /// unseals (rotation). Shared by every proxy of a fleet.
    pub keys: Vec<SecretRef>,
    /// A session unused this long ends, seconds.
    #[serde(default = "default_idle")]
    pub idle_timeout_s: u64,
    /// A session ends this long after login, seconds.
    #[serde(default = "default_max")]
    pub max_lifetime_s: u64,
    /// Refresh the access token this long before it expires, seconds.
    #[serde(default = "default_refresh_margin")]
    pub refresh_margin_s: u64,
    /// Cookie `Path`.
    #[serde(default = "default_cookie_path")]
    pub path: String,
    /// Cookie `Domain` (absent: host-only).
    #[serde(default)]
    pub domain: Option<String>,
    /// Leave `Secure` off the cookies: plain-HTTP tests only.
    #[serde(default)]
    pub danger_insecure_cookies: bool,
}

fn default_cookie() -> String {
    "oauth_session".into()
}
fn default_idle() -> u64 {
    3600
}
fn default_max() -> u64 {
    8 * 3600
}
fn default_refresh_margin() -> u64 {
    30
}
fn default_cookie_path() -> String {
    "/".into()
}

/// `login.upstream`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginUpstreamConfig {
    /// Header carrying the access token (`Bearer` when `authorization`);
    /// `null`: not sent.
    #[serde(default = "default_token_header")]
    pub token_header: Option<String>,
    /// Header name → ID-token claim.
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
    /// Keep the session cookies in the `cookie` header sent upstream.
    #[serde(default)]
    pub forward_session_cookie: bool,
}

impl Default for LoginUpstreamConfig {
    fn default() -> Self {
        LoginUpstreamConfig {
            token_header: default_token_header(),
            claim_headers: BTreeMap::new(),
            forward_session_cookie: false,
        }
    }
}

fn default_token_header() -> Option<String> {
    Some("authorization".into())
}

/// `login.failure`: a redirect, or a status with a JSON body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFailureConfig {
    /// Send the browser here (`?error=<code>` added).
    #[serde(default)]
    pub redirect: Option<String>,
    /// Status otherwise (default 403).
    #[serde(default)]
    pub status: Option<u16>,
}

/// A validated registration.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Name.
    pub name: String,
    /// Issuer.
    pub issuer: String,
    /// Client authentication (with the client id).
    pub auth: ClientAuth,
    /// Authorization endpoint (browser).
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: CalloutTarget,
    /// Revocation endpoint.
    pub revocation_endpoint: Option<CalloutTarget>,
    /// End-session endpoint (browser).
    pub end_session_endpoint: Option<String>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<String>,
    /// ID-token keys.
    pub keys: KeySource,
    /// Scopes, `openid` first.
    pub scopes: Vec<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// Extra parameters.
    pub extra_params: Vec<(String, String)>,
    /// ID-token algorithms.
    pub algorithms: Vec<Alg>,
    /// Skew, seconds.
    pub clock_skew_s: u64,
}

/// A validated callout endpoint.
#[derive(Debug, Clone)]
pub struct CalloutTarget {
    /// Target.
    pub uri: HttpUri,
    /// As written (assertion `aud`).
    pub text: String,
    /// Cluster.
    pub cluster: String,
}

/// A 32-byte session sealing key (derived from a configured secret); `Debug`
/// prints its id only.
#[derive(Clone)]
pub struct SessionKey {
    /// 4-byte id (SHA-256 of the key) carried in sealed values.
    pub id: [u8; 4],
    /// AES-256 key.
    pub key: [u8; 32],
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey({})", crate::core::util::hex::hex(&self.id))
    }
}

/// The validated `login` section.
#[derive(Debug, Clone)]
pub struct Login {
    /// Client endpoint prefix (normalised, no trailing slash).
    pub prefix: String,
    /// Registrations.
    pub registrations: Vec<Registration>,
    /// Index of the default one.
    pub default_registration: usize,
    /// Routes needing a session (empty: every request).
    pub routes: Vec<Route>,
    /// No-session answer.
    pub require_login: RequireLogin,
    /// Cookie name.
    pub cookie_name: String,
    /// Sealing keys, the first seals.
    pub keys: Vec<SessionKey>,
    /// Idle timeout, ms.
    pub idle_ms: u64,
    /// Absolute lifetime, ms.
    pub max_ms: u64,
    /// Refresh margin, ms.
    pub refresh_margin_ms: u64,
    /// Cookie `Path`.
    pub cookie_path: String,
    /// Cookie `Domain`.
    pub cookie_domain: Option<String>,
    /// `Secure` on cookies.
    pub secure_cookies: bool,
    /// Allowed `goto` origins besides the request's own.
    pub goto_allow: Vec<String>,
    /// Public origin.
    pub public_origin: Option<String>,
    /// Upstream edits.
    pub upstream: LoginUpstreamConfig,
    /// Failure answer.
    pub failure: LoginFailureConfig,
}

impl Login {
    /// Validate `c` at `login`.
    pub fn from_config(c: &LoginConfig, secrets: &Secrets) -> Result<Login, ConfigError> {
        let prefix = normalize_path(&c.prefix);
        if !prefix.starts_with('/') || prefix.len() < 2 || prefix.contains(['?', '#']) {
            return Err(err(
                "login.prefix",
                "must be an absolute path such as /oauth2",
            ));
        }
        let prefix = prefix.trim_end_matches('/').to_owned();
        if c.registrations.is_empty() || c.registrations.len() > MAX_REGISTRATIONS {
            return Err(err(
                "login.registrations",
                format!("between 1 and {MAX_REGISTRATIONS} registrations"),
            ));
        }
        let mut registrations = Vec::with_capacity(c.registrations.len());
        for (i, r) in c.registrations.iter().enumerate() {
            let p = format!("login.registrations[{i}]");
            if registrations
                .iter()
                .any(|x: &Registration| x.name == r.name)
            {
                return Err(err(format!("{p}.name"), "duplicate registration name"));
            }
            registrations.push(registration(r, &p, secrets)?);
        }
        let default_registration = match &c.default_registration {
            None => 0,
            Some(n) => registrations
                .iter()
                .position(|r| &r.name == n)
                .ok_or_else(|| err("login.default_registration", "names no registration"))?,
        };
        let mut routes = Vec::with_capacity(c.routes.len());
        for (i, r) in c.routes.iter().enumerate() {
            routes.push(check::route(
                &r.methods,
                r.path_prefix.as_deref(),
                r.path.as_deref(),
                &format!("login.routes[{i}]"),
            )?);
        }
        let s = &c.session;
        if s.keys.is_empty() || s.keys.len() > MAX_SESSION_KEYS {
            return Err(err(
                "login.session.keys",
                format!("between 1 and {MAX_SESSION_KEYS} keys"),
            ));
        }
        let mut keys = Vec::with_capacity(s.keys.len());
        for (i, k) in s.keys.iter().enumerate() {
            let path = format!("login.session.keys[{i}]");
            let secret = secrets.resolve(k, &path)?;
            if secret.expose().len() < 32 {
                return Err(err(path, "a session key must be at least 32 bytes"));
            }
            // Domain-separated: the configured secret may serve elsewhere.
            let key: [u8; 32] = Sha256::new()
                .chain_update(b"oauth-filter session key v1\0")
                .chain_update(secret.expose().as_bytes())
                .finalize()
                .into();
            let id_full: [u8; 32] = Sha256::digest(key).into();
            keys.push(SessionKey {
                id: [id_full[0], id_full[1], id_full[2], id_full[3]],
                key,
            });
        }
        cookie_name(&s.cookie_name)?;
        if s.idle_timeout_s == 0 || s.max_lifetime_s == 0 {
            return Err(err("login.session", "lifetimes must be above 0"));
        }
        if !s.path.starts_with('/') || s.path.contains([';', ',', ' ']) {
            return Err(err("login.session.path", "must be an absolute path"));
        }
        if let Some(d) = &s.domain {
            if d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return Err(err("login.session.domain", "must be a host name"));
            }
        }
        let mut goto_allow = Vec::new();
        for (i, o) in c.goto_allow.iter().enumerate() {
            goto_allow.push(origin(o, &format!("login.goto_allow[{i}]"))?);
        }
        let public_origin = match &c.public_origin {
            Some(o) => Some(origin(o, "login.public_origin")?),
            None => None,
        };
        if let Some(h) = &c.upstream.token_header {
            if !check::header_name_ok(h) || h.starts_with(':') {
                return Err(err(
                    "login.upstream.token_header",
                    "must be a lowercase header name",
                ));
            }
        }
        for (h, claim) in &c.upstream.claim_headers {
            check::claim_header(h, &format!("login.upstream.claim_headers.{h}"))?;
            if claim.is_empty() {
                return Err(err(
                    format!("login.upstream.claim_headers.{h}"),
                    "names no claim",
                ));
            }
        }
        if let Some(st) = c.failure.status {
            if !(400..=599).contains(&st) {
                return Err(err("login.failure.status", "must be 400 to 599"));
            }
        }
        if let Some(r) = &c.failure.redirect {
            absolute_url(r, "login.failure.redirect")?;
        }
        Ok(Login {
            prefix,
            registrations,
            default_registration,
            routes,
            require_login: c.require_login,
            cookie_name: s.cookie_name.clone(),
            keys,
            idle_ms: s.idle_timeout_s.saturating_mul(1000),
            max_ms: s.max_lifetime_s.saturating_mul(1000),
            refresh_margin_ms: s.refresh_margin_s.saturating_mul(1000),
            cookie_path: s.path.clone(),
            cookie_domain: s.domain.clone(),
            secure_cookies: !s.danger_insecure_cookies,
            goto_allow,
            public_origin,
            upstream: c.upstream.clone(),
            failure: c.failure.clone(),
        })
    }
}

fn registration(
    r: &RegistrationConfig,
    p: &str,
    secrets: &Secrets,
) -> Result<Registration, ConfigError> {
    if r.name.is_empty()
        || !r
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            format!("{p}.name"),
            "letters, digits, '-' and '_' only",
        ));
    }
    if r.issuer.is_empty() {
        return Err(err(format!("{p}.issuer"), "must not be empty"));
    }
    let auth = ClientAuth::from_config(&r.client_auth, &format!("{p}.client_auth"), secrets)?;
    absolute_url(
        &r.authorization_endpoint,
        &format!("{p}.authorization_endpoint"),
    )?;
    let target = |e: &EndpointConfig, field: &str| -> Result<CalloutTarget, ConfigError> {
        let uri = check::http_uri(&e.uri, e.authority.as_deref(), format!("{p}.{field}.uri"))?;
        check::cluster(&e.cluster, &format!("{p}.{field}.cluster"))?;
        Ok(CalloutTarget {
            uri,
            text: e.uri.clone(),
            cluster: e.cluster.clone(),
        })
    };
    let token_endpoint = target(&r.token_endpoint, "token_endpoint")?;
    let revocation_endpoint = match &r.revocation_endpoint {
        Some(e) => Some(target(e, "revocation_endpoint")?),
        None => None,
    };
    if let Some(u) = &r.end_session_endpoint {
        absolute_url(u, &format!("{p}.end_session_endpoint"))?;
    }
    if let Some(u) = &r.post_logout_redirect_uri {
        absolute_url(u, &format!("{p}.post_logout_redirect_uri"))?;
    }
    let keys = key_source(&r.jwks, &r.issuer, p)?;
    let mut scopes = vec!["openid".to_owned()];
    for (j, s) in r.scopes.iter().enumerate() {
        if s.is_empty()
            || s.bytes()
                .any(|b| b <= b' ' || b == b'"' || b == b'\\' || b >= 0x7f)
        {
            return Err(err(format!("{p}.scopes[{j}]"), "not a scope token"));
        }
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    const RESERVED: [&str; 8] = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ];
    for k in r.extra_params.keys() {
        if RESERVED.contains(&k.as_str()) || k.is_empty() {
            return Err(err(
                format!("{p}.extra_params.{k}"),
                "set by the gateway itself",
            ));
        }
    }
    let algorithms = check::algorithms(
        r.id_token_algorithms.as_deref(),
        &format!("{p}.id_token_algorithms"),
        false,
    )?;
    Ok(Registration {
        name: r.name.clone(),
        issuer: r.issuer.clone(),
        auth,
        authorization_endpoint: r.authorization_endpoint.clone(),
        token_endpoint,
        revocation_endpoint,
        end_session_endpoint: r.end_session_endpoint.clone(),
        post_logout_redirect_uri: r.post_logout_redirect_uri.clone(),
        keys,
        scopes,
        prompt: r.prompt.clone(),
        extra_params: r
            .extra_params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        algorithms,
        clock_skew_s: r.clock_skew_s,
    })
}

/// A cookie name: an RFC 6265 token, short enough for chunk suffixes.
fn cookie_name(n: &str) -> Result<(), ConfigError> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(err(
            "login.session.cookie_name",
            "letters, digits, '-' and '_' only (at most 64)",
        ))
    }
}

/// `http(s)://host[:port]` without path: the origin, lowercased.
fn origin(o: &str, path: &str) -> Result<String, ConfigError> {
    let lower = o.trim_end_matches('/').to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| err(path, "must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(err(path, "must be an origin: scheme://host[:port]"));
    }
    Ok(lower)
}

/// An absolute `http(s)` URL without fragment or control characters.
fn absolute_url(u: &str, path: &str) -> Result<(), ConfigError> {
    let ok = (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() > 8
        && !u.contains('#')
        && u.bytes().all(|b| b > b' ' && b < 0x7f);
    if ok {
        Ok(())
    } else {
        Err(err(path, "must be an absolute http(s) URL"))
    }
}
