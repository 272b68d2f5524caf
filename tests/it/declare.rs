//! What the API lets an operator declare beyond the first aspects, end to end: an instance
//! cloned from another's backup, and what is used only at creation.

use std::time::Duration;

use serde_json::Value;

use crate::support::{EmulatorProcess, Request, call_ok, run, texts, wait_normal, write_manifest};

const STACK: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: clones}
spec: {region: cn-hangzhou}
";

fn instance(name: &str, extra: &str) -> String {
    format!(
        "---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: {name}}}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
{extra}"
    )
}

fn id_of(emulator: &EmulatorProcess, name: &str) -> String {
    emulator
        .instances()
        .into_iter()
        .find(|i| i["InstanceName"] == name)
        .and_then(|i| i["InstanceId"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no instance {name}"))
}

#[tokio::test]
async fn an_instance_cloned_from_a_backup_has_the_source_config_and_plans_empty() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &["--backup-seconds", "0.3"]);
    let source = instance(
        "orders-cache",
        "  config:\n    maxmemory-policy: allkeys-lfu\n",
    );
    write_manifest(dir.path(), &format!("{STACK}{source}"));
    let created = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(created.status.code(), Some(0), "{}", texts(&created).0);
    let source_id = id_of(&emulator, "orders-cache");

    // A backup of the source, finished.
    let job = call_ok(
        &emulator.url,
        Request::new("CreateBackup").param("InstanceId", &source_id),
    )
    .await["BackupJobID"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut backup_id = String::new();
    for _ in 0..50 {
        let listed = call_ok(
            &emulator.url,
            Request::new("DescribeBackups")
                .param("InstanceId", &source_id)
                .param("StartTime", "2000-01-01T00:00Z")
                .param("EndTime", "2100-01-01T00:00Z"),
        )
        .await;
        if let Some(set) = listed["Backups"]["Backup"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["BackupJobID"].as_i64().map(|n| n.to_string()).as_deref() == Some(job.as_str())
            })
        {
            backup_id = set["BackupId"].to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!backup_id.is_empty(), "the backup was never listed");

    // The clone names its source by manifest name and takes none of its config itself.
    let clone = instance(
        "orders-copy",
        &format!("  source: {{instance: orders-cache, backupId: \"{backup_id}\"}}\n"),
    );
    write_manifest(dir.path(), &format!("{STACK}{source}{clone}"));
    let planned = run(emulator.kvsync(dir.path()).args(["plan", "--json"]));
    let plan: Value = serde_json::from_slice(&planned.stdout).unwrap();
    let create = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "CreateInstance")
        .expect("a create");
    assert_eq!(create["parameters"]["SrcDBInstanceId"], source_id.as_str());
    assert_eq!(create["parameters"]["BackupId"], backup_id.as_str());

    let applied = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    let copy_id = id_of(&emulator, "orders-copy");
    wait_normal(&emulator.url, &copy_id).await;
    let config = call_ok(
        &emulator.url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", &copy_id),
    )
    .await["Instances"]["DBInstanceAttribute"][0]["Config"]
        .as_str()
        .unwrap()
        .to_owned();
    let config: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["maxmemory-policy"], "allkeys-lfu", "{config}");

    // Nothing is left to do, and the source is only a note now that the clone exists.
    let again = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    let (stdout, stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("spec.source is used only when kvsync creates it"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_source_that_does_not_exist_blocks_the_create_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let clone = instance(
        "orders-copy",
        "  source: {instance: nowhere-cache, backupId: \"12\"}\n",
    );
    write_manifest(dir.path(), &format!("{STACK}{clone}"));
    let applied = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("nowhere-cache"), "{stdout}");
    assert_eq!(emulator.count("CreateInstance", "ok"), 0);
}

