//! RFC 9449 DPoP: proof checks (§4.3), the access token's `cnf.jkt`
//! binding (§6.1, §7.1), replay-cache keys (§11.1) and the
//! `WWW-Authenticate: DPoP` challenge (§7.1, §9).
//!
//! [`check_proof`] is pure: the caller passes the `DPoP` header values, the
//! request method and URI, the access token, the clock and the expected
//! nonces, and gets the proof's key thumbprint, `jti` and `iat` back. Replay
//! detection needs state shared by the workers: [`replay_entry`] names the
//! cache key and how long to keep it; [`ReplayWindow`] is an in-memory
//! stand-in for one worker (and tests).

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::thumbprint::thumbprint;
use super::{cnf_member, ct_eq};
use crate::core::jose::jwk::{JwkSet, SECRET_MEMBERS};
use crate::core::jose::jws::{self, b64_decode, Alg, JoseError, Part};
use crate::core::jose::verify::Verifier;
use crate::core::util::hex::sha256_id;
use crate::core::util::json::{parse_strict, JsonError};
use crate::core::util::time::UnixMillis;

/// Algorithms accepted when none are configured.
pub const DEFAULT_ALGS: [Alg; 5] = [Alg::Es256, Alg::Es384, Alg::Rs256, Alg::Ps256, Alg::EdDsa];
/// Longest `DPoP` header value accepted.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted (characters).
pub const MAX_JTI_CHARS: usize = 256;
/// Longest `htu` (or request URI) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The request header carrying the proof.
pub const HEADER: &str = "DPoP";
/// The response header carrying a server nonce (RFC 9449 §8).
pub const NONCE_HEADER: &str = "DPoP-Nonce";
/// `error` for a bad proof (RFC 9449 §7.1).
pub const INVALID_DPOP_PROOF: &str = "invalid_dpop_proof";
/// `error` asking the client to retry with the server's nonce (§8, §9).
pub const USE_DPOP_NONCE: &str = "use_dpop_nonce";

/// What proofs are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopPolicy {
    /// Accepted `alg` values. Symmetric algorithms are never accepted, even
    /// if listed.
    pub algs: Vec<Alg>,
    /// How old `iat` may be (ms before now).
    pub iat_past_ms: u64,
    /// How far ahead `iat` may be (ms after now: client clock skew).
    pub iat_future_ms: u64,
}

impl Default for DpopPolicy {
    /// [`DEFAULT_ALGS`], `iat` up to 60 s old and 10 s ahead.
    fn default() -> Self {
        DpopPolicy {
            algs: DEFAULT_ALGS.to_vec(),
            iat_past_ms: 60_000,
            iat_future_ms: 10_000,
        }
    }
}

impl DpopPolicy {
    /// Whether `alg` is accepted: listed and asymmetric.
    pub fn allows(&self, alg: Alg) -> bool {
        !alg.is_symmetric() && self.algs.contains(&alg)
    }

    /// The `WWW-Authenticate` value for `err` (see [`challenge`]).
    pub fn challenge(&self, err: &DpopError) -> String {
        challenge(&self.algs, Some(err.error_code()), Some(&err.describe()))
    }
}

/// One request, as far as DPoP is concerned.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// Every `DPoP` header value (exactly one is required).
    pub proofs: &'a [&'a str],
    /// The request method (`:method`), compared to `htm` exactly.
    pub method: &'a str,
    /// The request URI as the client saw it: `scheme://authority/path`
    /// (a query or fragment is ignored).
    pub uri: &'a str,
    /// The access token presented with the proof (`Authorization: DPoP`):
    /// `ath` must match it. `None` where no token goes with the proof.
    pub access_token: Option<&'a str>,
    /// Nonces the server currently accepts (RFC 9449 §8); empty: no nonce
    /// required.
    pub nonces: &'a [&'a str],
    /// The current time.
    pub now: UnixMillis,
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    /// RFC 7638 SHA-256 thumbprint of the proof's public key (base64url):
    /// compare with the token's `cnf.jkt` ([`check_jkt`]).
    pub jkt: String,
    /// `jti`, for the replay cache ([`replay_entry`]).
    pub jti: String,
    /// `iat`.
    pub iat: UnixMillis,
    /// The proof's algorithm.
    pub alg: Alg,
}

