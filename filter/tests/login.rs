//! Browser login through the core with a virtual clock: the redirect (PKCE
//! S256, state, nonce, transaction cookie), the callback (state check, code
//! exchange, ID-token checks), the session cookie (forwarding, idle and
//! absolute lifetimes, tampering, key rotation), the refresh (one call for
//! concurrent requests of a session, the new cookie on the response) and
//! logout (revocation, end-session redirect, cross-site refusal).
//!
//! The ID tokens here are signed in the test (Ed25519) because their
//! `nonce` is only known at run time; the ID-token checks themselves are
//! held to tokens made by jwcrypto in `login_vectors.rs`.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{form, member, Decision, Worker};
use ed25519_dalek::{Signer, SigningKey};
use oauth_filter::core::config::{self, FilterConfig};
use oauth_filter::core::jose::jws::Alg;
use oauth_filter::core::login::authorize::code_challenge;
use oauth_filter::core::login::id_token::at_hash;
use oauth_filter::core::response::LocalReply;
use oauth_filter::core::shared::MemoryStore;
use oauth_filter::core::{Callout, CalloutResponse, RequestView, UnixMillis, WaitFor};
use serde_json::{json, Value};

const T0: UnixMillis = UnixMillis(1_800_000_000_000);
const ISS: &str = "https://as.test";
const KEY_A: &str = "session-key-A-0123456789abcdef0123456789";
const KEY_B: &str = "session-key-B-0123456789abcdef0123456789";

fn at(s: u64) -> UnixMillis {
    T0.plus_ms(s * 1000)
}

