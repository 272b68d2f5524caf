//! Writers at once and intents over time: concurrent applies never create a name twice, and a
//! name created again after a release, or a class resized back and forth, never replays an
//! earlier answer — whether the cloud remembers tokens for ever or for a minute. Every count
//! is read from the emulator, not from kvsync.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use kvsync::emulator::state::Durations;
use kvsync::emulator::{self, EmulatorConfig};
use serde_json::Value;

use crate::support::{EmulatorProcess, instances_at, kvsync_at, texts};

const NAMES: [&str; 3] = ["w-0", "w-1", "w-2"];

/// A stack of three instances; `label` tells the writers' manifests apart.
fn manifests(dir: &Path, label: &str) {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: writers}\nspec: {region: cn-hangzhou}\n",
    );
    for name in NAMES {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata:\n  name: {name}\n  labels: {{writer: {label}}}\nspec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n"
        ));
    }
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/stack.yaml"), text).unwrap();
}

/// Instance names and how many instances carry each.
fn name_counts(instances: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for instance in instances {
        *counts
            .entry(instance["InstanceName"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

/// Every run either converged (exit 0, "Converged") or said why not (a non-zero exit with
/// "Not converged" or a failed step in its output).
fn converged_or_said_why(outputs: &[Output]) {
    for output in outputs {
        let (stdout, stderr) = texts(output);
        match output.status.code() {
            Some(0) => assert!(stdout.contains("Converged"), "{stdout}\n{stderr}"),
            Some(1 | 3) => assert!(
                stdout.contains("Not converged") || stdout.contains("FAILED"),
                "{stdout}\n{stderr}"
            ),
            other => panic!("exit {other:?}\n{stdout}\n{stderr}"),
        }
    }
}

/// One `kvsync apply` from each of `dirs`, all started before any is awaited.
fn apply_at_once(emulator: &EmulatorProcess, dirs: &[tempfile::TempDir]) -> Vec<Output> {
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            emulator
                .kvsync(dir.path())
                .args(["apply", "--auto-approve"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect()
}

/// `writers` applies at once, each from its own directory (so from its own lock directory, as
/// if on its own machine), with the same or with differing manifests.
fn race(writers: usize, differing: bool) {
    let root = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(root.path(), &["--create-seconds", "1"]);
    let dirs: Vec<tempfile::TempDir> = (0..writers)
        .map(|i| {
            let dir = tempfile::tempdir().unwrap();
            manifests(
                dir.path(),
                if differing {
                    ["a", "b", "c", "d"][i]
                } else {
                    "same"
                },
            );
            dir
        })
        .collect();
    let outputs = apply_at_once(&emulator, &dirs);
    let counts = name_counts(&emulator.instances());
    let expected: BTreeMap<String, usize> = NAMES.iter().map(|n| (n.to_string(), 1)).collect();
    let shown: Vec<(String, String)> = outputs.iter().map(texts).collect();
    assert_eq!(counts, expected, "{shown:#?}");
    converged_or_said_why(&outputs);
    if !differing {
        // The same intent everywhere: every run ends converged.
        for output in &outputs {
            assert_eq!(output.status.code(), Some(0), "{:?}", texts(output));
        }
    }
}

#[test]
fn two_writers_with_the_same_manifests_create_each_name_once() {
    race(2, false);
}

#[test]
fn four_writers_with_the_same_manifests_create_each_name_once() {
    race(4, false);
}

#[test]
fn two_writers_with_differing_manifests_create_each_name_once() {
    race(2, true);
}

#[test]
fn four_writers_with_differing_manifests_create_each_name_once() {
    race(4, true);
}

#[test]
fn a_second_run_on_this_machine_waits_for_the_lock_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path(), "same");
    let emulator = EmulatorProcess::start(dir.path(), &["--create-seconds", "3"]);
    let first = emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first run holds the lock (its file names it).
    let lock = dir.path().join(".kvsync/locks/writers@cn-hangzhou.lock");
    let started = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |t| !t.contains("pid")) {
        assert!(started.elapsed() < Duration::from_secs(30), "no lock taken");
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve", "--lock-timeout", "200ms"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("locked by another kvsync run")
            && stderr.contains(&format!("pid {}", first.id())),
        "{stderr}"
    );
    // A run that waits long enough finds the first one's work done.
    let waited = emulator
        .kvsync(dir.path())
        .args(["apply", "--auto-approve"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&waited);
    assert_eq!(waited.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{:?}", texts(&first));
    assert_eq!(emulator.count("CreateInstance", "ok"), 3);
}

/// An in-process emulator whose clock the test moves, remembering tokens for `memory`.
struct Cloud {
    emu: emulator::RunningEmulator,
    now: Arc<Mutex<Timestamp>>,
    url: String,
}

impl Cloud {
    async fn start(memory: Option<i64>) -> Cloud {
        let now = Arc::new(Mutex::new(Timestamp::now()));
        let reader = Arc::clone(&now);
        let config = EmulatorConfig {
            durations: Durations {
                create: SignedDuration::ZERO,
                change: SignedDuration::ZERO,
                token_memory: memory.map(SignedDuration::from_secs),
                backup: SignedDuration::ZERO,
            },
            clock: Arc::new(move || *reader.lock().unwrap()),
            ..EmulatorConfig::default()
        };
        let emu = emulator::start("127.0.0.1:0", config).await.unwrap();
        let url = emu.url();
        Cloud { emu, now, url }
    }

    fn advance(&self, secs: i64) {
        *self.now.lock().unwrap() += SignedDuration::from_secs(secs);
    }

    fn command(&self, dir: &Path) -> Command {
        kvsync_at(dir, &self.url)
    }

    fn instances(&self) -> Vec<Value> {
        instances_at(&self.url)
    }
}

/// Runs `command` on a blocking thread, killing it after a minute (a replayed answer used to
/// make apply wait for a change that never came).
async fn finish(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                let output = child.wait_with_output().unwrap();
                panic!("kvsync hung: {:?}", texts(&output));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn write(dir: &Path, instance: Option<&str>) {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: cycle}\nspec: {region: cn-hangzhou, prune: true}\n",
    );
    if let Some(class) = instance {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: cycled}}\nspec: {{instanceClass: {class}, releaseProtection: false}}\n"
        ));
    }
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/stack.yaml"), text).unwrap();
}

