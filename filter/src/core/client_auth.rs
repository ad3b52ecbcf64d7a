//! OAuth 2.0 client authentication towards an authorization server, shared by
//! every callout the gateway makes as a client (introspection, token
//! requests): `client_secret_basic` and `client_secret_post` (RFC 6749
//! §2.3.1) and `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9).
//!
//! [`ClientAuth::parts`] gives the headers and form members to add to one
//! request. Secrets live in [`Secret`], whose `Debug` never shows them.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::config::ConfigError;
use super::time::UnixMillis;

/// A secret string from the configuration; `Debug` prints `<redacted>`.
///
/// Written inline (`"s3cret"`), as `{"env": "NAME"}` (the value of
/// environment variable `NAME` of the VM: WASI `environ_get`; Envoy's
/// `vm_config.environment_variables`, oauth-host's `environment:`), or as
/// `{"vm_config": "NAME"}` (member `NAME` of `secrets` in the VM
/// configuration, see [`with_vm_secrets`]); resolved when the configuration
/// is parsed. A missing or empty value is a configuration error naming the
/// field and the reference (never a value).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

std::thread_local! {
    /// Secrets of the VM configuration while a configuration is parsed.
    static VM_SECRETS: std::cell::RefCell<std::collections::HashMap<String, String>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Parse the VM configuration's secrets: empty, or a JSON object
/// `{"secrets": {"NAME": "value", ...}}` (other members are ignored).
pub fn parse_vm_secrets(
    bytes: &[u8],
) -> Result<std::collections::HashMap<String, String>, ConfigError> {
    let e = |m: &str| ConfigError {
        path: "vm_configuration".into(),
        message: m.into(),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|_| e("not JSON"))?;
    let Some(obj) = v.as_object() else {
        return Err(e("not a JSON object"));
    };
    let mut out = std::collections::HashMap::new();
    match obj.get("secrets") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let Some(s) = v.as_str() else {
                    return Err(ConfigError {
                        path: format!("vm_configuration.secrets.{k}"),
                        message: "must be a string".into(),
                    });
                };
                out.insert(k.clone(), s.to_owned());
            }
        }
        Some(_) => return Err(e("secrets must be an object")),
    }
    Ok(out)
}

/// Run `f` (a configuration parse) with `secrets` from the VM configuration
/// available to `{"vm_config": "NAME"}` references; they are forgotten after.
pub fn with_vm_secrets<T>(
    secrets: std::collections::HashMap<String, String>,
    f: impl FnOnce() -> T,
) -> T {
    VM_SECRETS.with(|s| *s.borrow_mut() = secrets);
    let out = f();
    VM_SECRETS.with(|s| s.borrow_mut().clear());
    out
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "snake_case")]
        enum Reference {
            Env(String),
            VmConfig(String),
        }
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Secret(s)),
            v @ Value::Object(_) => {
                let r: Reference = serde_json::from_value(v).map_err(|_| {
                    serde::de::Error::custom(
                        "expected a string, {\"env\": \"NAME\"} or {\"vm_config\": \"NAME\"}",
                    )
                })?;
                match r {
                    Reference::Env(name) => match std::env::var(&name) {
                        Ok(s) if !s.is_empty() => Ok(Secret(s)),
                        _ => Err(serde::de::Error::custom(format!(
                            "environment variable {name} is not set (or empty)"
                        ))),
                    },
                    Reference::VmConfig(name) => {
                        match VM_SECRETS.with(|s| s.borrow().get(&name).cloned()) {
                            Some(s) if !s.is_empty() => Ok(Secret(s)),
                            _ => Err(serde::de::Error::custom(format!(
                                "the VM configuration has no secret {name} (or it is empty)"
                            ))),
                        }
                    }
                }
            }
            _ => Err(serde::de::Error::custom(
                "expected a string, {\"env\": \"NAME\"} or {\"vm_config\": \"NAME\"}",
            )),
        }
    }
}

