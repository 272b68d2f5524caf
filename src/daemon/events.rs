//! What the operator is told after each cycle: the notification events between the status
//! before a cycle and after it ([`events_between`], pure), and the shards a replica took or
//! lost between two reports ([`shard_events`], pure). [`Watch`] keeps the previous status
//! and emits through the [`Notifier`].
//!
//! Conditions are reported each time a cycle sees them and left to the notifier's
//! de-duplication window to repeat at most once per window: drift found (an instance
//! reconciled this cycle with differences), apply failed (a new failure), steps held, steps
//! blocked, manifests broken. Recoveries are transitions: drift corrected (the cycle applied
//! changes, with the lines it corrected, also when a blocked difference remains), manifests
//! fixed (an error was cleared). Never decides anything the daemon
//! does, and never calls out: emitting is the notifier's.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::status::{DaemonStatus, InstanceResult, InstanceStatus, Mode};
use crate::coordination::replica::ReplicaReport;
use crate::notify::{Event, Kind, Notifier};

/// The events between `old` (the status before a cycle; `None` before the first) and `new`,
/// for `stack`, at `now`.
pub fn events_between(
    old: Option<&DaemonStatus>,
    new: &DaemonStatus,
    stack: Option<&str>,
    now: Timestamp,
) -> Vec<Event> {
    let mut events = Vec::new();
    let event = |kind: Kind, instance: Option<&str>, message: String| {
        let mut event = Event::new(kind, now, message);
        event.stack = stack.map(str::to_owned);
        event.instance = instance.map(str::to_owned);
        event
    };
    let old_manifest_error = old.and_then(|old| old.manifest_error.as_deref());
    match (&new.manifest_error, old_manifest_error) {
        (Some(error), _) => {
            let mut broken = event(
                Kind::ManifestsBroken,
                None,
                "the newest manifests do not load; the last good ones stay in force".into(),
            );
            broken.fields = vec![error.clone()];
            events.push(broken);
        }
        (None, Some(_)) => events.push(event(
            Kind::ManifestsFixed,
            None,
            "the manifests load again".into(),
        )),
        (None, None) => {}
    }
    for (name, instance) in &new.instances {
        let before = old.and_then(|old| old.instances.get(name));
        // Only what this cycle looked at: an instance it did not reconcile keeps its status.
        if before.is_some_and(|b| b.last_run == instance.last_run) {
            continue;
        }
        events.extend(instance_events(name, before, instance, new.mode, &event));
    }
    events
}

fn instance_events(
    name: &str,
    before: Option<&InstanceStatus>,
    now: &InstanceStatus,
    mode: Mode,
    event: &dyn Fn(Kind, Option<&str>, String) -> Event,
) -> Vec<Event> {
    let mut events = Vec::new();
    let with_fields = |kind, message: String, fields: Vec<String>| {
        let mut e = event(kind, Some(name), message);
        e.fields = fields;
        e
    };
    match now.last_result {
        InstanceResult::Drift => {
            // In apply mode, what the cycle could correct it did; the rest is blocked.
            let found: Vec<String> = now.corrected.iter().chain(&now.drift).cloned().collect();
            events.push(with_fields(
                Kind::DriftFound,
                format!("{name} differs from its manifest"),
                found,
            ));
            if !now.corrected.is_empty() {
                events.push(with_fields(
                    Kind::DriftCorrected,
                    format!("{name}: what kvsync may change was brought in line with its manifest"),
                    now.corrected.clone(),
                ));
            }
            if mode == Mode::Apply {
                events.push(with_fields(
                    Kind::StepBlocked,
                    format!("{name}: steps the Stack document's gates do not allow (or kvsync will not make) keep it out of sync"),
                    now.drift.clone(),
                ));
            }
        }
        InstanceResult::Applied => {
            // In apply mode a cycle finds and corrects at once: both are told, with what
            // differed (what an earlier cycle reported when this one's lines are unknown).
            let corrected = if now.corrected.is_empty() {
                before.map(|b| b.drift.clone()).unwrap_or_default()
            } else {
                now.corrected.clone()
            };
            events.push(with_fields(
                Kind::DriftFound,
                format!("{name} differs from its manifest"),
                corrected.clone(),
            ));
            events.push(with_fields(
                Kind::DriftCorrected,
                format!("{name} was brought in line with its manifest"),
                corrected,
            ));
        }
        InstanceResult::Failed => {
            let failed_again = before.is_none_or(|b| {
                b.consecutive_failures < now.consecutive_failures
                    || b.last_result != InstanceResult::Failed
            });
            if failed_again {
                let error = now.last_error.clone().unwrap_or_default();
                let mut failed = with_fields(
                    Kind::ApplyFailed,
                    format!("{name}: {error}"),
                    now.drift.clone(),
                );
                failed.code = now.last_error_code.clone();
                failed.request_id = now.last_error_request_id.clone();
                events.push(failed);
            }
        }
        InstanceResult::Held | InstanceResult::InSync | InstanceResult::BackingOff => {}
    }
    if !now.held.is_empty() {
        events.push(with_fields(
            Kind::StepHeld,
            format!("{name}: steps wait for the maintenance window or are held by the policy"),
            now.held
                .iter()
                .map(|held| format!("{} ({})", held.what, held.when))
                .collect(),
        ));
    }
    events
}

