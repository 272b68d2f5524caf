//! Secrets never appear: with distinctive passwords for an instance and several accounts, no
//! output of any command at any verbosity, no log of the emulator, its state file, or a saved
//! plan holds a password, in plain or URL-encoded form; the digests kvsync records in the
//! instance tags do not hold them either. Nor do the cloud's own error texts leak them: a
//! `SignatureDoesNotMatch` that quotes the string-to-sign reaches no output, log or `/status`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::aspects::Fixture;
use crate::support::{EmulatorProcess, http_get_json, kvsync, run, texts};

/// The passwords, each by the environment variable (or file) that holds it.
pub(crate) const INSTANCE: (&str, &str) = ("SECRET_INSTANCE_PASSWORD", "Zq7-Unique-Passw0rd-1");
pub(crate) const APP_RW: (&str, &str) = ("SECRET_APP_RW_PASSWORD", "Zq7!Unique@Passw0rd#2");
pub(crate) const APP_RO: (&str, &str) = ("SECRET_APP_RO_PASSWORD", "Zq7$Unique%Passw0rd^3");
/// Read from a file beside the manifest.
pub(crate) const REPL_FILE: &str = "Zq7(Unique)Passw0rd=4";
/// The instance password after the change.
pub(crate) const INSTANCE_CHANGED: &str = "Zq7+Unique*Passw0rd&5";
/// The account password after the change.
pub(crate) const APP_RW_CHANGED: &str = "Zq7_Unique-Passw0rd!6";
/// Breaks the vendor's rules (too long): refused before any call, still never shown.
const TOO_LONG: &str = "Zq7-Unique-Passw0rd-Far-Too-Long-7";

pub(crate) const ALL: &[&str] = &[
    INSTANCE.1,
    APP_RW.1,
    APP_RO.1,
    REPL_FILE,
    INSTANCE_CHANGED,
    APP_RW_CHANGED,
    TOO_LONG,
];

pub(crate) const MANIFEST: &str = "apiVersion: kvsync/v1
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
/// carry it), double-encoded (as the string-to-sign quotes it), form-encoded (`+` for space,
/// as some logs print queries), and each of those with lower-case hex.
fn forms(secret: &str) -> Vec<String> {
    let percent = kvsync::api::sign::percent_encode(secret);
    let double = kvsync::api::sign::percent_encode(&percent);
    let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut forms = vec![secret.to_owned(), percent, double, form];
    let lower: Vec<String> = forms.iter().map(|form| lower_hex(form)).collect();
    forms.extend(lower);
    forms.sort();
    forms.dedup();
    forms
}

/// `%2B` → `%2b`: some encoders write lower-case hex.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::new();
    let mut rest = encoded;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape: String = rest[at..].chars().take(3).collect();
        out.push_str(&escape.to_ascii_lowercase());
        rest = &rest[at + escape.len()..];
    }
    out.push_str(rest);
    out
}

/// Fails when `text` (called `what`) holds any of `secrets` in any form.
pub(crate) fn assert_free_of(secrets: &[&str], what: &str, text: &str) {
    for secret in secrets {
        for form in forms(secret) {
            assert!(
                !text.contains(&form),
                "{what} contains the secret {secret:?} (as {form:?}):\n{text}"
            );
        }
    }
}

