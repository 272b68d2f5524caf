//! Diff rules for the instance itself: creation, class, billing, network, engine version and
//! release.

use std::collections::BTreeMap;

use super::Context;
use super::model::{
    Blocked, BlockedKind, CLASSIC_RETENTION_DAYS, Change, Impact, PlannedRequest, Step, Wait,
    WaitFor, When,
};
use super::token;
use crate::manifest::DesiredInstance;
use crate::manifest::desired::{Charge, Network, OriginPoint};
use crate::observed::ObservedInstance;
use crate::observed::{CLASSIC_DAYS_TAG, MANAGED_TAG, STACK_TAG};
use crate::values::{ChargeType, EngineVersion, NetworkType, Reported};
use kvsync_secrets::digest as passwords;
use kvsync_wire::actions::{
    Class, CreateInstance, DeleteInstance, ModifyInstanceMajorVersion, ModifyInstanceNetExpireTime,
    ModifyInstanceSpec, Request, SwitchNetwork, TransformToPrePaid,
};

/// How long creating an instance may take.
pub const CREATE_TIMEOUT_SECS: u64 = 30 * 60;
/// How long a specification, billing, network or version change may take.
pub const CHANGE_TIMEOUT_SECS: u64 = 60 * 60;
/// How long an attribute change may take.
pub const MODIFY_TIMEOUT_SECS: u64 = 10 * 60;
/// How long a release may take.
pub const DELETE_TIMEOUT_SECS: u64 = 10 * 60;

/// A step sending `request`, with the given wait; its impact is the action's.
pub fn step(
    request: PlannedRequest,
    until: WaitFor,
    timeout_secs: u64,
    changes: Vec<Change>,
) -> Step {
    let impact = match request.class() {
        Class::Write(impact) => impact,
        Class::Read => Impact::None,
    };
    let restart = crate::schedule::disruption(&request) != crate::schedule::Disturbance::None;
    Step {
        request,
        changes,
        impact,
        wait: Wait {
            until,
            timeout_secs,
        },
        restart,
        when: When::Now,
    }
}

/// One changed field.
pub fn change(field: &str, old: Option<String>, new: Option<String>) -> Change {
    Change {
        field: field.to_owned(),
        old,
        new,
    }
}

/// A difference kvsync reports but does not act on.
pub fn blocked(field: &str, old: Option<String>, new: Option<String>, reason: &str) -> Blocked {
    Blocked {
        field: field.to_owned(),
        old,
        new,
        reason: reason.to_owned(),
        kind: BlockedKind::Drift,
    }
}

/// The `CreateInstance` step. Tags: labels, ownership, and the digest of the instance password
/// when it is known. `source_id` is the resolved `spec.source` instance.
pub fn create(ctx: &Context<'_>, desired: &DesiredInstance, source_id: Option<&str>) -> Step {
    let mut tags: BTreeMap<String, String> = desired.labels.clone().unwrap_or_default();
    tags.insert(MANAGED_TAG.into(), "true".into());
    tags.insert(STACK_TAG.into(), ctx.stack.into());
    if desired.password.is_some()
        && let Some(digest) = ctx.digest(&desired.key, None)
    {
        let entries = BTreeMap::from([(passwords::INSTANCE_ENTRY.to_owned(), digest.to_owned())]);
        tags.extend(passwords::encode_tags(&entries));
    }
    let (charge_type, period) = match desired.charge {
        None => (None, None),
        Some(Charge::PostPaid) => (Some("PostPaid".to_owned()), None),
        Some(Charge::PrePaid { period }) => (Some("PrePaid".to_owned()), Some(u64::from(period))),
    };
    let (network_type, vpc_id, vswitch_id) = match &desired.network {
        None => (None, None, None),
        Some(Network::Classic) => (Some("CLASSIC".to_owned()), None, None),
        Some(Network::Vpc { vpc_id, vswitch_id }) => (
            Some("VPC".to_owned()),
            Some(vpc_id.clone()),
            Some(vswitch_id.clone()),
        ),
    };
    let architecture = &desired.architecture;
    let endpoint = desired.endpoint.as_ref();
    let (backup_id, restore_time) = match desired.origin.as_ref().map(|o| &o.from) {
        Some(OriginPoint::Backup(id)) => (Some(id.clone()), None),
        Some(OriginPoint::Time(at)) => (None, Some(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())),
        None => (None, None),
    };
    let request = CreateInstance {
        region_id: desired.key.region.clone(),
        token: Some(token::create(
            ctx.stack,
            &desired.key.region,
            &desired.key.name,
            0,
        )),
        instance_name: Some(desired.key.name.clone()),
        // Validation guarantees a class whenever no instance ID pins an existing instance.
        instance_class: Some(desired.instance_class.clone().unwrap_or_default()),
        engine_version: desired.engine_version.map(|version| version.to_string()),
        zone_id: desired.zone_id.clone(),
        charge_type,
        period,
        network_type,
        vpc_id,
        vswitch_id,
        password: desired.password.clone(),
        tags: tags.into_iter().collect(),
        src_db_instance_id: source_id.map(str::to_owned),
        backup_id,
        restore_time,
        port: endpoint.and_then(|e| e.port).map(u64::from),
        private_ip_address: desired.private_ip.map(|ip| ip.to_string()),
        connection_string_prefix: endpoint.and_then(|e| e.prefix.clone()),
        node_type: architecture.node_type.map(|n| n.as_str().to_owned()),
        shard_count: architecture.shard_count.map(u64::from),
        replica_count: architecture.replica_count.map(u64::from),
        read_only_count: architecture.read_only_count.map(u64::from),
        secondary_zone_id: architecture.secondary_zone_id.clone(),
    };
    step(
        Request::CreateInstance(request),
        WaitFor::Normal,
        CREATE_TIMEOUT_SECS,
        created_fields(desired),
    )
}

