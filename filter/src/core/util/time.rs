//! Wall-clock time as the core sees it: given by the caller (virtual in tests).

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// From whole seconds.
    pub fn from_secs(s: u64) -> UnixMillis {
        UnixMillis(s.saturating_mul(1000))
    }

    /// `self + ms`, saturating.
    pub fn plus_ms(self, ms: u64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(ms))
    }

    /// `self + s` seconds, saturating.
    pub fn plus_secs(self, s: u64) -> UnixMillis {
        self.plus_ms(s.saturating_mul(1000))
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn since(self, earlier: UnixMillis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