/// Why a DPoP proof is refused. Every variant is `invalid_dpop_proof`
/// except [`DpopError::UseNonce`] (`use_dpop_nonce`); see
/// [`DpopError::error_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpopError {
    /// No `DPoP` header.
    Missing,
    /// More than one `DPoP` header (or one with a comma-joined list).
    Multiple,
    /// The header is longer than [`MAX_PROOF_BYTES`].
    TooLarge,
    /// Not a well-formed JWS (includes `alg: none`).
    Jose(JoseError),
    /// `typ` is not `dpop+jwt`.
    WrongTyp,
    /// `alg` is symmetric or not in the policy.
    AlgNotAllowed,
    /// No `jwk` header member (or not an object).
    MissingJwk,
    /// `jwk` holds private key material.
    PrivateJwk,
    /// `jwk` is not a usable public key (the text says why).
    BadJwk(String),
    /// `jwk` cannot verify `alg` (type or its `alg` member differ).
    AlgKeyMismatch,
    /// The signature does not verify with `jwk`.
    BadSignature,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has the wrong type or length.
    BadClaim(&'static str),
    /// `htm` is not the request method.
    HtmMismatch,
    /// `htu` is not the request URI.
    HtuMismatch,
    /// `iat` is older than the window.
    IatTooOld,
    /// `iat` is ahead of the window.
    IatInFuture,
    /// `ath` is not the hash of the access token.
    AthMismatch,
    /// The server requires a nonce and the proof has none or an unknown one.
    UseNonce,
    /// This `jti` was seen before for this key ([`ReplayWindow`]).
    Replayed,
    /// The replay window is full: the proof cannot be recorded.
    ReplayCacheFull,
    /// The request URI given by the caller is not an http(s) URI.
    BadRequestUri,
}

impl DpopError {
    /// Stable short reason (logs, metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            DpopError::Missing => "dpop_missing",
            DpopError::Multiple => "dpop_multiple",
            DpopError::TooLarge => "dpop_too_large",
            DpopError::Jose(j) => j.reason(),
            DpopError::WrongTyp => "wrong_typ",
            DpopError::AlgNotAllowed => "alg_not_allowed",
            DpopError::MissingJwk => "missing_jwk",
            DpopError::PrivateJwk => "private_jwk",
            DpopError::BadJwk(_) => "bad_jwk",
            DpopError::AlgKeyMismatch => "alg_key_mismatch",
            DpopError::BadSignature => "bad_signature",
            DpopError::MissingClaim(_) => "missing_claim",
            DpopError::BadClaim(_) => "bad_claim",
            DpopError::HtmMismatch => "htm_mismatch",
            DpopError::HtuMismatch => "htu_mismatch",
            DpopError::IatTooOld => "iat_too_old",
            DpopError::IatInFuture => "iat_in_future",
            DpopError::AthMismatch => "ath_mismatch",
            DpopError::UseNonce => "use_dpop_nonce",
            DpopError::Replayed => "replayed",
            DpopError::ReplayCacheFull => "replay_cache_full",
            DpopError::BadRequestUri => "bad_request_uri",
        }
    }

    /// The OAuth `error` code: [`USE_DPOP_NONCE`] or [`INVALID_DPOP_PROOF`].
    pub fn error_code(&self) -> &'static str {
        match self {
            DpopError::UseNonce => USE_DPOP_NONCE,
            _ => INVALID_DPOP_PROOF,
        }
    }

    /// Text for `error_description` (no token or proof content).
    pub fn describe(&self) -> String {
        match self {
            DpopError::Missing => "DPoP proof required".to_owned(),
            DpopError::Multiple => "more than one DPoP proof".to_owned(),
            DpopError::TooLarge => "DPoP proof too large".to_owned(),
            DpopError::Jose(j) => format!("DPoP proof: {}", j.describe()),
            DpopError::WrongTyp => "DPoP proof typ is not dpop+jwt".to_owned(),
            DpopError::AlgNotAllowed => "DPoP proof algorithm not allowed".to_owned(),
            DpopError::MissingJwk => "DPoP proof has no jwk header".to_owned(),
            DpopError::PrivateJwk => "DPoP proof jwk contains a private key".to_owned(),
            DpopError::BadJwk(m) => format!("DPoP proof jwk is not usable: {m}"),
            DpopError::AlgKeyMismatch => "DPoP proof algorithm does not match its key".to_owned(),
            DpopError::BadSignature => "DPoP proof signature is invalid".to_owned(),
            DpopError::MissingClaim(c) => format!("DPoP proof has no {c} claim"),
            DpopError::BadClaim(c) => format!("DPoP proof claim {c} is malformed"),
            DpopError::HtmMismatch => "DPoP proof htm does not match the method".to_owned(),
            DpopError::HtuMismatch => "DPoP proof htu does not match the URI".to_owned(),
            DpopError::IatTooOld => "DPoP proof is too old".to_owned(),
            DpopError::IatInFuture => "DPoP proof is issued in the future".to_owned(),
            DpopError::AthMismatch => "DPoP proof ath does not match the access token".to_owned(),
            DpopError::UseNonce => "resource server requires nonce in DPoP proof".to_owned(),
            DpopError::Replayed => "DPoP proof replayed".to_owned(),
            DpopError::ReplayCacheFull => "DPoP proof could not be recorded".to_owned(),
            DpopError::BadRequestUri => "request URI is not an http(s) URI".to_owned(),
        }
    }

    /// The `WWW-Authenticate` value for this error (see [`challenge`]).
    pub fn challenge(&self, algs: &[Alg]) -> String {
        challenge(algs, Some(self.error_code()), Some(&self.describe()))
    }
}

