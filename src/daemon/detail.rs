//! What the console shows of one instance beyond its outcome, derived from a cycle's plan,
//! manifests and observation: the differences with their values, the pending steps, the
//! cloud's view, and every managed aspect. Pure functions; no secret value can reach them
//! (plans and manifests hold references to secrets, never values).

use serde_json::Value;

use super::status::{Aspect, CloudView, DriftValue, PendingStep};
use crate::manifest::DesiredInstance;
use crate::plan::model::{BlockedKind, InstancePlan};
use crate::plan::observed::ObservedInstance;

/// The plan's differences for one instance, field by field: what its steps change and what it
/// reports but will not change.
pub fn drift_values(plan: &InstancePlan) -> Vec<DriftValue> {
    let mut values: Vec<DriftValue> = Vec::new();
    for change in plan.steps.iter().flat_map(|step| &step.changes) {
        if values.iter().any(|value| value.field == change.field) {
            continue;
        }
        values.push(DriftValue {
            field: change.field.clone(),
            observed: change.old.clone(),
            desired: change.new.clone(),
            blocked: None,
        });
    }
    for blocked in plan
        .blocked
        .iter()
        .filter(|blocked| blocked.kind == BlockedKind::Drift)
    {
        values.push(DriftValue {
            field: blocked.field.clone(),
            observed: blocked.old.clone(),
            desired: blocked.new.clone(),
            blocked: Some(blocked.reason.clone()),
        });
    }
    values
}

/// The plan's steps for one instance, with their impact and when each runs; with
/// `later_only`, only those that do not run now (the others were just applied).
pub fn pending(plan: &InstancePlan, later_only: bool) -> Vec<PendingStep> {
    plan.steps
        .iter()
        .filter(|step| !later_only || !step.when.runs_now())
        .map(|step| PendingStep {
            action: step.request.name().to_owned(),
            fields: step.changes.iter().map(|c| c.field.clone()).collect(),
            impact: step.impact.as_str().to_owned(),
            when: step.when.describe(),
        })
        .collect()
}

/// The cloud's view of an observed instance.
pub fn cloud_view(observed: &ObservedInstance) -> CloudView {
    CloudView {
        status: observed.status.as_str().to_owned(),
        class: observed.instance_class.clone(),
        zone: observed.zone_id.clone(),
        engine_version: observed.engine_version.to_string(),
    }
}

/// Every aspect the manifest manages for `desired`, as `spec.…` fields with the desired value,
/// each in sync unless one of `drift`'s fields is it, inside it or contains it.
pub fn aspects(desired: &DesiredInstance, drift: &[DriftValue]) -> Vec<Aspect> {
    let mut flat = Vec::new();
    if let Ok(Value::Object(fields)) = serde_json::to_value(desired) {
        for (name, value) in fields {
            if matches!(name.as_str(), "key" | "source") {
                continue;
            }
            flatten(&format!("spec.{}", camel(&name)), &value, &name, &mut flat);
        }
    }
    flat.into_iter()
        .map(|(field, desired)| {
            let differs = drift.iter().any(|value| related(&value.field, &field));
            Aspect {
                field,
                desired,
                in_sync: !differs,
            }
        })
        .collect()
}

/// Whether two dotted fields are the same, or one holds the other.
fn related(a: &str, b: &str) -> bool {
    a == b
        || a.strip_prefix(b).is_some_and(|rest| rest.starts_with('.'))
        || b.strip_prefix(a).is_some_and(|rest| rest.starts_with('.'))
}

/// Fields whose keys are names the manifest chose (groups, parameters, accounts, labels), not
/// field names: they are kept as written.
const MAPS: [&str; 4] = ["whitelists", "config", "accounts", "labels"];

