//! Apply for people and CI: the confirmation on a terminal, `apply --json`, heartbeats,
//! `validate --json` and `show`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{EmulatorProcess, repo, run, texts, workspace};

/// The calls that change something, by action (reads left out).
fn mutating_calls(emulator: &EmulatorProcess) -> BTreeMap<String, Value> {
    emulator
        .stats()
        .as_object()
        .map(|actions| {
            actions
                .iter()
                .filter(|(action, _)| {
                    !action.starts_with("Describe") && !action.starts_with("List")
                })
                .map(|(action, outcomes)| (action.clone(), outcomes.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// A pseudo-terminal: the master end for the test, the slave end for the child.
fn open_pty() -> (File, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    // SAFETY: openpty writes two new descriptors into the given integers; the name, termios
    // and window size arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Runs `command` with a pseudo-terminal as stdin, stdout and stderr; answers `answer` when
/// the confirmation is asked. Returns everything the child wrote, and its exit code.
fn run_on_terminal(mut command: Command, answer: &str) -> (String, Option<i32>) {
    let (mut master, slave) = open_pty();
    let child: Child = {
        command
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        let child = command.spawn().unwrap();
        drop(command);
        child
    };
    let mut reader = master.try_clone().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        // Reading the master fails (EIO) once the child has closed the terminal.
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = false;
    let mut child = child;
    loop {
        if let Ok(chunk) = receiver.recv_timeout(Duration::from_millis(100)) {
            seen.extend(chunk);
        }
        let text = String::from_utf8_lossy(&seen);
        if !answered && text.contains("Only 'yes' will be accepted:") {
            master.write_all(format!("{answer}\n").as_bytes()).unwrap();
            answered = true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            // Drain what is left.
            while let Ok(chunk) = receiver.recv_timeout(Duration::from_millis(300)) {
                seen.extend(chunk);
            }
            return (String::from_utf8_lossy(&seen).into_owned(), status.code());
        }
        assert!(
            Instant::now() < deadline,
            "apply on a terminal did not end: {text}"
        );
    }
}

#[test]
fn answering_no_on_a_terminal_makes_no_change() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut command = emulator.kvsync(dir.path());
    command.arg("apply");
    let (output, code) = run_on_terminal(command, "no");
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("Plan: 2 to create"), "{output}");
    assert!(
        output.contains("to 2 instances? Only 'yes' will be accepted:"),
        "{output}"
    );
    assert!(output.contains("Apply cancelled."), "{output}");
    assert_eq!(mutating_calls(&emulator), BTreeMap::new());
    assert!(emulator.instances().is_empty());
}

#[test]
fn answering_yes_on_a_terminal_applies() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut command = emulator.kvsync(dir.path());
    command.arg("apply");
    let (output, code) = run_on_terminal(command, "yes");
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("Converged"), "{output}");
    assert_eq!(emulator.instances().len(), 2);
}

#[test]
fn without_a_terminal_or_auto_approve_apply_refuses_before_any_call() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let before = emulator.total_requests();
    for extra in [&[][..], &["--json"]] {
        let refused = run(emulator
            .kvsync(dir.path())
            .arg("apply")
            .args(extra)
            .stdin(Stdio::null()));
        let (stdout, stderr) = texts(&refused);
        assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(stderr.contains("--auto-approve"), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
    }
    let (_, stderr) = texts(&run(emulator.kvsync(dir.path()).arg("apply")));
    assert!(stderr.contains("kvsync plan --out FILE"), "{stderr}");
    assert_eq!(emulator.total_requests(), before, "no call at all");
}

#[test]
fn apply_json_prints_only_json_lines_from_plan_to_report() {
    let dir = workspace();
    // Creates wait a second, so a heartbeat every 0.2 s shows.
    let emulator = EmulatorProcess::start(dir.path(), &["--create-seconds", "1"]);
    let applied = run(emulator
        .kvsync(dir.path())
        .env("KVSYNC_HEARTBEAT_SECS", "0.2")
        .args(["apply", "--auto-approve", "--json"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &lines {
        assert_eq!(line["format_version"], 4, "{line}");
    }
    assert_eq!(lines[0]["type"], "plan");
    assert_eq!(lines[0]["plan"]["summary"]["create"], 2);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "report");
    assert_eq!(last["converged"], true);
    assert_eq!(last["exit_code"], 0);
    assert_eq!(last["report"]["instances"].as_array().unwrap().len(), 2);
    let types: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    for wanted in ["step_started", "waiting", "heartbeat", "step_done"] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    for event in &lines[1..lines.len() - 1] {
        assert!(event["time"].as_str().unwrap().ends_with('Z'), "{event}");
        assert!(event["instance"].as_str().unwrap().contains('/'), "{event}");
    }
}

/// Redacts what changes from run to run: RFC 3339 times, durations and instance IDs.
fn redact(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    if word.len() >= 20 && word.as_bytes()[4] == b'-' && word.ends_with('Z') {
                        "[TIME]".to_owned()
                    } else if word.starts_with("elapsed=") {
                        "elapsed=[SECS]".to_owned()
                    } else if word.starts_with("(r-") {
                        "(r-[ID]):".to_owned()
                    } else {
                        word.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn piped_apply_prints_timed_lines_and_heartbeats_while_a_create_waits() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(
        dir.path(),
        &["--create-seconds", "3", "--change-seconds", "0"],
    );
    let applied = run(emulator
        .kvsync(dir.path())
        .env("KVSYNC_HEARTBEAT_SECS", "1")
        .args(["apply", "--auto-approve", "--target", "orders-cache"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    let progress = stdout
        .split("Applying...\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{stdout}"));
    let heartbeats = progress
        .lines()
        .filter(|l| l.contains("event=waiting") && l.contains("elapsed="))
        .count();
    assert!(heartbeats >= 2, "{progress}");
    // The number of heartbeats depends on timing: keep one of each run of equal lines.
    let mut lines: Vec<String> = redact(progress).lines().map(str::to_owned).collect();
    lines.dedup();
    let snapshot = lines.join("\n");
    let expected = "\
[TIME] instance=cn-hangzhou/orders-cache step=1/6 action=CreateInstance event=start
[TIME] instance=cn-hangzhou/orders-cache action=CreateInstance event=waiting until=\"Normal\"
[TIME] instance=cn-hangzhou/orders-cache action=CreateInstance event=waiting until=\"Normal\" elapsed=[SECS]
[TIME] instance=cn-hangzhou/orders-cache action=CreateInstance event=done elapsed=[SECS]
[TIME] instance=cn-hangzhou/orders-cache step=2/6 action=ModifyInstanceAttribute event=start
[TIME] instance=cn-hangzhou/orders-cache action=ModifyInstanceAttribute event=waiting until=\"Normal\"
[TIME] instance=cn-hangzhou/orders-cache action=ModifyInstanceAttribute event=done elapsed=[SECS]
[TIME] instance=cn-hangzhou/orders-cache step=3/6 action=ModifyInstanceMaintainTime event=start
[TIME] instance=cn-hangzhou/orders-cache action=ModifyInstanceMaintainTime event=waiting until=\"Normal\"
[TIME] instance=cn-hangzhou/orders-cache action=ModifyInstanceMaintainTime event=done elapsed=[SECS]
[TIME] instance=cn-hangzhou/orders-cache step=4/6 action=ModifySecurityIps event=start
[TIME] instance=cn-hangzhou/orders-cache action=ModifySecurityIps event=waiting until=\"Normal\"
[TIME] instance=cn-hangzhou/orders-cache action=ModifySecurityIps event=done elapsed=[SECS]
[TIME] instance=cn-hangzhou/orders-cache step=5/6 action=ModifyInstanceConfig event=start
[TIME] instance=cn-hangzhou/orders-cache action=ModifyInstanceConfig event=waiting until=\"Normal\"
[TIME] instance=cn-hangzhou/orders-cache action=ModifyInstanceConfig event=done elapsed=[SECS]
[TIME] instance=cn-hangzhou/orders-cache step=6/6 action=ModifyBackupPolicy event=start
[TIME] instance=cn-hangzhou/orders-cache action=ModifyBackupPolicy event=waiting until=\"Normal\"
[TIME] instance=cn-hangzhou/orders-cache action=ModifyBackupPolicy event=done elapsed=[SECS]

  ok      cn-hangzhou/orders-cache (r-[ID]): CreateInstance, ModifyInstanceAttribute, ModifyInstanceMaintainTime, ModifySecurityIps, ModifyInstanceConfig, ModifyBackupPolicy
Applied 6 steps on 1 instance; 0 failed.
Converged: the cloud matches the manifests.";
    assert_eq!(snapshot, expected, "\n{snapshot}");
}

#[test]
fn validate_json_lists_every_diagnostic_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::copy(
        repo().join("tests/fixtures/invalid/03-unknown-spec-field.yaml"),
        &bad,
    )
    .unwrap();
    let output =
        run(crate::support::kvsync(dir.path()).args(["validate", "--json", "-f", "bad.yaml"]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let diagnostic = &doc["diagnostics"][0];
    assert!(
        diagnostic["file"].as_str().unwrap().ends_with("bad.yaml"),
        "{doc}"
    );
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["rule"], "unknown-field");
    assert!(diagnostic["line"].as_u64().unwrap() > 0, "{doc}");
    assert!(diagnostic["column"].as_u64().unwrap() > 0, "{doc}");
    assert!(!diagnostic["message"].as_str().unwrap().is_empty());

    let good = workspace();
    let output = run(crate::support::kvsync(good.path()).args(["validate", "--json"]));
    assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));
    let doc: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["stack"], "shop");
    assert_eq!(doc["instances"], 2);
    assert_eq!(doc["diagnostics"], serde_json::json!([]));
}

#[test]
fn show_renders_a_saved_plan_without_a_cloud_call() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let saved = dir.path().join("plan.json");
    let planned = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--out"])
        .arg(&saved));
    assert_eq!(planned.status.code(), Some(0), "{:?}", texts(&planned));
    let before = emulator.total_requests();
    let text = run(crate::support::kvsync(dir.path()).arg("show").arg(&saved));
    let (stdout, stderr) = texts(&text);
    assert_eq!(text.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, texts(&planned).0, "the same text as plan");
    let json = run(crate::support::kvsync(dir.path())
        .args(["show", "--json"])
        .arg(&saved));
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["format_version"], 4);
    assert_eq!(doc["summary"]["create"], 2);
    let markdown = run(crate::support::kvsync(dir.path())
        .args(["show", "--markdown"])
        .arg(&saved));
    assert!(
        texts(&markdown)
            .0
            .starts_with("### kvsync plan for stack `shop`")
    );
    assert_eq!(emulator.total_requests(), before);
    let missing = run(crate::support::kvsync(dir.path()).args(["show", "nope.json"]));
    assert_eq!(missing.status.code(), Some(1));
}
