//! Table tests of the planner: manifests as YAML, the cloud as data, every plan checked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::model::{Impact, Operation, Plan};
use super::{DiffOptions, Digests, check, diff, render};
use crate::manifest;
use crate::observed::{Observed, ObservedInstance};
use kvsync_wire::actions::{DeleteInstance, ModifyInstanceAttribute, Request};

const STACK: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: shop}
spec: {region: cn-hangzhou, prune: true}
";

fn instance_yaml(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: kvsync/v1
kind: Instance
metadata:
  name: {name}
  labels: {{team: orders}}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
{extra}"
    )
}

/// Plans `yaml` against `observed` and asserts the plan keeps every invariant.
fn plan_of(yaml: &str, observed: &Observed) -> Plan {
    let desired = manifest::parse(&[(PathBuf::from("test.yaml"), yaml.to_owned())], None)
        .unwrap_or_else(|d| panic!("{d}"));
    let plan = diff(&desired, observed, &Digests::new(), DiffOptions::default());
    let problems = check::check(&plan, observed);
    assert!(problems.is_empty(), "plan breaks invariants: {problems:?}");
    plan
}

fn cloud(instances: Vec<ObservedInstance>) -> Observed {
    let mut observed = Observed::default();
    observed.regions.insert("cn-hangzhou".into(), instances);
    observed
}

/// An instance that matches `instance_yaml(name, "")` exactly, owned by stack `shop`.
fn existing(name: &str, id: &str) -> ObservedInstance {
    ObservedInstance {
        id: id.into(),
        name: name.into(),
        region: "cn-hangzhou".into(),
        status: "Normal".into(),
        instance_class: "redis.master.small.default".into(),
        engine_version: "5.0".into(),
        zone_id: "cn-hangzhou-h".into(),
        charge_type: "PostPaid".into(),
        network_type: "CLASSIC".into(),
        vpc_id: String::new(),
        vswitch_id: String::new(),
        tags: BTreeMap::from([
            ("kvsync:managed".into(), "true".into()),
            ("kvsync:stack".into(), "shop".into()),
            ("team".into(), "orders".into()),
        ]),
        release_protection: Some(false),
        ..ObservedInstance::default()
    }
}

#[test]
fn a_missing_instance_is_created_with_a_token_and_ownership_tags() {
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", "  releaseProtection: true\n")
    );
    let plan = plan_of(&yaml, &cloud(vec![]));
    assert_eq!(plan.instances.len(), 1);
    let instance = &plan.instances[0];
    assert_eq!(instance.operation, Operation::Create);
    let actions: Vec<&str> = instance.steps.iter().map(|s| s.request.name()).collect();
    assert_eq!(actions, ["CreateInstance", "ModifyInstanceAttribute"]);
    let Request::CreateInstance(create) = &instance.steps[0].request else {
        panic!("not a create");
    };
    let tags: BTreeMap<&str, &str> = create
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(tags["kvsync:stack"], "shop");
    assert_eq!(tags["kvsync:managed"], "true");
    assert_eq!(tags["team"], "orders");
    assert_eq!(
        instance.steps[1]
            .request
            .params()
            .get("InstanceId")
            .map(|v| v.expose()),
        Some(kvsync_wire::actions::NEW_INSTANCE_ID)
    );
    assert!(instance.steps.iter().all(|s| s.impact == Impact::None));
}

#[test]
fn a_create_token_follows_the_identity_not_the_parameters() {
    let token_of = |yaml: &str| {
        let plan = plan_of(yaml, &cloud(vec![]));
        match &plan.instances[0].steps[0].request {
            Request::CreateInstance(create) => create.token.clone().unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    };
    let base = format!("{STACK}---\n{}", instance_yaml("orders", ""));
    assert_eq!(token_of(&base), token_of(&base));
    // Two writers with different parameters for the same name send the same token, so the
    // cloud creates once; the parameters are reconciled after the creation.
    let other_class = base.replace("redis.master.small.default", "redis.master.mid.default");
    assert_eq!(token_of(&base), token_of(&other_class));
    let other_name = format!("{STACK}---\n{}", instance_yaml("orders2", ""));
    assert_ne!(token_of(&base), token_of(&other_name));
    let other_stack = base.replace("name: shop", "name: shop2");
    assert_ne!(token_of(&base), token_of(&other_stack));
}

#[test]
fn an_instance_that_matches_needs_nothing() {
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", "  releaseProtection: false\n")
    );
    let plan = plan_of(&yaml, &cloud(vec![existing("orders", "r-1")]));
    assert!(plan.is_empty(), "{plan:#?}");
    assert_eq!(
        render::text(&plan, false),
        "No changes: the cloud matches the manifests of stack \"shop\".\n"
    );
}

