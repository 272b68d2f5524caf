//! Diff rules for the automatic backup policy: the window exactly, weekdays as a set, and,
//! when declared, the retention and the incremental log backups.

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Change, Step, WaitFor};
use crate::manifest::DesiredInstance;
use crate::manifest::desired::{BackupPolicy, Weekday};
use crate::observed::{ObservedBackupPolicy, ObservedInstance};
use kvsync_wire::actions::{ModifyBackupPolicy, Request};

/// One `ModifyBackupPolicy` when the window, the days, or a declared retention or log setting
/// differ. The call always carries the window and the days (the API requires them); the
/// retention and the log switch only when declared.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(policy) = &desired.backup_policy else {
        return;
    };
    let current = observed.backup_policy.as_ref();
    let changes = changes(policy, current);
    if changes.is_empty() {
        return;
    }
    steps.push(step(
        Request::ModifyBackupPolicy(ModifyBackupPolicy {
            instance_id: observed.id.clone(),
            preferred_backup_time: policy.time.to_string(),
            preferred_backup_period: days(&policy.period),
            backup_retention_period: policy.retention_days.map(i64::from),
            enable_backup_log: policy.backup_log,
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        changes,
    ));
}

fn days(days: &std::collections::BTreeSet<Weekday>) -> String {
    days.iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// What differs, field by field (nothing when the policy matches).
fn changes(policy: &BackupPolicy, current: Option<&ObservedBackupPolicy>) -> Vec<Change> {
    let show = |time: &dyn std::fmt::Display, period| format!("{time} {}", days(period));
    let mut changes = Vec::new();
    let schedule_matches =
        current.is_some_and(|c| c.time.known() == Some(&policy.time) && c.period == policy.period);
    if !schedule_matches {
        changes.push(change(
            "spec.backupPolicy",
            current.map(|c| show(&c.time, &c.period)),
            Some(show(&policy.time, &policy.period)),
        ));
    }
    if let Some(days) = policy.retention_days
        && current.and_then(|c| c.retention_days) != Some(days)
    {
        changes.push(change(
            "spec.backupPolicy.retentionDays",
            current
                .and_then(|c| c.retention_days)
                .map(|d| d.to_string()),
            Some(days.to_string()),
        ));
    }
    if let Some(on) = policy.backup_log
        && current.map(|c| c.backup_log) != Some(on)
    {
        changes.push(change(
            "spec.backupPolicy.backupLog",
            current.map(|c| c.backup_log.to_string()),
            Some(on.to_string()),
        ));
    }
    changes
}
