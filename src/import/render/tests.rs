//! Rendered manifests validate and plan empty against the instance they came from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::*;
use crate::manifest::desired::Weekday;
use crate::manifest::{self, Desired};
use crate::observe::Observed;
use crate::observe::observed::{ObservedAccount, ObservedBackupPolicy};
use crate::plan::{self, DiffOptions, Digests};

fn account(privilege: Option<Privilege>, text: &str, description: &str) -> ObservedAccount {
    ObservedAccount {
        account_type: "Normal".into(),
        status: "Available".into(),
        privilege,
        privilege_text: text.into(),
        description: description.into(),
    }
}

/// A VPC instance with every aspect read.
fn full() -> ObservedInstance {
    ObservedInstance {
        id: "r-bp1abc".into(),
        name: "orders-cache".into(),
        region: "cn-hangzhou".into(),
        status: "Normal".into(),
        instance_class: "redis.master.small.default".into(),
        engine_version: "6.0".into(),
        zone_id: "cn-hangzhou-h".into(),
        charge_type: "PostPaid".into(),
        network_type: "VPC".into(),
        vpc_id: "vpc-aaa".into(),
        vswitch_id: "vsw-bbb".into(),
        tags: BTreeMap::from([
            ("team".into(), "orders".into()),
            ("on".into(), "yes".into()),
            ("cost center".into(), "4711".into()),
            ("empty".into(), String::new()),
        ]),
        release_protection: Some(true),
        maintenance_window: Some("02:00Z-03:00Z".into()),
        change_order_pending: false,
        architecture: Some(crate::observe::observed::ObservedArchitecture {
            node_type: "double".into(),
            shard_count: 1,
            replica_count: 1,
            read_only_count: 0,
            secondary_zone_id: "cn-hangzhou-i".into(),
        }),
        classic_endpoint: None,
        endpoint: Some(crate::observe::observed::ObservedEndpoint {
            connection_string: "ordersmain01.redis.rds.aliyuncs.com".into(),
            port: 6380,
        }),
        vpc_auth_mode: Some("Close".into()),
        config: Some(BTreeMap::from([
            ("maxmemory-policy".into(), "allkeys-lru".into()),
            ("notify-keyspace-events".into(), "Ex".into()),
            ("appendonly".into(), "no".into()),
            ("hash-max-ziplist-entries".into(), "512".into()),
            ("timeout".into(), "0".into()),
            ("empty-value".into(), String::new()),
            ("ParamReplMode".into(), "async".into()),
        ])),
        ssl: Some(true),
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
                BTreeSet::from([crate::values::Reported::from_cloud("100.104.175.0/24")]),
            ),
            (
                "hdm_security_ips".into(),
                BTreeSet::from([crate::values::Reported::from_cloud("100.104.72.0/24")]),
            ),
        ])),
        accounts: Some(BTreeMap::from([
            (
                "r-bp1abc".into(),
                ObservedAccount {
                    account_type: "Super".into(),
                    ..account(Some(Privilege::RoleReadWrite), "RoleReadWrite", "")
                },
            ),
            (
                "app_rw".into(),
                account(
                    Some(Privilege::RoleReadWrite),
                    "RoleReadWrite",
                    "orders service",
                ),
            ),
            (
                "app_ro".into(),
                account(Some(Privilege::RoleReadOnly), "RoleReadOnly", ""),
            ),
            (
                "repl".into(),
                account(Some(Privilege::RoleRepl), "RoleRepl", "http://x"),
            ),
        ])),
        backup_policy: Some(ObservedBackupPolicy {
            time: "23:00Z-00:00Z".into(),
            period: BTreeSet::from([Weekday::Friday, Weekday::Monday]),
            retention_days: Some(7),
            backup_log: false,
        }),
    }
}

fn imported(observed: ObservedInstance) -> Imported {
    Imported {
        name: observed.name.clone(),
        observed,
        name_note: None,
        unread: BTreeMap::new(),
    }
}

/// Renders, parses as the loader does, and plans against the same instance: nothing to do.
fn check(instance: &Imported) -> (Rendered, Desired) {
    let rendered = manifest(instance);
    let sources = vec![(PathBuf::from("imported/x.yaml"), rendered.text.clone())];
    let desired = manifest::parse(&sources, None)
        .unwrap_or_else(|err| panic!("{err}\n---\n{}", rendered.text));
    let mut observed = Observed::default();
    observed.regions.insert(
        instance.observed.region.clone(),
        vec![instance.observed.clone()],
    );
    let plan = plan::diff(&desired, &observed, &Digests::new(), DiffOptions::default());
    assert!(
        plan.instances.is_empty(),
        "{}\n---\n{}",
        plan::render::text(&plan, false),
        rendered.text
    );
    (rendered, desired)
}

