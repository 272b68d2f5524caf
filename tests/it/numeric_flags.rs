//! Numeric command-line values: every one is checked against a documented range before
//! anything runs, and the client's rate comes from `--qps`, else the Stack document, else 20.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{EmulatorProcess, kvsync, texts, workspace};

/// Runs `command` to its end, killing it (and failing) if it runs longer than `limit`: a value
/// that was wrongly accepted starts a server that never ends.
fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kvsync");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{command:?} was accepted and kept running: {:?}",
                texts(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `(arguments, the flag the message must name, the range it must state)`.
const BAD_VALUES: &[(&[&str], &str, &str)] = &[
    (&["plan", "--qps", "1e-300"], "--qps", "0.01 to 10000"),
    (&["plan", "--qps", "0"], "--qps", "0.01 to 10000"),
    (&["plan", "--qps", "-3"], "--qps", "0.01 to 10000"),
    (&["plan", "--qps", "NaN"], "--qps", "0.01 to 10000"),
    (&["plan", "--qps", "inf"], "--qps", "0.01 to 10000"),
    (&["plan", "--qps", "1e300"], "--qps", "0.01 to 10000"),
    (
        &["apply", "--auto-approve", "--parallelism", "0"],
        "--parallelism",
        "1 to 64",
    ),
    (
        &[
            "apply",
            "--auto-approve",
            "--parallelism",
            "18446744073709551615",
        ],
        "--parallelism",
        "1 to 64",
    ),
    (
        &["daemon", "--parallelism", "0"],
        "--parallelism",
        "1 to 64",
    ),
    (
        &["daemon", "--parallelism", "65"],
        "--parallelism",
        "1 to 64",
    ),
    (&["daemon", "--interval", "0s"], "--interval", "1ms to 168h"),
    (
        &["daemon", "--interval", "-5s"],
        "--interval",
        "1ms to 168h",
    ),
    (
        &["daemon", "--interval", "100000h"],
        "--interval",
        "1ms to 168h",
    ),
    (
        &["daemon", "--interval", "soon"],
        "--interval",
        "1ms to 168h",
    ),
    (
        &["daemon", "--refresh-slices", "0"],
        "--refresh-slices",
        "1 to 1000",
    ),
    (
        &["daemon", "--refresh-slices", "4294967296"],
        "--refresh-slices",
        "1 to 1000",
    ),
    (&["daemon", "--history", "0"], "--history", "1 to 100000"),
    (&["daemon", "--history", "-5"], "--history", "1 to 100000"),
    (
        &["daemon", "--cache-max-age", "-1s"],
        "--cache-max-age",
        "0s to 24h",
    ),
    (
        &["daemon", "--cache-max-age", "1000d"],
        "--cache-max-age",
        "0s to 24h",
    ),
    (&["daemon", "--debounce", "-1ms"], "--debounce", "0s to 10m"),
    (&["daemon", "--debounce", "1h"], "--debounce", "0s to 10m"),
    (
        &["daemon", "--git-interval", "0s"],
        "--git-interval",
        "100ms to 24h",
    ),
    (
        &["daemon", "--git-timeout", "0s"],
        "--git-timeout",
        "100ms to 1h",
    ),
    (
        &["daemon", "--load-timeout", "0s"],
        "--load-timeout",
        "10ms to 1h",
    ),
    (
        &["daemon", "--observe-timeout", "0s"],
        "--observe-timeout",
        "1s to 24h",
    ),
    (
        &["daemon", "--shutdown-grace", "0s"],
        "--shutdown-grace",
        "100ms to 1h",
    ),
    (
        &["daemon", "--notify-dedup", "25h"],
        "--notify-dedup",
        "0s to 24h",
    ),
    (&["emulator", "--qps", "1e-300"], "--qps", "0.01 to 10000"),
    (
        &["emulator", "--create-seconds", "1e300"],
        "--create-seconds",
        "0 to 86400",
    ),
    (
        &["emulator", "--create-seconds", "-1"],
        "--create-seconds",
        "0 to 86400",
    ),
    (
        &["emulator", "--create-seconds", "NaN"],
        "--create-seconds",
        "0 to 86400",
    ),
    (
        &["emulator", "--change-seconds", "1e300"],
        "--change-seconds",
        "0 to 86400",
    ),
    (
        &["emulator", "--latency-ms", "99999999999"],
        "--latency-ms",
        "0 to 60000",
    ),
    (
        &["emulator", "--fault-rate", "1.5"],
        "--fault-rate",
        "0 to 1",
    ),
    (
        &["emulator", "--fault-rate", "NaN"],
        "--fault-rate",
        "0 to 1",
    ),
    (
        &["emulator", "--lost-response-rate", "-0.1"],
        "--lost-response-rate",
        "0 to 1",
    ),
    (
        &["emulator", "--backup-seconds", "86401"],
        "--backup-seconds",
        "0 to 86400",
    ),
    (
        &["emulator", "--fail-backups", "1000001"],
        "--fail-backups",
        "0 to 1000000",
    ),
    (
        &["emulator", "--clock-offset", "169h"],
        "--clock-offset",
        "-168h to +168h",
    ),
    (
        &["emulator", "--clock-offset", "soon"],
        "--clock-offset",
        "-168h to +168h",
    ),
];

#[test]
fn every_bad_number_is_a_usage_error_naming_the_flag_and_its_range() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let cache = dir.path().join("git-cache");
    for (args, flag, range) in BAD_VALUES {
        let mut command = emulator.kvsync(dir.path());
        command.args(*args);
        match args[0] {
            "emulator" => {
                command.args(["--listen", "127.0.0.1:0"]);
            }
            "daemon" => {
                command.args(["--listen", "127.0.0.1:0", "--cache-dir"]);
                command.arg(&cache);
            }
            _ => {}
        }
        let output = run_bounded(&mut command, Duration::from_secs(20));
        let (stdout, stderr) = texts(&output);
        let code = output.status.code();
        assert!(
            code.is_some_and(|c| c != 0 && c != 101),
            "{args:?}: exit {code:?}\n{stdout}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(range),
            "{args:?}: the message must name {flag} and {range:?}:\n{stderr}"
        );
        assert!(!stdout.contains("listening"), "{args:?}: {stdout}");
    }
    assert_eq!(emulator.total_requests(), 0, "{}", emulator.stats());
}

