//! Process-wide metrics registry: module metrics (`proxy_define_metric`) and
//! the host's own, rendered in Prometheus text format on the admin listener.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of histogram buckets (`le` labels); `+Inf` is implicit.
/// Chosen for millisecond latencies and small sizes, like Envoy's defaults.
pub const HISTOGRAM_BUCKETS: &[u64] = &[
    1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000, 600_000,
    1_800_000, 3_600_000,
];

/// The kind of a metric, fixed by its first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Distribution of observed values.
    Histogram,
}

impl MetricKind {
    fn type_name(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone)]
enum Value {
    Counter(u64),
    Gauge(i64),
    Histogram {
        buckets: Vec<u64>,
        sum: u64,
        count: u64,
    },
}

impl Value {
    fn new(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => Value::Counter(0),
            MetricKind::Gauge => Value::Gauge(0),
            MetricKind::Histogram => Value::Histogram {
                buckets: vec![0; HISTOGRAM_BUCKETS.len()],
                sum: 0,
                count: 0,
            },
        }
    }
}

/// Metric family: one name, one kind, several label sets.
#[derive(Debug)]
struct Family {
    kind: MetricKind,
    series: BTreeMap<Vec<(String, String)>, Value>,
}

/// Why a metric operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    /// The name is already used by a metric of another kind.
    #[error("metric exists with another type")]
    KindMismatch,
    /// The operation does not apply to this kind (e.g. reading a histogram).
    #[error("operation not supported for this metric type")]
    Unsupported,
    /// No such metric.
    #[error("no such metric")]
    NotFound,
}

/// The registry. Cheap to share (`Arc<Metrics>`), safe from every worker.
#[derive(Debug, Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<String, Family>>,
}

/// Turns any string into a valid Prometheus metric name
/// (`[a-zA-Z_:][a-zA-Z0-9_:]*`): other characters become `_`.
pub fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels_key(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (sanitize_name(k), (*v).to_string()))
        .collect();
    key.sort();
    key
}