#[test]
fn a_full_instance_round_trips_to_an_empty_plan() {
    let (rendered, desired) = check(&imported(full()));
    let text = &rendered.text;
    let wanted = &desired.instances[0];
    assert_eq!(wanted.instance_id.as_deref(), Some("r-bp1abc"));
    assert_eq!(
        wanted.engine_version,
        Some(crate::values::EngineVersion::new(6, 0))
    );
    assert!(text.contains("engineVersion: \"6.0\"\n"), "{text}");
    assert!(text.contains("  \"on\": \"yes\"\n"), "{text}");
    assert!(text.contains("  \"cost center\": \"4711\"\n"), "{text}");
    assert!(text.contains("appendonly: \"no\"\n"), "{text}");
    assert!(text.contains("app: [10.0.1.0/24, 10.0.2.15]\n"), "{text}");
    assert!(text.contains("vpcAuthMode: Close\n"), "{text}");
    assert!(text.contains("ssl: Enable\n"), "{text}");
    assert!(
        text.contains("endpoint: {prefix: ordersmain01, port: 6380}\n"),
        "{text}"
    );
    assert!(text.contains("nodeType: MASTER_SLAVE\n"), "{text}");
    assert!(text.contains("replicaCount: 1\n"), "{text}");
    assert!(text.contains("secondaryZoneId: cn-hangzhou-i\n"), "{text}");
    assert!(
        !text.contains("shardCount"),
        "a standard class has no shards: {text}"
    );
    assert!(!text.contains("ali_dms_group:"), "{text}");
    assert_eq!(
        wanted
            .whitelists
            .as_ref()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["app", "default"]
    );
    let accounts = wanted.accounts.as_ref().unwrap();
    assert_eq!(
        accounts.keys().collect::<Vec<_>>(),
        ["app_ro", "app_rw", "repl"]
    );
    assert!(accounts.values().all(|a| a.password.is_none()));
    assert_eq!(
        accounts["app_rw"].description.as_deref(),
        Some("orders service")
    );
    // The invalid description is left out (unmanaged) with a comment, not the account.
    assert_eq!(accounts["repl"].description, None);
    assert!(text.contains("# description: not managed:"), "{text}");
    assert_eq!(rendered.left_out, 2, "{text}");
    // The parameter name manifests refuse is left out; the empty value stays.
    let config = wanted.config.as_ref().unwrap();
    assert!(!config.contains_key("ParamReplMode"));
    assert_eq!(config["empty-value"], "");
    // Passwords: only in comments, with suggested variables.
    for line in text.lines().filter(|l| l.contains("password:")) {
        assert!(line.trim_start().starts_with('#'), "{line}");
    }
    assert!(text.contains("# password: {env: ORDERS_CACHE_PASSWORD}"));
    assert!(text.contains("# password: {env: ORDERS_CACHE_APP_RW_PASSWORD}"));
    assert!(text.contains("prune never deletes it"), "{text}");
}

#[test]
fn what_manifests_cannot_express_is_left_out_with_a_reason() {
    let mut observed = full();
    observed.charge_type = "PrePaid".into();
    observed.maintenance_window = Some("18:00Z-22:00Z".into());
    observed.engine_version = "8.0".into();
    observed.tags.insert("acs:rm:rgId".into(), "rg-123".into());
    observed.backup_policy = Some(ObservedBackupPolicy {
        time: "02:30Z-03:30Z".into(),
        period: BTreeSet::from([Weekday::Monday]),
        retention_days: Some(7),
        backup_log: false,
    });
    let (rendered, desired) = check(&imported(observed));
    let text = &rendered.text;
    let wanted = &desired.instances[0];
    // A subscription is written with a period that is never sent for it.
    assert_eq!(
        wanted.charge,
        Some(crate::manifest::desired::Charge::PrePaid { period: 1 })
    );
    assert!(text.contains("chargeType: PrePaid"), "{text}");
    assert_eq!(wanted.maintenance_window, None);
    assert_eq!(wanted.engine_version, None);
    assert_eq!(wanted.labels, None);
    assert_eq!(wanted.backup_policy, None);
    assert!(text.contains("the window is 18:00Z-22:00Z"), "{text}");
    assert!(
        text.contains("# labels: not managed: tag \"acs:rm:rgId\""),
        "{text}"
    );
}

