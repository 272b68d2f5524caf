//! End to end, one aspect at a time: apply a manifest that manages the aspect, change exactly
//! that aspect (out of band through the emulator, or in the manifest or its secret where the
//! cloud cannot go back), check that the plan has exactly the expected steps, that gated steps
//! are refused before any change, and that apply converges again.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{EmulatorProcess, Request, call, run, texts, wait_normal};

/// The instance every row manages.
const NAME: &str = "aspect-cache";

/// The stack document and the head of the instance document; a row adds `labels` and `spec`
/// (a `spec` that starts with its own `instanceClass` replaces the default one).
fn manifest(labels: &str, spec: &str) -> String {
    let class = if spec.starts_with("  instanceClass:") {
        ""
    } else {
        "  instanceClass: redis.master.small.default\n"
    };
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata:
  name: aspects
spec:
  region: cn-hangzhou
  disruption: immediate
---
apiVersion: kvsync/v1
kind: Instance
metadata:
  name: {NAME}
{labels}spec:
{class}  zoneId: cn-hangzhou-h
{spec}"
    )
}

/// Runs a hand-signed request against the emulator and requires success.
pub(crate) fn ok(url: &str, request: Request) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = runtime.block_on(call(url, request));
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the emulator reports the instance `Normal` again.
pub(crate) fn settle(url: &str, id: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(wait_normal(url, id));
}

/// A manifest directory, an emulator and the secrets the commands see.
pub(crate) struct Fixture {
    /// The working directory (manifests in `manifests/`).
    pub dir: TempDir,
    /// The emulator process.
    pub emulator: EmulatorProcess,
    /// Environment variables set on every command.
    pub env: BTreeMap<String, String>,
}

impl Fixture {
    /// Writes `text` as the manifest and starts an emulator with `emulator_flags`.
    pub(crate) fn new(text: &str, env: &[(&str, &str)], emulator_flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
        let emulator = EmulatorProcess::start(dir.path(), emulator_flags);
        let fixture = Fixture {
            dir,
            emulator,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        fixture.write(text);
        fixture
    }

    /// The manifest file.
    pub(crate) fn manifest_path(&self) -> std::path::PathBuf {
        self.dir.path().join("manifests/instance.yaml")
    }

    /// Replaces the manifest.
    pub(crate) fn write(&self, text: &str) {
        std::fs::write(self.manifest_path(), text).unwrap();
    }

    /// The manifest's text.
    pub(crate) fn read(&self) -> String {
        std::fs::read_to_string(self.manifest_path()).unwrap()
    }

    /// `kvsync ARGS` against the emulator, with the fixture's environment (`validate` makes no
    /// call, so it takes no connection flags).
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = if args.first() == Some(&"validate") {
            crate::support::kvsync(self.dir.path())
        } else {
            self.emulator.kvsync(self.dir.path())
        };
        command.args(args);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Runs `kvsync ARGS` and returns its output.
    pub(crate) fn kvsync(&self, args: &[&str]) -> Output {
        run(&mut self.command(args))
    }

    /// Applies and requires success.
    pub(crate) fn apply(&self, flags: &[&str]) {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(flags);
        let applied = self.kvsync(&args);
        let (stdout, stderr) = texts(&applied);
        assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
        assert!(stdout.contains("Converged"), "{stdout}");
    }

    /// Requires `plan --detailed-exitcode` to find nothing to do.
    pub(crate) fn assert_no_changes(&self, when: &str) {
        let planned = self.kvsync(&["plan", "--detailed-exitcode"]);
        let (stdout, stderr) = texts(&planned);
        assert_eq!(
            planned.status.code(),
            Some(0),
            "{when}: plan is not empty\n{stdout}\n{stderr}"
        );
    }

    /// `plan --json`, parsed.
    pub(crate) fn plan_json(&self) -> Value {
        let planned = self.kvsync(&["plan", "--json"]);
        let (stdout, stderr) = texts(&planned);
        assert_eq!(planned.status.code(), Some(0), "{stdout}\n{stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"))
    }

    /// The ID of the instance the manifest describes.
    pub(crate) fn instance_id(&self) -> String {
        let instances = self.emulator.instances();
        let matching: Vec<&Value> = instances
            .iter()
            .filter(|i| i["InstanceName"] == NAME)
            .collect();
        assert_eq!(matching.len(), 1, "{instances:?}");
        matching[0]["InstanceId"].as_str().unwrap().to_owned()
    }

    /// Calls that change something, by action and outcome (reads left out).
    pub(crate) fn mutating_calls(&self) -> BTreeMap<String, Value> {
        self.emulator
            .stats()
            .as_object()
            .unwrap()
            .iter()
            .filter(|(action, _)| !action.starts_with("Describe") && !action.starts_with("List"))
            .map(|(action, outcomes)| (action.clone(), outcomes.clone()))
            .collect()
    }
}

