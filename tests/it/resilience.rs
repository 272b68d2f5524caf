//! Apply in a hostile world: injected faults, throttling, lost answers, slow transitions,
//! SIGKILL at any moment, and an operator's Ctrl-C. Every check is made through the emulator,
//! not through kvsync's own view.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{EmulatorProcess, run, texts};

/// `n` instances, each with two accounts and a whitelist group, in one file.
fn write_fleet(dir: &Path, n: usize) {
    write_fleet_of(dir, n, "redis.master.small.default", "");
}

/// [`write_fleet`] with another class and more spec lines.
fn write_fleet_of(dir: &Path, n: usize, class: &str, extra: &str) {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: fleet}\nspec: {region: cn-hangzhou}\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: fleet-{i:02}}}
spec:
  instanceClass: {class}
  engineVersion: \"6.0\"
{extra}  zoneId: cn-hangzhou-h
  whitelists:
    app: [10.0.{i}.0/24, 10.1.0.{i}]
  accounts:
    - {{name: app_rw, privilege: RoleReadWrite, password: {{env: FLEET_RW_PASSWORD}}}}
    - {{name: app_ro, privilege: RoleReadOnly, password: {{env: FLEET_RO_PASSWORD}}}}
"
        ));
    }
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/fleet.yaml"), text).unwrap();
}

fn with_secrets(command: &mut Command) -> &mut Command {
    command
        .env("FLEET_RW_PASSWORD", "Fleet-Rw-Passw0rd")
        .env("FLEET_RO_PASSWORD", "Fleet-Ro-Passw0rd")
}

/// The emulator's own state: instance names (with multiplicity) and each instance's normal
/// accounts, read from its state file.
fn cloud_state(dir: &Path) -> (BTreeMap<String, usize>, BTreeMap<String, Vec<String>>) {
    let state = crate::support::emulator_state_json(&dir.join("emulator-state.json"));
    let mut names = BTreeMap::new();
    let mut accounts = BTreeMap::new();
    for instance in state["instances"].as_object().unwrap().values() {
        let name = instance["name"].as_str().unwrap().to_owned();
        *names.entry(name.clone()).or_insert(0) += 1;
        let normal: Vec<String> = instance["accounts"]
            .as_object()
            .unwrap()
            .values()
            .filter(|a| a["account_type"] == "Normal")
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect();
        accounts.insert(name, normal);
    }
    (names, accounts)
}

fn assert_exact_fleet(dir: &Path, n: usize, context: &str) {
    let (names, accounts) = cloud_state(dir);
    let expected: BTreeMap<String, usize> = (0..n).map(|i| (format!("fleet-{i:02}"), 1)).collect();
    assert_eq!(names, expected, "{context}: instances (name → count)");
    for (name, mut normal) in accounts {
        normal.sort();
        assert_eq!(
            normal,
            ["app_ro", "app_rw"],
            "{context}: accounts of {name}"
        );
    }
}

#[test]
fn a_20_instance_apply_converges_through_faults_throttling_and_lost_answers() {
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), 20);
    let emulator = EmulatorProcess::start(
        dir.path(),
        &[
            "--fault-rate",
            "0.1",
            "--lost-response-rate",
            "0.05",
            "--qps",
            "40",
            "--latency-ms",
            "5",
        ],
    );
    // Real backoff here (the other tests switch it off); demand above the emulator's cap.
    let mut apply = emulator.kvsync(dir.path());
    apply.env_remove("KVSYNC_NO_RETRY_DELAY").args([
        "--qps",
        "80",
        "apply",
        "--auto-approve",
        "--parallelism",
        "20",
    ]);
    let applied = run(with_secrets(&mut apply));
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Converged"), "{stdout}");

    let stats = emulator.stats();
    let count = |action: &str, outcome: &str| stats[action][outcome].as_u64().unwrap_or(0);
    let faults: u64 = stats
        .as_object()
        .unwrap()
        .values()
        .map(|o| o["ServiceUnavailable"].as_u64().unwrap_or(0))
        .sum();
    let throttled: u64 = stats
        .as_object()
        .unwrap()
        .values()
        .map(|o| o["Throttling.User"].as_u64().unwrap_or(0))
        .sum();
    let lost: u64 = stats
        .as_object()
        .unwrap()
        .values()
        .map(|o| o["lost-response"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        faults > 0 && throttled > 0 && lost > 0,
        "the faults really happened: {stats}"
    );
    assert!(count("CreateInstance", "ok") + count("CreateInstance", "lost-response") >= 20);
    assert_exact_fleet(dir.path(), 20, "after a faulty apply");

    let mut plan = emulator.kvsync(dir.path());
    plan.env_remove("KVSYNC_NO_RETRY_DELAY")
        .args(["plan", "--detailed-exitcode"]);
    let planned = run(with_secrets(&mut plan));
    assert_eq!(planned.status.code(), Some(0), "{}", texts(&planned).0);
}

