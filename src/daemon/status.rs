//! What the daemon knows about itself and every instance, for `/status`, `/metrics` and logs.
//!
//! Plain data behind one lock, updated by the reconcile loop and read by the HTTP server.
//! Instances that leave the manifests leave the status too, so memory stays flat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::phase::Phase;

/// `observe` reports drift; `apply` corrects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Report drift only; never write.
    Observe,
    /// Correct drift (within the gates the Stack document allows).
    Apply,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Observe => "observe",
            Mode::Apply => "apply",
        })
    }
}

/// The outcome of an instance's last reconcile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceResult {
    /// Matches the manifests.
    #[default]
    InSync,
    /// Differs; reported only (observe mode, or steps the gates hold back).
    Drift,
    /// Differences were corrected in this cycle.
    Applied,
    /// A step failed; retried after a backoff.
    Failed,
    /// Skipped this cycle while backing off after failures.
    BackingOff,
    /// Everything that may run now was applied, and restart-class steps wait for the
    /// maintenance window (or are held by the policy `never`).
    Held,
}

/// One instance's status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// Steps held for the maintenance window or by the policy `never`.
    #[serde(default)]
    pub held: Vec<TimedStep>,
    /// Changes the cloud makes in the maintenance window: ordered this cycle, or found pending.
    #[serde(default)]
    pub scheduled: Vec<TimedStep>,
    /// The differences the last cycle corrected, one line each (empty unless it applied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrected: Vec<String>,
    /// The differences with their values, field by field (secrets only as "differs").
    pub drift_values: Vec<DriftValue>,
    /// The cloud's ID of the instance, once it exists.
    pub instance_id: Option<String>,
    /// What the cloud last reported of it.
    pub cloud: Option<CloudView>,
    /// The steps the plan has for it, with their impact and when each runs.
    pub pending: Vec<PendingStep>,
    /// When kvsync last changed it.
    pub last_applied: Option<Timestamp>,
    /// The cloud's error `Code` of the last failure, when the cloud refused a call.
    pub last_error_code: Option<String>,
    /// The cloud's `RequestId` of that refusal.
    pub last_error_request_id: Option<String>,
    /// Every managed aspect: the desired value, and whether the cloud matches it.
    #[serde(skip)]
    pub aspects: Vec<Aspect>,
    /// The last reconciles of this instance, oldest first (at most [`RUNS_KEPT`]).
    #[serde(skip)]
    pub runs: std::collections::VecDeque<InstanceRun>,
}

/// How many reconciles of each instance the status keeps.
pub const RUNS_KEPT: usize = 20;

/// One difference: the field, what the cloud has, what the manifests want.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftValue {
    /// The manifest field, e.g. `spec.config.maxmemory-policy`.
    pub field: String,
    /// The observed value (`None`: unset, or the instance does not exist).
    pub observed: Option<String>,
    /// The desired value (`None`: removed).
    pub desired: Option<String>,
    /// Why kvsync does not change it, when it will not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// The cloud's description of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudView {
    /// `InstanceStatus`, e.g. `Normal`.
    pub status: String,
    /// `InstanceClass`.
    pub class: String,
    /// `ZoneId`.
    pub zone: String,
    /// `EngineVersion`, as reported.
    pub engine_version: String,
}

/// A step of the current plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingStep {
    /// The action.
    pub action: String,
    /// The fields it changes.
    pub fields: Vec<String>,
    /// `none`, `restart`, `irreversible` or `destructive`.
    pub impact: String,
    /// When it runs, in words.
    pub when: String,
}

/// One managed aspect of an instance, for the console's detail view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aspect {
    /// The manifest field.
    pub field: String,
    /// What the manifests want (a secret as a reference, never its value).
    pub desired: String,
    /// Whether the cloud matches it.
    pub in_sync: bool,
}

/// One reconcile of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceRun {
    /// When it ran.
    pub at: Timestamp,
    /// Its outcome.
    pub result: InstanceResult,
    /// How many differences it found.
    pub drift: usize,
    /// The steps it applied.
    pub applied: Vec<String>,
    /// Its error, if it failed.
    pub error: Option<String>,
}

/// A step (or pending change) that does not run now, and when it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimedStep {
    /// The action, or the field of a change pending in the cloud.
    pub what: String,
    /// When it runs, in words.
    pub when: String,
    /// When the window opens, if that is what it waits for.
    pub opens: Option<Timestamp>,
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
    /// Adds `other`'s observations (of the same buckets) to these.
    pub fn add(&mut self, other: &Histogram) {
        if self.bounds != other.bounds {
            return;
        }
        for (count, more) in self.counts.iter_mut().zip(&other.counts) {
            *count += more;
        }
        self.count += other.count;
        self.sum += other.sum;
    }

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
    /// The commit's author (`Name <email>`), for git.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The commit's subject line, for git.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The phase the running cycle is in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseStatus {
    /// The phase.
    pub phase: Phase,
    /// When it started.
    pub since: Timestamp,
    /// When it should have ended at the latest.
    pub deadline: Timestamp,
}

