//! The token request on the wire (RFC 6749 §4.3, §4.4, §6): the grant's
//! form, client authentication, and the discovery request.

use crate::core::callout::{Callout, CalloutId};
use crate::core::config::{Grant, TokenSource};
use crate::core::shared::lease_ttl_ms;
use crate::core::util::time::UnixMillis;
use crate::core::util::uri::HttpUri;

impl TokenSource {
    /// The form of a token request (without client authentication): a new
    /// grant, or a refresh (RFC 6749 §6) with `refresh_token`.
    pub fn grant_form(&self, refresh_token: Option<&str>) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: &str| f.push((k.to_owned(), v.to_owned()));
        if let Some(rt) = refresh_token {
            push("grant_type", "refresh_token");
            push("refresh_token", rt);
            return f;
        }
        match &self.grant {
            Grant::ClientCredentials {
                scopes,
                resource,
                audience,
            } => {
                push("grant_type", "client_credentials");
                if !scopes.is_empty() {
                    push("scope", &scopes.join(" "));
                }
                for r in resource {
                    push("resource", r);
                }
                if let Some(a) = audience {
                    push("audience", a);
                }
            }
            Grant::Password {
                username,
                password,
                scopes,
            } => {
                push("grant_type", "password");
                push("username", username);
                push("password", password.expose());
                if !scopes.is_empty() {
                    push("scope", &scopes.join(" "));
                }
            }
        }
        f
    }

    /// The token request callout to `endpoint` (`text`: its URI as the
    /// default `aud` of a client assertion).
    pub fn token_request(
        &self,
        id: CalloutId,
        endpoint: &HttpUri,
        text: &str,
        refresh_token: Option<&str>,
        now: UnixMillis,
        jti: &str,
    ) -> Callout {
        let parts = self.auth.parts(text, now, jti);
        let mut form = self.grant_form(refresh_token);
        form.extend(parts.form);
        Callout::form_post(
            id,
            self.cluster.clone(),
            endpoint.clone(),
            self.timeout_ms,
            &form,
            parts.headers,
        )
    }

    pub(super) fn discovery_request(&self, id: CalloutId, uri: &HttpUri) -> Callout {
        Callout {
            id,
            cluster: self.cluster.clone(),
            uri: uri.clone(),
            timeout_ms: self.timeout_ms,
            method: "GET",
            extra_headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(super) fn lease_ms(&self) -> u64 {
        // Discovery and the token request, plus slack.
        lease_ttl_ms(self.timeout_ms, 2)
    }
}
