//! `kvsync plan --changed-since REF`: a plan of only the instances whose manifests changed
//! since a git ref, read from the cloud at the cost of what changed — checked against the
//! emulator's request counters.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use kvsync::emulator::state::{Context, Durations, State};
use kvsync::emulator::store;
use serde_json::Value;

use crate::daemon::{git, head};
use crate::support::{EmulatorProcess, run, texts};

const REGION: &str = "cn-hangzhou";
const STACK: &str = "fleet";
const CLASS: &str = "redis.master.small.default";
const ZONE: &str = "cn-hangzhou-h";
const APP_IPS: &str = "10.0.1.0/24";
/// The password the edited manifest gives its instance: it must show nowhere.
const PASSWORD: &str = "Fleet-Secret-Passw0rd-42";

fn name(index: usize) -> String {
    format!("fleet-{index:04}")
}

fn instance_manifest(name: &str, app_ips: &str) -> String {
    format!(
        "apiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {name}}}\nspec:\n  \
         instanceClass: {CLASS}\n  zoneId: {ZONE}\n  releaseProtection: false\n  \
         whitelists:\n    app: [{app_ips}]\n"
    )
}

/// A repository whose manifests (in `deploy/manifests`: a Stack document that prunes, one
/// file per instance) are committed; returns the manifest directory.
fn repository(root: &Path, n: usize) -> std::path::PathBuf {
    git(root, &["init", "-q"]);
    let dir = root.join("deploy/manifests");
    std::fs::create_dir_all(dir.join("instances")).unwrap();
    std::fs::write(
        dir.join("stack.yaml"),
        format!(
            "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {{name: {STACK}}}\nspec: {{region: {REGION}, prune: true}}\n"
        ),
    )
    .unwrap();
    for i in 0..n {
        std::fs::write(
            dir.join(format!("instances/{}.yaml", name(i))),
            instance_manifest(&name(i), APP_IPS),
        )
        .unwrap();
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "the fleet"]);
    dir
}

/// The emulator's state as `kvsync apply` of [`repository`]'s manifests leaves it, built
/// in-process: n owned instances, each with its `app` whitelist group.
fn seed(state_file: &Path, n: usize) {
    let ctx = Context {
        now: Timestamp::now(),
        durations: Durations {
            create: SignedDuration::ZERO,
            change: SignedDuration::ZERO,
            token_memory: None,
            backup: SignedDuration::ZERO,
        },
        fail_backup: false,
    };
    let mut state = State::default();
    let mut handle = |action: &str, params: &[(&str, &str)]| -> Value {
        let wire: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match state.handle(action, &wire, &ctx) {
            Ok(handled) => handled.body,
            Err(err) => panic!("seeding: {action} refused: {} {}", err.code, err.message),
        }
    };
    for i in 0..n {
        let instance = name(i);
        let created = handle(
            "CreateInstance",
            &[
                ("RegionId", REGION),
                ("InstanceName", &instance),
                ("InstanceClass", CLASS),
                ("ZoneId", ZONE),
                ("Tag.1.Key", "kvsync:managed"),
                ("Tag.1.Value", "true"),
                ("Tag.2.Key", "kvsync:stack"),
                ("Tag.2.Value", STACK),
            ],
        );
        let id = created["InstanceId"]
            .as_str()
            .expect("InstanceId")
            .to_owned();
        handle(
            "ModifySecurityIps",
            &[
                ("InstanceId", &id),
                ("SecurityIpGroupName", "app"),
                ("SecurityIps", APP_IPS),
            ],
        );
    }
    store::save(state_file, &state).expect("write the emulator state");
}

