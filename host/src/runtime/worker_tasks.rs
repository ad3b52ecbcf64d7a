//! The tasks a worker runs for its plugin instances: a callout's answer
//! (`proxy_on_http_call_response`), tick timers (`proxy_on_tick`) and
//! shared-queue events (`proxy_on_queue_ready`). Each calls in through
//! [`invoke`] and stops when its instance is gone or replaced.

use std::cell::RefCell;
use std::rc::Weak;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::invoke::{ensure, invoke};
use super::state::{CallResponse, PendingCallout};
use super::vm::PluginSlot;
use crate::abi::headers::HeaderList;
use crate::abi::queues::QueueEvent;

/// Sends one `http_call` and delivers its answer (or failure).
pub(super) async fn run_callout(
    slot: Weak<RefCell<PluginSlot>>,
    generation: u64,
    callout: PendingCallout,
) {
    let client = match slot.upgrade() {
        Some(s) => s.borrow().compiled.shared.process.callouts.clone(),
        None => return,
    };
    let PendingCallout {
        token,
        cluster,
        request,
        timeout,
    } = callout;
    let call = client.call(&cluster, request, timeout);
    let result = if timeout.is_zero() {
        call.await
    } else {
        // The client applies the timeout too; this bounds a client that doesn't.
        match tokio::time::timeout(timeout + Duration::from_millis(50), call).await {
            Ok(r) => r,
            Err(_) => Err(super::CalloutError::Timeout),
        }
    };
    let response = match result {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let mut headers = HeaderList::default();
            headers.add(b":status", parts.status.as_str().as_bytes());
            for (k, v) in &parts.headers {
                headers.add(k.as_str().as_bytes(), v.as_bytes());
            }
            CallResponse {
                headers,
                trailers: HeaderList::default(),
                body: body.to_vec(),
                status: 0,
                message: String::new(),
            }
        }
        Err(e) => {
            tracing::warn!(cluster = %cluster, error = %e, "http_call failed");
            CallResponse {
                status: 14,
                message: e.to_string(),
                ..CallResponse::default()
            }
        }
    };
    let Some(slot) = slot.upgrade() else { return };
    let (nh, nb, nt) = (
        response.headers.len() as i32,
        response.body.len() as i32,
        response.trailers.len() as i32,
    );
    let root = 1u32;
    let _ = invoke(&slot, generation, root, move |ex, store| {
        store.data().call_response.replace(Some(response));
        let result = match &ex.on_http_call_response {
            Some(f) => f.call(&mut *store, (root as i32, token as i32, nh, nb, nt)),
            None => Ok(()),
        };
        store.data().call_response.replace(None);
        result
    });
}

/// Calls `proxy_on_tick` every `period` until the period changes or the
/// instance is replaced.
pub(super) async fn run_ticks(
    slot: Weak<RefCell<PluginSlot>>,
    generation: u64,
    epoch: u64,
    period: Duration,
) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(slot) = slot.upgrade() else { return };
        {
            let s = slot.borrow();
            if s.generation != generation || s.tick_epoch != epoch {
                return;
            }
        }
        let root = 1u32;
        let result = invoke(&slot, generation, root, |ex, store| match &ex.on_tick {
            Some(f) => f.call(store, root as i32),
            None => Ok(()),
        });
        if result.is_err() {
            return;
        }
    }
}

/// Delivers `on_queue_ready` for queues owned by this worker's instances.
pub(crate) async fn run_queue_events(
    slots: Vec<Weak<RefCell<PluginSlot>>>,
    mut events: UnboundedReceiver<QueueEvent>,
) {
    while let Some(event) = events.recv().await {
        let Some(slot) = slots.get(event.plugin_index).and_then(Weak::upgrade) else {
            if slots.iter().all(|s| s.strong_count() == 0) {
                return;
            }
            continue;
        };
        let Some(generation) = ensure(&slot) else {
            continue;
        };
        let root = 1u32;
        let _ = invoke(&slot, generation, root, |ex, store| {
            match &ex.on_queue_ready {
                Some(f) => f.call(store, (root as i32, event.queue_id as i32)),
                None => Ok(()),
            }
        });
    }
}