#[test]
fn accounts_that_cannot_be_listed_exactly_are_not_listed() {
    let mut observed = full();
    observed
        .accounts
        .as_mut()
        .unwrap()
        .insert("legacy".into(), account(None, "RoleCustom", "old"));
    let (rendered, desired) = check(&imported(observed));
    assert_eq!(desired.instances[0].accounts, None);
    assert!(
        rendered.text.contains("\"RoleCustom\""),
        "{}",
        rendered.text
    );
}

#[test]
fn no_accounts_and_no_tags_are_written_as_empty_sets() {
    let mut observed = full();
    observed.tags.clear();
    observed
        .accounts
        .as_mut()
        .unwrap()
        .retain(|_, a| !a.is_normal());
    let (rendered, desired) = check(&imported(observed));
    let wanted = &desired.instances[0];
    assert_eq!(wanted.labels, Some(BTreeMap::new()));
    assert_eq!(wanted.accounts, Some(BTreeMap::new()));
    assert!(rendered.text.contains("labels: {}\n"));
    assert!(rendered.text.contains("accounts: []\n"));
}

#[test]
fn a_classic_instance_has_no_vpc_auth_mode_and_unread_aspects_are_unmanaged() {
    let mut observed = full();
    observed.network_type = "CLASSIC".into();
    observed.vpc_id.clear();
    observed.vswitch_id.clear();
    observed.vpc_auth_mode = Some("Open".into());
    observed.ssl = None;
    let mut instance = imported(observed);
    instance.unread.insert(
        Aspect::Ssl,
        "DescribeInstanceSSL answered IncorrectEngineVersion: not supported".into(),
    );
    let (rendered, desired) = check(&instance);
    let wanted = &desired.instances[0];
    assert_eq!(wanted.vpc_auth_mode, None);
    assert_eq!(wanted.ssl, None);
    assert!(rendered.text.contains("network: {type: Classic}\n"));
    assert!(rendered.text.contains(
        "# ssl: not managed: reading it failed: DescribeInstanceSSL answered IncorrectEngineVersion"
    ));
}

#[test]
fn instances_owned_by_a_stack_say_so() {
    let mut observed = full();
    observed.tags.insert(MANAGED_TAG.into(), "true".into());
    observed.tags.insert(STACK_TAG.into(), "shop".into());
    let (rendered, desired) = check(&imported(observed));
    assert!(rendered.text.contains("ownership tags of stack \"shop\""));
    assert!(
        !desired.instances[0]
            .labels
            .as_ref()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("kvsync:"))
    );
}

#[test]
fn password_variables_are_environment_names() {
    let mut instance = imported(full());
    instance.name = "订单-cache".into();
    assert_eq!(password_variable(&instance, None), "CACHE_PASSWORD");
    instance.name = "订单".into();
    assert_eq!(password_variable(&instance, None), "R_BP1ABC_PASSWORD");
    instance.name = "a.b".into();
    assert_eq!(
        password_variable(&instance, Some("app_rw")),
        "A_B_APP_RW_PASSWORD"
    );
}

#[test]
fn long_comments_wrap_with_indented_continuations() {
    let mut doc = Doc {
        text: String::new(),
        left_out: 0,
    };
    doc.left_out(1, "field", &"word ".repeat(40));
    let lines: Vec<&str> = doc.text.lines().collect();
    assert!(lines.len() > 1, "{}", doc.text);
    assert!(lines[0].starts_with("  # field: not managed: word"));
    for line in &lines[1..] {
        assert!(line.starts_with("  #   word"), "{line}");
    }
    assert!(lines.iter().all(|line| line.chars().count() <= WIDTH));
}

#[test]
fn an_instance_read_mid_change_says_so() {
    let mut observed = full();
    observed.status = "Changing".into();
    let (rendered, _) = check(&imported(observed));
    assert!(
        rendered
            .text
            .contains("# The instance was Changing when it was read")
    );
}

#[test]
fn cloud_messages_cannot_break_out_of_a_comment() {
    let mut instance = imported(full());
    instance.unread.insert(
        Aspect::BackupPolicy,
        "DescribeBackupPolicy answered Denied: no\nbackupPolicy: {time: x}\r\u{1b}[0m".into(),
    );
    let (rendered, desired) = check(&instance);
    assert_eq!(desired.instances[0].backup_policy, None);
    for line in rendered.text.lines().filter(|l| l.contains("backupPolicy")) {
        assert!(line.trim_start().starts_with('#'), "{line}");
    }
    let comments: Vec<&str> = rendered
        .text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .map(str::trim)
        .collect();
    let joined = comments.join(" ");
    assert!(
        joined.contains("Denied: no backupPolicy: {time: x} ?[0m"),
        "{joined}"
    );
    assert!(!rendered.text.contains('\r'));
}
