//! Per-instance backoff after failures: exponential, capped, reset by a success.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::manifest::InstanceKey;

/// Failure backoff for every instance.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: SignedDuration,
    max: SignedDuration,
    entries: BTreeMap<InstanceKey, Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    failures: u32,
    until: Timestamp,
}

impl Backoff {
    /// After the first failure wait `base`, doubling with each further one up to `max`.
    pub fn new(base: SignedDuration, max: SignedDuration) -> Self {
        Backoff {
            base,
            max,
            entries: BTreeMap::new(),
        }
    }

    /// Records a failure at `now`; returns when the instance may be tried again.
    pub fn failed(&mut self, key: &InstanceKey, now: Timestamp) -> Timestamp {
        let failures = self.entries.get(key).map_or(0, |e| e.failures) + 1;
        let factor = 1i32 << failures.saturating_sub(1).min(20);
        let delay = self
            .base
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max);
        let until = now.checked_add(delay).unwrap_or(now);
        self.entries.insert(key.clone(), Entry { failures, until });
        until
    }

    /// Records a success: the instance is tried normally again.
    pub fn succeeded(&mut self, key: &InstanceKey) {
        self.entries.remove(key);
    }

    /// When the instance may be tried again, if it is backing off at `now`.
    pub fn waiting_until(&self, key: &InstanceKey, now: Timestamp) -> Option<Timestamp> {
        self.entries
            .get(key)
            .map(|e| e.until)
            .filter(|until| *until > now)
    }

    /// Failures in a row.
    pub fn failures(&self, key: &InstanceKey) -> u32 {
        self.entries.get(key).map_or(0, |e| e.failures)
    }

    /// Forgets instances no longer described.
    pub fn retain(&mut self, keep: impl Fn(&InstanceKey) -> bool) {
        self.entries.retain(|key, _| keep(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> InstanceKey {
        InstanceKey {
            region: "cn-hangzhou".into(),
            name: "a".into(),
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn doubles_up_to_the_cap_and_resets_on_success() {
        let mut backoff =
            Backoff::new(SignedDuration::from_secs(10), SignedDuration::from_secs(60));
        assert_eq!(backoff.failed(&key(), at(0)), at(10));
        assert_eq!(backoff.failed(&key(), at(0)), at(20));
        assert_eq!(backoff.failed(&key(), at(0)), at(40));
        assert_eq!(backoff.failed(&key(), at(0)), at(60));
        assert_eq!(backoff.failed(&key(), at(0)), at(60));
        assert_eq!(backoff.failures(&key()), 5);
        assert_eq!(backoff.waiting_until(&key(), at(30)), Some(at(60)));
        assert_eq!(backoff.waiting_until(&key(), at(60)), None);
        backoff.succeeded(&key());
        assert_eq!(backoff.failures(&key()), 0);
        assert_eq!(backoff.failed(&key(), at(100)), at(110));
    }

    #[test]
    fn instances_leaving_the_manifests_are_forgotten() {
        let mut backoff = Backoff::new(SignedDuration::from_secs(1), SignedDuration::from_secs(8));
        backoff.failed(&key(), at(0));
        backoff.retain(|_| false);
        assert_eq!(backoff.failures(&key()), 0);
    }
}