impl Fixture {
    /// The password digest the emulator's state file holds for the instance or an account.
    pub(crate) fn emulator_password_digest(&self, id: &str, account: Option<&str>) -> String {
        let state = kvsync::emulator::store::load(&self.dir.path().join("emulator-state.json"))
            .expect("reading the emulator's state");
        let instance = &state.instances[id];
        match account {
            None => instance
                .password_digest
                .clone()
                .expect("no instance password"),
            Some(name) => instance.accounts[name].password_digest.clone(),
        }
    }
}

/// The emulator's salted digest of a password: SHA-256 of salt, NUL and password, where the
/// salt is the instance ID, followed by `/account` for an account.
pub(crate) fn emulator_digest(id: &str, account: Option<&str>, password: &str) -> String {
    use sha2::Digest as _;
    let salt = match account {
        None => id.to_owned(),
        Some(name) => format!("{id}/{name}"),
    };
    let mut hasher = sha2::Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hex::encode(hasher.finalize())
}

/// How a row changes its aspect after the first apply.
enum Drift {
    /// Hand-signed requests against the emulator (given the instance ID), as another tool or
    /// the console would make them.
    Cloud(fn(&str) -> Vec<Request>),
    /// The manifest's text: `from` replaced by `to` (for changes the cloud cannot undo).
    Manifest(&'static str, &'static str),
    /// A password's environment variable gets a new value.
    Secret {
        /// The variable.
        var: &'static str,
        /// Its new value.
        value: &'static str,
        /// Whose password it is: an account, or the instance's (`None`).
        account: Option<&'static str>,
    },
}

/// One aspect's round trip.
struct Case {
    /// `metadata` lines after `name` (labels), indented.
    labels: &'static str,
    /// `spec` lines after the class and zone, indented.
    spec: &'static str,
    /// What changes after the first apply.
    drift: Drift,
    /// The plan's steps afterwards: action and impact, in order.
    steps: &'static [(&'static str, &'static str)],
    /// Parameters the first step must have (name, value).
    params: &'static [(&'static str, &'static str)],
    /// The flag the plan needs, if any (apply without it must make no change).
    gate: Option<&'static str>,
}

/// Every password a row may refer to.
const SECRETS: &[(&str, &str)] = &[
    ("ASPECT_PASSWORD", "Instance-Passw0rd-1"),
    ("APP_RW_PASSWORD", "App-Rw-Passw0rd-1"),
];

fn request(action: &str, id: &str) -> Request {
    Request::new(action).param("InstanceId", id)
}

fn tag(id: &str, key: &str, value: &str) -> Request {
    Request::new("TagResources")
        .param("RegionId", "cn-hangzhou")
        .param("ResourceType", "INSTANCE")
        .param("ResourceId.1", id)
        .param("Tag.1.Key", key)
        .param("Tag.1.Value", value)
}

fn security_ips(id: &str, group: &str, ips: &str) -> Request {
    request("ModifySecurityIps", id)
        .param("SecurityIpGroupName", group)
        .param("SecurityIps", ips)
        .param("ModifyMode", "Cover")
}

fn config(id: &str, config: Value) -> Request {
    request("ModifyInstanceConfig", id).param("Config", &config.to_string())
}

/// How the step that puts the aspect back is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Normally.
    Delivered,
    /// The first answer to its call is lost after the change committed (the emulator is
    /// restarted on the same state with `--lose-response ACTION:1`).
    Lost,
}