impl From<JoseError> for DpopError {
    fn from(e: JoseError) -> Self {
        DpopError::Jose(e)
    }
}

/// Escape for a quoted-string (RFC 9110 §5.6.4): `"` and `\` backslash
/// escaped, control characters dropped, non-ASCII as `?`.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c if !c.is_ascii() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// `WWW-Authenticate: DPoP algs="ES256 RS256 ...", error="...",
/// error_description="..."` (RFC 9449 §7.1). Symmetric algorithms are left
/// out of `algs`; `error` and `error_description` only when given. With
/// [`USE_DPOP_NONCE`] the reply also needs a [`NONCE_HEADER`] with a fresh
/// nonce (check it with [`valid_nonce`]).
pub fn challenge(algs: &[Alg], error: Option<&str>, description: Option<&str>) -> String {
    let names: Vec<&str> = algs
        .iter()
        .filter(|a| !a.is_symmetric())
        .map(|a| a.name())
        .collect();
    let mut out = format!("DPoP algs=\"{}\"", names.join(" "));
    if let Some(e) = error {
        out.push_str(&format!(", error=\"{}\"", quoted(e)));
    }
    if let Some(d) = description {
        out.push_str(&format!(", error_description=\"{}\"", quoted(d)));
    }
    out
}

/// Whether `nonce` may be sent in [`NONCE_HEADER`] and a proof's `nonce`:
/// non-empty `NQCHAR`s (RFC 9449 §8: `%x21 / %x23-5B / %x5D-7E`).
pub fn valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= MAX_URI_BYTES
        && nonce
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// `ath`: base64url(SHA-256(ASCII(access token))) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

fn header_object(token: &str) -> Result<Map<String, Value>, DpopError> {
    // jws::parse already accepted the token: these only repeat its checks.
    let h = token.split('.').next().unwrap_or_default();
    match parse_strict(&b64_decode(h, Part::Header)?) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JoseError::NotObject(Part::Header).into()),
        Err(JsonError::DuplicateMember) => Err(JoseError::DuplicateMember(Part::Header).into()),
        Err(JsonError::Syntax) => Err(JoseError::Json(Part::Header).into()),
    }
}

fn claim_str<'a>(c: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, DpopError> {
    match c.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::BadClaim(name)),
        None => Err(DpopError::MissingClaim(name)),
    }
}