#[test]
fn release_protection_is_changed_only_when_managed() {
    let managed = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", "  releaseProtection: true\n")
    );
    let plan = plan_of(&managed, &cloud(vec![existing("orders", "r-1")]));
    let steps = &plan.instances[0].steps;
    assert_eq!(steps.len(), 1);
    assert_eq!(
        steps[0].request,
        Request::ModifyInstanceAttribute(ModifyInstanceAttribute {
            instance_id: "r-1".into(),
            instance_name: None,
            instance_release_protection: Some(true),
            new_password: None
        })
    );
    assert_eq!(steps[0].changes[0].old.as_deref(), Some("false"));

    let unmanaged = format!("{STACK}---\n{}", instance_yaml("orders", ""));
    let mut protected = existing("orders", "r-1");
    protected.release_protection = Some(true);
    assert!(plan_of(&unmanaged, &cloud(vec![protected])).is_empty());
}

#[test]
fn differences_kvsync_does_not_reconcile_are_blocked_with_a_reason() {
    let yaml = format!("{STACK}---\n{}", instance_yaml("orders", ""));
    let mut drifted = existing("orders", "r-1");
    drifted.zone_id = "cn-hangzhou-b".into();
    let plan = plan_of(&yaml, &cloud(vec![drifted]));
    let instance = &plan.instances[0];
    assert!(instance.steps.is_empty());
    let fields: Vec<&str> = instance.blocked.iter().map(|b| b.field.as_str()).collect();
    assert_eq!(fields, ["spec.zoneId"]);
    assert!(
        instance.blocked[0]
            .reason
            .contains("never moves an instance between zones")
    );
    assert!(
        !plan.is_empty(),
        "drift that kvsync does not fix still counts as a difference"
    );
}

#[test]
fn two_instances_with_one_name_are_an_error_not_a_guess() {
    let yaml = format!("{STACK}---\n{}", instance_yaml("orders", ""));
    let plan = plan_of(
        &yaml,
        &cloud(vec![existing("orders", "r-1"), existing("orders", "r-2")]),
    );
    let instance = &plan.instances[0];
    assert!(instance.steps.is_empty());
    assert!(
        instance.blocked[0].reason.contains("r-1, r-2"),
        "{:?}",
        instance.blocked
    );
}

#[test]
fn a_pinned_instance_id_is_used_even_under_another_name() {
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml(
            "orders",
            "  instanceId: r-pinned\n  releaseProtection: true\n"
        )
    );
    let plan = plan_of(&yaml, &cloud(vec![existing("legacy-name", "r-pinned")]));
    assert_eq!(plan.instances[0].instance_id.as_deref(), Some("r-pinned"));
    assert_eq!(plan.instances[0].operation, Operation::Update);

    let steps = &plan.instances[0].steps;
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(
        steps[0].request,
        Request::ModifyInstanceAttribute(ModifyInstanceAttribute {
            instance_id: "r-pinned".into(),
            instance_name: Some("orders".into()),
            instance_release_protection: Some(true),
            new_password: None
        })
    );

    let missing = plan_of(&yaml, &cloud(vec![]));
    assert!(
        missing.instances[0].blocked[0]
            .reason
            .contains("does not exist")
    );
}

