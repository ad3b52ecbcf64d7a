//! What a refusal finally looks like: the configured failure response for
//! its class (PingGateway's failure handlers: status, headers, a body
//! template or a redirect), keeping the RFC 6750 / RFC 9449 challenge, and
//! the RFC 9728 `resource_metadata` parameter in 401 challenges. Also the
//! metadata document itself.

use super::config::responses::{FailureResponse, ResourceMetadata};
use super::config::FilterConfig;
use super::error::Rejection;
use super::response::LocalReply;
use super::util::form::form_urlencode;

/// The class of a refusal, as `failure_responses` names it.
pub fn class(r: &Rejection) -> &'static str {
    match r {
        Rejection::NoToken => "no_token",
        Rejection::InvalidRequest(_) | Rejection::HttpsRequired => "invalid_request",
        Rejection::InvalidToken(_) => "invalid_token",
        Rejection::Binding(b) if b.status == 503 => "unavailable",
        Rejection::Binding(_) => "invalid_token",
        Rejection::InsufficientScope { .. } => "insufficient_scope",
        Rejection::KeysUnavailable | Rejection::IntrospectionUnavailable => "unavailable",
        Rejection::UpstreamTokenUnavailable { .. } => "client_grant_failure",
    }
}

/// Apply the configuration to the reply for `r`.
pub fn finish(cfg: &FilterConfig, r: &Rejection, mut reply: LocalReply) -> LocalReply {
    if let Some(m) = &cfg.resource_metadata {
        if reply.status == 401 {
            for (k, v) in reply.headers.iter_mut() {
                if k == "www-authenticate" {
                    v.push_str(&format!(", resource_metadata=\"{}\"", m.url));
                }
            }
        }
    }
    match cfg.failure_responses.get(class(r)) {
        Some(f) => custom(cfg, r, f, reply),
        None => reply,
    }
}

fn custom(cfg: &FilterConfig, r: &Rejection, f: &FailureResponse, reply: LocalReply) -> LocalReply {
    let scope = match r {
        Rejection::InsufficientScope { required } => required.join(" "),
        _ => String::new(),
    };
    let desc = r.describe();
    let vars = |escape: &dyn Fn(&str) -> String| {
        [
            ("{error}", escape(error_code(&reply))),
            ("{error_description}", escape(&desc)),
            ("{status}", reply.status.to_string()),
            ("{realm}", escape(&cfg.raw.realm)),
            ("{scope}", escape(&scope)),
        ]
    };
    // Challenges and retry hints stay; the body's own headers go.
    let mut headers: Vec<(String, String)> = reply
        .headers
        .iter()
        .filter(|(k, _)| k != "content-type")
        .cloned()
        .collect();
    headers.extend(f.headers.iter().cloned());
    if let Some(template) = &f.redirect {
        let location = fill(template, &vars(&form_urlencode));
        headers.push(("location".to_owned(), location));
        return LocalReply {
            status: f.status.unwrap_or(302),
            headers,
            body: String::new(),
        };
    }
    let body = match &f.body {
        Some((template, content_type)) => {
            let escape: &dyn Fn(&str) -> String = if content_type.contains("json") {
                &json_escape
            } else {
                &html_escape
            };
            headers.push(("content-type".to_owned(), content_type.clone()));
            fill(template, &vars(escape))
        }
        None => {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            reply.body.clone()
        }
    };
    LocalReply {
        status: f.status.unwrap_or(reply.status),
        headers,
        body,
    }
}

/// The `error` member of a reply's JSON body.
fn error_code(reply: &LocalReply) -> &str {
    // Bodies built by `response::reply` are `{"error":"…",…}`.
    reply
        .body
        .split("\"error\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
}

fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(k, v);
    }
    out
}

fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The metadata document's reply, for a `GET`/`HEAD` of its path.
pub fn metadata_reply(
    m: &ResourceMetadata,
    method: &str,
    normalized_path: &str,
) -> Option<LocalReply> {
    if normalized_path != m.path
        || !(method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
    {
        return None;
    }
    Some(LocalReply {
        status: 200,
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("cache-control".to_owned(), "max-age=3600".to_owned()),
        ],
        body: m.document.clone(),
    })
}
