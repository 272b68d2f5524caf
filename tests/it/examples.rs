//! Every manifest set under `examples/` validates, applies on the emulator, and then plans
//! empty; so do the manifests in the daemon's Kubernetes example, laid out as a ConfigMap
//! volume is.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{copy_dir, kvsync, repo, run, texts};

/// `examples/daemon` and `examples/ha` hold deployment files for `kvsync daemon` (systemd units,
/// Kubernetes objects), not manifest sets; they are checked on their own (below, and in
/// `examples_ha.rs`).
const DEPLOYMENT_EXAMPLES: [&str; 2] = ["daemon", "ha"];

fn example_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.is_dir() && !DEPLOYMENT_EXAMPLES.iter().any(|name| path.ends_with(name))
        })
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    dirs
}

/// Secrets the examples refer to, provided the way an operator would.
fn provide_secrets(command: &mut Command, dir: &Path) {
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/replica-password"), "Replica-Pass-2024\n").unwrap();
    command
        .env("PAYMENTS_REDIS_PASSWORD", "Payments-Pass-2024")
        .env("PAYMENTS_RW_PASSWORD", "Payments-Rw-2024")
        .env("REPORTING_RO_PASSWORD", "Reporting-Ro-2024")
        .env("AUDIT_RO_PASSWORD", "Audit-Ro-2024");
}

/// `validate`, `apply --emulator` (with `secrets` provided) and `plan --detailed-exitcode` of
/// the manifests in `dir` all succeed.
fn applies_and_then_plans_empty(name: &str, dir: &Path, secrets: impl FnOnce(&mut Command)) {
    let validated = run(kvsync(dir).args(["validate", "-f", "."]));
    assert_eq!(
        validated.status.code(),
        Some(0),
        "{name}: {}",
        texts(&validated).1
    );

    let mut apply = kvsync(dir);
    apply.args(["apply", "--auto-approve", "--emulator", "-f", "."]);
    secrets(&mut apply);
    let applied = run(&mut apply);
    let (stdout, stderr) = texts(&applied);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{name}:\n{stdout}\n{stderr}"
    );

    let planned = run(kvsync(dir).args(["plan", "--emulator", "--detailed-exitcode", "-f", "."]));
    let (stdout, stderr) = texts(&planned);
    assert_eq!(
        planned.status.code(),
        Some(0),
        "{name}:\n{stdout}\n{stderr}"
    );
}

#[test]
fn every_example_applies_and_then_plans_empty() {
    for example in example_dirs() {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&example, dir.path());
        applies_and_then_plans_empty(&name, dir.path(), |apply| {
            provide_secrets(apply, dir.path())
        });
    }
}

/// The objects of `examples/daemon/kubernetes.yaml`, by kind.
fn kubernetes_objects() -> Vec<Value> {
    let text = std::fs::read_to_string(repo().join("examples/daemon/kubernetes.yaml")).unwrap();
    serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&text).unwrap()
}

fn object<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<_> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

#[test]
fn the_kubernetes_example_runs_one_daemon_with_probes_and_secrets() {
    let objects = kubernetes_objects();
    let deployment = object(&objects, "Deployment");
    // Two daemons must never reconcile the same stack, not even during a rollout.
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");

    let pod = &deployment["spec"]["template"]["spec"];
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() >= 100);
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "daemon");
    assert!(
        args.windows(2).any(|w| w == ["--listen", "0.0.0.0:9464"]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|w| w == ["--mode", "apply"]),
        "{args:?}"
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["ports"][0]["containerPort"], 9464);
    assert!(container["envFrom"][0]["secretRef"]["name"].is_string());
    assert!(container["resources"]["requests"].is_object());
    assert!(container["resources"]["limits"].is_object());

    let service = object(&objects, "Service");
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

#[cfg(unix)]
#[test]
fn the_kubernetes_examples_manifests_apply_from_a_configmap_volume() {
    let objects = kubernetes_objects();
    let data = object(&objects, "ConfigMap")["data"].as_object().unwrap();
    let container = &object(&objects, "Deployment")["spec"]["template"]["spec"]["containers"][0];

    // The kubelet's layout: the files in a timestamped directory, `..data` pointing at it, and
    // one symbolic link per key pointing into `..data`.
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("..2025_01_01_00_00_00.000000001");
    std::fs::create_dir(&payload).unwrap();
    std::os::unix::fs::symlink(payload.file_name().unwrap(), dir.path().join("..data")).unwrap();
    for (key, text) in data {
        std::fs::write(payload.join(key), text.as_str().unwrap()).unwrap();
        std::os::unix::fs::symlink(format!("..data/{key}"), dir.path().join(key)).unwrap();
    }

    // Only the password variables the Deployment maps from its Secret: a manifest that names
    // any other variable fails the apply.
    let secret_env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|var| var["valueFrom"]["secretKeyRef"].is_object())
        .map(|var| var["name"].as_str().unwrap())
        .collect();
    assert!(!secret_env.is_empty());
    applies_and_then_plans_empty("daemon/kubernetes.yaml", dir.path(), |apply| {
        for name in secret_env {
            apply.env(name, "Example-Pass-2024");
        }
    });
}