/// Requests the emulator answered, per action (any outcome).
fn calls(emulator: &EmulatorProcess) -> BTreeMap<String, u64> {
    let stats = emulator.stats();
    stats
        .as_object()
        .map(|actions| {
            actions
                .iter()
                .map(|(action, outcomes)| {
                    let sum = outcomes
                        .as_object()
                        .map(|o| o.values().filter_map(Value::as_u64).sum())
                        .unwrap_or(0);
                    (action.clone(), sum)
                })
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default()
}

/// A fleet of `n` in the cloud and in a committed repository; the emulator, the repository's
/// root and its manifest directory.
fn fleet(n: usize) -> (tempfile::TempDir, EmulatorProcess, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = repository(root.path(), n);
    seed(&root.path().join("emulator-state.json"), n);
    let emulator = EmulatorProcess::start(root.path(), &[]);
    (root, emulator, dir)
}

fn plan_since(
    emulator: &EmulatorProcess,
    root: &Path,
    since: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let output = run(emulator
        .kvsync(root)
        .args(["plan", "-f", "deploy/manifests", "--changed-since", since])
        .args(extra)
        .env("FLEET_PASSWORD", PASSWORD));
    let (stdout, stderr) = texts(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn one_edited_manifest_in_a_fleet_of_1000_costs_one_listing_page_and_its_own_reads() {
    let (root, emulator, dir) = fleet(1000);

    // Nothing changed since HEAD: nothing is read.
    let (code, stdout, stderr) = plan_since(&emulator, root.path(), "HEAD", &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("No changes since HEAD ("), "{stdout}");
    assert_eq!(emulator.total_requests(), 0, "{:?}", calls(&emulator));

    // One instance's whitelist is edited in the working tree, and it gets a password.
    std::fs::write(
        dir.join("instances/fleet-0042.yaml"),
        instance_manifest("fleet-0042", "10.0.1.0/24, 10.0.9.9")
            + "  password: {env: FLEET_PASSWORD}\n",
    )
    .unwrap();
    let commit = head(root.path());
    let (code, stdout, stderr) = plan_since(&emulator, root.path(), "HEAD", &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let header = stdout.lines().next().unwrap_or_default();
    assert_eq!(
        header,
        format!(
            "Scoped to changes since HEAD ({}): 1 of 1000 instances (fleet-0042)",
            &commit[..12]
        )
    );
    assert!(stdout.contains("cn-hangzhou/fleet-0042"), "{stdout}");
    assert!(stdout.contains("ModifySecurityIps"), "{stdout}");
    let planned: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("cn-hangzhou/fleet-"))
        .collect();
    assert_eq!(
        planned.len(),
        1,
        "only the edited instance is planned: {stdout}"
    );
    assert!(!stdout.contains("DeleteInstance"), "{stdout}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));

    // The cost: one DescribeInstances page for the region (the instance found by its name),
    // then that instance's detail reads — its attribute (release protection) and whitelists.
    let made = calls(&emulator);
    eprintln!("calls of the scoped plan: {made:?}");
    assert_eq!(made.get("DescribeInstances"), Some(&1), "{made:?}");
    assert_eq!(made.get("DescribeInstanceAttribute"), Some(&1), "{made:?}");
    assert_eq!(made.get("DescribeSecurityIps"), Some(&1), "{made:?}");
    assert_eq!(made.values().sum::<u64>(), 3, "{made:?}");

    // The JSON says the same.
    let (code, stdout, stderr) = plan_since(&emulator, root.path(), "HEAD", &["--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["scope"]["since"], "HEAD");
    assert_eq!(json["scope"]["commit"], commit.as_str());
    assert_eq!(json["scope"]["described"], 1000);
    assert_eq!(
        json["scope"]["instances"],
        serde_json::json!([{"region": REGION, "name": "fleet-0042"}])
    );
    assert_eq!(json["scope"]["deleted"], serde_json::json!([]));
    let instances = json["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0]["key"]["name"], "fleet-0042");
}

#[test]
fn an_unknown_ref_or_a_directory_outside_git_is_a_usage_error_that_sends_nothing() {
    let (root, emulator, _dir) = fleet(3);
    let (code, stdout, stderr) = plan_since(&emulator, root.path(), "no-such-branch", &[]);
    assert_eq!(code, 64, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("--changed-since \"no-such-branch\" names no commit"),
        "{stderr}"
    );
    // Outside a repository.
    let elsewhere = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &root.path().join("deploy/manifests"),
        &elsewhere.path().join("m"),
    );
    let output =
        run(emulator
            .kvsync(elsewhere.path())
            .args(["plan", "-f", "m", "--changed-since", "HEAD"]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(64), "{stdout}{stderr}");
    assert!(stderr.contains("is not in one"), "{stderr}");
    assert_eq!(emulator.total_requests(), 0, "{:?}", calls(&emulator));
}

#[test]
fn a_removed_manifest_is_the_only_instance_pruned_and_its_saved_plan_applies_as_planned() {
    let (root, emulator, dir) = fleet(5);
    std::fs::remove_file(dir.join("instances/fleet-0003.yaml")).unwrap();
    let (code, stdout, stderr) =
        plan_since(&emulator, root.path(), "HEAD", &["--out", "scoped.json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("Scoped to changes since HEAD ("),
        "{stdout}"
    );
    assert!(
        stdout.lines().next().unwrap_or_default().ends_with(
            "0 of 4 instances; removed since: fleet-0003 (pruned only if the stack prunes)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("cn-hangzhou/fleet-0003"), "{stdout}");
    assert_eq!(stdout.matches("DeleteInstance").count(), 1, "{stdout}");
    let made = calls(&emulator);
    assert_eq!(made.get("DescribeInstances"), Some(&1), "{made:?}");
    // Its release protection decides whether it may go.
    assert_eq!(made.get("DescribeInstanceAttribute"), Some(&1), "{made:?}");
    assert_eq!(made.values().sum::<u64>(), 2, "{made:?}");

    // The saved plan is checked against the same part of the stack, read the same way, and
    // deletes only the removed instance.
    let output = run(emulator.kvsync(root.path()).args([
        "apply",
        "-f",
        "deploy/manifests",
        "--allow-destroy",
        "scoped.json",
    ]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let mut live: Vec<String> = emulator
        .instances()
        .iter()
        .filter(|i| i["InstanceStatus"] != "Released")
        .filter_map(|i| i["InstanceName"].as_str().map(str::to_owned))
        .collect();
    live.sort();
    assert_eq!(
        live,
        ["fleet-0000", "fleet-0001", "fleet-0002", "fleet-0004"],
        "{stdout}"
    );
}

#[test]
fn a_changed_stack_document_plans_everything_and_says_so() {
    let (root, emulator, dir) = fleet(3);
    let stack = std::fs::read_to_string(dir.join("stack.yaml")).unwrap();
    std::fs::write(
        dir.join("stack.yaml"),
        stack.replace("prune: true", "prune: false"),
    )
    .unwrap();
    let (code, stdout, stderr) = plan_since(&emulator, root.path(), "HEAD", &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.lines().next().unwrap_or_default().ends_with(
            "the Stack document changed, so the plan covers all 3 instances the manifests describe"
        ),
        "{stdout}"
    );
    // A whole plan: the region listed as `plan` lists it, every instance read.
    let made = calls(&emulator);
    assert_eq!(made.get("DescribeSecurityIps"), Some(&3), "{made:?}");
}
