//! One shared limiter for every call: requests leave at most `qps` per second.
//!
//! A generic cell rate algorithm (GCRA) on tokio's clock, so that tests with paused time see
//! exact schedules. Callers reserve a departure slot under a short lock and sleep outside it,
//! which keeps the order of arrival and never lets two callers share a slot.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket shared by all tasks of one client.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `qps` requests per second with bursts of at most `burst` requests.
    /// `qps` must be positive; a `burst` of 0 counts as 1.
    pub fn new(qps: f64, burst: u32) -> Self {
        let interval = Duration::from_secs_f64(1.0 / qps.max(f64::MIN_POSITIVE));
        RateLimiter {
            interval,
            tolerance: interval.saturating_mul(burst.max(1) - 1),
            next_slot: Mutex::new(None),
        }
    }

    /// The time between two requests at the steady rate.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until this caller may send one request.
    pub async fn acquire(&self) {
        let departure = {
            let mut next_slot = self.next_slot.lock().await;
            let now = Instant::now();
            let theoretical = next_slot.map_or(now, |slot| slot.max(now));
            let departure = theoretical
                .checked_sub(self.tolerance)
                .map_or(now, |earliest| earliest.max(now));
            *next_slot = Some(theoretical + self.interval);
            departure
        };
        tokio::time::sleep_until(departure).await;
    }
}

/// Requests per second when neither `--qps` nor the Stack document sets a rate.
pub const DEFAULT_QPS: f64 = 20.0;

/// Where the client's request rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    /// `--qps`.
    Flag,
    /// The Stack document's `qps`.
    Stack,
    /// Neither: [`DEFAULT_QPS`].
    Default,
}

impl std::fmt::Display for RateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RateSource::Flag => "from --qps",
            RateSource::Stack => "from the Stack document",
            RateSource::Default => "the default",
        })
    }
}

/// The client's request rate: `--qps`, else the Stack document's `qps`, else the default.
pub fn effective_qps(flag: Option<f64>, stack: Option<f64>) -> (f64, RateSource) {
    match (flag, stack) {
        (Some(qps), _) => (qps, RateSource::Flag),
        (None, Some(qps)) => (qps, RateSource::Stack),
        (None, None) => (DEFAULT_QPS, RateSource::Default),
    }
}

/// Logs the rate in force (visible with `-v`).
pub fn log_rate(qps: f64, source: RateSource) {
    tracing::info!("API rate limit: {qps} requests per second ({source})");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steady_rate_spaces_requests_evenly() {
        let limiter = RateLimiter::new(10.0, 1);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn burst_goes_out_at_once_then_the_rate_applies() {
        let limiter = RateLimiter::new(10.0, 3);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_never_exceed_the_rate() {
        let limiter = std::sync::Arc::new(RateLimiter::new(20.0, 1));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let limiter = limiter.clone();
            tasks.spawn(async move {
                limiter.acquire().await;
                Instant::now()
            });
        }
        let mut times = tasks.join_all().await;
        times.sort();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(50));
        }
        assert_eq!(start.elapsed(), Duration::from_millis(39 * 50));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_does_not_bank_more_than_the_burst() {
        let limiter = RateLimiter::new(10.0, 2);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }
}
