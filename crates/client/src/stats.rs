//! Counters of calls by action and outcome, shared by a client and its clones.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Calls made, keyed by `(action, outcome)`; the outcome is `ok` or a retry class label.
#[derive(Debug, Default)]
pub struct CallStats {
    counts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl CallStats {
    /// Counts one attempt.
    pub fn record(&self, action: &'static str, outcome: &'static str) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        *counts.entry((action, outcome)).or_default() += 1;
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.counts
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Attempts in all.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_action_and_outcome() {
        let stats = CallStats::default();
        stats.record("DescribeInstances", "ok");
        stats.record("DescribeInstances", "ok");
        stats.record("CreateInstance", "throttled");
        assert_eq!(stats.snapshot()[&("DescribeInstances", "ok")], 2);
        assert_eq!(stats.total(), 3);
    }
}
