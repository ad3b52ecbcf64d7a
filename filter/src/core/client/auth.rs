//! OAuth 2.0 client authentication towards an authorization server, shared by
//! every callout the gateway makes as a client (introspection, token
//! requests): `client_secret_basic` and `client_secret_post` (RFC 6749
//! §2.3.1) and `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9).
//!
//! [`ClientAuth::parts`] gives the headers and form members to add to one
//! request. The validated configuration is [`crate::core::config::ClientAuth`].

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;

use crate::core::config::ClientAuth;
use crate::core::util::form::form_urlencode;
use crate::core::util::hex::sha256_id;
use crate::core::util::time::UnixMillis;

/// What client authentication adds to one request. `Debug` prints the names
/// only: every value may be a credential.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthParts {
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Extra form members.
    pub form: Vec<(String, String)>,
}

impl std::fmt::Debug for AuthParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: &[(String, String)]| {
            v.iter()
                .map(|(n, _)| format!("{n}: <redacted>"))
                .collect::<Vec<_>>()
        };
        f.debug_struct("AuthParts")
            .field("headers", &names(&self.headers))
            .field("form", &names(&self.form))
            .finish()
    }
}

/// `client_assertion_type` for JWT assertions (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl ClientAuth {
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
            ClientAuth::Tls { client_id, .. } => AuthParts {
                headers: Vec::new(),
                form: vec![("client_id".into(), client_id.clone())],
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

/// A unique assertion id: SHA-256 of a per-worker seed (random in the
/// adapter), a counter and the time, in hex.
pub fn jti(seed: &str, counter: u64, now: UnixMillis) -> String {
    sha256_id(&format!("{seed}\n{counter}\n{}", now.0), 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{ClientAuthConfig, Secrets};

    #[test]
    fn secret_is_redacted_in_debug() {
        let c: ClientAuthConfig = serde_json::from_value(json!({
            "method": "client_secret_basic", "client_id": "gw", "client_secret": "s3cr3t-value"
        }))
        .unwrap();
        let a = ClientAuth::from_config(&c, "x", &Secrets::new()).unwrap();
        assert!(!format!("{c:?}{a:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_method_and_fields_are_refused() {
        let bad = serde_json::from_value::<ClientAuthConfig>(json!({
            "method": "client_secret_saml", "client_id": "gw", "client_secret": "s"
        }));
        assert!(bad.is_err());
        // client_secret_jwt needs an HMAC key of at least 32 bytes.
        let short = serde_json::from_value::<ClientAuthConfig>(json!({
            "method": "client_secret_jwt", "client_id": "gw", "client_secret": "s"
        }))
        .unwrap();
        let e = ClientAuth::from_config(&short, "x", &Secrets::new()).unwrap_err();
        assert_eq!(e.path, "x.client_secret");
        let bad = serde_json::from_value::<ClientAuthConfig>(json!({
            "method": "client_secret_post", "client_id": "gw", "client_secret": "s", "x": 1
        }));
        assert!(bad.is_err());
    }
}
