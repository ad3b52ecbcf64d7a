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

    /// RFC 3339 UTC with milliseconds: `2026-12-02T17:20:00.123Z`.
    pub fn rfc3339(self) -> String {
        let mut s = String::with_capacity(24);
        self.write_rfc3339(&mut s);
        s
    }

    /// Appends [`UnixMillis::rfc3339`] to `out`, digit by digit (no
    /// formatting machinery: the audit line writes one per request).
    pub fn write_rfc3339(self, out: &mut String) {
        let secs = self.0 / 1000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm);
        // every value here is at least 0.
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + u64::from(m <= 2);
        push_digits(out, y, 4);
        out.push('-');
        push_digits(out, m, 2);
        out.push('-');
        push_digits(out, d, 2);
        out.push('T');
        push_digits(out, rem / 3600, 2);
        out.push(':');
        push_digits(out, rem % 3600 / 60, 2);
        out.push(':');
        push_digits(out, rem % 60, 2);
        out.push('.');
        push_digits(out, self.0 % 1000, 3);
        out.push('Z');
    }
}

/// `n` in decimal, zero-padded to at least `width` digits.
fn push_digits(out: &mut String, n: u64, width: usize) {
    super::text::push_number(out, n, 10, width);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(UnixMillis(0).rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            UnixMillis(951_782_400_001).rfc3339(),
            "2000-02-29T00:00:00.001Z"
        );
        assert_eq!(
            UnixMillis(1_796_232_000_123).rfc3339(),
            "2026-12-02T17:20:00.123Z"
        );
        // A clock far in the future (a refused clock reads so): five digits.
        assert_eq!(
            UnixMillis(253_402_300_800_000).rfc3339(),
            "10000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            UnixMillis(u64::MAX / 2).rfc3339(),
            "292278994-08-17T07:12:55.807Z"
        );
        let mut s = String::from("x");
        push_digits(&mut s, 7, 3);
        push_digits(&mut s, 12345, 2);
        push_digits(&mut s, u64::MAX, 1);
        assert_eq!(s, "x00712345".to_owned() + &u64::MAX.to_string());
    }
}
