//! The daemon against the emulator: manifest changes, out-of-band drift, a git branch, broken
//! manifests, an unreachable API, and shutdown. Everything is checked through the emulator or
//! the daemon's own HTTP view.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{EmulatorProcess, Request, call, http_get, http_get_json};

pub(crate) const INSTANCE: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: watched}
spec: {region: cn-hangzhou, prune: true, allowDestroy: true}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: watched-cache}
spec:
  instanceClass: redis.master.small.default
  zoneId: cn-hangzhou-h
  releaseProtection: false
  whitelists:
    app: [10.0.1.0/24]
";

/// A running `kvsync daemon`; killed on drop.
pub(crate) struct Daemon {
    pub(crate) child: Child,
    pub(crate) stdout: BufReader<ChildStdout>,
    pub(crate) url: String,
}

impl Daemon {
    pub(crate) fn start(dir: &Path, emulator: &EmulatorProcess, extra: &[&str]) -> Self {
        let mut command = emulator.kvsync(dir);
        command
            .args(["daemon", "--listen", "127.0.0.1:0", "--debounce", "300ms"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Self::spawn(command)
    }

    pub(crate) fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("starting the daemon");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        let url = banner
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected daemon banner {banner:?}"))
            .to_owned();
        Daemon { child, stdout, url }
    }

    pub(crate) fn status(&self) -> Value {
        http_get_json(&format!("{}/status", self.url))
    }

    fn metrics(&self) -> String {
        let (code, body) = http_get(&format!("{}/metrics", self.url));
        assert_eq!(code, 200, "{body}");
        body
    }

    /// Waits until `check(status)` holds.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let status = self.status();
            if check(&status) {
                return status;
            }
            assert!(
                started.elapsed() < timeout,
                "timed out waiting for {what}: {status:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn instance<'a>(status: &'a Value, name: &str) -> &'a Value {
        &status["instances"][format!("cn-hangzhou/{name}")]
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn workspace(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/stack.yaml"), manifest).unwrap();
    dir
}

pub(crate) fn emulator_instance(emulator: &EmulatorProcess, name: &str) -> Option<Value> {
    emulator
        .instances()
        .into_iter()
        .find(|i| i["InstanceName"] == name)
}

pub(crate) fn wait_until(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_manifest_change_is_applied_within_one_debounce() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1h"],
    );
    let ready = daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    assert_eq!(
        Daemon::instance(&ready, "watched-cache")["last_result"],
        "applied"
    );
    assert!(emulator_instance(&emulator, "watched-cache").is_some());

    // The interval is an hour: only the file change can explain the next reconcile.
    let path = dir.path().join("manifests/stack.yaml");
    let saved = Instant::now();
    std::fs::write(
        &path,
        INSTANCE.replace("releaseProtection: false", "releaseProtection: true"),
    )
    .unwrap();
    wait_until("protection applied", Duration::from_secs(15), || {
        emulator_instance(&emulator, "watched-cache")
            .is_some_and(|i| i["InstanceReleaseProtection"] == true)
    });
    // The debounce (300 ms) plus one reconcile on a fast emulator; that a burst of events is
    // one trigger is checked exactly in `daemon::triggers`' own tests.
    assert!(
        saved.elapsed() < Duration::from_secs(5),
        "took {:?}",
        saved.elapsed()
    );
    // The write lands before the cycle is recorded.
    daemon.wait_for("the second reconcile", Duration::from_secs(5), |s| {
        s["cycles"].as_u64().unwrap() >= 2
    });
}

#[test]
fn out_of_band_drift_is_corrected_on_the_next_interval() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1s"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    let id = emulator_instance(&emulator, "watched-cache").unwrap()["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = runtime.block_on(call(
        &emulator.url,
        Request::new("ModifySecurityIps")
            .param("InstanceId", &id)
            .param("SecurityIpGroupName", "app")
            .param("SecurityIps", "0.0.0.0/0"),
    ));
    assert_eq!(status, 200, "{body}");
    wait_until("the whitelist restored", Duration::from_secs(15), || {
        emulator.count("ModifySecurityIps", "ok") >= 3
    });
    let (_, ips) = runtime.block_on(call(
        &emulator.url,
        Request::new("DescribeSecurityIps").param("InstanceId", &id),
    ));
    let app = ips["SecurityIpGroups"]["SecurityIpGroup"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["SecurityIpGroupName"] == "app")
        .unwrap()
        .clone();
    assert_eq!(app["SecurityIpList"], "10.0.1.0/24");
}

#[test]
fn observe_mode_reports_drift_and_never_writes() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "observe", "--interval", "500ms"],
    );
    let status = daemon.wait_for("drift reported", Duration::from_secs(20), |s| {
        s["ready"] == true && Daemon::instance(s, "watched-cache")["last_result"] == "drift"
    });
    let drift = Daemon::instance(&status, "watched-cache")["drift"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        drift
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("CreateInstance")),
        "{drift:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let writes: u64 = emulator
        .stats()
        .as_object()
        .unwrap()
        .iter()
        .filter(|(action, _)| !action.starts_with("Describe") && *action != "ListTagResources")
        .map(|(_, outcomes)| {
            outcomes
                .as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(
        writes,
        0,
        "observe mode made a change: {}",
        emulator.stats()
    );
    assert!(
        daemon
            .metrics()
            .contains("kvsync_instance_drift{instance=\"cn-hangzhou/watched-cache\"}")
    );
}

#[test]
fn a_broken_manifest_keeps_the_last_good_state_and_shows_the_error() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "500ms"],
    );
    let first = daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    let good_revision = first["revision"]["id"].clone();

    // A typo in the only file: with prune on, a naive daemon would now delete the instance.
    std::fs::write(
        dir.path().join("manifests/stack.yaml"),
        INSTANCE.replace("instanceClass", "instanceClas"),
    )
    .unwrap();
    let status = daemon.wait_for("the manifest error", Duration::from_secs(15), |s| {
        s["manifest_error"].is_string()
    });
    let error = status["manifest_error"].as_str().unwrap();
    assert!(
        error.contains("stack.yaml:") && error.contains("unknown-field"),
        "{error}"
    );
    assert_eq!(
        status["revision"]["id"], good_revision,
        "the last good revision stays in force"
    );
    let cycles = status["cycles"].as_u64().unwrap();
    daemon.wait_for("more reconciles", Duration::from_secs(10), |s| {
        s["cycles"].as_u64().unwrap() > cycles + 2
    });
    assert_eq!(emulator.count("DeleteInstance", "ok"), 0);
    assert!(emulator_instance(&emulator, "watched-cache").is_some());

    // An empty source does not prune either.
    std::fs::write(dir.path().join("manifests/stack.yaml"), "# nothing here\n").unwrap();
    daemon.wait_for("the empty-source refusal", Duration::from_secs(15), |s| {
        s["manifest_error"]
            .as_str()
            .is_some_and(|e| e.contains("no instance") || e.contains("no *.yaml"))
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(emulator.count("DeleteInstance", "ok"), 0);

    std::fs::write(dir.path().join("manifests/stack.yaml"), INSTANCE).unwrap();
    daemon.wait_for("the error cleared", Duration::from_secs(15), |s| {
        s["manifest_error"].is_null()
    });
}

#[test]
fn an_unreachable_api_is_survived_and_the_daemon_recovers() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let address = emulator.url.trim_start_matches("http://").to_owned();
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "500ms"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });

    drop(emulator);
    let down = daemon.wait_for("the outage", Duration::from_secs(60), |s| {
        s["cycle_error"].is_string()
    });
    assert!(
        down["cycle_error"].as_str().unwrap().contains("observing")
            || down["cycle_error"].as_str().unwrap().contains("sending"),
        "{down:#}"
    );
    assert_eq!(
        http_get_json(&format!("{}/status", daemon.url))["ready"],
        true,
        "still serving"
    );

    let emulator = EmulatorProcess::start(dir.path(), &["--listen", &address]);
    daemon.wait_for("recovery", Duration::from_secs(60), |s| {
        s["cycle_error"].is_null()
            && Daemon::instance(s, "watched-cache")["last_result"] == "in_sync"
    });
    assert_eq!(
        emulator.instances().len(),
        1,
        "recovered without creating again"
    );
}