/// Fails when `text` (called `what`) holds any secret in any form.
fn assert_clean(what: &str, text: &str) {
    assert_free_of(ALL, what, text);
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
    let applied = fixture.kvsync(&["apply", "--auto-approve", "-vvv", "--log-format", "json"]);
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
    let changed = fixture.kvsync(&["apply", "--auto-approve", "-vvv"]);
    let (stdout, stderr) = checked("the password change", &changed);
    assert_eq!(changed.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("ResetAccountPassword"), "{stdout}");
    let unchanged = fixture.kvsync(&["plan", "--detailed-exitcode", "-vvv"]);
    checked("plan after the change", &unchanged);
    assert_eq!(unchanged.status.code(), Some(0), "{}", texts(&unchanged).0);

    // A password that breaks the rules is refused by name, never by value.
    fixture.env.insert(APP_RO.0.to_owned(), TOO_LONG.to_owned());
    for command in [&["validate"][..], &["plan"], &["apply", "--auto-approve"]] {
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
    let state =
        crate::support::emulator_state_text(&fixture.dir.path().join("emulator-state.json"));
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
        apply
            .args(["apply", "--auto-approve", "--emulator"])
            .args(logging);
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
    let state = crate::support::emulator_state_text(&dir.path().join(".kvsync/emulator.json"));
    assert!(state.contains("secret-cache"));
    assert_clean("the in-process emulator's state file", &state);
}

/// The key pair of the signature-fault test: its secret is a canary too.
const LEAK_KEY_ID: &str = "leakid";
const LEAK_KEY_SECRET: &str = "Leak-AK-Secret+9=x%y&z";
/// The passwords the instances have before the cloud starts refusing them.
const SETUP: (&str, &str) = ("LEAK_SETUP_PASSWORD", "Setup+Pw0=x%y&z*");
/// One canary per call that carries a password; each contains characters that percent-encode.
const NEW_PASSWORD: (&str, &str) = ("LEAK_NEW_PASSWORD", "Canary+Pw1=x%y&z*");
const RESET_PASSWORD: (&str, &str) = ("LEAK_RESET_PASSWORD", "Canary+Pw2=x%y&z*");
const ACCOUNT_PASSWORD: (&str, &str) = ("LEAK_ACCOUNT_PASSWORD", "Canary+Pw3=x%y&z*");
const CREATE_PASSWORD: (&str, &str) = ("LEAK_CREATE_PASSWORD", "Canary+Pw4=x%y&z*");

const CANARIES: &[&str] = &[
    LEAK_KEY_SECRET,
    SETUP.1,
    NEW_PASSWORD.1,
    RESET_PASSWORD.1,
    ACCOUNT_PASSWORD.1,
    CREATE_PASSWORD.1,
];

/// Phase one: three instances, one with a password, one with an account with a password.
const LEAK_SETUP: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: leaks}
spec: {region: cn-hangzhou}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-pw}
spec:
  instanceClass: redis.master.small.default
  password: {env: LEAK_SETUP_PASSWORD}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-reset}
spec:
  instanceClass: redis.master.small.default
  accounts:
    - {name: app_rw, privilege: RoleReadWrite, password: {env: LEAK_SETUP_PASSWORD}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-account}
spec:
  instanceClass: redis.master.small.default
";

/// Phase two: every call that carries a password — `ModifyInstanceAttribute` (`NewPassword`),
/// `ResetAccountPassword` and `CreateAccount` (`AccountPassword`), `CreateInstance`
/// (`Password`) — each on its own instance, so that none stops another.
const LEAK_CHANGED: &str = "apiVersion: kvsync/v1
kind: Stack
metadata: {name: leaks}
spec: {region: cn-hangzhou}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-pw}
spec:
  instanceClass: redis.master.small.default
  password: {env: LEAK_NEW_PASSWORD}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-reset}
spec:
  instanceClass: redis.master.small.default
  accounts:
    - {name: app_rw, privilege: RoleReadWrite, password: {env: LEAK_RESET_PASSWORD}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-account}
spec:
  instanceClass: redis.master.small.default
  accounts:
    - {name: app_new, privilege: RoleReadOnly, password: {env: LEAK_ACCOUNT_PASSWORD}}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: leak-new}
spec:
  instanceClass: redis.master.small.default
  password: {env: LEAK_CREATE_PASSWORD}
";

const LEAK_INSTANCES: &[&str] = &["leak-pw", "leak-reset", "leak-account", "leak-new"];

