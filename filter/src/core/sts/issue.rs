//! Issuing for an accepted request: the caller's verified claims become the
//! principal (the OAuth token processor), the assertion is minted for the
//! endpoint `AppliesTo` names, and the answer is the RSTR collection.
//! [`StsState`] is one worker's: its randomness (assertion ids, PS256
//! salts, RSA blinding).

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{Map, Value};

use super::config::{AppliesTo, Sts};
use super::endpoint::{answer, Refusal};
use super::fault::WstFault;
use super::mint::{new_id, MintError, Statement, Times};
use super::principal::Principal;
use super::rst::Rst;
use super::rstr::{self, Issued};
use super::token_type::Assertion;
use super::via::{self, Lookup, ViaGrants};
use super::{jwt_bearer, saml};
use crate::core::held::WaitFor;
use crate::core::io::Io;
use crate::core::response::LocalReply;
use crate::core::util::time::UnixMillis;

/// One worker's STS state.
#[derive(Debug)]
pub struct StsState {
    rng: ChaCha20Rng,
    /// The grants of the via types (with `sts`).
    pub via: Option<ViaGrants>,
}

impl StsState {
    /// State whose randomness starts from `seed`, with the via grants of
    /// `sts` in worker `worker`.
    pub fn new(seed: [u8; 32], sts: Option<&Sts>, worker: &str) -> StsState {
        StsState {
            rng: ChaCha20Rng::from_seed(seed),
            via: sts.map(|s| ViaGrants::new(s, worker)),
        }
    }

    /// Re-seed the randomness (32 bytes from the host).
    pub fn reseed(&mut self, seed: [u8; 32]) {
        self.rng = ChaCha20Rng::from_seed(seed);
    }

    /// The principal of the caller's claims, by `sts.mapping`.
    pub fn principal(
        sts: &Sts,
        rst: &Rst,
        claims: &Map<String, Value>,
    ) -> Result<Principal, Refusal> {
        sts.mapping
            .principal(claims)
            .map_err(|e| Refusal::of(rst, WstFault::FailedAuthentication, 401, e.to_string()))
    }

    /// The assertion of `rst`'s token type for `endpoint`, minted at `now`:
    /// what it is, its grant value (what the AS is given) and its times.
    pub fn mint(
        &mut self,
        sts: &Sts,
        rst: &Rst,
        endpoint: &AppliesTo,
        principal: &Principal,
        now: UnixMillis,
    ) -> Result<(Issued, String, Times), Refusal> {
        self.mint_assertion(sts, rst.token_type.assertion(), endpoint, principal, now)
            .map_err(|e| {
                Refusal::of(
                    rst,
                    WstFault::RequestFailed,
                    503,
                    format!("the assertion could not be minted: {e}"),
                )
            })
    }

    /// An assertion of `kind` for `endpoint`, minted at `now`.
    pub fn mint_assertion(
        &mut self,
        sts: &Sts,
        kind: Assertion,
        endpoint: &AppliesTo,
        principal: &Principal,
        now: UnixMillis,
    ) -> Result<(Issued, String, Times), MintError> {
        let times = sts.window.at(now);
        let id = new_id(&mut self.rng);
        let st = Statement {
            issuer: &sts.issuer,
            audience: &endpoint.audience,
            recipient: &endpoint.address,
            principal,
            times,
            id: &id,
        };
        match kind {
            Assertion::Jwt => {
                let jwt = jwt_bearer::mint(&sts.jwt_key, &st, &mut self.rng)?;
                Ok((Issued::Jwt(jwt.clone()), jwt, times))
            }
            Assertion::Saml2 => {
                let Some(signer) = &sts.saml else {
                    return Err(MintError::Sign);
                };
                let a = saml::mint(
                    &signer.key,
                    &st,
                    &signer.name_id_format,
                    signer.certificate.as_deref(),
                )?;
                let grant = a.grant_value();
                Ok((Issued::Saml(a.element), grant, times))
            }
        }
    }
}

/// What issuing came to.
#[derive(Debug)]
pub enum Issuing {
    /// The answer (RSTR collection).
    Reply(LocalReply),
    /// Hold the request: the AS is being asked (via types).
    Wait(WaitFor),
}

impl StsState {
    /// Issue `rst`'s token type for `endpoint` to `principal`: mint the
    /// assertion and answer with it, or (via types) answer with the AS's
    /// cached token response, asking the AS first when nobody has.
    #[allow(clippy::too_many_arguments)]
    pub fn issue(
        &mut self,
        sts: &Sts,
        rst: &Rst,
        endpoint: &AppliesTo,
        principal: &Principal,
        held_since: Option<UnixMillis>,
        io: &mut Io<'_>,
    ) -> Result<Issuing, Refusal> {
        if !rst.token_type.is_via() {
            let (issued, _, times) = self.mint(sts, rst, endpoint, principal, io.now)?;
            return respond(rst, issued, times.issued, times.expires).map(Issuing::Reply);
        }
        let key = via::key(&principal.subject, rst.token_type, &endpoint.address);
        let Some(grants) = self.via.as_mut() else {
            return Err(Refusal::of(
                rst,
                WstFault::RequestFailed,
                503,
                "the token service is not ready",
            ));
        };
        match grants.lookup(&key, endpoint.timeout_ms, io.now, io.store) {
            Lookup::Answer {
                body,
                obtained,
                expires,
            } => respond(rst, Issued::TokenResponse(body), obtained, expires).map(Issuing::Reply),
            Lookup::Failed(reason) => Err(Refusal::of(rst, WstFault::RequestFailed, 502, reason)),
            Lookup::Wait => {
                // A claim lasts the endpoint's timeout and a second; past
                // twice that, stop waiting.
                let budget = endpoint.timeout_ms.saturating_mul(2).saturating_add(2000);
                if held_since.is_some_and(|t| io.now.0.saturating_sub(t.0) > budget) {
                    return Err(Refusal::of(
                        rst,
                        WstFault::RequestFailed,
                        504,
                        "the token endpoint did not answer in time",
                    ));
                }
                Ok(Issuing::Wait(WaitFor::Sts(key)))
            }
            Lookup::Start => {
                let minted = self.mint(sts, rst, endpoint, principal, io.now);
                let Some(grants) = self.via.as_mut() else {
                    return Err(Refusal::of(
                        rst,
                        WstFault::RequestFailed,
                        503,
                        "the token service is not ready",
                    ));
                };
                let (_, grant, _) = match minted {
                    Ok(m) => m,
                    Err(r) => {
                        grants.release(&key, io.store);
                        return Err(r);
                    }
                };
                let form = vec![
                    (
                        "grant_type".to_owned(),
                        rst.token_type.assertion().grant_type().to_owned(),
                    ),
                    ("assertion".to_owned(), grant),
                ];
                let callout = grants.start(key, endpoint, form, io.now);
                io.out.callouts.push(callout);
                Ok(Issuing::Wait(WaitFor::Sts(key)))
            }
        }
    }
}

/// The RSTR collection answering `rst` with `issued`, valid from `created`
/// to `expires`.
pub fn respond(
    rst: &Rst,
    issued: Issued,
    created: UnixMillis,
    expires: UnixMillis,
) -> Result<LocalReply, Refusal> {
    rstr::answer(rst, issued, created, expires)
        .map(|body| answer(rst.soap, body))
        .map_err(|e| {
            Refusal::of(
                rst,
                WstFault::RequestFailed,
                503,
                format!("the answer could not be written: {e}"),
            )
        })
}