fn check(case: Case, answer: Answer) {
    let text = manifest(case.labels, case.spec);
    let mut fixture = Fixture::new(&text, SECRETS, &[]);

    // 1. The first apply creates the instance with the aspect; nothing is left afterwards.
    fixture.apply(&["--allow-irreversible"]);
    fixture.assert_no_changes("after the first apply");
    let id = fixture.instance_id();

    // 2. Exactly this aspect changes.
    match &case.drift {
        Drift::Cloud(requests) => {
            for request in requests(&id) {
                ok(&fixture.emulator.url, request);
                settle(&fixture.emulator.url, &id);
            }
        }
        Drift::Manifest(from, to) => {
            let text = fixture.read();
            assert!(text.contains(from), "{from:?} not in\n{text}");
            fixture.write(&text.replacen(from, to, 1));
        }
        Drift::Secret { var, value, .. } => {
            fixture.env.insert((*var).to_owned(), (*value).to_owned());
        }
    }

    let plan = fixture.plan_json();
    let instances = plan["instances"].as_array().unwrap();
    if case.steps.is_empty() {
        assert!(instances.is_empty(), "expected no changes: {plan:#}");
        fixture.assert_no_changes("after a change kvsync does not manage");
        return;
    }
    assert_eq!(instances.len(), 1, "{plan:#}");
    let steps: Vec<(&str, &str)> = instances[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["request"]["action"].as_str().unwrap(),
                s["impact"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, case.steps, "{plan:#}");
    assert_eq!(instances[0]["blocked"], json!([]), "{plan:#}");
    assert_eq!(instances[0]["instance_id"], id.as_str());
    let params = &plan["steps"][0]["parameters"];
    for (name, value) in case.params {
        assert_eq!(params[name], *value, "{name} in {params:#}");
    }

    // A gated plan is refused before any change.
    if let Some(flag) = case.gate {
        let before = fixture.mutating_calls();
        let refused = fixture.kvsync(&["apply", "--auto-approve"]);
        let (stdout, stderr) = texts(&refused);
        assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(stderr.contains(flag), "{stderr}");
        assert_eq!(fixture.mutating_calls(), before, "{stdout}\n{stderr}");
    }

    // 3. Apply puts it back; nothing is left.
    let action = case.steps[0].0;
    if answer == Answer::Lost {
        let lose = format!("{action}:1");
        fixture.emulator = EmulatorProcess::start(fixture.dir.path(), &["--lose-response", &lose]);
    }
    let flags: Vec<&str> = case.gate.into_iter().collect();
    fixture.apply(&flags);
    fixture.assert_no_changes("after the fix");
    if answer == Answer::Lost {
        assert_eq!(fixture.emulator.count(action, "lost-response"), 1);
    }

    // The emulator holds the new password (it keeps only a salted digest).
    if let Drift::Secret { value, account, .. } = &case.drift {
        assert_eq!(
            fixture.emulator_password_digest(&id, *account),
            emulator_digest(&id, *account, value)
        );
    }
}

/// Per row, a module with the round trip and the same with the fixing call's answer lost.
macro_rules! aspects {
    ($($name:ident: $case:expr;)*) => {
        $(
            mod $name {
                use super::*;

                #[test]
                fn round_trip() {
                    check($case, Answer::Delivered);
                }

                #[test]
                fn with_a_lost_answer() {
                    check($case, Answer::Lost);
                }
            }
        )*
    };
}

aspects! {
    instance_class: Case {
        labels: "",
        spec: "",
        drift: Drift::Cloud(|id| vec![
            request("ModifyInstanceSpec", id).param("InstanceClass", "redis.master.mid.default"),
        ]),
        steps: &[("ModifyInstanceSpec", "restart")],
        params: &[("InstanceClass", "redis.master.small.default")],
        gate: None,
    };
    billing: Case {
        labels: "",
        spec: "  chargeType: PostPaid\n",
        drift: Drift::Manifest("chargeType: PostPaid", "chargeType: PrePaid\n  period: 1"),
        steps: &[("TransformToPrePaid", "irreversible")],
        params: &[("Period", "1")],
        gate: Some("--allow-irreversible"),
    };
    network: Case {
        labels: "",
        spec: "  network: {type: Classic}\n",
        drift: Drift::Manifest(
            "{type: Classic}",
            "{type: VPC, vpcId: vpc-bp1aspects01, vSwitchId: vsw-bp1aspects01}",
        ),
        steps: &[("SwitchNetwork", "irreversible")],
        params: &[("VpcId", "vpc-bp1aspects01"), ("VSwitchId", "vsw-bp1aspects01")],
        gate: Some("--allow-irreversible"),
    };
    engine_major_version: Case {
        labels: "",
        spec: "  engineVersion: \"5.0\"\n",
        drift: Drift::Manifest("\"5.0\"", "\"6.0\""),
        steps: &[("ModifyInstanceMajorVersion", "irreversible")],
        params: &[("MajorVersion", "6.0")],
        gate: Some("--allow-irreversible"),
    };
    release_protection: Case {
        labels: "",
        spec: "  releaseProtection: true\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyInstanceAttribute", id).param("InstanceReleaseProtection", "false"),
        ]),
        steps: &[("ModifyInstanceAttribute", "none")],
        params: &[("InstanceReleaseProtection", "true")],
        gate: None,
    };
    instance_password: Case {
        labels: "",
        spec: "  password: {env: ASPECT_PASSWORD}\n",
        drift: Drift::Secret {
            var: "ASPECT_PASSWORD",
            value: "Instance-Passw0rd-2",
            account: None,
        },
        // The new password, then its digest recorded in the instance's tags.
        steps: &[("ModifyInstanceAttribute", "none"), ("TagResources", "none")],
        params: &[("NewPassword", "{env: ASPECT_PASSWORD}")],
        gate: None,
    };
    label_value: Case {
        labels: "  labels: {team: orders, env: production}\n",
        spec: "",
        drift: Drift::Cloud(|id| vec![tag(id, "team", "web")]),
        steps: &[("TagResources", "none")],
        params: &[("Tag.1.Key", "team"), ("Tag.1.Value", "orders")],
        gate: None,
    };
    label_added_elsewhere: Case {
        labels: "  labels: {team: orders}\n",
        spec: "",
        drift: Drift::Cloud(|id| vec![tag(id, "owner", "someone")]),
        steps: &[("UntagResources", "none")],
        params: &[("TagKey.1", "owner")],
        gate: None,
    };
    maintenance_window: Case {
        labels: "",
        spec: "  maintenanceWindow: {start: \"02:00Z\", end: \"03:00Z\"}\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyInstanceMaintainTime", id)
                .param("MaintainStartTime", "04:00Z")
                .param("MaintainEndTime", "05:00Z"),
        ]),
        steps: &[("ModifyInstanceMaintainTime", "none")],
        params: &[("MaintainStartTime", "02:00Z"), ("MaintainEndTime", "03:00Z")],
        gate: None,
    };
    tls: Case {
        labels: "",
        spec: "  engineVersion: \"5.0\"\n  ssl: Enable\n",
        drift: Drift::Cloud(|id| vec![request("ModifyInstanceSSL", id).param("SSLEnabled", "Disable")]),
        steps: &[("ModifyInstanceSSL", "restart")],
        params: &[("SSLEnabled", "Enable")],
        gate: None,
    };
    vpc_auth_mode: Case {
        labels: "",
        spec: "  network: {type: VPC, vpcId: vpc-bp1aspects01, vSwitchId: vsw-bp1aspects01}\n  vpcAuthMode: Close\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyInstanceVpcAuthMode", id).param("VpcAuthMode", "Open"),
        ]),
        steps: &[("ModifyInstanceVpcAuthMode", "none")],
        params: &[("VpcAuthMode", "Close")],
        gate: None,
    };
    whitelist_listed_group: Case {
        labels: "",
        spec: "  whitelists:\n    app: [10.0.1.0/24, 10.0.2.15]\n",
        drift: Drift::Cloud(|id| vec![security_ips(id, "app", "10.0.1.0/24,10.9.9.9")]),
        steps: &[("ModifySecurityIps", "none")],
        params: &[
            ("SecurityIpGroupName", "app"),
            ("SecurityIps", "10.0.1.0/24,10.0.2.15"),
            ("ModifyMode", "Cover"),
        ],
        gate: None,
    };
    whitelist_order_and_duplicates: Case {
        labels: "",
        spec: "  whitelists:\n    app: [10.0.1.0/24, 10.0.2.15]\n",
        drift: Drift::Cloud(|id| vec![security_ips(id, "app", "10.0.2.15,10.0.1.0/24,10.0.2.15")]),
        steps: &[],
        params: &[],
        gate: None,
    };
    whitelist_spelled_differently: Case {
        labels: "",
        spec: "  whitelists:\n    app: [10.0.2.15/32, 010.0.1.0/24]\n",
        drift: Drift::Cloud(|id| vec![security_ips(id, "app", "10.0.2.15/32,10.0.1.0/24")]),
        steps: &[],
        params: &[],
        gate: None,
    };
    whitelist_unlisted_group: Case {
        labels: "",
        spec: "  whitelists:\n    app: [10.0.1.0/24]\n",
        drift: Drift::Cloud(|id| vec![
            security_ips(id, "ops", "192.168.0.1"),
            security_ips(id, "default", "10.10.10.10"),
        ]),
        steps: &[],
        params: &[],
        gate: None,
    };
    config_declared_key: Case {
        labels: "",
        spec: "  config:\n    maxmemory-policy: allkeys-lru\n    hash-max-ziplist-entries: 1024\n",
        drift: Drift::Cloud(|id| vec![
            config(id, json!({"maxmemory-policy": "noeviction", "timeout": "300"})),
        ]),
        steps: &[("ModifyInstanceConfig", "none")],
        // Only the declared key that differs.
        params: &[("Config", r#"{"maxmemory-policy":"allkeys-lru"}"#)],
        gate: None,
    };
    config_undeclared_key: Case {
        labels: "",
        spec: "  config:\n    maxmemory-policy: allkeys-lru\n",
        drift: Drift::Cloud(|id| vec![config(id, json!({"timeout": "300", "appendonly": "no"}))]),
        steps: &[],
        params: &[],
        gate: None,
    };
    config_number_or_string: Case {
        labels: "",
        spec: "  config:\n    hash-max-ziplist-entries: 1024\n    timeout: \"300\"\n",
        drift: Drift::Manifest(
            "hash-max-ziplist-entries: 1024\n    timeout: \"300\"",
            "hash-max-ziplist-entries: \"1024\"\n    timeout: 300",
        ),
        steps: &[],
        params: &[],
        gate: None,
    };
    config_boolean: Case {
        labels: "",
        spec: "  config:\n    appendonly: true\n",
        drift: Drift::Manifest("appendonly: true", "appendonly: \"yes\""),
        steps: &[],
        params: &[],
        gate: None,
    };
    backup_policy: Case {
        labels: "",
        spec: "  backupPolicy: {time: \"02:00Z-03:00Z\", period: [Monday, Wednesday, Friday]}\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyBackupPolicy", id)
                .param("PreferredBackupTime", "05:00Z-06:00Z")
                .param("PreferredBackupPeriod", "Tuesday"),
        ]),
        steps: &[("ModifyBackupPolicy", "none")],
        params: &[
            ("PreferredBackupTime", "02:00Z-03:00Z"),
            ("PreferredBackupPeriod", "Monday,Wednesday,Friday"),
        ],
        gate: None,
    };
    backup_retention: Case {
        labels: "",
        spec: "  backupPolicy: {time: \"02:00Z-03:00Z\", period: [Monday], retentionDays: 30, backupLog: true}\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyBackupPolicy", id)
                .param("PreferredBackupTime", "02:00Z-03:00Z")
                .param("PreferredBackupPeriod", "Monday")
                .param("BackupRetentionPeriod", "7")
                .param("EnableBackupLog", "0"),
        ]),
        steps: &[("ModifyBackupPolicy", "none")],
        params: &[
            ("PreferredBackupTime", "02:00Z-03:00Z"),
            ("PreferredBackupPeriod", "Monday"),
            ("BackupRetentionPeriod", "30"),
            ("EnableBackupLog", "1"),
        ],
        gate: None,
    };
    endpoint_prefix: Case {
        labels: "",
        spec: "  endpoint: {prefix: aspectcache01, port: 6380}\n",
        drift: Drift::Cloud(|id| vec![
            Request::new("ModifyDBInstanceConnectionString")
                .param("DBInstanceId", id)
                .param("CurrentConnectionString", "aspectcache01.redis.rds.aliyuncs.com")
                .param("NewConnectionString", "elsewhere01"),
        ]),
        steps: &[("ModifyDBInstanceConnectionString", "restart")],
        params: &[
            ("CurrentConnectionString", "elsewhere01.redis.rds.aliyuncs.com"),
            ("NewConnectionString", "aspectcache01"),
        ],
        gate: None,
    };
    endpoint_port: Case {
        labels: "",
        spec: "  endpoint: {port: 6380}\n",
        drift: Drift::Cloud(|id| vec![
            Request::new("ModifyDBInstanceConnectionString")
                .param("DBInstanceId", id)
                .param("CurrentConnectionString", &format!("{}.redis.rds.aliyuncs.com", id))
                .param("Port", "6390"),
        ]),
        steps: &[("ModifyDBInstanceConnectionString", "restart")],
        params: &[("Port", "6380")],
        gate: None,
    };
    architecture_replicas_and_zone: Case {
        labels: "",
        spec: "  nodeType: MASTER_SLAVE\n  replicaCount: 2\n  secondaryZoneId: cn-hangzhou-i\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyInstanceSpec", id)
                .param("ReplicaCount", "1")
                .param("SecondaryZoneId", "cn-hangzhou-g"),
        ]),
        steps: &[("ModifyInstanceSpec", "restart")],
        params: &[("ReplicaCount", "2"), ("SecondaryZoneId", "cn-hangzhou-i")],
        gate: None,
    };
    cluster_shards: Case {
        labels: "",
        spec: "  instanceClass: redis.logic.sharding.2g.4db.0rodb.4proxy.default\n  shardCount: 4\n",
        drift: Drift::Cloud(|id| vec![request("ModifyInstanceSpec", id).param("ShardCount", "8")]),
        steps: &[("ModifyInstanceSpec", "restart")],
        params: &[("ShardCount", "4")],
        gate: None,
    };
    read_only_nodes: Case {
        labels: "",
        spec: "  instanceClass: redis.logic.splitrw.default.1db.3rodb.4proxy\n  readOnlyCount: 3\n",
        drift: Drift::Cloud(|id| vec![request("ModifyInstanceSpec", id).param("ReadOnlyCount", "1")]),
        steps: &[("ModifyInstanceSpec", "restart")],
        params: &[("ReadOnlyCount", "3")],
        gate: None,
    };
    node_type_in_the_other_spelling: Case {
        labels: "",
        spec: "  nodeType: MASTER_SLAVE\n",
        drift: Drift::Manifest("nodeType: MASTER_SLAVE", "nodeType: double"),
        steps: &[],
        params: &[],
        gate: None,
    };
    backup_policy_days_in_another_order: Case {
        labels: "",
        spec: "  backupPolicy: {time: \"02:00Z-03:00Z\", period: [Monday, Wednesday, Friday]}\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyBackupPolicy", id)
                .param("PreferredBackupTime", "02:00Z-03:00Z")
                .param("PreferredBackupPeriod", "Friday,Monday,Wednesday"),
        ]),
        steps: &[],
        params: &[],
        gate: None,
    };
    account_created: Case {
        labels: "",
        spec: ACCOUNTS,
        drift: Drift::Cloud(|id| vec![request("DeleteAccount", id).param("AccountName", "app_rw")]),
        steps: &[("CreateAccount", "none")],
        params: &[
            ("AccountName", "app_rw"),
            ("AccountPrivilege", "RoleReadWrite"),
            ("AccountPassword", "{env: APP_RW_PASSWORD}"),
            ("AccountDescription", "orders service"),
        ],
        gate: None,
    };
    account_privilege: Case {
        labels: "",
        spec: ACCOUNTS,
        drift: Drift::Cloud(|id| vec![
            request("GrantAccountPrivilege", id)
                .param("AccountName", "app_rw")
                .param("AccountPrivilege", "RoleReadOnly"),
        ]),
        steps: &[("GrantAccountPrivilege", "none")],
        params: &[("AccountName", "app_rw"), ("AccountPrivilege", "RoleReadWrite")],
        gate: None,
    };
    account_description: Case {
        labels: "",
        spec: ACCOUNTS,
        drift: Drift::Cloud(|id| vec![
            request("ModifyAccountDescription", id)
                .param("AccountName", "app_rw")
                .param("AccountDescription", "someone else"),
        ]),
        steps: &[("ModifyAccountDescription", "none")],
        params: &[("AccountName", "app_rw"), ("AccountDescription", "orders service")],
        gate: None,
    };
    account_description_unmanaged: Case {
        labels: "",
        spec: "  engineVersion: \"5.0\"\n  accounts:\n    - name: app_rw\n      password: {env: APP_RW_PASSWORD}\n",
        drift: Drift::Cloud(|id| vec![
            request("ModifyAccountDescription", id)
                .param("AccountName", "app_rw")
                .param("AccountDescription", "someone else"),
        ]),
        steps: &[],
        params: &[],
        gate: None,
    };
    account_password: Case {
        labels: "",
        spec: ACCOUNTS,
        drift: Drift::Secret {
            var: "APP_RW_PASSWORD",
            value: "App-Rw-Passw0rd-2",
            account: Some("app_rw"),
        },
        // The new password, then its digest recorded in the instance's tags.
        steps: &[("ResetAccountPassword", "none"), ("TagResources", "none")],
        params: &[("AccountName", "app_rw"), ("AccountPassword", "{env: APP_RW_PASSWORD}")],
        gate: None,
    };
    account_deleted: Case {
        labels: "",
        spec: ACCOUNTS,
        drift: Drift::Cloud(|id| vec![
            request("CreateAccount", id)
                .param("AccountName", "intruder")
                .param("AccountPassword", "Intruder-Passw0rd-1")
                .param("AccountPrivilege", "RoleReadOnly"),
        ]),
        steps: &[("DeleteAccount", "destructive")],
        params: &[("AccountName", "intruder")],
        gate: Some("--allow-destroy"),
    };
}

