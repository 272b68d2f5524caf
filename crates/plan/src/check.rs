//! Invariants every plan must satisfy; tests run every plan they make through [`check`].

use std::collections::BTreeSet;

use super::model::{Impact, NEW_INSTANCE_ID, Operation, Plan, PlannedRequest, When};
use super::token::TOKEN_PREFIX;
use crate::observed::Observed;
use crate::values::ChargeType;
use kvsync_wire::actions::Request;

/// The position of a request in the fixed per-instance order (DESIGN §5): create → spec →
/// network → major version → attributes → maintenance window → TLS → VPC auth → whitelists →
/// config → backup policy → accounts (create and change, then delete) → tags → instance delete.
/// Actions the planner never sends rank after everything ([`UNPLANNED`]).
pub fn order_rank(request: &PlannedRequest) -> u8 {
    match request {
        Request::CreateInstance(_) => 0,
        Request::ModifyInstanceSpec(_) => 1,
        Request::TransformToPrePaid(_) => 2,
        Request::SwitchNetwork(_) | Request::ModifyInstanceNetExpireTime(_) => 3,
        Request::ModifyInstanceMajorVersion(_) => 4,
        Request::ModifyInstanceAttribute(_) => 5,
        Request::ModifyInstanceMaintainTime(_) => 6,
        Request::ModifyDbInstanceConnectionString(_) => 7,
        Request::ModifyInstanceSsl(_) => 8,
        Request::ModifyInstanceVpcAuthMode(_) => 9,
        Request::ModifySecurityIps(_) => 10,
        Request::ModifyInstanceConfig(_) => 11,
        Request::ModifyBackupPolicy(_) => 12,
        Request::CreateAccount(_)
        | Request::GrantAccountPrivilege(_)
        | Request::ModifyAccountDescription(_)
        | Request::ResetAccountPassword(_) => 13,
        Request::DeleteAccount(_) => 14,
        Request::TagResources(_) | Request::UntagResources(_) => 15,
        Request::DeleteInstance(_) => 16,
        // Before the first risky step that runs, wherever that is (checked on its own).
        Request::CreateBackup(_) => BACKUP,
        _ => UNPLANNED,
    }
}

/// The rank of an action the planner never sends.
pub const UNPLANNED: u8 = u8::MAX;

/// The rank of the backup before risky steps, which has no place of its own in the order.
const BACKUP: u8 = u8::MAX - 1;

/// The instance a request names: `InstanceId`, or the one `ResourceId` of a tag request.
fn target(request: &PlannedRequest) -> Option<String> {
    let params = request.params();
    params
        .get("InstanceId")
        .or_else(|| params.get("ResourceId.1"))
        .map(|value| value.expose().to_owned())
}