fn created_fields(desired: &DesiredInstance) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut add = |field: &str, value: Option<String>| {
        if let Some(value) = value {
            changes.push(change(field, None, Some(value)));
        }
    };
    add("spec.instanceClass", desired.instance_class.clone());
    add(
        "spec.engineVersion",
        desired.engine_version.map(|version| version.to_string()),
    );
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

/// The network an observed instance is on.
pub fn observed_network(observed: &ObservedInstance) -> Network {
    if observed.network_type == NetworkType::Vpc {
        Network::Vpc {
            vpc_id: observed.vpc_id.clone(),
            vswitch_id: observed.vswitch_id.clone(),
        }
    } else {
        Network::Classic
    }
}

/// Class, billing, network, engine version and zone of an existing instance, in that order.
pub fn lifecycle(
    ctx: &Context<'_>,
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    steps: &mut Vec<Step>,
    blocked_out: &mut Vec<Blocked>,
) {
    let class = desired
        .instance_class
        .as_ref()
        .filter(|class| **class != observed.instance_class);
    let architecture =
        crate::architecture::diff(&desired.architecture, observed.architecture.as_ref());
    if class.is_some() || !architecture.changes.is_empty() {
        let target = class.unwrap_or(&observed.instance_class);
        // The intent: the class move, and the architecture parts that change (none for a
        // class change alone, which keeps its tokens as they were).
        let intent = architecture.intent();
        let (from, to) = if intent.is_empty() {
            (observed.instance_class.clone(), target.clone())
        } else {
            (
                observed.instance_class.clone(),
                format!("{target};{intent}"),
            )
        };
        let client_token = token::spec(
            ctx.stack,
            &desired.key.region,
            &desired.key.name,
            &from,
            &to,
            ctx.seed(&desired.key.region),
        );
        let mut changes = Vec::new();
        if let Some(class) = class {
            changes.push(change(
                "spec.instanceClass",
                Some(observed.instance_class.clone()),
                Some(class.clone()),
            ));
        }
        let until = match class {
            Some(class) => WaitFor::InstanceClass(class.clone()),
            None => WaitFor::Normal,
        };
        changes.extend(architecture.changes);
        steps.push(step(
            Request::ModifyInstanceSpec(ModifyInstanceSpec {
                instance_id: observed.id.clone(),
                instance_class: class.cloned(),
                client_token: Some(client_token),
                effective_time: Some("Immediately".into()),
                node_type: architecture.node_type,
                shard_count: architecture.shard_count,
                replica_count: architecture.replica_count,
                read_only_count: architecture.read_only_count,
                secondary_zone_id: architecture.secondary_zone_id,
                ..ModifyInstanceSpec::default()
            }),
            until,
            CHANGE_TIMEOUT_SECS,
            changes,
        ));
    }

    if let Some(charge) = &desired.charge
        && charge.kind() != observed.charge_type
    {
        match charge {
            Charge::PrePaid { period } => steps.push(step(
                Request::TransformToPrePaid(TransformToPrePaid {
                    instance_id: observed.id.clone(),
                    period: u64::from(*period),
                    auto_pay: Some(true),
                    ..TransformToPrePaid::default()
                }),
                WaitFor::Normal,
                CHANGE_TIMEOUT_SECS,
                vec![change(
                    "spec.chargeType",
                    Some(observed.charge_type.to_string()),
                    Some(format!("PrePaid ({period} months)")),
                )],
            )),
            Charge::PostPaid => blocked_out.push(blocked(
                "spec.chargeType",
                Some(observed.charge_type.to_string()),
                Some("PostPaid".into()),
                "a subscription cannot be turned back into pay-as-you-go by the API; it ends at expiry",
            )),
        }
    }

    if let Some(network) = &desired.network {
        let current = observed_network(observed);
        if *network != current {
            match (&current, network) {
                (Network::Classic, Network::Vpc { vpc_id, vswitch_id }) => steps.push(step(
                    Request::SwitchNetwork(SwitchNetwork {
                        instance_id: observed.id.clone(),
                        target_network_type: Some("VPC".into()),
                        vpc_id: Some(vpc_id.clone()),
                        vswitch_id: Some(vswitch_id.clone()),
                        retain_classic: Some(true),
                        classic_expired_days: Some(
                            desired
                                .classic_retention_days
                                .map_or(CLASSIC_RETENTION_DAYS, u64::from),
                        ),
                    }),
                    WaitFor::Normal,
                    CHANGE_TIMEOUT_SECS,
                    vec![change("spec.network", Some(describe_network(&current)), Some(describe_network(network)))],
                )),
                _ => blocked_out.push(blocked(
                    "spec.network",
                    Some(describe_network(&current)),
                    Some(describe_network(network)),
                    "kvsync only moves classic-network instances into a VPC; moving out of a VPC or between VPCs needs a new instance",
                )),
            }
        }
    }

    classic_retention(desired, observed, steps);

    if let Some(version) = &desired.engine_version
        && observed.engine_version.known() != Some(version)
    {
        if observed
            .engine_version
            .known()
            .is_some_and(|current| current >= version)
        {
            blocked_out.push(blocked(
                "spec.engineVersion",
                Some(observed.engine_version.to_string()),
                Some(version.to_string()),
                "engine versions can only be upgraded",
            ));
        } else {
            steps.push(step(
                Request::ModifyInstanceMajorVersion(ModifyInstanceMajorVersion {
                    instance_id: observed.id.clone(),
                    major_version: version.to_string(),
                    effective_time: Some("Immediately".into()),
                }),
                WaitFor::Normal,
                CHANGE_TIMEOUT_SECS,
                vec![change(
                    "spec.engineVersion",
                    Some(observed.engine_version.to_string()),
                    Some(version.to_string()),
                )],
            ));
        }
    }

    if let Some(zone) = &desired.zone_id
        && *zone != observed.zone_id
    {
        blocked_out.push(blocked(
            "spec.zoneId",
            Some(observed.zone_id.clone()),
            Some(zone.clone()),
            "kvsync never moves an instance between zones (a migration with downtime); do it deliberately in the console",
        ));
    }
}

