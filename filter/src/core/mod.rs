//! Sans-IO OAuth 2.0 resource-server logic: no proxy-wasm types in here.
//!
//! Inputs are request views, the time, shared-data snapshots and callout
//! responses; outputs are decisions, callouts to start and events to log.

pub mod config;
pub mod jose;
pub mod json;
pub mod jwk;
pub mod uri;
pub mod verify;