#[test]
fn sigterm_ends_with_a_final_status_line_and_exit_0() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let mut daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1h"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    let pid = daemon.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut stdout = String::new();
    daemon.stdout.read_to_string(&mut stdout).unwrap();
    let status = daemon.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        stdout.contains("kvsync daemon stopped: cycles=1"),
        "{stdout}"
    );
}

/// `git` with an identity, in `dir`.
pub(crate) fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=kvsync tests",
            "-c",
            "user.email=tests@kvsync.invalid",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

/// The commit `HEAD` names in `dir`.
pub(crate) fn head(dir: &Path) -> String {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A bare repository under `dir` with `main` holding `manifests/stack.yaml` ([`INSTANCE`]),
/// and the working copy it was pushed from.
pub(crate) fn pushed_repo(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let bare = dir.join("repo.git");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(dir, &["init", "--bare", bare.to_str().unwrap()]);
    git(&work, &["init"]);
    std::fs::create_dir(work.join("manifests")).unwrap();
    std::fs::write(work.join("manifests/stack.yaml"), INSTANCE).unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-m", "first"]);
    git(
        &work,
        &["push", bare.to_str().unwrap(), "HEAD:refs/heads/main"],
    );
    (bare, work)
}

#[test]
fn a_pushed_commit_is_applied_and_its_revision_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, work) = pushed_repo(dir.path());

    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let url = format!("file://{}", bare.display());
    let cache = dir.path().join("cache");
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--git",
            &url,
            "--branch",
            "main",
            "--git-interval",
            "300ms",
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
    );
    let first = daemon.wait_for("the first reconcile", Duration::from_secs(30), |s| {
        s["ready"] == true
    });
    assert_eq!(first["revision"]["id"], head(&work));
    assert_eq!(first["revision"]["source"], "git");

    std::fs::write(
        work.join("manifests/stack.yaml"),
        INSTANCE.replace("releaseProtection: false", "releaseProtection: true"),
    )
    .unwrap();
    git(&work, &["commit", "-am", "protect"]);
    git(
        &work,
        &["push", bare.to_str().unwrap(), "HEAD:refs/heads/main"],
    );
    let pushed = head(&work);
    daemon.wait_for("the pushed revision", Duration::from_secs(30), |s| {
        s["revision"]["id"] == pushed.as_str()
    });
    wait_until("protection applied", Duration::from_secs(15), || {
        emulator_instance(&emulator, "watched-cache")
            .is_some_and(|i| i["InstanceReleaseProtection"] == true)
    });
    let metrics = daemon.metrics();
    assert!(
        metrics.contains(&format!("revision=\"{pushed}\"")),
        "{metrics}"
    );
}