impl Secret {
    /// A secret from a string.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself: only for building the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A private key in the configuration (a JWK with its private members);
/// `Debug` prints `<redacted>`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct PrivateJwk(Value);

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn d_lifetime() -> u64 {
    60
}

/// `client_auth` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientAuthConfig {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic {
        /// Client identifier.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
    },
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost {
        /// Client identifier.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
    },
    /// A signed JWT assertion (RFC 7523 §2.2) in `client_assertion`.
    PrivateKeyJwt {
        /// Client identifier (`iss` and `sub` of the assertion).
        client_id: String,
        /// Private JWK: `EC` P-256 (ES256) or P-384 (ES384) with `d`, or `RSA`
        /// (RS256) with `n e d p q`. `kid` is copied into the header.
        private_key: PrivateJwk,
        /// `aud` of the assertion; default the endpoint's URI.
        #[serde(default)]
        audience: Option<String>,
        /// Assertion lifetime in seconds.
        #[serde(default = "d_lifetime")]
        lifetime_s: u64,
    },
}

/// A key that signs client assertions.
pub enum AssertionKey {
    /// ES256.
    P256(p256::ecdsa::SigningKey),
    /// ES384.
    P384(p384::ecdsa::SigningKey),
    /// RS256 (PKCS #1 v1.5, deterministic).
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl AssertionKey {
    /// JWS `alg`.
    pub fn alg(&self) -> &'static str {
        match self {
            AssertionKey::P256(_) => "ES256",
            AssertionKey::P384(_) => "ES384",
            AssertionKey::Rsa(_) => "RS256",
        }
    }

    fn sign(&self, input: &[u8]) -> Option<Vec<u8>> {
        use signature::Signer;
        match self {
            AssertionKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.try_sign(input).ok()?;
                Some(s.to_bytes().to_vec())
            }
            AssertionKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.try_sign(input).ok()?;
                Some(s.to_bytes().to_vec())
            }
            AssertionKey::Rsa(k) => {
                // DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1).
                const PREFIX: [u8; 19] = [
                    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
                ];
                let mut t = PREFIX.to_vec();
                t.extend_from_slice(&Sha256::digest(input));
                k.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &t).ok()
            }
        }
    }
}

impl fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssertionKey({}, <redacted>)", self.alg())
    }
}

/// How the gateway authenticates itself as a client.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// `Authorization: Basic …`.
    SecretBasic {
        /// Client identifier.
        client_id: String,
        /// Client secret.
        secret: Secret,
    },
    /// Form members `client_id`, `client_secret`.
    SecretPost {
        /// Client identifier.
        client_id: String,
        /// Client secret.
        secret: Secret,
    },
    /// Form members `client_id`, `client_assertion_type`, `client_assertion`.
    PrivateKeyJwt {
        /// Client identifier.
        client_id: String,
        /// Signing key.
        key: Arc<AssertionKey>,
        /// `kid` header, if the JWK had one.
        kid: Option<String>,
        /// Fixed `aud`, else the endpoint URI.
        audience: Option<String>,
        /// Assertion lifetime, seconds.
        lifetime_s: u64,
    },
}

/// What client authentication adds to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthParts {
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Extra form members.
    pub form: Vec<(String, String)>,
}

/// `client_assertion_type` for JWT assertions (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn cerr(path: &str, field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        path: format!("{path}.{field}"),
        message: message.into(),
    }
}

fn b64_member(jwk: &Value, name: &str, path: &str) -> Result<Vec<u8>, ConfigError> {
    let s = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| cerr(path, name, "missing (base64url string)"))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| cerr(path, name, "not unpadded base64url"))
}

