//! Issue 12, browser login: the module as an OpenID Connect relying party,
//! in Envoy (`envoy/login.yaml`) and oauth-host with the same plugin
//! configuration, against the real oidc-provider (`tests/as`: its login
//! and consent pages) and a real browser (Debian Chromium over WebDriver,
//! `oauth_tests::browser`).
//!
//! `#[ignore]`d for a plain `cargo test`; `cargo xtask test` runs it (`--include-ignored`).

use oauth_tests::browser::Browser;
use oauth_tests::peers::{self, AuthServer, AuthServerOptions};
use oauth_tests::two_proxies::Stack;
use serde_json::{json, Value};

/// The sealing key, given to both proxies as a VM environment variable (as
/// `envoy/login.yaml` does).
const ENV: &[(&str, &str)] = &[(
    "LOGIN_SESSION_KEY",
    "e2e-session-key-0123456789abcdef0123456789",
)];

fn registration(auth: &AuthServer, name: &str, client: &str) -> Value {
    let base = auth.issuer();
    json!({
        "name": name,
        "issuer": base,
        "client_auth": {
            "method": "client_secret_basic",
            "client_id": client,
            "client_secret": format!("{client}-secret"),
        },
        "authorization_endpoint": format!("{base}/auth"),
        "token_endpoint": {"uri": format!("{base}/token"), "cluster": "auth_server"},
        "revocation_endpoint": {"uri": format!("{base}/token/revocation"), "cluster": "auth_server"},
        "end_session_endpoint": format!("{base}/session/end"),
        "jwks": {"discovery": {"cluster": "auth_server"}},
        "scopes": ["email", "profile"],
    })
}

fn plugin(auth: &AuthServer) -> Value {
    json!({
        "login": {
            "registrations": [
                registration(auth, "main", "gateway-web"),
                registration(auth, "second", "gateway-web-2"),
            ],
            "routes": [{"path_prefix": "/app"}],
            "session": {
                "keys": [{"env": "LOGIN_SESSION_KEY"}],
                "danger_insecure_cookies": true,
            },
            "upstream": {"claim_headers": {
                "x-user-sub": "sub",
                "x-user-email": "email",
                "x-user-aud": "aud",
            }},
        },
        "tick_ms": 50,
    })
}

fn stack(test: &str) -> Option<Stack> {
    Stack::start_with_env(
        test,
        AuthServerOptions::default(),
        "login.yaml",
        ENV,
        plugin,
    )
}

/// Code exchanges the AS saw for `client`.
fn code_exchanges(auth: &AuthServer, client: &str) -> u64 {
    let counts = auth
        .request("GET", "/_test/token-requests", &[], b"")
        .json();
    counts[format!("{client} authorization_code")]
        .as_u64()
        .unwrap_or(0)
}

/// On the AS's pages: fill the login form as `user` if it is shown, then
/// submit every form (login, consent) until the browser leaves the AS.
fn log_in_at_as(b: &Browser, auth: &AuthServer, user: &str) {
    let as_origin = auth.issuer();
    for _ in 0..6 {
        if !b.url().starts_with(&as_origin) {
            return;
        }
        if b.has("input[name=login]") {
            b.type_into("input[name=login]", user);
            b.type_into("input[name=password]", "any-password");
        }
        b.click("button[type=submit]");
    }
    panic!("still at the AS after six forms: {}", b.url());
}

fn upstream_header(page: &Value, name: &str) -> Option<String> {
    page["headers"][name].as_str().map(str::to_string)
}

