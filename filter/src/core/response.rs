//! What a decision sends: header edits for a forwarded request, or a local
//! reply (RFC 6750 §3 challenges in PingGateway's formats).

use super::error::{BindingFailure, Rejection};

/// Edits to apply to the request headers, removals first. `Debug` prints
/// the values of `authorization` and `proxy-authorization` (the gateway's
/// own token) as `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderEdits {
    /// Headers to remove.
    pub remove: Vec<String>,
    /// Headers to set (replacing any value).
    pub set: Vec<(String, String)>,
}

impl std::fmt::Debug for HeaderEdits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set: Vec<(&str, &str)> = self
            .set
            .iter()
            .map(|(n, v)| {
                let secret = n.eq_ignore_ascii_case("authorization")
                    || n.eq_ignore_ascii_case("proxy-authorization");
                (n.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("HeaderEdits")
            .field("remove", &self.remove)
            .field("set", &set)
            .finish()
    }
}

/// A response the filter sends instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: String,
}

impl LocalReply {
    /// Value of a header (tests, adapters).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Escape for a quoted-string (RFC 9110 §5.6.4): our texts contain no quotes
/// or backslashes, but be safe.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect()
}

/// The reply for a rejection.
pub fn reply(realm: &str, r: &Rejection) -> LocalReply {
    let desc = r.describe();
    let (code, challenge) = match r {
        Rejection::InvalidRequest(_) => (
            "invalid_request",
            Some(format!(
                "Bearer realm=\"{}\", error=\"invalid_request\", error_description=\"{}\"",
                quoted(realm),
                quoted(&desc)
            )),
        ),
        Rejection::NoToken => ("unauthorized", Some(format!("Bearer realm=\"{}\"", quoted(realm)))),
        Rejection::InvalidToken(_) => (
            "invalid_token",
            Some(format!(
                "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{}\"",
                quoted(realm),
                quoted(&desc)
            )),
        ),
        Rejection::InsufficientScope { required } => (
            "insufficient_scope",
            Some(format!(
                "Bearer realm=\"{}\", error=\"insufficient_scope\", scope=\"{}\", error_description=\"{}\"",
                quoted(realm),
                quoted(&required.join(" ")),
                quoted(&desc)
            )),
        ),
        Rejection::HttpsRequired => ("https_required", None),
        Rejection::Binding(b) => (
            b.code,
            match (&b.dpop_algs, b.status) {
                (_, 503) => None,
                (Some(algs), _) => Some(format!(
                    "DPoP algs=\"{}\", error=\"{}\", error_description=\"{}\"",
                    quoted(algs),
                    b.code,
                    quoted(&desc)
                )),
                (None, _) => Some(format!(
                    "Bearer realm=\"{}\", error=\"{}\", error_description=\"{}\"",
                    quoted(realm),
                    b.code,
                    quoted(&desc)
                )),
            },
        ),
        Rejection::KeysUnavailable | Rejection::IntrospectionUnavailable => {
            ("temporarily_unavailable", None)
        }
        Rejection::UpstreamTokenUnavailable { .. } => ("upstream_token_unavailable", None),
    };
    let mut body = serde_json::json!({ "error": code, "error_description": desc });
    if let Rejection::UpstreamTokenUnavailable { source, code, .. } = r {
        body["token_source"] = source.as_str().into();
        body["token_error"] = code.as_str().into();
    }
    let body = body.to_string();
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("cache-control".to_owned(), "no-store".to_owned()),
    ];
    if let Some(c) = challenge {
        headers.push(("www-authenticate".to_owned(), c));
    }
    if let Rejection::Binding(BindingFailure {
        dpop_nonce: Some(n),
        ..
    }) = r
    {
        headers.push(("dpop-nonce".to_owned(), n.clone()));
    }
    if r.status() == 503 {
        headers.push(("retry-after".to_owned(), "5".to_owned()));
    }
    LocalReply {
        status: r.status(),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::{RequestError, TokenError};

    #[test]
    fn pinggateway_formats() {
        let r = reply("api", &Rejection::NoToken);
        assert_eq!(r.status, 401);
        assert_eq!(r.header("WWW-Authenticate"), Some("Bearer realm=\"api\""));
        let r = reply(
            "api",
            &Rejection::InvalidRequest(RequestError::MultipleAuthorization),
        );
        assert_eq!(r.status, 400);
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=\"api\", error=\"invalid_request\""));
        let r = reply("api", &Rejection::InvalidToken(TokenError::BadSignature));
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"invalid signature\"")
        );
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["error"], "invalid_token");
        let r = reply(
            "api",
            &Rejection::InsufficientScope {
                required: vec!["a".into(), "b".into()],
            },
        );
        assert_eq!(r.status, 403);
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"a b\""));
        let r = reply("api", &Rejection::KeysUnavailable);
        assert_eq!(r.status, 503);
        assert_eq!(r.header("www-authenticate"), None);
    }
}
