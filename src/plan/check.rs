//! Invariants every plan must satisfy; tests run every plan they make through [`check`].

use std::collections::BTreeSet;

use super::model::{Call, Impact, Operation, Plan};
use super::token::TOKEN_PREFIX;
use crate::observe::Observed;
use crate::values::ChargeType;

/// The position of a call in the fixed per-instance order (DESIGN §5): create → spec → network
/// → major version → attributes → maintenance window → TLS → VPC auth → whitelists → config →
/// backup policy → accounts (create and change, then delete) → tags → instance delete.
pub fn order_rank(call: &Call) -> u8 {
    match call {
        Call::CreateInstance(_) => 0,
        Call::ModifyInstanceSpec { .. } => 1,
        Call::TransformToPrePaid { .. } => 2,
        Call::SwitchNetwork { .. } => 3,
        Call::ModifyInstanceMajorVersion { .. } => 4,
        Call::ModifyInstanceAttribute { .. } => 5,
        Call::ModifyInstanceMaintainTime { .. } => 6,
        Call::ModifyInstanceSsl { .. } => 7,
        Call::ModifyInstanceVpcAuthMode { .. } => 8,
        Call::ModifySecurityIps { .. } => 9,
        Call::ModifyInstanceConfig { .. } => 10,
        Call::ModifyBackupPolicy { .. } => 11,
        Call::CreateAccount { .. }
        | Call::GrantAccountPrivilege { .. }
        | Call::ModifyAccountDescription { .. }
        | Call::ResetAccountPassword { .. } => 12,
        Call::DeleteAccount { .. } => 13,
        Call::TagResources { .. } | Call::UntagResources { .. } => 14,
        Call::DeleteInstance => 15,
    }
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
            match &step.call {
                Call::CreateInstance(create) => {
                    if index != 0 || instance.operation != Operation::Create {
                        problems.push(format!(
                            "{key}: CreateInstance must be the first step of a create"
                        ));
                    }
                    if !create.token.starts_with(TOKEN_PREFIX)
                        || create.token.len() > 64
                        || !create.token.is_ascii()
                    {
                        problems.push(format!(
                            "{key}: CreateInstance token {:?} is not a kvsync token",
                            create.token
                        ));
                    }
                    if create.instance_name != key.name || create.region_id != key.region {
                        problems.push(format!("{key}: CreateInstance names another instance"));
                    }
                }
                Call::DeleteInstance => {
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
                Call::ModifyInstanceSpec { client_token, .. }
                    if !client_token.starts_with(TOKEN_PREFIX) || client_token.len() > 64 =>
                {
                    problems.push(format!(
                        "{key}: ModifyInstanceSpec without a kvsync ClientToken"
                    ));
                }
                _ => {}
            }
            let destructive =
                matches!(step.call, Call::DeleteInstance | Call::DeleteAccount { .. });
            if (step.impact == Impact::Destructive) != destructive {
                problems.push(format!(
                    "{key}: {} has impact {}",
                    step.call.action(),
                    step.impact.as_str()
                ));
            }
            let irreversible = matches!(
                step.call,
                Call::TransformToPrePaid { .. }
                    | Call::SwitchNetwork { .. }
                    | Call::ModifyInstanceMajorVersion { .. }
            );
            if (step.impact == Impact::Irreversible) != irreversible {
                problems.push(format!(
                    "{key}: {} has impact {}",
                    step.call.action(),
                    step.impact.as_str()
                ));
            }
        }
        let ranks: Vec<u8> = instance.steps.iter().map(|s| order_rank(&s.call)).collect();
        if ranks.windows(2).any(|pair| pair[0] > pair[1]) {
            problems.push(format!(
                "{key}: steps are out of the fixed order: {ranks:?}"
            ));
        }
    }
    problems
}