/// A blocking read that overran its deadline and has not returned yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockedRead {
    /// Which read (internal).
    #[serde(skip)]
    pub id: u64,
    /// What it was reading.
    pub phase: Phase,
    /// When it started.
    pub since: Timestamp,
    /// Its deadline, in seconds.
    pub deadline_secs: f64,
}

/// The credentials a stack calls with, as `/status` shows them: names and times, no value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialStatus {
    /// The provider's name (`ram_role_arn/static_ak`, …).
    pub provider: String,
    /// What it does, in words (the role ARN, never a key).
    pub described: String,
    /// The key id in use's last four characters.
    pub key_hint: Option<String>,
    /// When temporary credentials expire.
    pub expires: Option<Timestamp>,
    /// Why the last refresh failed, while none has succeeded since: the credentials in use
    /// stop working at `expires`.
    pub refresh_error: Option<String>,
}

impl CredentialStatus {
    /// What `provider` holds now.
    pub fn of(provider: &crate::api::credentials::Provider) -> Self {
        CredentialStatus {
            provider: provider.name(),
            described: provider.spec().describe(),
            key_hint: provider.key_hint(),
            expires: provider.expires(),
            refresh_error: provider.refresh_error(),
        }
    }
}

/// Everything the daemon reports.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonStatus {
    /// `observe` or `apply`.
    pub mode: Mode,
    /// When the daemon started.
    pub started_at: Timestamp,
    /// Whether a reconcile has succeeded since the start (see [`DaemonStatus::readiness`] for
    /// what `/readyz` answers).
    pub ready: bool,
    /// When a reconcile last succeeded.
    pub last_success_at: Option<Timestamp>,
    /// How long the daemon may go without a successful reconcile before it is not ready
    /// (an interval and a tick, plus the deadlines of one cycle before its apply).
    pub success_expected_within_secs: Option<u64>,
    /// The phase of the cycle running now, if one is.
    pub phase: Option<PhaseStatus>,
    /// Blocking reads that overran their deadline and have not returned.
    pub blocked_reads: Vec<BlockedRead>,
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
    /// The replica's view of etcd coordination (`None` with local coordination).
    pub coordination: Option<crate::coordination::replica::ReplicaReport>,
    /// The stack in force.
    pub stack: Option<String>,
    /// The credentials the last cycle called with (never a value).
    pub credentials: Option<CredentialStatus>,
    /// With several stacks (`daemon --stack`), each stack's own status; the fields above are
    /// then their sum (see [`super::stacks::StatusView`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stacks: Vec<DaemonStatus>,
    /// The last cycles, for the console's charts.
    #[serde(skip)]
    pub history: super::history::History,
}

impl DaemonStatus {
    /// A fresh status.
    pub fn new(mode: Mode, now: Timestamp) -> Self {
        DaemonStatus {
            mode,
            started_at: now,
            ready: false,
            last_success_at: None,
            success_expected_within_secs: None,
            phase: None,
            blocked_reads: Vec::new(),
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
            coordination: None,
            stack: None,
            credentials: None,
            stacks: Vec::new(),
            history: super::history::History::default(),
        }
    }
}

impl DaemonStatus {
    /// A copy of everything but what only the console shows — each instance's aspects and last
    /// runs, and the cycle history — as comparing one cycle with the next needs, without copying
    /// those (they are moved out for the copy and back).
    pub fn outcomes(&mut self) -> DaemonStatus {
        let history = std::mem::take(&mut self.history);
        let details: Vec<(Vec<Aspect>, std::collections::VecDeque<InstanceRun>)> = self
            .instances
            .values_mut()
            .map(|instance| {
                (
                    std::mem::take(&mut instance.aspects),
                    std::mem::take(&mut instance.runs),
                )
            })
            .collect();
        let copy = self.clone();
        self.history = history;
        for (instance, (aspects, runs)) in self.instances.values_mut().zip(details) {
            instance.aspects = aspects;
            instance.runs = runs;
        }
        copy
    }
}

/// Whole seconds from `earlier` to `later` (0 when `later` is not later).
fn seconds_between(earlier: Timestamp, later: Timestamp) -> i64 {
    later.duration_since(earlier).as_secs().max(0)
}