/// An engine with every privilege, and one managed account.
const ACCOUNTS: &str = "  engineVersion: \"5.0\"
  accounts:
    - name: app_rw
      privilege: RoleReadWrite
      password: {env: APP_RW_PASSWORD}
      description: orders service
";

/// The whitelist groups the emulator reports, name → entries.
fn whitelist_groups(url: &str, id: &str) -> BTreeMap<String, String> {
    let body = ok(url, request("DescribeSecurityIps", id));
    body["SecurityIpGroups"]["SecurityIpGroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["SecurityIpGroupName"].as_str().unwrap().to_owned(),
                g["SecurityIpList"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn whitelists_change_only_the_listed_groups() {
    let text = manifest(
        "",
        "  whitelists:\n    app: [10.0.1.0/24, 10.0.2.15]\n    ops: [192.168.1.1]\n",
    );
    let fixture = Fixture::new(&text, SECRETS, &[]);
    fixture.apply(&[]);
    let id = fixture.instance_id();
    let url = fixture.emulator.url.clone();
    let groups = whitelist_groups(&url, &id);
    let system: BTreeMap<&str, String> = ["ali_dms_group", "hdm_security_ips"]
        .into_iter()
        .map(|name| (name, groups.get(name).cloned().expect(name)))
        .collect();
    assert_eq!(
        groups["default"], "127.0.0.1",
        "the default group is unlisted"
    );
    assert_eq!(fixture.emulator.count("ModifySecurityIps", "ok"), 2);

    // Both listed groups change out of band; the unlisted default group too.
    ok(&url, security_ips(&id, "app", "10.0.1.0/24"));
    ok(&url, security_ips(&id, "ops", "192.168.1.2"));
    ok(&url, security_ips(&id, "default", "10.10.10.10"));
    settle(&url, &id);
    let plan = fixture.plan_json();
    let groups: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["action"], "ModifySecurityIps");
            s["parameters"]["SecurityIpGroupName"].as_str().unwrap()
        })
        .collect();
    assert_eq!(groups, ["app", "ops"], "{plan:#}");
    fixture.apply(&[]);
    fixture.assert_no_changes("after the fix");

    let after = whitelist_groups(&url, &id);
    assert_eq!(after["default"], "10.10.10.10");
    for (name, entries) in &system {
        assert_eq!(&after[*name], entries, "system group {name}");
    }
    // No request ever tried a system group.
    let stats = fixture.emulator.stats();
    assert_eq!(
        stats["ModifySecurityIps"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["ok"],
        "{stats:#}"
    );
}

/// Every aspect but the network (a classic instance has no VPC auth mode) in one manifest.
fn every_aspect() -> String {
    manifest(
        "  labels: {team: orders}\n",
        "  engineVersion: \"5.0\"
  chargeType: PostPaid
  network: {type: VPC, vpcId: vpc-bp1aspects01, vSwitchId: vsw-bp1aspects01}
  password: {env: ASPECT_PASSWORD}
  releaseProtection: true
  maintenanceWindow: {start: \"23:00Z\", end: \"00:00Z\"}
  ssl: Enable
  vpcAuthMode: Close
  whitelists:
    default: [10.0.0.1]
    app: [10.0.1.0/24, 10.0.2.15]
  config:
    maxmemory-policy: allkeys-lru
    hash-max-ziplist-entries: 1024
    appendonly: yes
  backupPolicy: {time: \"02:00Z-03:00Z\", period: [Monday, Wednesday, Friday]}
  accounts:
    - name: app_rw
      privilege: RoleReadWrite
      password: {env: APP_RW_PASSWORD}
      description: orders service
    - name: app_ro
      privilege: RoleReadOnly
      password: {env: APP_RW_PASSWORD}
",
    )
}

#[test]
fn every_aspect_at_once_converges_and_changes_in_the_fixed_order() {
    let mut fixture = Fixture::new(&every_aspect(), SECRETS, &[]);
    fixture.apply(&[]);
    fixture.assert_no_changes("after the first apply");
    let id = fixture.instance_id();
    let url = fixture.emulator.url.clone();

    // Everything changes at once: out of band, in the manifest and in the secrets.
    for request in [
        request("ModifyInstanceSpec", &id).param("InstanceClass", "redis.master.mid.default"),
        request("ModifyInstanceAttribute", &id).param("InstanceReleaseProtection", "false"),
        request("ModifyInstanceMaintainTime", &id)
            .param("MaintainStartTime", "04:00Z")
            .param("MaintainEndTime", "05:00Z"),
        request("ModifyInstanceSSL", &id).param("SSLEnabled", "Disable"),
        request("ModifyInstanceVpcAuthMode", &id).param("VpcAuthMode", "Open"),
        security_ips(&id, "app", "10.9.9.9"),
        config(&id, json!({"maxmemory-policy": "noeviction"})),
        request("ModifyBackupPolicy", &id)
            .param("PreferredBackupTime", "05:00Z-06:00Z")
            .param("PreferredBackupPeriod", "Tuesday"),
        request("GrantAccountPrivilege", &id)
            .param("AccountName", "app_ro")
            .param("AccountPrivilege", "RoleReadWrite"),
        request("ModifyAccountDescription", &id)
            .param("AccountName", "app_rw")
            .param("AccountDescription", "someone else"),
        request("CreateAccount", &id)
            .param("AccountName", "intruder")
            .param("AccountPassword", "Intruder-Passw0rd-1"),
        tag(&id, "team", "web"),
    ] {
        ok(&url, request);
        settle(&url, &id);
    }
    let text = fixture
        .read()
        .replace("\"5.0\"", "\"6.0\"")
        .replace("chargeType: PostPaid", "chargeType: PrePaid\n  period: 1");
    fixture.write(&text);
    fixture
        .env
        .insert("ASPECT_PASSWORD".into(), "Instance-Passw0rd-2".into());
    fixture
        .env
        .insert("APP_RW_PASSWORD".into(), "App-Rw-Passw0rd-2".into());

    let plan = fixture.plan_json();
    let actions: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "ModifyInstanceSpec",
            "TransformToPrePaid",
            "ModifyInstanceMajorVersion",
            "ModifyInstanceAttribute",
            "ModifyInstanceMaintainTime",
            "ModifyInstanceSSL",
            "ModifyInstanceVpcAuthMode",
            "ModifySecurityIps",
            "ModifyInstanceConfig",
            "ModifyBackupPolicy",
            "GrantAccountPrivilege",
            "ResetAccountPassword",
            "ModifyAccountDescription",
            "ResetAccountPassword",
            "DeleteAccount",
            "TagResources",
        ],
        "{plan:#}"
    );
    let refused = fixture.kvsync(&["apply", "--auto-approve", "--allow-irreversible"]);
    assert_eq!(refused.status.code(), Some(1), "{}", texts(&refused).0);
    assert!(texts(&refused).1.contains("--allow-destroy"));
    fixture.apply(&["--allow-irreversible", "--allow-destroy"]);
    fixture.assert_no_changes("after the fix");
}

#[test]
fn tls_follows_an_engine_upgrade_that_brings_it() {
    let fixture = Fixture::new(&manifest("", "  engineVersion: \"2.8\"\n"), SECRETS, &[]);
    fixture.apply(&[]);
    // Redis 2.8 has no TLS: the plan upgrades first, then enables it.
    fixture.write(&manifest("", "  engineVersion: \"5.0\"\n  ssl: Enable\n"));
    let plan = fixture.plan_json();
    let actions: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["ModifyInstanceMajorVersion", "ModifyInstanceSSL"],
        "{plan:#}"
    );
    fixture.apply(&["--allow-irreversible"]);
    fixture.assert_no_changes("after the upgrade");
}

