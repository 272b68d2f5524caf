//! Diff rules for instance attributes: the name of a pinned instance, release protection and
//! the default account's password (one `ModifyInstanceAttribute`), the maintenance window, TLS
//! and VPC password-free access.

use super::Context;
use super::instance::{MODIFY_TIMEOUT_SECS, blocked, change, step};
use super::model::{Blocked, Change, Step, WaitFor};
use super::passwords::{DigestUpdates, PasswordCheck, check_password, password_unknown};
use crate::manifest::DesiredInstance;
use crate::manifest::rules::instance_name_problem;
use crate::manifest::validate::ENGINE_4_0;
use crate::observed::ObservedInstance;
use crate::values::{EngineVersion, NetworkType, Reported};
use kvsync_secrets::digest::INSTANCE_ENTRY;
use kvsync_wire::actions::{
    ModifyInstanceAttribute, ModifyInstanceMaintainTime, ModifyInstanceSsl,
    ModifyInstanceVpcAuthMode, Request,
};

/// The name (of an instance pinned by `spec.instanceId` that the cloud knows under another),
/// release protection and the instance password.
pub fn attribute(
    ctx: &Context<'_>,
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    steps: &mut Vec<Step>,
    notes: &mut Vec<Blocked>,
    digests: &mut DigestUpdates,
) {
    let mut changes: Vec<Change> = Vec::new();
    // An unpinned instance is found by its name, so only a pinned one can be named otherwise.
    // A cloud name no manifest could carry — one the manifest rules refuse, or one another
    // instance of the region shares — is kept: the manifest's name is then only kvsync's label
    // for the instance (as `import` writes it), not a request to rename it.
    let keeps_cloud_name = instance_name_problem(&observed.name).is_some()
        || ctx
            .observed
            .named(&desired.key.region, &observed.name)
            .count()
            > 1;
    let instance_name = match &desired.instance_id {
        Some(_) if observed.name != desired.key.name && !keeps_cloud_name => {
            changes.push(change(
                "metadata.name",
                Some(observed.name.clone()),
                Some(desired.key.name.clone()),
            ));
            Some(desired.key.name.clone())
        }
        _ => None,
    };
    let release_protection = match desired.release_protection {
        Some(wanted) if observed.release_protection != Some(wanted) => {
            changes.push(change(
                "spec.releaseProtection",
                observed.release_protection.map(|o| o.to_string()),
                Some(wanted.to_string()),
            ));
            Some(wanted)
        }
        _ => None,
    };
    let new_password = match &desired.password {
        Some(reference) => match check_password(ctx, desired, observed, None) {
            PasswordCheck::Changed(digest) => {
                digests.insert(INSTANCE_ENTRY.to_owned(), Some(digest));
                changes.push(change(
                    "spec.password",
                    Some("(recorded digest differs)".into()),
                    Some(reference.to_string()),
                ));
                Some(reference.clone())
            }
            PasswordCheck::Unchanged => None,
            PasswordCheck::Unknown => {
                notes.push(password_unknown("spec.password", &reference.to_string()));
                None
            }
        },
        None => None,
    };
    if instance_name.is_some() || release_protection.is_some() || new_password.is_some() {
        steps.push(step(
            Request::ModifyInstanceAttribute(ModifyInstanceAttribute {
                instance_id: observed.id.clone(),
                instance_name,
                instance_release_protection: release_protection,
                new_password,
            }),
            WaitFor::Normal,
            MODIFY_TIMEOUT_SECS,
            changes,
        ));
    }
}

