//! Browser login: the gateway as an OpenID Connect relying party
//! (authorization code with PKCE, `state` and `nonce`), with the session in
//! sealed cookies. PingGateway's AuthorizationCodeOAuth2ClientFilter,
//! Envoy's `oauth2` filter.
//!
//! - `<prefix>/login?registration=&goto=` starts a login ([`authorize`]);
//! - `<prefix>/callback` checks `state` against the transaction cookie,
//!   exchanges the code ([`exchange`]), checks the ID token ([`id_token`])
//!   and sets the session cookie ([`session`], [`seal`], [`cookies`]);
//! - `<prefix>/logout` revokes the tokens, clears the session and sends the
//!   browser to the end-session endpoint;
//! - a protected request with a session goes upstream with the access
//!   token (refreshed before it expires, one refresh per session at a
//!   time); without one it is sent to log in (or gets 401).
//!
//! [`LoginState`] is one worker's part: the randomness and the calls under
//! way. Everything else is in the cookies.

pub mod authorize;
pub mod cookies;
pub mod exchange;
pub mod id_token;
pub mod origin;
pub mod rng;
pub mod seal;
pub mod session;

use serde_json::Value;

use self::exchange::{Answer, Exchanges, Key, Status};
use self::id_token::Expect;
use self::rng::Rng;
use self::session::{open_json, seal_json, Session, Transaction};
use super::callout::CalloutResponse;
use super::client::answer::TokenAnswer;
use super::config::login::{Login, Registration, RequireLogin};
use super::events::{Event, Level, Metric};
use super::held::WaitFor;
use super::io::Io;
use super::jose::verify::Verifier;
use super::request::RequestView;
use super::resource::keys::{KeyLookup, KeyManager};
use super::response::{HeaderEdits, LocalReply};
use super::util::form::parse_query;
use super::util::header::spellings;
use super::util::time::UnixMillis;

/// How long a login may take between the redirect and the callback.
pub const TRANSACTION_S: u64 = 600;
/// How long a held callback or refresh may wait for its call.
const HOLD_MS: u64 = 2 * exchange::TIMEOUT_MS;

/// What the login stage did with a request.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Not a login request and not a protected one: the other stages
    /// decide.
    NotMine,
    /// Forward with these edits; `set_cookies` go on the response.
    Forward {
        /// Request header edits.
        edits: HeaderEdits,
        /// `Set-Cookie` values for the upstream's response.
        set_cookies: Vec<String>,
    },
    /// Answer here.
    Reply(LocalReply),
    /// Hold until this arrives.
    Wait(WaitFor),
}

/// One worker's login state.
#[derive(Debug)]
pub struct LoginState {
    rng: Rng,
    calls: Exchanges,
}

/// What the stage reads besides the configuration.
pub struct Cx<'a> {
    /// The `login` section.
    pub login: &'a Login,
    /// Key sets (the registrations' ID-token keys follow the providers).
    pub keys: &'a mut KeyManager,
    /// Index of the first registration's keys in `keys`.
    pub key_base: usize,
    /// Signature verification.
    pub verifier: &'a Verifier,
    /// Believe `x-forwarded-proto`.
    pub trust_forwarded_proto: bool,
}

impl LoginState {
    /// A state drawing randomness from `seed` (32 bytes from the host).
    pub fn new(seed: [u8; 32]) -> LoginState {
        LoginState {
            rng: Rng::new(seed),
            calls: Exchanges::default(),
        }
    }

    /// The periodic tick: forget old answers.
    pub fn on_tick(&mut self, now: UnixMillis) {
        self.calls.expire(now);
    }

    /// A login call answered (status `None`: failed).
    pub fn on_response(
        &mut self,
        seq: u64,
        revocation: bool,
        resp: CalloutResponse<'_>,
        io: &mut Io<'_>,
    ) {
        let answer = if revocation {
            exchange::revocation_answer(resp)
        } else {
            exchange::token_answer(resp)
        };
        if self.calls.finish(seq, answer, io.now) {
            io.out.ready(WaitFor::Login(seq));
        }
    }

