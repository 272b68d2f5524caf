//! Maintenance windows as pure time arithmetic.
//!
//! A window is a daily span from `MaintainStartTime` to `MaintainEndTime` (`HH:mmZ`, UTC). It
//! includes its start and excludes its end; a start later than the end wraps midnight
//! (`23:00Z`–`01:00Z`), and equal times mean the whole day.

use jiff::{SignedDuration, Timestamp};

/// Seconds in a day.
const DAY: i64 = 24 * 3600;

/// A daily maintenance window, as seconds after midnight UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    start: i64,
    end: i64,
}

/// `HH:mmZ` as seconds after midnight.
fn seconds_of_day(text: &str) -> Option<i64> {
    let (hour, minute) = text.strip_suffix('Z')?.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hour) || !two_digits(minute) {
        return None;
    }
    let (hour, minute): (i64, i64) = (hour.parse().ok()?, minute.parse().ok()?);
    (hour < 24 && minute < 60).then_some(hour * 3600 + minute * 60)
}

impl Window {
    /// The window from `start` to `end` (`HH:mmZ` each), or `None` if either is malformed.
    pub(crate) fn parse(start: &str, end: &str) -> Option<Self> {
        Some(Window {
            start: seconds_of_day(start)?,
            end: seconds_of_day(end)?,
        })
    }

    /// Whether `at` lies inside the window (its start included, its end excluded).
    pub(crate) fn contains(&self, at: Timestamp) -> bool {
        let second = at.as_second().rem_euclid(DAY);
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Less => self.start <= second && second < self.end,
            std::cmp::Ordering::Greater => second >= self.start || second < self.end,
            std::cmp::Ordering::Equal => true,
        }
    }

    /// The first moment at or after `at` inside the window: `at` itself when it is inside,
    /// else the next start.
    pub(crate) fn next_start(&self, at: Timestamp) -> Timestamp {
        if self.contains(at) {
            return at;
        }
        let second = at.as_second().rem_euclid(DAY);
        let wait = (self.start - second).rem_euclid(DAY);
        // Outside the window the start is at least a second of the day away, so `wait` is
        // positive; counting from `at`'s whole second lands on the start exactly.
        let whole = Timestamp::from_second(at.as_second()).unwrap_or(at);
        whole + SignedDuration::from_secs(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn window(start: &str, end: &str) -> Window {
        Window::parse(start, end).unwrap()
    }

    #[test]
    fn the_start_is_inside_and_the_end_is_not() {
        let w = window("02:00Z", "03:00Z");
        assert!(!w.contains(at("2026-12-03T01:59:59Z")));
        assert!(w.contains(at("2026-12-03T02:00:00Z")));
        assert!(w.contains(at("2026-12-03T02:59:59Z")));
        assert!(!w.contains(at("2026-12-03T03:00:00Z")));
    }

    #[test]
    fn a_window_across_midnight_wraps() {
        let w = window("23:00Z", "01:00Z");
        assert!(w.contains(at("2026-12-03T23:00:00Z")));
        assert!(w.contains(at("2026-12-04T00:30:00Z")));
        assert!(!w.contains(at("2026-12-04T01:00:00Z")));
        assert!(!w.contains(at("2026-12-03T22:59:59Z")));
        assert!(!w.contains(at("2026-12-03T12:00:00Z")));
        assert_eq!(
            w.next_start(at("2026-12-04T01:00:00Z")),
            at("2026-12-04T23:00:00Z")
        );
        assert_eq!(
            w.next_start(at("2026-12-04T00:10:00Z")),
            at("2026-12-04T00:10:00Z")
        );
    }

    #[test]
    fn inside_the_window_the_next_start_is_now() {
        let w = window("18:00Z", "22:00Z");
        let now = at("2026-12-03T18:00:00Z");
        assert_eq!(w.next_start(now), now);
        let now = at("2026-12-03T21:59:59.5Z");
        assert_eq!(w.next_start(now), now);
    }

    #[test]
    fn outside_the_window_the_next_start_is_today_or_tomorrow() {
        let w = window("18:00Z", "22:00Z");
        assert_eq!(
            w.next_start(at("2026-12-03T12:30:04.25Z")),
            at("2026-12-03T18:00:00Z")
        );
        assert_eq!(
            w.next_start(at("2026-12-03T22:00:00Z")),
            at("2026-12-04T18:00:00Z")
        );
    }

    #[test]
    fn the_next_start_crosses_months_years_and_leap_days() {
        let w = window("02:00Z", "03:00Z");
        assert_eq!(
            w.next_start(at("2026-12-31T23:30:00Z")),
            at("2027-01-01T02:00:00Z")
        );
        assert_eq!(
            w.next_start(at("2028-02-28T03:00:00Z")),
            at("2028-02-29T02:00:00Z")
        );
        assert_eq!(
            w.next_start(at("2027-02-28T03:00:00Z")),
            at("2027-03-01T02:00:00Z")
        );
    }

    #[test]
    fn equal_times_mean_the_whole_day_and_bad_times_no_window() {
        let w = window("05:00Z", "05:00Z");
        let now = at("2026-12-03T12:00:00Z");
        assert!(w.contains(now));
        assert_eq!(w.next_start(now), now);
        for bad in ["5:00Z", "05:00", "24:00Z", "05:60Z", "ab:cdZ", ""] {
            assert_eq!(Window::parse(bad, "06:00Z"), None, "{bad}");
        }
        assert_eq!(window("00:30Z", "01:30Z").start, 1800);
    }
}