/// `iat` as milliseconds: a non-negative NumericDate (fractions allowed).
fn claim_iat(c: &Map<String, Value>) -> Result<UnixMillis, DpopError> {
    let v = c.get("iat").ok_or(DpopError::MissingClaim("iat"))?;
    if let Some(s) = v.as_u64() {
        return Ok(UnixMillis::from_secs(s));
    }
    match v.as_f64() {
        Some(f) if (0.0..1e15).contains(&f) => {
            // Bounded above: the cast is exact enough and cannot saturate.
            Ok(UnixMillis((f * 1000.0) as u64))
        }
        _ => Err(DpopError::BadClaim("iat")),
    }
}

/// RFC 9449 §4.3: check the proof of one request.
///
/// Checks, in order: exactly one `DPoP` header; a compact JWS; `typ`
/// `dpop+jwt`; `alg` asymmetric and allowed; `jwk` present, public, usable
/// and fitting `alg`; the signature (through `verifier`: the injected
/// backend, then the pure-Rust verifiers); `jti`; `htm`; `htu`; `nonce`
/// when the server requires one; `iat` in the window; `ath` when a token
/// goes with the proof. Replay (`jti`) and the token binding (`cnf.jkt`)
/// are the caller's next steps: [`replay_entry`], [`check_jkt`].
pub fn check_proof(
    policy: &DpopPolicy,
    req: &ProofRequest<'_>,
    verifier: &Verifier,
) -> Result<DpopProof, DpopError> {
    let proof = match req.proofs {
        [] => return Err(DpopError::Missing),
        [one] => one.trim(),
        _ => return Err(DpopError::Multiple),
    };
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopError::TooLarge);
    }
    if proof.contains(',') {
        // Two headers joined by a proxy into one list.
        return Err(DpopError::Multiple);
    }
    let jws = jws::parse(proof)?;
    let typ_ok = jws.header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("dpop+jwt") || t.eq_ignore_ascii_case("application/dpop+jwt")
    });
    if !typ_ok {
        return Err(DpopError::WrongTyp);
    }
    let alg = jws.header.alg;
    if !policy.allows(alg) {
        return Err(DpopError::AlgNotAllowed);
    }
    let header = header_object(proof)?;
    let jwk = match header.get("jwk") {
        Some(v @ Value::Object(o)) => {
            if SECRET_MEMBERS.iter().any(|m| o.contains_key(*m)) {
                return Err(DpopError::PrivateJwk);
            }
            v
        }
        _ => return Err(DpopError::MissingJwk),
    };
    let key = parse_public_jwk(jwk)?;
    if !key.fits(alg) {
        return Err(DpopError::AlgKeyMismatch);
    }
    let jkt = thumbprint(jwk).map_err(|e| DpopError::BadJwk(e.reason().to_owned()))?;
    if !verifier.verify(alg, &key.material, jws.signing_input, &jws.signature) {
        return Err(DpopError::BadSignature);
    }

    let c = &jws.claims;
    let jti = claim_str(c, "jti")?;
    if jti.is_empty() || jti.chars().count() > MAX_JTI_CHARS {
        return Err(DpopError::BadClaim("jti"));
    }
    if claim_str(c, "htm")? != req.method {
        return Err(DpopError::HtmMismatch);
    }
    let htu = normalize_htu(claim_str(c, "htu")?).ok_or(DpopError::BadClaim("htu"))?;
    let target = normalize_htu(req.uri).ok_or(DpopError::BadRequestUri)?;
    if htu != target {
        return Err(DpopError::HtuMismatch);
    }
    if !req.nonces.is_empty() {
        let ok = match c.get("nonce") {
            Some(Value::String(n)) => req
                .nonces
                .iter()
                .any(|want| ct_eq(want.as_bytes(), n.as_bytes())),
            _ => false,
        };
        if !ok {
            return Err(DpopError::UseNonce);
        }
    }
    let iat = claim_iat(c)?;
    if req.now.since(iat) > policy.iat_past_ms {
        return Err(DpopError::IatTooOld);
    }
    if iat.since(req.now) > policy.iat_future_ms {
        return Err(DpopError::IatInFuture);
    }
    if let Some(token) = req.access_token {
        let got = claim_str(c, "ath")?;
        if !ct_eq(got.as_bytes(), ath(token).as_bytes()) {
            return Err(DpopError::AthMismatch);
        }
    }
    Ok(DpopProof {
        jkt,
        jti: jti.to_owned(),
        iat,
        alg,
    })
}

