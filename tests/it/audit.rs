//! The audit log end to end: every write call of an apply is a line with its RequestId, the
//! same calls the emulator's journal shows; a killed apply leaves a log `kvsync audit` reads
//! (skipping a cut line, with a warning); refused writes carry the cloud's code; no password
//! ever enters it; it rotates by size and is read back whole, oldest first; and `kvsync audit`
//! filters by time and instance.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kvsync::api::actions::{Class, class_of};
use serde_json::Value;

use crate::daemon::{Daemon, INSTANCE as WATCHED, workspace};
use crate::secrets::{
    ALL, APP_RO, APP_RW, APP_RW_CHANGED, INSTANCE, INSTANCE_CHANGED, MANIFEST, REPL_FILE,
    assert_free_of,
};
use crate::support::{EmulatorProcess, http_get_json, run, texts, write_manifest};

/// A stack with an instance of each of `names`, each with an account described as
/// `description`.
fn manifest(names: &[&str], description: &str) -> String {
    let mut text = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: audited}
spec: {region: cn-hangzhou}
"
    .to_owned();
    for name in names {
        text.push_str(&format!(
            "---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: {name}}}
spec:
  zoneId: cn-hangzhou-h
  engineVersion: \"6.0\"
  instanceClass: redis.master.small.default
  accounts:
    - name: app
      privilege: RoleReadOnly
      description: {description}
      password: {{env: AUDIT_APP_PASSWORD}}
"
        ));
    }
    text
}