fn flatten(path: &str, value: &Value, top: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Object(fields) if fields.is_empty() => {}
        Value::Object(fields) => {
            let verbatim = MAPS.contains(&top) && !path[5..].contains('.');
            for (name, inner) in fields {
                let segment = if verbatim { name.clone() } else { camel(name) };
                flatten(&format!("{path}.{segment}"), inner, top, out);
            }
        }
        Value::Array(items) if items.iter().all(|item| !item.is_object()) => {
            let texts: Vec<String> = items.iter().map(scalar).collect();
            out.push((path.to_owned(), texts.join(", ")));
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten(&format!("{path}.{index}"), item, top, out);
            }
        }
        other => out.push((path.to_owned(), scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `snake_case` as `camelCase`, the manifests' spelling.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::actions::{ModifyInstanceConfig, Request};
    use crate::manifest::InstanceKey;
    use crate::plan::model::{Blocked, Change, Impact, Step, Wait, WaitFor, When};

    fn plan_with(changes: Vec<Change>, blocked: Vec<Blocked>) -> InstancePlan {
        let mut plan = InstancePlan {
            key: InstanceKey {
                region: "cn-hangzhou".into(),
                name: "cache".into(),
            },
            instance_id: Some("r-1".into()),
            operation: crate::plan::Operation::Update,
            candidates: Vec::new(),
            steps: Vec::new(),
            blocked: Vec::new(),
        };
        plan.steps.push(Step {
            request: Request::ModifyInstanceConfig(ModifyInstanceConfig::default()),
            changes,
            impact: Impact::Restart,
            wait: Wait {
                until: WaitFor::Nothing,
                timeout_secs: 1,
            },
            restart: true,
            when: When::Now,
        });
        plan.blocked = blocked;
        plan
    }

    #[test]
    fn drift_values_carry_the_old_and_new_value_once_per_field() {
        let change = Change {
            field: "spec.config.maxmemory-policy".into(),
            old: Some("volatile-lru".into()),
            new: Some("allkeys-lru".into()),
        };
        let blocked = Blocked {
            field: "spec.zoneId".into(),
            old: Some("cn-hangzhou-h".into()),
            new: Some("cn-hangzhou-i".into()),
            reason: "the zone cannot be changed in place".into(),
            kind: BlockedKind::Drift,
        };
        let plan = plan_with(vec![change.clone(), change], vec![blocked]);
        let values = drift_values(&plan);
        assert_eq!(values.len(), 2);
        assert_eq!(values[0].observed.as_deref(), Some("volatile-lru"));
        assert_eq!(values[0].desired.as_deref(), Some("allkeys-lru"));
        assert!(values[0].blocked.is_none());
        assert_eq!(values[1].field, "spec.zoneId");
        assert!(values[1].blocked.as_deref().unwrap().contains("zone"));
        let steps = pending(&plan, false);
        assert!(pending(&plan, true).is_empty(), "the step runs now");
        assert_eq!(steps[0].action, "ModifyInstanceConfig");
        assert_eq!(steps[0].impact, "restart");
        assert_eq!(steps[0].fields, ["spec.config.maxmemory-policy"; 2]);
    }

    #[test]
    fn aspects_name_manifest_fields_and_mark_what_differs() {
        let mut desired = DesiredInstance::bare("cache");
        desired.instance_class = Some("redis.master.small.default".into());
        desired.release_protection = Some(false);
        desired.config = Some(
            [("maxmemory-policy".to_owned(), "allkeys-lru".to_owned())]
                .into_iter()
                .collect(),
        );
        desired.whitelists = Some(
            [(
                "app_rw".to_owned(),
                ["10.0.1.0/24".parse().unwrap()].into_iter().collect(),
            )]
            .into_iter()
            .collect(),
        );
        let drift = [DriftValue {
            field: "spec.config.maxmemory-policy".into(),
            observed: Some("volatile-lru".into()),
            desired: Some("allkeys-lru".into()),
            blocked: None,
        }];
        let aspects = aspects(&desired, &drift);
        let find = |field: &str| {
            aspects
                .iter()
                .find(|a| a.field == field)
                .unwrap_or_else(|| panic!("{field} in {aspects:#?}"))
        };
        assert_eq!(
            find("spec.instanceClass").desired,
            "redis.master.small.default"
        );
        assert!(find("spec.instanceClass").in_sync);
        assert!(!find("spec.config.maxmemory-policy").in_sync);
        assert_eq!(find("spec.whitelists.app_rw").desired, "10.0.1.0/24");
        assert!(find("spec.releaseProtection").in_sync);
        assert!(aspects.iter().all(|a| !a.field.starts_with("spec.key")));
    }

    #[test]
    fn related_fields_are_equal_or_nested() {
        assert!(related("spec.config", "spec.config.x"));
        assert!(related("spec.config.x", "spec.config"));
        assert!(!related("spec.configs", "spec.config"));
    }
}
