//! Every serde default of the configuration, in one place (the values
//! docs/filter-config.md documents).

pub(crate) fn realm() -> String {
    "api".to_owned()
}
pub(crate) fn require_https() -> bool {
    true
}
pub(crate) fn tick_ms() -> u64 {
    200
}
pub(crate) fn clock_skew_s() -> u64 {
    60
}
pub(crate) fn token_max_bytes() -> usize {
    8192
}
pub(crate) fn refresh_interval_s() -> u64 {
    600
}
pub(crate) fn min_refresh_interval_s() -> u64 {
    30
}
pub(crate) fn max_refresh_interval_s() -> u64 {
    86_400
}
pub(crate) fn unknown_kid_refetch_interval_s() -> u64 {
    30
}
pub(crate) fn retry_interval_s() -> u64 {
    5
}
pub(crate) fn key_fetch_timeout_ms() -> u64 {
    5000
}
pub(crate) fn initial_wait_ms() -> u64 {
    5000
}
pub(crate) fn cache_max_entries() -> usize {
    1024
}
pub(crate) fn enabled() -> bool {
    true
}
pub(crate) fn tracking_id_claim() -> String {
    "jti".to_owned()
}

// Introspection.
pub(crate) fn introspection_timeout_ms() -> u64 {
    2000
}
pub(crate) fn answers_max_entries() -> usize {
    4096
}
pub(crate) fn answers_local_max_entries() -> usize {
    1024
}
pub(crate) fn answers_max_ttl_s() -> u64 {
    300
}
pub(crate) fn answers_default_ttl_s() -> u64 {
    60
}
pub(crate) fn answers_inactive_ttl_s() -> u64 {
    10
}
pub(crate) fn answers_max_entry_bytes() -> usize {
    4096
}

// Client role.
pub(crate) fn client_header() -> String {
    "authorization".to_owned()
}
pub(crate) fn renew_margin_s() -> u64 {
    30
}
pub(crate) fn token_timeout_ms() -> u64 {
    5000
}
pub(crate) fn default_expires_in_s() -> u64 {
    300
}
pub(crate) fn retry_after_failure_s() -> u64 {
    5
}
pub(crate) fn assertion_lifetime_s() -> u64 {
    60
}