fn signer() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn cfg_with(keys: &[&str]) -> FilterConfig {
    let x = URL_SAFE_NO_PAD.encode(signer().verifying_key().to_bytes());
    config::parse(
        json!({"login": {
            "registrations": [{
                "name": "as",
                "issuer": ISS,
                "client_auth": {"method": "client_secret_basic", "client_id": "web",
                                "client_secret": "web-secret"},
                "authorization_endpoint": "https://as.test/authorize",
                "token_endpoint": {"uri": "https://as.test/token", "cluster": "as"},
                "revocation_endpoint": {"uri": "https://as.test/revoke", "cluster": "as"},
                "end_session_endpoint": "https://as.test/logout",
                "jwks": {"inline": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"}]}},
                "scopes": ["email"],
            }],
            "routes": [{"path_prefix": "/app"}],
            "session": {"keys": keys, "danger_insecure_cookies": true,
                        "idle_timeout_s": 600, "max_lifetime_s": 3600, "refresh_margin_s": 30},
            "upstream": {"claim_headers": {"x-user": "sub", "x-email": "email"}},
        }})
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

fn cfg() -> FilterConfig {
    cfg_with(&[KEY_A])
}

fn id_token(nonce: &str, access_token: &str, now: UnixMillis, extra: Value) -> String {
    let mut claims = json!({
        "iss": ISS, "sub": "alice", "aud": "web", "email": "alice@example.test",
        "iat": now.0 / 1000, "exp": now.0 / 1000 + 300, "nonce": nonce,
        "at_hash": at_hash(Alg::EdDsa, access_token),
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        claims[k] = v;
    }
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "kid": "k1"}).to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{h}.{p}");
    let sig = URL_SAFE_NO_PAD.encode(signer().sign(input.as_bytes()).to_bytes());
    format!("{input}.{sig}")
}

fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get<'a>(path: &'a str, hs: &'a [(String, String)], held: Option<UnixMillis>) -> RequestView<'a> {
    RequestView {
        method: "GET",
        path,
        headers: hs,
        held_since: held,
        connection: Default::default(),
    }
}

/// The AS answers callout `c`.
fn respond(
    w: &mut Worker,
    store: &mut MemoryStore,
    c: &Callout,
    status: u16,
    body: &[u8],
    t: UnixMillis,
) {
    let resp = CalloutResponse {
        status: Some(status),
        headers: &[],
        body,
    };
    w.on_callout_response(c.id, resp, t, store);
}

fn reply(d: Decision) -> LocalReply {
    match d {
        Decision::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn query(url: &str, name: &str) -> String {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.replace("%2F", "/").replace("%3A", ":"))
        .unwrap_or_else(|| panic!("{name} not in {url}"))
}

/// `name=value` of each `set-cookie` (attributes dropped).
fn cookies(hs: &[(String, String)]) -> Vec<(String, String)> {
    hs.iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn cookie_header(list: &[(String, String)]) -> (String, String) {
    let v: Vec<String> = list
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    ("cookie".to_string(), v.join("; "))
}

/// A logged-in browser: its cookies after the whole dance, at `at(0)`.
struct Login {
    w: Worker,
    store: MemoryStore,
    session: Vec<(String, String)>,
}

fn log_in(cfg: FilterConfig, answer_extra: Value) -> Result<Login, LocalReply> {
    let mut w = Worker::new(cfg, "w1");
    let mut store = MemoryStore::default();
    // 1. A navigation without a session: to the AS.
    let hs = headers(&[("sec-fetch-mode", "navigate"), (":authority", "gw.test")]);
    let r = reply(w.on_request(&get("/app/page?x=1", &hs, None), at(0)));
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with("https://as.test/authorize?response_type=code&client_id=web&"));
    assert_eq!(
        query(&loc, "redirect_uri"),
        "http://gw.test/oauth2/callback"
    );
    assert_eq!(query(&loc, "code_challenge_method"), "S256");
    assert_eq!(query(&loc, "scope"), "openid+email");
    let state = query(&loc, "state");
    let nonce = query(&loc, "nonce");
    let challenge = query(&loc, "code_challenge");
    let tx = cookies(&r.headers);
    assert_eq!(tx.len(), 1);
    assert!(tx[0].0.starts_with("oauth_session_tx_"));
    // 2. The callback: the code exchange, held.
    let cb = format!("/oauth2/callback?code=c-1&state={state}");
    let hs = vec![
        (":authority".to_string(), "gw.test".to_string()),
        cookie_header(&tx),
    ];
    assert_eq!(w.on_request(&get(&cb, &hs, None), at(1)), Decision::Pause);
    let Some(WaitFor::Login(seq)) = w.last_wait else {
        panic!("not waiting for the exchange: {:?}", w.last_wait)
    };
    let calls = w.drain_callouts();
    assert_eq!(calls.len(), 1);
    let f = form(&calls[0]);
    assert_eq!(member(&f, "grant_type"), Some("authorization_code"));
    assert_eq!(member(&f, "code"), Some("c-1"));
    assert_eq!(
        member(&f, "redirect_uri"),
        Some("http://gw.test/oauth2/callback")
    );
    let verifier = member(&f, "code_verifier").unwrap();
    assert_eq!(code_challenge(verifier), challenge);
    assert!(calls[0]
        .extra_headers
        .iter()
        .any(|(k, v)| k == "authorization" && v.starts_with("Basic ")));
    // 3. The AS answers.
    let id = id_token(&nonce, "at-1", at(1), answer_extra);
    let body = json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 60,
                      "refresh_token": "rt-1", "id_token": id})
    .to_string()
    .into_bytes();
    respond(&mut w, &mut store, &calls[0], 200, &body, at(1));
    assert_eq!(w.take_ready(), vec![WaitFor::Login(seq)]);
    // 4. The callback again: the session, back to the page.
    let r = reply(w.on_request(&get(&cb, &hs, Some(at(1))), at(1)));
    if r.status != 302 {
        return Err(r);
    }
    assert_eq!(r.header("location"), Some("/app/page?x=1"));
    let set = cookies(&r.headers);
    assert!(
        set.iter().any(|(k, v)| k == &tx[0].0 && v.is_empty()),
        "transaction cookie cleared"
    );
    let session: Vec<(String, String)> = set
        .into_iter()
        .filter(|(k, v)| k.starts_with("oauth_session") && !k.contains("_tx_") && !v.is_empty())
        .collect();
    assert_eq!(session.len(), 1, "{session:?}");
    Ok(Login { w, store, session })
}

#[test]
fn a_login_forwards_the_token_and_claims_and_keeps_the_session_out_of_the_upstream() {
    let mut l = log_in(cfg(), json!({})).unwrap();
    let (_, sealed) = &l.session[0];
    assert!(!sealed.contains("at-1") && !sealed.contains("rt-1"));
    let mut c = cookie_header(&l.session);
    c.1.push_str("; app=1");
    let hs = vec![c, ("x_user".into(), "mallory".into())];
    let Decision::Continue(edits) = l.w.on_request(&get("/app/other", &hs, None), at(2)) else {
        panic!("not forwarded")
    };
    let set = |n: &str| {
        edits
            .set
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(set("authorization"), Some("Bearer at-1"));
    assert_eq!(set("x-user"), Some("alice"));
    assert_eq!(set("x-email"), Some("alice@example.test"));
    assert_eq!(set("cookie"), Some("app=1"));
    assert!(edits.remove.iter().any(|h| h == "x_user"), "{edits:?}");
    // Routes outside `login.routes` are not the login's business.
    let plain = headers(&[]);
    assert!(matches!(
        l.w.on_request(&get("/public", &plain, None), at(2)),
        Decision::Continue(_)
    ));
}

#[test]
fn concurrent_requests_share_one_refresh_and_get_the_new_cookie() {
    let mut l = log_in(cfg(), json!({})).unwrap();
    let hs = vec![cookie_header(&l.session)];
    // 60 s token, 30 s margin: due at 31 s.
    assert_eq!(
        l.w.on_request(&get("/app/a", &hs, None), at(35)),
        Decision::Pause
    );
    let first = l.w.last_wait;
    assert_eq!(
        l.w.on_request(&get("/app/b", &hs, None), at(35)),
        Decision::Pause
    );
    assert_eq!(l.w.last_wait, first);
    let calls = l.w.drain_callouts();
    assert_eq!(calls.len(), 1, "one refresh for both");
    let f = form(&calls[0]);
    assert_eq!(member(&f, "grant_type"), Some("refresh_token"));
    assert_eq!(member(&f, "refresh_token"), Some("rt-1"));
    let body = json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 60})
        .to_string()
        .into_bytes();
    respond(&mut l.w, &mut l.store, &calls[0], 200, &body, at(35));
    for path in ["/app/a", "/app/b"] {
        let Decision::Continue(e) = l.w.on_request(&get(path, &hs, Some(at(35))), at(35)) else {
            panic!("{path} not forwarded after the refresh")
        };
        assert!(e
            .set
            .contains(&("authorization".into(), "Bearer at-2".into())));
        let renewed = cookies(&l.w.response_headers);
        assert!(
            renewed
                .iter()
                .any(|(k, v)| k == "oauth_session" && !v.is_empty()),
            "{path}"
        );
    }
    assert!(l.w.drain_callouts().is_empty());
}

