//! The audit line of one decision: who (provider, issuer, subject, client,
//! tracking id), what (method, path), the outcome, a hash prefix of the
//! token — never the token.

use std::borrow::Cow;

use super::config::FilterConfig;
use super::events::{AuditEvent, Event, HashPrefix};
use super::resource::claims;
use super::resource::token_cache::Verified;
use super::util::text::{prefix_chars, push_number};
use super::util::time::UnixMillis;

/// The request as the audit line names it.
#[derive(Debug, Clone, Copy)]
pub struct Audited<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path` (the query is dropped).
    pub path: &'a str,
    /// `x-request-id`, when the request has one.
    pub request_id: Option<&'a str>,
    /// When the request arrived (first evaluation).
    pub arrived: UnixMillis,
    /// Now.
    pub now: UnixMillis,
    /// A transaction id to use when there is no usable `x-request-id`.
    pub made_id: MadeId<'a>,
}

/// A transaction id the filter makes (`<worker>-<time hex>-<seq hex>`),
/// written only when the request has no usable `x-request-id`.
#[derive(Debug, Clone, Copy)]
pub struct MadeId<'a> {
    /// The worker's prefix.
    pub prefix: &'a str,
    /// Now.
    pub now: UnixMillis,
    /// The worker's sequence number of this decision.
    pub seq: u64,
}

impl MadeId<'_> {
    /// The id (the audit line makes one per request without an
    /// `x-request-id`: written without the formatting machinery).
    pub fn id(&self) -> String {
        let mut out = String::with_capacity(self.prefix.len() + 24);
        out.push_str(self.prefix);
        out.push('-');
        push_number(&mut out, self.now.0, 16, 1);
        out.push('-');
        push_number(&mut out, self.seq, 16, 1);
        out
    }
}

/// The method as written: the common ones are not copied.
fn method_name(method: &str) -> Cow<'static, str> {
    const COMMON: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    match COMMON.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(prefix_chars(method, 16)),
    }
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
    let path = prefix_chars(req.path.split('?').next().unwrap_or(""), 256);
    let transaction_id = match req.request_id {
        Some(id)
            if !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') =>
        {
            id.to_owned()
        }
        _ => req.made_id.id(),
    };
    let mut ev = AuditEvent {
        timestamp: req.now,
        transaction_id,
        decision,
        status,
        reason,
        method: method_name(req.method),
        path,
        provider: None,
        issuer: None,
        sub: None,
        client_id: None,
        tracking_id: None,
        tracking_ids: Vec::new(),
        upstream_status: None,
        elapsed_ms: req.now.since(req.arrived),
        token_hash: digest.map(HashPrefix::of),
    };
    if let Some(v) = verified {
        let c = &v.claims;
        ev.provider = Some(cfg.providers[v.provider].name.clone());
        ev.issuer = claims::short_str(c, "iss");
        ev.sub = claims::short_str(c, "sub");
        ev.client_id = claims::short_str(c, "client_id").or_else(|| claims::short_str(c, "azp"));
        ev.tracking_id = claims::short_str(c, &cfg.raw.audit.tracking_id_claim);
        ev.tracking_ids = ev
            .tracking_id
            .iter()
            .cloned()
            .chain(
                cfg.raw
                    .audit
                    .tracking_claims
                    .iter()
                    .filter_map(|name| claims::short_str(c, name)),
            )
            .collect();
    }
    Some(Event::Audit(Box::new(ev)))
}

/// Complete a forwarded request's event when the upstream's response
/// headers arrive (`upstream_status`), or when the stream ends without one
/// (`None`): the elapsed time then runs to `now`.
pub fn complete(
    ev: &mut AuditEvent,
    arrived: UnixMillis,
    upstream_status: Option<u16>,
    now: UnixMillis,
) {
    ev.upstream_status = upstream_status;
    ev.elapsed_ms = now.since(arrived);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_read_as_formatted() {
        for (now, seq) in [(0, 0), (1_796_232_000_123, 1), (u64::MAX, 0xabc)] {
            let id = MadeId {
                prefix: "w1",
                now: UnixMillis(now),
                seq,
            };
            assert_eq!(id.id(), format!("w1-{now:x}-{seq:x}"));
        }
    }

    #[test]
    fn methods_are_written_as_sent_and_bounded() {
        assert!(matches!(method_name("GET"), Cow::Borrowed("GET")));
        assert_eq!(method_name("PROPFIND"), "PROPFIND");
        assert_eq!(method_name("get"), "get");
        assert_eq!(method_name(&"X".repeat(40)), "X".repeat(16));
    }
}
