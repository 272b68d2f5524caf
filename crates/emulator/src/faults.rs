//! Injected faults: latency, `ServiceUnavailable`, answers lost after the change committed,
//! signatures refused on calls that carry a given parameter, and STS or the metadata stand-in
//! down.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Which faults to inject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Added to every API request before it is handled.
    pub latency: Duration,
    /// Probability that a request is answered `ServiceUnavailable` (503) without effect.
    pub fault_rate: f64,
    /// Probability that a successful request's answer is lost: the change commits, then the
    /// connection is cut before the answer.
    pub lost_response_rate: f64,
    /// Deterministic lost answers: the first N successful calls of an action lose their answer.
    pub lose_responses: BTreeMap<String, u32>,
    /// Requests per second admitted; the excess is answered `Throttling.User`.
    pub qps: Option<f64>,
    /// Requests carrying any of these parameters are refused `SignatureDoesNotMatch`, with the
    /// server's string-to-sign in the message, exactly as a real mismatch is answered.
    pub signature_faults: BTreeSet<String>,
    /// The next this many `CreateBackup` calls are accepted, but their backups fail.
    pub fail_backups: u64,
}

/// What to do with a request before handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultDecision {
    /// Handle it now.
    Proceed,
    /// Wait, then handle it.
    Delay(Duration),
}

/// Decides the pre-handling fault of one request.
pub fn decide(faults: &Faults, _action: &str) -> FaultDecision {
    if faults.latency.is_zero() {
        FaultDecision::Proceed
    } else {
        FaultDecision::Delay(faults.latency)
    }
}

/// The most backups `--fail-backups` and `/_emulator/faults?fail_backups=` may arm.
pub const MAX_FAIL_BACKUPS: u64 = 1_000_000;

/// The mutable part of fault injection (remaining deterministic losses and failures).
#[derive(Debug, Default)]
pub struct FaultState {
    lose_remaining: BTreeMap<String, u32>,
    fail_backups: u64,
    sts_down: bool,
    metadata_down: bool,
}

impl FaultState {
    /// Fresh counters for `faults`.
    pub fn new(faults: &Faults) -> Self {
        FaultState {
            lose_remaining: faults.lose_responses.clone(),
            fail_backups: faults.fail_backups,
            sts_down: false,
            metadata_down: false,
        }
    }

    /// Whether STS is down: every STS action is answered `ServiceUnavailable` (503).
    pub fn sts_down(&self) -> bool {
        self.sts_down
    }

    /// Takes STS down or brings it back.
    pub fn set_sts_down(&mut self, down: bool) {
        self.sts_down = down;
    }

    /// Whether the metadata stand-in is down: every request is answered 503.
    pub fn metadata_down(&self) -> bool {
        self.metadata_down
    }

    /// Takes the metadata stand-in down or brings it back.
    pub fn set_metadata_down(&mut self, down: bool) {
        self.metadata_down = down;
    }

    /// How many of the next backups will fail.
    pub fn fail_backups(&self) -> u64 {
        self.fail_backups
    }

    /// Arms the next `count` backups to fail (replacing what remained).
    pub fn set_fail_backups(&mut self, count: u64) {
        self.fail_backups = count;
    }

    /// Whether the next backup is to fail (nothing is used up until [`Self::used_backup_failure`]).
    pub fn backup_fails(&self) -> bool {
        self.fail_backups > 0
    }

    /// Counts one armed backup failure as used.
    pub fn used_backup_failure(&mut self) {
        self.fail_backups = self.fail_backups.saturating_sub(1);
    }

    /// Whether this successful call of `action` loses its answer.
    pub fn take_lost_response(&mut self, faults: &Faults, action: &str) -> bool {
        if let Some(remaining) = self.lose_remaining.get_mut(action)
            && *remaining > 0
        {
            *remaining -= 1;
            return true;
        }
        faults.lost_response_rate > 0.0 && rand::random::<f64>() < faults.lost_response_rate
    }

    /// Whether this request is answered `ServiceUnavailable`.
    pub fn take_service_unavailable(&mut self, faults: &Faults) -> bool {
        faults.fault_rate > 0.0 && rand::random::<f64>() < faults.fault_rate
    }
}