impl DaemonStatus {
    /// What `/readyz` answers at `now`: `Err` with the reason when the daemon is not ready.
    ///
    /// Not ready: while an etcd replica may not write (its lease not renewed in time, etcd
    /// unreadable); before the first successful reconcile; while a blocking read that overran
    /// its deadline has not returned; while the running cycle is past the deadline of its
    /// phase; and when no reconcile has succeeded for longer than
    /// `success_expected_within_secs` (unless an apply is running within its deadline).
    pub fn readiness(&self, now: Timestamp) -> Result<(), String> {
        if let Some(coordination) = &self.coordination
            && !coordination.healthy
        {
            return Err(format!(
                "coordination: {}",
                coordination
                    .error
                    .as_deref()
                    .unwrap_or("this replica may not write")
            ));
        }
        if let Some(read) = self.blocked_reads.first() {
            return Err(format!(
                "{} has been blocked for {} s, past its deadline of {} s ({} such read(s) outstanding; a FIFO or a hung file system?)",
                read.phase,
                seconds_between(read.since, now),
                read.deadline_secs,
                self.blocked_reads.len()
            ));
        }
        if let Some(phase) = &self.phase
            && now > phase.deadline
        {
            return Err(format!(
                "the cycle has been {} for {} s, past its deadline of {} s",
                phase.phase,
                seconds_between(phase.since, now),
                seconds_between(phase.since, phase.deadline)
            ));
        }
        let last_error = || {
            self.cycle_error
                .as_deref()
                .map(|error| format!("; the last cycle failed: {error}"))
                .unwrap_or_default()
        };
        let Some(last) = self.last_success_at else {
            return Err(format!("no reconcile has succeeded yet{}", last_error()));
        };
        let applying = self
            .phase
            .as_ref()
            .is_some_and(|phase| phase.phase == Phase::Applying);
        if let Some(limit) = self.success_expected_within_secs
            && !applying
            && last
                .checked_add(SignedDuration::from_secs(
                    i64::try_from(limit).unwrap_or(i64::MAX / 2),
                ))
                .is_ok_and(|expected| now > expected)
        {
            return Err(format!(
                "no reconcile has succeeded for {} s (one is expected within {limit} s){}",
                seconds_between(last, now),
                last_error()
            ));
        }
        Ok(())
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

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn readiness_needs_a_success_and_a_loop_that_keeps_its_deadlines() {
        let mut status = DaemonStatus::new(Mode::Apply, at(0));
        status.success_expected_within_secs = Some(100);
        let reason = status.readiness(at(1)).unwrap_err();
        assert_eq!(reason, "no reconcile has succeeded yet");
        status.cycle_error = Some("no manifests are in force: x".into());
        let reason = status.readiness(at(1)).unwrap_err();
        assert!(
            reason.ends_with("the last cycle failed: no manifests are in force: x"),
            "{reason}"
        );

        status.cycle_error = None;
        status.last_success_at = Some(at(10));
        assert_eq!(status.readiness(at(50)), Ok(()));
        // A phase within its deadline is fine; past it, not.
        status.phase = Some(PhaseStatus {
            phase: Phase::Observing,
            since: at(40),
            deadline: at(70),
        });
        assert_eq!(status.readiness(at(60)), Ok(()));
        let reason = status.readiness(at(80)).unwrap_err();
        assert_eq!(
            reason,
            "the cycle has been observing the cloud for 40 s, past its deadline of 30 s"
        );
        status.phase = None;
        // No success for longer than expected.
        let reason = status.readiness(at(111)).unwrap_err();
        assert!(
            reason.starts_with("no reconcile has succeeded for 101 s"),
            "{reason}"
        );
        // ... unless an apply runs within its deadline.
        status.phase = Some(PhaseStatus {
            phase: Phase::Applying,
            since: at(20),
            deadline: at(5000),
        });
        assert_eq!(status.readiness(at(1000)), Ok(()));
        // A read that overran and has not returned.
        status.blocked_reads.push(BlockedRead {
            id: 0,
            phase: Phase::Loading,
            since: at(990),
            deadline_secs: 2.0,
        });
        let reason = status.readiness(at(1000)).unwrap_err();
        assert!(
            reason.starts_with(
                "reading the manifests has been blocked for 10 s, past its deadline of 2 s"
            ),
            "{reason}"
        );
    }

    #[test]
    fn outcomes_leave_out_the_console_details_and_keep_them_here() {
        let mut status = DaemonStatus::new(Mode::Apply, at(0));
        let mut instance = InstanceStatus {
            last_result: InstanceResult::Drift,
            drift: vec!["x".into()],
            ..InstanceStatus::default()
        };
        instance.aspects.push(Aspect {
            field: "spec.instanceClass".into(),
            desired: "c".into(),
            in_sync: true,
        });
        instance.runs.push_back(InstanceRun {
            at: at(1),
            result: InstanceResult::Drift,
            drift: 1,
            applied: Vec::new(),
            error: None,
        });
        status.instances.insert("cn-hangzhou/a".into(), instance);
        status
            .history
            .record(at(2), 1.0, true, 1, &std::collections::BTreeMap::new());
        let copy = status.outcomes();
        let copied = &copy.instances["cn-hangzhou/a"];
        assert_eq!(copied.drift, ["x"]);
        assert!(copied.aspects.is_empty() && copied.runs.is_empty());
        assert_eq!(copy.history.cycles().len(), 0);
        let kept = &status.instances["cn-hangzhou/a"];
        assert_eq!((kept.aspects.len(), kept.runs.len()), (1, 1));
        assert_eq!(status.history.cycles().len(), 1);
    }

    #[test]
    fn readiness_follows_the_last_result() {
        let mut status = InstanceStatus {
            last_result: InstanceResult::Applied,
            ..InstanceStatus::default()
        };
        assert!(status.ready());
        status.last_result = InstanceResult::Drift;
        assert!(!status.ready());
    }
}