#[test]
#[ignore = "end-to-end: needs Envoy, Node and Chromium (cargo xtask test)"]
fn browser_logs_in_reuses_the_session_and_logs_out_through_both_proxies() {
    let Some(s) = stack("browser_login") else {
        return;
    };
    let auth = &s.auth;
    for (proxy, port) in [
        ("envoy", s.envoy.listener_port()),
        ("oauth-host", s.host.port()),
    ] {
        let b = Browser::start();
        let origin = format!("http://127.0.0.1:{port}");
        let before = code_exchanges(auth, "gateway-web");

        // A protected page without a session: the AS's login page.
        b.goto(&format!("{origin}/app/page?x=1"));
        assert!(
            b.url().starts_with(&auth.issuer()),
            "{proxy}: not sent to the AS: {}",
            b.url()
        );
        assert!(b.has("input[name=login]"), "{proxy}: no login form");
        log_in_at_as(&b, auth, "alice");

        // Back on the original URL, the user's identity upstream.
        assert_eq!(b.url(), format!("{origin}/app/page?x=1"), "{proxy}");
        let page = b.json();
        assert_eq!(page["path"], "/app/page?x=1", "{proxy}: {page}");
        assert_eq!(
            upstream_header(&page, "x-user-sub").as_deref(),
            Some("alice"),
            "{proxy}"
        );
        assert_eq!(
            upstream_header(&page, "x-user-email").as_deref(),
            Some("alice@example.test"),
            "{proxy}"
        );
        assert_eq!(
            upstream_header(&page, "x-user-aud").as_deref(),
            Some("gateway-web")
        );
        let bearer = upstream_header(&page, "authorization").unwrap_or_default();
        assert!(bearer.starts_with("Bearer "), "{proxy}: {page}");
        // The session cookie stays between the browser and the gateway.
        let cookie = upstream_header(&page, "cookie").unwrap_or_default();
        assert!(!cookie.contains("oauth_session"), "{proxy}: {cookie}");
        assert_eq!(code_exchanges(auth, "gateway-web"), before + 1, "{proxy}");

        // The session cookie: HttpOnly, SameSite=Lax, sealed.
        let cookies = b.cookies();
        let session = cookies
            .iter()
            .find(|c| c["name"] == "oauth_session")
            .unwrap_or_else(|| panic!("{proxy}: no session cookie: {cookies:?}"));
        assert_eq!(session["httpOnly"], true, "{proxy}");
        assert_eq!(session["sameSite"], "Lax", "{proxy}");
        let sealed = session["value"].as_str().unwrap_or_default().to_string();
        assert!(!sealed.contains(bearer.trim_start_matches("Bearer ")));

        // A second page: the same session, no call to the AS.
        b.goto(&format!("{origin}/app/other"));
        assert_eq!(b.url(), format!("{origin}/app/other"), "{proxy}");
        assert_eq!(
            upstream_header(&b.json(), "x-user-sub").as_deref(),
            Some("alice")
        );
        assert_eq!(code_exchanges(auth, "gateway-web"), before + 1, "{proxy}");

        // A tampered cookie is no session: a new login (the AS still knows
        // the browser, so it answers at once) and a new code exchange.
        let mut forged = sealed.clone().into_bytes();
        let i = forged.len() / 2;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        b.set_cookie("oauth_session", &String::from_utf8(forged).unwrap());
        b.goto(&format!("{origin}/app/again"));
        log_in_at_as(&b, auth, "alice");
        assert_eq!(b.url(), format!("{origin}/app/again"), "{proxy}");
        assert_eq!(code_exchanges(auth, "gateway-web"), before + 2, "{proxy}");

        // The second registration, chosen on the login endpoint.
        let before2 = code_exchanges(auth, "gateway-web-2");
        b.goto(&format!(
            "{origin}/oauth2/login?registration=second&goto=%2Fapp%2Ftwo"
        ));
        log_in_at_as(&b, auth, "alice");
        assert_eq!(b.url(), format!("{origin}/app/two"), "{proxy}");
        assert_eq!(
            upstream_header(&b.json(), "x-user-aud").as_deref(),
            Some("gateway-web-2"),
            "{proxy}"
        );
        assert_eq!(
            code_exchanges(auth, "gateway-web-2"),
            before2 + 1,
            "{proxy}"
        );

        // Logout (typed in the address bar: Sec-Fetch-Site none): the
        // tokens are revoked, the AS ends its session, and the next page
        // asks for a login again.
        const REVOKED: &str = "AS event refresh_token.destroyed";
        let revoked_before = auth.log().matches(REVOKED).count();
        b.goto(&format!("{origin}/oauth2/logout?goto=%2Fapp%2Fbye"));
        assert!(
            auth.log().matches(REVOKED).count() > revoked_before,
            "{proxy}: the AS saw no revocation:\n{}",
            auth.log()
        );
        // The AS's end-session page asks to confirm.
        if b.url().starts_with(&auth.issuer()) && !b.has("input[name=login]") {
            b.click("button[type=submit], button[autofocus]");
        }
        assert!(
            !b.cookies().iter().any(|c| c["name"] == "oauth_session"),
            "{proxy}: session cookie left after logout"
        );
        assert!(
            b.url().starts_with(&auth.issuer()) && b.has("input[name=login]"),
            "{proxy}: after logout, not at the AS's login form: {}",
            b.url()
        );
    }
}