    /// Whether call `seq` is a revocation (its answer is read as one).
    pub fn is_revocation(&self, seq: u64) -> bool {
        self.calls
            .key_of(seq)
            .is_some_and(|k| matches!(k, Key::Revoke(_)))
    }

    /// A login call that will never be answered.
    pub fn abandon(&mut self, seq: u64, io: &mut Io<'_>) {
        let failed = CalloutResponse {
            status: None,
            headers: &[],
            body: &[],
        };
        let revocation = self.is_revocation(seq);
        self.on_response(seq, revocation, failed, io);
    }

    /// The login stage for one request (`path`: checked and normalised).
    pub fn stage(
        &mut self,
        cx: &mut Cx<'_>,
        req: &RequestView<'_>,
        path: &str,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        let login = cx.login;
        let origin = origin::request_origin(login, req, cx.trust_forwarded_proto);
        if let Some(rest) = path.strip_prefix(login.prefix.as_str()) {
            if rest.is_empty() || rest.starts_with('/') {
                return LoginOutcome::Reply(match rest {
                    "/login" => self.login_endpoint(cx, req, &origin, io),
                    "/callback" => return self.callback(cx, req, &origin, io),
                    "/logout" => return self.logout(cx, req, &origin, io),
                    _ => json_reply(404, "not_found", "no such login endpoint"),
                });
            }
        }
        let protected =
            login.routes.is_empty() || login.routes.iter().any(|r| r.matches(req.method, path));
        if !protected {
            return LoginOutcome::NotMine;
        }
        self.protected(cx, req, &origin, io)
    }

    fn login_endpoint(
        &mut self,
        cx: &Cx<'_>,
        req: &RequestView<'_>,
        origin: &str,
        io: &mut Io<'_>,
    ) -> LocalReply {
        if !matches!(req.method, "GET" | "HEAD") {
            return json_reply(405, "invalid_request", "use GET");
        }
        let Some(q) = parse_query(req.path) else {
            return json_reply(400, "invalid_request", "malformed query");
        };
        let param = |n: &str| param(&q, n);
        let reg = match param("registration") {
            None => cx.login.default_registration,
            Some(name) => match cx.login.registrations.iter().position(|r| r.name == name) {
                Some(i) => i,
                None => return json_reply(400, "invalid_request", "unknown registration"),
            },
        };
        let Some(goto) = origin::checked_goto(cx.login, origin, param("goto").unwrap_or("/"))
        else {
            return json_reply(400, "invalid_request", "goto is not an allowed URL");
        };
        self.start_login(cx.login, reg, origin, goto, io)
    }

    /// The redirect to the authorization server, with the transaction cookie.
    fn start_login(
        &mut self,
        login: &Login,
        reg: usize,
        origin: &str,
        goto: String,
        io: &mut Io<'_>,
    ) -> LocalReply {
        let Some(r) = login.registrations.get(reg) else {
            return json_reply(500, "server_error", "no registration");
        };
        let tx = Transaction {
            state: self.rng.token(32),
            nonce: self.rng.token(32),
            verifier: self.rng.token(32),
            goto,
            reg: r.name.clone(),
            created: io.now.0,
        };
        let name = tx_cookie(login, &tx.state);
        let Some(sealed) = seal_json(&login.keys, &name, &tx, &mut self.rng) else {
            return json_reply(500, "server_error", "sealing failed");
        };
        let location = authorize::url(r, &redirect_uri(login, origin), &tx);
        io.out
            .event(Event::Metric(Metric::Denied("login_required")));
        let mut reply = redirect(&location);
        reply.headers.push((
            "set-cookie".into(),
            cookies::short(login, &name, &sealed, &login.prefix, TRANSACTION_S),
        ));
        reply
    }

