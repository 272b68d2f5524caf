//! The command line as CI and people rely on it: exit codes, flags each command uses, a closed
//! stdout, colour, completions, the man page and the version.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{EmulatorProcess, kvsync, repo, texts, workspace};

/// Waits for `child`, killing it after a minute: a flag wrongly accepted can start a server
/// that never ends (then the status is the kill's, which no case expects). Its piped output is
/// read meanwhile, so a child writing more than a pipe holds does not block.
fn finish(mut child: Child) -> Output {
    fn drain(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    while child.try_wait().expect("waiting for kvsync").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Output {
        status: child.wait().expect("waiting for kvsync"),
        stdout: stdout.join().expect("reading stdout"),
        stderr: stderr.join().expect("reading stderr"),
    }
}

/// Runs `command` to its end (bounded by [`finish`]), capturing stdout and stderr.
fn run(command: &mut Command) -> Output {
    finish(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running kvsync"),
    )
}

/// Runs `command` with stdout a pipe whose reader is already closed: every write fails with
/// EPIPE, as after `| head -1` has read its line.
fn with_closed_stdout(command: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    finish(
        command
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .expect("running kvsync"),
    )
}

/// Runs `command` with stdout `/dev/full`: every write fails with ENOSPC, an error.
fn with_full_stdout(command: &mut Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    finish(
        command
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .expect("running kvsync"),
    )
}

/// `kvsync apply` with `--auto-approve` when this build's apply has it (a confirmation prompt
/// may ask otherwise).
fn apply(mut command: Command) -> Command {
    let help = run(kvsync(Path::new(".")).args(["apply", "--help"]));
    command.arg("apply");
    if texts(&help).0.contains("--auto-approve") {
        command.arg("--auto-approve");
    }
    command
}

/// A manifest that does not validate.
fn break_manifests(dir: &Path) {
    std::fs::write(
        dir.join("manifests/broken.yaml"),
        "apiVersion: kvsync/v1\nkind: Nope\nmetadata: {name: broken}\n",
    )
    .unwrap();
}

/// Sends `signal` (a `kill` name such as `INT`) to a process.
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{name} {pid}");
}

/// Starts a server command, waits for its first stdout line (the address) and `settle`,
/// sends `name`, and returns how it ended.
fn serve_then_signal(mut command: Command, name: &str, settle: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting kvsync");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("listening on"), "banner {line:?}");
    std::thread::sleep(settle);
    signal(child.id(), name);
    finish(child)
}

/// `apply` against an emulator whose instances take seconds to create, interrupted by SIGINT
/// while it waits.
fn interrupted_apply(dir: &Path) -> Output {
    let emulator = EmulatorProcess::start(dir, &["--create-seconds", "2"]);
    let mut command = apply(emulator.kvsync(dir));
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting apply");
    std::thread::sleep(Duration::from_millis(1000));
    signal(child.id(), "INT");
    finish(child)
}

/// Applies the sample manifests, then moves an instance's zone, which kvsync never does.
fn blocked_apply(dir: &Path) -> Output {
    let first = run(apply(kvsync(dir)).arg("--emulator"));
    assert_eq!(first.status.code(), Some(0), "{:?}", texts(&first));
    let path = dir.join("manifests/sessions-cache.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("zoneId: cn-hangzhou-h", "zoneId: cn-hangzhou-b"),
    )
    .unwrap();
    run(apply(kvsync(dir)).arg("--emulator"))
}

/// Creates the sample manifests' instances in the `--emulator` state of `dir`.
fn seed(dir: &Path) {
    let seeded = run(apply(kvsync(dir)).arg("--emulator"));
    assert_eq!(seeded.status.code(), Some(0), "{:?}", texts(&seeded));
}

/// How a case runs, in a fresh copy of the sample manifests.
type Runner = fn(&Path) -> Output;