#[test]
fn renaming_a_pinned_instance_sets_its_name() {
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders-v2", "  instanceId: r-pinned\n")
    );
    let observed = cloud(vec![existing("orders", "r-pinned")]);
    let plan = plan_of(&yaml, &observed);
    let steps = &plan.instances[0].steps;
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0].impact, Impact::None);
    assert_eq!(
        steps[0].request,
        Request::ModifyInstanceAttribute(ModifyInstanceAttribute {
            instance_id: "r-pinned".into(),
            instance_name: Some("orders-v2".into()),
            instance_release_protection: None,
            new_password: None
        })
    );
    let text = render::text(&plan, false);
    assert!(
        text.contains(
            "    ~ ModifyInstanceAttribute  impact: none\n        metadata.name: orders → orders-v2\n"
        ),
        "{text}"
    );
    // A cloud name another instance shares, or one no manifest could carry, is kept: the
    // manifest's name only labels the instance (as `import` writes such instances).
    let mut other = existing("orders", "r-other");
    other.tags.clear();
    let shared = cloud(vec![existing("orders", "r-pinned"), other]);
    assert!(plan_of(&yaml, &shared).is_empty());
    let invalid = cloud(vec![existing("-orders", "r-pinned")]);
    assert!(plan_of(&yaml, &invalid).is_empty());
    // The same name: nothing to do.
    let same = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", "  instanceId: r-pinned\n")
    );
    assert!(plan_of(&same, &observed).is_empty());
}

#[test]
fn prune_deletes_owned_orphans_only() {
    let yaml = format!("{STACK}---\n{}", instance_yaml("orders", ""));
    let mut protected = existing("guarded", "r-3");
    protected.release_protection = Some(true);
    let mut prepaid = existing("yearly", "r-4");
    prepaid.charge_type = "PrePaid".into();
    let mut foreign = existing("theirs", "r-5");
    foreign.tags.insert("kvsync:stack".into(), "other".into());
    let mut unread = existing("unknown", "r-6");
    unread.release_protection = None;
    let observed = cloud(vec![
        existing("orders", "r-1"),
        existing("orphan", "r-2"),
        protected,
        prepaid,
        foreign,
        unread,
    ]);
    let plan = plan_of(&yaml, &observed);
    let by_name: BTreeMap<&str, &super::InstancePlan> = plan
        .instances
        .iter()
        .map(|i| (i.key.name.as_str(), i))
        .collect();
    assert_eq!(
        by_name.keys().copied().collect::<Vec<_>>(),
        ["guarded", "orphan", "unknown", "yearly"]
    );
    assert!(matches!(
        &by_name["orphan"].steps[0].request,
        Request::DeleteInstance(DeleteInstance { instance_id }) if instance_id == "r-2"
    ));
    assert_eq!(by_name["orphan"].steps[0].impact, Impact::Destructive);
    for kept in ["guarded", "unknown", "yearly"] {
        assert!(by_name[kept].steps.is_empty(), "{kept}");
        assert_eq!(by_name[kept].blocked.len(), 1, "{kept}");
    }
}

#[test]
fn prune_never_deletes_every_instance_of_a_stack() {
    let observed = cloud(vec![existing("a", "r-1"), existing("b", "r-2")]);
    let plan = plan_of(STACK, &observed);
    assert_eq!(plan.summary().steps, 0);
    assert_eq!(plan.summary().blocked, 2);
    assert!(
        plan.instances[0].blocked[0]
            .reason
            .contains("every instance of stack")
    );
}

#[test]
fn a_partial_observation_prunes_only_the_removed_instances() {
    // `plan --changed-since`: the observation holds the removed `gone`, an owned `source` it
    // looked up for another reason, and nothing else of the stack's 1,000 instances.
    let observed = cloud(vec![existing("gone", "r-1"), existing("source", "r-2")]);
    let prunable = std::collections::BTreeSet::from([crate::manifest::InstanceKey {
        region: "cn-hangzhou".into(),
        name: "gone".into(),
    }]);
    let desired = manifest::parse(&[(PathBuf::from("test.yaml"), STACK.to_owned())], None)
        .unwrap_or_else(|d| panic!("{d}"));
    let partial = |described| DiffOptions {
        partial: Some(super::Partial {
            prunable: &prunable,
            described,
        }),
        ..DiffOptions::default()
    };
    let plan = diff(&desired, &observed, &Digests::new(), partial(999));
    assert!(check::check(&plan, &observed).is_empty());
    let names: Vec<&str> = plan.instances.iter().map(|i| i.key.name.as_str()).collect();
    assert_eq!(names, ["gone"], "only the removed instance is pruned");
    assert!(matches!(
        &plan.instances[0].steps[0].request,
        Request::DeleteInstance(DeleteInstance { instance_id }) if instance_id == "r-1"
    ));
    // With no instance left in the manifests, pruning it would empty the stack: refused.
    let plan = diff(&desired, &observed, &Digests::new(), partial(0));
    assert_eq!(plan.summary().steps, 0);
    assert!(
        plan.instances[0].blocked[0]
            .reason
            .contains("every instance of stack")
    );
    // The same observation, taken as whole, would prune both.
    let whole = diff(&desired, &observed, &Digests::new(), DiffOptions::default());
    assert_eq!(whole.instances.len(), 2);
}

