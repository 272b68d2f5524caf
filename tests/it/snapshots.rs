//! Snapshot tests of everything kvsync renders for a person or a program: the plan as text,
//! Markdown and JSON (for a new instance with several aspects, and for changes to an existing
//! one), a manifest error, API errors, an imported manifest, and the help of `kvsync` and of
//! every command. Each output comes from the real `kvsync` binary against the real emulator.
//!
//! What varies between runs is replaced by insta filters before comparing: temporary
//! directories, timestamps, instance IDs, request IDs, idempotency tokens, nonces, durations,
//! and the version and commit. Passwords come from environment variables, and every test
//! checks that their values appear in no output.
//!
//! The expected outputs are the files in `tests/it/snapshots/`. After an intended change of an
//! output, regenerate them with
//!
//! ```text
//! INSTA_UPDATE=always cargo test --test it snapshots
//! ```
//!
//! and review the change with `git diff tests/it/snapshots/` before committing it. Without
//! `INSTA_UPDATE`, a mismatch fails the test and leaves the new output beside the old one as a
//! `.snap.new` file; where `CI` is set, nothing is written and a mismatch (or a missing
//! snapshot) fails the test.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{EmulatorProcess, Request, call, kvsync, run, texts, wait_normal};

/// The instance password the manifests read from `SNAP_INSTANCE_PASSWORD`.
const INSTANCE_PASSWORD: &str = "Snap-Instance-Passw0rd-7f3a";
/// The account password the manifests read from `SNAP_ACCOUNT_PASSWORD`.
const ACCOUNT_PASSWORD: &str = "Snap-Account-Passw0rd-c41e";
/// The instance password of the changed manifests.
const NEW_INSTANCE_PASSWORD: &str = "Snap-Rotated-Passw0rd-92bd";

/// A stack of one instance with most aspects managed.
const CREATE: &str = r#"apiVersion: kvsync/v1
kind: Stack
metadata: {name: snap}
spec: {region: cn-hangzhou, disruption: immediate}
---
apiVersion: kvsync/v1
kind: Instance
metadata:
  name: catalog-cache
  labels: {team: catalog, env: staging}
spec:
  instanceClass: redis.master.small.default
  engineVersion: "5.0"
  zoneId: cn-hangzhou-h
  network: {type: VPC, vpcId: vpc-bp1snap00001, vSwitchId: vsw-bp1snap00001}
  password: {env: SNAP_INSTANCE_PASSWORD}
  releaseProtection: false
  maintenanceWindow: {start: "03:00Z", end: "04:00Z"}
  whitelists:
    app: [10.0.1.0/24, 10.0.2.15]
  accounts:
    - name: app_rw
      privilege: RoleReadWrite
      password: {env: SNAP_ACCOUNT_PASSWORD}
      description: catalog service
  backupPolicy: {time: "02:00Z-03:00Z", period: [Monday, Thursday]}
  config:
    maxmemory-policy: allkeys-lru
    hash-max-ziplist-entries: 512
"#;

/// The text of [`CREATE`] with `(from, to)` replaced, each of which must occur.
fn changed(edits: &[(&str, &str)]) -> String {
    let mut text = CREATE.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in the manifests");
        text = text.replace(from, to);
    }
    text
}

/// Changes to every kind of aspect of the instance [`CREATE`] made.
fn update() -> String {
    changed(&[
        (
            "instanceClass: redis.master.small.default",
            "instanceClass: redis.master.mid.default",
        ),
        ("env: staging", "env: production"),
        ("releaseProtection: false", "releaseProtection: true"),
        (
            "start: \"03:00Z\", end: \"04:00Z\"",
            "start: \"05:00Z\", end: \"06:00Z\"",
        ),
        (
            "app: [10.0.1.0/24, 10.0.2.15]",
            "app: [10.0.1.0/24, 10.0.3.0/24]",
        ),
        (
            "description: catalog service",
            "description: catalog and search",
        ),
        ("period: [Monday, Thursday]", "period: [Tuesday]"),
        (
            "maxmemory-policy: allkeys-lru",
            "maxmemory-policy: volatile-lru",
        ),
    ])
}