/// The proof's `jwk` through the filter's JWK parser (RSA ≥ 2048 bits,
/// points on the curve, no weak Ed25519 keys, `use` absent or `sig`).
fn parse_public_jwk(jwk: &Value) -> Result<crate::core::jose::jwk::Jwk, DpopError> {
    let set = JwkSet::from_value(&serde_json::json!({ "keys": [jwk] }), false)
        .map_err(|e| DpopError::BadJwk(e.message))?;
    if let Some(skipped) = set.skipped.first() {
        let member = skipped.path.trim_start_matches(".keys[0]").to_owned();
        return Err(DpopError::BadJwk(format!("{member} {}", skipped.message)));
    }
    set.into_keys()
        .into_iter()
        .next()
        .ok_or_else(|| DpopError::BadJwk("not a signature key".to_owned()))
}

/// How a token's `cnf.jkt` relates to a proof's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JktBinding {
    /// `cnf.jkt` is the proof key's thumbprint.
    Bound,
    /// `cnf.jkt` names another key.
    Mismatch,
    /// The token has no `cnf.jkt`: not a DPoP-bound token.
    Unbound,
    /// `cnf` is not an object or `jkt` is not a string.
    Malformed,
}

impl JktBinding {
    /// Stable short reason (logs, metrics).
    pub fn reason(&self) -> &'static str {
        match self {
            JktBinding::Bound => "bound",
            JktBinding::Mismatch => "jkt_mismatch",
            JktBinding::Unbound => "unbound",
            JktBinding::Malformed => "bad_cnf_jkt",
        }
    }
}

/// RFC 9449 §6.1, §7.1: compare the token's `cnf` claim with the proof
/// key's thumbprint ([`DpopProof::jkt`]), in constant time.
pub fn check_jkt(cnf: Option<&Value>, proof_jkt: &str) -> JktBinding {
    match cnf_member(cnf, "jkt") {
        Err(()) => JktBinding::Malformed,
        Ok(None) => JktBinding::Unbound,
        Ok(Some(jkt)) if ct_eq(jkt.as_bytes(), proof_jkt.as_bytes()) => JktBinding::Bound,
        Ok(Some(_)) => JktBinding::Mismatch,
    }
}

/// A proof to remember until it could no longer pass the `iat` check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayEntry {
    /// Cache key: a digest of the proof key's thumbprint and the `jti`
    /// (a `jti` only collides with proofs of the same key).
    pub key: String,
    /// When the entry may be dropped: past it, `iat` fails the window.
    pub expires_at: UnixMillis,
    /// `expires_at - now`, at least 1 ms.
    pub ttl_ms: u64,
}

/// Prefix of [`ReplayEntry::key`].
pub const REPLAY_KEY_PREFIX: &str = "dpop-jti:";

/// The replay-cache entry for `proof` checked at `now` under `policy`.
pub fn replay_entry(policy: &DpopPolicy, proof: &DpopProof, now: UnixMillis) -> ReplayEntry {
    // jkt is base64url: the newline cannot be part of it.
    let key = format!(
        "{REPLAY_KEY_PREFIX}{}",
        sha256_id(&format!("{}\n{}", proof.jkt, proof.jti), 16)
    );
    // The proof passes while now - iat <= iat_past_ms.
    let expires_at = proof.iat.plus_ms(policy.iat_past_ms).plus_ms(1);
    ReplayEntry {
        key,
        expires_at,
        ttl_ms: expires_at.since(now).max(1),
    }
}

/// An in-memory replay cache for one worker (and tests): the shared-data
/// one is the caller's.
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    seen: HashMap<String, UnixMillis>,
    max_entries: usize,
}

impl ReplayWindow {
    /// A window holding at most `max_entries` live proofs.
    pub fn new(max_entries: usize) -> ReplayWindow {
        ReplayWindow {
            seen: HashMap::new(),
            max_entries,
        }
    }

