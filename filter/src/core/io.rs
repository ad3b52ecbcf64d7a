//! The I/O envelope of every call into the core (quinn-proto/rustls style):
//! [`Io`] carries the inputs every entry point needs (the time, shared
//! data) and the one output context, the [`Outbox`].
//!
//! The adapter makes an [`Outbox`], calls one `Filter::handle_*` entry
//! point with it, then polls it, in this order:
//!
//! 1. [`Outbox::events`]: log and count (never calls back into the core);
//! 2. [`Outbox::injected`]: the gateway's token the request just decided
//!    carries upstream (keep it for `handle_upstream_response`);
//! 3. [`Outbox::callouts`]: start them from the running context (a refused
//!    dispatch is handed back at once as a failed answer, a new call);
//! 4. [`Outbox::ready`]: what arrived; evaluate again the held requests
//!    that wait for it ([`crate::core::held::Held::woken`]) — last, since
//!    each re-evaluation is a new call into the core.

use super::callout::Callout;
use super::events::Event;
use super::held::WaitFor;
use super::shared::SharedStore;
use super::util::time::UnixMillis;

/// The gateway's token a request was sent upstream with (client role), for
/// the response phase (re-exported as `client::Injected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injected {
    /// Token source index.
    pub source: usize,
    /// Token generation.
    pub gen: u64,
}

/// Everything the core asks of the adapter after one call.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Audit lines, log lines and metrics.
    pub events: Vec<Event>,
    /// Callouts to start now, from the running context.
    pub callouts: Vec<Callout>,
    /// What paused requests waited for and has now arrived (or failed, or
    /// was given up): key sets, introspection answers, tokens. No
    /// duplicates.
    pub ready: Vec<WaitFor>,
    /// The gateway's token the request just forwarded carries upstream.
    pub injected: Option<Injected>,
    /// The audit event of a forwarded request, to complete with the
    /// upstream's status ([`crate::core::audit::complete`]) when its
    /// response headers arrive (or the stream ends).
    pub pending_audit: Option<Box<crate::core::events::AuditEvent>>,
    /// Headers to add to the response of the request just forwarded
    /// (`set-cookie` of a renewed login session).
    pub response_headers: Vec<(String, String)>,
}

impl Outbox {
    /// Record that what `w` names has arrived (once).
    pub fn ready(&mut self, w: WaitFor) {
        if !self.ready.contains(&w) {
            self.ready.push(w);
        }
    }

    /// Log or count `e`.
    pub fn event(&mut self, e: Event) {
        self.events.push(e);
    }

    /// Whether there is nothing to poll.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.callouts.is_empty()
            && self.ready.is_empty()
            && self.injected.is_none()
            && self.pending_audit.is_none()
            && self.response_headers.is_empty()
    }
}

/// The envelope of one call into the core.
pub struct Io<'a> {
    /// The time of the call.
    pub now: UnixMillis,
    /// Shared data of every worker of the VM.
    pub store: &'a mut dyn SharedStore,
    /// Where the outputs go.
    pub out: &'a mut Outbox,
}

impl<'a> Io<'a> {
    /// An envelope at `now` over `store`, writing into `out`.
    pub fn new(now: UnixMillis, store: &'a mut dyn SharedStore, out: &'a mut Outbox) -> Io<'a> {
        Io { now, store, out }
    }
}

impl std::fmt::Debug for Io<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("now", &self.now)
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}
