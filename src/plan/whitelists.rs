//! Diff rules for whitelists: each listed group is set exactly (`Cover`); groups not listed, and
//! the system groups, are never touched. Entries compare as sets of normalised addresses.

use std::collections::BTreeSet;

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Call, Impact, Step, WaitFor, join};
use crate::manifest::DesiredInstance;
use crate::manifest::rules::SYSTEM_GROUPS;
use crate::observe::ObservedInstance;
use crate::values::{Ipv4Net, Reported};

/// One `ModifySecurityIps` per listed group whose entries differ.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(groups) = &desired.whitelists else {
        return;
    };
    for (group, wanted) in groups {
        if SYSTEM_GROUPS.contains(&group.as_str()) {
            continue;
        }
        let current: Option<&BTreeSet<Reported<Ipv4Net>>> =
            observed.whitelists.as_ref().and_then(|w| w.get(group));
        // Equal when every entry the cloud reports is a net and the nets are the wanted ones.
        let current_nets: Option<BTreeSet<Ipv4Net>> = current
            .and_then(|entries| entries.iter().map(|entry| entry.known().copied()).collect());
        if current_nets.as_ref() == Some(wanted) {
            continue;
        }
        let wanted_texts = wire_texts(wanted);
        steps.push(step(
            Call::ModifySecurityIps {
                group: group.clone(),
                ips: wanted_texts.clone(),
            },
            Impact::None,
            WaitFor::Normal,
            MODIFY_TIMEOUT_SECS,
            vec![change(
                &format!("spec.whitelists.{group}"),
                current.map(|c| join(wire_texts(c).iter())),
                Some(join(wanted_texts.iter())),
            )],
        ));
    }
}

/// Entries as the wire text, in the text's order: how they are sent and shown.
fn wire_texts<T: ToString>(entries: &BTreeSet<T>) -> BTreeSet<String> {
    entries.iter().map(ToString::to_string).collect()
}