/// A `kvsync` command aimed at `emulator` with the canary key pair and every password set.
fn leak_kvsync(dir: &Path, emulator: &EmulatorProcess) -> Command {
    let mut command = kvsync(dir);
    command.args([
        "--endpoint",
        &emulator.url,
        "--access-key-id",
        LEAK_KEY_ID,
        "--access-key-secret",
        LEAK_KEY_SECRET,
    ]);
    for (name, value) in [
        SETUP,
        NEW_PASSWORD,
        RESET_PASSWORD,
        ACCOUNT_PASSWORD,
        CREATE_PASSWORD,
    ] {
        command.env(name, value);
    }
    command
}

/// Fails when the output of `what` holds a canary; returns stdout and stderr.
fn canary_free(what: &str, output: &Output) -> (String, String) {
    let (stdout, stderr) = texts(output);
    assert_free_of(CANARIES, &format!("stdout of {what}"), &stdout);
    assert_free_of(CANARIES, &format!("stderr of {what}"), &stderr);
    (stdout, stderr)
}

/// The cloud refuses every call carrying a password with `SignatureDoesNotMatch`, quoting its
/// string-to-sign, which holds the password (double-encoded). The refusal must be reported —
/// by apply (text and JSON logs, on a pipe), the daemon (its log and `/status`) — without the
/// password in any form; saved plans, the emulator's log and state hold none either.
#[test]
fn a_refused_signature_never_leaks_the_passwords_it_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(manifests.join("leaks.yaml"), LEAK_SETUP).unwrap();
    let keys = [
        "--access-key-id",
        LEAK_KEY_ID,
        "--access-key-secret",
        LEAK_KEY_SECRET,
    ];
    let setup_emulator = EmulatorProcess::start(dir.path(), &keys);
    let applied =
        run(leak_kvsync(dir.path(), &setup_emulator).args(["apply", "--auto-approve", "-vv"]));
    let (stdout, stderr) = canary_free("the setup apply", &applied);
    assert_eq!(applied.status.code(), Some(0), "{stdout}\n{stderr}");
    drop(setup_emulator);

    // The same state, now refusing every call that carries a password.
    let mut flags = keys.to_vec();
    for param in ["Password", "NewPassword", "AccountPassword"] {
        flags.extend(["--signature-fault", param]);
    }
    flags.extend(["-v", "--log-format", "json"]);
    let emulator = EmulatorProcess::start_logged(dir.path(), &flags);
    std::fs::write(manifests.join("leaks.yaml"), LEAK_CHANGED).unwrap();

    for logging in [&["-vv"][..], &["-vv", "--log-format", "json"]] {
        let what = format!("apply {}", logging.join(" "));
        let applied = run(leak_kvsync(dir.path(), &emulator)
            .args(["apply", "--auto-approve"])
            .args(logging)
            .stdin(Stdio::null()));
        let (stdout, stderr) = canary_free(&what, &applied);
        assert_eq!(applied.status.code(), Some(1), "{stdout}\n{stderr}");
        let both = format!("{stdout}\n{stderr}");
        for action in [
            "ModifyInstanceAttribute",
            "ResetAccountPassword",
            "CreateAccount",
            "CreateInstance",
        ] {
            assert!(
                both.contains(action),
                "{what} does not report {action}:\n{both}"
            );
        }
        assert!(
            both.contains("SignatureDoesNotMatch") && both.contains("server string to sign"),
            "{what} does not report the refusal:\n{both}"
        );
    }
    for action in ["CreateInstance", "ModifyInstanceAttribute", "CreateAccount"] {
        assert!(
            emulator.count(action, "SignatureDoesNotMatch") >= 2,
            "{action}: {:#}",
            emulator.stats()
        );
    }

    let saved = dir.path().join("saved.plan");
    let planned = run(leak_kvsync(dir.path(), &emulator).args([
        "plan",
        "--out",
        saved.to_str().unwrap(),
        "-vv",
        "--log-format",
        "json",
    ]));
    let (stdout, stderr) = canary_free("plan --out", &planned);
    assert_eq!(planned.status.code(), Some(0), "{stdout}\n{stderr}");
    let saved = std::fs::read_to_string(&saved).unwrap();
    assert!(saved.contains("LEAK_CREATE_PASSWORD"), "{saved}");
    assert_free_of(CANARIES, "the saved plan", &saved);
    let json = run(leak_kvsync(dir.path(), &emulator).args(["plan", "--json"]));
    canary_free("plan --json", &json);

    // The daemon in apply mode: its log and `/status`.
    let daemon_log = dir.path().join("daemon-stderr.log");
    let mut daemon = leak_kvsync(dir.path(), &emulator)
        .args([
            "daemon",
            "--mode",
            "apply",
            "--interval",
            "1h",
            "--listen",
            "127.0.0.1:0",
            "-vv",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&daemon_log).unwrap())
        .spawn()
        .expect("starting the daemon");
    let mut banner = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected daemon banner {banner:?}"))
        .to_owned();
    let started = Instant::now();
    let status = loop {
        let status = http_get_json(&format!("{url}/status"));
        let failed = LEAK_INSTANCES.iter().all(|name| {
            status["instances"][format!("cn-hangzhou/{name}")]["last_error"]
                .as_str()
                .is_some_and(|error| error.contains("SignatureDoesNotMatch"))
        });
        if failed {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon did not report the refusals: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Every console page and JSON view, the events, and the daemon's audit log.
    let mut views = vec![
        "/".to_owned(),
        "/history".to_owned(),
        "/?q=leak&state=failed".to_owned(),
        "/api/v1/overview".to_owned(),
        "/api/v1/instances".to_owned(),
        "/api/v1/history".to_owned(),
        "/events".to_owned(),
    ];
    for name in LEAK_INSTANCES {
        views.push(format!("/instances/cn-hangzhou/{name}"));
        views.push(format!("/api/v1/instances/cn-hangzhou/{name}"));
    }
    for view in &views {
        let (code, body) = crate::support::http_get(&format!("{url}{view}"));
        assert_eq!(code, 200, "{view}: {body}");
        assert_free_of(CANARIES, &format!("the daemon's {view}"), &body);
    }
    let (_, page) = crate::support::http_get(&format!("{url}/instances/cn-hangzhou/leak-new"));
    assert!(page.contains("SignatureDoesNotMatch"), "{page}");
    let (_, events) = crate::support::http_get(&format!("{url}/events"));
    assert!(events.contains("apply_failed"), "{events}");
    let _ = daemon.kill();
    let _ = daemon.wait();
    let audit = std::fs::read_to_string(dir.path().join(".kvsync/audit.jsonl")).unwrap();
    assert!(audit.contains("SignatureDoesNotMatch"), "{audit}");
    assert_free_of(CANARIES, "the daemon's audit log", &audit);
    let status = status.to_string();
    assert!(status.contains("server string to sign"), "{status}");
    assert_free_of(CANARIES, "the daemon's /status", &status);
    let log = std::fs::read_to_string(&daemon_log).unwrap();
    assert!(log.contains("SignatureDoesNotMatch"), "{log}");
    assert_free_of(CANARIES, "the daemon's log", &log);

    let log = emulator.stderr();
    assert!(log.contains("SignatureDoesNotMatch"), "{log}");
    assert_free_of(CANARIES, "the emulator's log", &log);
    let state = crate::support::emulator_state_text(&dir.path().join("emulator-state.json"));
    assert!(state.contains("leak-reset"), "{state}");
    assert_free_of(CANARIES, "the emulator's state file", &state);
}

/// The OIDC token of the temporary-credential test: a canary too.
const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.Canary-OIDC+Token=x%y&z.sig";
const OIDC_PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa";
const OIDC_ROLE: &str = "acs:ram::1234567890123456:role/kvsync-pods";

/// Temporary credentials obtained with an OIDC token (RRSA) never leak, not even when the
/// cloud quotes them back: every call carrying a password is refused `SignatureDoesNotMatch`
/// with a string-to-sign that holds the call's `SecurityToken`. Neither the OIDC token, nor a
/// security token (they all start `CAIS`), nor an issued secret, nor a whole issued key id
/// reaches any output, saved plan, log, audit log, console page or the emulator's journal.
#[test]
fn temporary_credentials_never_leak_even_when_the_cloud_quotes_them() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(manifests.join("leaks.yaml"), LEAK_SETUP).unwrap();
    let token_file = dir.path().join("rrsa-token");
    std::fs::write(&token_file, OIDC_TOKEN).unwrap();
    let emulator = EmulatorProcess::start_logged(
        dir.path(),
        &[
            "--role",
            &format!("{OIDC_ROLE}=oidc:{OIDC_PROVIDER}"),
            "--oidc-token",
            &format!("{OIDC_PROVIDER}={OIDC_TOKEN}"),
            "--signature-fault",
            "Password",
            "-v",
        ],
    );
    let rrsa = |command: &mut Command| {
        command
            .args(["--endpoint", &emulator.url, "--sts-endpoint", &emulator.url])
            .env("ALIBABA_CLOUD_ROLE_ARN", OIDC_ROLE)
            .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", OIDC_PROVIDER)
            .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &token_file)
            .env(SETUP.0, SETUP.1);
    };
    let mut shown = Vec::new();
    for args in [
        &["apply", "--auto-approve", "-vv"][..],
        &["apply", "--auto-approve", "-vv", "--log-format", "json"],
        &["plan", "--json", "-vv"],
        &["plan", "--out", "saved.plan", "-vv"],
    ] {
        let mut command = kvsync(dir.path());
        rrsa(&mut command);
        let output = run(command.args(args).stdin(Stdio::null()));
        let (stdout, stderr) = texts(&output);
        shown.push((args.join(" "), format!("{stdout}\n{stderr}")));
    }
    let (what, applied) = &shown[0];
    assert!(
        applied.contains("SignatureDoesNotMatch") && applied.contains("server string to sign"),
        "{what} does not report the refusal:\n{applied}"
    );
    assert!(applied.contains("oidc_role_arn"), "{applied}");
    assert!(emulator.count("AssumeRoleWithOIDC", "ok") >= 1);
    assert!(emulator.count("CreateInstance", "SignatureDoesNotMatch") >= 1);
    shown.push((
        "the saved plan".into(),
        std::fs::read_to_string(dir.path().join("saved.plan")).unwrap(),
    ));

    // The daemon: its log, every view, its audit log.
    let daemon_log = dir.path().join("daemon-stderr.log");
    let mut command = kvsync(dir.path());
    rrsa(&mut command);
    let mut daemon = command
        .args(["daemon", "--mode", "apply", "--interval", "1h"])
        .args(["--listen", "127.0.0.1:0", "-vv", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&daemon_log).unwrap())
        .spawn()
        .expect("starting the daemon");
    let mut banner = String::new();
    BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected daemon banner {banner:?}"))
        .to_owned();
    let started = Instant::now();
    loop {
        let status = http_get_json(&format!("{url}/status"));
        if status["instances"]["cn-hangzhou/leak-pw"]["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("SignatureDoesNotMatch"))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the daemon did not report the refusal: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for view in [
        "/status",
        "/",
        "/metrics",
        "/events",
        "/api/v1/instances",
        "/instances/cn-hangzhou/leak-pw",
        "/api/v1/instances/cn-hangzhou/leak-pw",
    ] {
        let (_, body) = crate::support::http_get(&format!("{url}{view}"));
        shown.push((format!("the daemon's {view}"), body));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    shown.push((
        "the daemon's log".into(),
        std::fs::read_to_string(&daemon_log).unwrap(),
    ));
    shown.push((
        "the daemon's audit log".into(),
        std::fs::read_to_string(dir.path().join(".kvsync/audit.jsonl")).unwrap(),
    ));
    shown.push(("the emulator's log".into(), emulator.stderr()));
    // The cloud's side: it names the key ids (as the cloud's own audit trail does), never a
    // secret or a token.
    let journal = crate::support::http_get(&format!("{}/_emulator/requests", emulator.url)).1;

    // Every credential the emulator issued, read from its own state (which must hold the
    // secrets to check signatures, and nothing of the tokens but their digests).
    let state = crate::support::emulator_state_json(&dir.path().join("emulator-state.json"));
    let issued = state["sts_keys"].as_object().unwrap();
    assert!(!issued.is_empty());
    let secrets: Vec<String> = std::iter::once(OIDC_TOKEN.to_owned())
        .chain(
            issued
                .values()
                .map(|key| key["secret"].as_str().unwrap().to_owned()),
        )
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let canaries: Vec<&str> = secrets
        .iter()
        .copied()
        .chain(issued.keys().map(String::as_str))
        .collect();
    for (what, text) in &shown {
        assert_free_of(&canaries, what, text);
        assert!(
            !text.contains("CAIS"),
            "{what} holds a security token:\n{text}"
        );
    }
    assert!(journal.contains("AssumeRoleWithOIDC"), "{journal}");
    assert_free_of(&secrets, "the emulator's journal", &journal);
    assert!(!journal.contains("CAIS"), "{journal}");
    let state_text = state.to_string();
    assert!(!state_text.contains("CAIS") && !state_text.contains(OIDC_TOKEN));
}

/// STS quoting a chain's intermediate credentials back: the second `AssumeRole` of a
/// `ChainableRamRoleArn` profile is signed with the first role's key and carries its security
/// token, and the emulator refuses it with a string-to-sign that holds both. The error is
/// reported, naming the provider, with neither the token nor a secret in it.
#[test]
fn sts_quoting_a_chains_credentials_back_leaks_nothing() {
    const FIRST: &str = "acs:ram::1234567890123456:role/hop-one";
    const SECOND: &str = "acs:ram::1234567890123456:role/hop-two";
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/leaks.yaml"), LEAK_SETUP).unwrap();
    std::fs::create_dir_all(dir.path().join(".aliyun")).unwrap();
    let profiles = serde_json::json!({
        "current": "chain",
        "profiles": [
            {"name": "base", "mode": "AK", "access_key_id": LEAK_KEY_ID,
             "access_key_secret": LEAK_KEY_SECRET},
            {"name": "hop", "mode": "ChainableRamRoleArn", "source_profile": "base",
             "ram_role_arn": FIRST},
            {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "hop",
             "ram_role_arn": SECOND, "external_id": "refused-here"}
        ]
    });
    std::fs::write(dir.path().join(".aliyun/config.json"), profiles.to_string()).unwrap();
    let emulator = EmulatorProcess::start(
        dir.path(),
        &[
            "--access-key-id",
            LEAK_KEY_ID,
            "--access-key-secret",
            LEAK_KEY_SECRET,
            "--role",
            &format!("{FIRST}={LEAK_KEY_ID}"),
            "--role",
            &format!("{SECOND}={FIRST}"),
            "--signature-fault",
            "ExternalId",
        ],
    );
    let output = run(kvsync(dir.path())
        .args(["plan", "-vv", "--endpoint", &emulator.url])
        .args(["--sts-endpoint", &emulator.url])
        .env(SETUP.0, SETUP.1));
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("SignatureDoesNotMatch")
            && stderr.contains("ram_role_arn/ram_role_arn/static_ak"),
        "{stderr}"
    );
    assert_eq!(emulator.count("AssumeRole", "ok"), 1);
    assert_eq!(emulator.count("AssumeRole", "SignatureDoesNotMatch"), 1);
    let state = crate::support::emulator_state_json(&dir.path().join("emulator-state.json"));
    let issued = state["sts_keys"].as_object().unwrap();
    assert_eq!(issued.len(), 1);
    let mut canaries: Vec<&str> = vec![LEAK_KEY_SECRET];
    for (id, key) in issued {
        canaries.push(id);
        canaries.push(key["secret"].as_str().unwrap());
    }
    for text in [&stdout, &stderr] {
        assert_free_of(&canaries, "plan's output", text);
        assert!(
            !text.contains("CAIS"),
            "a security token was shown:\n{text}"
        );
    }
}
