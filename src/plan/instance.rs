//! Diff rules for the instance itself: creation, core fields, release protection, deletion.

use std::collections::BTreeMap;

use super::model::{
    Blocked, Call, Change, CreateInstanceCall, Impact, InstancePlan, Operation, Step, Wait, WaitFor,
};
use super::token;
use crate::manifest::DesiredInstance;
use crate::manifest::desired::{Charge, Network};
use crate::observe::ObservedInstance;
use crate::observe::observed::{MANAGED_TAG, STACK_TAG};

/// How long creating an instance may take before the executor gives up.
pub const CREATE_TIMEOUT_SECS: u64 = 30 * 60;
/// How long an attribute change may take.
pub const MODIFY_TIMEOUT_SECS: u64 = 10 * 60;
/// How long a release may take.
pub const DELETE_TIMEOUT_SECS: u64 = 10 * 60;

/// The steps that create `desired` from nothing.
pub fn create(stack: &str, desired: &DesiredInstance) -> InstancePlan {
    let mut tags: BTreeMap<String, String> = desired.labels.clone().unwrap_or_default();
    tags.insert(MANAGED_TAG.into(), "true".into());
    tags.insert(STACK_TAG.into(), stack.into());

    let mut call = CreateInstanceCall {
        token: String::new(),
        region_id: desired.key.region.clone(),
        instance_name: desired.key.name.clone(),
        // Validation guarantees a class whenever no instance ID pins an existing instance.
        instance_class: desired.instance_class.clone().unwrap_or_default(),
        engine_version: desired.engine_version.clone(),
        zone_id: desired.zone_id.clone(),
        charge: desired.charge,
        network: desired.network.clone(),
        password: desired.password.clone(),
        tags,
    };
    let mut identity = Call::CreateInstance(Box::new(call.clone())).display_params();
    identity.remove("Token");
    call.token = token::derive(
        stack,
        "CreateInstance",
        &desired.key.region,
        &desired.key.name,
        &identity,
    );

    let changes = created_fields(desired);
    let mut steps = vec![Step {
        call: Call::CreateInstance(Box::new(call)),
        changes,
        impact: Impact::None,
        wait: Wait {
            until: WaitFor::Normal,
            timeout_secs: CREATE_TIMEOUT_SECS,
        },
    }];
    // New instances start without release protection.
    if desired.release_protection == Some(true) {
        steps.push(release_protection_step(Some(false), true));
    }
    InstancePlan {
        key: desired.key.clone(),
        instance_id: None,
        operation: Operation::Create,
        steps,
        blocked: Vec::new(),
    }
}

fn created_fields(desired: &DesiredInstance) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut add = |field: &str, value: Option<String>| {
        if let Some(value) = value {
            changes.push(Change {
                field: field.into(),
                old: None,
                new: Some(value),
            });
        }
    };
    add("spec.instanceClass", desired.instance_class.clone());
    add("spec.engineVersion", desired.engine_version.clone());
    add("spec.zoneId", desired.zone_id.clone());
    add(
        "spec.chargeType",
        desired.charge.map(|c| c.charge_type().to_owned()),
    );
    if let Some(Charge::PrePaid { period }) = desired.charge {
        add("spec.period", Some(period.to_string()));
    }
    add(
        "spec.network",
        desired.network.as_ref().map(describe_network),
    );
    add(
        "spec.password",
        desired.password.as_ref().map(|p| p.to_string()),
    );
    if let Some(labels) = &desired.labels {
        for (key, value) in labels {
            add(&format!("metadata.labels.{key}"), Some(value.clone()));
        }
    }
    changes
}

/// A network as one line of text.
pub fn describe_network(network: &Network) -> String {
    match network {
        Network::Classic => "Classic".into(),
        Network::Vpc { vpc_id, vswitch_id } => format!("VPC {vpc_id}/{vswitch_id}"),
    }
}

fn observed_network(observed: &ObservedInstance) -> Network {
    if observed.network_type == "VPC" {
        Network::Vpc {
            vpc_id: observed.vpc_id.clone(),
            vswitch_id: observed.vswitch_id.clone(),
        }
    } else {
        Network::Classic
    }
}

