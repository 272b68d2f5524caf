//! Diff rules for whitelists: each listed group is set exactly (`Cover`); groups not listed, and
//! the system groups, are never touched. Entries compare as sets of normalised addresses.

use std::collections::BTreeSet;

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Step, WaitFor};
use crate::manifest::DesiredInstance;
use crate::manifest::rules::SYSTEM_GROUPS;
use crate::observed::ObservedInstance;
use crate::values::{Ipv4Net, Reported};
use kvsync_wire::actions::{ModifySecurityIps, Request};

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
            Request::ModifySecurityIps(ModifySecurityIps {
                instance_id: observed.id.clone(),
                security_ips: wanted_texts.iter().cloned().collect(),
                security_ip_group_name: Some(group.clone()),
                security_ip_group_attribute: None,
                modify_mode: Some("Cover".into()),
            }),
            WaitFor::Normal,
            MODIFY_TIMEOUT_SECS,
            vec![change(
                &format!("spec.whitelists.{group}"),
                current.map(|c| join(&wire_texts(c))),
                Some(join(&wanted_texts)),
            )],
        ));
    }
}

/// Entries joined with commas.
fn join(entries: &BTreeSet<String>) -> String {
    entries.iter().cloned().collect::<Vec<_>>().join(",")
}

/// Entries as the wire text, in the text's order: how they are sent and shown.
fn wire_texts<T: ToString>(entries: &BTreeSet<T>) -> BTreeSet<String> {
    entries.iter().map(ToString::to_string).collect()
}
