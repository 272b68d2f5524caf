//! The cloud's clock, learnt from the `Date` header of its answers.
//!
//! Maintenance windows are the cloud's: a window opens when the cloud's clock says so. Each
//! answer's `Date` (RFC 9110, to the second) gives the offset between the cloud's clock and
//! this machine's, and [`CloudClock::now`] is the local clock corrected by the latest offset.
//! Until an answer has carried a readable `Date`, it is the local clock.

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

/// The cloud's time as last measured; shared by a client and its clones.
#[derive(Debug, Default)]
pub struct CloudClock {
    /// Cloud minus local, in milliseconds.
    offset_ms: AtomicI64,
}

impl CloudClock {
    /// Records the `Date` header of an answer received at `received` (local time). The
    /// header is truncated to the second, so half a second is added to centre the estimate.
    pub fn observe(&self, date_header: &str, received: Timestamp) {
        let Ok(date) = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(date_header)
        else {
            return;
        };
        let offset = date.duration_since(received) + SignedDuration::from_millis(500);
        let millis = i64::try_from(offset.as_millis()).unwrap_or(0);
        self.offset_ms.store(millis, Ordering::Relaxed);
    }

    /// The cloud's offset from the local clock.
    pub fn offset(&self) -> SignedDuration {
        SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Now on the cloud's clock.
    pub fn now(&self) -> Timestamp {
        let local = Timestamp::now();
        local.checked_add(self.offset()).unwrap_or(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_header_sets_the_offset_to_within_a_second() {
        let clock = CloudClock::default();
        let received: Timestamp = "2026-12-03T12:00:00.250Z".parse().unwrap();
        clock.observe("Thu, 03 Dec 2026 17:00:00 GMT", received);
        let offset = clock.offset().as_secs_f64();
        assert!((offset - 5.0 * 3600.0).abs() <= 1.0, "{offset}");
        let now = clock.now();
        let local = Timestamp::now();
        assert!((now.duration_since(local).as_secs_f64() - offset).abs() < 5.0);
    }

    #[test]
    fn an_unreadable_date_changes_nothing() {
        let clock = CloudClock::default();
        clock.observe("yesterday", Timestamp::now());
        clock.observe("", Timestamp::now());
        assert_eq!(clock.offset(), SignedDuration::ZERO);
    }
}
