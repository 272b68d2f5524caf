//! Change windows end to end, through the real binary and the emulator's clock: a resize the
//! cloud schedules for the window, a TLS change the daemon holds until the window opens,
//! `apply` outside the window (exit 3) and `--now`, and the backup before risky steps.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use crate::daemon::{Daemon, wait_until};
use crate::support::{
    EmulatorProcess, Request, advance_into_window, call, http_get_json, post_json, run, texts,
    window_in, write_manifest,
};

fn manifest(stack_extra: &str, window: &(String, String), spec_extra: &str) -> String {
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata: {{name: windows}}
spec: {{region: cn-hangzhou{stack_extra}}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: windowed-cache}}
spec:
  zoneId: cn-hangzhou-h
  engineVersion: \"6.0\"
  maintenanceWindow: {{start: \"{}\", end: \"{}\"}}
{spec_extra}",
        window.0, window.1
    )
}

/// The instance's attribute as the API reports it.
async fn attribute(emulator: &EmulatorProcess, id: &str) -> Value {
    let (status, body) = call(
        &emulator.url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", id),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["Instances"]["DBInstanceAttribute"][0].clone()
}

async fn ssl_enabled(emulator: &EmulatorProcess, id: &str) -> bool {
    let (status, body) = call(
        &emulator.url,
        Request::new("DescribeInstanceSSL").param("InstanceId", id),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["SSLEnabled"] == "Enable"
}

fn instance_id(emulator: &EmulatorProcess) -> String {
    let instances = emulator.instances();
    assert_eq!(instances.len(), 1, "{instances:?}");
    instances[0]["InstanceId"].as_str().unwrap().to_owned()
}

/// Every request the emulator accepted, in order.
fn received(emulator: &EmulatorProcess) -> Vec<Value> {
    http_get_json(&format!("{}/_emulator/requests", emulator.url))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn actions(emulator: &EmulatorProcess) -> Vec<String> {
    received(emulator)
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Creates the instance of `text` (every step of a new instance runs at once).
fn seed(emulator: &EmulatorProcess, dir: &Path, text: &str) -> String {
    write_manifest(dir, text);
    let created = run(emulator.kvsync(dir).args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&created);
    assert_eq!(created.status.code(), Some(0), "{stdout}\n{stderr}");
    instance_id(emulator)
}

#[tokio::test]
async fn a_resize_outside_the_window_is_ordered_for_it_and_happens_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    // Changes take long enough to see `Changing` when the window opens.
    let emulator = EmulatorProcess::start(dir.path(), &["--change-seconds", "4"]);
    let window = window_in(5);
    let small = "  instanceClass: redis.master.small.default\n";
    let mid = "  instanceClass: redis.master.mid.default\n";
    let id = seed(&emulator, dir.path(), &manifest("", &window, small));

    write_manifest(dir.path(), &manifest("", &window, mid));
    let planned = run(emulator.kvsync(dir.path()).args(["plan"]));
    let (stdout, _) = texts(&planned);
    assert!(
        stdout.contains("ModifyInstanceSpec") && stdout.contains("scheduled by the cloud"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("window {}-{}", window.0, window.1)),
        "{stdout}"
    );

    let applied = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Ordered for the cloud to make in the maintenance window"),
        "{stdout}"
    );
    let orders: Vec<Value> = received(&emulator)
        .into_iter()
        .filter(|r| r["action"] == "ModifyInstanceSpec")
        .collect();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["parameters"]["EffectiveTime"], "MaintainTime");

    // Until the window: Normal, still small, the order pending; a re-plan orders nothing.
    let before = attribute(&emulator, &id).await;
    assert_eq!(before["InstanceStatus"], "Normal");
    assert_eq!(before["InstanceClass"], "redis.master.small.default");
    assert_eq!(before["HasRenewChangeOrder"], "true");
    let replanned = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    let (stdout, stderr) = texts(&replanned);
    assert_eq!(replanned.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("ModifyInstanceSpec "), "{stdout}");
    assert!(stdout.contains("HasRenewChangeOrder"), "{stdout}");
    let again = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(again.status.code(), Some(0), "{}", texts(&again).0);
    let orders = actions(&emulator)
        .iter()
        .filter(|a| *a == "ModifyInstanceSpec")
        .count();
    assert_eq!(orders, 1, "no second order");

    // The window opens: Changing, then mid.
    advance_into_window(&emulator, &window.0, 1);
    let during = attribute(&emulator, &id).await;
    assert_eq!(during["InstanceStatus"], "Changing", "{during}");
    assert_eq!(during["InstanceClass"], "redis.master.small.default");
    let mut after = during;
    for _ in 0..100 {
        after = attribute(&emulator, &id).await;
        if after["InstanceStatus"] == "Normal" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after["InstanceStatus"], "Normal");
    assert_eq!(after["InstanceClass"], "redis.master.mid.default");
    assert_eq!(after["HasRenewChangeOrder"], "false");
    let converged = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    let (stdout, _) = texts(&converged);
    assert_eq!(converged.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("No changes"), "{stdout}");
}

#[tokio::test]
async fn apply_outside_the_window_holds_tls_names_it_and_exits_3_and_now_applies_it() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let window = window_in(7);
    let base =
        "  instanceClass: redis.master.small.default\n  whitelists:\n    app: [10.0.0.0/24]\n";
    let id = seed(&emulator, dir.path(), &manifest("", &window, base));

    let changed = "  instanceClass: redis.master.small.default\n  ssl: Enable\n  whitelists:\n    app: [10.0.9.0/24]\n";
    write_manifest(dir.path(), &manifest("", &window, changed));
    let applied = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("ModifyInstanceSSL"), "{stdout}");
    assert!(
        stdout.contains("held until the window opens at") && stdout.contains(&window.0),
        "{stdout}"
    );
    // Everything else was applied; TLS was not called.
    let sent = actions(&emulator);
    assert!(sent.iter().any(|a| a == "ModifySecurityIps"), "{sent:?}");
    assert!(!sent.iter().any(|a| a == "ModifyInstanceSSL"), "{sent:?}");
    assert!(!ssl_enabled(&emulator, &id).await);

    // JSON says the same.
    let json = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve", "--json"]));
    assert_eq!(json.status.code(), Some(3));
    let report: Value = texts(&json)
        .0
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["type"] == "report")
        .expect("a report line");
    assert_eq!(report["exit_code"], 3);
    assert!(
        report["blocked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["field"] == "ModifyInstanceSSL"),
        "{report}"
    );

    // `--now` is the gate that runs it anyway.
    let now = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve", "--now"]));
    let (stdout, stderr) = texts(&now);
    assert_eq!(now.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(ssl_enabled(&emulator, &id).await);
}

#[test]
fn the_daemon_holds_tls_until_the_window_opens_and_applies_the_whitelist_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let window = window_in(9);
    let base =
        "  instanceClass: redis.master.small.default\n  whitelists:\n    app: [10.0.0.0/24]\n";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = seed(&emulator, dir.path(), &manifest("", &window, base));

    let changed = "  instanceClass: redis.master.small.default\n  ssl: Enable\n  whitelists:\n    app: [10.0.9.0/24]\n";
    write_manifest(dir.path(), &manifest("", &window, changed));
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1s"],
    );
    let key = "cn-hangzhou/windowed-cache";
    let held = daemon.wait_for("the TLS change held", Duration::from_secs(30), |s| {
        s["instances"][key]["held"]
            .as_array()
            .is_some_and(|held| held.iter().any(|h| h["what"] == "ModifyInstanceSSL"))
    });
    let entry = &held["instances"][key];
    assert_eq!(entry["last_result"], "held", "{entry:#}");
    let opens: Timestamp = entry["held"][0]["opens"].as_str().unwrap().parse().unwrap();
    assert_eq!(opens.strftime("%H:%MZ").to_string(), window.0);
    // The whitelist went ahead; TLS did not.
    let sent = actions(&emulator);
    assert!(sent.iter().any(|a| a == "ModifySecurityIps"), "{sent:?}");
    assert!(!sent.iter().any(|a| a == "ModifyInstanceSSL"), "{sent:?}");
    let (_, metrics) = crate::support::http_get(&format!("{}/metrics", daemon.url));
    assert!(
        metrics.contains(&format!(
            "kvsync_instance_held_steps{{instance=\"{key}\"}} 1"
        )),
        "{metrics}"
    );

    advance_into_window(&emulator, &window.0, 5);
    wait_until(
        "TLS switched on in the window",
        Duration::from_secs(30),
        || runtime.block_on(ssl_enabled(&emulator, &id)),
    );
    let done = daemon.wait_for("nothing held", Duration::from_secs(30), |s| {
        s["instances"][key]["held"]
            .as_array()
            .is_some_and(Vec::is_empty)
            && s["instances"][key]["last_result"] != "held"
    });
    assert_ne!(done["instances"][key]["last_result"], "failed", "{done:#}");
}