    fn callback(
        &mut self,
        cx: &mut Cx<'_>,
        req: &RequestView<'_>,
        origin: &str,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        let login = cx.login;
        let q = parse_query(req.path).unwrap_or_default();
        let param = |n: &str| param(&q, n);
        let Some(state) = param("state").filter(|s| s.len() >= 16 && s.len() <= 128) else {
            return self.fail(login, "invalid_state", None, io);
        };
        let name = tx_cookie(login, state);
        let clear_tx = cookies::clear(login, &name, &login.prefix);
        let tx: Option<Transaction> =
            cookies::get(req.headers, &name).and_then(|v| open_json(&login.keys, &name, v));
        let tx = match tx {
            Some(t)
                if id_token::constant_eq(&t.state, state)
                    && io.now.0.saturating_sub(t.created) < TRANSACTION_S * 1000 =>
            {
                t
            }
            _ => return self.fail(login, "state_mismatch", Some(clear_tx), io),
        };
        if let Some(e) = param("error") {
            let code = oauth_code(e);
            return self.fail(login, code, Some(clear_tx), io);
        }
        let Some(code) = param("code").filter(|c| !c.is_empty() && c.len() <= 4096) else {
            return self.fail(login, "no_code", Some(clear_tx), io);
        };
        let Some(reg_idx) = login.registrations.iter().position(|r| r.name == tx.reg) else {
            return self.fail(login, "unknown_registration", Some(clear_tx), io);
        };
        let reg = &login.registrations[reg_idx];
        let key = Key::Code(tx.state.clone());
        let answer = match self.calls.status(&key) {
            Status::None => {
                if req.held_since.is_some() {
                    // Its call was given up (expired entry): not again.
                    return self.fail(login, "token_timeout", Some(clear_tx), io);
                }
                let form = vec![
                    ("grant_type".into(), "authorization_code".into()),
                    ("code".into(), code.to_owned()),
                    ("redirect_uri".into(), redirect_uri(login, origin)),
                    ("code_verifier".into(), tx.verifier.clone()),
                    ("client_id".into(), reg.auth.client_id().to_owned()),
                ];
                return self.call(reg, &reg.token_endpoint, key, form, io);
            }
            Status::InFlight(seq) => {
                return if self.held_too_long(req, io.now) {
                    self.fail(login, "token_timeout", Some(clear_tx), io)
                } else {
                    LoginOutcome::Wait(WaitFor::Login(seq))
                };
            }
            Status::Done(a) => a,
        };
        let tokens = match answer {
            Answer::Tokens(Ok(t)) => t,
            Answer::Tokens(Err(f)) => {
                self.calls.take(&key);
                io.out.event(Event::Log(
                    Level::Warn,
                    format!(
                        "login ({}): code exchange failed: {}",
                        reg.name,
                        f.describe()
                    ),
                ));
                return self.fail(login, "token_error", Some(clear_tx), io);
            }
            Answer::Revoked(_) => {
                self.calls.take(&key);
                return self.fail(login, "token_error", Some(clear_tx), io);
            }
        };
        let claims_ok = match self.check_id_token(cx, reg_idx, &tokens, Some(&tx.nonce), req, io) {
            Ok(ok) => ok,
            Err(outcome) => return outcome,
        };
        // Used once: a replayed callback finds no answer.
        self.calls.take(&key);
        if let Err(reason) = claims_ok {
            io.out.event(Event::Log(
                Level::Warn,
                format!("login ({}): ID token refused: {reason}", reg.name),
            ));
            return self.fail(login, reason, Some(clear_tx), io);
        }
        let session = Session {
            reg: reg.name.clone(),
            sid: self.rng.token(16),
            at_exp: expiry(&tokens, io.now),
            at: tokens.access_token,
            rt: tokens.refresh_token,
            it: tokens.id_token,
            created: io.now.0,
            seen: io.now.0,
        };
        let Some(mut set) = self.session_cookies(login, &session) else {
            return self.fail(login, "session_too_large", Some(clear_tx), io);
        };
        set.push(clear_tx);
        io.out.event(Event::Log(
            Level::Info,
            format!("login ({}): session started", reg.name),
        ));
        let mut reply = redirect(&tx.goto);
        reply
            .headers
            .extend(set.into_iter().map(|c| ("set-cookie".to_owned(), c)));
        LoginOutcome::Reply(reply)
    }

