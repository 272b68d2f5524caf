//! Every example under `examples/` validates, applies on the emulator, and then plans empty.

use std::path::Path;

use crate::support::{copy_dir, kvsync, repo, run, texts};

fn example_dirs() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    dirs
}

/// Secrets the examples refer to, provided the way an operator would.
fn provide_secrets(command: &mut std::process::Command, dir: &Path) {
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/replica-password"), "Replica-Pass-2024\n").unwrap();
    command
        .env("PAYMENTS_REDIS_PASSWORD", "Payments-Pass-2024")
        .env("PAYMENTS_RW_PASSWORD", "Payments-Rw-2024")
        .env("REPORTING_RO_PASSWORD", "Reporting-Ro-2024")
        .env("AUDIT_RO_PASSWORD", "Audit-Ro-2024");
}

#[test]
fn every_example_applies_and_then_plans_empty() {
    for example in example_dirs() {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&example, dir.path());

        let validated = run(kvsync(dir.path()).args(["validate", "-f", "."]));
        assert_eq!(
            validated.status.code(),
            Some(0),
            "{name}: {}",
            texts(&validated).1
        );

        let mut apply = kvsync(dir.path());
        apply.args(["apply", "--emulator", "-f", "."]);
        provide_secrets(&mut apply, dir.path());
        let applied = run(&mut apply);
        let (stdout, stderr) = texts(&applied);
        assert_eq!(
            applied.status.code(),
            Some(0),
            "{name}:\n{stdout}\n{stderr}"
        );

        let planned =
            run(kvsync(dir.path()).args(["plan", "--emulator", "--detailed-exitcode", "-f", "."]));
        let (stdout, stderr) = texts(&planned);
        assert_eq!(
            planned.status.code(),
            Some(0),
            "{name}:\n{stdout}\n{stderr}"
        );
    }
}