/// Escapes `text` for a regular expression.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Settings whose filters replace what varies between runs; `dir` is the test's directory.
fn settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let dir = dir.to_string_lossy();
    if let Ok(canonical) = std::fs::canonicalize(dir.as_ref()) {
        let canonical = canonical.to_string_lossy().into_owned();
        if canonical != dir {
            settings.add_filter(&regex_escape(&canonical), "[dir]");
        }
    }
    settings.add_filter(&regex_escape(&dir), "[dir]");
    // Any other temporary directory.
    settings.add_filter(r"/tmp/\.tmp[0-9A-Za-z]+", "[tmp]");
    // Wall-clock times, plain and percent-encoded (once or more) as in a string-to-sign.
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}(:|%(25)*3A)\d{2}(:|%(25)*3A)\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[timestamp]",
    );
    // Instance IDs the emulator draws (r- and 18 characters).
    settings.add_filter(r"\br-[0-9a-z]{18}\b", "[instance-id]");
    // Request IDs (upper-case UUIDs).
    settings.add_filter(
        r"\b[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\b",
        "[request-id]",
    );
    // Idempotency tokens: some depend on a random seed per run.
    settings.add_filter(r"\bkvsync-[0-9a-f]{16,}\b", "[token]");
    // Signature nonces, also inside a quoted string-to-sign, and other random hex.
    settings.add_filter(
        r"(SignatureNonce(?:=|%(?:25)*3D))[0-9A-Za-z-]+",
        "${1}[nonce]",
    );
    settings.add_filter(r"\b[0-9a-f]{32}\b", "[nonce]");
    // Measured durations.
    settings.add_filter(r"\b\d+(\.\d+)?(ns|µs|us|ms|s)\b", "[duration]");
    settings
}

/// Settings for help texts: only the version and commit (`kvsync version`) vary.
fn help_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.add_filter(r"(?m)^kvsync \d+\.\d+\.\d+\S*", "kvsync [version]");
    settings.add_filter(r"\(commit [^)]*\)", "(commit [commit])");
    settings
}

/// Panics if a password appears in `text`.
fn assert_no_secret(what: &str, text: &str) {
    for secret in [INSTANCE_PASSWORD, ACCOUNT_PASSWORD, NEW_INSTANCE_PASSWORD] {
        assert!(!text.contains(secret), "a password in {what}:\n{text}");
    }
}

/// A `kvsync` command in `dir` with the manifests' passwords in its environment.
fn kvsync_with_secrets(dir: &Path, instance_password: &str) -> Command {
    let mut command = kvsync(dir);
    command
        .env("SNAP_INSTANCE_PASSWORD", instance_password)
        .env("SNAP_ACCOUNT_PASSWORD", ACCOUNT_PASSWORD);
    command
}

/// Runs `command`, checks its exit code, and returns stdout, checked for secrets. Colour is
/// never forced: the output goes to a pipe, and the snapshots hold plain text.
fn stdout_of(command: &mut Command, code: i32) -> String {
    let output: Output = run(command.env_remove("CLICOLOR_FORCE"));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(code), "{stdout}\n{stderr}");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    stdout
}

fn write_manifests(dir: &Path, text: &str) {
    let manifests = dir.join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(manifests.join("stack.yaml"), text).unwrap();
}

/// The three renderings of `kvsync plan --emulator` in `dir`, as (text, Markdown, JSON).
fn plans(dir: &Path, instance_password: &str) -> (String, String, String) {
    let plan = |format: Option<&str>| {
        let mut command = kvsync_with_secrets(dir, instance_password);
        command.args(["plan", "--emulator", "--no-color"]);
        command.args(format);
        stdout_of(&mut command, 0)
    };
    let json = plan(Some("--json"));
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|err| panic!("plan --json is not JSON ({err}):\n{json}"));
    (plan(None), plan(Some("--markdown")), json)
}

#[test]
fn plan_of_a_new_instance() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), CREATE);
    let (text, markdown, json) = plans(dir.path(), INSTANCE_PASSWORD);
    settings(dir.path()).bind(|| {
        insta::assert_snapshot!("plan_create_text", text);
        insta::assert_snapshot!("plan_create_markdown", markdown);
        insta::assert_snapshot!("plan_create_json", json);
    });
}

#[test]
fn plan_of_changes_to_an_existing_instance() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), CREATE);
    stdout_of(
        kvsync_with_secrets(dir.path(), INSTANCE_PASSWORD).args([
            "apply",
            "--emulator",
            "--auto-approve",
            "--no-color",
        ]),
        0,
    );
    write_manifests(dir.path(), &update());
    let (text, markdown, json) = plans(dir.path(), NEW_INSTANCE_PASSWORD);
    settings(dir.path()).bind(|| {
        insta::assert_snapshot!("plan_update_text", text);
        insta::assert_snapshot!("plan_update_markdown", markdown);
        insta::assert_snapshot!("plan_update_json", json);
    });
}

