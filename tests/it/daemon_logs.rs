//! What the daemon says and shows about each cycle: its info-level log (a snapshot of whole
//! lines, times, IDs and ports redacted), `/status`'s `next_run`, and refusing to start on
//! manifest paths that do not exist.

use std::process::Stdio;
use std::time::Duration;

use jiff::Timestamp;

use crate::daemon::{Daemon, INSTANCE, pushed_repo, workspace};
use crate::support::{EmulatorProcess, texts};

/// One line of the daemon's log with the time, instance IDs, ports and the manifests'
/// revision digest replaced by placeholders.
fn redact(line: &str) -> String {
    let line = match line.split_once(' ') {
        Some((time, rest)) if time.parse::<Timestamp>().is_ok() => {
            format!("[time] {}", rest.trim_start())
        }
        _ => line.to_owned(),
    };
    line.split(' ')
        .map(|word| {
            if let Some(value) = word.strip_prefix("revision=") {
                let end = value
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(value.len());
                format!("revision=[rev]{}", &value[end..])
            } else if let Some(at) = word.find("127.0.0.1:") {
                let rest = &word[at + 10..];
                let end = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                format!("{}127.0.0.1:[port]{}", &word[..at], &rest[end..])
            } else if let Some(at) = word.find("r-")
                && word[at + 2..].len() >= 8
                && (at == 0 || !word.as_bytes()[at - 1].is_ascii_alphanumeric())
            {
                let rest = &word[at + 2..];
                let end = rest
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(rest.len());
                format!("{}[id]{}", &word[..at], &rest[end..])
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_daemon_logs_each_cycle_at_the_default_level() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let log = dir.path().join("daemon.log");
    let mut command = emulator.kvsync(dir.path());
    command
        .args(["daemon", "--listen", "127.0.0.1:0", "--debounce", "300ms"])
        .args(["--mode", "apply", "--interval", "1h"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let daemon = Daemon::spawn(command);
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["cycles"].as_u64().unwrap_or(0) >= 1
    });
    drop(daemon);

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<String> = text.lines().map(redact).collect();
    let end = lines
        .iter()
        .position(|line| line.contains("reconcile finished"))
        .unwrap_or_else(|| panic!("no cycle finished:\n{text}"));
    let cycle = lines[..=end].join("\n");
    let expected = "\
[time] INFO kvsync::daemon::reconcile: manifests in force source=dir revision=[rev]
[time] INFO kvsync::daemon: reconcile started trigger=startup cycle=full mode=apply
[time] INFO kvsync::daemon::reconcile: instances read instances=1 listed=0
[time] INFO kvsync::daemon::reconcile: plan summary=Plan: 1 to create, 0 to change, 0 to delete; 2 steps, 0 blocked. mode=apply
[time] INFO kvsync::daemon::reconcile: drift found instance=cn-hangzhou/watched-cache steps=2 fields=spec.instanceClass,spec.zoneId,spec.whitelists.app
[time] INFO kvsync::daemon::reconcile: step applied instance=cn-hangzhou/watched-cache action=CreateInstance
[time] INFO kvsync::daemon::reconcile: step applied instance=cn-hangzhou/watched-cache action=ModifySecurityIps
[time] INFO kvsync::daemon::reconcile: steps applied applied=2 failed=0 not_run=0 held_back=0
[time] INFO kvsync::daemon: reconcile finished outcome=ok summary=cycles=1 failed_cycles=0 revision=[rev] instances=1 in_sync=0 applied=1 drift=0 failed=0 backing_off=0";
    assert_eq!(cycle, expected, "the whole log:\n{text}");
}

#[test]
fn every_instance_has_a_next_run_not_before_its_last_run() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "observe",
            "--interval",
            "1s",
            "--refresh-slices",
            "1",
        ],
    );
    for cycles in [1, 3] {
        let status = daemon.wait_for("a reconcile", Duration::from_secs(20), |s| {
            s["cycles"].as_u64().unwrap_or(0) >= cycles
        });
        let instance = Daemon::instance(&status, "watched-cache");
        let last: Timestamp = instance["last_run"]
            .as_str()
            .unwrap_or_else(|| panic!("no last_run: {status:#}"))
            .parse()
            .unwrap();
        let next: Timestamp = instance["next_run"]
            .as_str()
            .unwrap_or_else(|| panic!("no next_run after {cycles} cycles: {status:#}"))
            .parse()
            .unwrap();
        assert!(
            next >= last,
            "next_run {next} is before last_run {last}: {status:#}"
        );
    }
}

/// Waits up to `timeout` for `child` to exit; kills it and fails the test if it does not.
fn exits_within(mut child: std::process::Child, timeout: Duration) -> std::process::Output {
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!("the daemon kept running with a manifest path that does not exist");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_manifest_path_that_does_not_exist_fails_at_start() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let child = emulator
        .kvsync(dir.path())
        .args(["daemon", "--listen", "127.0.0.1:0", "-f", "no-such-dir"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = exits_within(child, Duration::from_secs(10));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("no-such-dir does not exist"), "{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
}

#[test]
fn a_manifest_path_missing_from_the_first_checkout_fails_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = pushed_repo(dir.path());
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let url = format!("file://{}", bare.display());
    let cache = dir.path().join("cache");
    let child = emulator
        .kvsync(dir.path())
        .args(["daemon", "--listen", "127.0.0.1:0", "-f", "no-such-dir"])
        .args(["--git", &url, "--branch", "main"])
        .args(["--cache-dir", cache.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = exits_within(child, Duration::from_secs(30));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("no-such-dir does not exist in file://"),
        "{stderr}"
    );
}