fn spawn_apply(emulator: &EmulatorProcess, dir: &Path) -> Child {
    let mut command = emulator.kvsync(dir);
    command
        .args(["apply", "--auto-approve", "--parallelism", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    with_secrets(&mut command).spawn().unwrap()
}

/// How long one undisturbed apply of the fleet takes (the kill moments spread over it).
fn undisturbed_duration(n: usize) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), n);
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let started = Instant::now();
    let status = spawn_apply(&emulator, dir.path()).wait().unwrap();
    assert!(status.success());
    started.elapsed()
}

#[test]
fn apply_killed_at_20_moments_converges_on_the_next_run_without_duplicates() {
    const N: usize = 10;
    const KILLS: u32 = 20;
    let full = undisturbed_duration(N);
    let rounds: Vec<Duration> = (1..=KILLS)
        .map(|k| full.mul_f64(f64::from(k) / f64::from(KILLS + 1)))
        .collect();
    // Seven rounds at a time: each has its own emulator; the processes mostly wait.
    for chunk in rounds.chunks(7) {
        let handles: Vec<_> = chunk
            .iter()
            .copied()
            .map(|moment| {
                std::thread::spawn(move || {
                    let dir = tempfile::tempdir().unwrap();
                    write_fleet(dir.path(), N);
                    let emulator = EmulatorProcess::start(dir.path(), &[]);
                    let mut first = spawn_apply(&emulator, dir.path());
                    std::thread::sleep(moment);
                    first.kill().unwrap(); // SIGKILL
                    first.wait().unwrap();
                    let second = run(with_secrets(
                        emulator
                            .kvsync(dir.path())
                            .args(["apply", "--auto-approve"]),
                    ));
                    let (stdout, stderr) = texts(&second);
                    let context = format!("killed after {moment:?} of {full:?}");
                    assert_eq!(
                        second.status.code(),
                        Some(0),
                        "{context}\n{stdout}\n{stderr}"
                    );
                    assert_exact_fleet(dir.path(), N, &context);
                    moment
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }
}

#[test]
fn sigterm_stops_new_steps_reports_and_a_rerun_converges() {
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), 4);
    let emulator = EmulatorProcess::start(dir.path(), &["--create-seconds", "1.5"]);
    let mut command = emulator.kvsync(dir.path());
    command
        .args(["apply", "--auto-approve", "--parallelism", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = with_secrets(&mut command).spawn().unwrap();
    // Stop while the instances are being created (each waits 1.5 s for Normal): as soon as
    // the first create is waiting, however long planning took on a loaded machine.
    let (waiting, seen) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line.unwrap();
            if line.contains("action=CreateInstance event=waiting") {
                let _ = waiting.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    seen.recv_timeout(Duration::from_secs(60))
        .expect("a create started waiting");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().unwrap();
    let stdout = reader.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopping: no new step starts"), "{stderr}");
    assert!(stdout.contains("Stopped on request"), "{stdout}");
    assert!(stdout.contains("not run"), "{stdout}");
    assert!(!stdout.contains("Converged"), "{stdout}");

    let rerun = run(with_secrets(
        emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve"]),
    ));
    assert_eq!(rerun.status.code(), Some(0), "{}", texts(&rerun).0);
    assert_exact_fleet(dir.path(), 4, "after a stop and a re-run");
}

#[test]
fn a_first_signal_lets_the_call_in_flight_finish_and_a_second_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), 1);
    // Every call takes 3 s: the first signal arrives while the first read is in flight.
    let emulator = EmulatorProcess::start(dir.path(), &["--latency-ms", "3000"]);
    let spawn = || {
        let mut command = emulator.kvsync(dir.path());
        command
            .args(["apply", "--auto-approve"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        with_secrets(&mut command).spawn().unwrap()
    };
    let signal = |child: &Child| {
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
    };

    let once = spawn();
    std::thread::sleep(Duration::from_millis(700));
    let started = Instant::now();
    signal(&once);
    let output = once.wait_with_output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the call in flight was cut short"
    );
    assert!(
        stdout.contains("Stopped on request before any change"),
        "{stdout}"
    );
    assert_eq!(emulator.count("CreateInstance", "ok"), 0);

    let twice = spawn();
    std::thread::sleep(Duration::from_millis(700));
    let started = Instant::now();
    signal(&twice);
    std::thread::sleep(Duration::from_millis(200));
    signal(&twice);
    let output = twice.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the second signal did not exit at once"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("exiting at once"));
}

/// Per instance name: how many changes the emulator holds for the window, read from its
/// state file (every accepted order is persisted before it is answered).
fn scheduled_orders(dir: &Path) -> BTreeMap<String, usize> {
    let state = crate::support::emulator_state_json(&dir.join("emulator-state.json"));
    state["instances"]
        .as_object()
        .unwrap()
        .values()
        .map(|instance| {
            (
                instance["name"].as_str().unwrap().to_owned(),
                instance["scheduled"].as_array().map_or(0, Vec::len),
            )
        })
        .collect()
}

/// A fleet that exists in a fresh emulator, and manifests that resize every instance,
/// declaring the window `spec` sets.
fn seeded_for_resize(dir: &Path, n: usize, spec: &str) -> EmulatorProcess {
    write_fleet_of(dir, n, "redis.master.small.default", spec);
    let emulator = EmulatorProcess::start(dir, &[]);
    let created = run(with_secrets(
        emulator.kvsync(dir).args(["apply", "--auto-approve"]),
    ));
    assert_eq!(created.status.code(), Some(0), "{}", texts(&created).0);
    write_fleet_of(dir, n, "redis.master.mid.default", spec);
    emulator
}

#[test]
fn apply_killed_while_ordering_for_the_window_orders_each_change_exactly_once() {
    const N: usize = 10;
    const KILLS: u32 = 8;
    let window = crate::support::window_in(6);
    let spec = format!(
        "  maintenanceWindow: {{start: \"{}\", end: \"{}\"}}\n",
        window.0, window.1
    );
    let full = {
        let dir = tempfile::tempdir().unwrap();
        let emulator = seeded_for_resize(dir.path(), N, &spec);
        let started = Instant::now();
        assert!(spawn_apply(&emulator, dir.path()).wait().unwrap().success());
        started.elapsed()
    };
    let rounds: Vec<Duration> = (1..=KILLS)
        .map(|k| full.mul_f64(f64::from(k) / f64::from(KILLS + 1)))
        .collect();
    let handles: Vec<_> = rounds
        .into_iter()
        .map(|moment| {
            let window = window.clone();
            let spec = spec.clone();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let emulator = seeded_for_resize(dir.path(), N, &spec);
                let mut first = spawn_apply(&emulator, dir.path());
                std::thread::sleep(moment);
                first.kill().unwrap(); // SIGKILL
                first.wait().unwrap();
                let context = format!("killed after {moment:?} of {full:?}");
                let second = run(with_secrets(
                    emulator
                        .kvsync(dir.path())
                        .args(["apply", "--auto-approve"]),
                ));
                let (stdout, stderr) = texts(&second);
                assert_eq!(
                    second.status.code(),
                    Some(0),
                    "{context}\n{stdout}\n{stderr}"
                );
                assert_exact_fleet(dir.path(), N, &context);
                let expected: BTreeMap<String, usize> =
                    (0..N).map(|i| (format!("fleet-{i:02}"), 1)).collect();
                assert_eq!(
                    scheduled_orders(dir.path()),
                    expected,
                    "{context}: one order per instance"
                );
                // The window opens: every instance is resized once, and nothing is left.
                crate::support::advance_into_window(&emulator, &window.0, 60);
                let classes: Vec<String> = emulator
                    .instances()
                    .iter()
                    .map(|i| i["InstanceClass"].as_str().unwrap().to_owned())
                    .collect();
                assert!(
                    classes.iter().all(|c| c == "redis.master.mid.default"),
                    "{context}: {classes:?}"
                );
                let planned = run(with_secrets(
                    emulator
                        .kvsync(dir.path())
                        .args(["plan", "--detailed-exitcode"]),
                ));
                assert_eq!(
                    planned.status.code(),
                    Some(0),
                    "{context}: {}",
                    texts(&planned).0
                );
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
