//! What the daemon knows about itself and every instance, for `/status`, `/metrics` and logs.
//!
//! Plain data behind one lock, updated by the reconcile loop and read by the HTTP server.
//! Instances that leave the manifests leave the status too, so memory stays flat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde::Serialize;

/// `observe` reports drift; `apply` corrects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Report drift only; never write.
    Observe,
    /// Correct drift (within the gates the Stack document allows).
    Apply,
}

/// The outcome of an instance's last reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceResult {
    /// Matches the manifests.
    InSync,
    /// Differs; reported only (observe mode, or steps the gates hold back).
    Drift,
    /// Differences were corrected in this cycle.
    Applied,
    /// A step failed; retried after a backoff.
    Failed,
    /// Skipped this cycle while backing off after failures.
    BackingOff,
}

/// One instance's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceStatus {
    /// The last outcome.
    pub last_result: InstanceResult,
    /// The differences found in the last cycle, one line each (empty when in sync).
    pub drift: Vec<String>,
    /// The last error, with its causes.
    pub last_error: Option<String>,
    /// When it was last reconciled.
    pub last_run: Option<Timestamp>,
    /// When it will be reconciled next (at the latest).
    pub next_run: Option<Timestamp>,
    /// Failures in a row (resets on success).
    pub consecutive_failures: u32,
}

impl InstanceStatus {
    /// Whether the instance matches its manifest.
    pub fn ready(&self) -> bool {
        matches!(
            self.last_result,
            InstanceResult::InSync | InstanceResult::Applied
        )
    }
}

/// A fixed-bucket histogram of durations in seconds, in Prometheus' cumulative form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Upper bounds of the buckets, in seconds.
    pub bounds: Vec<f64>,
    /// Observations at or below each bound.
    pub counts: Vec<u64>,
    /// All observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        let bounds = vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
        Histogram {
            counts: vec![0; bounds.len()],
            bounds,
            count: 0,
            sum: 0.0,
        }
    }
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&mut self, seconds: f64) {
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Where the manifests came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// `dir` or `git`.
    pub source: String,
    /// A commit ID for git; a content digest of the manifest files for a directory.
    pub id: String,
}

/// Everything the daemon reports.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonStatus {
    /// `observe` or `apply`.
    pub mode: Mode,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// Whether the first reconcile has finished.
    pub ready: bool,
    /// Reconciles finished, successful or not.
    pub cycles: u64,
    /// Reconciles that ended in an error (manifests, source or cloud).
    pub failed_cycles: u64,
    /// How long reconciles took.
    pub cycle_seconds: Histogram,
    /// The revision of the manifests currently in force (the last good one).
    pub revision: Option<Revision>,
    /// The revision most recently fetched, when it differs (it did not load).
    pub pending_revision: Option<Revision>,
    /// Why the newest manifests are not in force, if they are not.
    pub manifest_error: Option<String>,
    /// The last error that stopped a whole cycle (source, cloud), if the last cycle had one.
    pub cycle_error: Option<String>,
    /// When the last cycle finished.
    pub last_cycle_at: Option<Timestamp>,
    /// When the next cycle is due.
    pub next_cycle_at: Option<Timestamp>,
    /// Per instance, keyed `region/name`.
    pub instances: BTreeMap<String, InstanceStatus>,
}

impl DaemonStatus {
    /// A fresh status.
    pub fn new(mode: Mode, now: Timestamp) -> Self {
        DaemonStatus {
            mode,
            started_at: now,
            ready: false,
            cycles: 0,
            failed_cycles: 0,
            cycle_seconds: Histogram::default(),
            revision: None,
            pending_revision: None,
            manifest_error: None,
            cycle_error: None,
            last_cycle_at: None,
            next_cycle_at: None,
            instances: BTreeMap::new(),
        }
    }
}

/// The status shared between the loop and the HTTP server.
#[derive(Debug, Clone)]
pub struct SharedStatus(Arc<Mutex<DaemonStatus>>);

impl SharedStatus {
    /// Wraps a status.
    pub fn new(status: DaemonStatus) -> Self {
        SharedStatus(Arc::new(Mutex::new(status)))
    }

    /// Locks it (a poisoned lock still yields the data: the status is plain data).
    pub fn lock(&self) -> MutexGuard<'_, DaemonStatus> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// A copy, for rendering without holding the lock.
    pub fn snapshot(&self) -> DaemonStatus {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let mut histogram = Histogram::default();
        histogram.observe(0.3);
        histogram.observe(7.0);
        assert_eq!(histogram.count, 2);
        assert_eq!(histogram.counts[0], 0); // <= 0.1
        assert_eq!(histogram.counts[1], 1); // <= 0.5
        assert_eq!(histogram.counts[5], 2); // <= 10
        assert!((histogram.sum - 7.3).abs() < 1e-9);
    }

    #[test]
    fn readiness_follows_the_last_result() {
        let mut status = InstanceStatus {
            last_result: InstanceResult::Applied,
            drift: Vec::new(),
            last_error: None,
            last_run: None,
            next_run: None,
            consecutive_failures: 0,
        };
        assert!(status.ready());
        status.last_result = InstanceResult::Drift;
        assert!(!status.ready());
    }
}