    /// The ID token of `tokens`, checked (the outer `Err` is an outcome:
    /// wait for keys, or keys unavailable).
    fn check_id_token(
        &mut self,
        cx: &mut Cx<'_>,
        reg_idx: usize,
        tokens: &TokenAnswer,
        nonce: Option<&str>,
        req: &RequestView<'_>,
        io: &mut Io<'_>,
    ) -> Result<Result<(), &'static str>, LoginOutcome> {
        let reg = &cx.login.registrations[reg_idx];
        let Some(it) = &tokens.id_token else {
            // A refresh may leave the ID token out; a login may not.
            return Ok(if nonce.is_some() {
                Err("no_id_token")
            } else {
                Ok(())
            });
        };
        let idx = cx.key_base + reg_idx;
        let set = match cx.keys.lookup(idx) {
            KeyLookup::Ready(set) => set,
            KeyLookup::Loading if !self.held_too_long(req, io.now) => {
                return Err(LoginOutcome::Wait(WaitFor::Keys(idx)))
            }
            KeyLookup::Loading | KeyLookup::Unavailable => {
                return Err(self.fail(cx.login, "keys_unavailable", None, io))
            }
        };
        let expect = Expect {
            nonce,
            access_token: &tokens.access_token,
            now: io.now,
        };
        let checked = id_token::check(it, reg, &set, cx.verifier, expect);
        if checked == Err(id_token::IdTokenError::NoMatchingKey)
            && !self.held_too_long(req, io.now)
            && cx.keys.request_refetch(idx, io.now)
        {
            // A new signing key: fetch the set again, once.
            return Err(LoginOutcome::Wait(WaitFor::Keys(idx)));
        }
        Ok(checked.map(|_| ()).map_err(|e| e.reason()))
    }

    fn logout(
        &mut self,
        cx: &mut Cx<'_>,
        req: &RequestView<'_>,
        origin: &str,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        let login = cx.login;
        let q = parse_query(req.path).unwrap_or_default();
        let goto_param = param(&q, "goto").unwrap_or("/");
        let Some(goto) = origin::checked_goto(login, origin, goto_param) else {
            return LoginOutcome::Reply(json_reply(
                400,
                "invalid_request",
                "goto is not an allowed URL",
            ));
        };
        match logout_allowed(req, origin) {
            LogoutCheck::Allowed => {}
            LogoutCheck::Confirm => {
                return LoginOutcome::Reply(confirm_page(&login.prefix, &goto));
            }
            LogoutCheck::Refused => {
                return LoginOutcome::Reply(json_reply(
                    403,
                    "invalid_request",
                    "logout from another site",
                ))
            }
        }
        let mut set =
            cookies::clear_chunked(login, req.headers, &login.cookie_name, &login.cookie_path);
        let Some(session) = self.read_session(login, req.headers) else {
            let mut r = redirect(&goto);
            r.headers
                .extend(set.into_iter().map(|c| ("set-cookie".to_owned(), c)));
            return LoginOutcome::Reply(r);
        };
        let Some(reg) = login.registrations.iter().find(|r| r.name == session.reg) else {
            return LoginOutcome::Reply(redirect(&goto));
        };
        if let Some(target) = &reg.revocation_endpoint {
            let key = Key::Revoke(session.sid.clone());
            match self.calls.status(&key) {
                Status::None if req.held_since.is_none() => {
                    let (token, hint) = match &session.rt {
                        Some(rt) => (rt.clone(), "refresh_token"),
                        None => (session.at.clone(), "access_token"),
                    };
                    let form = vec![
                        ("token".into(), token),
                        ("token_type_hint".into(), hint.into()),
                        ("client_id".into(), reg.auth.client_id().to_owned()),
                    ];
                    return self.call(reg, target, key, form, io);
                }
                Status::InFlight(seq) if !self.held_too_long(req, io.now) => {
                    return LoginOutcome::Wait(WaitFor::Login(seq));
                }
                Status::Done(Answer::Revoked(true)) => self.calls.take(&key),
                _ => {
                    self.calls.take(&key);
                    io.out.event(Event::Log(
                        Level::Warn,
                        format!("logout ({}): token revocation failed", reg.name),
                    ));
                }
            }
        }
        io.out.event(Event::Log(
            Level::Info,
            format!("logout ({}): session ended", reg.name),
        ));
        let location = match &reg.end_session_endpoint {
            Some(end) => authorize::end_session_url(end, reg, session.it.as_deref(), &goto, origin),
            None => goto,
        };
        let mut r = redirect(&location);
        set.dedup();
        r.headers
            .extend(set.into_iter().map(|c| ("set-cookie".to_owned(), c)));
        LoginOutcome::Reply(r)
    }

    fn protected(
        &mut self,
        cx: &mut Cx<'_>,
        req: &RequestView<'_>,
        origin: &str,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        let login = cx.login;
        let Some(mut session) = self.read_session(login, req.headers) else {
            return self.no_session(login, req, origin, io);
        };
        if session.check(io.now, login.idle_ms, login.max_ms).is_err() {
            return self.no_session(login, req, origin, io);
        }
        let Some(reg_idx) = login
            .registrations
            .iter()
            .position(|r| r.name == session.reg)
        else {
            return self.no_session(login, req, origin, io);
        };
        let mut renewed = false;
        let due = session.at_exp != 0
            && io.now.0.saturating_add(login.refresh_margin_ms) >= session.at_exp;
        if due {
            let Some(rt) = session.rt.clone() else {
                if io.now.0 >= session.at_exp {
                    return self.no_session(login, req, origin, io);
                }
                return self.forward(login, &session, req, io, false);
            };
            let reg = &login.registrations[reg_idx];
            let key = Key::Refresh(session.sid.clone());
            let tokens = match self.calls.status(&key) {
                Status::None => {
                    let form = vec![
                        ("grant_type".into(), "refresh_token".into()),
                        ("refresh_token".into(), rt),
                        ("client_id".into(), reg.auth.client_id().to_owned()),
                    ];
                    return self.call(reg, &reg.token_endpoint, key, form, io);
                }
                Status::InFlight(seq) if !self.held_too_long(req, io.now) => {
                    return LoginOutcome::Wait(WaitFor::Login(seq));
                }
                Status::Done(Answer::Tokens(Ok(t))) => t,
                _ => {
                    io.out.event(Event::Log(
                        Level::Info,
                        format!("login ({}): refresh failed; logging in again", reg.name),
                    ));
                    return self.no_session(login, req, origin, io);
                }
            };
            match self.check_id_token(cx, reg_idx, &tokens, None, req, io) {
                Err(outcome) => return outcome,
                Ok(Err(reason)) => {
                    io.out.event(Event::Log(
                        Level::Warn,
                        format!("login ({}): refreshed ID token refused: {reason}", reg.name),
                    ));
                    return self.no_session(login, req, origin, io);
                }
                Ok(Ok(())) => {}
            }
            session.at_exp = expiry(&tokens, io.now);
            session.at = tokens.access_token;
            session.rt = tokens.refresh_token.or(session.rt);
            session.it = tokens.id_token.or(session.it);
            renewed = true;
        }
        // Rolling idle timeout: the cookie is written again at most every
        // tenth of the idle timeout.
        if io.now.0.saturating_sub(session.seen) >= login.idle_ms / 10 {
            session.seen = io.now.0;
            renewed = true;
        }
        self.forward(login, &session, req, io, renewed)
    }

    fn forward(
        &mut self,
        login: &Login,
        session: &Session,
        req: &RequestView<'_>,
        io: &mut Io<'_>,
        renewed: bool,
    ) -> LoginOutcome {
        let mut edits = HeaderEdits::default();
        let up = &login.upstream;
        if let Some(h) = &up.token_header {
            let v = if h == "authorization" {
                format!("Bearer {}", session.at)
            } else {
                session.at.clone()
            };
            edits.set.push((h.clone(), v));
        }
        let claims = session
            .it
            .as_deref()
            .and_then(id_token::claims_of)
            .unwrap_or_default();
        for (header, claim) in &up.claim_headers {
            // Every spelling a client could send is removed first.
            edits.remove.extend(spellings(header));
            if let Some(v) = claims.get(claim).and_then(header_value) {
                edits.set.push((header.clone(), v));
            }
        }
        if !up.forward_session_cookie {
            let all: Vec<&str> = req.header_values("cookie");
            if !all.is_empty() {
                let joined = all.join("; ");
                match cookies::without(&joined, |n| is_own_cookie(login, n)) {
                    Some(rest) if rest != joined => edits.set.push(("cookie".into(), rest)),
                    Some(_) => {}
                    None => edits.remove.push("cookie".into()),
                }
            }
        }
        let mut set_cookies = Vec::new();
        if renewed {
            match self.session_cookies(login, session) {
                Some(c) => set_cookies = c,
                None => {
                    io.out.event(Event::Log(
                        Level::Warn,
                        "login: renewed session too large for its cookies".into(),
                    ));
                }
            }
        }
        io.out.event(Event::Metric(Metric::Allowed));
        LoginOutcome::Forward { edits, set_cookies }
    }

    /// No valid session: log in (navigations) or 401, as configured.
    fn no_session(
        &mut self,
        login: &Login,
        req: &RequestView<'_>,
        origin: &str,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        let navigation = matches!(req.method, "GET" | "HEAD")
            && (req
                .header("sec-fetch-mode")
                .is_some_and(|m| m.eq_ignore_ascii_case("navigate"))
                || req
                    .header("accept")
                    .is_some_and(|a| a.to_ascii_lowercase().contains("text/html")));
        let redirect_now = match login.require_login {
            RequireLogin::Redirect => true,
            RequireLogin::Unauthorized => false,
            RequireLogin::Auto => navigation,
        };
        let mut clear = Vec::new();
        if cookies::get(req.headers, &login.cookie_name).is_some() {
            clear =
                cookies::clear_chunked(login, req.headers, &login.cookie_name, &login.cookie_path);
        }
        let mut reply = if redirect_now {
            let goto = if matches!(req.method, "GET" | "HEAD") {
                req.path.to_owned()
            } else {
                "/".to_owned()
            };
            self.start_login(login, login.default_registration, origin, goto, io)
        } else {
            io.out
                .event(Event::Metric(Metric::Denied("login_required")));
            let mut r = json_reply(401, "login_required", "log in first");
            r.headers.push((
                "www-authenticate".into(),
                format!(
                    "Bearer realm=\"login\", login_uri=\"{}/login\"",
                    login.prefix
                ),
            ));
            r
        };
        reply
            .headers
            .extend(clear.into_iter().map(|c| ("set-cookie".to_owned(), c)));
        LoginOutcome::Reply(reply)
    }

    fn read_session(&self, login: &Login, headers: &[(String, String)]) -> Option<Session> {
        let sealed = cookies::get_chunked(headers, &login.cookie_name)?;
        open_json(&login.keys, &login.cookie_name, &sealed)
    }

    fn session_cookies(&mut self, login: &Login, session: &Session) -> Option<Vec<String>> {
        let sealed = seal_json(&login.keys, &login.cookie_name, session, &mut self.rng)?;
        cookies::chunked(login, &login.cookie_name, &sealed, &login.cookie_path)
    }

    /// Start call `key` to `target`; its request waits for it.
    fn call(
        &mut self,
        reg: &Registration,
        target: &super::config::login::CalloutTarget,
        key: Key,
        form: Vec<(String, String)>,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        let Some(seq) = self.calls.start(key, io.now) else {
            return LoginOutcome::Reply(json_reply(
                503,
                "temporarily_unavailable",
                "too many logins under way",
            ));
        };
        let jti = self.rng.token(16);
        io.out
            .callouts
            .push(exchange::post(reg, target, seq, form, io.now, &jti));
        LoginOutcome::Wait(WaitFor::Login(seq))
    }

    fn held_too_long(&self, req: &RequestView<'_>, now: UnixMillis) -> bool {
        req.held_since.is_some_and(|s| now.since(s) >= HOLD_MS)
    }

    /// The configured failure answer, with `extra` cookie edits.
    fn fail(
        &self,
        login: &Login,
        code: &'static str,
        extra: Option<String>,
        io: &mut Io<'_>,
    ) -> LoginOutcome {
        io.out.event(Event::Metric(Metric::Denied("login_failed")));
        io.out
            .event(Event::Log(Level::Warn, format!("login failed: {code}")));
        let mut r = match &login.failure.redirect {
            Some(to) => {
                let sep = if to.contains('?') { '&' } else { '?' };
                redirect(&format!("{to}{sep}error={code}"))
            }
            None => json_reply(login.failure.status.unwrap_or(403), "login_failed", code),
        };
        r.headers
            .extend(extra.into_iter().map(|c| ("set-cookie".to_owned(), c)));
        LoginOutcome::Reply(r)
    }
}

