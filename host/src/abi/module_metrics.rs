//! Metrics (`proxy_define_metric`, `proxy_increment_metric`,
//! `proxy_record_metric`, `proxy_get_metric`) onto the process-wide
//! [`crate::metrics::Metrics`] registry. Metric ids are process-wide:
//! the same name and type give the same id on every worker.

use std::collections::HashMap;

use wasmtime::{Caller, Linker};

use super::memory::{read_string, tri, write_u32, write_u64, HostResult};
use super::Status;
use crate::metrics::{MetricKind, Metrics};
use crate::runtime::state::HostState;

/// Module metric ids (pure; wrap it in a mutex to share it).
#[derive(Debug, Default)]
pub struct MetricIds {
    by_name: HashMap<String, u32>,
    by_id: Vec<(MetricKind, String)>,
}

impl MetricIds {
    /// Id of `name`, defining it on first use. A name already defined with
    /// another kind is refused.
    pub fn define(&mut self, kind: MetricKind, name: &str) -> Result<u32, Status> {
        if let Some(id) = self.by_name.get(name) {
            let (k, _) = &self.by_id[*id as usize - 1];
            return if *k == kind {
                Ok(*id)
            } else {
                Err(Status::BadArgument)
            };
        }
        self.by_id.push((kind, name.to_string()));
        let id = self.by_id.len() as u32;
        self.by_name.insert(name.to_string(), id);
        Ok(id)
    }

    /// Kind and name of metric `id`.
    pub fn get(&self, id: u32) -> Option<(MetricKind, &str)> {
        let (k, n) = self.by_id.get((id as usize).checked_sub(1)?)?;
        Some((*k, n))
    }
}

/// Applies `proxy_increment_metric`.
pub fn increment(
    metrics: &Metrics,
    kind: MetricKind,
    name: &str,
    offset: i64,
) -> Result<(), Status> {
    match kind {
        MetricKind::Counter if offset >= 0 => metrics.inc_counter(name, &[], offset as u64),
        MetricKind::Counter => return Err(Status::BadArgument),
        MetricKind::Gauge => metrics.add_gauge(name, &[], offset),
        MetricKind::Histogram => return Err(Status::BadArgument),
    }
    Ok(())
}

/// Applies `proxy_record_metric` (Envoy: counters add, gauges set,
/// histograms observe).
pub fn record(metrics: &Metrics, kind: MetricKind, name: &str, value: u64) {
    match kind {
        MetricKind::Counter => metrics.inc_counter(name, &[], value),
        MetricKind::Gauge => metrics.set_gauge(name, &[], value as i64),
        MetricKind::Histogram => metrics.observe(name, &[], value),
    }
}

fn lookup(caller: &Caller<'_, HostState>, id: i32) -> Result<(MetricKind, String), Status> {
    let ids = caller
        .data()
        .plugin
        .process
        .metric_ids
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    ids.get(id as u32)
        .map(|(k, n)| (k, n.to_string()))
        .ok_or(Status::NotFound)
}

fn define(caller: &mut Caller<'_, HostState>, kind: i32, np: i32, nl: i32, ret: i32) -> HostResult {
    let kind = match kind {
        0 => MetricKind::Counter,
        1 => MetricKind::Gauge,
        2 => MetricKind::Histogram,
        _ => return Ok(Status::BadArgument),
    };
    let name = tri!(read_string(caller, np, nl));
    let id = {
        let process = &caller.data().plugin.process;
        let mut ids = process.metric_ids.lock().unwrap_or_else(|e| e.into_inner());
        let id = tri!(ids.define(kind, &name));
        if process.metrics.define(kind, &name, &[]).is_err() {
            return Ok(Status::BadArgument);
        }
        id
    };
    tri!(write_u32(caller, ret, id));
    Ok(Status::Ok)
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: Caller<'_, HostState>, kind: i32, np: i32, nl: i32, ret: i32| {
            define(&mut c, kind, np, nl, ret).map(Status::code)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_increment_metric",
        |c: Caller<'_, HostState>, id: i32, offset: i64| {
            let status = match lookup(&c, id) {
                Ok((kind, name)) => {
                    increment(&c.data().plugin.process.metrics, kind, &name, offset)
                        .err()
                        .unwrap_or(Status::Ok)
                }
                Err(s) => s,
            };
            Ok(status.code())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_record_metric",
        |c: Caller<'_, HostState>, id: i32, value: i64| {
            let status = match lookup(&c, id) {
                Ok((kind, name)) => {
                    record(&c.data().plugin.process.metrics, kind, &name, value as u64);
                    Status::Ok
                }
                Err(s) => s,
            };
            Ok(status.code())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: Caller<'_, HostState>, id: i32, ret: i32| {
            let (_, name) = match lookup(&c, id) {
                Ok(v) => v,
                Err(s) => return Ok(s.code()),
            };
            let value = match c.data().plugin.process.metrics.get(&name, &[]) {
                Ok(v) => v,
                Err(_) => return Ok(Status::BadArgument.code()),
            };
            Ok(write_u64(&mut c, ret, value)
                .err()
                .unwrap_or(Status::Ok)
                .code())
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_kind_checked() {
        let mut ids = MetricIds::default();
        let a = ids.define(MetricKind::Counter, "a").unwrap();
        let b = ids.define(MetricKind::Gauge, "b").unwrap();
        assert_ne!(a, 0);
        assert_ne!(a, b);
        assert_eq!(ids.define(MetricKind::Counter, "a"), Ok(a));
        assert_eq!(ids.define(MetricKind::Gauge, "a"), Err(Status::BadArgument));
        assert_eq!(ids.get(b), Some((MetricKind::Gauge, "b")));
        assert_eq!(ids.get(0), None);
        assert_eq!(ids.get(99), None);
    }

    #[test]
    fn increment_and_record_follow_kinds() {
        let m = Metrics::default();
        increment(&m, MetricKind::Counter, "c", 2).unwrap();
        assert_eq!(
            increment(&m, MetricKind::Counter, "c", -1),
            Err(Status::BadArgument)
        );
        record(&m, MetricKind::Counter, "c", 3);
        assert_eq!(m.get("c", &[]), Ok(5));
        record(&m, MetricKind::Gauge, "g", 10);
        increment(&m, MetricKind::Gauge, "g", -4).unwrap();
        assert_eq!(m.get("g", &[]), Ok(6));
        record(&m, MetricKind::Histogram, "h", 7);
        assert!(m.render_prometheus().contains("h_count 1"));
    }
}
