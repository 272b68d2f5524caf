//! Secrets never appear: with distinctive passwords for an instance and several accounts, no
//! output of any command at any verbosity, no log of the emulator, its state file, or a saved
//! plan holds a password, in plain or URL-encoded form; the digests kvsync records in the
//! instance tags do not hold them either.

use std::path::Path;
use std::process::Output;

use crate::aspects::Fixture;
use crate::support::{EmulatorProcess, kvsync, run, texts};

/// The passwords, each by the environment variable (or file) that holds it.
const INSTANCE: (&str, &str) = ("SECRET_INSTANCE_PASSWORD", "Zq7-Unique-Passw0rd-1");
const APP_RW: (&str, &str) = ("SECRET_APP_RW_PASSWORD", "Zq7!Unique@Passw0rd#2");
const APP_RO: (&str, &str) = ("SECRET_APP_RO_PASSWORD", "Zq7$Unique%Passw0rd^3");
/// Read from a file beside the manifest.
const REPL_FILE: &str = "Zq7(Unique)Passw0rd=4";
/// The instance password after the change.
const INSTANCE_CHANGED: &str = "Zq7+Unique*Passw0rd&5";
/// The account password after the change.
const APP_RW_CHANGED: &str = "Zq7_Unique-Passw0rd!6";
/// Breaks the vendor's rules (too long): refused before any call, still never shown.
const TOO_LONG: &str = "Zq7-Unique-Passw0rd-Far-Too-Long-7";

const ALL: &[&str] = &[
    INSTANCE.1,
    APP_RW.1,
    APP_RO.1,
    REPL_FILE,
    INSTANCE_CHANGED,
    APP_RW_CHANGED,
    TOO_LONG,
];

const MANIFEST: &str = "apiVersion: kvsync/v1
kind: Stack
metadata:
  name: secrets
spec:
  region: cn-hangzhou
---
apiVersion: kvsync/v1
kind: Instance
metadata:
  name: secret-cache
spec:
  instanceClass: redis.master.small.default
  engineVersion: \"5.0\"
  password: {env: SECRET_INSTANCE_PASSWORD}
  accounts:
    - name: app_rw
      privilege: RoleReadWrite
      password: {env: SECRET_APP_RW_PASSWORD}
      description: read write
    - name: app_ro
      privilege: RoleReadOnly
      password: {env: SECRET_APP_RO_PASSWORD}
    - name: repl_sync
      privilege: RoleRepl
      password: {file: repl-password}
";

/// The forms a secret could leak in: as is, percent-encoded (RFC 3986, as signed requests
/// carry it) and form-encoded (`+` for space, as some logs print queries).
fn forms(secret: &str) -> Vec<String> {
    let percent = kvsync::api::sign::percent_encode(secret);
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut forms = vec![secret.to_owned(), percent, form];
    forms.dedup();
    forms
}

/// Fails when `text` (called `what`) holds any secret in any form.
fn assert_clean(what: &str, text: &str) {
    for secret in ALL {
        for form in forms(secret) {
            assert!(
                !text.contains(&form),
                "{what} contains the secret {secret:?} (as {form:?}):\n{text}"
            );
        }
    }
}

/// Fails when the output of `what` holds a secret; returns stdout and stderr.
fn checked(what: &str, output: &Output) -> (String, String) {
    let (stdout, stderr) = texts(output);
    assert_clean(&format!("stdout of {what}"), &stdout);
    assert_clean(&format!("stderr of {what}"), &stderr);
    (stdout, stderr)
}

/// Whether this build's `plan` can save a plan with `--out FILE`.
fn plan_can_save(dir: &Path) -> bool {
    let help = run(kvsync(dir).args(["plan", "--help"]));
    texts(&help).0.contains("--out")
}

/// Every log format at the most verbose level.
const LOGGING: &[&[&str]] = &[
    &["-vvv"],
    &["-vvv", "--log-format", "json"],
    &["-vvv", "--log-format", "text"],
];