#[tokio::test]
async fn a_backup_before_a_risky_step_finishes_first_and_a_failed_one_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &["--backup-seconds", "0.5"]);
    let window = window_in(11);
    let small = "  instanceClass: redis.master.small.default\n";
    let stack = ", disruption: immediate, backupBeforeRisky: true";
    let id = seed(&emulator, dir.path(), &manifest(stack, &window, small));
    let creation = actions(&emulator);
    assert!(
        !creation.iter().any(|a| a == "CreateBackup"),
        "a new instance has nothing to back up: {creation:?}"
    );

    // A failing backup: the resize is never sent.
    post_json(&format!("{}/_emulator/faults?fail_backups=1", emulator.url));
    write_manifest(
        dir.path(),
        &manifest(
            stack,
            &window,
            "  instanceClass: redis.master.mid.default\n",
        ),
    );
    let failed = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&failed);
    assert_eq!(failed.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("Failed"), "{stdout}");
    let sent = actions(&emulator);
    assert!(sent.iter().any(|a| a == "CreateBackup"), "{sent:?}");
    assert!(!sent.iter().any(|a| a == "ModifyInstanceSpec"), "{sent:?}");
    assert_eq!(
        attribute(&emulator, &id).await["InstanceClass"],
        "redis.master.small.default"
    );

    // Then a good one: it is listed as finished before the resize is sent.
    let applied = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("backup set"), "{stdout}");
    let sent = actions(&emulator);
    let spec = sent
        .iter()
        .position(|a| a == "ModifyInstanceSpec")
        .expect("the resize");
    let last_backup = sent
        .iter()
        .rposition(|a| a == "CreateBackup")
        .expect("a backup");
    assert!(last_backup < spec, "{sent:?}");
    assert!(
        sent[last_backup..spec]
            .iter()
            .any(|a| a == "DescribeBackups"),
        "waited for the backup: {sent:?}"
    );
    let (status, listed) = call(
        &emulator.url,
        Request::new("DescribeBackups")
            .param("InstanceId", &id)
            .param("StartTime", "2000-01-01T00:00Z")
            .param("EndTime", "2100-01-01T00:00Z"),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let sets = listed["Backups"]["Backup"].as_array().unwrap();
    let statuses: Vec<&str> = sets
        .iter()
        .map(|s| s["BackupStatus"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"Success"), "{listed}");
    assert!(statuses.contains(&"Failed"), "{listed}");
    let success = sets
        .iter()
        .find(|s| s["BackupStatus"] == "Success")
        .unwrap();
    assert!(
        stdout.contains(&success["BackupId"].to_string()),
        "the report names the backup: {stdout}"
    );
    assert_eq!(
        attribute(&emulator, &id).await["InstanceClass"],
        "redis.master.mid.default"
    );
}