/// The transaction cookie of the login with this `state`: one per login
/// under way, so logins in two tabs do not clash.
fn tx_cookie(login: &Login, state: &str) -> String {
    let short = crate::core::util::text::prefix_chars(state, 8);
    format!("{}_tx_{short}", login.cookie_name)
}

/// Whether cookie `name` is one of the login's own.
fn is_own_cookie(login: &Login, name: &str) -> bool {
    let c = login.cookie_name.as_str();
    name == c
        || name
            .strip_prefix(c)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("_tx_"))
}

/// The first value of query parameter `name`.
fn param<'q>(q: &'q [(String, String)], name: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn redirect_uri(login: &Login, origin: &str) -> String {
    format!("{origin}{}/callback", login.prefix)
}

/// When the access token expires, ms (0: the answer did not say).
fn expiry(t: &TokenAnswer, now: UnixMillis) -> u64 {
    t.expires_in
        .map_or(0, |s| now.0.saturating_add(s.saturating_mul(1000)))
}

/// An OAuth error code from the authorization server, if it is one we name.
fn oauth_code(e: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "access_denied",
        "login_required",
        "consent_required",
        "interaction_required",
        "invalid_request",
        "invalid_scope",
        "unauthorized_client",
        "server_error",
        "temporarily_unavailable",
        "account_selection_required",
    ];
    KNOWN
        .iter()
        .find(|k| **k == e)
        .copied()
        .unwrap_or("authorization_error")
}