#[test]
fn no_secret_reaches_outputs_logs_state_or_tags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/instance.yaml"), MANIFEST).unwrap();
    std::fs::write(
        dir.path().join("manifests/repl-password"),
        format!("{REPL_FILE}\n"),
    )
    .unwrap();
    let emulator = EmulatorProcess::start_logged(dir.path(), &["-vvv", "--log-format", "json"]);
    let mut fixture = Fixture {
        dir,
        emulator,
        env: [INSTANCE, APP_RW, APP_RO]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let saves_plans = plan_can_save(fixture.dir.path());

    // Before anything exists: validate and every plan rendering, in every log format.
    for logging in LOGGING {
        let args = |command: &[&str]| -> Vec<String> {
            command
                .iter()
                .chain(logging.iter())
                .map(|s| (*s).to_owned())
                .collect()
        };
        let with = |command: &[&str]| {
            let args = args(command);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            fixture.kvsync(&refs)
        };
        let validated = with(&["validate"]);
        checked("validate", &validated);
        assert_eq!(validated.status.code(), Some(0));
        for render in [&["plan"][..], &["plan", "--json"], &["plan", "--markdown"]] {
            let planned = with(render);
            let (stdout, stderr) = checked(&render.join(" "), &planned);
            assert_eq!(planned.status.code(), Some(0), "{stdout}\n{stderr}");
            assert!(stdout.contains("SECRET_INSTANCE_PASSWORD"), "{stdout}");
        }
    }
    if !saves_plans {
        eprintln!("this build's plan has no --out: saved plans not checked");
    }
    if saves_plans {
        let saved = fixture.dir.path().join("saved.plan");
        let planned = fixture.kvsync(&["plan", "--out", saved.to_str().unwrap(), "-vvv"]);
        checked("plan --out", &planned);
        assert_eq!(planned.status.code(), Some(0), "{}", texts(&planned).1);
        assert_clean(
            "the saved plan",
            &String::from_utf8_lossy(&std::fs::read(&saved).unwrap()),
        );
    }

    // The first apply sets every password.
    let applied = fixture.kvsync(&["apply", "-vvv", "--log-format", "json"]);
    let (stdout, stderr) = checked("the first apply", &applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    let unchanged = fixture.kvsync(&["plan", "--detailed-exitcode", "-vvv"]);
    checked("plan after apply", &unchanged);
    assert_eq!(unchanged.status.code(), Some(0), "{}", texts(&unchanged).0);

    // The digests in the tags: one per password, none holding it.
    let instances = fixture.emulator.instances();
    let tags = instances[0]["Tags"].as_array().unwrap();
    let digests: Vec<&str> = tags
        .iter()
        .filter(|t| t["Key"].as_str().unwrap().starts_with("kvsync:pw"))
        .map(|t| t["Value"].as_str().unwrap())
        .collect();
    let joined = digests.join(";");
    for entry in ["*=", "app_rw=", "app_ro=", "repl_sync="] {
        assert!(joined.contains(entry), "no digest {entry} in {joined}");
    }
    assert_clean("the digest tags", &joined);
    for secret in ALL {
        for digest in joined.split(';').filter_map(|e| e.split_once('=')) {
            assert!(!secret.contains(digest.1), "a digest is part of a password");
        }
    }

    // A changed instance and account password, planned and applied in both log formats.
    fixture
        .env
        .insert(INSTANCE.0.to_owned(), INSTANCE_CHANGED.to_owned());
    fixture
        .env
        .insert(APP_RW.0.to_owned(), APP_RW_CHANGED.to_owned());
    for render in [&["plan"][..], &["plan", "--json"], &["plan", "--markdown"]] {
        let mut args = render.to_vec();
        args.extend(["-vvv", "--log-format", "json"]);
        let planned = fixture.kvsync(&args);
        let (stdout, _) = checked(&render.join(" "), &planned);
        assert!(stdout.contains("SECRET_APP_RW_PASSWORD"), "{stdout}");
    }
    let changed = fixture.kvsync(&["apply", "-vvv"]);
    let (stdout, stderr) = checked("the password change", &changed);
    assert_eq!(changed.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("ResetAccountPassword"), "{stdout}");
    let unchanged = fixture.kvsync(&["plan", "--detailed-exitcode", "-vvv"]);
    checked("plan after the change", &unchanged);
    assert_eq!(unchanged.status.code(), Some(0), "{}", texts(&unchanged).0);

    // A password that breaks the rules is refused by name, never by value.
    fixture.env.insert(APP_RO.0.to_owned(), TOO_LONG.to_owned());
    for command in [&["validate"][..], &["plan"], &["apply"]] {
        let mut args = command.to_vec();
        args.extend(["-vvv", "--log-format", "json"]);
        let refused = fixture.kvsync(&args);
        let (stdout, stderr) = checked(&command.join(" "), &refused);
        if command != ["validate"] {
            assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
            assert!(stderr.contains("SECRET_APP_RO_PASSWORD"), "{stderr}");
        }
    }

    // The emulator's log at its most verbose, and its state.
    let log = fixture.emulator.stderr();
    assert!(log.contains("ResetAccountPassword"), "{log}");
    assert_clean("the emulator's log", &log);
    let state = std::fs::read_to_string(fixture.dir.path().join("emulator-state.json")).unwrap();
    assert!(state.contains("secret-cache"));
    assert_clean("the emulator's state file", &state);
}

#[test]
fn no_secret_reaches_the_in_process_emulator_or_its_state() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/instance.yaml"), MANIFEST).unwrap();
    std::fs::write(
        dir.path().join("manifests/repl-password"),
        format!("{REPL_FILE}\n"),
    )
    .unwrap();
    // Every flag's level, then everything every crate traces (`KVSYNC_LOG=trace`).
    let everything: &[&str] = &["--log-format", "json"];
    for (logging, filter) in LOGGING
        .iter()
        .map(|flags| (*flags, None))
        .chain([(everything, Some("trace"))])
    {
        // A fresh emulator each time, so that every run sends every password.
        let _ = std::fs::remove_dir_all(dir.path().join(".kvsync"));
        let mut apply = kvsync(dir.path());
        apply.args(["apply", "--emulator"]).args(logging);
        if let Some(filter) = filter {
            apply.env("KVSYNC_LOG", filter);
        }
        for (name, value) in [INSTANCE, APP_RW, APP_RO] {
            apply.env(name, value);
        }
        let applied = run(&mut apply);
        let (stdout, stderr) = checked("apply --emulator", &applied);
        assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    }
    let state = std::fs::read_to_string(dir.path().join(".kvsync/emulator.json")).unwrap();
    assert!(state.contains("secret-cache"));
    assert_clean("the in-process emulator's state file", &state);
}