/// Every command and each outcome it can have: (command, outcome, exit code, run).
const EXIT_CODES: &[(&str, &str, i32, Runner)] = &[
    ("validate", "success", 0, |d| run(kvsync(d).arg("validate"))),
    ("validate", "error", 1, |d| {
        break_manifests(d);
        run(kvsync(d).arg("validate"))
    }),
    ("validate", "usage", 64, |d| {
        run(kvsync(d).args(["validate", "--qps", "3"]))
    }),
    ("validate", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).arg("validate"))
    }),
    ("plan", "success", 0, |d| {
        run(kvsync(d).args(["plan", "--emulator"]))
    }),
    ("plan", "changes", 2, |d| {
        run(kvsync(d).args(["plan", "--emulator", "--detailed-exitcode"]))
    }),
    ("plan", "error", 1, |d| {
        break_manifests(d);
        run(kvsync(d).args(["plan", "--emulator", "--detailed-exitcode"]))
    }),
    ("plan", "usage", 64, |d| {
        run(kvsync(d).args(["plan", "--detailed-exitcode", "--tagret", "x"]))
    }),
    ("plan", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).args(["plan", "--emulator", "--json"]))
    }),
    ("apply", "success", 0, |d| {
        run(apply(kvsync(d)).arg("--emulator"))
    }),
    ("apply", "error", 1, |d| {
        break_manifests(d);
        run(apply(kvsync(d)).arg("--emulator"))
    }),
    ("apply", "blocked", 3, blocked_apply),
    ("apply", "usage", 64, |d| {
        run(kvsync(d).args(["apply", "--emulator", "--bogus-flag"]))
    }),
    ("apply", "interrupted", 130, interrupted_apply),
    ("daemon", "success (stopped)", 0, |d| {
        let mut command = kvsync(d);
        command.args(["daemon", "--emulator", "--listen", "127.0.0.1:0"]);
        // Regression: the signal watcher started after the banner, so a SIGTERM sent on
        // reading it killed the daemon with the signal's default action.
        serve_then_signal(command, "TERM", Duration::ZERO)
    }),
    ("daemon", "error", 1, |d| {
        run(kvsync(d).args(["daemon", "--emulator", "--listen", "256.0.0.1:0"]))
    }),
    ("daemon", "usage", 64, |d| {
        run(kvsync(d).args(["daemon", "--emulator", "--bogus-flag"]))
    }),
    ("import", "success", 0, |d| {
        run(kvsync(d).args(["import", "--emulator", "--region", "cn-hangzhou"]))
    }),
    ("import", "error", 1, |d| {
        run(kvsync(d).args([
            "import",
            "--region",
            "cn-hangzhou",
            "--endpoint",
            "http://127.0.0.1:1",
            "--access-key-id",
            "id",
            "--access-key-secret",
            "secret",
        ]))
    }),
    ("import", "usage (no --region)", 64, |d| {
        run(kvsync(d).args(["import", "--emulator"]))
    }),
    ("backup", "success", 0, |d| {
        seed(d);
        run(kvsync(d).args(["backup", "orders-cache", "--emulator"]))
    }),
    ("backup", "error (unknown instance)", 1, |d| {
        run(kvsync(d).args(["backup", "nope", "--emulator"]))
    }),
    ("backup", "usage", 64, |d| {
        run(kvsync(d).args(["backup", "orders-cache", "--since", "1d"]))
    }),
    ("backups", "success", 0, |d| {
        seed(d);
        run(kvsync(d).args(["backups", "orders-cache", "--emulator", "--json"]))
    }),
    ("backups", "broken pipe", 0, |d| {
        seed(d);
        with_closed_stdout(kvsync(d).args(["backups", "orders-cache", "--emulator"]))
    }),
    ("restore", "refused (no --allow-destroy)", 1, |d| {
        run(kvsync(d).args(["restore", "orders-cache", "--backup", "1", "--emulator"]))
    }),
    ("restore", "usage (neither --backup nor --time)", 64, |d| {
        run(kvsync(d).args(["restore", "orders-cache", "--emulator", "--allow-destroy"]))
    }),
    ("flush", "success", 0, |d| {
        seed(d);
        run(kvsync(d).args(["flush", "orders-cache", "--emulator", "--allow-destroy"]))
    }),
    ("flush", "refused (no --allow-destroy)", 1, |d| {
        run(kvsync(d).args(["flush", "orders-cache", "--emulator"]))
    }),
    ("renew-cert", "success", 0, |d| {
        seed(d);
        run(kvsync(d).args(["renew-cert", "sessions-cache", "--emulator"]))
    }),
    ("renew-cert", "error (TLS off)", 1, |d| {
        seed(d);
        run(kvsync(d).args(["renew-cert", "orders-cache", "--emulator"]))
    }),
    ("emulator", "success (stopped)", 0, |d| {
        let mut command = kvsync(d);
        command.args(["emulator", "--listen", "127.0.0.1:0"]);
        serve_then_signal(command, "INT", Duration::ZERO)
    }),
    ("emulator", "error", 1, |d| {
        run(kvsync(d).args(["emulator", "--listen", "256.0.0.1:0"]))
    }),
    ("emulator", "usage", 64, |d| {
        run(kvsync(d).args(["emulator", "--emulator"]))
    }),
    ("emulator", "usage (bad --key)", 64, |d| {
        run(kvsync(d).args(["emulator", "--key", "nocolon"]))
    }),
    ("credentials", "success", 0, |d| {
        run(kvsync(d).args(["credentials", "--emulator"]))
    }),
    ("credentials", "error (none found)", 1, |d| {
        run(kvsync(d).arg("credentials"))
    }),
    ("credentials", "usage", 64, |d| {
        run(kvsync(d).args(["credentials", "--qps", "3"]))
    }),
    ("credentials", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).args(["credentials", "--emulator", "--json"]))
    }),
    ("schema", "success", 0, |d| run(kvsync(d).arg("schema"))),
    ("schema", "error", 1, |d| {
        with_full_stdout(kvsync(d).arg("schema"))
    }),
    ("schema", "usage", 64, |d| {
        run(kvsync(d).args(["schema", "--region", "x"]))
    }),
    ("schema", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).arg("schema"))
    }),
    ("completions", "success", 0, |d| {
        run(kvsync(d).args(["completions", "bash"]))
    }),
    ("completions", "error", 1, |d| {
        with_full_stdout(kvsync(d).args(["completions", "zsh"]))
    }),
    ("completions", "usage", 64, |d| {
        run(kvsync(d).args(["completions", "tcsh"]))
    }),
    ("completions", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).args(["completions", "fish"]))
    }),
    ("man", "success", 0, |d| run(kvsync(d).arg("man"))),
    ("man", "error", 1, |d| {
        with_full_stdout(kvsync(d).arg("man"))
    }),
    ("man", "usage", 64, |d| {
        run(kvsync(d).args(["man", "--emulator"]))
    }),
    ("man", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).arg("man"))
    }),
    ("version", "success", 0, |d| run(kvsync(d).arg("version"))),
    ("version", "error", 1, |d| {
        with_full_stdout(kvsync(d).arg("version"))
    }),
    ("version", "usage", 64, |d| {
        run(kvsync(d).args(["version", "--qps", "1"]))
    }),
    ("version", "broken pipe", 0, |d| {
        with_closed_stdout(kvsync(d).args(["version", "--json"]))
    }),
    ("audit", "success", 0, |d| {
        let audited = ["--emulator", "--audit-log", ".kvsync/audit.jsonl"];
        run(apply(kvsync(d)).args(audited));
        run(kvsync(d).arg("audit"))
    }),
    (
        "audit",
        "error (no log)",
        1,
        |d| run(kvsync(d).arg("audit")),
    ),
    ("audit", "usage", 64, |d| {
        run(kvsync(d).args(["audit", "--qps", "1"]))
    }),
    ("audit", "broken pipe", 0, |d| {
        let audited = ["--emulator", "--audit-log", ".kvsync/audit.jsonl"];
        run(apply(kvsync(d)).args(audited));
        with_closed_stdout(kvsync(d).args(["audit", "--json"]))
    }),
    ("(none)", "usage", 64, |d| run(&mut kvsync(d))),
    ("(unknown)", "usage", 64, |d| run(kvsync(d).arg("destroy"))),
    ("--help", "success", 0, |d| run(kvsync(d).arg("--help"))),
    ("--version", "success", 0, |d| {
        run(kvsync(d).arg("--version"))
    }),
];