async fn apply_converges(cloud: &Cloud, dir: &Path) -> String {
    let mut command = cloud.command(dir);
    command.args(["apply", "--auto-approve", "--allow-destroy", "--prune-all"]);
    let output = finish(command).await;
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Converged"), "{stdout}");
    stdout
}

/// Five rounds of create, then prune; `pause` seconds of emulated time pass after each apply.
async fn create_prune_create(memory: Option<i64>, pause: i64) {
    let cloud = Cloud::start(memory).await;
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for round in 0..5 {
        write(dir.path(), Some("redis.master.small.default"));
        apply_converges(&cloud, dir.path()).await;
        let live = cloud.instances();
        assert_eq!(name_counts(&live).get("cycled"), Some(&1), "round {round}");
        let id = live[0]["InstanceId"].as_str().unwrap().to_owned();
        assert!(!ids.contains(&id), "round {round} replayed {id}");
        ids.push(id);
        cloud.advance(pause);
        write(dir.path(), None);
        apply_converges(&cloud, dir.path()).await;
        assert!(cloud.instances().is_empty(), "round {round}");
        cloud.advance(pause);
    }
    cloud.emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_prune_create_five_times_with_tokens_remembered_for_ever() {
    create_prune_create(None, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_prune_create_five_times_with_tokens_remembered_for_a_minute() {
    // 30 s after each apply: a token is remembered for the next apply and forgotten by the one
    // after.
    create_prune_create(Some(60), 30).await;
}

/// Resizes A → B → A → B; every apply converges on the class asked for.
async fn resize_back_and_forth(memory: Option<i64>, pause: i64) {
    let cloud = Cloud::start(memory).await;
    let dir = tempfile::tempdir().unwrap();
    let classes = [
        "redis.master.small.default",
        "redis.master.mid.default",
        "redis.master.small.default",
        "redis.master.mid.default",
        "redis.master.small.default",
    ];
    for class in classes {
        write(dir.path(), Some(class));
        apply_converges(&cloud, dir.path()).await;
        let live = cloud.instances();
        assert_eq!(live.len(), 1);
        assert_eq!(live[0]["InstanceClass"], class);
        cloud.advance(pause);
    }
    cloud.emu.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_back_and_forth_never_replays_with_tokens_remembered_for_ever() {
    resize_back_and_forth(None, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_back_and_forth_never_replays_with_tokens_remembered_for_a_minute() {
    resize_back_and_forth(Some(60), 30).await;
}

#[test]
fn a_cloud_that_forgets_tokens_at_once_lets_writers_duplicate_and_every_run_reports_it() {
    let root = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(
        root.path(),
        &["--create-seconds", "2", "--token-memory-seconds", "0"],
    );
    let dirs: Vec<tempfile::TempDir> = ["a", "b"]
        .iter()
        .map(|label| {
            let dir = tempfile::tempdir().unwrap();
            manifests(dir.path(), label);
            dir
        })
        .collect();
    let outputs = apply_at_once(&emulator, &dirs);
    let counts = name_counts(&emulator.instances());
    if counts.values().any(|&n| n > 1) {
        for output in &outputs {
            let (stdout, stderr) = texts(output);
            assert_ne!(output.status.code(), Some(0), "{stdout}\n{stderr}");
            assert!(
                stdout.contains("live instances are named"),
                "{stdout}\n{stderr}"
            );
        }
    }
    converged_or_said_why(&outputs);
}