/// A declared retention for the classic endpoint kept after a switch into a VPC: extended or
/// shortened with `ModifyInstanceNetExpireTime` when it differs from the retention kvsync last
/// set ([`CLASSIC_DAYS_TAG`]). Nothing happens without a retained endpoint.
fn classic_retention(
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    steps: &mut Vec<Step>,
) {
    let Some(days) = desired.classic_retention_days else {
        return;
    };
    let Some(Some(classic)) = &observed.classic_endpoint else {
        return;
    };
    let recorded = observed.tags.get(CLASSIC_DAYS_TAG);
    if recorded.map(String::as_str) == Some(days.to_string().as_str()) {
        return;
    }
    steps.push(step(
        Request::ModifyInstanceNetExpireTime(ModifyInstanceNetExpireTime {
            instance_id: observed.id.clone(),
            connection_string: classic.connection_string.clone(),
            classic_expired_days: u64::from(days),
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        vec![change(
            "spec.network.classicRetentionDays",
            recorded.cloned(),
            Some(days.to_string()),
        )],
    ));
}

/// The kvsync tags that record what the plan's steps set: the classic endpoint's retention
/// after a `SwitchNetwork` or `ModifyInstanceNetExpireTime` that sets a declared one.
pub fn recorded_tags(desired: &DesiredInstance, steps: &[Step]) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let Some(days) = desired.classic_retention_days else {
        return tags;
    };
    let sets_retention = steps.iter().any(|step| {
        matches!(
            step.request,
            Request::SwitchNetwork(_) | Request::ModifyInstanceNetExpireTime(_)
        )
    });
    if sets_retention {
        tags.insert(CLASSIC_DAYS_TAG.to_owned(), days.to_string());
    }
    tags
}

/// The engine version the instance runs once the plan's version step is done: the desired
/// version when it is an upgrade, else the observed one (as reported when its form is unknown).
pub fn engine_after(
    desired: &DesiredInstance,
    observed: &ObservedInstance,
) -> Reported<EngineVersion> {
    match (&desired.engine_version, observed.engine_version.known()) {
        (Some(version), Some(current)) if current >= version => Reported::Known(*current),
        (Some(version), _) => Reported::Known(*version),
        (None, _) => observed.engine_version.clone(),
    }
}

/// The step that releases an owned instance no manifest describes, or why it may not.
pub fn delete(observed: &ObservedInstance) -> (Vec<Step>, Vec<Blocked>) {
    let refuse = |reason: &str| {
        (
            Vec::new(),
            vec![blocked("instance", Some(observed.id.clone()), None, reason)],
        )
    };
    if observed.release_protection != Some(false) {
        return refuse(
            "the instance has release protection (or it could not be read); kvsync never deletes a protected instance",
        );
    }
    if observed.charge_type == ChargeType::PrePaid {
        return refuse(
            "subscription (PrePaid) instances are released only at expiry; kvsync never deletes them",
        );
    }
    (
        vec![step(
            Request::DeleteInstance(DeleteInstance {
                instance_id: observed.id.clone(),
            }),
            WaitFor::Gone,
            DELETE_TIMEOUT_SECS,
            vec![change("instance", Some(observed.id.clone()), None)],
        )],
        Vec::new(),
    )
}