#[test]
fn a_failed_refresh_starts_a_new_login() {
    let mut l = log_in(cfg(), json!({})).unwrap();
    let hs = vec![
        cookie_header(&l.session),
        ("sec-fetch-mode".into(), "navigate".into()),
    ];
    assert_eq!(
        l.w.on_request(&get("/app/a", &hs, None), at(40)),
        Decision::Pause
    );
    let calls = l.w.drain_callouts();
    let body = br#"{"error":"invalid_grant"}"#;
    respond(&mut l.w, &mut l.store, &calls[0], 400, body, at(40));
    let r = reply(l.w.on_request(&get("/app/a", &hs, Some(at(40))), at(40)));
    assert_eq!(r.status, 302);
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("https://as.test/authorize?"));
}

#[test]
fn idle_absolute_tampered_and_rotated_sessions() {
    let l = log_in(cfg(), json!({})).unwrap();
    let api = |w: &mut Worker, hs: &[(String, String)], t: UnixMillis| {
        let mut hs = hs.to_vec();
        hs.push(("accept".into(), "application/json".into()));
        w.on_request(&get("/app/x", &hs, None), t)
    };
    let hs = vec![cookie_header(&l.session)];
    // Unused for the whole idle timeout (600 s): gone.
    let mut w = Worker::new(cfg(), "w2");
    let r = reply(api(&mut w, &hs, at(601)));
    assert_eq!(r.status, 401);
    assert!(r.body.contains("login_required"));
    // Tampered: every position of the sealed value.
    let sealed = &l.session[0].1;
    for i in (0..sealed.len()).step_by(7) {
        let mut b = sealed.clone().into_bytes();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        let forged = vec![(
            "cookie".to_string(),
            format!("oauth_session={}", String::from_utf8(b).unwrap()),
        )];
        assert_eq!(reply(api(&mut w, &forged, at(2))).status, 401, "byte {i}");
    }
    // Rotation: a new first key, the old one kept: still a session.
    let mut rotated = Worker::new(cfg_with(&[KEY_B, KEY_A]), "w3");
    assert!(matches!(
        api(&mut rotated, &hs, at(2)),
        Decision::Continue(_)
    ));
    // The old key dropped: no session.
    let mut dropped = Worker::new(cfg_with(&[KEY_B]), "w4");
    assert_eq!(reply(api(&mut dropped, &hs, at(2))).status, 401);
}

