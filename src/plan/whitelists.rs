//! Diff rules for whitelists: each listed group is set exactly (`Cover`); groups not listed, and
//! the system groups, are never touched. Entries compare as sets of normalised addresses.

use std::collections::BTreeSet;

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Call, Impact, Step, WaitFor, join};
use crate::manifest::DesiredInstance;
use crate::manifest::rules::SYSTEM_GROUPS;
use crate::observe::ObservedInstance;

/// One `ModifySecurityIps` per listed group whose entries differ.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(groups) = &desired.whitelists else {
        return;
    };
    for (group, wanted) in groups {
        if SYSTEM_GROUPS.contains(&group.as_str()) {
            continue;
        }
        let current: Option<&BTreeSet<String>> =
            observed.whitelists.as_ref().and_then(|w| w.get(group));
        if current == Some(wanted) {
            continue;
        }
        steps.push(step(
            Call::ModifySecurityIps {
                group: group.clone(),
                ips: wanted.clone(),
            },
            Impact::None,
            WaitFor::Normal,
            MODIFY_TIMEOUT_SECS,
            vec![change(
                &format!("spec.whitelists.{group}"),
                current.map(|c| join(c.iter())),
                Some(join(wanted.iter())),
            )],
        ));
    }
}
