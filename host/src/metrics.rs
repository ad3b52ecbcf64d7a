//! Process-wide metrics registry: module metrics (`proxy_define_metric`) and
//! the host's own, rendered in Prometheus text format on the admin listener.

/// The registry. Cheap to share (`Arc<Metrics>`), safe from every worker.
#[derive(Debug, Default)]
pub struct Metrics {
    _private: (),
}

impl Metrics {
    /// Renders every metric in Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self) -> String {
        todo!("metrics")
    }
}