#[test]
fn without_prune_orphans_are_left_alone() {
    let yaml = format!(
        "{}---\n{}",
        STACK.replace("prune: true", "prune: false"),
        instance_yaml("orders", "")
    );
    let plan = plan_of(
        &yaml,
        &cloud(vec![existing("orders", "r-1"), existing("orphan", "r-2")]),
    );
    assert!(plan.is_empty());
}

#[test]
fn text_rendering_groups_by_instance_with_symbols_and_a_summary() {
    let yaml = format!(
        "{STACK}---\n{}---\n{}",
        instance_yaml("new-one", "  password: {env: NEW_ONE_PASSWORD}\n"),
        instance_yaml("orders", "  releaseProtection: true\n"),
    );
    let observed = cloud(vec![existing("orders", "r-1"), existing("orphan", "r-2")]);
    let plan = plan_of(&yaml, &observed);
    let expected = "Stack \"shop\"

+ cn-hangzhou/new-one (new instance)
    + CreateInstance  impact: none
        spec.instanceClass: redis.master.small.default
        spec.zoneId: cn-hangzhou-h
        spec.password: {env: NEW_ONE_PASSWORD}
        metadata.labels.team: orders
    ? spec.password: {env: NEW_ONE_PASSWORD}
        not compared: the secret is not readable here (apply reads it and sets the password if it changed)

~ cn-hangzhou/orders (r-1)
    ~ ModifyInstanceAttribute  impact: none
        spec.releaseProtection: false → true

- cn-hangzhou/orphan (r-2)
    - DeleteInstance  impact: destructive
        instance: r-2 → (removed)

Plan: 1 to create, 1 to change, 1 to delete; 3 steps, 0 blocked, 1 not compared.
";
    assert_eq!(render::text(&plan, false), expected);
    assert!(
        !render::text(&plan, true).eq(expected),
        "colour must change the output"
    );
}

#[test]
fn json_rendering_shows_secret_references_only() {
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", "  password: {env: ORDERS_PW}\n")
    );
    let plan = plan_of(&yaml, &cloud(vec![]));
    let json: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    assert_eq!(
        json["steps"][0]["parameters"]["Password"],
        "{env: ORDERS_PW}"
    );
    assert_eq!(json["format_version"], 4);
    assert_eq!(json["summary"]["create"], 1);
}

#[test]
fn the_checker_catches_unsafe_plans() {
    let yaml = format!("{STACK}---\n{}", instance_yaml("orders", ""));
    let observed = cloud(vec![existing("orders", "r-1"), existing("orphan", "r-2")]);
    let desired = manifest::parse(&[(PathBuf::from("t.yaml"), yaml)], None).unwrap();
    let plan = diff(&desired, &observed, &Digests::new(), DiffOptions::default());
    assert!(check::check(&plan, &observed).is_empty());

    // The same plan against a cloud where the orphan is protected, PrePaid and foreign.
    let mut guarded = existing("orphan", "r-2");
    guarded.release_protection = Some(true);
    guarded.charge_type = "PrePaid".into();
    guarded.tags.insert("kvsync:stack".into(), "other".into());
    let problems = check::check(&plan, &cloud(vec![existing("orders", "r-1"), guarded]));
    assert_eq!(problems.len(), 3, "{problems:?}");

    let mut tampered = plan.clone();
    if let Request::DeleteInstance(_) = tampered.instances[0].steps[0].request {
        tampered.instances[0].steps[0].impact = Impact::None;
    }
    assert!(
        check::check(&tampered, &observed)
            .iter()
            .any(|p| p.contains("destructive"))
    );
}

/// Plans `yaml` at `now` (RFC 3339) against `observed`.
fn plan_at(yaml: &str, observed: &Observed, now: &str) -> Plan {
    let desired = manifest::parse(&[(PathBuf::from("test.yaml"), yaml.to_owned())], None)
        .unwrap_or_else(|d| panic!("{d}"));
    let options = DiffOptions {
        now: now.parse().unwrap(),
        ..DiffOptions::default()
    };
    let plan = diff(&desired, observed, &Digests::new(), options);
    let problems = check::check(&plan, observed);
    assert!(problems.is_empty(), "plan breaks invariants: {problems:?}");
    plan
}

