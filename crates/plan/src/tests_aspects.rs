//! Table tests of the planner for every aspect: one change at a time, no-ops after
//! normalisation, removals, blocked differences, ordering and gating. Every plan goes through
//! the invariant checker.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::model::{BlockedKind, Impact, Plan};
use super::{DiffOptions, Digests, check, diff};
use crate::manifest::desired::{Privilege, Weekday};
use crate::manifest::{self, InstanceKey};
use crate::observed::{Observed, ObservedInstance};
use crate::observed::{ObservedAccount, ObservedBackupPolicy};
use kvsync_secrets::digest as passwords;
use kvsync_wire::actions::Request;

const HEAD: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: shop}
spec: {region: cn-hangzhou}
---
apiVersion: kvsync/v1
kind: Instance
metadata:
  name: orders
spec:
  instanceClass: redis.master.small.default
  engineVersion: \"5.0\"
  zoneId: cn-hangzhou-h
";

fn key() -> InstanceKey {
    InstanceKey {
        region: "cn-hangzhou".into(),
        name: "orders".into(),
    }
}

/// Digests as the edge computes them: the secret named `…_PASSWORD_<n>` gets digest `d<n>`.
fn digests_for(yaml: &str) -> Digests {
    let desired = manifest::parse(&[(PathBuf::from("t.yaml"), yaml.to_owned())], None).unwrap();
    let mut digests = Digests::new();
    for instance in &desired.instances {
        let mut refs: Vec<(Option<String>, String)> = Vec::new();
        if let Some(r) = &instance.password {
            refs.push((None, r.to_string()));
        }
        for account in instance.accounts.iter().flat_map(|a| a.values()) {
            if let Some(r) = &account.password {
                refs.push((Some(account.name.clone()), r.to_string()));
            }
        }
        for (account, reference) in refs {
            let digest = reference
                .rsplit('_')
                .next()
                .map(|n| format!("d{}", n.trim_end_matches('}')))
                .filter(|_| !reference.contains("UNREADABLE"));
            digests.insert(
                (
                    instance.key.clone(),
                    passwords::entry_name(account.as_deref()).to_owned(),
                ),
                digest,
            );
        }
    }
    digests
}

/// Plans `HEAD` + `spec` against one observed instance; checks the invariants.
fn plan(spec: &str, observed: &ObservedInstance) -> Plan {
    plan_full(&format!("{HEAD}{spec}"), observed)
}

/// Plans a whole manifest text against one observed instance; checks the invariants.
fn plan_full(yaml: &str, observed: &ObservedInstance) -> Plan {
    let yaml = yaml.to_owned();
    let desired = manifest::parse(&[(PathBuf::from("t.yaml"), yaml.clone())], None)
        .unwrap_or_else(|d| panic!("{d}"));
    let mut cloud = Observed::default();
    cloud
        .regions
        .insert("cn-hangzhou".into(), vec![observed.clone()]);
    let plan = diff(
        &desired,
        &cloud,
        &digests_for(&yaml),
        DiffOptions::default(),
    );
    let problems = check::check(&plan, &cloud);
    assert!(problems.is_empty(), "{problems:?}");
    plan
}

