//! Helpers shared by the filter's integration tests: a worker harness over
//! the core's I/O envelope, and reading the form body of a callout the core
//! asked for (introspection, token requests).
#![allow(dead_code)]

use std::ops::{Deref, DerefMut};

use oauth_filter::core::client::Injected;
use oauth_filter::core::config::FilterConfig;
use oauth_filter::core::events::Event;
use oauth_filter::core::response::{HeaderEdits, LocalReply};
use oauth_filter::core::shared::{MemoryStore, SharedStore};
use oauth_filter::core::{
    self as core, Callout, CalloutId, CalloutResponse, Filter, Io, Outbox, RequestView, UnixMillis,
    WaitFor,
};

/// [`core::Decision`] with the wait left out (kept in [`Worker::last_wait`]),
/// so that tests compare decisions as before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward with these edits.
    Continue(HeaderEdits),
    /// Answer here.
    Reply(LocalReply),
    /// Held.
    Pause,
}

/// One worker as an adapter drives it: a [`Filter`], one fresh [`Outbox`]
/// per call, polled into the lists the tests look at. Request callouts wait
/// in [`Worker::drain_callouts`]; tick and answer callouts are returned.
pub struct Worker {
    filter: Filter,
    /// Shared data for [`Worker::on_request`] (one worker alone).
    own: MemoryStore,
    callouts: Vec<Callout>,
    events: Vec<Event>,
    injected: Option<Injected>,
    ready: Vec<WaitFor>,
    /// What the last paused request waits for.
    pub last_wait: Option<WaitFor>,
    /// Response headers the last forwarded request asked for
    /// ([`Outbox::response_headers`]).
    pub response_headers: Vec<(String, String)>,
}

impl Deref for Worker {
    type Target = Filter;
    fn deref(&self) -> &Filter {
        &self.filter
    }
}

impl DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut Filter {
        &mut self.filter
    }
}

impl Worker {
    /// A worker over [`Filter::new`].
    pub fn new(cfg: FilterConfig, id: &str) -> Worker {
        Worker {
            filter: Filter::new(cfg, id),
            own: MemoryStore::default(),
            callouts: Vec::new(),
            events: Vec::new(),
            injected: None,
            ready: Vec::new(),
            last_wait: None,
            response_headers: Vec::new(),
        }
    }

    /// Call the core, poll the outbox: events and ready kept; callouts returned.
    fn call<T>(
        &mut self,
        now: UnixMillis,
        store: &mut dyn SharedStore,
        f: impl FnOnce(&mut Filter, &mut Io<'_>) -> T,
    ) -> (T, Vec<Callout>, Option<Injected>) {
        let mut out = Outbox::default();
        let v = f(&mut self.filter, &mut Io::new(now, store, &mut out));
        self.events.extend(out.events);
        self.response_headers = out.response_headers;
        // A forwarded request's audit event: completed at once as if the
        // upstream answered 200 right away (tests that care complete it
        // themselves from `pending_audit`).
        if let Some(mut ev) = out.pending_audit {
            oauth_filter::core::audit::complete(&mut ev, now, Some(200), now);
            self.events.push(Event::Audit(ev));
        }
        for w in out.ready {
            if !self.ready.contains(&w) {
                self.ready.push(w);
            }
        }
        (v, out.callouts, out.injected)
    }

    /// Decide with the worker's own shared data.
    pub fn on_request(&mut self, req: &RequestView<'_>, now: UnixMillis) -> Decision {
        let mut own = std::mem::take(&mut self.own);
        let d = self.on_request_in(req, now, &mut own);
        self.own = own;
        d
    }

    /// Decide; the callouts wait in [`Worker::drain_callouts`].
    pub fn on_request_in(
        &mut self,
        req: &RequestView<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Decision {
        let (d, callouts, injected) = self.call(now, store, |f, io| f.handle_request(req, io));
        self.callouts.extend(callouts);
        self.injected = injected;
        match d {
            core::Decision::Continue(e) => Decision::Continue(e),
            core::Decision::Reply(r) => Decision::Reply(r),
            core::Decision::Pause(w) => {
                self.last_wait = Some(w);
                Decision::Pause
            }
        }
    }

    /// A tick; the callouts it starts.
    pub fn on_tick(&mut self, now: UnixMillis, store: &mut dyn SharedStore) -> Vec<Callout> {
        self.call(now, store, |f, io| f.handle_tick(io)).1
    }

    /// A callout answer; the follow-up callouts.
    pub fn on_callout_response(
        &mut self,
        id: CalloutId,
        resp: CalloutResponse<'_>,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) -> Vec<Callout> {
        self.call(now, store, |f, io| f.handle_callout_response(id, resp, io))
            .1
    }

    /// A callout given up.
    pub fn on_callout_abandoned(
        &mut self,
        id: CalloutId,
        now: UnixMillis,
        store: &mut dyn SharedStore,
    ) {
        self.call(now, store, |f, io| f.handle_callout_abandoned(id, io));
    }

    /// The upstream's answer to a request that carried `injected`.
    pub fn on_upstream_response(
        &mut self,
        injected: Injected,
        status: u16,
        www_authenticate: &[&str],
        store: &mut dyn SharedStore,
    ) {
        self.call(UnixMillis(0), store, |f, io| {
            f.handle_upstream_response(injected, status, www_authenticate, io)
        });
    }

    /// Callouts requests asked for since the last call.
    pub fn drain_callouts(&mut self) -> Vec<Callout> {
        std::mem::take(&mut self.callouts)
    }

    /// Events since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The gateway's token the last decided request carries upstream.
    pub fn take_injected(&mut self) -> Option<Injected> {
        self.injected.take()
    }

    /// What arrived since the last call.
    pub fn take_ready(&mut self) -> Vec<WaitFor> {
        std::mem::take(&mut self.ready)
    }
}

/// The callout's `application/x-www-form-urlencoded` body, decoded.
pub fn form(c: &Callout) -> Vec<(String, String)> {
    String::from_utf8(c.body.clone())
        .unwrap()
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// One form-encoded name or value, decoded (panics on bad encoding: our own
/// output must be well-formed).
fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The value of form member `name`.
pub fn member<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The JWS vectors made by `vectors/make_vectors.py`.
pub fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../vectors/vectors.json")).expect("vectors.json is JSON")
}

/// The token of the vector case `name` (its `Authorization: Bearer` value).
pub fn vector_token(name: &str) -> String {
    let v = vectors();
    let c = v["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no vector case {name}"));
    c["headers"][0][1].as_str().expect("a header value")["Bearer ".len()..].to_owned()
}