#[test]
fn tls_on_an_engine_without_it_is_blocked_not_attempted() {
    let fixture = Fixture::new(&manifest("", "  engineVersion: \"2.8\"\n"), SECRETS, &[]);
    fixture.apply(&[]);
    fixture.write(&manifest("", "  ssl: Enable\n"));
    let plan = fixture.plan_json();
    assert_eq!(plan["summary"]["steps"], 0, "{plan:#}");
    let blocked = &plan["instances"][0]["blocked"][0];
    assert_eq!(blocked["field"], "spec.ssl", "{plan:#}");
    let planned = fixture.kvsync(&["plan", "--detailed-exitcode"]);
    assert_eq!(planned.status.code(), Some(2), "{}", texts(&planned).0);
}

#[test]
fn vpc_auth_mode_follows_a_switch_into_a_vpc() {
    let fixture = Fixture::new(&manifest("", "  network: {type: Classic}\n"), SECRETS, &[]);
    fixture.apply(&[]);
    fixture.write(&manifest(
        "",
        "  network: {type: VPC, vpcId: vpc-bp1aspects01, vSwitchId: vsw-bp1aspects01}\n  vpcAuthMode: Close\n",
    ));
    let plan = fixture.plan_json();
    let actions: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["SwitchNetwork", "ModifyInstanceVpcAuthMode"],
        "{plan:#}"
    );
    fixture.apply(&["--allow-irreversible"]);
    fixture.assert_no_changes("after the switch");
}