/// The instance exactly as `HEAD` with every aspect in a known state.
fn current() -> ObservedInstance {
    ObservedInstance {
        id: "r-1".into(),
        name: "orders".into(),
        region: "cn-hangzhou".into(),
        status: "Normal".into(),
        instance_class: "redis.master.small.default".into(),
        engine_version: "5.0".into(),
        zone_id: "cn-hangzhou-h".into(),
        charge_type: "PostPaid".into(),
        network_type: "VPC".into(),
        vpc_id: "vpc-a".into(),
        vswitch_id: "vsw-a".into(),
        tags: BTreeMap::from([
            ("kvsync:managed".into(), "true".into()),
            ("kvsync:stack".into(), "shop".into()),
            ("team".into(), "orders".into()),
            ("kvsync:pw".into(), "*=d1;app=d2".into()),
        ]),
        release_protection: Some(false),
        maintenance_window: Some("02:00Z-03:00Z".into()),
        change_order_pending: false,
        architecture: None,
        classic_endpoint: None,
        endpoint: None,
        vpc_auth_mode: Some("Open".into()),
        config: Some(BTreeMap::from([
            ("maxmemory-policy".into(), "volatile-lru".into()),
            ("hash-max-ziplist-entries".into(), "512".into()),
        ])),
        ssl: Some(false),
        whitelists: Some(BTreeMap::from([
            (
                "default".into(),
                BTreeSet::from([crate::values::Reported::from_cloud("127.0.0.1")]),
            ),
            (
                "app".into(),
                BTreeSet::from([
                    crate::values::Reported::from_cloud("10.0.1.0/24"),
                    crate::values::Reported::from_cloud("10.0.2.15"),
                ]),
            ),
            (
                "ali_dms_group".into(),
                BTreeSet::from([crate::values::Reported::from_cloud("100.104.5.0/24")]),
            ),
        ])),
        accounts: Some(BTreeMap::from([
            (
                "r-1".into(),
                account("Super", Some(Privilege::RoleReadWrite), ""),
            ),
            (
                "app".into(),
                account("Normal", Some(Privilege::RoleReadWrite), "orders"),
            ),
        ])),
        backup_policy: Some(ObservedBackupPolicy {
            time: "02:00Z-03:00Z".into(),
            period: BTreeSet::from([Weekday::Monday, Weekday::Friday]),
            retention_days: Some(7),
            backup_log: false,
        }),
    }
}

fn account(kind: &str, privilege: Option<Privilege>, description: &str) -> ObservedAccount {
    ObservedAccount {
        account_type: kind.into(),
        status: "Available".into(),
        privilege,
        privilege_text: privilege.map_or("", |p| p.as_str()).into(),
        description: description.into(),
    }
}

