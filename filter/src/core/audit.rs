//! The audit line of one decision: who (provider, issuer, subject, client,
//! tracking id), what (method, path), the outcome, a hash prefix of the
//! token — never the token.

use super::config::FilterConfig;
use super::events::{hash_prefix, AuditEvent, Event};
use super::resource::claims;
use super::resource::token_cache::Verified;

/// The request as the audit line names it.
#[derive(Debug, Clone, Copy)]
pub struct Audited<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path` (the query is dropped).
    pub path: &'a str,
}

/// The audit event for a decision, unless auditing is off.
#[allow(clippy::too_many_arguments)]
pub fn audit(
    cfg: &FilterConfig,
    req: Audited<'_>,
    decision: &'static str,
    status: u16,
    reason: &'static str,
    digest: Option<&[u8; 32]>,
    verified: Option<&Verified>,
) -> Option<Event> {
    if !cfg.raw.audit.enabled {
        return None;
    }
    let path: String = req
        .path
        .split('?')
        .next()
        .unwrap_or("")
        .chars()
        .take(256)
        .collect();
    let mut ev = AuditEvent {
        decision,
        status,
        reason,
        method: req.method.chars().take(16).collect(),
        path,
        provider: None,
        issuer: None,
        sub: None,
        client_id: None,
        tracking_id: None,
        token_hash: digest.map(hash_prefix),
    };
    if let Some(v) = verified {
        let c = &v.claims;
        ev.provider = Some(cfg.providers[v.provider].name.clone());
        ev.issuer = claims::short_str(c, "iss");
        ev.sub = claims::short_str(c, "sub");
        ev.client_id = claims::short_str(c, "client_id").or_else(|| claims::short_str(c, "azp"));
        ev.tracking_id = claims::short_str(c, &cfg.raw.audit.tracking_id_claim);
    }
    Some(Event::Audit(Box::new(ev)))
}
