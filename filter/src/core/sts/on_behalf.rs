//! REST token sources: the STS without SOAP. For a request whose token the
//! resource server accepted, on a route of `sts.token_sources`, the
//! upstream gets a token obtained on behalf of that caller at an
//! `applies_to` token endpoint, by RFC 8693 token exchange (the caller's
//! token as `subject_token`) or with an assertion minted for the caller
//! (RFC 7523 JWT, RFC 7522 SAML 2.0). Answers are cached per caller token
//! (and source) until they expire, shared by all workers and fetched once
//! ([`super::via::ViaGrants`], the cache of the via token types).

use sha2::{Digest, Sha256};

use super::config::{OnBehalf, OnBehalfGrant, Sts};
use super::issue::StsState;
use super::via::{self, Lookup};
use crate::core::callout::CalloutResponse;
use crate::core::client::answer::parse_token_answer;
use crate::core::error::Rejection;
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::resource::claim_headers::HeaderEdits;
use crate::core::util::time::UnixMillis;
use serde_json::{Map, Value};

/// `grant_type` of RFC 8693 token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// What the stage came to.
#[derive(Debug)]
pub enum OnBehalfStage {
    /// Forward with these edits (the upstream token set, when the route
    /// has a source).
    Ready(HeaderEdits),
    /// Hold the request: the token endpoint is being asked.
    Wait(WaitFor),
    /// No upstream token: 502.
    Failed(Rejection),
}

/// The source of a request (`normalized` path), if any: the first that
/// matches.
pub fn source_for(sts: &Sts, method: &str, normalized: &str) -> Option<usize> {
    sts.token_sources
        .iter()
        .position(|s| s.route.matches(method, normalized))
}

/// The cache key of source `idx` for `caller_token`.
fn key(idx: usize, caller_token: &str) -> via::Key {
    Sha256::new()
        .chain_update(b"rest\0")
        .chain_update((idx as u64).to_be_bytes())
        .chain_update(caller_token.as_bytes())
        .finalize()
        .into()
}

fn failed(src: &OnBehalf, code: &str, message: String) -> OnBehalfStage {
    OnBehalfStage::Failed(Rejection::UpstreamTokenUnavailable {
        source: src.name.clone(),
        code: code.to_owned(),
        message,
    })
}

/// The caller's request on the route of source `idx`: put the upstream
/// token in `authorization` (replacing the caller's), asking the token
/// endpoint when no one has for this caller token.
pub struct Request<'a> {
    /// The caller's access token (accepted by the resource server).
    pub caller_token: &'a str,
    /// Its claims.
    pub claims: &'a Map<String, Value>,
    /// When the request was first held.
    pub held_since: Option<UnixMillis>,
}

impl StsState {
    /// The REST stage of source `idx` (see [`source_for`]).
    pub fn on_behalf(
        &mut self,
        sts: &Sts,
        idx: usize,
        req: &Request<'_>,
        mut edits: HeaderEdits,
        io: &mut Io<'_>,
    ) -> OnBehalfStage {
        let Some(src) = sts.token_sources.get(idx) else {
            return OnBehalfStage::Ready(edits);
        };
        let Some(endpoint) = sts.applies_to.get(src.endpoint) else {
            return failed(src, "not_configured", "no token endpoint".into());
        };
        let key = key(idx, req.caller_token);
        let Some(grants) = self.via.as_mut() else {
            return failed(
                src,
                "not_configured",
                "the token service is not ready".into(),
            );
        };
        match grants.lookup(&key, endpoint.timeout_ms, io.now, io.store) {
            Lookup::Answer { body, .. } => {
                let resp = CalloutResponse {
                    status: Some(200),
                    headers: &[],
                    body: body.as_bytes(),
                };
                match parse_token_answer(resp) {
                    Ok(a) => {
                        edits
                            .remove
                            .retain(|h| !h.eq_ignore_ascii_case("authorization"));
                        edits
                            .set
                            .retain(|(h, _)| !h.eq_ignore_ascii_case("authorization"));
                        edits
                            .set
                            .push(("authorization".into(), format!("Bearer {}", a.access_token)));
                        OnBehalfStage::Ready(edits)
                    }
                    Err(f) => failed(src, &f.code(), f.describe()),
                }
            }
            Lookup::Failed(reason) => failed(src, "grant_failed", reason),
            Lookup::Wait => {
                let budget = endpoint.timeout_ms.saturating_mul(2).saturating_add(2000);
                if req
                    .held_since
                    .is_some_and(|t| io.now.0.saturating_sub(t.0) > budget)
                {
                    return failed(
                        src,
                        "no_response",
                        "the token endpoint did not answer in time".into(),
                    );
                }
                OnBehalfStage::Wait(WaitFor::Sts(key))
            }
            Lookup::Start => {
                let form = match self.grant_form(sts, src, req, io.now) {
                    Ok(f) => f,
                    Err(message) => {
                        if let Some(g) = self.via.as_mut() {
                            g.release(&key, io.store);
                        }
                        return failed(src, "assertion_failed", message);
                    }
                };
                let Some(grants) = self.via.as_mut() else {
                    return failed(
                        src,
                        "not_configured",
                        "the token service is not ready".into(),
                    );
                };
                let callout = grants.start(key, endpoint, form, io.now);
                io.out.callouts.push(callout);
                OnBehalfStage::Wait(WaitFor::Sts(key))
            }
        }
    }

    /// The token request's form for the caller (client authentication is
    /// added by the cache). Errors carry no token material.
    fn grant_form(
        &mut self,
        sts: &Sts,
        src: &OnBehalf,
        req: &Request<'_>,
        now: UnixMillis,
    ) -> Result<Vec<(String, String)>, String> {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        match &src.grant {
            OnBehalfGrant::TokenExchange {
                subject_token_type,
                members,
                actor,
            } => {
                let mut form = vec![
                    pair("grant_type", TOKEN_EXCHANGE_GRANT),
                    pair("subject_token", req.caller_token),
                    pair("subject_token_type", subject_token_type),
                ];
                form.extend(members.iter().cloned());
                if let Some((token, kind)) = actor {
                    form.push(pair("actor_token", token.expose()));
                    form.push(pair("actor_token_type", kind));
                }
                Ok(form)
            }
            OnBehalfGrant::Assertion(kind, scope) => {
                let principal = sts
                    .mapping
                    .principal(req.claims)
                    .map_err(|e| e.to_string())?;
                let endpoint = sts
                    .applies_to
                    .get(src.endpoint)
                    .ok_or("no token endpoint")?;
                let (_, grant, _) = self
                    .mint_assertion(sts, *kind, endpoint, &principal, now)
                    .map_err(|e| format!("the assertion could not be minted: {e}"))?;
                let mut form = vec![
                    pair("grant_type", kind.grant_type()),
                    ("assertion".into(), grant),
                ];
                if let Some(s) = scope {
                    form.push(pair("scope", s));
                }
                Ok(form)
            }
        }
    }
}
