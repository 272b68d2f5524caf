//! An instance pinned by `spec.instanceId` and renamed in its manifest is renamed in the cloud
//! (`ModifyInstanceAttribute` with `InstanceName`), after which a plan is empty.

use std::process::Command;

use crate::support::{EmulatorProcess, kvsync, run, texts};

/// `kvsync apply`, confirming up front when this build asks for confirmation.
fn apply(command: &mut Command, dir: &std::path::Path) -> std::process::Output {
    let help = run(kvsync(dir).args(["apply", "--help"]));
    command.arg("apply");
    if String::from_utf8_lossy(&help.stdout).contains("--auto-approve") {
        command.arg("--auto-approve");
    }
    run(command)
}

fn manifest(name: &str, id: &str) -> String {
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata: {{name: renames}}
spec: {{region: cn-hangzhou}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: {name}}}
spec:
  instanceId: {id}
  instanceClass: redis.master.small.default
"
    )
}

#[test]
fn renaming_a_pinned_instance_renames_it_in_the_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = runtime.block_on(crate::support::create_normal_instance(
        &emulator.url,
        "cn-hangzhou",
        "legacy-cache",
    ));
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(
        dir.path().join("manifests/stack.yaml"),
        manifest("orders-cache", &id),
    )
    .unwrap();

    let planned = run(emulator.kvsync(dir.path()).arg("plan"));
    let (stdout, stderr) = texts(&planned);
    assert_eq!(planned.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("metadata.name: legacy-cache → orders-cache"),
        "{stdout}"
    );

    let applied = apply(&mut emulator.kvsync(dir.path()), dir.path());
    let (stdout, stderr) = texts(&applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    let renamed = emulator
        .instances()
        .into_iter()
        .find(|i| i["InstanceId"] == id.as_str())
        .unwrap();
    assert_eq!(renamed["InstanceName"], "orders-cache");

    let again = run(emulator
        .kvsync(dir.path())
        .args(["plan", "--detailed-exitcode"]));
    let (stdout, stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("No changes"), "{stdout}");
}
