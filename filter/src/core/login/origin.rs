//! The gateway's own origin as the browser sees it, and where a `goto` may
//! send the browser (no open redirect).

use crate::core::config::login::Login;
use crate::core::request::RequestView;

/// `scheme://authority` of the request (or the configured public origin).
pub fn request_origin(login: &Login, req: &RequestView<'_>, trust_forwarded_proto: bool) -> String {
    if let Some(o) = &login.public_origin {
        return o.clone();
    }
    let https = req.connection.tls == Some(true)
        || (trust_forwarded_proto
            && req
                .header("x-forwarded-proto")
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
    let scheme = if https { "https" } else { "http" };
    let authority = req
        .header(":authority")
        .or_else(|| req.header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{}", authority.to_ascii_lowercase())
}

/// The `goto` to use: a path on this origin (`/…`, not `//…` or `/\…`), or
/// an absolute URL on this origin or an allowed one. `None`: refused.
pub fn checked_goto(login: &Login, origin: &str, goto: &str) -> Option<String> {
    if goto.bytes().any(|b| b < b' ' || b == 0x7f || b == b'\\') {
        return None;
    }
    if goto.starts_with('/') {
        return (!goto.starts_with("//")).then(|| goto.to_owned());
    }
    let lower = goto.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if rest[..host_end].contains('@') {
        return None;
    }
    let target_origin = &lower[..lower.len() - rest.len() + host_end];
    let allowed = target_origin == origin || login.goto_allow.iter().any(|o| o == target_origin);
    allowed.then(|| goto.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::parse;

    fn login() -> Login {
        let cfg = parse(
            br#"{"login":{"registrations":[{"name":"as","issuer":"https://as",
            "client_auth":{"method":"client_secret_basic","client_id":"c","client_secret":"s"},
            "authorization_endpoint":"https://as/auth",
            "token_endpoint":{"uri":"https://as/token","cluster":"as"},
            "jwks":{"remote":{"uri":"https://as/jwks","cluster":"as"}}}],
            "session":{"keys":["0123456789abcdef0123456789abcdef"]},
            "goto_allow":["https://app.example"]}}"#,
        )
        .unwrap();
        cfg.login.unwrap()
    }

    #[test]
    fn goto_stays_on_this_origin_or_an_allowed_one() {
        let l = login();
        let o = "https://gw.example";
        for ok in [
            "/",
            "/a?b=c",
            "https://gw.example/x",
            "https://app.example",
            "https://APP.example/y",
        ] {
            assert!(checked_goto(&l, o, ok).is_some(), "{ok}");
        }
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "https://gw.example@evil.example/",
            "https://gw.example.evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/a\r\nSet-Cookie: x=y",
        ] {
            assert!(checked_goto(&l, o, bad).is_none(), "{bad}");
        }
    }
}