#[test]
fn every_command_exits_with_the_documented_code_for_each_outcome() {
    let mut failures = Vec::new();
    for (command, outcome, expected, runner) in EXIT_CODES {
        let dir = workspace();
        let output = runner(dir.path());
        let (stdout, stderr) = texts(&output);
        if output.status.code() != Some(*expected) || stderr.contains("panicked") {
            failures.push(format!(
                "{command} / {outcome}: expected {expected}, got {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                output.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn help_documents_every_exit_code() {
    let output = run(kvsync(Path::new(".")).arg("--help"));
    let (stdout, _) = texts(&output);
    for line in [
        "0    success",
        "1    error",
        "2    changes present",
        "3    applied, but",
        "64   usage error",
        "130  interrupted",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from\n{stdout}");
    }
}

/// Regression: with `--detailed-exitcode`, a typo'd flag exited as if changes were present.
#[test]
fn a_mistyped_flag_with_detailed_exitcode_is_a_usage_error_not_changes() {
    let output = run(kvsync(Path::new(".")).args(["plan", "--detailed-exitcode", "--tagret", "x"]));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--target"), "{stderr}");
}

/// Regression: every shared flag was global, so commands accepted flags they ignore.
#[test]
fn flags_a_command_does_not_use_are_usage_errors_before_or_after_it() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["schema", "--region", "x"][..],
        &["--region", "x", "schema"],
        &["emulator", "--emulator"],
        &["--emulator", "emulator"],
        &["emulator", "--profile", "p"],
        &["validate", "--endpoint", "http://x"],
        &["--secrets-dir", ".", "import", "--region", "cn-hangzhou"],
        &["version", "--access-key-id", "a"],
        &["--emulator", "plan", "--endpoint", "http://x"],
    ] {
        let output = run(kvsync(dir.path()).args(args));
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(
            stderr.contains("unexpected argument") || stderr.contains("cannot be used"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn shared_flags_still_work_before_the_command_that_uses_them() {
    let dir = workspace();
    let output = run(kvsync(dir.path()).args([
        "--emulator",
        "--qps",
        "500",
        "-v",
        "--no-color",
        "plan",
        "--detailed-exitcode",
    ]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("to create"), "{stdout}");
    let output = run(kvsync(dir.path()).args(["--color", "never", "schema"]));
    assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));
}

/// Regression: `kvsync schema | head -1` panicked (exit 101) in about one run in four.
#[test]
fn a_closed_stdout_ends_quietly_every_time() {
    let dir = workspace();
    let quick: &[&[&str]] = &[
        &["schema"],
        &["version"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in quick {
        for _ in 0..25 {
            let output = with_closed_stdout(kvsync(dir.path()).args(*args));
            let (_, stderr) = texts(&output);
            assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
            assert!(stderr.is_empty(), "{args:?}: {stderr}");
        }
    }
    for _ in 0..3 {
        let output = with_closed_stdout(kvsync(dir.path()).args(["plan", "--emulator", "--json"]));
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A plan with changes, printed with `args` and `env` (colour variables unset otherwise).
fn planned_text(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = kvsync(dir);
    command.env_remove("CLICOLOR_FORCE").env_remove("NO_COLOR");
    command.args(args).args(["plan", "--emulator"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = run(&mut command);
    assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));
    texts(&output).0
}

#[test]
fn colour_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
    let dir = workspace();
    let coloured = |text: &str| text.contains("\u{1b}[");
    // Not a terminal: no colour unless forced.
    assert!(!coloured(&planned_text(dir.path(), &[], &[])));
    assert!(coloured(&planned_text(
        dir.path(),
        &[],
        &[("CLICOLOR_FORCE", "1")]
    )));
    assert!(!coloured(&planned_text(
        dir.path(),
        &[],
        &[("CLICOLOR_FORCE", "0")]
    )));
    assert!(!coloured(&planned_text(
        dir.path(),
        &[],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(coloured(&planned_text(
        dir.path(),
        &["--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(!coloured(&planned_text(
        dir.path(),
        &["--no-color"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    assert!(!coloured(&planned_text(
        dir.path(),
        &["--color=never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
}

#[test]
fn plan_out_says_where_it_saved_and_refuses_a_format_name() {
    let dir = workspace();
    let output = run(kvsync(dir.path()).args(["plan", "--emulator", "--out", "shop.plan"]));
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(dir.path().join("shop.plan").is_file());
    assert!(
        stderr.contains("shop.plan") && stderr.contains("kvsync apply shop.plan"),
        "{stderr}"
    );

    for (format, hint) in [
        ("json", "--json"),
        ("yaml", "--json"),
        ("markdown", "--markdown"),
        ("text", "--json"),
        ("JSON", "--json"),
    ] {
        let output = run(kvsync(dir.path()).args(["plan", "--emulator", "--out", format]));
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(64), "{format}: {stderr}");
        assert!(stderr.contains(hint), "{format}: {stderr}");
        assert!(!dir.path().join(format).exists(), "{format}");
    }
    // A path that merely ends like one is a file name.
    let output = run(kvsync(dir.path()).args(["plan", "--emulator", "--out", "./json"]));
    assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));
}

#[test]
fn output_json_suggests_the_json_flag() {
    for args in [
        &["plan", "--output", "json"][..],
        &["plan", "--output=json"],
        &["plan", "--output"],
    ] {
        let output = run(kvsync(Path::new(".")).args(args));
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("--json"), "{args:?}: {stderr}");
    }
}

#[test]
fn the_bash_completion_sources_and_registers_kvsync() {
    let binary = env!("CARGO_BIN_EXE_kvsync");
    let output = Command::new("bash")
        .args([
            "-c",
            &format!("source <('{binary}' completions bash) && complete -p kvsync"),
        ])
        .output()
        .expect("running bash");
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("kvsync"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    for shell in ["zsh", "fish", "powershell"] {
        let output = run(kvsync(Path::new(".")).args(["completions", shell]));
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(texts(&output).0.contains("kvsync"), "{shell}");
    }
}

#[test]
fn the_man_page_renders_with_man() {
    let man = Command::new("man").arg("--version").output();
    assert!(
        man.is_ok_and(|output| output.status.success()),
        "`man` is not installed: install Debian's man-db (`.ci/run` does)"
    );
    let page = run(kvsync(Path::new(".")).arg("man"));
    assert_eq!(page.status.code(), Some(0));
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running man");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&page.stdout).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    for text in ["kvsync", "completions", "--version", "plan"] {
        assert!(stdout.contains(text), "{text:?} missing from\n{stdout}");
    }
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// The commit `git` says the repository is at, or `None` without git.
fn git_head() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn version_names_the_version_and_the_commit() {
    let dir = Path::new(".");
    let json = run(kvsync(dir).args(["version", "--json"]));
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
    let commit = value["commit"].as_str().expect("a commit").to_owned();
    match git_head() {
        Some(head) => assert!(
            commit.len() >= 7 && head.starts_with(&commit),
            "{commit} is not {head}"
        ),
        None => assert_eq!(commit, "unknown"),
    }
    let expected = format!("kvsync {} (commit {commit})\n", env!("CARGO_PKG_VERSION"));
    let text = run(kvsync(dir).arg("version"));
    assert_eq!(texts(&text).0, expected);
    let flag = run(kvsync(dir).arg("--version"));
    assert_eq!(flag.status.code(), Some(0));
    assert_eq!(texts(&flag).0, expected);
}

#[test]
fn usage_errors_follow_the_colour_flags_too() {
    let dir = Path::new(".");
    let stderr = |args: &[&str], force: bool| {
        let mut command = kvsync(dir);
        command.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        if force {
            command.env("CLICOLOR_FORCE", "1");
        }
        let output = run(command.args(args));
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        texts(&output).1
    };
    assert!(stderr(&["--color", "always", "plan", "--bogus"], false).contains("\u{1b}["));
    assert!(stderr(&["plan", "--bogus"], true).contains("\u{1b}["));
    assert!(!stderr(&["plan", "--no-color", "--bogus"], true).contains("\u{1b}["));
    assert!(!stderr(&["--color=never", "plan", "--bogus"], true).contains("\u{1b}["));
    assert!(!stderr(&["plan", "--bogus"], false).contains("\u{1b}["));
}

/// Regression: `RUST_LOG` was ignored, and there was no `-q`.
#[test]
fn rust_log_sets_the_log_filter_and_quiet_leaves_only_errors() {
    let dir = workspace();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let plan = |env: &[(&str, &str)], flags: &[&str]| {
        let mut command = emulator.kvsync(dir.path());
        command.args(flags).arg("plan");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = run(&mut command);
        assert_eq!(output.status.code(), Some(0), "{:?}", texts(&output));
        texts(&output).1
    };
    let rate_line = "API rate limit";
    assert!(!plan(&[], &[]).contains(rate_line));
    assert!(plan(&[("RUST_LOG", "info")], &[]).contains(rate_line));
    // kvsync's own variable wins over the general one.
    assert!(!plan(&[("RUST_LOG", "info"), ("KVSYNC_LOG", "error")], &[]).contains(rate_line));
    assert!(plan(&[], &["-v"]).contains(rate_line));
    // The daemon logs its cycles at the default level; -q leaves only errors.
    let daemon_log = |flags: &[&str]| {
        let mut command = emulator.kvsync(dir.path());
        command
            .args(flags)
            .args(["daemon", "--listen", "127.0.0.1:0", "--interval", "1h"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let url = banner
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap()
            .to_owned();
        let started = Instant::now();
        while crate::support::http_get_json(&format!("{url}/status"))["cycles"] == 0 {
            assert!(started.elapsed() < Duration::from_secs(30), "no cycle");
            std::thread::sleep(Duration::from_millis(50));
        }
        signal(child.id(), "TERM");
        let output = finish(child);
        texts(&output).1
    };
    assert!(daemon_log(&[]).contains("reconcile finished"));
    let quiet = daemon_log(&["-q"]);
    assert!(!quiet.contains("reconcile"), "{quiet}");
    let refused = run(emulator.kvsync(dir.path()).args(["-q", "-v", "plan"]));
    assert_eq!(refused.status.code(), Some(64), "{:?}", texts(&refused));
}