#[test]
fn the_disruption_policy_comes_from_the_instance_the_stack_or_a_declared_window() {
    use super::model::When;
    let mut cloud_instance = existing("orders", "r-1");
    cloud_instance.maintenance_window = Some("02:00Z-03:00Z".into());
    let observed = cloud(vec![cloud_instance]);
    let resize = "  instanceClass: redis.master.mid.default\n";
    let window = "  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}\n";
    let when = |stack_extra: &str, extra: &str| {
        let stack = STACK.replace("prune: true", &format!("prune: true{stack_extra}"));
        let yaml = format!(
            "{stack}---\n{}",
            instance_yaml("orders", extra)
                .replace("  instanceClass: redis.master.small.default\n", "")
        );
        let plan = plan_at(&yaml, &observed, "2026-12-03T12:00:00Z");
        let steps = &plan.instances[0].steps;
        let resize = steps
            .iter()
            .find(|s| s.request.name() == "ModifyInstanceSpec")
            .expect("a resize");
        resize.when.clone()
    };
    // No window declared, no policy: today's behaviour.
    assert_eq!(when("", resize), When::Now);
    // A declared window makes `window` the default: the cloud schedules the resize.
    assert!(matches!(
        when("", &format!("{resize}{window}")),
        When::Cloud { .. }
    ));
    // The stack's policy applies to instances without one, using the observed window.
    assert!(matches!(
        when(", disruption: window", resize),
        When::Cloud { .. }
    ));
    assert_eq!(when(", disruption: never", resize), When::Held);
    // The instance's own policy wins.
    assert_eq!(
        when(
            ", disruption: never",
            &format!("{resize}{window}  disruption: immediate\n")
        ),
        When::Now
    );
}

#[test]
fn a_new_instance_runs_every_step_now_and_takes_no_backup() {
    let stack = STACK.replace(
        "prune: true",
        "prune: true, disruption: never, backupBeforeRisky: true",
    );
    let yaml = format!(
        "{stack}---\n{}",
        instance_yaml("orders", "  ssl: Enable\n  engineVersion: \"6.0\"\n")
    );
    let plan = plan_at(&yaml, &cloud(vec![]), "2026-12-03T12:00:00Z");
    let steps = &plan.instances[0].steps;
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(steps.iter().all(|s| s.when == super::model::When::Now));
    assert!(steps.iter().all(|s| s.request.name() != "CreateBackup"));
}

#[test]
fn a_bad_disruption_policy_is_named_with_its_place() {
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", "  disruption: sometimes\n")
    );
    let err = manifest::parse(&[(PathBuf::from("test.yaml"), yaml)], None).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("test.yaml:14:"), "{text}");
    assert!(text.contains("sometimes"), "{text}");
    for allowed in ["immediate", "window", "never"] {
        assert!(text.contains(allowed), "{text}");
    }
}

#[test]
fn text_json_and_markdown_say_when_each_step_runs() {
    let mut cloud_instance = existing("orders", "r-1");
    cloud_instance.maintenance_window = Some("02:00Z-03:00Z".into());
    cloud_instance.ssl = Some(false);
    let observed = cloud(vec![cloud_instance]);
    let extra = "  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}\n  ssl: Enable\n";
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", extra).replace(
            "instanceClass: redis.master.small.default",
            "instanceClass: redis.master.mid.default"
        )
    );
    let plan = plan_at(&yaml, &observed, "2026-12-03T12:00:00Z");

    let text = render::text(&plan, false);
    assert!(
        text.contains("ModifyInstanceSpec  impact: restart  when: scheduled by the cloud for the window at 2026-12-04 02:00 UTC"),
        "{text}"
    );
    assert!(
        text.contains("ModifyInstanceSSL  impact: restart  when: held until the window opens at 2026-12-04 02:00 UTC"),
        "{text}"
    );
    assert!(text.contains("1 held, 1 scheduled by the cloud."), "{text}");

    let markdown = render::markdown(&plan);
    assert!(markdown.contains("| when |"), "{markdown}");
    assert!(
        markdown.contains("| ModifyInstanceSpec | **restart** | scheduled by the cloud"),
        "{markdown}"
    );

    let json: serde_json::Value = serde_json::from_str(&render::json(&plan)).unwrap();
    let steps = json["instances"][0]["steps"].as_array().unwrap();
    let spec = &steps[0];
    assert_eq!(
        spec["request"]["parameters"]["EffectiveTime"],
        "MaintainTime"
    );
    assert_eq!(spec["when"]["at"], "cloud");
    assert_eq!(spec["when"]["opens"]["utc"], "2026-12-04T02:00:00Z");
    assert_eq!(spec["when"]["opens"]["window"], "02:00Z-03:00Z");
    assert_eq!(spec["restart"], true);
    let ssl = steps
        .iter()
        .find(|s| s["request"]["action"] == "ModifyInstanceSSL")
        .unwrap();
    assert_eq!(ssl["when"]["at"], "window");
    assert_eq!(ssl["when"]["behind"], "ModifyInstanceSpec");
    assert_eq!(json["summary"]["held"], 1);
    assert_eq!(json["summary"]["scheduled"], 1);
    // A saved plan reads back with its timing.
    let back: super::model::Plan = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.instances[0].steps, plan.instances[0].steps);
}

