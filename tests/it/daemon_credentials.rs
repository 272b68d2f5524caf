//! The daemon with temporary credentials against the emulator's STS: two stacks calling as two
//! roles from one daemon, credentials that expire every 20 s refreshed for five minutes without
//! a single call refused as expired, and STS going down and coming back.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::daemon::{Daemon, emulator_instance, wait_until};
use crate::support::{EmulatorProcess, Request, call, http_get, http_get_json, post_json};

const ROLE_A: &str = "acs:ram::1234567890123456:role/kvsync-team-a";
const ROLE_B: &str = "acs:ram::1234567890123456:role/kvsync-team-b";

/// A stack calling as `role`, with one instance.
fn stack(name: &str, role: &str, instance: &str) -> String {
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata: {{name: {name}}}
spec:
  region: cn-hangzhou
  credentials: {{roleArn: \"{role}\"}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: {instance}}}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
  whitelists:
    app: [10.0.1.0/24]
"
    )
}

fn write_stack(dir: &Path, sub: &str, text: &str) {
    std::fs::create_dir_all(dir.join(sub)).unwrap();
    std::fs::write(dir.join(sub).join("stack.yaml"), text).unwrap();
}

/// The emulator's state file: issued keys by id, with their role.
fn issued_keys(dir: &Path) -> serde_json::Map<String, Value> {
    let state = crate::support::emulator_state_json(&dir.join("emulator-state.json"));
    state["sts_keys"].as_object().cloned().unwrap_or_default()
}

fn journal(emulator: &EmulatorProcess) -> Vec<Value> {
    http_get_json(&format!("{}/_emulator/requests", emulator.url))
        .as_array()
        .cloned()
        .unwrap()
}

/// Every request the emulator refused as signed with expired credentials, by action.
fn refused_as_expired(emulator: &EmulatorProcess) -> u64 {
    let stats = emulator.stats();
    stats
        .as_object()
        .map(|actions| {
            actions
                .values()
                .filter_map(|outcomes| outcomes["InvalidSecurityToken.Expired"].as_u64())
                .sum()
        })
        .unwrap_or(0)
}

/// A daemon aimed at the emulator with its default key as the base credentials and the
/// emulator as STS; its stderr goes to `dir/daemon-stderr.log`.
fn start_daemon(dir: &Path, emulator: &EmulatorProcess, extra: &[&str]) -> Daemon {
    let log = std::fs::File::create(dir.join("daemon-stderr.log")).unwrap();
    let mut command = emulator.kvsync(dir);
    command
        .args(["daemon", "--listen", "127.0.0.1:0", "--debounce", "300ms"])
        .args(["--sts-endpoint", &emulator.url, "-v"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    Daemon::spawn(command)
}

/// What the daemon showed anywhere: its log, its status, metrics, console and audit log.
fn everything_shown(dir: &Path, daemon: &Daemon) -> String {
    let mut shown = std::fs::read_to_string(dir.join("daemon-stderr.log")).unwrap();
    for path in ["/status", "/metrics", "/", "/events", "/api/v1/instances"] {
        shown.push_str(&http_get(&format!("{}{path}", daemon.url)).1);
    }
    if let Ok(audit) = std::fs::read_to_string(dir.join(".kvsync/audit.jsonl")) {
        shown.push_str(&audit);
    }
    shown
}

/// No issued secret, no security token (they all start `CAIS`) and no full issued key id.
fn assert_no_credential_shown(shown: &str, dir: &Path) {
    assert!(!shown.contains("CAIS"), "a security token was shown");
    for (id, key) in issued_keys(dir) {
        let secret = key["secret"].as_str().unwrap();
        assert!(!shown.contains(secret), "the secret of {id} was shown");
        if let Some(at) = shown.find(&id) {
            let around = &shown[at.saturating_sub(300)..(at + 100).min(shown.len())];
            panic!("the full key id {id} was shown: {around}");
        }
    }
    assert!(!shown.contains("testsecret"));
}

#[test]
fn two_stacks_in_one_daemon_call_as_their_own_roles() {
    let dir = tempfile::tempdir().unwrap();
    write_stack(dir.path(), "a", &stack("team-a", ROLE_A, "a-cache"));
    write_stack(dir.path(), "b", &stack("team-b", ROLE_B, "b-cache"));
    let emulator = EmulatorProcess::start(
        dir.path(),
        &[
            "--role",
            &format!("{ROLE_A}=testid"),
            "--role",
            &format!("{ROLE_B}=testid"),
        ],
    );
    let daemon = start_daemon(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--stack",
            "a",
            "--stack",
            "b",
        ],
    );
    let status = daemon.wait_for("both stacks reconciled", Duration::from_secs(30), |s| {
        s["ready"] == true
            && s["instances"]["cn-hangzhou/a-cache"]["last_result"] == "applied"
            && s["instances"]["cn-hangzhou/b-cache"]["last_result"] == "applied"
    });
    assert_eq!(status["stacks"].as_array().unwrap().len(), 2, "{status:#}");
    assert_eq!(status["stack"], "team-a, team-b");
    let (code, ready) = http_get(&format!("{}/readyz", daemon.url));
    assert_eq!(code, 200, "{ready}");

    // Each stack's calls are signed by a key issued for its own role, never by the base key.
    let keys = issued_keys(dir.path());
    let role_of = |key: &str| {
        keys.get(key)
            .and_then(|k| k["role_arn"].as_str())
            .map(str::to_owned)
    };
    let entries = journal(&emulator);
    let created: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["action"] == "CreateInstance")
        .map(|e| {
            (
                e["parameters"]["InstanceName"].as_str().unwrap().to_owned(),
                e["access_key_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(created.len(), 2, "{created:?}");
    for (instance, key) in &created {
        let expected = if instance == "a-cache" {
            ROLE_A
        } else {
            ROLE_B
        };
        assert!(key.starts_with("STS."), "{instance} was created with {key}");
        assert_eq!(role_of(key).as_deref(), Some(expected), "{instance}");
    }
    let r_kvstore_keys: BTreeSet<&str> = entries
        .iter()
        .filter(|e| e["action"] != "AssumeRole")
        .map(|e| e["access_key_id"].as_str().unwrap())
        .collect();
    assert!(!r_kvstore_keys.contains("testid"), "{r_kvstore_keys:?}");
    // Every role was assumed with the daemon's own key, once each (the credentials last an
    // hour).
    let assumed: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "AssumeRole")
        .map(|e| {
            assert_eq!(e["access_key_id"], "testid");
            e["parameters"]["RoleArn"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        assumed.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([ROLE_A, ROLE_B])
    );
    assert_eq!(assumed.len(), 2, "{assumed:?}");
    assert!(emulator_instance(&emulator, "a-cache").is_some());
    assert_no_credential_shown(&everything_shown(dir.path(), &daemon), dir.path());
}

/// A stack calling as a role whose credentials last 20 s, reconciled by a daemon in apply mode
/// every `interval`, once its first reconcile is done.
fn short_lived(dir: &Path, name: &str, interval: &str) -> (EmulatorProcess, Daemon) {
    write_stack(
        dir,
        "manifests",
        &stack(name, ROLE_A, &format!("{name}-cache")),
    );
    let role = format!("{ROLE_A}=testid");
    let emulator = EmulatorProcess::start(dir, &["--role", &role, "--sts-max-seconds", "20"]);
    let daemon = start_daemon(
        dir,
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            interval,
            "--refresh-slices",
            "1",
        ],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(30), |s| {
        s["ready"] == true
    });
    (emulator, daemon)
}

#[test]
fn credentials_that_expire_every_20_seconds_are_refreshed_for_five_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let (emulator, daemon) = short_lived(dir.path(), "short", "2s");
    let started = Instant::now();
    let run = Duration::from_secs(300);
    // Drift made now and then must be corrected with whatever credentials are current.
    let id = emulator_instance(&emulator, "short-cache").unwrap()["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let whitelist_writes = emulator.count("ModifySecurityIps", "ok");
    let mut drifts = 0;
    while started.elapsed() < run {
        std::thread::sleep(Duration::from_secs(30));
        let (code, body) = runtime.block_on(call(
            &emulator.url,
            Request::new("ModifySecurityIps")
                .param("InstanceId", &id)
                .param("SecurityIpGroupName", "app")
                .param("SecurityIps", "0.0.0.0/0"),
        ));
        assert_eq!(code, 200, "{body}");
        drifts += 1;
    }
    let status = daemon.status();
    let cycles = status["cycles"].as_u64().unwrap();
    assert!(cycles >= 100, "only {cycles} cycles in five minutes");
    assert_eq!(status["failed_cycles"], 0, "{status:#}");
    assert_eq!(
        refused_as_expired(&emulator),
        0,
        "a call was refused as expired"
    );
    let assume_roles = emulator.count("AssumeRole", "ok");
    // At 80 % of 20 s: about every 16 s, so 300 s / 16 s ≈ 19 refreshes (not one per call).
    assert!(
        (15..=30).contains(&assume_roles),
        "{assume_roles} AssumeRole calls in {:?}",
        started.elapsed()
    );
    // The calls were signed by the refreshed keys, one after the other.
    let used: BTreeSet<String> = journal(&emulator)
        .iter()
        .filter(|e| e["action"] != "AssumeRole")
        .map(|e| e["access_key_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(used.len() >= 15, "{} keys signed the calls", used.len());
    eprintln!(
        "five minutes of 20 s credentials: {cycles} cycles, {assume_roles} AssumeRole calls, \
         {} keys signed the calls, {drifts} drifts corrected, 0 calls refused as expired",
        used.len()
    );
    assert!(drifts >= 9);
    // Each drift, and each correction the daemon made.
    wait_until("every drift corrected", Duration::from_secs(15), || {
        emulator.count("ModifySecurityIps", "ok") >= whitelist_writes + 2 * drifts
    });
    assert_no_credential_shown(&everything_shown(dir.path(), &daemon), dir.path());
}

#[test]
fn sts_down_keeps_the_old_credentials_until_they_expire_then_fails_clearly_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (emulator, daemon) = short_lived(dir.path(), "down", "1s");
    // Down right after a refresh: the credentials in use have close to 20 s left.
    let assumed = emulator.count("AssumeRole", "ok");
    wait_until("a refresh", Duration::from_secs(25), || {
        emulator.count("AssumeRole", "ok") > assumed
    });
    post_json(&format!("{}/_emulator/faults?sts_down=true", emulator.url));
    let down = Instant::now();
    let failed_before = daemon.status()["failed_cycles"].as_u64().unwrap();

    // Until they expire, cycles go on with the old credentials.
    std::thread::sleep(Duration::from_secs(12));
    let status = daemon.status();
    assert_eq!(
        status["failed_cycles"].as_u64().unwrap(),
        failed_before,
        "a cycle failed while the old credentials were valid: {status:#}"
    );

    // Then calls fail with an error naming the provider, and are not sent.
    let failing = daemon.wait_for("cycles failing", Duration::from_secs(20), |s| {
        s["failed_cycles"].as_u64().unwrap() > failed_before
    });
    assert!(down.elapsed() >= Duration::from_secs(12));
    // Refreshes were tried from 80 % of the lifetime on, and failed.
    assert!(emulator.count("AssumeRole", "ServiceUnavailable") >= 1);
    let error = failing["cycle_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
        + failing["instances"]["cn-hangzhou/down-cache"]["last_error"]
            .as_str()
            .unwrap_or_default();
    assert!(
        error.contains("ram_role_arn") && error.contains("expired"),
        "{failing:#}"
    );
    assert_eq!(refused_as_expired(&emulator), 0, "an expired key was sent");
    // The status and the metrics said so before and after the credentials expired.
    let credentials = &failing["credentials"];
    assert_eq!(
        credentials["provider"], "ram_role_arn/static_ak",
        "{failing:#}"
    );
    assert!(credentials["refresh_error"].is_string(), "{failing:#}");
    let metrics = http_get(&format!("{}/metrics", daemon.url)).1;
    assert!(
        metrics.contains(
            "kvsync_credentials_refresh_failing{stack=\"down\",provider=\"ram_role_arn/static_ak\"} 1"
        ),
        "{metrics}"
    );

    // STS is back: calls resume with new credentials.
    post_json(&format!("{}/_emulator/faults?sts_down=false", emulator.url));
    let recovered = daemon.status()["cycles"].as_u64().unwrap();
    daemon.wait_for("cycles succeeding again", Duration::from_secs(40), |s| {
        s["cycles"].as_u64().unwrap() > recovered + 2 && s["cycle_error"].is_null()
    });
    assert_eq!(refused_as_expired(&emulator), 0);
    assert!(daemon.status()["credentials"]["refresh_error"].is_null());
    assert_no_credential_shown(&everything_shown(dir.path(), &daemon), dir.path());
}
