//! The last cycles, in a bounded ring, for the console's charts: how long each took, the API
//! calls it made by action, the throttled ones, and how many instances differed.
//!
//! Plain data, updated at the end of every cycle and read by the HTTP server. The ring keeps
//! `--history` cycles (default [`DEFAULT_CAPACITY`]); older ones fall off, so memory is flat.

use std::collections::{BTreeMap, VecDeque};

use jiff::Timestamp;
use serde::Serialize;

/// Cycles kept when `--history` does not say: a day of five-minute intervals.
pub const DEFAULT_CAPACITY: usize = 288;

/// One finished cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleRecord {
    /// When it finished.
    pub at: Timestamp,
    /// How long it took, in seconds.
    pub duration_secs: f64,
    /// Whether it succeeded.
    pub ok: bool,
    /// API calls it made (every attempt), by action.
    pub calls: BTreeMap<String, u64>,
    /// Of those, the ones the cloud throttled.
    pub throttled: u64,
    /// Instances that differed from their manifests at its end.
    pub drift: usize,
}

/// The ring of the last cycles.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    cycles: VecDeque<CycleRecord>,
    /// The client's counters at the end of the last cycle, to take differences from.
    last_counts: BTreeMap<(&'static str, &'static str), u64>,
}

impl Default for History {
    fn default() -> Self {
        History::with_capacity(DEFAULT_CAPACITY)
    }
}

impl History {
    /// An empty ring of `capacity` cycles (at least one).
    pub fn with_capacity(capacity: usize) -> History {
        History {
            capacity: capacity.max(1),
            cycles: VecDeque::new(),
            last_counts: BTreeMap::new(),
        }
    }

    /// Records a cycle that ended at `at`; `counts` are the client's call counters now (by
    /// action and outcome, since the start), of which the cycle's are the growth since the
    /// last record.
    pub fn record(
        &mut self,
        at: Timestamp,
        duration_secs: f64,
        ok: bool,
        drift: usize,
        counts: &BTreeMap<(&'static str, &'static str), u64>,
    ) {
        let mut calls: BTreeMap<String, u64> = BTreeMap::new();
        let mut throttled = 0;
        for (&(action, outcome), &now) in counts {
            let before = self
                .last_counts
                .get(&(action, outcome))
                .copied()
                .unwrap_or(0);
            let made = now.saturating_sub(before);
            if made == 0 {
                continue;
            }
            *calls.entry(action.to_owned()).or_default() += made;
            if outcome == "throttled" {
                throttled += made;
            }
        }
        self.last_counts = counts.clone();
        if self.cycles.len() == self.capacity {
            self.cycles.pop_front();
        }
        self.cycles.push_back(CycleRecord {
            at,
            duration_secs,
            ok,
            calls,
            throttled,
            drift,
        });
    }

    /// The cycles kept, oldest first.
    pub fn cycles(&self) -> impl ExactSizeIterator<Item = &CycleRecord> {
        self.cycles.iter()
    }

    /// How many cycles the ring keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The cycles of several rings in one, in time order, as many as the largest keeps.
    pub fn merged<'a>(rings: impl IntoIterator<Item = &'a History>) -> History {
        let mut capacity = 1;
        let mut cycles: Vec<CycleRecord> = Vec::new();
        for ring in rings {
            capacity = capacity.max(ring.capacity);
            cycles.extend(ring.cycles.iter().cloned());
        }
        cycles.sort_by_key(|cycle| cycle.at);
        let skip = cycles.len().saturating_sub(capacity);
        History {
            capacity,
            cycles: cycles.into_iter().skip(skip).collect(),
            last_counts: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_rings_keep_the_newest_cycles_in_time_order() {
        let record = |second: i64| CycleRecord {
            at: at(second),
            duration_secs: 1.0,
            ok: true,
            calls: BTreeMap::new(),
            throttled: 0,
            drift: 0,
        };
        let mut a = History::with_capacity(2);
        a.cycles.extend([record(1), record(5)]);
        let mut b = History::with_capacity(3);
        b.cycles.extend([record(2), record(3), record(9)]);
        let merged = History::merged([&a, &b]);
        let seconds: Vec<i64> = merged
            .cycles()
            .map(|c| c.at.as_second() - 1_700_000_000)
            .collect();
        assert_eq!(seconds, [3, 5, 9]);
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + second).unwrap()
    }

    #[test]
    fn each_cycle_counts_only_its_own_calls() {
        let mut history = History::with_capacity(10);
        let mut counts = BTreeMap::new();
        counts.insert(("DescribeInstances", "ok"), 3);
        counts.insert(("ModifySecurityIps", "throttled"), 2);
        history.record(at(0), 1.5, true, 1, &counts);
        counts.insert(("DescribeInstances", "ok"), 5);
        counts.insert(("DescribeInstances", "throttled"), 1);
        history.record(at(60), 0.5, false, 0, &counts);
        let cycles: Vec<&CycleRecord> = history.cycles().collect();
        assert_eq!(cycles[0].calls["DescribeInstances"], 3);
        assert_eq!(cycles[0].calls["ModifySecurityIps"], 2);
        assert_eq!(cycles[0].throttled, 2);
        assert_eq!(
            cycles[1].calls["DescribeInstances"], 3,
            "2 ok + 1 throttled"
        );
        assert!(!cycles[1].calls.contains_key("ModifySecurityIps"));
        assert_eq!(cycles[1].throttled, 1);
        assert_eq!((cycles[1].ok, cycles[1].drift), (false, 0));
    }

    #[test]
    fn the_ring_keeps_the_newest_cycles() {
        let mut history = History::with_capacity(3);
        for second in 0..5 {
            history.record(at(second), 0.1, true, 0, &BTreeMap::new());
        }
        let kept: Vec<Timestamp> = history.cycles().map(|c| c.at).collect();
        assert_eq!(kept, [at(2), at(3), at(4)]);
        assert_eq!(History::with_capacity(0).capacity(), 1);
    }
}
