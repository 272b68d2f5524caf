//! Where the default region comes from (`--region`, the Stack, `ALIBABA_CLOUD_REGION_ID` /
//! `ALICLOUD_REGION`, the aliyun profile's `region_id`), unknown regions refused before any
//! call, and an explicit `--profile` beating keys in the environment.

use std::path::Path;

use crate::support::{EmulatorProcess, run, texts};

/// A manifest whose instance names no region; with a Stack region when `stack_region` is set.
fn manifest(stack_region: Option<&str>) -> String {
    let spec = match stack_region {
        Some(region) => format!("{{region: {region}}}"),
        None => "{}".into(),
    };
    format!(
        "apiVersion: kvsync/v1
kind: Stack
metadata: {{name: regions}}
spec: {spec}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {{name: where-am-i}}
spec:
  instanceClass: redis.master.small.default
"
    )
}

fn workspace(stack_region: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(
        dir.path().join("manifests/stack.yaml"),
        manifest(stack_region),
    )
    .unwrap();
    dir
}

/// Writes an aliyun CLI profile file under `home`.
fn profile_file(home: &Path, region: &str) {
    std::fs::create_dir_all(home.join(".aliyun")).unwrap();
    std::fs::write(
        home.join(".aliyun/config.json"),
        format!(
            r#"{{"current": "default", "profiles": [
                {{"name": "default", "mode": "AK", "access_key_id": "testid",
                  "access_key_secret": "testsecret", "region_id": "{region}"}},
                {{"name": "wrong", "mode": "AK", "access_key_id": "wrong-id",
                  "access_key_secret": "wrong-secret"}}
            ]}}"#
        ),
    )
    .unwrap();
}

/// `kvsync plan --json` against the emulator with `args` and `env`; the region of the one
/// planned instance (or the failed output).
fn planned_region(
    dir: &Path,
    emulator: &EmulatorProcess,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<String, String> {
    let mut command = emulator.kvsync(dir);
    command.args(args).args(["plan", "--json"]);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = run(&mut command);
    let (stdout, stderr) = texts(&output);
    if output.status.code() != Some(0) {
        return Err(format!("{stdout}\n{stderr}"));
    }
    let plan: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| e.to_string())?;
    plan["steps"][0]["instance"]
        .as_str()
        .and_then(|instance| instance.split('/').next())
        .map(str::to_owned)
        .ok_or(stdout)
}

#[test]
fn the_default_region_follows_flag_stack_environment_profile() {
    let emulator_dir = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(emulator_dir.path(), &[]);

    let with_stack = workspace(Some("cn-beijing"));
    profile_file(with_stack.path(), "us-west-1");
    let env = [("ALIBABA_CLOUD_REGION_ID", "cn-shenzhen")];
    // --region beats the Stack, which beats the environment and the profile.
    assert_eq!(
        planned_region(
            with_stack.path(),
            &emulator,
            &["--region", "cn-shanghai"],
            &env
        ),
        Ok("cn-shanghai".into())
    );
    assert_eq!(
        planned_region(with_stack.path(), &emulator, &[], &env),
        Ok("cn-beijing".into())
    );

    let without_stack = workspace(None);
    profile_file(without_stack.path(), "us-west-1");
    assert_eq!(
        planned_region(without_stack.path(), &emulator, &[], &env),
        Ok("cn-shenzhen".into())
    );
    assert_eq!(
        planned_region(
            without_stack.path(),
            &emulator,
            &[],
            &[("ALICLOUD_REGION", "ap-southeast-1")]
        ),
        Ok("ap-southeast-1".into())
    );
    assert_eq!(
        planned_region(without_stack.path(), &emulator, &[], &[]),
        Ok("us-west-1".into())
    );

    // Nowhere: the error says where a region can come from.
    let bare = workspace(None);
    let err = planned_region(bare.path(), &emulator, &[], &[]).unwrap_err();
    assert!(err.contains("metadata.region is required"), "{err}");
    assert!(err.contains("--region"), "{err}");
}

#[test]
fn an_unknown_region_is_refused_before_any_call_listing_the_known_ones() {
    let dir = workspace(Some("cn-hangzhou"));
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    let before = emulator.total_requests();
    for (args, env) in [
        (vec!["--region", "cn-mars"], vec![]),
        (vec![], vec![("ALIBABA_CLOUD_REGION_ID", "cn-mars")]),
    ] {
        let err = planned_region(dir.path(), &emulator, &args, &env).unwrap_err();
        assert!(
            err.contains("\"cn-mars\"") && err.contains("is not a region R-KVStore is offered in"),
            "{err}"
        );
        assert!(err.contains("cn-hangzhou, cn-shanghai"), "{err}");
    }
    // Written in a manifest: an error at its line, before any call.
    let in_manifest = workspace(Some("cn-mars"));
    let err = planned_region(in_manifest.path(), &emulator, &[], &[]).unwrap_err();
    assert!(
        err.contains("stack.yaml:4:") && err.contains("is not a region R-KVStore is offered in"),
        "{err}"
    );
    let mut import = emulator.kvsync(dir.path());
    let output = run(import.args(["import", "--region", "cn-mars", "--out", "imported"]));
    let (stdout, stderr) = texts(&output);
    // A flag's value outside what it accepts: a usage error.
    assert_eq!(output.status.code(), Some(64), "{stdout}\n{stderr}");
    assert!(stderr.contains("cn-mars"), "{stderr}");
    assert_eq!(emulator.total_requests(), before, "a call was made");
}

#[test]
fn an_explicit_profile_beats_keys_in_the_environment() {
    let dir = workspace(Some("cn-hangzhou"));
    profile_file(dir.path(), "cn-hangzhou");
    let emulator = EmulatorProcess::start(dir.path(), &[]);
    // No key flags: the environment holds keys the emulator refuses.
    let plan = |args: &[&str]| {
        let mut command = crate::support::kvsync(dir.path());
        command
            .args(["--endpoint", &emulator.url])
            .args(args)
            .arg("plan")
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret");
        run(&mut command)
    };
    let chosen = plan(&["--profile", "default"]);
    let (stdout, stderr) = texts(&chosen);
    assert_eq!(chosen.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("where-am-i"), "{stdout}");

    // Without --profile the environment's keys are used, and refused.
    let from_env = plan(&[]);
    let (stdout, stderr) = texts(&from_env);
    assert_ne!(from_env.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("InvalidAccessKeyId"), "{stderr}");
}
