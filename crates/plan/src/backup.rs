//! Diff rules for the automatic backup policy: the window exactly, weekdays as a set.

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Step, WaitFor};
use crate::manifest::DesiredInstance;
use crate::observed::ObservedInstance;
use kvsync_wire::actions::{ModifyBackupPolicy, Request};

/// One `ModifyBackupPolicy` when the window or the days differ.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(policy) = &desired.backup_policy else {
        return;
    };
    let current = observed.backup_policy.as_ref();
    if current.is_some_and(|c| c.time.known() == Some(&policy.time) && c.period == policy.period) {
        return;
    }
    let days = |days: &std::collections::BTreeSet<crate::manifest::desired::Weekday>| {
        days.iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let show = |time: &dyn std::fmt::Display, period| format!("{time} {}", days(period));
    steps.push(step(
        Request::ModifyBackupPolicy(ModifyBackupPolicy {
            instance_id: observed.id.clone(),
            preferred_backup_time: policy.time.to_string(),
            preferred_backup_period: days(&policy.period),
            backup_retention_period: None,
            enable_backup_log: None,
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        vec![change(
            "spec.backupPolicy",
            current.map(|c| show(&c.time, &c.period)),
            Some(show(&policy.time, &policy.period)),
        )],
    ));
}
