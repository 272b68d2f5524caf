//! Diff rules for the automatic backup policy: the window exactly, weekdays as a set.

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Call, Impact, Step, WaitFor, join};
use crate::manifest::DesiredInstance;
use crate::observe::ObservedInstance;

/// One `ModifyBackupPolicy` when the window or the days differ.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(policy) = &desired.backup_policy else {
        return;
    };
    let current = observed.backup_policy.as_ref();
    if current.is_some_and(|c| c.time.known() == Some(&policy.time) && c.period == policy.period) {
        return;
    }
    let show =
        |time: &dyn std::fmt::Display,
         days: &std::collections::BTreeSet<crate::manifest::desired::Weekday>| {
            format!("{time} {}", join(days.iter().map(|d| d.as_str())))
        };
    steps.push(step(
        Call::ModifyBackupPolicy {
            time: policy.time.to_string(),
            period: policy.period.clone(),
        },
        Impact::None,
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        vec![change(
            "spec.backupPolicy",
            current.map(|c| show(&c.time, &c.period)),
            Some(show(&policy.time, &policy.period)),
        )],
    ));
}
