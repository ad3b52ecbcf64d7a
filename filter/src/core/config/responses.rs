//! `failure_responses` (a configured answer per error class, as
//! PingGateway's failure handlers) and `resource_metadata` (RFC 9728
//! protected-resource metadata), as configured and validated.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::check::{self, err};
use super::ConfigError;

/// The error classes a failure response can be configured for.
pub const CLASSES: [&str; 6] = [
    "no_token",
    "invalid_request",
    "invalid_token",
    "insufficient_scope",
    "unavailable",
    "client_grant_failure",
];

/// One configured failure response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureResponseConfig {
    /// Status (default: the class's own, or 302 with `redirect`).
    #[serde(default)]
    pub status: Option<u16>,
    /// Extra response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template: `{error}`, `{error_description}`, `{status}`,
    /// `{realm}`, `{scope}` are replaced (escaped for `content_type`).
    #[serde(default)]
    pub body: Option<String>,
    /// `content-type` of `body` (default `application/json`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Redirect here instead (`Location`; placeholders query-encoded).
    #[serde(default)]
    pub redirect: Option<String>,
}

/// A validated failure response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureResponse {
    /// Status to send, if not the class's own.
    pub status: Option<u16>,
    /// Extra headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body template and its content type.
    pub body: Option<(String, String)>,
    /// Redirect template.
    pub redirect: Option<String>,
}

/// `resource_metadata` (RFC 9728).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetadataConfig {
    /// The protected resource's identifier (`https://api.example.com`,
    /// maybe with a path).
    pub resource: String,
    /// Authorization servers (default: every provider's issuer).
    #[serde(default)]
    pub authorization_servers: Option<Vec<String>>,
    /// Scopes to publish (none by default: rules may compute them).
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// How tokens may be sent (default `["header"]`).
    #[serde(default)]
    pub bearer_methods_supported: Option<Vec<String>>,
    /// Human-readable name.
    #[serde(default)]
    pub resource_name: Option<String>,
    /// Documentation URL.
    #[serde(default)]
    pub resource_documentation: Option<String>,
}

/// Validated `resource_metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMetadata {
    /// The request path the document is served at:
    /// `/.well-known/oauth-protected-resource` + the resource's path.
    pub path: String,
    /// Its absolute URL (the `resource_metadata` challenge parameter).
    pub url: String,
    /// The document.
    pub document: String,
}

impl FailureResponseConfig {
    fn validate(&self, path: &str) -> Result<FailureResponse, ConfigError> {
        if let Some(s) = self.status {
            if !(300..=599).contains(&s) {
                return Err(err(format!("{path}.status"), "must be 300-599"));
            }
        }
        let mut headers = Vec::new();
        for (k, v) in &self.headers {
            let lk = k.to_ascii_lowercase();
            if !check::header_name_ok(&lk) || check::is_forbidden_reply_header(&lk) {
                return Err(err(
                    format!("{path}.headers.{k}"),
                    "must be a header name other than content-length, transfer-encoding, connection, location or www-authenticate",
                ));
            }
            if v.chars().any(char::is_control) {
                return Err(err(format!("{path}.headers.{k}"), "no control characters"));
            }
            headers.push((lk, v.clone()));
        }
        if self.redirect.is_some() && self.body.is_some() {
            return Err(err(format!("{path}.redirect"), "exclusive with body"));
        }
        if let Some(r) = &self.redirect {
            if !(r.starts_with("https://") || r.starts_with("http://") || r.starts_with('/'))
                || r.chars().any(char::is_control)
            {
                return Err(err(
                    format!("{path}.redirect"),
                    "must be an absolute http(s) URL or a path",
                ));
            }
            if self.status.is_some_and(|s| !(300..=399).contains(&s)) {
                return Err(err(
                    format!("{path}.status"),
                    "a redirect needs a 3xx status",
                ));
            }
        }
        let content_type = self
            .content_type
            .clone()
            .unwrap_or_else(|| "application/json".to_owned());
        if content_type.chars().any(char::is_control) {
            return Err(err(format!("{path}.content_type"), "no control characters"));
        }
        Ok(FailureResponse {
            status: self.status,
            headers,
            body: self.body.clone().map(|b| (b, content_type)),
            redirect: self.redirect.clone(),
        })
    }
}

/// Validate `failure_responses`: a map from class to response.
pub fn failure_responses(
    map: &BTreeMap<String, FailureResponseConfig>,
) -> Result<BTreeMap<String, FailureResponse>, ConfigError> {
    let mut out = BTreeMap::new();
    for (class, c) in map {
        let p = format!("failure_responses.{class}");
        if !CLASSES.contains(&class.as_str()) {
            return Err(err(
                p,
                format!("unknown class; one of {}", CLASSES.join(", ")),
            ));
        }
        out.insert(class.clone(), c.validate(&p)?);
    }
    Ok(out)
}

impl ResourceMetadataConfig {
    /// Validate, with the defaults from the providers and scopes.
    pub fn validate(
        &self,
        issuers: &[String],
        scopes: &[String],
        dpop_algs: &[&str],
    ) -> Result<ResourceMetadata, ConfigError> {
        let p = "resource_metadata";
        let rest = self
            .resource
            .strip_prefix("https://")
            .or_else(|| self.resource.strip_prefix("http://"))
            .ok_or_else(|| err(format!("{p}.resource"), "must be an http(s) URL"))?;
        if self.resource.contains(['?', '#']) || self.resource.chars().any(char::is_control) {
            return Err(err(
                format!("{p}.resource"),
                "no query, fragment or control characters",
            ));
        }
        let (authority, res_path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(err(format!("{p}.resource"), "has no host"));
        }
        let origin = &self.resource[..self.resource.len() - rest.len() + authority.len()];
        let path = format!("/.well-known/oauth-protected-resource{res_path}");
        let mut doc = serde_json::Map::new();
        doc.insert("resource".into(), self.resource.clone().into());
        let servers = self
            .authorization_servers
            .clone()
            .unwrap_or(issuers.to_vec());
        doc.insert("authorization_servers".into(), servers.into());
        let scopes = self.scopes_supported.clone().unwrap_or(scopes.to_vec());
        if !scopes.is_empty() {
            doc.insert("scopes_supported".into(), scopes.into());
        }
        let methods = self
            .bearer_methods_supported
            .clone()
            .unwrap_or_else(|| vec!["header".to_owned()]);
        for (i, m) in methods.iter().enumerate() {
            if !["header", "body", "query"].contains(&m.as_str()) {
                return Err(err(
                    format!("{p}.bearer_methods_supported[{i}]"),
                    "one of header, body, query",
                ));
            }
        }
        doc.insert("bearer_methods_supported".into(), methods.into());
        if !dpop_algs.is_empty() {
            doc.insert(
                "dpop_signing_alg_values_supported".into(),
                dpop_algs.to_vec().into(),
            );
        }
        if let Some(n) = &self.resource_name {
            doc.insert("resource_name".into(), n.clone().into());
        }
        if let Some(d) = &self.resource_documentation {
            doc.insert("resource_documentation".into(), d.clone().into());
        }
        Ok(ResourceMetadata {
            url: format!("{origin}{path}"),
            path,
            document: serde_json::Value::Object(doc).to_string(),
        })
    }
}
