//! Which failures are worth another attempt, and how long to wait before it.
//!
//! Classification lives here and nowhere else. The client retries [`Class::Throttled`] and
//! [`Class::Transient`] failures itself; [`Class::Busy`] is returned to the caller, which knows
//! what state to wait for; [`Class::Terminal`] is never retried.

use std::time::Duration;

use super::error::Error;

/// What kind of failure a call ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The cloud asked us to slow down.
    Throttled,
    /// A temporary fault: 5xx, `ServiceUnavailable`, `InternalError`, transport errors.
    Transient,
    /// The instance is in a state that does not accept this call yet.
    Busy,
    /// Validation, permission, not found, …: retrying cannot help.
    Terminal,
}

impl Class {
    /// A short lower-case label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Class::Throttled => "throttled",
            Class::Transient => "transient",
            Class::Busy => "busy",
            Class::Terminal => "terminal",
        }
    }
}

/// Codes that mean "the instance is busy; try again once it is `Normal`".
const BUSY_CODES: &[&str] = &[
    "IncorrectDBInstanceState",
    "IncorrectInstanceStatus",
    "Task.Conflict",
    "LockTimeout",
    "IncorrectDBInstanceLockMode",
];

/// Classifies a failed call.
pub fn classify(error: &Error) -> Class {
    match error {
        Error::Transport { .. } => Class::Transient,
        Error::Decode { status, .. } if *status >= 500 => Class::Transient,
        // An endless or oversized answer comes from something that is not the API (a
        // misconfigured endpoint or proxy): asking again would read as much again.
        Error::Decode { .. }
        | Error::BodyTooLarge { .. }
        | Error::Endpoint { .. }
        | Error::Credentials { .. }
        | Error::Fenced { .. } => Class::Terminal,
        Error::Api(api) => classify_code(&api.code, api.status),
    }
}

/// Classifies a vendor error code and HTTP status.
pub fn classify_code(code: &str, status: u16) -> Class {
    if code.starts_with("Throttling") || status == 429 {
        Class::Throttled
    } else if BUSY_CODES.contains(&code)
        || (code.starts_with("OperationDenied.") && code.ends_with("Status"))
    {
        Class::Busy
    } else if code == "ServiceUnavailable" || code == "InternalError" || status >= 500 {
        Class::Transient
    } else {
        Class::Terminal
    }
}

/// Attempts and backoff of the client's own retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The ceiling of the first backoff; doubles with each attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt left (time queued at the rate
    /// limiter before it does not count).
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The backoff before attempt `attempt + 1` (`attempt` counts from 1), "full jitter":
    /// uniformly random below the exponential ceiling. `unit` is a random number in `[0, 1)`.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Whether a failure of this class, after `attempt` attempts and `elapsed` since the first,
    /// gets another one.
    pub fn should_retry(&self, class: Class, attempt: u32, elapsed: Duration) -> bool {
        matches!(class, Class::Throttled | Class::Transient)
            && attempt < self.max_attempts
            && elapsed < self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        let cases = [
            ("Throttling.User", 400, Class::Throttled),
            ("Throttling", 503, Class::Throttled),
            ("ServiceUnavailable", 503, Class::Transient),
            ("InternalError", 500, Class::Transient),
            ("SomethingNew", 502, Class::Transient),
            ("IncorrectDBInstanceState", 400, Class::Busy),
            ("Task.Conflict", 400, Class::Busy),
            ("LockTimeout", 400, Class::Busy),
            ("OperationDenied.DBInstanceStatus", 403, Class::Busy),
            ("OperationDenied.OrderNotPaid", 403, Class::Terminal),
            ("InvalidParameter", 400, Class::Terminal),
            ("SignatureDoesNotMatch", 400, Class::Terminal),
            ("InvalidInstanceId.NotFound", 404, Class::Terminal),
        ];
        for (code, status, expected) in cases {
            assert_eq!(classify_code(code, status), expected, "{code} {status}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_under_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            deadline: Duration::from_secs(60),
        };
        assert_eq!(
            policy.backoff(1, 0.999_999),
            Duration::from_millis(100).mul_f64(0.999_999)
        );
        assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(200));
        assert_eq!(policy.backoff(9, 0.5), Duration::from_millis(500));
        assert_eq!(policy.backoff(4, 0.0), Duration::ZERO);
    }

    #[test]
    fn only_throttled_and_transient_are_retried_and_only_within_budget() {
        let policy = RetryPolicy::default();
        let early = Duration::from_secs(1);
        assert!(policy.should_retry(Class::Throttled, 1, early));
        assert!(policy.should_retry(Class::Transient, 7, early));
        assert!(!policy.should_retry(Class::Transient, 8, early));
        assert!(!policy.should_retry(Class::Transient, 2, Duration::from_secs(61)));
        assert!(!policy.should_retry(Class::Busy, 1, early));
        assert!(!policy.should_retry(Class::Terminal, 1, early));
    }
}