#[test]
#[ignore = "end-to-end: needs Envoy, Node and Chromium (cargo xtask test)"]
fn non_browser_requests_and_forged_callbacks_are_refused_alike() {
    let Some(s) = stack("login_refusals") else {
        return;
    };
    // An API call without a session: 401, not a redirect.
    let o = s.get("/app/data", &[("accept", "application/json")]);
    assert_eq!(o.status, 401);
    assert!(o
        .www_authenticate
        .as_deref()
        .unwrap_or("")
        .contains("login_uri"));
    // A navigation: 302 to the AS with PKCE S256, state and nonce.
    for (proxy, port) in [
        ("envoy", s.envoy.listener_port()),
        ("oauth-host", s.host.port()),
    ] {
        let r = peers::http_request(
            port,
            "GET",
            "/app/x",
            &[("sec-fetch-mode", "navigate")],
            b"",
        )
        .unwrap();
        assert_eq!(r.status, 302, "{proxy}");
        let loc = r.header("location").unwrap_or_default().to_string();
        assert!(
            loc.starts_with(&format!("{}/auth?", s.auth.issuer())),
            "{proxy}: {loc}"
        );
        for p in [
            "code_challenge_method=S256",
            "state=",
            "nonce=",
            "response_type=code",
        ] {
            assert!(loc.contains(p), "{proxy}: {p} missing in {loc}");
        }
        let set = r.header("set-cookie").unwrap_or_default().to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{proxy}: {set}"
        );
        // A callback with a state the browser never got: refused.
        let forged = peers::http_request(
            port,
            "GET",
            "/oauth2/callback?state=AAAAAAAAAAAAAAAAAAAAAA&code=x",
            &[],
            b"",
        )
        .unwrap();
        assert_eq!(forged.status, 403, "{proxy}");
        assert!(forged.text().contains("state_mismatch"), "{proxy}");
        // An open redirect is refused.
        let open = peers::http_request(
            port,
            "GET",
            "/oauth2/login?goto=https%3A%2F%2Fevil.example%2F",
            &[],
            b"",
        )
        .unwrap();
        assert_eq!(open.status, 400, "{proxy}");
        // Logout from another site: a GET gets a confirmation page, a POST
        // from another origin is refused.
        let cross = peers::http_request(
            port,
            "GET",
            "/oauth2/logout",
            &[("sec-fetch-site", "cross-site")],
            b"",
        )
        .unwrap();
        assert_eq!(cross.status, 200, "{proxy}");
        assert!(cross.text().contains("<form method=\"post\""), "{proxy}");
        let post = peers::http_request(
            port,
            "POST",
            "/oauth2/logout",
            &[("origin", "https://evil.example")],
            b"",
        )
        .unwrap();
        assert_eq!(post.status, 403, "{proxy}");
    }
}