/// A claim as a header value: strings as they are, numbers and booleans
/// as JSON; anything else, or a value a header cannot carry, is left out.
fn header_value(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => v.to_string(),
        _ => return None,
    };
    s.bytes()
        .all(|b| b == b'\t' || (b' '..0x7f).contains(&b))
        .then_some(s)
}

enum LogoutCheck {
    Allowed,
    Confirm,
    Refused,
}

/// Logout only from this origin: a POST whose `Origin` (or
/// `Sec-Fetch-Site`) says so, or a GET the user typed or made from this
/// origin. A GET from elsewhere gets a confirmation page.
fn logout_allowed(req: &RequestView<'_>, origin: &str) -> LogoutCheck {
    let site = req.header("sec-fetch-site").map(str::to_ascii_lowercase);
    let same_site = matches!(site.as_deref(), Some("same-origin") | Some("none"));
    match req.method {
        "POST" => {
            let origin_ok = match req.header("origin") {
                Some(o) => o.eq_ignore_ascii_case(origin),
                None => site.is_none() || same_site,
            };
            if origin_ok {
                LogoutCheck::Allowed
            } else {
                LogoutCheck::Refused
            }
        }
        "GET" | "HEAD" if same_site => LogoutCheck::Allowed,
        "GET" | "HEAD" => LogoutCheck::Confirm,
        _ => LogoutCheck::Refused,
    }
}

fn redirect(location: &str) -> LocalReply {
    LocalReply {
        status: 302,
        headers: vec![
            ("location".into(), location.to_owned()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: String::new(),
    }
}

fn json_reply(status: u16, error: &str, description: &str) -> LocalReply {
    LocalReply {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: serde_json::json!({"error": error, "error_description": description}).to_string(),
    }
}

/// A page asking to confirm a logout (a POST from this origin).
fn confirm_page(prefix: &str, goto: &str) -> LocalReply {
    let action = format!(
        "{prefix}/logout?goto={}",
        super::util::form::form_urlencode(goto)
    );
    let body = format!(
        "<!doctype html><html><head><title>Log out</title></head><body>\
         <form method=\"post\" action=\"{}\"><p>Log out?</p>\
         <button type=\"submit\" id=\"logout\">Log out</button></form></body></html>",
        html_escape(&action)
    );
    LocalReply {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
            (
                "content-security-policy".into(),
                "default-src 'none'; form-action 'self'".into(),
            ),
        ],
        body,
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