#[test]
fn a_plan_with_a_backup_and_scheduled_steps_keeps_every_invariant() {
    let mut cloud_instance = existing("orders", "r-1");
    cloud_instance.maintenance_window = Some("02:00Z-03:00Z".into());
    cloud_instance.ssl = Some(false);
    let observed = cloud(vec![cloud_instance]);
    let stack = STACK.replace("prune: true", "prune: true, backupBeforeRisky: true");
    let extra = "  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}\n  ssl: Enable\n  releaseProtection: true\n";
    let yaml = format!(
        "{stack}---\n{}",
        instance_yaml("orders", extra).replace(
            "instanceClass: redis.master.small.default",
            "instanceClass: redis.master.mid.default"
        )
    );
    // plan_at runs the invariant checker on each plan.
    for now in ["2026-12-03T02:30:00Z", "2026-12-03T12:00:00Z"] {
        let plan = plan_at(&yaml, &observed, now);
        let actions: Vec<&str> = plan.instances[0]
            .steps
            .iter()
            .map(|s| s.request.name())
            .collect();
        assert_eq!(actions[0], "CreateBackup", "{now}: {actions:?}");
        assert_eq!(actions[1], "ModifyInstanceSpec", "{now}: {actions:?}");
    }
    // The checker catches a backup out of place and a MaintainTime the plan does not say.
    let mut plan = plan_at(&yaml, &observed, "2026-12-03T12:00:00Z");
    plan.instances[0].steps.swap(0, 1);
    assert!(
        check::check(&plan, &observed)
            .iter()
            .any(|p| p.contains("CreateBackup must come right before")),
        "{:?}",
        check::check(&plan, &observed)
    );
    let mut plan = plan_at(&yaml, &observed, "2026-12-03T12:00:00Z");
    plan.instances[0].steps[1].when = super::model::When::Now;
    assert!(
        check::check(&plan, &observed)
            .iter()
            .any(|p| p.contains("MaintainTime")),
    );
}

#[test]
fn a_change_pending_in_the_cloud_is_no_change_but_is_shown() {
    let mut cloud_instance = existing("orders", "r-1");
    cloud_instance.maintenance_window = Some("02:00Z-03:00Z".into());
    cloud_instance.change_order_pending = true;
    let observed = cloud(vec![cloud_instance]);
    let extra = "  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}\n";
    let yaml = format!(
        "{STACK}---\n{}",
        instance_yaml("orders", extra).replace(
            "instanceClass: redis.master.small.default",
            "instanceClass: redis.master.mid.default"
        )
    );
    let plan = plan_at(&yaml, &observed, "2026-12-03T12:00:00Z");
    assert!(plan.is_empty(), "{plan:?}");
    assert_eq!(plan.summary().scheduled, 1);
    let markdown = render::markdown(&plan);
    assert!(markdown.contains("No changes"), "{markdown}");
    assert!(markdown.contains("`spec.instanceClass`"), "{markdown}");
    assert!(markdown.contains("HasRenewChangeOrder"), "{markdown}");
    let text = render::text(&plan, false);
    assert!(text.contains("~ spec.instanceClass"), "{text}");
}
