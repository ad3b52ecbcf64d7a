//! `client_auth`: how the gateway authenticates itself as an OAuth 2.0
//! client (introspection, token requests), validated. What it adds to a
//! request is in `core::client::auth`.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::check::{self, err};
use super::defaults;
use super::secrets::{Secret, SecretRef, Secrets};
use super::ConfigError;
use crate::core::jose::sign::{assertion_key, AssertionKey};

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

/// `client_auth` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientAuthConfig {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic {
        /// Client identifier.
        client_id: String,
        /// Client secret.
        client_secret: SecretRef,
    },
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost {
        /// Client identifier.
        client_id: String,
        /// Client secret.
        client_secret: SecretRef,
    },
    /// A JWT assertion signed HS256 with the client secret (OIDC Core §9).
    ClientSecretJwt {
        /// Client identifier (`iss` and `sub` of the assertion).
        client_id: String,
        /// Client secret (the HMAC key; at least 32 bytes).
        client_secret: SecretRef,
        /// `aud` of the assertion; default the endpoint's URI.
        #[serde(default)]
        audience: Option<String>,
        /// Assertion lifetime in seconds.
        #[serde(default = "defaults::assertion_lifetime_s")]
        lifetime_s: u64,
    },
    /// Mutual TLS with a PKI certificate (RFC 8705 §2.1): the proxy
    /// cluster presents the client certificate; only `client_id` is sent.
    TlsClientAuth {
        /// Client identifier.
        client_id: String,
    },
    /// Mutual TLS with a self-signed certificate registered with the
    /// authorization server (RFC 8705 §2.2).
    SelfSignedTlsClientAuth {
        /// Client identifier.
        client_id: String,
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
        #[serde(default = "defaults::assertion_lifetime_s")]
        lifetime_s: u64,
    },
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
    /// Form member `client_id`; the proxy cluster's TLS client certificate
    /// authenticates (RFC 8705).
    Tls {
        /// Client identifier.
        client_id: String,
        /// `self_signed_tls_client_auth` rather than `tls_client_auth`.
        self_signed: bool,
    },
    /// Form members `client_id`, `client_assertion_type`, `client_assertion`
    /// (signed by a private key, or HS256 with the client secret).
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

/// An assertion's `lifetime_s`: 1–3600 seconds.
fn assertion_lifetime(lifetime_s: u64, path: &str) -> Result<(), ConfigError> {
    if lifetime_s == 0 || lifetime_s > 3600 {
        return Err(err(
            format!("{path}.lifetime_s"),
            "must be between 1 and 3600",
        ));
    }
    Ok(())
}

impl ClientAuth {
    /// Validate the configuration at `path` (e.g. `providers[0].introspection.client_auth`).
    pub fn from_config(
        c: &ClientAuthConfig,
        path: &str,
        secrets: &Secrets,
    ) -> Result<ClientAuth, ConfigError> {
        let id_ok = |id: &str| check::client_id(id, &format!("{path}.client_id"));
        // Serde used to resolve secrets and named the enclosing (internally
        // tagged) object: so do we.
        let secret = |s: &SecretRef| secrets.resolve(s, path);
        Ok(match c {
            ClientAuthConfig::ClientSecretBasic {
                client_id,
                client_secret,
            } => {
                id_ok(client_id)?;
                ClientAuth::SecretBasic {
                    client_id: client_id.clone(),
                    secret: secret(client_secret)?,
                }
            }
            ClientAuthConfig::ClientSecretPost {
                client_id,
                client_secret,
            } => {
                id_ok(client_id)?;
                ClientAuth::SecretPost {
                    client_id: client_id.clone(),
                    secret: secret(client_secret)?,
                }
            }
            ClientAuthConfig::ClientSecretJwt {
                client_id,
                client_secret,
                audience,
                lifetime_s,
            } => {
                id_ok(client_id)?;
                assertion_lifetime(*lifetime_s, path)?;
                let s = secret(client_secret)?;
                if s.expose().len() < 32 {
                    return Err(err(
                        format!("{path}.client_secret"),
                        "must be at least 32 bytes for HS256 (RFC 7518 §3.2)",
                    ));
                }
                ClientAuth::PrivateKeyJwt {
                    client_id: client_id.clone(),
                    key: Arc::new(AssertionKey::Hmac(s.expose().as_bytes().to_vec())),
                    kid: None,
                    audience: audience.clone(),
                    lifetime_s: *lifetime_s,
                }
            }
            ClientAuthConfig::TlsClientAuth { client_id }
            | ClientAuthConfig::SelfSignedTlsClientAuth { client_id } => {
                id_ok(client_id)?;
                ClientAuth::Tls {
                    client_id: client_id.clone(),
                    self_signed: matches!(c, ClientAuthConfig::SelfSignedTlsClientAuth { .. }),
                }
            }
            ClientAuthConfig::PrivateKeyJwt {
                client_id,
                private_key,
                audience,
                lifetime_s,
            } => {
                id_ok(client_id)?;
                assertion_lifetime(*lifetime_s, path)?;
                let kpath = format!("{path}.private_key");
                let key = assertion_key(&private_key.0)
                    .map_err(|e| err(format!("{kpath}.{}", e.member), e.message))?;
                let kid = match private_key.0.get("kid") {
                    None => None,
                    Some(Value::String(k)) => Some(k.clone()),
                    Some(_) => return Err(err(format!("{kpath}.kid"), "must be a string")),
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
            | ClientAuth::Tls { client_id, .. }
            | ClientAuth::PrivateKeyJwt { client_id, .. } => client_id,
        }
    }

    /// Method name as in the configuration.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::SecretBasic { .. } => "client_secret_basic",
            ClientAuth::SecretPost { .. } => "client_secret_post",
            ClientAuth::Tls {
                self_signed: false, ..
            } => "tls_client_auth",
            ClientAuth::Tls {
                self_signed: true, ..
            } => "self_signed_tls_client_auth",
            ClientAuth::PrivateKeyJwt { key, .. } if matches!(**key, AssertionKey::Hmac(_)) => {
                "client_secret_jwt"
            }
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }
}