/// `kvsync apply --auto-approve --audit-log audit.jsonl` plus `extra`; the exit code,
/// stdout and stderr.
fn apply(emulator: &EmulatorProcess, dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let output = run(emulator
        .kvsync(dir)
        .env("AUDIT_APP_PASSWORD", "Audit-App-Pw-2024")
        .args(["apply", "--auto-approve", "--audit-log", "audit.jsonl"])
        .args(extra));
    let (stdout, stderr) = texts(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// `kvsync audit` plus `args` (the log `audit.jsonl` unless they name one); the exit code,
/// stdout and stderr.
fn audit(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = crate::support::kvsync(dir);
    command.arg("audit");
    if !args.contains(&"--audit-log") {
        command.args(["--audit-log", "audit.jsonl"]);
    }
    let output = run(command.args(args));
    let (stdout, stderr) = texts(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

/// The records `kvsync audit --json` prints.
fn records(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, stdout, stderr) = audit(dir, &all);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The write calls the emulator accepted, in order (a write as the wire crate declares it).
fn journal_writes(emulator: &EmulatorProcess) -> Vec<Value> {
    http_get_json(&format!("{}/_emulator/requests", emulator.url))
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            matches!(
                class_of(r["action"].as_str().unwrap_or_default()),
                Some(Class::Write(_))
            )
        })
        .collect()
}

fn actions(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn every_write_of_an_apply_is_recorded_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    write_manifest(dir.path(), &manifest(&["orders-cache"], "first"));
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // A second apply changes the account's description: one more write.
    write_manifest(dir.path(), &manifest(&["orders-cache"], "second"));
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let sent = journal_writes(&emulator);
    let recorded = records(dir.path(), &[]);
    assert!(sent.len() >= 3, "{sent:#?}");
    assert_eq!(actions(&recorded), actions(&sent), "{recorded:#?}");
    assert!(actions(&recorded).contains(&"CreateInstance".to_owned()));
    assert!(actions(&recorded).contains(&"ModifyAccountDescription".to_owned()));
    let mut ids = Vec::new();
    for (record, request) in recorded.iter().zip(&sent) {
        assert_eq!(record["outcome"], "ok", "{record}");
        // The last four characters of the key the journal saw, and no more.
        let key = request["access_key_id"].as_str().unwrap();
        let tail: String = key
            .chars()
            .skip(key.chars().count().saturating_sub(4))
            .collect();
        assert_eq!(record["access_key_id"], format!("…{tail}").as_str());
        assert_eq!(record["stack"], "audited");
        assert_eq!(record["instance"], "cn-hangzhou/orders-cache");
        assert_eq!(record["region"], "cn-hangzhou");
        assert!(
            record["who"].as_str().unwrap().starts_with("apply:"),
            "{record}"
        );
        assert!(record["attempts"].as_u64().unwrap() >= 1);
        let id = record["request_id"].as_str().unwrap();
        assert!(!id.is_empty(), "{record}");
        ids.push(id.to_owned());
        // Every parameter recorded is the one sent; secrets only by name.
        for (name, value) in record["params"].as_object().unwrap() {
            if value == "(secret)" {
                assert!(
                    request["parameters"][name]
                        .as_str()
                        .unwrap()
                        .starts_with("sha256:")
                );
            } else {
                assert_eq!(&request["parameters"][name], value, "{name} of {record}");
            }
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), recorded.len(), "request IDs are unique");
    // Reads are not audited.
    assert!(!actions(&recorded).iter().any(|a| a.starts_with("Describe")));

    // The table shows each call with its request ID.
    let (code, table, stderr) = audit(dir.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    let header = table.lines().next().unwrap();
    for column in [
        "TIME",
        "WHO",
        "INSTANCE",
        "ACTION",
        "OUTCOME",
        "REQUEST ID",
        "DURATION",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(table.lines().count(), recorded.len() + 1, "{table}");
    for id in &ids {
        assert!(table.contains(id.as_str()), "{table}");
    }
    assert!(stderr.is_empty(), "{stderr}");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]");
    settings.add_filter(r"apply:\S+", "apply:[host-pid]");
    settings.add_filter(
        r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}",
        "[request-id]",
    );
    settings.add_filter(r"\b\d+(\.\d)?m?s\b", "[duration]");
    settings.set_prepend_module_to_snapshot(false);
    // Column widths follow the host name and process ID.
    settings.add_filter(r"  +", "  ");
    settings.bind(|| insta::assert_snapshot!("audit_table", table));
}

#[test]
fn a_killed_apply_leaves_a_log_that_reads_and_a_cut_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &["--create-seconds", "3"]);
    write_manifest(dir.path(), &manifest(&["orders-cache"], "first"));
    let log = dir.path().join("audit.jsonl");
    let mut child = emulator
        .kvsync(dir.path())
        .env("AUDIT_APP_PASSWORD", "Audit-App-Pw-2024")
        .args(["apply", "--auto-approve", "--audit-log", "audit.jsonl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed while it waits for the instance it created.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("CreateInstance")) {
        assert!(Instant::now() < deadline, "no CreateInstance recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    assert!(child.wait().unwrap().code().is_none());
    let recorded = records(dir.path(), &[]);
    assert_eq!(actions(&recorded), ["CreateInstance"], "{recorded:#?}");
    assert_eq!(actions(&journal_writes(&emulator)), ["CreateInstance"]);

    // At worst a crash cuts the line being written: it is skipped and named.
    let whole = std::fs::read_to_string(&log).unwrap();
    let line = whole.lines().next().unwrap();
    std::fs::write(&log, format!("{whole}{}", &line[..line.len() / 2])).unwrap();
    let (code, stdout, stderr) = audit(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("CreateInstance"), "{stdout}");
    // Named as given (relative to the working directory), with the line number.
    assert!(
        stderr.starts_with("warning: audit.jsonl:2: skipped a line: the line is cut short"),
        "{stderr}"
    );

    // The next apply finishes the job; its records start on a line of their own.
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, json, stderr) = audit(dir.path(), &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    let recorded: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(actions(&recorded), actions(&journal_writes(&emulator)));
    assert!(recorded.len() >= 2, "{recorded:#?}");
}

#[test]
fn a_refused_write_is_recorded_with_the_cloud_code_and_request_id() {
    let dir = tempfile::tempdir().unwrap();
    // The cloud refuses every call carrying a password.
    let emulator = EmulatorProcess::start(dir.path(), &["--signature-fault", "Password"]);
    write_manifest(
        dir.path(),
        &manifest(&["orders-cache"], "first").replace(
            "  accounts:",
            "  password: {env: AUDIT_APP_PASSWORD}\n  accounts:",
        ),
    );
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let recorded = records(dir.path(), &[]);
    assert_eq!(actions(&recorded), ["CreateInstance"], "{recorded:#?}");
    let record = &recorded[0];
    assert_eq!(record["outcome"], "SignatureDoesNotMatch", "{record}");
    assert!(
        !record["request_id"].as_str().unwrap().is_empty(),
        "{record}"
    );
    assert_eq!(record["params"]["Password"], "(secret)");
    assert_eq!(record["instance"], "cn-hangzhou/orders-cache");
    // The refusal quoted the password back; none of it reached the log.
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_free_of(&["Audit-App-Pw-2024"], "the audit log", &text);
    let (_, table, _) = audit(dir.path(), &[]);
    assert!(table.contains("SignatureDoesNotMatch"), "{table}");
}

#[test]
fn no_secret_reaches_the_audit_log_or_its_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/instance.yaml"), MANIFEST).unwrap();
    std::fs::write(
        dir.path().join("manifests/repl-password"),
        format!("{REPL_FILE}\n"),
    )
    .unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let apply = |instance: &str, app_rw: &str| {
        let output = run(emulator
            .kvsync(dir.path())
            .envs([(INSTANCE.0, instance), (APP_RW.0, app_rw), APP_RO])
            .args(["apply", "--auto-approve", "--audit-log", "audit.jsonl"]));
        let (stdout, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    };
    // Create with every password, then change the instance's and an account's.
    apply(INSTANCE.1, APP_RW.1);
    apply(INSTANCE_CHANGED, APP_RW_CHANGED);
    let recorded = records(dir.path(), &[]);
    let sent = actions(&recorded);
    for action in ["CreateInstance", "CreateAccount", "ResetAccountPassword"] {
        assert!(sent.contains(&action.to_owned()), "{sent:?}");
    }
    let text = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(text.contains("\"(secret)\""), "{text}");
    assert_free_of(ALL, "the audit log", &text);
    for args in [&[][..], &["--json"]] {
        let (code, stdout, stderr) = audit(dir.path(), args);
        assert_eq!(code, 0, "{stderr}");
        assert_free_of(ALL, "kvsync audit", &stdout);
        assert_free_of(ALL, "kvsync audit's stderr", &stderr);
    }
}

#[test]
fn the_log_rotates_by_size_and_is_read_back_whole_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let small = ["--audit-max-bytes", "1500"];
    for round in ["first", "second", "third", "fourth"] {
        write_manifest(dir.path(), &manifest(&["orders-cache"], round));
        let (code, stdout, stderr) = apply(&emulator, dir.path(), &small);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }
    let log = dir.path().join("audit.jsonl");
    let rotated = |n: usize| PathBuf::from(format!("{}.{n}", log.display()));
    assert!(rotated(1).exists() && rotated(2).exists());
    assert!(!rotated(6).exists());
    for n in 1..=5 {
        if let Ok(meta) = std::fs::metadata(rotated(n)) {
            assert!(meta.len() <= 1500, "FILE.{n} has {} bytes", meta.len());
        }
    }
    let sent = journal_writes(&emulator);
    let recorded = records(dir.path(), &[]);
    assert!(!rotated(5).exists(), "nothing was dropped");
    assert_eq!(actions(&recorded), actions(&sent));
    let times: Vec<jiff::Timestamp> = recorded
        .iter()
        .map(|r| r["time"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let descriptions: Vec<&str> = recorded
        .iter()
        .filter(|r| r["action"] == "ModifyAccountDescription")
        .map(|r| r["params"]["AccountDescription"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions, ["second", "third", "fourth"]);
}

#[test]
fn audit_filters_by_time_and_instance() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    write_manifest(
        dir.path(),
        &manifest(&["orders-cache", "carts-cache"], "first"),
    );
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // A record of long ago, of the same instance.
    let log = dir.path().join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let old = text
        .lines()
        .find(|l| l.contains("orders-cache"))
        .unwrap()
        .replacen("\"time\":\"20", "\"time\":\"19", 1);
    std::fs::write(&log, format!("{old}\n{text}")).unwrap();

    let all = records(dir.path(), &[]);
    let orders: Vec<&Value> = all
        .iter()
        .filter(|r| r["instance"] == "cn-hangzhou/orders-cache")
        .collect();
    assert!(orders.len() >= 3, "{all:#?}");
    assert!(
        all.iter()
            .any(|r| r["instance"] == "cn-hangzhou/carts-cache")
    );

    let recent = records(
        dir.path(),
        &["--since", "10m", "--instance", "orders-cache"],
    );
    assert_eq!(recent.len(), orders.len() - 1, "{recent:#?}");
    assert!(
        recent
            .iter()
            .all(|r| r["instance"] == "cn-hangzhou/orders-cache")
    );
    let by_key = records(dir.path(), &["--instance", "cn-hangzhou/orders-cache"]);
    assert_eq!(by_key.len(), orders.len());
    let later = records(dir.path(), &["--since", "2999-01-01T00:00:00Z"]);
    assert!(later.is_empty(), "{later:#?}");
    let (code, _, stderr) = audit(dir.path(), &["--since", "soon"]);
    assert_eq!(code, 64, "{stderr}");
}

#[test]
fn instance_commands_record_their_writes_too() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    write_manifest(dir.path(), &manifest(&["orders-cache"], "first"));
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let output = run(emulator.kvsync(dir.path()).args([
        "backup",
        "orders-cache",
        "--auto-approve",
        "--audit-log",
        "audit.jsonl",
    ]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let recorded = records(dir.path(), &["--instance", "orders-cache"]);
    assert_eq!(actions(&recorded), actions(&journal_writes(&emulator)));
    let backup = recorded.last().unwrap();
    assert_eq!(backup["action"], "CreateBackup", "{recorded:#?}");
    assert_eq!(backup["instance"], "cn-hangzhou/orders-cache");
    assert_eq!(backup["stack"], "audited");
    assert!(
        backup["who"].as_str().unwrap().starts_with("backup:"),
        "{backup}"
    );
    assert!(!backup["request_id"].as_str().unwrap().is_empty());
}

#[test]
fn the_daemon_audits_by_default_under_its_state_directory() {
    let dir = workspace(WATCHED);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1h"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    drop(daemon);
    let log = dir.path().join(".kvsync/audit.jsonl");
    assert!(log.exists());
    let recorded = records(dir.path(), &["--audit-log", ".kvsync/audit.jsonl"]);
    assert_eq!(actions(&recorded), actions(&journal_writes(&emulator)));
    assert!(actions(&recorded).contains(&"CreateInstance".to_owned()));
    for record in &recorded {
        assert!(
            record["who"].as_str().unwrap().starts_with("daemon:"),
            "{record}"
        );
        assert_eq!(record["stack"], "watched");
        assert_eq!(record["instance"], "cn-hangzhou/watched-cache");
        assert_eq!(record["outcome"], "ok");
    }
}

#[test]
fn a_retried_write_is_one_record_with_its_attempts() {
    let dir = tempfile::tempdir().unwrap();
    // The first CreateInstance commits, then its answer is lost: the client sends it again.
    let emulator = EmulatorProcess::start(dir.path(), &["--lose-response", "CreateInstance:1"]);
    write_manifest(dir.path(), &manifest(&["orders-cache"], "first"));
    let (code, stdout, stderr) = apply(&emulator, dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let sent = actions(&journal_writes(&emulator));
    assert_eq!(
        sent.iter().filter(|a| *a == "CreateInstance").count(),
        2,
        "{sent:?}"
    );
    let recorded = records(dir.path(), &[]);
    let creates: Vec<&Value> = recorded
        .iter()
        .filter(|r| r["action"] == "CreateInstance")
        .collect();
    assert_eq!(creates.len(), 1, "{recorded:#?}");
    assert_eq!(creates[0]["attempts"], 2);
    assert_eq!(creates[0]["outcome"], "ok");
    assert!(!creates[0]["request_id"].as_str().unwrap().is_empty());
}
