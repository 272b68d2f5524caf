//! Manifest and secret-file inputs that cannot be files in git: FIFOs, devices, symlinks, loops,
//! files reached twice, oversized files, and empty files among others. Each run is bounded so
//! that a regression to a hang fails instead of stalling the suite.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{EmulatorProcess, kvsync, texts};

const INSTANCE: &str = "apiVersion: kvsync/v1
kind: Instance
metadata:
  name: orders-cache
  region: cn-hangzhou
spec:
  instanceClass: redis.master.small.default
  engineVersion: \"5.0\"
";

/// Lines 1-8 are [`INSTANCE`]; the password reference's path is at 9:20.
fn with_password_file(path: &str) -> String {
    format!("{INSTANCE}  password: {{file: {path}}}\n")
}

/// The most a run may take before it counts as a hang (generous: a debug build on a busy
/// machine finishes these in well under a second).
const HANG: Duration = Duration::from_secs(60);

/// Runs `command`, killing it and failing the test if it does not finish within [`HANG`].
fn run_bounded(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running kvsync");
    let started = Instant::now();
    while child.try_wait().expect("waiting for kvsync").is_none() {
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("kvsync {command:?} did not finish: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("reading kvsync's output")
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[cfg(unix)]
fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// `validate` in `dir` with `args`; exit code and stderr.
fn validate(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = run_bounded(kvsync(dir).arg("validate").args(args));
    let (stdout, stderr) = texts(&output);
    (output.status.code(), stdout, stderr)
}

#[test]
fn issue_a_fifo_manifest_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    mkfifo(&dir.path().join("manifests/orders.yaml"));
    for target in ["manifests/orders.yaml", "manifests"] {
        let (code, _, stderr) = validate(dir.path(), &["-f", target]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains("reading manifest file manifests/orders.yaml"),
            "{stderr}"
        );
        assert!(
            stderr.contains("is a FIFO, not a regular file; only regular files are read"),
            "{stderr}"
        );
    }
}

#[test]
fn issue_devices_and_oversized_manifests_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = validate(dir.path(), &["-f", "/dev/zero"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("/dev/zero") && stderr.contains("is a character device"),
        "{stderr}"
    );
    // Valid YAML, but more than 4 MiB of it.
    let mut big = String::from(INSTANCE);
    while big.len() <= 4 * 1024 * 1024 {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(dir.path().join("big.yaml"), big).unwrap();
    let (code, _, stderr) = validate(dir.path(), &["-f", "big.yaml"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("reading manifest file big.yaml")
            && stderr.contains("larger than 4 MiB, the most kvsync reads"),
        "{stderr}"
    );
}

#[test]
fn issue_a_fifo_or_device_secret_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.yaml"), with_password_file("pw")).unwrap();
    mkfifo(&dir.path().join("pw"));
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let output = run_bounded(emulator.kvsync(dir.path()).args([
        "apply",
        "--auto-approve",
        "-f",
        "orders.yaml",
    ]));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("reading secret file pw"), "{stderr}");
    assert!(stderr.contains("is a FIFO, not a regular file"), "{stderr}");
    assert!(
        stderr.contains("orders.yaml:9:20"),
        "the error names the reference: {stderr}"
    );
    assert_eq!(emulator.total_requests(), 0, "{}", emulator.stats());
    // plan does not need the secret: it finishes, with the password not compared.
    let output = run_bounded(
        emulator
            .kvsync(dir.path())
            .args(["plan", "-f", "orders.yaml"]),
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));

    // /dev/zero is outside the root; named as a secrets directory it is still no file.
    std::fs::remove_file(dir.path().join("pw")).unwrap();
    std::fs::write(
        dir.path().join("orders.yaml"),
        with_password_file("/dev/zero"),
    )
    .unwrap();
    let (code, _, stderr) = validate(dir.path(), &["-f", "orders.yaml"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr
            .contains("orders.yaml:9:20: error[secret-file]: the secret file /dev/zero is outside"),
        "{stderr}"
    );
    let before = emulator.total_requests();
    let output = run_bounded(emulator.kvsync(dir.path()).args([
        "apply",
        "--auto-approve",
        "-f",
        "orders.yaml",
        "--secrets-dir",
        "/dev",
    ]));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a character device"), "{stderr}");
    assert_eq!(emulator.total_requests(), before);
}

#[cfg(unix)]
#[test]
fn issue_file_secrets_are_confined_to_the_root_and_the_secrets_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("manifests");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("pw"), "Outside-Passw0rd-1\n").unwrap();
    // A symlink committed into the manifest directory, leading out of it.
    symlink(outside.join("pw"), root.join("pw"));
    std::fs::write(root.join("orders.yaml"), with_password_file("pw")).unwrap();
    let (code, _, stderr) = validate(dir.path(), &["-f", "manifests"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "manifests/orders.yaml:9:20: error[secret-file]: the secret file manifests/pw leads, through a symlink, outside"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("Outside-Passw0rd"), "{stderr}");

    // The same file by its absolute path: outside, unless its directory is a --secrets-dir.
    let absolute = outside.join("pw");
    let absolute = absolute.to_str().unwrap();
    std::fs::remove_file(root.join("pw")).unwrap();
    std::fs::write(root.join("orders.yaml"), with_password_file(absolute)).unwrap();
    let (code, _, stderr) = validate(dir.path(), &["-f", "manifests"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("error[secret-file]"), "{stderr}");
    let (code, stdout, stderr) =
        validate(dir.path(), &["-f", "manifests", "--secrets-dir", "outside"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("1 instance"), "{stdout}");

    // With the directory allowed, apply reads it (and the instance is created).
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let output = run_bounded(emulator.kvsync(dir.path()).args([
        "apply",
        "--auto-approve",
        "-f",
        "manifests",
        "--secrets-dir",
        "outside",
    ]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("Outside-Passw0rd") && !stderr.contains("Outside-Passw0rd"));

    // A missing --secrets-dir is an error, not ignored.
    let (code, _, stderr) = validate(dir.path(), &["-f", "manifests", "--secrets-dir", "nope"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--secrets-dir nope"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn issue_a_symlink_loop_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("manifests");
    std::fs::create_dir_all(root.join("team")).unwrap();
    std::fs::write(root.join("team/orders.yaml"), INSTANCE).unwrap();
    symlink("..", root.join("team/up"));
    let (code, _, stderr) = validate(dir.path(), &["-f", "manifests"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("duplicate-instance"), "{stderr}");
    assert!(
        stderr.contains("the manifest directory manifests/team/up is a symlink loop"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn issue_a_file_reached_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("manifests");
    std::fs::create_dir_all(root.join("linked")).unwrap();
    std::fs::write(root.join("a.yaml"), INSTANCE).unwrap();
    symlink("../a.yaml", root.join("linked/b.yaml"));
    for args in [
        &["-f", "manifests/a.yaml", "-f", "manifests/a.yaml"][..],
        &["-f", "manifests", "-f", "manifests/a.yaml"],
        &["-f", "manifests"],
        &["-f", "manifests/a.yaml", "-f", "./manifests/linked/b.yaml"],
    ] {
        let (code, stdout, stderr) = validate(dir.path(), args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stdout.contains("1 instance."), "{args:?}: {stdout}");
    }
}

#[test]
fn issue_emptying_one_file_of_several_is_refused_before_prune() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("manifests");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("00-stack.yaml"),
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: shop}\nspec: {region: cn-hangzhou, prune: true}\n",
    )
    .unwrap();
    std::fs::write(root.join("orders.yaml"), INSTANCE).unwrap();
    std::fs::write(
        root.join("payments.yaml"),
        INSTANCE.replace("orders-cache", "payments-cache"),
    )
    .unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let output = run_bounded(emulator.kvsync(dir.path()).args([
        "apply",
        "--auto-approve",
        "--allow-destroy",
    ]));
    assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));
    assert_eq!(emulator.instances().len(), 2);

    // The file is emptied (a bad merge, an editor): no plan, no call, nothing deleted.
    std::fs::write(root.join("payments.yaml"), "").unwrap();
    let before = emulator.total_requests();
    let output = run_bounded(emulator.kvsync(dir.path()).args([
        "apply",
        "--auto-approve",
        "--allow-destroy",
    ]));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("manifests/payments.yaml:1:1: error[empty-file]"),
        "{stderr}"
    );
    assert_eq!(emulator.total_requests(), before);
    assert_eq!(emulator.instances().len(), 2);

    // Marked as intended, the file is empty on purpose and prune removes its instance.
    std::fs::write(
        root.join("payments.yaml"),
        "# payments-cache is retired\n# kvsync: intentionally empty\n",
    )
    .unwrap();
    let output = run_bounded(emulator.kvsync(dir.path()).args(["plan"]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("- cn-hangzhou/payments-cache"), "{stdout}");
}

#[test]
fn issue_lookalike_names_are_warned_about_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let lookalike = INSTANCE.replace("orders-cache", "orders-c\u{430}che");
    std::fs::write(dir.path().join("a.yaml"), INSTANCE).unwrap();
    std::fs::write(dir.path().join("b.yaml"), lookalike).unwrap();
    let (code, stdout, stderr) = validate(dir.path(), &["-f", "a.yaml", "-f", "b.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("2 instances"), "{stdout}");
    assert!(
        stderr.contains("b.yaml:4:9: warning[confusable]: metadata.name \"orders-cаche\" mixes letters of the scripts Cyrillic, Latin"),
        "{stderr}"
    );
    assert!(
        stderr.contains("looks like the instance name \"orders-cache\" at a.yaml:4:9"),
        "{stderr}"
    );
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let output = run_bounded(
        emulator
            .kvsync(dir.path())
            .args(["plan", "-f", "a.yaml", "-f", "b.yaml"]),
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning[confusable]"), "{stderr}");
}