#[test]
fn sighup_reconciles_at_once() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "observe", "--interval", "1h"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["cycles"] == 1
    });
    let pid = daemon.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    daemon.wait_for("the SIGHUP reconcile", Duration::from_secs(10), |s| {
        s["cycles"] == 2
    });
    let metrics = daemon.metrics();
    assert!(
        metrics.contains("kvsync_reconcile_total{result=\"ok\"} 2"),
        "{metrics}"
    );
}

/// A stack of `count` instances named `fleet-N`, each with a whitelist; `wide` widens one.
fn fleet(count: usize, wide: Option<usize>) -> String {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: fleet}\nspec: {region: cn-hangzhou}\n",
    );
    for n in 0..count {
        let cidr = if wide == Some(n) {
            "10.0.0.0/16"
        } else {
            "10.0.1.0/24"
        };
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: fleet-{n}}}\nspec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n  releaseProtection: false\n  whitelists:\n    app: [{cidr}]\n"
        ));
    }
    text
}

/// Brings the emulator to the manifests with a one-shot `kvsync apply`.
fn apply_once(dir: &Path, emulator: &EmulatorProcess) {
    let applied = emulator
        .kvsync(dir)
        .args(["apply", "--auto-approve", "-f", "manifests"])
        .output()
        .unwrap();
    assert!(applied.status.success(), "{applied:?}");
}

/// The emulator's counter of `action` requests, whatever their outcome.
fn requests(stats: &Value, action: &str) -> u64 {
    stats[action]
        .as_object()
        .map(|outcomes| outcomes.values().map(|n| n.as_u64().unwrap()).sum())
        .unwrap_or(0)
}

#[test]
fn a_manifest_change_replans_only_that_instance_from_the_cache() {
    let dir = workspace(&fleet(3, None));
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    apply_once(dir.path(), &emulator);
    let applied = emulator.stats();
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--cache-max-age",
            "10m",
        ],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    let before = emulator.stats();
    assert_eq!(
        requests(&before, "DescribeSecurityIps") - requests(&applied, "DescribeSecurityIps"),
        3,
        "the startup reads every instance"
    );

    std::fs::write(dir.path().join("manifests/stack.yaml"), fleet(3, Some(1))).unwrap();
    let status = daemon.wait_for("the change applied", Duration::from_secs(15), |s| {
        s["cycles"].as_u64().unwrap() >= 2
    });
    let after = emulator.stats();
    let delta = |action: &str| requests(&after, action) - requests(&before, action);
    assert_eq!(delta("ModifySecurityIps"), 1, "{after:#}");
    // Planned from the startup's observation: neither the listing nor any instance's
    // whitelist was read again, and the two unchanged instances were not looked at.
    assert_eq!(delta("DescribeInstances"), 0, "{after:#}");
    assert_eq!(delta("DescribeSecurityIps"), 0, "{after:#}");
    assert_eq!(
        Daemon::instance(&status, "fleet-1")["last_result"],
        "applied"
    );
    assert_eq!(
        Daemon::instance(&status, "fleet-0")["last_result"],
        "in_sync"
    );

    // What was written is read afresh: SIGHUP observes everything and finds it in sync.
    let pid = daemon.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = daemon.wait_for("the refresh", Duration::from_secs(15), |s| {
        s["cycles"].as_u64().unwrap() >= 3
    });
    let refreshed = emulator.stats();
    assert_eq!(
        requests(&refreshed, "DescribeSecurityIps") - requests(&after, "DescribeSecurityIps"),
        3
    );
    assert_eq!(
        requests(&refreshed, "ModifySecurityIps"),
        requests(&after, "ModifySecurityIps")
    );
    assert_eq!(
        Daemon::instance(&status, "fleet-1")["last_result"],
        "in_sync"
    );
}

