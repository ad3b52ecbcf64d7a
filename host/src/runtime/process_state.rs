//! Process-wide state shared by every worker: shared data, queues, metric
//! ids, the metrics registry, the callout client and foreign functions.

use std::sync::{Arc, Mutex};

use super::CalloutClient;
use crate::abi::foreign::ForeignFunctions;
use crate::abi::module_metrics::MetricIds;
use crate::abi::queues::QueueRegistry;
use crate::abi::shared_data::SharedDataStore;
use crate::metrics::Metrics;

/// See the module documentation.
pub(crate) struct ProcessState {
    pub shared_data: Mutex<SharedDataStore>,
    pub queues: Mutex<QueueRegistry>,
    pub metric_ids: Mutex<MetricIds>,
    pub metrics: Arc<Metrics>,
    pub callouts: Arc<dyn CalloutClient>,
    pub foreign: ForeignFunctions,
}
