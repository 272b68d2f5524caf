//! The plan is the request: for every step of plans that together use every action kvsync
//! sends, the parameters `show --json` prints for the saved plan are the parameters the
//! emulator received when `apply` ran that plan. Only the common and signature parameters may
//! differ (the emulator's journal leaves those out; `RegionId` is added to calls whose action
//! has no region of its own), a secret shows as its reference in the plan and as the digest of
//! its value in the journal, and the requests after a `CreateInstance` name the new instance.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::{EmulatorProcess, http_get_json, run, texts};

const SECRETS: &[(&str, &str)] = &[
    ("SENT_INSTANCE_PASSWORD", "Sent-Instance-Passw0rd-1"),
    ("SENT_ROTATED_PASSWORD", "Sent-Rotated-Passw0rd-2"),
    ("SENT_APP_PASSWORD", "Sent-App-Passw0rd-3"),
    ("SENT_APP_ROTATED", "Sent-App-Rotated-Passw0rd-4"),
];

/// Two instances created with every aspect kvsync manages; `spare` is pruned later.
const FIRST: &str = r#"apiVersion: kvsync/v1
kind: Stack
metadata: {name: sent}
spec: {region: cn-hangzhou, prune: true, disruption: immediate}
---
apiVersion: kvsync/v1
kind: Instance
metadata:
  name: sent-cache
  labels: {team: orders, tier: gold}
spec:
  instanceClass: redis.master.small.default
  engineVersion: "5.0"
  zoneId: cn-hangzhou-h
  chargeType: PostPaid
  network: {type: Classic}
  password: {env: SENT_INSTANCE_PASSWORD}
  releaseProtection: false
  maintenanceWindow: {start: "03:00Z", end: "04:00Z"}
  ssl: Enable
  whitelists:
    app: [10.0.1.0/24, 10.0.2.15]
  config:
    maxmemory-policy: allkeys-lru
  backupPolicy: {time: "02:00Z-03:00Z", period: [Monday, Thursday]}
  accounts:
    - name: app_rw
      privilege: RoleReadWrite
      password: {env: SENT_APP_PASSWORD}
      description: orders service
    - name: app_old
      privilege: RoleReadOnly
      password: {env: SENT_APP_PASSWORD}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: sent-spare}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
  releaseProtection: false
"#;

/// Everything that can change on `sent-cache` changes, and `sent-spare` is gone.
fn second() -> String {
    let mut text = FIRST.to_owned();
    for (from, to) in [
        (
            "  labels: {team: orders, tier: gold}\n",
            "  labels: {team: payments}\n",
        ),
        (
            "redis.master.small.default\n  engineVersion",
            "redis.master.mid.default\n  engineVersion",
        ),
        ("engineVersion: \"5.0\"", "engineVersion: \"6.0\""),
        ("chargeType: PostPaid", "chargeType: PrePaid\n  period: 1"),
        (
            "network: {type: Classic}",
            "network: {type: VPC, vpcId: vpc-bp1sent00001, vSwitchId: vsw-bp1sent00001}\n  vpcAuthMode: Close",
        ),
        ("SENT_INSTANCE_PASSWORD", "SENT_ROTATED_PASSWORD"),
        (
            "privilege: RoleReadWrite\n      password: {env: SENT_APP_PASSWORD}\n      description: orders service",
            "privilege: RoleReadOnly\n      password: {env: SENT_APP_ROTATED}\n      description: payments service",
        ),
        (
            "    - name: app_old\n      privilege: RoleReadOnly\n      password: {env: SENT_APP_PASSWORD}\n",
            "",
        ),
    ] {
        assert!(text.contains(from), "{from:?}");
        text = text.replace(from, to);
    }
    let spare = text
        .find("---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {name: sent-spare}")
        .unwrap();
    text.truncate(spare);
    text
}

/// The SHA-256 digest the emulator's journal shows for a secret value.
fn digest(value: &str) -> String {
    use sha2::Digest as _;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(value.as_bytes()))
    )
}