/// The shards taken and lost between two replica reports (`None`: before the first).
pub fn shard_events(
    old: Option<&ReplicaReport>,
    new: &ReplicaReport,
    now: Timestamp,
) -> Vec<Event> {
    let before: BTreeSet<&String> = old
        .map(|o| o.shards_held.iter().collect())
        .unwrap_or_default();
    let after: BTreeSet<&String> = new.shards_held.iter().collect();
    let shard = |kind: Kind, shard: &str, message: String| {
        let mut event = Event::new(kind, now, message);
        event.fields = vec![shard.to_owned()];
        if let Some((stack, _)) = shard.rsplit_once('/') {
            event.stack = Some(stack.rsplit(':').next().unwrap_or(stack).to_owned());
        }
        event
    };
    let mut events: Vec<Event> = after
        .difference(&before)
        .map(|s| {
            shard(
                Kind::ShardTaken,
                s,
                format!("replica {} took shard {s}", new.replica),
            )
        })
        .collect();
    events.extend(before.difference(&after).map(|s| {
        shard(
            Kind::ShardLost,
            s,
            format!("replica {} no longer holds shard {s}", new.replica),
        )
    }));
    events
}

/// Emits the shards a replica took or lost, report by report.
#[derive(Debug)]
pub struct ShardWatch {
    notifier: Notifier,
    previous: std::sync::Mutex<Option<ReplicaReport>>,
}

impl ShardWatch {
    /// A watch emitting through `notifier`.
    pub fn new(notifier: Notifier) -> Self {
        ShardWatch {
            notifier,
            previous: std::sync::Mutex::new(None),
        }
    }

    /// After each replica report: emits the shards taken and lost since the last one.
    pub fn report(&self, report: &ReplicaReport) {
        let mut previous = self
            .previous
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        for event in shard_events(previous.as_ref(), report, Timestamp::now()) {
            self.notifier.emit(event);
        }
        *previous = Some(report.clone());
    }
}

/// Emits the events of each cycle: keeps the status after the previous one.
#[derive(Debug, Default)]
pub struct Watch {
    notifier: Notifier,
    previous: Option<DaemonStatus>,
    stack: Option<String>,
}

impl Watch {
    /// A watch emitting through `notifier`.
    pub fn new(notifier: Notifier) -> Self {
        Watch {
            notifier,
            previous: None,
            stack: None,
        }
    }

    /// The stack of the manifests in force.
    pub fn stack(&mut self, name: &str) {
        if self.stack.as_deref() != Some(name) {
            self.stack = Some(name.to_owned());
        }
    }