/// Returns a description of every invariant the plan breaks (empty when it is sound).
pub fn check(plan: &Plan, observed: &Observed) -> Vec<String> {
    let mut problems = Vec::new();
    let mut keys = BTreeSet::new();
    for instance in &plan.instances {
        let key = &instance.key;
        if !keys.insert(key.clone()) {
            problems.push(format!("{key}: appears twice"));
        }
        let creates = instance.operation == Operation::Create;
        if creates && instance.instance_id.is_some() {
            problems.push(format!("{key}: creates an instance that already has an ID"));
        }
        if !creates && !instance.steps.is_empty() && instance.instance_id.is_none() {
            problems.push(format!("{key}: changes an instance without knowing its ID"));
        }
        for (index, step) in instance.steps.iter().enumerate() {
            let action = step.request.name();
            if order_rank(&step.request) == UNPLANNED {
                problems.push(format!("{key}: plans {action}, which kvsync never sends"));
            }
            let expected = if creates {
                Some(NEW_INSTANCE_ID)
            } else {
                instance.instance_id.as_deref()
            };
            let named = target(&step.request);
            if (index > 0 || !creates) && named.as_deref() != expected {
                problems.push(format!(
                    "{key}: {action} names instance {named:?}, not {expected:?}"
                ));
            }
            match &step.request {
                Request::CreateInstance(create) => {
                    let token = create.token.as_deref().unwrap_or_default();
                    if index != 0 || instance.operation != Operation::Create {
                        problems.push(format!(
                            "{key}: CreateInstance must be the first step of a create"
                        ));
                    }
                    if !token.starts_with(TOKEN_PREFIX) || token.len() > 64 || !token.is_ascii() {
                        problems.push(format!(
                            "{key}: CreateInstance token {token:?} is not a kvsync token"
                        ));
                    }
                    if create.instance_name.as_deref() != Some(key.name.as_str())
                        || create.region_id != key.region
                    {
                        problems.push(format!("{key}: CreateInstance names another instance"));
                    }
                }
                Request::DeleteInstance(_) => {
                    if index + 1 != instance.steps.len() {
                        problems.push(format!("{key}: DeleteInstance must be the last step"));
                    }
                    if step.impact != Impact::Destructive {
                        problems.push(format!("{key}: DeleteInstance must be destructive"));
                    }
                    let target = instance
                        .instance_id
                        .as_deref()
                        .and_then(|id| observed.by_id(&key.region, id));
                    match target {
                        None => problems
                            .push(format!("{key}: deletes an instance that was not observed")),
                        Some(target) => {
                            if target.release_protection != Some(false) {
                                problems.push(format!("{key}: deletes a protected instance"));
                            }
                            if target.charge_type == ChargeType::PrePaid {
                                problems.push(format!("{key}: deletes a subscription instance"));
                            }
                            if !target.owned_by(&plan.stack) {
                                problems.push(format!(
                                    "{key}: deletes an instance this stack does not own"
                                ));
                            }
                        }
                    }
                }
                Request::CreateBackup(_) => {
                    let next = instance.steps.get(index + 1);
                    let before_risky = next.is_some_and(|next| {
                        next.when.runs_now()
                            && (next.restart || next.impact >= Impact::Irreversible)
                    });
                    if creates || !before_risky {
                        problems.push(format!(
                            "{key}: CreateBackup must come right before a risky step that runs, of an existing instance"
                        ));
                    }
                }
                Request::ModifyInstanceSpec(spec)
                    if !spec.client_token.as_deref().is_some_and(|token| {
                        token.starts_with(TOKEN_PREFIX) && token.len() <= 64
                    }) =>
                {
                    problems.push(format!(
                        "{key}: ModifyInstanceSpec without a kvsync ClientToken"
                    ));
                }
                _ => {}
            }
            let destructive = matches!(
                step.request,
                Request::DeleteInstance(_) | Request::DeleteAccount(_)
            );
            if (step.impact == Impact::Destructive) != destructive {
                problems.push(format!(
                    "{key}: {} has impact {}",
                    action,
                    step.impact.as_str()
                ));
            }
            let irreversible = matches!(
                step.request,
                Request::TransformToPrePaid(_)
                    | Request::SwitchNetwork(_)
                    | Request::ModifyInstanceMajorVersion(_)
            );
            if (step.impact == Impact::Irreversible) != irreversible {
                problems.push(format!(
                    "{key}: {} has impact {}",
                    action,
                    step.impact.as_str()
                ));
            }
        }
        for step in &instance.steps {
            let maintain_time = match &step.request {
                Request::ModifyInstanceSpec(r) => r.effective_time.as_deref(),
                Request::ModifyInstanceMajorVersion(r) => r.effective_time.as_deref(),
                _ => None,
            } == Some(crate::schedule::MAINTAIN_TIME);
            let cloud = matches!(step.when, When::Cloud { .. });
            if maintain_time != cloud {
                problems.push(format!(
                    "{key}: {} must send MaintainTime if and only if the cloud schedules it",
                    step.request.name()
                ));
            }
            if creates && step.when != When::Now {
                problems.push(format!(
                    "{key}: a new instance's {} must run now",
                    step.request.name()
                ));
            }
        }
        let ranks: Vec<u8> = instance
            .steps
            .iter()
            .map(|s| order_rank(&s.request))
            .filter(|rank| *rank != BACKUP)
            .collect();
        if ranks.windows(2).any(|pair| pair[0] > pair[1]) {
            problems.push(format!(
                "{key}: steps are out of the fixed order: {ranks:?}"
            ));
        }
    }
    problems
}