fn render_labels(labels: &[(String, String)], extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{}\"", escape_label_value(v)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

impl Metrics {
    fn with_series<R>(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        kind: MetricKind,
        f: impl FnOnce(&mut Value) -> R,
    ) -> Result<R, MetricError> {
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let family = families
            .entry(sanitize_name(name))
            .or_insert_with(|| Family {
                kind,
                series: BTreeMap::new(),
            });
        if family.kind != kind {
            return Err(MetricError::KindMismatch);
        }
        let value = family
            .series
            .entry(labels_key(labels))
            .or_insert_with(|| Value::new(kind));
        Ok(f(value))
    }

    /// Declares `name{labels}` of `kind` (created at 0). Fails if the name
    /// exists with another kind.
    pub fn define(
        &self,
        kind: MetricKind,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<(), MetricError> {
        self.with_series(name, labels, kind, |_| ())
    }

    /// Adds `by` to counter `name{labels}` (created at 0 on first use).
    pub fn inc_counter(&self, name: &str, labels: &[(&str, &str)], by: u64) {
        let _ = self.with_series(name, labels, MetricKind::Counter, |v| {
            if let Value::Counter(c) = v {
                *c = c.saturating_add(by);
            }
        });
    }

    /// Sets gauge `name{labels}`.
    pub fn set_gauge(&self, name: &str, labels: &[(&str, &str)], value: i64) {
        let _ = self.with_series(name, labels, MetricKind::Gauge, |v| {
            if let Value::Gauge(g) = v {
                *g = value;
            }
        });
    }

    /// Adds `delta` (possibly negative) to gauge `name{labels}`.
    pub fn add_gauge(&self, name: &str, labels: &[(&str, &str)], delta: i64) {
        let _ = self.with_series(name, labels, MetricKind::Gauge, |v| {
            if let Value::Gauge(g) = v {
                *g = g.saturating_add(delta);
            }
        });
    }

    /// Records `value` in histogram `name{labels}`.
    pub fn observe(&self, name: &str, labels: &[(&str, &str)], value: u64) {
        let _ = self.with_series(name, labels, MetricKind::Histogram, |v| {
            if let Value::Histogram {
                buckets,
                sum,
                count,
            } = v
            {
                for (bucket, bound) in buckets.iter_mut().zip(HISTOGRAM_BUCKETS) {
                    if value <= *bound {
                        *bucket += 1;
                    }
                }
                *sum = sum.saturating_add(value);
                *count += 1;
            }
        });
    }

    /// Current value of a counter or gauge (gauges as two's complement).
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Result<u64, MetricError> {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let family = families
            .get(&sanitize_name(name))
            .ok_or(MetricError::NotFound)?;
        match family.series.get(&labels_key(labels)) {
            Some(Value::Counter(c)) => Ok(*c),
            Some(Value::Gauge(g)) => Ok(*g as u64),
            Some(Value::Histogram { .. }) => Err(MetricError::Unsupported),
            None => Err(MetricError::NotFound),
        }
    }

    /// Renders every metric in Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        for (name, family) in families.iter() {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.type_name());
            for (labels, value) in &family.series {
                match value {
                    Value::Counter(c) => {
                        let _ = writeln!(out, "{name}{} {c}", render_labels(labels, None));
                    }
                    Value::Gauge(g) => {
                        let _ = writeln!(out, "{name}{} {g}", render_labels(labels, None));
                    }
                    Value::Histogram {
                        buckets,
                        sum,
                        count,
                    } => {
                        for (bound, n) in HISTOGRAM_BUCKETS.iter().zip(buckets) {
                            let le = bound.to_string();
                            let _ = writeln!(
                                out,
                                "{name}_bucket{} {n}",
                                render_labels(labels, Some(("le", &le)))
                            );
                        }
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {count}",
                            render_labels(labels, Some(("le", "+Inf")))
                        );
                        let _ = writeln!(out, "{name}_sum{} {sum}", render_labels(labels, None));
                        let _ =
                            writeln!(out, "{name}_count{} {count}", render_labels(labels, None));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_and_gauge_render_with_type_lines() {
        let m = Metrics::default();
        m.inc_counter("reqs_total", &[("plugin", "a")], 2);
        m.inc_counter("reqs_total", &[("plugin", "a")], 3);
        m.inc_counter("reqs_total", &[("plugin", "b\"x")], 1);
        m.set_gauge("temp", &[], -4);
        m.add_gauge("temp", &[], 1);
        let text = m.render_prometheus();
        assert!(text.contains("# TYPE reqs_total counter\n"), "{text}");
        assert!(text.contains("reqs_total{plugin=\"a\"} 5\n"), "{text}");
        assert!(text.contains("reqs_total{plugin=\"b\\\"x\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE temp gauge\ntemp -3\n"), "{text}");
        assert_eq!(m.get("reqs_total", &[("plugin", "a")]), Ok(5));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("lat", &[], 7);
        m.observe("lat", &[], 3);
        m.observe("lat", &[], 10_000_000);
        let text = m.render_prometheus();
        assert!(text.contains("# TYPE lat histogram\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"1\"} 0\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"5\"} 1\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"3600000\"} 2\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("lat_sum 10000010\n"), "{text}");
        assert!(text.contains("lat_count 3\n"), "{text}");
        assert_eq!(m.get("lat", &[]), Err(MetricError::Unsupported));
    }

    #[test]
    fn kind_is_fixed_by_first_use_and_names_are_sanitized() {
        let m = Metrics::default();
        m.inc_counter("wasm.filter.hits", &[], 1);
        assert_eq!(
            m.define(MetricKind::Gauge, "wasm.filter.hits", &[]),
            Err(MetricError::KindMismatch)
        );
        m.set_gauge("wasm.filter.hits", &[], 9); // ignored: wrong kind
        assert!(m.render_prometheus().contains("wasm_filter_hits 1\n"));
        assert_eq!(sanitize_name("9lives"), "_9lives");
        assert_eq!(m.get("missing", &[]), Err(MetricError::NotFound));
    }
}
