//! Process-wide metrics registry: module metrics (`proxy_define_metric`) and
//! the host's own, rendered in Prometheus text format on the admin listener.

/// The registry. Cheap to share (`Arc<Metrics>`), safe from every worker.
#[derive(Debug, Default)]
pub struct Metrics {
    _private: (),
}

impl Metrics {
    /// Adds `by` to counter `name{labels}` (created at 0 on first use).
    pub fn inc_counter(&self, name: &str, labels: &[(&str, &str)], by: u64) {
        let _ = (name, labels, by);
        todo!("metrics")
    }

    /// Sets gauge `name{labels}`.
    pub fn set_gauge(&self, name: &str, labels: &[(&str, &str)], value: i64) {
        let _ = (name, labels, value);
        todo!("metrics")
    }

    /// Records `value` in histogram `name{labels}`.
    pub fn observe(&self, name: &str, labels: &[(&str, &str)], value: u64) {
        let _ = (name, labels, value);
        todo!("metrics")
    }

    /// Renders every metric in Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        todo!("metrics")
    }
}