fn release_protection_step(old: Option<bool>, new: bool) -> Step {
    Step {
        call: Call::ModifyInstanceAttribute {
            release_protection: new,
        },
        changes: vec![Change {
            field: "spec.releaseProtection".into(),
            old: old.map(|o| o.to_string()),
            new: Some(new.to_string()),
        }],
        impact: Impact::None,
        wait: Wait {
            until: WaitFor::Normal,
            timeout_secs: MODIFY_TIMEOUT_SECS,
        },
    }
}

/// The steps that bring an existing instance to `desired`.
pub fn update(desired: &DesiredInstance, observed: &ObservedInstance) -> InstancePlan {
    let mut steps = Vec::new();
    let mut blocked = Vec::new();
    let mut not_yet = |field: &str, old: String, new: String| {
        blocked.push(Blocked {
            field: field.into(),
            old: Some(old),
            new: Some(new),
            reason: "kvsync does not change this on an existing instance yet; change it in the console or recreate the instance".into(),
        });
    };

    if let Some(class) = &desired.instance_class
        && *class != observed.instance_class
    {
        not_yet(
            "spec.instanceClass",
            observed.instance_class.clone(),
            class.clone(),
        );
    }
    if let Some(version) = &desired.engine_version
        && *version != observed.engine_version
    {
        not_yet(
            "spec.engineVersion",
            observed.engine_version.clone(),
            version.clone(),
        );
    }
    if let Some(charge) = &desired.charge
        && charge.charge_type() != observed.charge_type
    {
        not_yet(
            "spec.chargeType",
            observed.charge_type.clone(),
            charge.charge_type().into(),
        );
    }
    if let Some(network) = &desired.network {
        let current = observed_network(observed);
        if *network != current {
            not_yet(
                "spec.network",
                describe_network(&current),
                describe_network(network),
            );
        }
    }
    if let Some(labels) = &desired.labels {
        let current = observed.labels();
        if *labels != current {
            not_yet(
                "metadata.labels",
                format!("{current:?}"),
                format!("{labels:?}"),
            );
        }
    }
    if let Some(zone) = &desired.zone_id
        && *zone != observed.zone_id
    {
        blocked.push(Blocked {
            field: "spec.zoneId".into(),
            old: Some(observed.zone_id.clone()),
            new: Some(zone.clone()),
            reason: "kvsync never moves an instance between zones (a migration with downtime); do it deliberately in the console".into(),
        });
    }
    if let Some(wanted) = desired.release_protection
        && observed.release_protection != Some(wanted)
    {
        steps.push(release_protection_step(observed.release_protection, wanted));
    }

    InstancePlan {
        key: desired.key.clone(),
        instance_id: Some(observed.id.clone()),
        operation: Operation::Update,
        steps,
        blocked,
    }
}

/// The step that releases an owned instance no manifest describes, or why it may not.
pub fn delete(observed: &ObservedInstance) -> (Vec<Step>, Vec<Blocked>) {
    let refuse = |reason: &str| {
        (
            Vec::new(),
            vec![Blocked {
                field: "instance".into(),
                old: Some(observed.id.clone()),
                new: None,
                reason: reason.into(),
            }],
        )
    };
    if observed.release_protection != Some(false) {
        return refuse(
            "the instance has release protection (or it could not be read); kvsync never deletes a protected instance",
        );
    }
    if observed.charge_type == "PrePaid" {
        return refuse(
            "subscription (PrePaid) instances are released only at expiry; kvsync never deletes them",
        );
    }
    (
        vec![Step {
            call: Call::DeleteInstance,
            changes: vec![Change {
                field: "instance".into(),
                old: Some(observed.id.clone()),
                new: None,
            }],
            impact: Impact::Destructive,
            wait: Wait {
                until: WaitFor::Gone,
                timeout_secs: DELETE_TIMEOUT_SECS,
            },
        }],
        Vec::new(),
    )
}
