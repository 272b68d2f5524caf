//! Bad manifests: exit 1, file:line:column and the rule, and not a single API call.

use std::path::Path;

use crate::support::{EmulatorProcess, kvsync, run, texts};

const GOOD: &str = "apiVersion: kvsync/v1
kind: Instance
metadata:
  name: orders-cache
  region: cn-hangzhou
spec:
  instanceClass: redis.master.small.default
  releaseProtection: true
";

/// Writes `text` as `manifests/bad.yaml` and runs `plan` against a fresh emulator process.
/// Returns stderr and the number of requests the emulator received.
fn plan_bad(text: &str) -> (i32, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/bad.yaml"), text).unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let output = run(emulator.kvsync(dir.path()).args(["plan"]));
    let (_, stderr) = texts(&output);
    (
        output.status.code().unwrap(),
        stderr,
        emulator.total_requests(),
    )
}

#[test]
fn the_good_manifest_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    let output = run(kvsync(dir.path()).args(["validate", "-f", "good.yaml"]));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("1 instance"), "{stdout}");
}

#[test]
fn an_unknown_field_names_its_line_and_makes_no_call() {
    let text = GOOD.replace(
        "  releaseProtection: true\n",
        "  releaseProtection: true\n  replicas: 3\n",
    );
    let (code, stderr, calls) = plan_bad(&text);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("manifests/bad.yaml:9:3: error[unknown-field]: unknown field `replicas`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was sent to the cloud"), "{stderr}");
    assert_eq!(calls, 0);
}

#[test]
fn a_wrong_type_names_its_line_and_makes_no_call() {
    let text = GOOD.replace("releaseProtection: true", "releaseProtection: yes");
    let (code, stderr, calls) = plan_bad(&text);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("manifests/bad.yaml:8:22: error[type]: expected true or false"),
        "{stderr}"
    );
    assert_eq!(calls, 0);
}

#[test]
fn a_duplicate_key_names_its_line_and_makes_no_call() {
    let text = GOOD.replace(
        "  instanceClass: redis.master.small.default\n",
        "  instanceClass: redis.master.small.default\n  instanceClass: redis.master.mid.default\n",
    );
    let (code, stderr, calls) = plan_bad(&text);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "manifests/bad.yaml:8:3: error[duplicate-key]: duplicate key `instanceClass`; a key may appear once in a mapping"
        ),
        "{stderr}"
    );
    assert_eq!(calls, 0);
}

#[test]
fn every_error_of_a_multi_document_file_is_reported_with_file_lines() {
    let text = format!(
        "{GOOD}---\n{}---\n{}",
        GOOD.replace("orders-cache", "1-bad-name"),
        GOOD.replace(
            "redis.master.small.default",
            "redis.master.small.default\n  chargeType: Monthly"
        ),
    );
    let (code, stderr, calls) = plan_bad(&text);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("manifests/bad.yaml:13:9: error[instance-name]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("manifests/bad.yaml:26:15: error[allowed-values]: \"Monthly\" is not allowed here; expected one of PostPaid, PrePaid"),
        "{stderr}"
    );
    assert!(stderr.contains("2 errors in the manifests"), "{stderr}");
    assert_eq!(calls, 0);
}

#[test]
fn a_literal_password_is_refused() {
    let text = GOOD.replace(
        "  releaseProtection: true\n",
        "  password: Hunter2Hunter2\n",
    );
    let (code, stderr, calls) = plan_bad(&text);
    assert_eq!(code, 1);
    assert!(stderr.contains("error[secret-reference]"), "{stderr}");
    assert!(
        !stderr.contains("Hunter2Hunter2"),
        "the literal must not be echoed: {stderr}"
    );
    assert_eq!(calls, 0);
}

#[test]
fn a_bad_manifest_with_the_embedded_emulator_creates_no_state() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(
        dir.path().join("manifests/bad.yaml"),
        GOOD.replace("spec:", "spec:\n  bogus: 1"),
    )
    .unwrap();
    let output = run(kvsync(dir.path()).args(["apply", "--auto-approve", "--emulator"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(!Path::new(&dir.path().join(".kvsync")).exists());
}

#[test]
fn the_committed_schema_is_what_kvsync_schema_prints() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(kvsync(dir.path()).arg("schema"));
    assert_eq!(output.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::repo().join("schema/kvsync-v1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        printed, committed,
        "run `kvsync schema > schema/kvsync-v1.json`"
    );
    assert_eq!(
        printed["$schema"],
        "http://json-schema.org/draft-07/schema#"
    );
}
