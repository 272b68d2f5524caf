//! The planner: a pure function from desired and observed state to an ordered [`Plan`].
//!
//! [`diff`] does no IO, reads no clock, environment or randomness, and is not `async`. Each
//! aspect's rules live in their own module; ordering within an instance is fixed (create →
//! attributes → delete), and instances are independent of one another.

pub mod check;
pub mod instance;
pub mod model;
pub mod render;
pub mod token;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use self::model::{Blocked, PLAN_FORMAT_VERSION};
pub use self::model::{Call, Impact, InstancePlan, Operation, Plan, Step};
use crate::manifest::{Desired, InstanceKey};
use crate::observe::{Observed, ObservedInstance};

/// Computes the plan that takes `observed` to `desired`.
pub fn diff(desired: &Desired, observed: &Observed) -> Plan {
    let stack = &desired.stack.name;
    let mut instances = Vec::new();
    let mut claimed: BTreeSet<(String, String)> = BTreeSet::new();

    for wanted in &desired.instances {
        let region = &wanted.key.region;
        let candidates: Vec<&ObservedInstance> = match &wanted.instance_id {
            Some(id) => observed.by_id(region, id).into_iter().collect(),
            None => observed.named(region, &wanted.key.name).collect(),
        };
        for candidate in &candidates {
            claimed.insert((region.clone(), candidate.id.clone()));
        }
        let plan = match candidates.as_slice() {
            [] => match &wanted.instance_id {
                Some(id) => blocked_only(
                    &wanted.key,
                    "spec.instanceId",
                    format!("instance {id} does not exist in region {region}"),
                ),
                None => instance::create(stack, wanted),
            },
            [existing] => instance::update(wanted, existing),
            several => {
                let ids: Vec<&str> = several.iter().map(|i| i.id.as_str()).collect();
                blocked_only(
                    &wanted.key,
                    "metadata.name",
                    format!(
                        "{} instances are named {:?} in {region} ({}); pin one with spec.instanceId",
                        ids.len(),
                        wanted.key.name,
                        ids.join(", ")
                    ),
                )
            }
        };
        instances.push(plan);
    }

    if desired.stack.prune {
        instances.extend(prune(desired, observed, &claimed));
    }

    instances.retain(|plan| !plan.steps.is_empty() || !plan.blocked.is_empty());
    instances.sort_by(|a, b| a.key.cmp(&b.key));
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: stack.clone(),
        instances,
    }
}

fn blocked_only(key: &InstanceKey, field: &str, reason: String) -> InstancePlan {
    InstancePlan {
        key: key.clone(),
        instance_id: None,
        operation: Operation::Update,
        steps: Vec::new(),
        blocked: vec![Blocked {
            field: field.into(),
            old: None,
            new: None,
            reason,
        }],
    }
}

/// Deletions of instances this stack owns that no manifest describes. If that would be every
/// instance the stack owns, nothing is deleted: an empty or broken manifest set must never
/// wipe a stack.
fn prune(
    desired: &Desired,
    observed: &Observed,
    claimed: &BTreeSet<(String, String)>,
) -> Vec<InstancePlan> {
    let stack = &desired.stack.name;
    let owned: Vec<&ObservedInstance> = observed
        .regions
        .values()
        .flatten()
        .filter(|instance| instance.owned_by(stack))
        .collect();
    let orphans: Vec<&ObservedInstance> = owned
        .iter()
        .copied()
        .filter(|instance| !claimed.contains(&(instance.region.clone(), instance.id.clone())))
        .collect();
    let all_of_stack = !orphans.is_empty() && orphans.len() == owned.len();
    orphans
        .into_iter()
        .map(|orphan| {
            let (steps, blocked) = if all_of_stack {
                (
                    Vec::new(),
                    vec![Blocked {
                        field: "instance".into(),
                        old: Some(orphan.id.clone()),
                        new: None,
                        reason: format!(
                            "pruning would delete every instance of stack {stack:?}; kvsync refuses (check that the manifests are complete)"
                        ),
                    }],
                )
            } else {
                instance::delete(orphan)
            };
            InstancePlan {
                key: InstanceKey {
                    region: orphan.region.clone(),
                    name: orphan.name.clone(),
                },
                instance_id: Some(orphan.id.clone()),
                operation: Operation::Delete,
                steps,
                blocked,
            }
        })
        .collect()
}