/// Parse a private JWK into a signing key. `path` names the JWK in errors.
pub fn assertion_key(jwk: &Value, path: &str) -> Result<AssertionKey, ConfigError> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    match kty {
        "EC" => {
            let d = b64_member(jwk, "d", path)?;
            let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
            let (key, point) = match crv {
                "P-256" => {
                    let k = p256::ecdsa::SigningKey::from_slice(&d)
                        .map_err(|_| cerr(path, "d", "not a P-256 private key"))?;
                    let p = k
                        .verifying_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec();
                    (AssertionKey::P256(k), p)
                }
                "P-384" => {
                    let k = p384::ecdsa::SigningKey::from_slice(&d)
                        .map_err(|_| cerr(path, "d", "not a P-384 private key"))?;
                    let p = k
                        .verifying_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec();
                    (AssertionKey::P384(k), p)
                }
                _ => return Err(cerr(path, "crv", "must be P-256 or P-384")),
            };
            // x and y, when given, must belong to d (catches pasted-wrong keys).
            let half = (point.len() - 1) / 2;
            if jwk.get("x").is_some() && b64_member(jwk, "x", path)? != point[1..1 + half] {
                return Err(cerr(path, "x", "does not match d"));
            }
            if jwk.get("y").is_some() && b64_member(jwk, "y", path)? != point[1 + half..] {
                return Err(cerr(path, "y", "does not match d"));
            }
            Ok(key)
        }
        "RSA" => {
            use rsa::traits::PublicKeyParts;
            let big = |n: &str| b64_member(jwk, n, path).map(|b| rsa::BigUint::from_bytes_be(&b));
            let (n, e, d, p, q) = (big("n")?, big("e")?, big("d")?, big("p")?, big("q")?);
            let key = rsa::RsaPrivateKey::from_components(n, e, d, vec![p, q])
                .map_err(|e| cerr(path, "n", format!("not a valid RSA private key: {e}")))?;
            key.validate()
                .map_err(|e| cerr(path, "d", format!("not a valid RSA private key: {e}")))?;
            if key.size() < 256 {
                return Err(cerr(path, "n", "RSA keys must have at least 2048 bits"));
            }
            Ok(AssertionKey::Rsa(Box::new(key)))
        }
        _ => Err(cerr(path, "kty", "must be EC or RSA")),
    }
}

impl ClientAuth {
    /// Validate the configuration at `path` (e.g. `providers[0].introspection.client_auth`).
    pub fn from_config(c: &ClientAuthConfig, path: &str) -> Result<ClientAuth, ConfigError> {
        let id_ok = |id: &str| {
            if id.is_empty() || id.chars().any(char::is_control) {
                Err(cerr(
                    path,
                    "client_id",
                    "must be non-empty, without control characters",
                ))
            } else {
                Ok(())
            }
        };
        Ok(match c {
            ClientAuthConfig::ClientSecretBasic {
                client_id,
                client_secret,
            } => {
                id_ok(client_id)?;
                ClientAuth::SecretBasic {
                    client_id: client_id.clone(),
                    secret: client_secret.clone(),
                }
            }
            ClientAuthConfig::ClientSecretPost {
                client_id,
                client_secret,
            } => {
                id_ok(client_id)?;
                ClientAuth::SecretPost {
                    client_id: client_id.clone(),
                    secret: client_secret.clone(),
                }
            }
            ClientAuthConfig::PrivateKeyJwt {
                client_id,
                private_key,
                audience,
                lifetime_s,
            } => {
                id_ok(client_id)?;
                if *lifetime_s == 0 || *lifetime_s > 3600 {
                    return Err(cerr(path, "lifetime_s", "must be between 1 and 3600"));
                }
                let kpath = format!("{path}.private_key");
                let key = assertion_key(&private_key.0, &kpath)?;
                let kid = match private_key.0.get("kid") {
                    None => None,
                    Some(Value::String(k)) => Some(k.clone()),
                    Some(_) => return Err(cerr(&kpath, "kid", "must be a string")),
                };
                ClientAuth::PrivateKeyJwt {
                    client_id: client_id.clone(),
                    key: Arc::new(key),
                    kid,
                    audience: audience.clone(),
                    lifetime_s: *lifetime_s,
                }
            }
        })
    }