#[test]
fn manifest_error_from_validate() {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(
        dir.path(),
        &changed(&[
            ("engineVersion: \"5.0\"", "engineVersion: \"5.5\""),
            (
                "releaseProtection: false",
                "releaseProtection: false\n  replicas: 2",
            ),
        ]),
    );
    let output =
        run(kvsync_with_secrets(dir.path(), INSTANCE_PASSWORD).args(["validate", "--no-color"]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_no_secret("validate", &format!("{stdout}{stderr}"));
    assert!(stderr.contains("stack.yaml:"), "{stderr}");
    assert_eq!(stdout, "");
    settings(dir.path()).bind(|| insta::assert_snapshot!("validate_error", stderr));
}

/// `kvsync plan` against an emulator started with `extra` flags, with the key secret
/// `secret`: its stderr, after the exit code 1 is checked.
fn failed_plan(extra: &[&str], secret: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    write_manifests(dir.path(), CREATE);
    let emulator = EmulatorProcess::start(dir.path(), extra);
    let mut command = kvsync_with_secrets(dir.path(), INSTANCE_PASSWORD);
    command.args([
        "--endpoint",
        &emulator.url,
        "--access-key-id",
        "testid",
        "--access-key-secret",
        secret,
        "plan",
        "--quiet",
        "--no-color",
    ]);
    let output = run(&mut command);
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_no_secret("plan", &format!("{stdout}{stderr}"));
    assert!(!stderr.contains(secret), "the key secret in\n{stderr}");
    let url = emulator.url.clone();
    drop(emulator);
    (dir, stderr.replace(&url, "[endpoint]"))
}

#[test]
fn api_error_of_a_cloud_that_keeps_failing() {
    let (dir, stderr) = failed_plan(&["--fault-rate", "1"], "testsecret");
    assert!(stderr.contains("ServiceUnavailable"), "{stderr}");
    settings(dir.path()).bind(|| insta::assert_snapshot!("api_error_unavailable", stderr));
}

#[test]
fn api_error_of_a_wrong_key_secret() {
    let (dir, stderr) = failed_plan(&[], "not-the-key-secret");
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    settings(dir.path()).bind(|| insta::assert_snapshot!("api_error_signature", stderr));
}

/// Sends a signed request to the emulator and checks it succeeded.
async fn ok(url: &str, request: Request) {
    let (status, body) = call(url, request).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn imported_manifest_of_an_instance_the_emulator_made() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let url = emulator.url.clone();
    let (status, body) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceName", "search-cache")
            .param("InstanceClass", "redis.master.small.default")
            .param("EngineVersion", "5.0")
            .param("ZoneId", "cn-hangzhou-h")
            .param("Tag.1.Key", "team")
            .param("Tag.1.Value", "search"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["InstanceId"].as_str().unwrap().to_owned();
    wait_normal(&url, &id).await;
    ok(
        &url,
        Request::new("ModifySecurityIps")
            .param("InstanceId", &id)
            .param("SecurityIpGroupName", "app")
            .param("SecurityIps", "10.0.1.0/24,10.0.2.15"),
    )
    .await;
    wait_normal(&url, &id).await;
    ok(
        &url,
        Request::new("ModifyInstanceConfig")
            .param("InstanceId", &id)
            .param("Config", r#"{"maxmemory-policy":"allkeys-lru"}"#),
    )
    .await;
    wait_normal(&url, &id).await;
    ok(
        &url,
        Request::new("CreateAccount")
            .param("InstanceId", &id)
            .param("AccountName", "search_ro")
            .param("AccountPrivilege", "RoleReadOnly")
            .param("AccountPassword", ACCOUNT_PASSWORD),
    )
    .await;
    wait_normal(&url, &id).await;

    let stdout = stdout_of(
        emulator.kvsync(dir.path()).args([
            "import",
            "--region",
            "cn-hangzhou",
            "--out",
            "imported",
            "--no-color",
        ]),
        0,
    );
    assert!(stdout.contains(&id), "{stdout}");
    let path = dir.path().join("imported/search-cache.yaml");
    let yaml = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}\n{stdout}", path.display()));
    assert_no_secret("the imported manifest", &yaml);
    settings(dir.path()).bind(|| {
        insta::assert_snapshot!("import_stdout", stdout);
        insta::assert_snapshot!("import_yaml", yaml);
    });
}

/// The commands `kvsync --help` lists, in its order.
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn help_of_kvsync_and_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| stdout_of(kvsync(dir.path()).args(args), 0);
    let top = help(&["--help"]);
    let names = commands(&top);
    for expected in [
        "validate", "plan", "apply", "import", "daemon", "emulator", "help",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    let settings = help_settings();
    settings.bind(|| {
        insta::assert_snapshot!("help", top);
        insta::assert_snapshot!("help_short", help(&["-h"]));
        insta::assert_snapshot!("version_flag", help(&["--version"]));
        insta::assert_snapshot!("version_command", help(&["version"]));
        for name in &names {
            // `help` takes command names, not flags: its own help is `kvsync help help`.
            let text = if name == "help" {
                help(&["help", "help"])
            } else {
                help(&[name, "--help"])
            };
            insta::assert_snapshot!(format!("help_{name}"), text);
        }
    });
}