/// The maintenance window.
pub fn maintenance(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(window) = &desired.maintenance_window else {
        return;
    };
    let wanted = window.window();
    if observed
        .maintenance_window
        .as_ref()
        .and_then(Reported::known)
        == Some(&wanted)
    {
        return;
    }
    steps.push(step(
        Request::ModifyInstanceMaintainTime(ModifyInstanceMaintainTime {
            instance_id: observed.id.clone(),
            maintain_start_time: window.start.to_string(),
            maintain_end_time: window.end.to_string(),
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        vec![change(
            "spec.maintenanceWindow",
            observed
                .maintenance_window
                .as_ref()
                .map(ToString::to_string),
            Some(wanted.to_string()),
        )],
    ));
}

/// TLS; only Redis 4.0 and later have it (an unknown engine is assumed to).
pub fn ssl(
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    engine_after: &Reported<EngineVersion>,
    steps: &mut Vec<Step>,
    notes: &mut Vec<Blocked>,
) {
    let Some(wanted) = desired.ssl else {
        return;
    };
    if observed.ssl == Some(wanted) {
        return;
    }
    let text = |on: bool| if on { "Enable" } else { "Disable" }.to_owned();
    if wanted
        && engine_after
            .known()
            .is_some_and(|engine| *engine < ENGINE_4_0)
    {
        notes.push(blocked(
            "spec.ssl",
            observed.ssl.map(text),
            Some(text(wanted)),
            &format!("TLS needs Redis 4.0 or later; the engine is {engine_after}"),
        ));
        return;
    }
    steps.push(step(
        Request::ModifyInstanceSsl(ModifyInstanceSsl {
            instance_id: observed.id.clone(),
            ssl_enabled: text(wanted),
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        vec![change(
            "spec.ssl",
            observed.ssl.map(text),
            Some(text(wanted)),
        )],
    ));
}

/// VPC password-free access; only VPC instances have it.
pub fn vpc_auth(
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    network_type_after: &NetworkType,
    steps: &mut Vec<Step>,
    notes: &mut Vec<Blocked>,
) {
    let Some(mode) = desired.vpc_auth_mode else {
        return;
    };
    if observed.vpc_auth_mode.as_deref() == Some(mode.as_str()) {
        return;
    }
    if *network_type_after != NetworkType::Vpc {
        notes.push(blocked(
            "spec.vpcAuthMode",
            observed.vpc_auth_mode.clone(),
            Some(mode.as_str().into()),
            "password-free access exists only for instances in a VPC",
        ));
        return;
    }
    steps.push(step(
        Request::ModifyInstanceVpcAuthMode(ModifyInstanceVpcAuthMode {
            instance_id: observed.id.clone(),
            vpc_auth_mode: mode.as_str().into(),
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        vec![change(
            "spec.vpcAuthMode",
            observed.vpc_auth_mode.clone(),
            Some(mode.as_str().into()),
        )],
    ));
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::manifest;
    use crate::observed::{Observed, ObservedInstance};
    use crate::{DiffOptions, Digests, Plan, diff};

    /// Plans an instance asking for TLS against a classic 2.8 instance without it.
    fn plan_tls(engine: Option<&str>) -> Plan {
        let engine = engine.map_or(String::new(), |v| format!("  engineVersion: \"{v}\"\n"));
        let yaml = format!(
            "apiVersion: kvsync/v1
kind: Instance
metadata: {{name: cache, region: cn-hangzhou}}
spec:
  instanceClass: redis.master.small.default
  ssl: Enable
{engine}"
        );
        let desired = manifest::parse(&[(PathBuf::from("test.yaml"), yaml)], None)
            .unwrap_or_else(|d| panic!("{d}"));
        let mut observed = Observed::default();
        observed.regions.insert(
            "cn-hangzhou".into(),
            vec![ObservedInstance {
                id: "r-1".into(),
                name: "cache".into(),
                region: "cn-hangzhou".into(),
                status: "Normal".into(),
                instance_class: "redis.master.small.default".into(),
                engine_version: "2.8".into(),
                charge_type: "PostPaid".into(),
                network_type: "CLASSIC".into(),
                ssl: Some(false),
                ..ObservedInstance::default()
            }],
        );
        diff(&desired, &observed, &Digests::new(), DiffOptions::default())
    }

    fn actions(plan: &Plan) -> Vec<&'static str> {
        plan.instances[0]
            .steps
            .iter()
            .map(|s| s.request.name())
            .collect()
    }

    #[test]
    fn tls_on_an_engine_without_it_is_blocked() {
        let plan = plan_tls(None);
        assert!(actions(&plan).is_empty(), "{plan:?}");
        assert_eq!(plan.instances[0].blocked[0].field, "spec.ssl");
        assert!(plan.instances[0].blocked[0].reason.contains("4.0"));
    }

    #[test]
    fn tls_follows_an_upgrade_that_brings_it() {
        let plan = plan_tls(Some("5.0"));
        assert_eq!(
            actions(&plan),
            ["ModifyInstanceMajorVersion", "ModifyInstanceSSL"]
        );
        assert!(plan.instances[0].blocked.is_empty(), "{plan:?}");
    }
}