    /// The client identifier.
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::SecretBasic { client_id, .. }
            | ClientAuth::SecretPost { client_id, .. }
            | ClientAuth::PrivateKeyJwt { client_id, .. } => client_id,
        }
    }

    /// Method name as in the configuration.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::SecretBasic { .. } => "client_secret_basic",
            ClientAuth::SecretPost { .. } => "client_secret_post",
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }

    /// Headers and form members authenticating one request to `endpoint`
    /// (the full URI: default `aud` of an assertion). `jti` must be unique
    /// per assertion.
    pub fn parts(&self, endpoint: &str, now: UnixMillis, jti: &str) -> AuthParts {
        match self {
            ClientAuth::SecretBasic { client_id, secret } => {
                let pair = format!(
                    "{}:{}",
                    form_urlencode(client_id),
                    form_urlencode(secret.expose())
                );
                AuthParts {
                    headers: vec![(
                        "authorization".into(),
                        format!("Basic {}", STANDARD.encode(pair)),
                    )],
                    form: Vec::new(),
                }
            }
            ClientAuth::SecretPost { client_id, secret } => AuthParts {
                headers: Vec::new(),
                form: vec![
                    ("client_id".into(), client_id.clone()),
                    ("client_secret".into(), secret.expose().to_owned()),
                ],
            },
            ClientAuth::PrivateKeyJwt {
                client_id,
                key,
                kid,
                audience,
                lifetime_s,
            } => {
                let aud = audience.as_deref().unwrap_or(endpoint);
                let iat = now.0 / 1000;
                let claims = json!({
                    "iss": client_id,
                    "sub": client_id,
                    "aud": aud,
                    "jti": jti,
                    "iat": iat,
                    "exp": iat + lifetime_s,
                });
                let mut header = json!({ "alg": key.alg(), "typ": "JWT" });
                if let Some(k) = kid {
                    header["kid"] = json!(k);
                }
                let input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(claims.to_string())
                );
                // Signing with a validated key cannot fail (deterministic
                // ECDSA / PKCS #1 v1.5); an empty signature would only be
                // refused by the server.
                let sig = key.sign(input.as_bytes()).unwrap_or_default();
                let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
                AuthParts {
                    headers: Vec::new(),
                    form: vec![
                        ("client_id".into(), client_id.clone()),
                        ("client_assertion_type".into(), JWT_BEARER_ASSERTION.into()),
                        ("client_assertion".into(), jwt),
                    ],
                }
            }
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value
/// (WHATWG URL §5.2: space → `+`, unreserved `*-._` and alphanumerics kept).
pub fn form_urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A form body from name/value pairs.
pub fn form_body(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", form_urlencode(k), form_urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A unique assertion id: SHA-256 of a per-worker seed (random in the
/// adapter), a counter and the time, in hex.
pub fn jti(seed: &str, counter: u64, now: UnixMillis) -> String {
    let d = Sha256::digest(format!("{seed}\n{counter}\n{}", now.0).as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(form_urlencode("a b+c/é:%"), "a+b%2Bc%2F%C3%A9%3A%25");
        assert_eq!(
            form_body(&[
                ("token".into(), "x.y~z".into()),
                ("h".into(), "a&b=c".into())
            ]),
            "token=x.y%7Ez&h=a%26b%3Dc"
        );
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let c: ClientAuthConfig = serde_json::from_value(json!({
            "method": "client_secret_basic", "client_id": "gw", "client_secret": "s3cr3t-value"
        }))
        .unwrap();
        let a = ClientAuth::from_config(&c, "x").unwrap();
        assert!(!format!("{c:?}{a:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_method_and_fields_are_refused() {
        let bad = serde_json::from_value::<ClientAuthConfig>(json!({
            "method": "client_secret_jwt", "client_id": "gw", "client_secret": "s"
        }));
        assert!(bad.is_err());
        let bad = serde_json::from_value::<ClientAuthConfig>(json!({
            "method": "client_secret_post", "client_id": "gw", "client_secret": "s", "x": 1
        }));
        assert!(bad.is_err());
    }
}
