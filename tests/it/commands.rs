//! The instance commands end to end, through the real binary and the emulator: `backup`,
//! `backups`, `restore`, `flush` and `renew-cert`, their gates, confirmation, `--id` and
//! `--json`.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::support::{
    EmulatorProcess, Request, call, create_normal_instance, http_get_json, post_json, run, texts,
    write_manifest,
};

const NAME: &str = "orders-cache";

fn manifest(spec_extra: &str) -> String {
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata: {{name: commands}}
spec: {{region: cn-hangzhou}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: {NAME}}}
spec:
  zoneId: cn-hangzhou-h
  engineVersion: \"6.0\"
  instanceClass: redis.master.small.default
{spec_extra}"
    )
}

/// Applies `text` and returns the one instance's ID.
fn seed(emulator: &EmulatorProcess, dir: &Path, text: &str) -> String {
    write_manifest(dir, text);
    let created = run(emulator.kvsync(dir).args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&created);
    assert_eq!(created.status.code(), Some(0), "{stdout}\n{stderr}");
    let instances = emulator.instances();
    assert_eq!(instances.len(), 1, "{instances:?}");
    instances[0]["InstanceId"].as_str().unwrap().to_owned()
}

/// The actions the emulator received, in order.
fn actions(emulator: &EmulatorProcess) -> Vec<String> {
    requests(emulator)
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn requests(emulator: &EmulatorProcess) -> Vec<Value> {
    http_get_json(&format!("{}/_emulator/requests", emulator.url))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn sent(emulator: &EmulatorProcess, action: &str) -> Vec<Value> {
    requests(emulator)
        .into_iter()
        .filter(|r| r["action"] == action)
        .collect()
}

/// Runs kvsync against the emulator in `dir`; exit code, stdout, stderr.
fn kvsync(emulator: &EmulatorProcess, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = run(emulator.kvsync(dir).args(args));
    let (stdout, stderr) = texts(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

fn stamp(offset_minutes: i64) -> String {
    let at = Timestamp::now() + SignedDuration::from_mins(offset_minutes);
    at.strftime("%Y-%m-%dT%H:%MZ").to_string()
}

/// The backup sets the API lists for `id` (the last hour).
async fn listed(emulator: &EmulatorProcess, id: &str) -> Vec<Value> {
    let (status, body) = call(
        &emulator.url,
        Request::new("DescribeBackups")
            .param("InstanceId", id)
            .param("StartTime", &stamp(-60))
            .param("EndTime", &stamp(2)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["Backups"]["Backup"].as_array().cloned().unwrap()
}

/// The newest `Keys` monitor value of `id` (`None`: the instance holds no key).
async fn keys_now(emulator: &EmulatorProcess, id: &str) -> Option<u64> {
    let (status, body) = call(
        &emulator.url,
        Request::new("DescribeHistoryMonitorValues")
            .param("InstanceId", id)
            .param("StartTime", &stamp(-5))
            .param("EndTime", &stamp(1))
            .param("IntervalForHistory", "01m")
            .param("MonitorKeys", "Keys"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let history: serde_json::Map<String, Value> =
        serde_json::from_str(body["MonitorHistory"].as_str().unwrap()).unwrap();
    let (_, newest) = history.iter().next_back().expect("at least one point");
    newest
        .get("Keys")
        .map(|keys| keys.as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn backup_waits_for_the_set_and_backups_lists_every_one_with_a_failed_one() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &["--backup-seconds", "0.5"]);
    let id = seed(&emulator, dir.path(), &manifest(""));

    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backup", NAME, "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let sets = listed(&emulator, &id).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0]["BackupStatus"], "Success");
    let first = sets[0]["BackupId"].as_i64().unwrap().to_string();
    let job = sets[0]["BackupJobID"].as_i64().unwrap().to_string();
    assert!(
        stdout.contains(&format!(
            "Backup set {first} of cn-hangzhou/{NAME} ({id}) is finished (job {job})"
        )),
        "{stdout}"
    );

    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["backup", NAME, "--auto-approve", "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let document: Value = serde_json::from_str(stdout.trim()).expect("one JSON document");
    assert_eq!(document["command"], "backup");
    assert!(document["format_version"].is_u64(), "{document}");
    assert_eq!(
        document["instance"],
        serde_json::json!({"region": "cn-hangzhou", "name": NAME, "instance_id": id})
    );
    assert_eq!(document["exit_code"], 0);
    let second = document["result"]["backup_id"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(document["result"]["job_id"].is_string(), "{document}");
    let sets = listed(&emulator, &id).await;
    assert!(
        sets.iter()
            .any(|s| s["BackupId"].as_i64().unwrap().to_string() == second
                && s["BackupStatus"] == "Success"),
        "{sets:?}"
    );

    post_json(&format!("{}/_emulator/faults?fail_backups=1", emulator.url));
    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backup", NAME, "--auto-approve"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("Failed"), "{stderr}");
    assert!(stderr.contains(&id), "{stderr}");

    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backups", NAME]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("3 backups of"), "{stdout}");
    assert!(stdout.contains("STATUS"), "{stdout}");
    for backup in [&first, &second] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(backup.as_str()) && l.contains("Success")),
            "{stdout}"
        );
    }
    assert!(stdout.lines().any(|l| l.contains("Failed")), "{stdout}");

    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backups", NAME, "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let document: Value = serde_json::from_str(stdout.trim()).expect("one JSON document");
    assert_eq!(document["command"], "backups");
    let list = document["result"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{document}");
    let statuses: Vec<&str> = list.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "Success").count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == "Failed").count(),
        1,
        "{statuses:?}"
    );
    assert!(
        list.iter().any(|s| s["backup_id"] == first.as_str()),
        "{document}"
    );

    // A range that ends before the backups lists none; a bad range is a usage error with no
    // call.
    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &[
            "backups",
            NAME,
            "--from",
            "2020-01-01T00:00:00Z",
            "--to",
            "2020-01-02T00:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("No backups of"), "{stdout}");
    let before = actions(&emulator).len();
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &[
            "backups",
            NAME,
            "--from",
            "2020-01-02T00:00:00Z",
            "--to",
            "2020-01-01T00:00:00Z",
        ],
    );
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("must end after it starts"), "{stderr}");
    let (code, _, stderr) = kvsync(&emulator, dir.path(), &["backups", NAME, "--since", "731d"]);
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("from 1m to 730d"), "{stderr}");
    assert_eq!(actions(&emulator).len(), before);
}

#[tokio::test]
async fn flush_and_restore_refuse_without_the_gate_and_restore_brings_the_data_back() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let id = seed(&emulator, dir.path(), &manifest(""));
    let keys = keys_now(&emulator, &id)
        .await
        .expect("a new instance holds keys");

    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["backup", NAME, "--auto-approve", "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let document: Value = serde_json::from_str(stdout.trim()).unwrap();
    let backup = document["result"]["backup_id"].as_str().unwrap().to_owned();

    let before = requests(&emulator).len();
    let (code, _, stderr) = kvsync(&emulator, dir.path(), &["flush", NAME, "--auto-approve"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--allow-destroy"), "{stderr}");
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["restore", NAME, "--backup", &backup, "--auto-approve"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--allow-destroy"), "{stderr}");
    assert_eq!(requests(&emulator).len(), before, "no call at all");

    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["flush", NAME, "--allow-destroy", "--auto-approve"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("Flushed cn-hangzhou/{NAME} ({id})")),
        "{stdout}"
    );
    assert_eq!(sent(&emulator, "FlushInstance").len(), 1);
    assert_eq!(keys_now(&emulator, &id).await, None, "flushed");

    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &[
            "restore",
            NAME,
            "--backup",
            &backup,
            "--allow-destroy",
            "--auto-approve",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let document: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(document["command"], "restore");
    assert_eq!(document["result"]["backup_id"], backup.as_str());
    let restores = sent(&emulator, "RestoreInstance");
    assert_eq!(restores.len(), 1, "{restores:?}");
    assert_eq!(restores[0]["parameters"]["BackupId"], backup.as_str());
    assert_eq!(
        keys_now(&emulator, &id).await,
        Some(keys),
        "the data is back"
    );
    let instances = emulator.instances();
    assert_eq!(instances[0]["InstanceStatus"], "Normal", "{instances:?}");

    // A point in time is sent as such; the cloud's refusal (no data flashback) names its code,
    // message and request ID.
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &[
            "restore",
            NAME,
            "--time",
            "2026-01-02T03:04:05+01:00",
            "--allow-destroy",
            "--auto-approve",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("IncorrectBackupLogState"), "{stderr}");
    assert!(stderr.contains("RequestId"), "{stderr}");
    let restores = sent(&emulator, "RestoreInstance");
    assert_eq!(restores.len(), 2, "{restores:?}");
    assert_eq!(restores[1]["parameters"]["RestoreType"], "1");
    assert_eq!(
        restores[1]["parameters"]["RestoreTime"],
        "2026-01-02T02:04:05Z"
    );
    assert!(
        restores[1]["parameters"].get("BackupId").is_none(),
        "{restores:?}"
    );

    // Exactly one of --backup and --time.
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["restore", NAME, "--allow-destroy", "--auto-approve"],
    );
    assert_eq!(code, 64, "{stderr}");
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &[
            "restore",
            NAME,
            "--backup",
            &backup,
            "--time",
            "2026-01-01T00:00:00Z",
            "--allow-destroy",
        ],
    );
    assert_eq!(code, 64, "{stderr}");
    assert_eq!(sent(&emulator, "RestoreInstance").len(), 2);
}

#[tokio::test]
async fn renew_cert_is_refused_while_tls_is_off_and_sends_update_once_it_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let id = seed(&emulator, dir.path(), &manifest(""));

    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["renew-cert", NAME, "--auto-approve"],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("TLS is off"), "{stderr}");
    assert!(sent(&emulator, "ModifyInstanceSSL").is_empty());

    write_manifest(dir.path(), &manifest("  ssl: Enable\n"));
    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(sent(&emulator, "ModifyInstanceSSL").len(), 1);

    let (code, stdout, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["renew-cert", NAME, "--auto-approve", "--json"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let document: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(document["instance"]["instance_id"], id.as_str());
    assert!(document["result"]["expiry"].is_string(), "{document}");
    let renewals = sent(&emulator, "ModifyInstanceSSL");
    assert_eq!(renewals.len(), 2, "{renewals:?}");
    assert_eq!(renewals[1]["parameters"]["SSLEnabled"], "Update");
}

#[tokio::test]
async fn an_id_needs_no_manifest_and_an_unknown_name_or_id_makes_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let id = seed(&emulator, dir.path(), &manifest(""));
    let bare = tempfile::tempdir().unwrap();

    let (code, stdout, stderr) = kvsync(
        &emulator,
        bare.path(),
        &[
            "backup",
            "--id",
            &id,
            "--region",
            "cn-hangzhou",
            "--auto-approve",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("cn-hangzhou/{NAME} ({id})")),
        "{stdout}"
    );
    assert_eq!(sent(&emulator, "CreateBackup").len(), 1);

    // Without --region, the Stack document's region.
    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backups", "--id", &id]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("1 backup of"), "{stdout}");
    let (code, _, stderr) = kvsync(&emulator, bare.path(), &["backups", "--id", &id]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--id needs a region"), "{stderr}");

    let (code, _, stderr) = kvsync(
        &emulator,
        bare.path(),
        &[
            "flush",
            "--id",
            "r-nope",
            "--region",
            "cn-hangzhou",
            "--allow-destroy",
            "--auto-approve",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no instance r-nope in cn-hangzhou"),
        "{stderr}"
    );
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["flush", "nope", "--allow-destroy", "--auto-approve"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no instance named \"nope\" in the manifests"),
        "{stderr}"
    );
    assert!(stderr.contains(NAME), "names the known ones: {stderr}");
    assert!(sent(&emulator, "FlushInstance").is_empty());

    // Two live instances of the name: both IDs named, no write; the ID still works.
    let twin = create_normal_instance(&emulator.url, "cn-hangzhou", NAME).await;
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["flush", NAME, "--allow-destroy", "--auto-approve"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("2 live instances") && stderr.contains(&id) && stderr.contains(&twin),
        "{stderr}"
    );
    assert!(sent(&emulator, "FlushInstance").is_empty());
    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backups", "--id", &twin]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("No backups of cn-hangzhou/{NAME} ({twin})")),
        "{stdout}"
    );

    // A manifest instance with no live instance.
    write_manifest(dir.path(), &manifest("").replace(NAME, "not-created"));
    let (code, _, stderr) = kvsync(
        &emulator,
        dir.path(),
        &["backup", "not-created", "--auto-approve"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no live instance"), "{stderr}");
    assert_eq!(sent(&emulator, "CreateBackup").len(), 1);
}

#[tokio::test]
async fn off_a_terminal_a_write_without_approval_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    seed(&emulator, dir.path(), &manifest(""));
    let before = requests(&emulator).len();
    for args in [
        &["backup", NAME][..],
        &["flush", NAME, "--allow-destroy"],
        &["restore", NAME, "--backup", "1", "--allow-destroy"],
        &["renew-cert", NAME],
    ] {
        let (code, stdout, stderr) = kvsync(&emulator, dir.path(), args);
        assert_eq!(code, 1, "{args:?}: {stdout}\n{stderr}");
        assert!(stderr.contains("--auto-approve"), "{args:?}: {stderr}");
        assert!(stderr.contains("not a terminal"), "{args:?}: {stderr}");
    }
    let (code, _, stderr) = kvsync(&emulator, dir.path(), &["backup", NAME, "--json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("backup --json does not ask"), "{stderr}");
    assert_eq!(requests(&emulator).len(), before, "no call at all");
    // A read needs no approval.
    let (code, stdout, stderr) = kvsync(&emulator, dir.path(), &["backups", NAME]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[tokio::test]
async fn ctrl_c_while_waiting_exits_130_and_says_the_call_was_made() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &["--backup-seconds", "60"]);
    seed(&emulator, dir.path(), &manifest(""));
    let child = emulator
        .kvsync(dir.path())
        // The timeout bounds the test should the stop not work.
        .args(["backup", NAME, "--auto-approve", "--timeout", "20s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting backup");
    let started = std::time::Instant::now();
    while sent(&emulator, "CreateBackup").is_empty() {
        assert!(started.elapsed().as_secs() < 30, "no CreateBackup sent");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("waiting for backup");
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopped while waiting"), "{stderr}");
    assert!(stderr.contains("the call was made"), "{stderr}");
}