#[tokio::test]
async fn the_classic_endpoint_is_kept_as_declared_then_extended_and_plans_empty() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let classic = instance("legacy-cache", "  network: {type: Classic}\n");
    write_manifest(dir.path(), &format!("{STACK}{classic}"));
    let created = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(created.status.code(), Some(0), "{}", texts(&created).0);
    let id = id_of(&emulator, "legacy-cache");

    let vpc = |days: u32| {
        instance(
            "legacy-cache",
            &format!(
                "  network: {{type: VPC, vpcId: vpc-bp1legacy0001, vSwitchId: vsw-bp1legacy0001, classicRetentionDays: {days}}}\n"
            ),
        )
    };
    // The switch keeps the classic endpoint for the declared 30 days.
    write_manifest(dir.path(), &format!("{STACK}{}", vpc(30)));
    let switched =
        run(emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve", "--allow-irreversible"]));
    let (stdout, stderr) = texts(&switched);
    assert_eq!(switched.status.code(), Some(0), "{stdout}\n{stderr}");
    wait_normal(&emulator.url, &id).await;
    assert_eq!(remaining_days(&emulator.url, &id).await, 30);
    let again = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(again.status.code(), Some(0), "{}", texts(&again).0);

    // Declaring 60 extends it once; nothing is left afterwards.
    write_manifest(dir.path(), &format!("{STACK}{}", vpc(60)));
    let planned = run(emulator.kvsync(dir.path()).args(["plan", "--json"]));
    let plan: Value = serde_json::from_slice(&planned.stdout).unwrap();
    let actions: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["ModifyInstanceNetExpireTime", "TagResources"],
        "{plan:#}"
    );
    assert_eq!(plan["steps"][0]["parameters"]["ClassicExpiredDays"], "60");
    let extended = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&extended);
    assert_eq!(extended.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(remaining_days(&emulator.url, &id).await, 60);
    let done = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(done.status.code(), Some(0), "{}", texts(&done).0);

    // Shortened to 14 with the answer lost: the retry sets it again, nothing is left.
    drop(emulator);
    let lossy = EmulatorProcess::start(
        dir.path(),
        &["--lose-response", "ModifyInstanceNetExpireTime:1"],
    );
    write_manifest(dir.path(), &format!("{STACK}{}", vpc(14)));
    let shortened = run(lossy.kvsync(dir.path()).args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&shortened);
    assert_eq!(shortened.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        lossy.count("ModifyInstanceNetExpireTime", "lost-response"),
        1
    );
    assert_eq!(remaining_days(&lossy.url, &id).await, 14);
    let done = run(lossy
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(done.status.code(), Some(0), "{}", texts(&done).0);
}

/// Whole days until the retained classic endpoint of `id` expires.
async fn remaining_days(url: &str, id: &str) -> i64 {
    let info = call_ok(
        url,
        Request::new("DescribeDBInstanceNetInfo").param("InstanceId", id),
    )
    .await;
    let classic = info["NetInfoItems"]["InstanceNetInfo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["DBInstanceNetType"] == "1")
        .cloned()
        .expect("a retained classic endpoint");
    let seconds: f64 = classic["ExpiredTime"].as_str().unwrap().parse().unwrap();
    (seconds / 86_400.0).round() as i64
}

#[tokio::test]
async fn what_is_set_at_creation_is_what_the_cloud_reports() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let made = instance(
        "placed-cache",
        "  network: {type: VPC, vpcId: vpc-bp1placed0001, vSwitchId: vsw-bp1placed0001}
  privateIp: 172.16.9.20
  endpoint: {prefix: placedcache, port: 6390}
  nodeType: MASTER_SLAVE
  replicaCount: 2
  secondaryZoneId: cn-hangzhou-i
",
    );
    write_manifest(dir.path(), &format!("{STACK}{made}"));
    let created = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&created);
    assert_eq!(created.status.code(), Some(0), "{stdout}\n{stderr}");
    let id = id_of(&emulator, "placed-cache");
    let attribute = call_ok(
        &emulator.url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", &id),
    )
    .await["Instances"]["DBInstanceAttribute"][0]
        .clone();
    assert_eq!(attribute["PrivateIp"], "172.16.9.20", "{attribute:#}");
    assert_eq!(
        attribute["ConnectionDomain"],
        "placedcache.redis.rds.aliyuncs.com"
    );
    assert_eq!(attribute["Port"], 6390);
    assert_eq!(attribute["ReplicaCount"], 2);
    assert_eq!(attribute["SecondaryZoneId"], "cn-hangzhou-i");
    // Every one of them was sent with the create, none afterwards.
    assert_eq!(emulator.count("ModifyInstanceSpec", "ok"), 0);
    assert_eq!(emulator.count("ModifyDBInstanceConnectionString", "ok"), 0);
    let again = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(again.status.code(), Some(0), "{}", texts(&again).0);
}

#[test]
fn an_endpoint_prefix_another_instance_has_fails_with_the_cloud_reason() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let first = instance("first-cache", "  endpoint: {prefix: sharedprefix1}\n");
    let second = instance("second-cache", "");
    write_manifest(dir.path(), &format!("{STACK}{first}{second}"));
    let created = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(created.status.code(), Some(0), "{}", texts(&created).0);

    let taken = instance("second-cache", "  endpoint: {prefix: sharedprefix1}\n");
    write_manifest(dir.path(), &format!("{STACK}{first}{taken}"));
    let refused = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("InvalidConnectionStringOrPort.Duplicate"),
        "the cloud's reason, not a silent success: {stdout}"
    );
}