    /// Record `entry`; [`DpopError::Replayed`] if it is already there and
    /// not expired, [`DpopError::ReplayCacheFull`] if no room is left after
    /// dropping expired entries (fail closed: never forget a live proof).
    pub fn check_and_insert(
        &mut self,
        entry: &ReplayEntry,
        now: UnixMillis,
    ) -> Result<(), DpopError> {
        if let Some(&exp) = self.seen.get(&entry.key) {
            if exp > now {
                return Err(DpopError::Replayed);
            }
        }
        if self.seen.len() >= self.max_entries {
            self.seen.retain(|_, exp| *exp > now);
            if self.seen.len() >= self.max_entries {
                return Err(DpopError::ReplayCacheFull);
            }
        }
        self.seen.insert(entry.key.clone(), entry.expires_at);
        Ok(())
    }

    /// Entries held (expired ones included until the next pruning).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// RFC 3986 §6.2.2 and §6.2.3 normalization of an `http(s)` URI for the
/// `htu` comparison (RFC 9449 §4.3 point 9): scheme and host lowercased,
/// default port dropped, percent-encoding normalized, dot segments removed,
/// empty path as `/`, query and fragment dropped. `None`: not an absolute
/// http(s) URI without userinfo.
pub fn normalize_htu(uri: &str) -> Option<String> {
    if uri.is_empty() || uri.len() > MAX_URI_BYTES || uri.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return None;
    }
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let rest = match rest.find(['?', '#']) {
        Some(i) => rest.get(..i)?,
        None => rest,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = authority.get(..=end)?;
        match authority.get(end + 1..)? {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || (host.contains([':', '[', ']']) && !host.starts_with('[')) {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u32 = p.parse().ok()?;
            if n > 65535 {
                return None;
            }
            (n != default_port).then_some(n)
        }
        Some(_) => return None,
    };
    let path = remove_dot_segments(&normalize_percent(path)?);
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(p) => format!("{scheme}://{host}:{p}{path}"),
        None => format!("{scheme}://{host}{path}"),
    })
}