/// The cloud's flow control: a token bucket holding one second of requests.
#[derive(Debug)]
pub struct QpsLimiter {
    rate: f64,
    tokens: f64,
    last: Option<std::time::Instant>,
}

impl QpsLimiter {
    /// Admits `rate` requests per second, with bursts of up to one second's worth.
    pub fn new(rate: f64) -> Self {
        QpsLimiter {
            rate,
            tokens: rate.max(1.0),
            last: None,
        }
    }

    /// Whether a request arriving at `now` is admitted.
    pub fn admit(&mut self, now: std::time::Instant) -> bool {
        let capacity = self.rate.max(1.0);
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Parses `ACTION[:N]` (N defaults to 1) for `--lose-response`.
pub fn parse_lose_response(spec: &str) -> Result<(String, u32), String> {
    let (action, count) = match spec.split_once(':') {
        Some((action, count)) => (
            action,
            count
                .parse::<u32>()
                .map_err(|_| format!("{count:?} is not a count (expected ACTION[:N])"))?,
        ),
        None => (spec, 1),
    };
    if action.is_empty() || !action.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{action:?} is not an action name (expected ACTION[:N])"
        ));
    }
    Ok((action.to_owned(), count))
}

/// Parses the parameter name of `--signature-fault PARAM`.
pub fn parse_signature_fault(name: &str) -> Result<String, String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
        return Err(format!(
            "{name:?} is not a parameter name (expected e.g. NewPassword)"
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_losses_are_counted_down_per_action() {
        let faults = Faults {
            lose_responses: BTreeMap::from([("CreateInstance".to_string(), 2)]),
            ..Default::default()
        };
        let mut state = FaultState::new(&faults);
        assert!(state.take_lost_response(&faults, "CreateInstance"));
        assert!(!state.take_lost_response(&faults, "DescribeInstances"));
        assert!(state.take_lost_response(&faults, "CreateInstance"));
        assert!(!state.take_lost_response(&faults, "CreateInstance"));
    }

    #[test]
    fn rates_of_zero_and_one_are_exact() {
        let never = Faults::default();
        let always = Faults {
            fault_rate: 1.0,
            lost_response_rate: 1.0,
            ..Default::default()
        };
        let mut state = FaultState::default();
        for _ in 0..100 {
            assert!(!state.take_service_unavailable(&never));
            assert!(!state.take_lost_response(&never, "X"));
            assert!(state.take_service_unavailable(&always));
            assert!(state.take_lost_response(&always, "X"));
        }
    }

    #[test]
    fn the_qps_limiter_admits_a_second_of_burst_then_the_rate() {
        let start = std::time::Instant::now();
        let mut limiter = QpsLimiter::new(10.0);
        let admitted = (0..15).filter(|_| limiter.admit(start)).count();
        assert_eq!(admitted, 10);
        assert!(!limiter.admit(start + Duration::from_millis(50)));
        assert!(limiter.admit(start + Duration::from_millis(110)));
        // A steady 10/s is always admitted.
        let mut steady = QpsLimiter::new(10.0);
        assert!((0..100).all(|n| steady.admit(start + Duration::from_millis(100 * n))));
    }

    #[test]
    fn lose_response_specs_parse() {
        assert_eq!(
            parse_lose_response("CreateInstance"),
            Ok(("CreateInstance".into(), 1))
        );
        assert_eq!(
            parse_lose_response("CreateInstance:3"),
            Ok(("CreateInstance".into(), 3))
        );
        assert!(parse_lose_response("Create Instance").is_err());
        assert!(parse_lose_response("CreateInstance:x").is_err());
    }

    #[test]
    fn signature_fault_names_are_parameter_names() {
        assert_eq!(
            parse_signature_fault("NewPassword"),
            Ok("NewPassword".into())
        );
        assert_eq!(parse_signature_fault("Tag.1.Key"), Ok("Tag.1.Key".into()));
        assert!(parse_signature_fault("").is_err());
        assert!(parse_signature_fault("New Password").is_err());
    }
}
