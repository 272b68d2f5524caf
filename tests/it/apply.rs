//! End to end: apply the sample manifests, then plan finds nothing left.

use std::collections::BTreeMap;

use crate::support::{EmulatorProcess, kvsync, run, texts, workspace};

fn names_and_counts(instances: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for instance in instances {
        *counts
            .entry(instance["InstanceName"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

#[test]
fn quick_start_apply_then_plan_is_empty() {
    let dir = workspace();
    let applied = run(kvsync(dir.path()).args(["apply", "--auto-approve", "--emulator"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Plan: 2 to create"), "{stdout}");
    assert!(stdout.contains("Converged"), "{stdout}");
    assert!(dir.path().join(".kvsync/emulator.json").exists());

    let planned = run(kvsync(dir.path()).args(["plan", "--emulator", "--detailed-exitcode"]));
    let (stdout, stderr) = texts(&planned);
    assert_eq!(planned.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("No changes"), "{stdout}");
}

#[test]
fn plan_detailed_exitcode_is_2_when_changes_are_pending() {
    let dir = workspace();
    let planned = run(kvsync(dir.path()).args(["plan", "--emulator", "--detailed-exitcode"]));
    let (stdout, stderr) = texts(&planned);
    assert_eq!(planned.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("+ cn-hangzhou/orders-cache"), "{stdout}");

    let without_flag = run(kvsync(dir.path()).args(["plan", "--emulator"]));
    assert_eq!(without_flag.status.code(), Some(0));
}

#[test]
fn plan_json_names_each_call_with_its_token_and_parameters() {
    let dir = workspace();
    let planned = run(kvsync(dir.path()).args(["plan", "--emulator", "--json"]));
    assert_eq!(planned.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    assert_eq!(plan["format_version"], 4);
    assert_eq!(plan["stack"], "shop");
    assert_eq!(plan["summary"]["create"], 2);
    let steps = plan["steps"].as_array().unwrap();
    let creates: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|s| s["action"] == "CreateInstance")
        .collect();
    assert_eq!(creates.len(), 2);
    for create in creates {
        let token = create["parameters"]["Token"].as_str().unwrap();
        assert!(token.starts_with("kvsync-") && token.len() <= 64);
        let params = create["parameters"].as_object().unwrap();
        let owned = (1..=20).any(|n| {
            params.get(&format!("Tag.{n}.Key")).and_then(|k| k.as_str()) == Some("kvsync:stack")
                && params
                    .get(&format!("Tag.{n}.Value"))
                    .and_then(|v| v.as_str())
                    == Some("shop")
        });
        assert!(owned, "no ownership tag in {params:?}");
    }
    // The same manifests give the same tokens (they are derived, not random).
    let again = run(kvsync(dir.path()).args(["plan", "--emulator", "--json"]));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(plan["steps"], again["steps"]);
}

#[test]
fn a_lost_create_response_is_retried_with_the_same_token_and_creates_once() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &["--lose-response", "CreateInstance:2"]);
    let applied =
        run(emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve", "-f", "manifests"]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");

    // Two answers were lost after the instances were created; the retries carried the same
    // Token and got the original answers back instead of creating again.
    assert_eq!(emulator.count("CreateInstance", "lost-response"), 2);
    assert!(emulator.count("CreateInstance", "ok") >= 2);
    let counts = names_and_counts(&emulator.instances());
    assert_eq!(
        counts,
        BTreeMap::from([("orders-cache".into(), 1), ("sessions-cache".into(), 1)])
    );
}

#[test]
fn a_second_apply_after_a_failed_one_with_lost_responses_creates_nothing_twice() {
    let dir = workspace();
    // Every CreateInstance answer is lost: the first apply fails after its retries, although
    // the cloud created both instances.
    let emulator = EmulatorProcess::start(dir.path(), &["--lose-response", "CreateInstance:1000"]);
    let first =
        run(emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve", "-f", "manifests"]));
    let (stdout, stderr) = texts(&first);
    assert_eq!(first.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    let attempts = emulator.count("CreateInstance", "lost-response");
    assert!(attempts >= 4, "only {attempts} attempts");
    assert_eq!(
        emulator.instances().len(),
        2,
        "retries with one token must create once"
    );

    let second =
        run(emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve", "-f", "manifests"]));
    let (stdout, stderr) = texts(&second);
    assert_eq!(second.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(
        emulator.count("CreateInstance", "lost-response"),
        attempts,
        "no new create"
    );
    let counts = names_and_counts(&emulator.instances());
    assert_eq!(
        counts,
        BTreeMap::from([("orders-cache".into(), 1), ("sessions-cache".into(), 1)])
    );

    let plan = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    assert_eq!(plan.status.code(), Some(0), "{}", texts(&plan).0);
}

#[test]
fn release_protection_drift_is_planned_and_fixed() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let first = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(first.status.code(), Some(0), "{}", texts(&first).0);
    let orders = emulator
        .instances()
        .into_iter()
        .find(|i| i["InstanceName"] == "orders-cache")
        .unwrap();
    assert_eq!(orders["InstanceReleaseProtection"], true);

    // Turn protection on for sessions-cache, whose manifest says false.
    let path = dir.path().join("manifests/sessions-cache.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("releaseProtection: false", "releaseProtection: true"),
    )
    .unwrap();
    let plan = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    let (stdout, _) = texts(&plan);
    assert_eq!(plan.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("~ cn-hangzhou/sessions-cache"), "{stdout}");
    assert!(
        stdout.contains("spec.releaseProtection: false → true"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Plan: 0 to create, 1 to change, 0 to delete; 1 step, 0 blocked."),
        "{stdout}"
    );

    let fix = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(fix.status.code(), Some(0), "{}", texts(&fix).0);
    assert!(
        emulator
            .instances()
            .iter()
            .all(|i| i["InstanceReleaseProtection"] == true)
    );
}

#[test]
fn pruning_needs_allow_destroy_and_never_touches_protected_instances() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let stack = dir.path().join("manifests/stack.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(&stack, format!("{text}  prune: true\n")).unwrap();
    let first = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(first.status.code(), Some(0), "{}", texts(&first).0);

    // Remove the unprotected instance's manifest: prune plans its deletion.
    std::fs::remove_file(dir.path().join("manifests/sessions-cache.yaml")).unwrap();
    let refused = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("- cn-hangzhou/sessions-cache"), "{stdout}");
    assert!(stderr.contains("--allow-destroy"), "{stderr}");
    assert_eq!(emulator.count("DeleteInstance", "ok"), 0);
    assert_eq!(emulator.instances().len(), 2);

    let allowed =
        run(emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve", "--allow-destroy"]));
    assert_eq!(allowed.status.code(), Some(0), "{}", texts(&allowed).0);
    assert_eq!(
        names_and_counts(&emulator.instances()),
        BTreeMap::from([("orders-cache".into(), 1)])
    );

    // Removing the last (protected) instance's manifest would prune the whole stack: refused.
    std::fs::remove_file(dir.path().join("manifests/orders-cache.yaml")).unwrap();
    let whole_stack = run(emulator.kvsync(dir.path()).args(["plan", "--json"]));
    let plan: serde_json::Value = serde_json::from_slice(&whole_stack.stdout).unwrap();
    assert_eq!(plan["summary"]["steps"], 0);
    assert_eq!(plan["summary"]["blocked"], 1);
}

#[test]
fn a_saved_plan_applies_once_and_a_stale_one_is_refused() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let saved = dir.path().join("plan.json");
    let planned = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--out"])
        .arg(&saved));
    assert_eq!(planned.status.code(), Some(0), "{}", texts(&planned).1);
    let text = std::fs::read_to_string(&saved).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["saved_plan_format"], 1);
    assert_eq!(
        file["plan"]["summary"],
        serde_json::Value::Null,
        "the file holds the plan itself"
    );
    assert_eq!(file["plan"]["instances"].as_array().unwrap().len(), 2);

    let applied = run(emulator.kvsync(dir.path()).arg("apply").arg(&saved));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(emulator.instances().len(), 2);

    // The cloud has changed since (the plan created the instances): the file is stale now.
    let creates_before = emulator.count("CreateInstance", "ok");
    let again = run(emulator.kvsync(dir.path()).arg("apply").arg(&saved));
    let (_, stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr.contains("the cloud changed since the plan was made"),
        "{stderr}"
    );
    assert_eq!(
        emulator.count("CreateInstance", "ok"),
        creates_before,
        "a stale plan makes no call"
    );
}

#[test]
fn target_and_exclude_work_on_a_subset_without_reading_the_rest() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let applied = run(emulator.kvsync(dir.path()).args([
        "apply",
        "--auto-approve",
        "--target",
        "sessions-cache",
    ]));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("orders-cache"), "{stdout}");
    assert_eq!(
        names_and_counts(&emulator.instances()),
        BTreeMap::from([("sessions-cache".into(), 1)])
    );

    // orders-cache manages whitelists, backup policy and config: excluding it reads none of them.
    let before = emulator.stats();
    let planned = run(emulator.kvsync(dir.path()).args([
        "plan",
        "--exclude",
        "cn-hangzhou/orders-cache",
        "--detailed-exitcode",
    ]));
    assert_eq!(planned.status.code(), Some(0), "{}", texts(&planned).0);
    let after = emulator.stats();
    let delta = |action: &str| {
        after[action]["ok"].as_u64().unwrap_or(0) - before[action]["ok"].as_u64().unwrap_or(0)
    };
    assert_eq!(delta("DescribeSecurityIps"), 0);
    assert_eq!(delta("DescribeBackupPolicy"), 0);

    let unknown = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--target", "no-such-cache"]));
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        texts(&unknown)
            .1
            .contains("--target no-such-cache matches no instance"),
        "{}",
        texts(&unknown).1
    );
}

/// Regression: apply said "Converged" and exited 0 when only blocked differences remained.
#[test]
fn blocked_differences_are_not_converged_and_each_is_named() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let first = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(first.status.code(), Some(0), "{}", texts(&first).0);
    let path = dir.path().join("manifests/sessions-cache.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("zoneId: cn-hangzhou-h", "zoneId: cn-hangzhou-b")
            .replace("volatile-ttl", "allkeys-lru"),
    )
    .unwrap();
    let configured = emulator.count("ModifyInstanceConfig", "ok");
    // A change kvsync makes (the parameter) beside one it will not (the zone).
    let mixed = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&mixed);
    assert_eq!(mixed.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(!stdout.contains("Converged:"), "{stdout}");
    assert!(
        stdout.contains("Not converged: 1 difference kvsync will not change:")
            && stdout.contains("! cn-hangzhou/sessions-cache spec.zoneId: kvsync never moves"),
        "{stdout}"
    );
    assert_eq!(emulator.count("ModifyInstanceConfig", "ok"), configured + 1);
    // Only the blocked difference left: still exit 3, with no call that changes anything.
    let again = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("spec.zoneId"), "{stdout}");
    assert_eq!(emulator.count("ModifyInstanceConfig", "ok"), configured + 1);
}

/// Regression: two cloud instances with one name were reported, yet apply said "Converged".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_of_one_name_are_blocked_and_not_converged() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let first = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    assert_eq!(first.status.code(), Some(0), "{}", texts(&first).0);
    crate::support::create_normal_instance(&emulator.url, "cn-hangzhou", "sessions-cache").await;
    let output = run(emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("! cn-hangzhou/sessions-cache metadata.name: 2 instances are named"),
        "{stdout}"
    );
}
