//! The status of a daemon that reconciles several stacks (`daemon --stack DIR`, repeatable):
//! one loop per stack, each with its own status, and one view of them all for the HTTP server.
//!
//! The view is the sum of the stacks: cycles and failures add up, instances are listed
//! together, the daemon is ready only when every stack is, and a stack's error is shown with
//! its name. `/status` also carries each stack's own status under `stacks`.

use jiff::Timestamp;

use super::history::History;
use super::status::{DaemonStatus, SharedStatus};

/// What the HTTP server reads: one stack's status, or several.
#[derive(Clone)]
pub enum StatusView {
    /// One stack (the daemon's `-f` manifests).
    One(SharedStatus),
    /// Several stacks, in `--stack` order.
    Many(Vec<SharedStatus>),
}

impl StatusView {
    /// A copy of the status: the stack's, or the sum of the stacks'.
    pub fn snapshot(&self) -> DaemonStatus {
        match self {
            StatusView::One(status) => status.snapshot(),
            StatusView::Many(stacks) => {
                let stacks: Vec<DaemonStatus> = stacks.iter().map(SharedStatus::snapshot).collect();
                merge(stacks)
            }
        }
    }

    /// `Ok` when every stack is ready; otherwise why not, naming the stack.
    pub fn readiness(&self, now: Timestamp) -> Result<(), String> {
        match self {
            StatusView::One(status) => status.lock().readiness(now),
            StatusView::Many(stacks) => {
                let problems: Vec<String> = stacks
                    .iter()
                    .filter_map(|status| {
                        let status = status.lock();
                        status
                            .readiness(now)
                            .err()
                            .map(|reason| format!("stack {}: {reason}", stack_name(&status)))
                    })
                    .collect();
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(problems.join("; "))
                }
            }
        }
    }
}

fn stack_name(status: &DaemonStatus) -> &str {
    status.stack.as_deref().unwrap_or("(not loaded)")
}

/// The sum of several stacks' statuses, with each kept under `stacks`.
pub fn merge(stacks: Vec<DaemonStatus>) -> DaemonStatus {
    let Some(first) = stacks.first() else {
        return DaemonStatus::new(super::status::Mode::Observe, Timestamp::now());
    };
    let mut sum = DaemonStatus::new(first.mode, first.started_at);
    let named = |status: &DaemonStatus, text: &str| format!("stack {}: {text}", stack_name(status));
    let joined = |pick: &dyn Fn(&DaemonStatus) -> Option<&String>| {
        let parts: Vec<String> = stacks
            .iter()
            .filter_map(|status| pick(status).map(|text| named(status, text)))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    };
    sum.manifest_error = joined(&|s| s.manifest_error.as_ref());
    sum.cycle_error = joined(&|s| s.cycle_error.as_ref());
    sum.ready = stacks.iter().all(|s| s.ready);
    sum.started_at = stacks
        .iter()
        .map(|s| s.started_at)
        .min()
        .unwrap_or(first.started_at);
    // The stack that succeeded longest ago decides how fresh the whole is.
    sum.last_success_at = if stacks.iter().all(|s| s.last_success_at.is_some()) {
        stacks.iter().filter_map(|s| s.last_success_at).min()
    } else {
        None
    };
    sum.success_expected_within_secs = stacks
        .iter()
        .filter_map(|s| s.success_expected_within_secs)
        .max();
    sum.phase = stacks.iter().find_map(|s| s.phase.clone());
    sum.last_cycle_at = stacks.iter().filter_map(|s| s.last_cycle_at).max();
    sum.next_cycle_at = stacks.iter().filter_map(|s| s.next_cycle_at).min();
    sum.revision = first.revision.clone();
    sum.pending_revision = stacks.iter().find_map(|s| s.pending_revision.clone());
    let names: Vec<&str> = stacks.iter().map(stack_name).collect();
    sum.stack = Some(names.join(", "));
    for status in &stacks {
        sum.cycles += status.cycles;
        sum.failed_cycles += status.failed_cycles;
        sum.cycle_seconds.add(&status.cycle_seconds);
        sum.blocked_reads
            .extend(status.blocked_reads.iter().cloned());
        for (key, instance) in &status.instances {
            // Instance names are unique per region within a daemon's stacks; were two stacks
            // to name the same one, the first stack's is shown.
            sum.instances
                .entry(key.clone())
                .or_insert_with(|| instance.clone());
        }
    }
    sum.history = History::merged(stacks.iter().map(|s| &s.history));
    sum.stacks = stacks;
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::status::Mode;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn stack(name: &str, cycles: u64, success: Option<i64>) -> DaemonStatus {
        let mut status = DaemonStatus::new(Mode::Apply, at(0));
        status.stack = Some(name.into());
        status.cycles = cycles;
        status.ready = success.is_some();
        status.last_success_at = success.map(at);
        status
    }

    #[test]
    fn the_sum_adds_cycles_and_is_ready_only_when_every_stack_is() {
        let mut a = stack("a", 3, Some(10));
        a.cycle_error = Some("boom".into());
        let b = stack("b", 4, Some(20));
        let sum = merge(vec![a.clone(), b.clone()]);
        assert_eq!(sum.cycles, 7);
        assert!(sum.ready);
        assert_eq!(sum.last_success_at, Some(at(10)));
        assert_eq!(sum.stack.as_deref(), Some("a, b"));
        assert_eq!(sum.cycle_error.as_deref(), Some("stack a: boom"));
        assert_eq!(sum.stacks.len(), 2);

        let waiting = stack("c", 0, None);
        let sum = merge(vec![a, b, waiting]);
        assert!(!sum.ready);
        assert_eq!(sum.last_success_at, None);
    }

    #[test]
    fn readiness_names_the_stack_that_is_not_ready() {
        let view = StatusView::Many(vec![
            SharedStatus::new(stack("a", 1, Some(0))),
            SharedStatus::new(stack("b", 0, None)),
        ]);
        let reason = view.readiness(at(1)).unwrap_err();
        assert!(reason.starts_with("stack b: "), "{reason}");
        assert!(!reason.contains("stack a"), "{reason}");
    }
}