    /// After a cycle updated `status`: emits what changed since the previous cycle.
    pub fn after_cycle(&mut self, status: DaemonStatus) {
        for event in events_between(
            self.previous.as_ref(),
            &status,
            self.stack.as_deref(),
            Timestamp::now(),
        ) {
            self.notifier.emit(event);
        }
        self.previous = Some(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::status::TimedStep;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn instance(result: InstanceResult, drift: &[&str], run: i64) -> InstanceStatus {
        InstanceStatus {
            last_result: result,
            drift: drift.iter().map(|d| d.to_string()).collect(),
            last_error: None,
            last_run: Some(at(run)),
            next_run: None,
            consecutive_failures: 0,
            held: Vec::new(),
            scheduled: Vec::new(),
            corrected: Vec::new(),
            ..InstanceStatus::default()
        }
    }

    fn status(mode: Mode, instances: &[(&str, InstanceStatus)]) -> DaemonStatus {
        let mut status = DaemonStatus::new(mode, at(0));
        for (name, i) in instances {
            status.instances.insert(name.to_string(), i.clone());
        }
        status
    }

    fn kinds(events: &[Event]) -> Vec<Kind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn drift_is_found_then_corrected_with_what_differed() {
        let found = status(
            Mode::Observe,
            &[(
                "r/a",
                instance(InstanceResult::Drift, &["CreateInstance"], 1),
            )],
        );
        let events = events_between(None, &found, Some("s"), at(1));
        assert_eq!(kinds(&events), [Kind::DriftFound]);
        assert_eq!(events[0].instance.as_deref(), Some("r/a"));
        assert_eq!(events[0].stack.as_deref(), Some("s"));
        assert_eq!(events[0].fields, ["CreateInstance"]);

        // What the applying cycle corrected, else what the earlier cycle found.
        let applied = status(
            Mode::Apply,
            &[("r/a", instance(InstanceResult::Applied, &[], 2))],
        );
        let events = events_between(Some(&found), &applied, Some("s"), at(2));
        assert_eq!(kinds(&events), [Kind::DriftFound, Kind::DriftCorrected]);
        assert_eq!(events[1].fields, ["CreateInstance"]);
        let mut corrected = instance(InstanceResult::Applied, &[], 3);
        corrected.corrected = vec!["ModifySecurityIps app".into()];
        let again = status(Mode::Apply, &[("r/a", corrected)]);
        let events = events_between(Some(&applied), &again, Some("s"), at(3));
        assert_eq!(kinds(&events), [Kind::DriftFound, Kind::DriftCorrected]);
        assert_eq!(events[0].fields, ["ModifySecurityIps app"]);
        assert_eq!(events[1].fields, ["ModifySecurityIps app"]);
    }

    #[test]
    fn an_instance_not_looked_at_says_nothing() {
        let one = status(
            Mode::Observe,
            &[("r/a", instance(InstanceResult::Drift, &["x"], 1))],
        );
        assert!(events_between(Some(&one), &one, None, at(2)).is_empty());
    }

    #[test]
    fn blocked_drift_in_apply_mode_is_found_and_blocked() {
        let blocked = status(
            Mode::Apply,
            &[("r/a", instance(InstanceResult::Drift, &["! zone"], 1))],
        );
        let events = events_between(None, &blocked, None, at(1));
        assert_eq!(kinds(&events), [Kind::DriftFound, Kind::StepBlocked]);
        // What could be corrected was, and is told as such.
        let mut partly = instance(InstanceResult::Drift, &["! zone"], 2);
        partly.corrected = vec!["ModifySecurityIps".into()];
        let partly = status(Mode::Apply, &[("r/a", partly)]);
        let events = events_between(Some(&blocked), &partly, None, at(2));
        assert_eq!(
            kinds(&events),
            [Kind::DriftFound, Kind::DriftCorrected, Kind::StepBlocked]
        );
        assert_eq!(events[0].fields, ["ModifySecurityIps", "! zone"]);
        assert_eq!(events[1].fields, ["ModifySecurityIps"]);
        assert_eq!(events[2].fields, ["! zone"]);
    }

    #[test]
    fn a_failure_carries_the_clouds_code_and_request_id_once_per_new_failure() {
        let mut failed = instance(InstanceResult::Failed, &["CreateInstance"], 1);
        failed.consecutive_failures = 1;
        failed.last_error = Some("CreateInstance: InvalidDBInstanceClass.NotFound: Specified DB instance class is not found. (RequestId: 0A1B-2C, HTTP 404)".into());
        failed.last_error_code = Some("InvalidDBInstanceClass.NotFound".into());
        failed.last_error_request_id = Some("0A1B-2C".into());
        let first = status(Mode::Apply, &[("r/a", failed.clone())]);
        let events = events_between(None, &first, None, at(1));
        assert_eq!(kinds(&events), [Kind::ApplyFailed]);
        assert_eq!(
            events[0].code.as_deref(),
            Some("InvalidDBInstanceClass.NotFound")
        );
        assert_eq!(events[0].request_id.as_deref(), Some("0A1B-2C"));
        // Backing off: looked at again, no new failure.
        let mut same = failed.clone();
        same.last_run = Some(at(2));
        let second = status(Mode::Apply, &[("r/a", same)]);
        assert!(events_between(Some(&first), &second, None, at(2)).is_empty());
    }

    #[test]
    fn held_steps_and_manifest_transitions() {
        let mut held = instance(InstanceResult::Held, &[], 1);
        held.held.push(TimedStep {
            what: "ModifyInstanceSpec".into(),
            when: "in the maintenance window".into(),
            opens: None,
        });
        let mut broken = status(Mode::Apply, &[("r/a", held)]);
        broken.manifest_error = Some("stack.yaml:3:1: unknown-field".into());
        let events = events_between(None, &broken, None, at(1));
        assert_eq!(kinds(&events), [Kind::ManifestsBroken, Kind::StepHeld]);
        assert_eq!(
            events[1].fields,
            ["ModifyInstanceSpec (in the maintenance window)"]
        );
        let mut fixed = broken.clone();
        fixed.manifest_error = None;
        let events = events_between(Some(&broken), &fixed, None, at(2));
        assert_eq!(kinds(&events), [Kind::ManifestsFixed]);
    }

    #[test]
    fn shards_taken_and_lost_between_reports() {
        let report = |held: &[&str]| ReplicaReport {
            replica: "r1".into(),
            shards_held: held.iter().map(|s| s.to_string()).collect(),
            ..ReplicaReport::default()
        };
        let first = report(&["web/cn-hangzhou"]);
        let events = shard_events(None, &first, at(1));
        assert_eq!(kinds(&events), [Kind::ShardTaken]);
        assert_eq!(events[0].stack.as_deref(), Some("web"));
        assert_eq!(events[0].fields, ["web/cn-hangzhou"]);
        let second = report(&["web/cn-beijing"]);
        let events = shard_events(Some(&first), &second, at(2));
        assert_eq!(kinds(&events), [Kind::ShardTaken, Kind::ShardLost]);
        assert_eq!(events[1].fields, ["web/cn-hangzhou"]);
        assert!(shard_events(Some(&second), &second, at(3)).is_empty());
    }
}
