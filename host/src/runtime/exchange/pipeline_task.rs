//! The task that runs one direction's [`Pipeline`] on the worker's
//! `LocalSet`: it feeds the source body's frames in, reports once the head
//! is decided ([`Head`]), then sends what the last stage lets through on
//! the forwarded body's channel, trailers last.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use tokio::sync::{mpsc, oneshot};

use super::body::FrameResult;
use super::header_conversion::to_header_map;
use super::stage_pipeline::{Interrupt, Pipeline};
use crate::runtime::{Body, BoxError};

/// The head of a direction is decided.
pub(super) enum Head {
    /// Headers may go on; the body (if any) comes on this channel.
    Ready(Option<mpsc::Receiver<FrameResult>>),
    Interrupted(Interrupt),
}

/// Runs `p` until its direction ends, is interrupted, or nobody reads the
/// forwarded body any more. `source` is `None` without a body.
pub(super) async fn run_pipeline(
    mut p: Pipeline,
    mut source: Option<Body>,
    head_tx: oneshot::Sender<Head>,
) {
    let (body_tx, body_rx) = mpsc::channel::<FrameResult>(8);
    let mut head_tx = Some(head_tx);
    let mut body_rx = Some(body_rx);
    let notify = p.shared.notify.clone();
    let max_held = p.shared.max_held_body;
    // Body bytes read while the head is undecided: all still held here.
    let mut held: usize = 0;
    loop {
        if let Err(interrupt) = p.advance() {
            match head_tx.take() {
                Some(tx) => {
                    let _ = tx.send(Head::Interrupted(interrupt));
                }
                None => {
                    let reason: BoxError = match interrupt {
                        Interrupt::Source(e) => e,
                        other => format!("stream ended by a filter ({other:?})").into(),
                    };
                    let _ = body_tx.send(Err(reason)).await;
                }
            }
            return;
        }
        if head_tx.is_some() && p.headers_done() {
            let rx = if p.has_body { body_rx.take() } else { None };
            let Some(tx) = head_tx.take() else { return };
            if tx.send(Head::Ready(rx)).is_err() || !p.has_body {
                return;
            }
        }
        if head_tx.is_none() {
            if !p.output.data.is_empty() {
                let data = Bytes::from(std::mem::take(&mut p.output.data));
                if body_tx.send(Ok(Frame::data(data))).await.is_err() {
                    return;
                }
            }
            if p.output.end {
                let trailers = p.take_trailers();
                if !trailers.is_empty() {
                    let _ = body_tx
                        .send(Ok(Frame::trailers(to_header_map(&trailers))))
                        .await;
                }
                return;
            }
        }
        let source_open = source.is_some();
        let head_sent = head_tx.is_none();
        tokio::select! {
            frame = async {
                match source.as_mut() {
                    Some(body) => body.frame().await,
                    None => std::future::pending().await,
                }
            }, if source_open => match frame {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        if head_tx.is_some() {
                            held = held.saturating_add(data.len());
                            if held > max_held {
                                // Stop reading: refuse rather than buffer more.
                                if let Some(tx) = head_tx.take() {
                                    let _ = tx.send(Head::Interrupted(Interrupt::TooLarge));
                                }
                                return;
                            }
                        }
                        p.push_input(&data)
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            p.store_trailers(&trailers);
                            source = None;
                            p.push_eos();
                        }
                    }
                },
                Some(Err(e)) => {
                    let reason: BoxError = e;
                    match head_tx.take() {
                        Some(tx) => {
                            let _ = tx.send(Head::Interrupted(Interrupt::Source(reason)));
                        }
                        None => {
                            let _ = body_tx.send(Err(reason)).await;
                        }
                    }
                    return;
                }
                None => {
                    source = None;
                    p.push_eos();
                }
            },
            _ = notify.notified() => {}
            _ = body_tx.closed(), if head_sent => return,
        }
    }
}