#[test]
fn empty_accounts_and_labels_remove_all_but_kvsync_tags() {
    let fixture = Fixture::new(
        &manifest("  labels: {team: orders}\n", ACCOUNTS),
        SECRETS,
        &[],
    );
    fixture.apply(&[]);
    fixture.write(&manifest(
        "  labels: {}\n",
        "  engineVersion: \"5.0\"\n  accounts: []\n",
    ));
    let plan = fixture.plan_json();
    let steps = plan["steps"].as_array().unwrap();
    let actions: Vec<&str> = steps
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["DeleteAccount", "UntagResources"], "{plan:#}");
    let removed: Vec<&str> = steps[1]["parameters"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("TagKey."))
        .map(|(_, v)| v.as_str().unwrap())
        .collect();
    assert_eq!(removed, ["kvsync:pw", "team"], "{plan:#}");
    fixture.apply(&["--allow-destroy"]);
    fixture.assert_no_changes("after the removal");
    let instances = fixture.emulator.instances();
    let keys: Vec<&str> = instances[0]["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["kvsync:managed", "kvsync:stack"], "{instances:?}");
}

#[test]
fn a_plan_reads_only_what_the_manifest_manages() {
    let fixture = Fixture::new(&manifest("", ""), SECRETS, &[]);
    fixture.apply(&[]);
    let before = fixture.emulator.stats();
    fixture.assert_no_changes("after the first apply");
    let after = fixture.emulator.stats();
    let read: Vec<&String> = after
        .as_object()
        .unwrap()
        .keys()
        .filter(|action| after[action.as_str()] != before[action.as_str()])
        .collect();
    assert_eq!(read, ["DescribeInstances"], "{after:#}");

    fixture.write(&manifest("", "  whitelists:\n    default: [127.0.0.1]\n"));
    let before = fixture.emulator.stats();
    fixture.assert_no_changes("with the default whitelist");
    let after = fixture.emulator.stats();
    let read: Vec<&String> = after
        .as_object()
        .unwrap()
        .keys()
        .filter(|action| after[action.as_str()] != before[action.as_str()])
        .collect();
    assert_eq!(
        read,
        ["DescribeInstances", "DescribeSecurityIps"],
        "{after:#}"
    );
}