#[test]
fn the_interval_refresh_is_spread_over_slices() {
    const COUNT: u64 = 6;
    let dir = workspace(&fleet(COUNT as usize, None));
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    apply_once(dir.path(), &emulator);
    // Three ticks per 1.5 s interval; each re-reads one slice of the six instances.
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &[
            "--mode",
            "observe",
            "--interval",
            "1500ms",
            "--refresh-slices",
            "3",
        ],
    );
    let first = daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["ready"] == true
    });
    let (start_cycles, start) = (first["cycles"].as_u64().unwrap(), emulator.stats());
    let last = daemon.wait_for("nine ticks", Duration::from_secs(20), |s| {
        s["cycles"].as_u64().unwrap() >= start_cycles + 9
    });
    let end = emulator.stats();
    let ticks = last["cycles"].as_u64().unwrap() - start_cycles;
    let reads = requests(&end, "DescribeSecurityIps") - requests(&start, "DescribeSecurityIps");
    let listings = requests(&end, "DescribeInstances") - requests(&start, "DescribeInstances");
    // Every tick lists (one page); over `ticks` ticks, each instance's details are read once
    // per three ticks, give or take a tick on either side: the status and the emulator's
    // counters are not read at the same instant.
    let per_interval = |t: u64| COUNT * t / 3;
    assert!(
        (per_interval(ticks).saturating_sub(COUNT)..=per_interval(ticks) + COUNT).contains(&reads),
        "{reads} whitelist reads in {ticks} ticks (a burst would be {})",
        COUNT * ticks
    );
    assert!(
        (ticks - 1..=ticks + 1).contains(&listings),
        "{listings} listings in {ticks} ticks"
    );
    for n in 0..COUNT {
        assert_eq!(
            Daemon::instance(&last, &format!("fleet-{n}"))["last_result"],
            "in_sync"
        );
    }
}

/// Regression: a daemon cycle that applied everything it could reported the instance in sync
/// while a blocked difference (here a zone move) remained.
#[test]
fn a_blocked_difference_keeps_the_instance_out_of_sync() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1h"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        Daemon::instance(s, "watched-cache")["last_result"] == "applied"
    });
    // A change kvsync makes (the whitelist) beside one it will not (the zone).
    std::fs::write(
        dir.path().join("manifests/stack.yaml"),
        INSTANCE
            .replace("zoneId: cn-hangzhou-h", "zoneId: cn-hangzhou-b")
            .replace("10.0.1.0/24", "10.0.9.0/24"),
    )
    .unwrap();
    let status = daemon.wait_for("the edit", Duration::from_secs(20), |s| {
        s["cycles"].as_u64().unwrap() >= 2
    });
    let entry = Daemon::instance(&status, "watched-cache");
    assert_eq!(entry["last_result"], "drift", "{status:#}");
    let drift = entry["drift"].to_string();
    assert!(drift.contains("! spec.zoneId"), "{drift}");
    assert_eq!(emulator.count("ModifySecurityIps", "ok"), 2);
}

/// Regression: the daemon's resize tokens were the same for every small → mid, so resizing
/// back and then forward again replayed the first answer and never converged.
#[test]
fn the_daemon_resizes_back_and_forth() {
    let dir = workspace(INSTANCE);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let daemon = Daemon::start(
        dir.path(),
        &emulator,
        &["--mode", "apply", "--interval", "1h"],
    );
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        Daemon::instance(s, "watched-cache")["last_result"] == "applied"
    });
    for class in [
        "redis.master.mid.default",
        "redis.master.small.default",
        "redis.master.mid.default",
    ] {
        std::fs::write(
            dir.path().join("manifests/stack.yaml"),
            INSTANCE.replace("redis.master.small.default", class),
        )
        .unwrap();
        wait_until(&format!("class {class}"), Duration::from_secs(30), || {
            emulator_instance(&emulator, "watched-cache")
                .is_some_and(|i| i["InstanceClass"] == class && i["InstanceStatus"] == "Normal")
        });
    }
    daemon.wait_for("in sync", Duration::from_secs(30), |s| {
        Daemon::instance(s, "watched-cache")["last_result"] == "applied"
    });
}