#[test]
fn id_tokens_that_fail_a_check_end_in_the_failure_answer() {
    for (extra, reason) in [
        (json!({"nonce": "another"}), "id_token_nonce"),
        (json!({"aud": "other-client"}), "id_token_audience"),
        (json!({"aud": ["web", "other"]}), "id_token_audience"),
        (json!({"azp": "other"}), "id_token_audience"),
        (json!({"iss": "https://evil.test"}), "id_token_issuer"),
        (
            json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "id_token_at_hash",
        ),
        (json!({"exp": 1}), "id_token_expired"),
    ] {
        let r = match log_in(cfg(), extra.clone()) {
            Err(r) => r,
            Ok(_) => panic!("{extra} accepted"),
        };
        assert_eq!(r.status, 403, "{extra}");
        assert!(r.body.contains(reason), "{extra}: {}", r.body);
    }
}

#[test]
fn forged_callbacks_open_redirects_and_cross_site_logouts_are_refused() {
    let mut w = Worker::new(cfg(), "w1");
    let hs = headers(&[(":authority", "gw.test")]);
    let r = reply(w.on_request(
        &get(
            "/oauth2/callback?code=x&state=AAAAAAAAAAAAAAAAAAAAAA",
            &hs,
            None,
        ),
        at(0),
    ));
    assert_eq!(r.status, 403);
    assert!(r.body.contains("state_mismatch"));
    assert!(
        w.drain_callouts().is_empty(),
        "no code exchange without a matching state"
    );
    for goto in [
        "https%3A%2F%2Fevil.test%2F",
        "%2F%2Fevil.test",
        "%2F%5Cevil.test",
    ] {
        let p = format!("/oauth2/login?goto={goto}");
        assert_eq!(
            reply(w.on_request(&get(&p, &hs, None), at(0))).status,
            400,
            "{goto}"
        );
    }
    let cross = headers(&[(":authority", "gw.test"), ("sec-fetch-site", "cross-site")]);
    let r = reply(w.on_request(&get("/oauth2/logout", &cross, None), at(0)));
    assert_eq!(r.status, 200);
    assert!(r.body.contains("method=\"post\""));
}

#[test]
fn logout_revokes_the_refresh_token_then_ends_the_session_at_the_as() {
    let mut l = log_in(cfg(), json!({})).unwrap();
    let mut hs = vec![cookie_header(&l.session)];
    hs.push(("sec-fetch-site".into(), "same-origin".into()));
    hs.push((":authority".into(), "gw.test".into()));
    let p = "/oauth2/logout?goto=%2Fbye";
    assert_eq!(l.w.on_request(&get(p, &hs, None), at(5)), Decision::Pause);
    let calls = l.w.drain_callouts();
    let f = form(&calls[0]);
    assert_eq!(member(&f, "token"), Some("rt-1"));
    assert_eq!(member(&f, "token_type_hint"), Some("refresh_token"));
    respond(&mut l.w, &mut l.store, &calls[0], 200, b"", at(5));
    let r = reply(l.w.on_request(&get(p, &hs, Some(at(5))), at(5)));
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with("https://as.test/logout?client_id=web&id_token_hint="),
        "{loc}"
    );
    assert!(
        loc.ends_with("post_logout_redirect_uri=http%3A%2F%2Fgw.test%2Fbye"),
        "{loc}"
    );
    assert!(cookies(&r.headers)
        .iter()
        .any(|(k, v)| k == "oauth_session" && v.is_empty()));
}