/// Plans and saves, reads the saved plan back with `show --json`, applies exactly it, and
/// returns its steps with the requests the emulator accepted meanwhile.
fn plan_and_apply(dir: &Path, emulator: &EmulatorProcess) -> (Vec<Value>, Vec<Value>) {
    let command = |args: &[&str]| {
        let mut command = emulator.kvsync(dir);
        command.args(args);
        for (name, value) in SECRETS {
            command.env(name, value);
        }
        command
    };
    let saved = dir.join("plan.json");
    let planned = run(command(&["plan", "--out"]).arg(&saved));
    assert_eq!(planned.status.code(), Some(0), "{:?}", texts(&planned));
    let shown = run(crate::support::kvsync(dir)
        .args(["show", "--json"])
        .arg(&saved));
    let (stdout, stderr) = texts(&shown);
    assert_eq!(shown.status.code(), Some(0), "{stdout}\n{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let before = journal(emulator).len();
    let applied = run(command(&["apply", "--allow-irreversible", "--allow-destroy"]).arg(&saved));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    let received = journal(emulator).split_off(before);
    (plan["steps"].as_array().unwrap().clone(), received)
}

fn journal(emulator: &EmulatorProcess) -> Vec<Value> {
    http_get_json(&format!("{}/_emulator/requests", emulator.url))
        .as_array()
        .unwrap()
        .clone()
}

/// What the emulator should have received for a planned step: references resolved to the
/// digest of their value, the new instance's ID bound.
fn expected(step: &Value, new_ids: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let secrets: BTreeMap<String, String> = SECRETS
        .iter()
        .map(|(name, value)| (format!("{{env: {name}}}"), digest(value)))
        .collect();
    let instance = step["instance"].as_str().unwrap();
    step["parameters"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            let value = value.as_str().unwrap();
            let value = if let Some(digest) = secrets.get(value) {
                digest.clone()
            } else if value == "${CreateInstance.InstanceId}" {
                new_ids[instance].clone()
            } else {
                assert!(!value.starts_with("{env:"), "unresolved {value}");
                value.to_owned()
            };
            (name.clone(), value)
        })
        .collect()
}

/// Every planned step was received exactly as planned, in the plan's order per instance, and
/// nothing else that changes anything was sent. Returns the actions seen.
fn assert_sent_as_planned(
    steps: &[Value],
    received: &[Value],
    emulator: &EmulatorProcess,
) -> BTreeSet<String> {
    let ids: BTreeMap<String, String> = emulator
        .instances()
        .iter()
        .map(|i| {
            (
                format!("cn-hangzhou/{}", i["InstanceName"].as_str().unwrap()),
                i["InstanceId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut writes: Vec<&Value> = received
        .iter()
        .filter(|r| {
            let action = r["action"].as_str().unwrap();
            !action.starts_with("Describe") && !action.starts_with("List")
        })
        .collect();
    let mut actions = BTreeSet::new();
    for step in steps {
        let action = step["action"].as_str().unwrap();
        let want = expected(step, &ids);
        let position = writes
            .iter()
            .position(|r| {
                let mut got: BTreeMap<String, String> =
                    serde_json::from_value(r["parameters"].clone()).unwrap();
                if !want.contains_key("RegionId") {
                    got.remove("RegionId");
                }
                r["action"] == action && got == want
            })
            .unwrap_or_else(|| {
                let same: Vec<&&Value> = writes.iter().filter(|r| r["action"] == action).collect();
                panic!(
                    "{} {action}: planned {want:#?}\nbut the emulator received only {same:#?}",
                    step["instance"]
                )
            });
        writes.remove(position);
        actions.insert(action.to_owned());
    }
    assert!(writes.is_empty(), "sent but not planned: {writes:#?}");
    actions
}

#[test]
fn every_parameter_the_plan_shows_is_what_apply_sends() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut covered = BTreeSet::new();

    std::fs::write(manifests.join("sent.yaml"), FIRST).unwrap();
    let (steps, received) = plan_and_apply(dir.path(), &emulator);
    covered.extend(assert_sent_as_planned(&steps, &received, &emulator));

    std::fs::write(manifests.join("sent.yaml"), second()).unwrap();
    let (steps, received) = plan_and_apply(dir.path(), &emulator);
    covered.extend(assert_sent_as_planned(&steps, &received, &emulator));

    let every: BTreeSet<String> = [
        "CreateInstance",
        "ModifyInstanceSpec",
        "TransformToPrePaid",
        "SwitchNetwork",
        "ModifyInstanceMajorVersion",
        "ModifyInstanceAttribute",
        "ModifyInstanceMaintainTime",
        "ModifyInstanceSSL",
        "ModifyInstanceVpcAuthMode",
        "ModifySecurityIps",
        "ModifyInstanceConfig",
        "ModifyBackupPolicy",
        "CreateAccount",
        "GrantAccountPrivilege",
        "ModifyAccountDescription",
        "ResetAccountPassword",
        "DeleteAccount",
        "TagResources",
        "UntagResources",
        "DeleteInstance",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(covered, every, "missing: {:?}", every.difference(&covered));
}