/// `%xx` with uppercase hex digits, unreserved characters decoded.
fn normalize_percent(path: &str) -> Option<String> {
    let b = path.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let h = char::from(*b.get(i + 1)?).to_digit(16)?;
            let l = char::from(*b.get(i + 2)?).to_digit(16)?;
            let byte = u8::try_from(h * 16 + l).ok()?;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
            i += 3;
        } else {
            out.push(char::from(c));
            i += 1;
        }
    }
    Some(out)
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut input = path;
    while !input.is_empty() {
        if let Some(r) = input.strip_prefix("../") {
            input = r;
        } else if let Some(r) = input.strip_prefix("./") {
            input = r;
        } else if input.starts_with("/./") {
            input = input.get(2..).unwrap_or_default();
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = input.get(3..).unwrap_or_default();
            out.pop();
        } else if input == "/.." {
            input = "/";
            out.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            // Move the first segment (with its leading '/') to the output.
            let start = usize::from(input.starts_with('/'));
            let end = input
                .get(start..)
                .and_then(|s| s.find('/'))
                .map_or(input.len(), |i| i + start);
            let (seg, rest) = input.split_at(end);
            out.push(seg);
            input = rest;
        }
    }
    out.concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn htu_normalization() {
        let n = |s: &str| normalize_htu(s);
        assert_eq!(
            n("HTTPS://Server.Example.COM:443/a/./b/../c?q=1#f").as_deref(),
            Some("https://server.example.com/a/c")
        );
        assert_eq!(n("http://h:80").as_deref(), Some("http://h/"));
        assert_eq!(n("http://h:").as_deref(), Some("http://h/"));
        assert_eq!(n("http://h:8080/x").as_deref(), Some("http://h:8080/x"));
        assert_eq!(n("https://h:80/x").as_deref(), Some("https://h:80/x"));
        assert_eq!(n("https://h?x").as_deref(), Some("https://h/"));
        assert_eq!(
            n("https://h/%7euser/%2f%41").as_deref(),
            Some("https://h/~user/%2FA")
        );
        assert_eq!(n("https://[::1]:443/p").as_deref(), Some("https://[::1]/p"));
        assert_eq!(
            n("https://[::1]:8443/").as_deref(),
            Some("https://[::1]:8443/")
        );
        assert_eq!(
            n("https://h/a/b/../../../c").as_deref(),
            Some("https://h/c")
        );
        assert_eq!(n("https://h/a/..").as_deref(), Some("https://h/"));
        for bad in [
            "",
            "ftp://h/",
            "https:/h",
            "https://",
            "https://u@h/",
            "https://h:x/",
            "https://h:99999/",
            "https://h:1:2/",
            "https://h/%zz",
            "https://h/%4",
            "https://h/ a",
            "https://[::1/",
            "https://[::1]x/",
            "https://h/é",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
        assert!(n(&format!("https://h/{}", "a".repeat(MAX_URI_BYTES))).is_none());
    }

    #[test]
    fn dot_segments_rfc3986_examples() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/./"), "/");
        assert_eq!(remove_dot_segments("/a/b/."), "/a/b/");
        assert_eq!(remove_dot_segments("/.."), "/");
    }

    #[test]
    fn challenges() {
        assert_eq!(
            challenge(&DEFAULT_ALGS, None, None),
            r#"DPoP algs="ES256 ES384 RS256 PS256 EdDSA""#
        );
        assert_eq!(
            challenge(
                &[Alg::Es256, Alg::Hs256],
                Some(INVALID_DPOP_PROOF),
                Some("bad \"q\" \\ \r\nx é")
            ),
            r#"DPoP algs="ES256", error="invalid_dpop_proof", error_description="bad \"q\" \\ x ?""#
        );
        let p = DpopPolicy::default();
        assert_eq!(
            p.challenge(&DpopError::UseNonce),
            r#"DPoP algs="ES256 ES384 RS256 PS256 EdDSA", error="use_dpop_nonce", error_description="resource server requires nonce in DPoP proof""#
        );
        assert!(valid_nonce("abc-._~!#$"));
        assert!(!valid_nonce(""));
        assert!(!valid_nonce("a b"));
        assert!(!valid_nonce("a\"b"));
        assert!(!valid_nonce("a\\b"));
    }

    #[test]
    fn jkt_binding() {
        assert_eq!(
            check_jkt(Some(&json!({"jkt": "abc"})), "abc"),
            JktBinding::Bound
        );
        assert_eq!(
            check_jkt(Some(&json!({"jkt": "abd"})), "abc"),
            JktBinding::Mismatch
        );
        assert_eq!(
            check_jkt(Some(&json!({"jkt": "ab"})), "abc"),
            JktBinding::Mismatch
        );
        assert_eq!(check_jkt(None, "abc"), JktBinding::Unbound);
        assert_eq!(
            check_jkt(Some(&json!({"x5t#S256": "a"})), "abc"),
            JktBinding::Unbound
        );
        assert_eq!(
            check_jkt(Some(&json!({"jkt": 1})), "abc"),
            JktBinding::Malformed
        );
        assert_eq!(check_jkt(Some(&json!("abc")), "abc"), JktBinding::Malformed);
    }

    #[test]
    fn replay_window() {
        let policy = DpopPolicy::default();
        let now = UnixMillis::from_secs(1_000);
        let proof = |jkt: &str, jti: &str| DpopProof {
            jkt: jkt.to_owned(),
            jti: jti.to_owned(),
            iat: now,
            alg: Alg::Es256,
        };
        let a = replay_entry(&policy, &proof("k1", "j"), now);
        let b = replay_entry(&policy, &proof("k2", "j"), now);
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with(REPLAY_KEY_PREFIX));
        assert_eq!(a.ttl_ms, policy.iat_past_ms + 1);
        assert_eq!(a.expires_at, now.plus_ms(policy.iat_past_ms + 1));
        // A proof from the future lives longer; one at the edge at least 1 ms.
        let mut future = proof("k1", "f");
        future.iat = now.plus_secs(5);
        assert_eq!(
            replay_entry(&policy, &future, now).ttl_ms,
            policy.iat_past_ms + 5_001
        );
        let late = now.plus_ms(policy.iat_past_ms + 10);
        assert_eq!(replay_entry(&policy, &proof("k", "j"), late).ttl_ms, 1);

        let mut w = ReplayWindow::new(2);
        assert!(w.is_empty());
        assert_eq!(w.check_and_insert(&a, now), Ok(()));
        assert_eq!(w.check_and_insert(&a, now), Err(DpopError::Replayed));
        assert_eq!(w.check_and_insert(&b, now), Ok(()));
        let c = replay_entry(&policy, &proof("k3", "j"), now);
        assert_eq!(w.check_and_insert(&c, now), Err(DpopError::ReplayCacheFull));
        // Once expired, entries make room and may be seen again.
        let later = a.expires_at;
        assert_eq!(w.check_and_insert(&c, later), Ok(()));
        assert_eq!(w.len(), 1);
        assert_eq!(w.check_and_insert(&a, later), Ok(()));
    }

    #[test]
    fn request_shape_errors() {
        let v = Verifier::default();
        let p = DpopPolicy::default();
        let req = |proofs: &'static [&'static str]| ProofRequest {
            proofs,
            method: "GET",
            uri: "https://h/",
            access_token: None,
            nonces: &[],
            now: UnixMillis(0),
        };
        assert_eq!(check_proof(&p, &req(&[]), &v), Err(DpopError::Missing));
        assert_eq!(
            check_proof(&p, &req(&["a", "b"]), &v),
            Err(DpopError::Multiple)
        );
        assert_eq!(
            check_proof(&p, &req(&["a.b.c, a.b.c"]), &v),
            Err(DpopError::Multiple)
        );
        assert_eq!(
            check_proof(&p, &req(&["x"]), &v),
            Err(DpopError::Jose(JoseError::NotCompact))
        );
        let big: &'static str = Box::leak("a".repeat(MAX_PROOF_BYTES + 1).into_boxed_str());
        let big: &'static [&'static str] = Box::leak(vec![big].into_boxed_slice());
        assert_eq!(check_proof(&p, &req(big), &v), Err(DpopError::TooLarge));
    }

    #[test]
    fn policy_never_allows_hmac() {
        let p = DpopPolicy {
            algs: vec![Alg::Hs256, Alg::Es256],
            ..DpopPolicy::default()
        };
        assert!(!p.allows(Alg::Hs256));
        assert!(p.allows(Alg::Es256));
        assert!(!p.allows(Alg::Rs512));
    }

    /// Every prefix and single-byte mutation of good inputs: never a panic.
    #[test]
    fn junk_never_panics() {
        let v = Verifier::default();
        let p = DpopPolicy::default();
        let enc = |j: &Value| URL_SAFE_NO_PAD.encode(j.to_string());
        let proof = format!(
            "{}.{}.{}",
            enc(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}})
            ),
            enc(&json!({"jti": "j", "htm": "GET", "htu": "https://h/p", "iat": 1})),
            "c2ln"
        );
        let uri = "HTTPS://[::1]:443/a/%2e%2E/b?q#f";
        let mut inputs = Vec::new();
        for base in [proof.as_str(), uri] {
            for i in 0..=base.len() {
                inputs.push(base.get(..i).unwrap_or_default().to_owned());
                for b in [b'.', b'%', b'/', b':', b'[', b']', b'"', 0xC3] {
                    let mut m = base.as_bytes().to_vec();
                    if let Some(x) = m.get_mut(i) {
                        *x = b;
                    }
                    inputs.push(String::from_utf8_lossy(&m).into_owned());
                }
            }
        }
        for s in &inputs {
            let proofs = [s.as_str()];
            let _ = normalize_htu(s);
            let _ = check_proof(
                &p,
                &ProofRequest {
                    proofs: &proofs,
                    method: "GET",
                    uri: s,
                    access_token: Some(s),
                    nonces: &["n"],
                    now: UnixMillis(1000),
                },
                &v,
            );
        }
    }

    #[test]
    fn iat_forms() {
        let m = |v: Value| claim_iat(v.as_object().unwrap());
        assert_eq!(m(json!({"iat": 5})), Ok(UnixMillis(5000)));
        assert_eq!(m(json!({"iat": 5.5})), Ok(UnixMillis(5500)));
        assert_eq!(m(json!({})), Err(DpopError::MissingClaim("iat")));
        for bad in [json!(-1), json!("5"), json!(1e300), json!(null)] {
            assert_eq!(m(json!({ "iat": bad })), Err(DpopError::BadClaim("iat")));
        }
    }
}