/// `spec` lines that describe `current()` exactly.
const MATCHING: &str = "  network: {type: VPC, vpcId: vpc-a, vSwitchId: vsw-a}
  password: {env: ORDERS_PASSWORD_1}
  releaseProtection: false
  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}
  ssl: Disable
  vpcAuthMode: Open
  whitelists:
    default: [127.0.0.1]
    app: [10.0.2.15/32, 10.0.1.0/24, 10.0.1.0/24]
  accounts:
    - {name: app, privilege: RoleReadWrite, password: {env: APP_PASSWORD_2}, description: orders}
  backupPolicy: {time: \"02:00Z-03:00Z\", period: [Friday, Monday]}
  config:
    hash-max-ziplist-entries: 512
";

fn steps(plan: &Plan) -> Vec<(&'static str, Impact)> {
    plan.instances
        .iter()
        .flat_map(|i| i.steps.iter().map(|s| (s.request.name(), s.impact)))
        .collect()
}

#[test]
fn a_matching_instance_plans_empty_after_normalisation() {
    let plan = plan(MATCHING, &current());
    assert!(plan.is_empty(), "{plan:#?}");
}

#[test]
fn omitted_aspects_are_never_compared() {
    let mut drifted = current();
    drifted.release_protection = Some(true);
    drifted.ssl = Some(true);
    drifted.whitelists = None;
    drifted.accounts = None;
    drifted.tags.insert("extra".into(), "tag".into());
    assert!(plan("", &drifted).is_empty());
}

/// One row: a change to `MATCHING`'s manifest or to `current()`, and the single step it needs.
struct Row {
    name: &'static str,
    spec: String,
    observed: ObservedInstance,
    expect: Vec<(&'static str, Impact)>,
}

fn row(name: &'static str, from: &str, to: &str, expect: Vec<(&'static str, Impact)>) -> Row {
    let full = format!("{HEAD}{MATCHING}");
    assert!(full.contains(from), "{name}: {from:?} not in the manifest");
    Row {
        name,
        spec: full.replacen(from, to, 1),
        observed: current(),
        expect,
    }
}

#[test]
fn each_single_field_change_is_one_step() {
    use Impact::*;
    let rows = vec![
        row(
            "release protection",
            "releaseProtection: false",
            "releaseProtection: true",
            vec![("ModifyInstanceAttribute", None)],
        ),
        row(
            "instance password",
            "ORDERS_PASSWORD_1",
            "ORDERS_PASSWORD_9",
            vec![("ModifyInstanceAttribute", None), ("TagResources", None)],
        ),
        row(
            "maintenance window",
            "start: \"02:00Z\", end: \"03:00Z\"",
            "start: \"04:00Z\", end: \"05:00Z\"",
            vec![("ModifyInstanceMaintainTime", None)],
        ),
        row(
            "tls",
            "ssl: Disable",
            "ssl: Enable",
            vec![("ModifyInstanceSSL", Restart)],
        ),
        row(
            "vpc auth",
            "vpcAuthMode: Open",
            "vpcAuthMode: Close",
            vec![("ModifyInstanceVpcAuthMode", None)],
        ),
        row(
            "whitelist entry",
            "app: [10.0.2.15/32,",
            "app: [10.0.2.16,",
            vec![("ModifySecurityIps", None)],
        ),
        row(
            "new whitelist group",
            "    default: [127.0.0.1]\n",
            "    default: [127.0.0.1]\n    ops: [192.168.0.0/16]\n",
            vec![("ModifySecurityIps", None)],
        ),
        row(
            "config value",
            "hash-max-ziplist-entries: 512",
            "hash-max-ziplist-entries: 1024",
            vec![("ModifyInstanceConfig", None)],
        ),
        row(
            "new config key",
            "hash-max-ziplist-entries: 512",
            "hash-max-ziplist-entries: 512\n    maxmemory-policy: allkeys-lru",
            vec![("ModifyInstanceConfig", None)],
        ),
        row(
            "backup window",
            "time: \"02:00Z-03:00Z\"",
            "time: \"05:00Z-06:00Z\"",
            vec![("ModifyBackupPolicy", None)],
        ),
        row(
            "backup days",
            "period: [Friday, Monday]",
            "period: [Sunday]",
            vec![("ModifyBackupPolicy", None)],
        ),
        row(
            "account privilege",
            "privilege: RoleReadWrite",
            "privilege: RoleReadOnly",
            vec![("GrantAccountPrivilege", None)],
        ),
        row(
            "account description",
            "description: orders}",
            "description: orders-v2}",
            vec![("ModifyAccountDescription", None)],
        ),
        row(
            "account password",
            "APP_PASSWORD_2",
            "APP_PASSWORD_7",
            vec![("ResetAccountPassword", None), ("TagResources", None)],
        ),
        row(
            "new account",
            "description: orders}\n",
            "description: orders}\n    - {name: ro, privilege: RoleReadOnly, password: {env: RO_PASSWORD_3}}\n",
            vec![("CreateAccount", None), ("TagResources", None)],
        ),
        row(
            "removed account",
            "    - {name: app, privilege: RoleReadWrite, password: {env: APP_PASSWORD_2}, description: orders}\n",
            "    []\n",
            vec![("DeleteAccount", Destructive), ("TagResources", None)],
        ),
        row(
            "instance class",
            "instanceClass: redis.master.small.default",
            "instanceClass: redis.master.mid.default",
            vec![("ModifyInstanceSpec", Restart)],
        ),
        row(
            "engine upgrade",
            "engineVersion: \"5.0\"",
            "engineVersion: \"6.0\"",
            vec![("ModifyInstanceMajorVersion", Irreversible)],
        ),
        row(
            "to subscription",
            "  releaseProtection: false\n",
            "  releaseProtection: false\n  chargeType: PrePaid\n  period: 12\n",
            vec![("TransformToPrePaid", Irreversible)],
        ),
    ];
    for row in rows {
        let plan = plan_full(&row.spec, &row.observed);
        assert_eq!(steps(&plan), row.expect, "{}", row.name);
    }
}

#[test]
fn observed_drift_is_one_step_too() {
    type Drift = Box<dyn Fn(&mut ObservedInstance)>;
    let cases: Vec<(&str, Drift, &str)> = vec![
        (
            "protection",
            Box::new(|o| o.release_protection = Some(true)),
            "ModifyInstanceAttribute",
        ),
        (
            "config",
            Box::new(|o| {
                o.config
                    .as_mut()
                    .unwrap()
                    .insert("hash-max-ziplist-entries".into(), "64".into());
            }),
            "ModifyInstanceConfig",
        ),
        (
            "whitelist",
            Box::new(|o| {
                o.whitelists.as_mut().unwrap().insert(
                    "app".into(),
                    BTreeSet::from([crate::values::Reported::from_cloud("0.0.0.0/0")]),
                );
            }),
            "ModifySecurityIps",
        ),
        (
            "label",
            Box::new(|o| {
                o.tags.insert("team".into(), "payments".into());
            }),
            "TagResources",
        ),
        (
            "stray account",
            Box::new(|o| {
                o.accounts.as_mut().unwrap().insert(
                    "intruder".into(),
                    account("Normal", Some(Privilege::RoleReadWrite), ""),
                );
            }),
            "DeleteAccount",
        ),
        (
            "lost digest",
            Box::new(|o| {
                o.tags.remove("kvsync:pw");
            }),
            "ModifyInstanceAttribute",
        ),
    ];
    for (name, change, action) in cases {
        let mut observed = current();
        change(&mut observed);
        let plan = plan_with_labels(MATCHING, &observed);
        let actions: Vec<&str> = steps(&plan).into_iter().map(|(a, _)| a).collect();
        assert_eq!(
            actions.first().copied(),
            Some(action),
            "{name}: {actions:?}"
        );
    }
}

/// Like [`plan`], with `labels: {team: orders}` managed.
fn plan_with_labels(spec: &str, observed: &ObservedInstance) -> Plan {
    let head = HEAD.replace(
        "  name: orders\n",
        "  name: orders\n  labels: {team: orders}\n",
    );
    let yaml = format!("{head}{spec}");
    let desired = manifest::parse(&[(PathBuf::from("t.yaml"), yaml.clone())], None).unwrap();
    let mut cloud = Observed::default();
    cloud
        .regions
        .insert("cn-hangzhou".into(), vec![observed.clone()]);
    let plan = diff(
        &desired,
        &cloud,
        &digests_for(&yaml),
        DiffOptions::default(),
    );
    assert!(check::check(&plan, &cloud).is_empty());
    plan
}

#[test]
fn labels_are_exact_when_managed() {
    let mut observed = current();
    observed.tags.insert("stale".into(), "x".into());
    let plan = plan_with_labels("", &observed);
    assert_eq!(steps(&plan), vec![("UntagResources", Impact::None)]);
    match &plan.instances[0].steps[0].request {
        Request::UntagResources(untag) => assert_eq!(untag.tag_keys, ["stale".to_string()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn system_and_unlisted_whitelist_groups_are_never_touched() {
    let mut observed = current();
    observed.whitelists.as_mut().unwrap().insert(
        "ali_dms_group".into(),
        BTreeSet::from([crate::values::Reported::from_cloud("1.2.3.4")]),
    );
    observed.whitelists.as_mut().unwrap().insert(
        "other_team".into(),
        BTreeSet::from([crate::values::Reported::from_cloud("5.6.7.8")]),
    );
    assert!(plan(MATCHING, &observed).is_empty());
}

#[test]
fn differences_kvsync_will_not_make_are_blocked_with_reasons() {
    let mut classic = current();
    classic.network_type = "CLASSIC".into();
    classic.vpc_id.clear();
    classic.vswitch_id.clear();
    let cases: Vec<(&str, String, ObservedInstance, &str)> = vec![
        (
            "zone",
            MATCHING.to_owned(),
            ObservedInstance {
                zone_id: "cn-hangzhou-b".into(),
                ..current()
            },
            "between zones",
        ),
        (
            "downgrade",
            MATCHING.to_owned(),
            ObservedInstance {
                engine_version: "6.0".into(),
                ..current()
            },
            "only be upgraded",
        ),
        (
            "other vpc",
            MATCHING.replace("vpc-a", "vpc-b"),
            current(),
            "between VPCs",
        ),
        (
            "prepaid to postpaid",
            MATCHING.to_owned() + "  chargeType: PostPaid\n",
            ObservedInstance {
                charge_type: "PrePaid".into(),
                ..current()
            },
            "subscription",
        ),
        (
            "vpc auth on classic",
            MATCHING
                .replace(
                    "  network: {type: VPC, vpcId: vpc-a, vSwitchId: vsw-a}\n",
                    "",
                )
                .replace("vpcAuthMode: Open", "vpcAuthMode: Close"),
            classic,
            "only for instances in a VPC",
        ),
        (
            "new account without password",
            MATCHING.replacen(
                "description: orders}\n",
                "description: orders}\n    - {name: nopw}\n",
                1,
            ),
            current(),
            "needs a password",
        ),
    ];
    for (name, spec, observed, reason) in cases {
        let plan = plan(&spec, &observed);
        let blocked: Vec<&str> = plan
            .instances
            .iter()
            .flat_map(|i| i.blocked.iter().map(|b| b.reason.as_str()))
            .collect();
        assert!(
            blocked.iter().any(|b| b.contains(reason)),
            "{name}: {blocked:?}"
        );
        assert!(!plan.is_empty(), "{name}");
    }
}

#[test]
fn an_unreadable_password_is_unverified_not_a_change() {
    let spec = MATCHING.replace("ORDERS_PASSWORD_1", "ORDERS_UNREADABLE");
    let plan = plan(&spec, &current());
    assert!(plan.is_empty(), "unverified notes are not changes");
    assert!(!plan.complete);
    let blocked = &plan.instances[0].blocked;
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].kind, BlockedKind::Unverified);
}

#[test]
fn a_new_instance_gets_every_aspect_in_the_fixed_order() {
    let spec = MATCHING
        .replace("releaseProtection: false", "releaseProtection: true")
        .replace("vpcAuthMode: Open", "vpcAuthMode: Close")
        .replace("ssl: Disable", "ssl: Enable");
    let yaml = format!("{HEAD}{spec}");
    let desired = manifest::parse(&[(PathBuf::from("t.yaml"), yaml.clone())], None).unwrap();
    let plan = diff(
        &desired,
        &Observed::default(),
        &digests_for(&yaml),
        DiffOptions::default(),
    );
    assert!(check::check(&plan, &Observed::default()).is_empty());
    let actions: Vec<&str> = steps(&plan).into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        [
            "CreateInstance",
            "ModifyInstanceAttribute",
            "ModifyInstanceMaintainTime",
            "ModifyInstanceSSL",
            "ModifyInstanceVpcAuthMode",
            "ModifySecurityIps",
            "ModifyInstanceConfig",
            "ModifyBackupPolicy",
            "CreateAccount",
            "TagResources",
        ]
    );
    // The default group already holds 127.0.0.1: only `app` needs setting.
    let groups: Vec<&String> = plan.instances[0]
        .steps
        .iter()
        .filter_map(|s| match &s.request {
            Request::ModifySecurityIps(modify) => modify.security_ip_group_name.as_ref(),
            _ => None,
        })
        .collect();
    assert_eq!(groups, ["app"]);
    // The instance password's digest rides on CreateInstance; the account's follows it.
    let tag = |tags: &[(String, String)], key: &str| {
        tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    match &plan.instances[0].steps[0].request {
        Request::CreateInstance(create) => {
            assert_eq!(tag(&create.tags, "kvsync:pw").as_deref(), Some("*=d1"))
        }
        other => panic!("{other:?}"),
    }
    match &plan.instances[0].steps.last().unwrap().request {
        Request::TagResources(set) => {
            assert_eq!(tag(&set.tags, "kvsync:pw").as_deref(), Some("*=d1;app=d2"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn spec_changes_carry_a_deterministic_client_token_that_names_the_transition() {
    let token = |from: &str| {
        let observed = ObservedInstance {
            instance_class: from.into(),
            ..current()
        };
        let plan = plan(MATCHING, &observed);
        match &plan.instances[0].steps[0].request {
            Request::ModifyInstanceSpec(spec) => spec.client_token.clone().unwrap_or_default(),
            other => panic!("{other:?}"),
        }
    };
    let from_mid = token("redis.master.mid.default");
    assert_eq!(from_mid, token("redis.master.mid.default"));
    assert_ne!(from_mid, token("redis.master.stand.default"));
}

#[test]
fn deleting_an_account_is_destructive_and_an_upgrade_irreversible() {
    // `apply` gates on exactly these impacts (tested with the binary in `tests/it/aspects.rs`).
    let mut observed = current();
    observed
        .accounts
        .as_mut()
        .unwrap()
        .insert("intruder".into(), account("Normal", None, ""));
    let destructive = plan(MATCHING, &observed);
    assert_eq!(destructive.max_impact(), Some(Impact::Destructive));
    assert_eq!(
        steps(&destructive),
        vec![("DeleteAccount", Impact::Destructive)]
    );

    let upgrade = plan_full(
        &format!("{HEAD}{MATCHING}").replace("\"5.0\"", "\"6.0\""),
        &current(),
    );
    assert_eq!(upgrade.max_impact(), Some(Impact::Irreversible));
    assert_eq!(upgrade.instances[0].key, key());
}
