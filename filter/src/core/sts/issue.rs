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
use super::mint::{new_id, Statement, Times};
use super::principal::Principal;
use super::rst::Rst;
use super::rstr::{self, Issued};
use super::token_type::Assertion;
use super::{jwt_bearer, saml};
use crate::core::response::LocalReply;
use crate::core::util::time::UnixMillis;

/// One worker's STS state.
#[derive(Debug)]
pub struct StsState {
    rng: ChaCha20Rng,
}

impl StsState {
    /// State whose randomness starts from `seed` (32 bytes from the host).
    pub fn new(seed: [u8; 32]) -> StsState {
        StsState {
            rng: ChaCha20Rng::from_seed(seed),
        }
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
        let failed = |e: super::mint::MintError| {
            Refusal::of(
                rst,
                WstFault::RequestFailed,
                503,
                format!("the assertion could not be minted: {e}"),
            )
        };
        match rst.token_type.assertion() {
            Assertion::Jwt => {
                let jwt = jwt_bearer::mint(&sts.jwt_key, &st, &mut self.rng).map_err(failed)?;
                Ok((Issued::Jwt(jwt.clone()), jwt, times))
            }
            Assertion::Saml2 => {
                let Some(signer) = &sts.saml else {
                    return Err(failed(super::mint::MintError::Sign));
                };
                let a = saml::mint(
                    &signer.key,
                    &st,
                    &signer.name_id_format,
                    signer.certificate.as_deref(),
                )
                .map_err(failed)?;
                let grant = a.grant_value();
                Ok((Issued::Saml(a.element), grant, times))
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