#[test]
fn bad_emulator_seconds_in_the_environment_are_refused_without_a_panic() {
    let dir = workspace();
    for value in ["1e300", "-1", "NaN"] {
        let output = run_bounded(
            kvsync(dir.path())
                .args(["plan", "--emulator"])
                .env("KVSYNC_EMULATOR_CREATE_SECONDS", value),
            Duration::from_secs(20),
        );
        let (_, stderr) = texts(&output);
        let code = output.status.code();
        assert!(
            code.is_some_and(|c| c != 0 && c != 101),
            "{value}: exit {code:?}\n{stderr}"
        );
        assert!(
            stderr.contains("KVSYNC_EMULATOR_CREATE_SECONDS") && stderr.contains("0 to 86400"),
            "{value}: {stderr}"
        );
    }
}

/// A stack of `count` instances limited to `qps` calls per second.
fn paced_stack(qps: &str, count: usize) -> String {
    let mut text = format!(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {{name: paced}}\nspec: {{region: cn-hangzhou, qps: {qps}}}\n"
    );
    for n in 0..count {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: paced-{n}}}\nspec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n  releaseProtection: false\n  whitelists:\n    app: [10.0.1.0/24]\n"
        ));
    }
    text
}

/// Requests the emulator answered `Throttling.User`, whatever the action.
fn throttled(emulator: &EmulatorProcess) -> u64 {
    emulator
        .stats()
        .as_object()
        .map(|actions| {
            actions
                .values()
                .filter_map(|outcomes| outcomes["Throttling.User"].as_u64())
                .sum()
        })
        .unwrap_or(0)
}

fn write_manifests(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir.join("paced")).unwrap();
    std::fs::write(dir.join("paced/stack.yaml"), text).unwrap();
}

#[test]
fn the_stack_qps_sets_the_clients_rate_unless_the_flag_does() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &paced_stack("2", 5));
    // Create the instances without a cap on the emulator, then cap it at 3 requests per
    // second (bursts of up to 3) on the same state.
    {
        let emulator = EmulatorProcess::start(dir.path(), &[]);
        let applied = emulator
            .kvsync(dir.path())
            .args(["apply", "--auto-approve", "-f", "paced", "--qps", "100"])
            .output()
            .unwrap();
        assert!(applied.status.success(), "{:?}", texts(&applied));
    }
    let emulator = EmulatorProcess::start(dir.path(), &["--qps", "3"]);

    let output = emulator
        .kvsync(dir.path())
        .args(["-v", "plan", "-f", "paced"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("API rate limit: 2 requests per second (from the Stack document)"),
        "{stderr}"
    );
    let calls = emulator.total_requests();
    assert!(calls >= 5, "{}", emulator.stats());
    assert_eq!(
        throttled(&emulator),
        0,
        "at 2 per second nothing is throttled: {}",
        emulator.stats()
    );

    // The flag wins, and the same plan at 10 per second runs into the emulator's cap.
    let output = emulator
        .kvsync(dir.path())
        .args(["-v", "plan", "-f", "paced", "--qps", "10"])
        .output()
        .unwrap();
    // (Whether that plan still completes depends on how its retries fall against the cap,
    // with retry delays switched off in the tests; only the rate and the refusals matter here.)
    let (_, stderr) = texts(&output);
    assert!(
        stderr.contains("API rate limit: 10 requests per second (from --qps)"),
        "{stderr}"
    );
    assert!(throttled(&emulator) > 0, "{}", emulator.stats());

    // Without either, the default.
    write_manifests(dir.path(), &paced_stack("2", 5).replace(", qps: 2", ""));
    let output = emulator
        .kvsync(dir.path())
        .args(["-v", "plan", "-f", "paced"])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert!(
        stderr.contains("API rate limit: 20 requests per second (the default)"),
        "{stderr}"
    );
}

#[test]
fn the_daemon_takes_its_rate_from_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), &paced_stack("2.5", 1));
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let log = dir.path().join("daemon.log");
    let mut command = emulator.kvsync(dir.path());
    command
        .args([
            "-v",
            "daemon",
            "-f",
            "paced",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "1h",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let daemon = crate::daemon::Daemon::spawn(command);
    daemon.wait_for("the first reconcile", Duration::from_secs(20), |s| {
        s["cycles"].as_u64().unwrap() >= 1
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("API rate limit: 2.5 requests per second (from the Stack document)"),
        "{text}"
    );
}