/// Tag keys of the instance, in the emulator's order.
fn tag_keys(fixture: &Fixture) -> Vec<String> {
    fixture.emulator.instances()[0]["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Key"].as_str().unwrap().to_owned())
        .collect()
}

/// An instance password and `count` accounts with passwords.
fn many_accounts(count: usize) -> String {
    let mut spec =
        String::from("  engineVersion: \"5.0\"\n  password: {env: ASPECT_PASSWORD}\n  accounts:\n");
    for n in 0..count {
        spec.push_str(&format!(
            "    - name: account_num_{n:02}\n      password: {{env: APP_RW_PASSWORD}}\n"
        ));
    }
    manifest("  labels: {team: orders}\n", &spec)
}

#[test]
fn password_digests_spread_over_several_tags_and_shrink_with_the_accounts() {
    let fixture = Fixture::new(&many_accounts(9), SECRETS, &[]);
    fixture.apply(&[]);
    fixture.assert_no_changes("after the first apply");
    let keys = tag_keys(&fixture);
    for key in ["kvsync:pw", "kvsync:pw.2", "kvsync:pw.3", "team"] {
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }

    fixture.write(&many_accounts(2));
    let plan = fixture.plan_json();
    let steps = plan["steps"].as_array().unwrap();
    let actions: Vec<&str> = steps
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[..7], ["DeleteAccount"; 7], "{plan:#}");
    assert_eq!(actions[7..], ["TagResources", "UntagResources"], "{plan:#}");
    assert_eq!(steps[8]["parameters"]["TagKey.1"], "kvsync:pw.2");
    assert_eq!(steps[8]["parameters"]["TagKey.2"], "kvsync:pw.3");
    fixture.apply(&["--allow-destroy"]);
    fixture.assert_no_changes("after the deletions");
    let keys = tag_keys(&fixture);
    assert_eq!(
        keys,
        ["kvsync:managed", "kvsync:pw", "kvsync:stack", "team"],
        "{keys:?}"
    );
}
