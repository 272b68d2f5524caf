//! Every credential source end to end: `kvsync credentials`, `plan` and `apply` against a real
//! emulator process with roles, an OIDC provider and an ECS role, checking from the emulator's
//! journal and state which key signed each R-KVStore call and which role it was issued for,
//! that STS was called as the chain says, the refusals, and that no output shows a secret, a
//! token, a whole temporary key id or the OIDC token.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::{EmulatorProcess, http_get_json, kvsync, run, texts, write_manifest};

/// A role `testid` may assume.
pub(crate) const DEPLOYER: &str = "acs:ram::1234567890123456:role/deployer";
/// A role only the deployer role's credentials may assume (chaining).
pub(crate) const CHAINED: &str = "acs:ram::1234567890123456:role/chained";
/// A role assumed with an OIDC token of [`PROVIDER`] (RRSA).
pub(crate) const POD: &str = "acs:ram::1234567890123456:role/pod";
/// The ECS instance's role, served by the metadata stand-in as [`ECS_ROLE_NAME`].
pub(crate) const NODE: &str = "acs:ram::1234567890123456:role/node";
/// The role a Stack document names in `spec.credentials`.
const STACK_ROLE: &str = "acs:ram::1234567890123456:role/stack";
/// A role that trusts only a key kvsync does not have.
const LOCKED: &str = "acs:ram::1234567890123456:role/locked";
/// The OIDC provider.
pub(crate) const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack";
/// The OIDC token the provider accepts.
pub(crate) const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.a3ZzeW5jLWl0.c2lnbmF0dXJlLXZhbHVl";
/// The ECS role's name.
pub(crate) const ECS_ROLE_NAME: &str = "NodeRole";
/// The emulator's default secret.
const TEST_SECRET: &str = "testsecret";

/// The actions served by STS (the rest are R-KVStore's).
const STS_ACTIONS: &[&str] = &["AssumeRole", "AssumeRoleWithOIDC", "GetCallerIdentity"];

/// One small stack: a Stack document and one instance.
const MANIFEST: &str = "\
apiVersion: kvsync/v1
kind: Stack
metadata: {name: creds}
spec: {region: cn-hangzhou}
---
apiVersion: kvsync/v1
kind: Instance
metadata: {name: creds-cache}
spec:
  instanceClass: redis.master.small.default
  engineVersion: \"5.0\"
  zoneId: cn-hangzhou-h
";

/// An emulator process with every role of these tests, and a directory with the manifests
/// that is also the commands' HOME and working directory.
pub(crate) struct Cloud {
    /// The directory.
    pub dir: tempfile::TempDir,
    /// The emulator.
    pub emu: EmulatorProcess,
}

impl Cloud {
    pub(crate) fn start() -> Cloud {
        let dir = tempfile::tempdir().unwrap();
        write_manifest(dir.path(), MANIFEST);
        let roles = [
            format!("{DEPLOYER}=testid"),
            format!("{CHAINED}={DEPLOYER}"),
            format!("{POD}=oidc:{PROVIDER}"),
            format!("{STACK_ROLE}=testid"),
            format!("{LOCKED}=stranger"),
        ];
        let mut flags: Vec<String> = roles
            .iter()
            .flat_map(|role| ["--role".to_owned(), role.clone()])
            .collect();
        flags.extend([
            "--oidc-token".to_owned(),
            format!("{PROVIDER}={OIDC_TOKEN}"),
            "--ecs-role".to_owned(),
            format!("{ECS_ROLE_NAME}={NODE}"),
        ]);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let emu = EmulatorProcess::start(dir.path(), &flags);
        Cloud { dir, emu }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `kvsync ARGS` with `setup`, R-KVStore and STS both at the emulator.
    pub(crate) fn kvsync(&self, setup: &Setup, args: &[&str]) -> Command {
        setup.write(self.path());
        let mut command = kvsync(self.path());
        command
            .args(["--endpoint", &self.emu.url, "--sts-endpoint", &self.emu.url])
            .args(&setup.flags)
            .envs(setup.env.iter().map(|(k, v)| (k, v)))
            .args(args);
        command
    }

    /// Every request the emulator accepted, oldest first.
    pub(crate) fn journal(&self) -> Vec<Value> {
        http_get_json(&format!("{}/_emulator/requests", self.emu.url))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The temporary keys STS and the metadata stand-in issued, by key id (from the state
    /// file, which keeps each one's secret, role and session).
    pub(crate) fn issued(&self) -> serde_json::Map<String, Value> {
        let state = crate::support::emulator_state_json(&self.path().join("emulator-state.json"));
        find_key(&state, "sts_keys")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// Who a key id is: `testid`, `role ARN/session` of an issued key, or the id itself.
    pub(crate) fn who(&self, key_id: &str) -> String {
        match self.issued().get(key_id) {
            Some(key) => format!(
                "{}/{}",
                key["role_arn"].as_str().unwrap(),
                key["session"].as_str().unwrap()
            ),
            None => key_id.to_owned(),
        }
    }

    /// The key ids the emulator issued whose last four characters are `hint`'s.
    pub(crate) fn issued_with_hint(&self, hint: &str) -> Vec<String> {
        let tail = hint.trim_start_matches('…');
        self.issued()
            .keys()
            .filter(|id| id.ends_with(tail))
            .cloned()
            .collect()
    }

    /// Asserts that `text` shows no secret the emulator knows, no token, no whole temporary
    /// key id and not the OIDC token.
    pub(crate) fn assert_nothing_leaks(&self, text: &str, extra: &[&str]) {
        let mut forbidden = vec![TEST_SECRET.to_owned(), OIDC_TOKEN.to_owned()];
        for (id, key) in self.issued() {
            forbidden.push(id);
            forbidden.push(key["secret"].as_str().unwrap().to_owned());
        }
        forbidden.extend(extra.iter().map(|s| (*s).to_owned()));
        for value in forbidden {
            assert!(!text.contains(&value), "{value:?} appears in:\n{text}");
        }
        assert!(!text.contains("CAIS"), "a token appears in:\n{text}");
    }
}

fn find_key<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map
            .get(name)
            .or_else(|| map.values().find_map(|v| find_key(v, name))),
        Value::Array(items) => items.iter().find_map(|v| find_key(v, name)),
        _ => None,
    }
}

/// What a run is given: flags, environment variables and the aliyun CLI profile file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// Flags before the command.
    pub flags: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// `~/.aliyun/config.json`.
    pub profile: Option<Value>,
    /// A file to write before the run (the OIDC token file), relative to the directory.
    pub token_file: Option<String>,
}

impl Setup {
    fn flag(mut self, flags: &[&str]) -> Self {
        self.flags.extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }

    fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn profile(mut self, profile: Value) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Writes the profile file and the token file under `dir`.
    pub(crate) fn write(&self, dir: &Path) {
        if let Some(profile) = &self.profile {
            std::fs::create_dir_all(dir.join(".aliyun")).unwrap();
            std::fs::write(dir.join(".aliyun/config.json"), profile.to_string()).unwrap();
        }
        if let Some(file) = &self.token_file {
            std::fs::write(dir.join(file), OIDC_TOKEN).unwrap();
        }
    }
}

/// A profile file whose current profile is `current`.
fn profiles(current: &str, profiles: Value) -> Value {
    json!({"current": current, "profiles": profiles})
}

fn ak_profile(name: &str) -> Value {
    json!({"name": name, "mode": "AK", "access_key_id": "testid", "access_key_secret": TEST_SECRET})
}

/// The credential sources of the tests: a name, the setup in `dir`, and what kvsync should
/// make of it: the provider name, who signs R-KVStore calls, and the STS calls of one fetch
/// (action, role, session, signer).
pub(crate) struct Mode {
    /// The test's name for it.
    pub name: &'static str,
    /// What the run is given.
    pub setup: Setup,
    /// `Spec::provider_name`.
    pub provider: &'static str,
    /// Who signs R-KVStore calls ([`Cloud::who`]).
    pub signer: String,
    /// The STS calls of one fetch: action, RoleArn, RoleSessionName, who signs.
    pub sts: Vec<(&'static str, String, String, String)>,
}

fn assume(role: &str, session: &str, signer: &str) -> (&'static str, String, String, String) {
    ("AssumeRole", role.into(), session.into(), signer.into())
}

/// The modes kvsync and the official SDK resolve alike, with `dir` the run's HOME (for the
/// token file's absolute path).
pub(crate) fn shared_modes(dir: &Path) -> Vec<Mode> {
    let token_file = dir.join("oidc-token").display().to_string();
    let with_token = |setup: Setup| Setup {
        token_file: Some("oidc-token".into()),
        ..setup
    };
    vec![
        Mode {
            name: "env AK",
            setup: Setup::default()
                .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "testid")
                .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", TEST_SECRET),
            provider: "static_ak",
            signer: "testid".into(),
            sts: vec![],
        },
        Mode {
            name: "RRSA env",
            setup: with_token(
                Setup::default()
                    .env("ALIBABA_CLOUD_ROLE_ARN", POD)
                    .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
                    .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", &token_file)
                    .env("ALIBABA_CLOUD_ROLE_SESSION_NAME", "pod-session"),
            ),
            provider: "oidc_role_arn",
            signer: format!("{POD}/pod-session"),
            sts: vec![(
                "AssumeRoleWithOIDC",
                POD.into(),
                "pod-session".into(),
                String::new(),
            )],
        },
        Mode {
            name: "profile AK",
            setup: Setup::default().profile(profiles("main", json!([ak_profile("main")]))),
            provider: "static_ak",
            signer: "testid".into(),
            sts: vec![],
        },
        Mode {
            name: "profile RamRoleArn",
            setup: Setup::default().profile(profiles(
                "deploy",
                json!([{"name": "deploy", "mode": "RamRoleArn", "access_key_id": "testid",
                        "access_key_secret": TEST_SECRET, "ram_role_arn": DEPLOYER,
                        "ram_session_name": "ops", "expired_seconds": 900}]),
            )),
            provider: "ram_role_arn/static_ak",
            signer: format!("{DEPLOYER}/ops"),
            sts: vec![assume(DEPLOYER, "ops", "testid")],
        },
        Mode {
            name: "profile ChainableRamRoleArn",
            setup: Setup::default().profile(profiles(
                "chain",
                json!([
                    {"name": "deploy", "mode": "RamRoleArn", "access_key_id": "testid",
                     "access_key_secret": TEST_SECRET, "ram_role_arn": DEPLOYER,
                     "ram_session_name": "first"},
                    {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "deploy",
                     "ram_role_arn": CHAINED, "ram_session_name": "second"}
                ]),
            )),
            provider: "ram_role_arn/ram_role_arn/static_ak",
            signer: format!("{CHAINED}/second"),
            sts: vec![
                assume(DEPLOYER, "first", "testid"),
                assume(CHAINED, "second", &format!("{DEPLOYER}/first")),
            ],
        },
        Mode {
            name: "profile EcsRamRole",
            setup: Setup::default().profile(profiles(
                "ecs",
                json!([{"name": "ecs", "mode": "EcsRamRole", "ram_role_name": ECS_ROLE_NAME}]),
            )),
            provider: "ecs_ram_role",
            signer: format!("{NODE}/ecs-metadata"),
            sts: vec![],
        },
        Mode {
            name: "profile OIDC",
            setup: with_token(Setup::default().profile(profiles(
                "oidc",
                json!([{"name": "oidc", "mode": "OIDC", "ram_role_arn": POD,
                        "oidc_provider_arn": PROVIDER, "oidc_token_file": token_file,
                        "role_session_name": "pod-profile"}]),
            ))),
            provider: "oidc_role_arn",
            signer: format!("{POD}/pod-profile"),
            sts: vec![(
                "AssumeRoleWithOIDC",
                POD.into(),
                "pod-profile".into(),
                String::new(),
            )],
        },
        Mode {
            name: "ECS env",
            setup: Setup::default().env("ALIBABA_CLOUD_ECS_METADATA", ECS_ROLE_NAME),
            provider: "ecs_ram_role",
            signer: format!("{NODE}/ecs-metadata"),
            sts: vec![],
        },
    ]
}

/// `setup`'s metadata endpoint: the emulator's, as `KVSYNC_METADATA_ENDPOINT` (the official
/// SDK is pointed at it by the Python script).
fn with_metadata(cloud: &Cloud, mut setup: Setup) -> Setup {
    setup
        .env
        .push(("KVSYNC_METADATA_ENDPOINT".into(), cloud.emu.url.clone()));
    setup
}

/// Every output of a run, for the leak checks.
fn all_text(outputs: &[&Output]) -> String {
    outputs
        .iter()
        .map(|output| {
            let (stdout, stderr) = texts(output);
            format!("{stdout}\n{stderr}\n")
        })
        .collect()
}

fn assert_ok(output: &Output, what: &str) {
    let (stdout, stderr) = texts(output);
    assert_eq!(output.status.code(), Some(0), "{what}:\n{stdout}\n{stderr}");
}

/// `kvsync credentials --json`, required to succeed.
pub(crate) fn credentials_json(cloud: &Cloud, setup: &Setup) -> (Value, Output) {
    let output = run(&mut cloud.kvsync(setup, &["credentials", "--json"]));
    assert_ok(&output, "credentials --json");
    let (stdout, _) = texts(&output);
    let shown: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|err| panic!("{err}: {stdout}"));
    (shown, output)
}

/// Runs `credentials`, `plan` and `apply` with `mode` and checks everything the module
/// documentation says.
fn check_mode(cloud: &Cloud, mode: &Mode, extra_secrets: &[&str]) {
    let setup = &mode.setup;
    let (shown, shown_output) = credentials_json(cloud, setup);
    assert_eq!(shown["provider"], mode.provider, "{}: {shown}", mode.name);
    for field in ["source", "described", "key_hint"] {
        assert!(shown[field].is_string(), "{}: {shown}", mode.name);
    }
    let hint = shown["key_hint"].as_str().unwrap();
    assert!(hint.starts_with('…') && hint.chars().count() == 5, "{hint}");
    let text = run(&mut cloud.kvsync(setup, &["-v", "credentials"]));
    assert_ok(&text, "credentials");
    assert!(texts(&text).0.contains(mode.provider), "{:?}", texts(&text));
    let temporary = mode.signer != "testid" && !mode.signer.starts_with("STS.");
    assert_eq!(
        shown["expires"].is_string(),
        temporary,
        "{}: {shown}",
        mode.name
    );

    let plan = run(&mut cloud.kvsync(setup, &["-v", "plan"]));
    assert_ok(&plan, "plan");
    let apply = run(&mut cloud.kvsync(setup, &["-v", "apply", "--auto-approve"]));
    assert_ok(&apply, "apply");
    assert_eq!(cloud.emu.instances().len(), 1, "{}", mode.name);

    let journal = cloud.journal();
    let (sts, rkv): (Vec<&Value>, Vec<&Value>) = journal
        .iter()
        .partition(|entry| STS_ACTIONS.contains(&entry["action"].as_str().unwrap()));
    assert!(rkv.len() >= 3, "{}: {journal:?}", mode.name);
    for entry in &rkv {
        let key = entry["access_key_id"].as_str().unwrap();
        assert_eq!(cloud.who(key), mode.signer, "{}: {entry}", mode.name);
    }
    // The signing key is the one `credentials` showed the last four characters of.
    if temporary {
        let key = rkv[0]["access_key_id"].as_str().unwrap();
        let shown_keys = cloud.issued_with_hint(hint);
        assert!(!shown_keys.is_empty(), "{hint}");
        assert!(
            shown_keys.iter().all(|k| cloud.who(k) == mode.signer),
            "{}: {hint} is not a key of {}",
            mode.name,
            mode.signer
        );
        assert!(key.starts_with("STS."), "{key}");
    }
    // Each of the four runs fetched once, the same way.
    let calls: Vec<(String, String, String, String)> = sts
        .iter()
        .map(|entry| {
            let key = entry["access_key_id"].as_str().unwrap_or_default();
            (
                entry["action"].as_str().unwrap().to_owned(),
                entry["parameters"]["RoleArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                entry["parameters"]["RoleSessionName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                if key.is_empty() {
                    String::new()
                } else {
                    cloud.who(key)
                },
            )
        })
        .collect();
    let once: Vec<(String, String, String, String)> = mode
        .sts
        .iter()
        .map(|(a, r, s, w)| ((*a).to_owned(), r.clone(), s.clone(), w.clone()))
        .collect();
    let expected: Vec<_> = std::iter::repeat_n(once, 4).flatten().collect();
    assert_eq!(calls, expected, "{}", mode.name);

    cloud.assert_nothing_leaks(
        &all_text(&[&shown_output, &text, &plan, &apply]),
        extra_secrets,
    );
}

fn run_shared_mode(name: &str) {
    let cloud = Cloud::start();
    let mut mode = shared_modes(cloud.path())
        .into_iter()
        .find(|mode| mode.name == name)
        .unwrap();
    mode.setup = with_metadata(&cloud, mode.setup);
    check_mode(&cloud, &mode, &[]);
}

#[test]
fn flags() {
    let cloud = Cloud::start();
    let mode = Mode {
        name: "flags",
        setup: Setup::default().flag(&[
            "--access-key-id",
            "testid",
            "--access-key-secret",
            TEST_SECRET,
        ]),
        provider: "static_ak",
        signer: "testid".into(),
        sts: vec![],
    };
    // The flags beat keys in the environment.
    let mode = Mode {
        setup: mode
            .setup
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "nobody")
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "nothing"),
        ..mode
    };
    check_mode(&cloud, &mode, &[]);
}

#[test]
fn env_access_key() {
    run_shared_mode("env AK");
}

#[test]
fn alicloud_env_access_key() {
    let cloud = Cloud::start();
    let mode = Mode {
        name: "ALICLOUD env",
        setup: Setup::default()
            .env("ALICLOUD_ACCESS_KEY", "testid")
            .env("ALICLOUD_SECRET_KEY", TEST_SECRET),
        provider: "static_ak",
        signer: "testid".into(),
        sts: vec![],
    };
    check_mode(&cloud, &mode, &[]);
}

/// Temporary credentials from an AssumeRole the test makes itself: the key, secret and token.
pub(crate) fn assume_directly(
    cloud: &Cloud,
    role: &str,
    session: &str,
) -> (String, String, String) {
    let request = crate::support::Request::new("AssumeRole")
        .param("Version", "2015-04-01")
        .param("RoleArn", role)
        .param("RoleSessionName", session)
        .param("DurationSeconds", "3600");
    let url = cloud.emu.url.clone();
    let query = request.signed_query("POST", TEST_SECRET);
    let (status, body) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::support::send(&url, "POST", &query));
    assert_eq!(status, 200, "{body}");
    let field = |name: &str| body["Credentials"][name].as_str().unwrap().to_owned();
    (
        field("AccessKeyId"),
        field("AccessKeySecret"),
        field("SecurityToken"),
    )
}

/// The journal's entries of the test's own AssumeRole, before kvsync runs.
fn journal_len(cloud: &Cloud) -> usize {
    cloud.journal().len()
}

#[test]
fn env_sts_token() {
    let cloud = Cloud::start();
    let (id, secret, token) = assume_directly(&cloud, DEPLOYER, "handed-over");
    let before = journal_len(&cloud);
    assert_eq!(before, 1);
    let mode = Mode {
        name: "env STS",
        setup: Setup::default()
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &id)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &secret)
            .env("ALIBABA_CLOUD_SECURITY_TOKEN", &token),
        provider: "static_sts",
        signer: format!("{DEPLOYER}/handed-over"),
        // The test's own call; kvsync makes none.
        sts: vec![],
    };
    check_mode_after(&cloud, &mode, before, &[&secret, &token]);
}

/// [`check_mode`] for a run whose journal already holds `before` entries of the test's own.
fn check_mode_after(cloud: &Cloud, mode: &Mode, before: usize, secrets: &[&str]) {
    let setup = &mode.setup;
    let (shown, shown_output) = credentials_json(cloud, setup);
    assert_eq!(shown["provider"], mode.provider, "{shown}");
    assert!(shown["expires"].is_null(), "static credentials: {shown}");
    let plan = run(&mut cloud.kvsync(setup, &["-v", "plan"]));
    assert_ok(&plan, "plan");
    let apply = run(&mut cloud.kvsync(setup, &["-v", "apply", "--auto-approve"]));
    assert_ok(&apply, "apply");
    let journal = cloud.journal();
    let new = &journal[before..];
    assert!(new.len() >= 3);
    for entry in new {
        assert!(
            !STS_ACTIONS.contains(&entry["action"].as_str().unwrap()),
            "{entry}"
        );
        assert_eq!(
            cloud.who(entry["access_key_id"].as_str().unwrap()),
            mode.signer,
            "{entry}"
        );
    }
    cloud.assert_nothing_leaks(&all_text(&[&shown_output, &plan, &apply]), secrets);
}

#[test]
fn rrsa_env() {
    run_shared_mode("RRSA env");
}

#[test]
fn profile_ak() {
    run_shared_mode("profile AK");
}

#[test]
fn profile_sts_token() {
    let cloud = Cloud::start();
    let (id, secret, token) = assume_directly(&cloud, DEPLOYER, "from-profile");
    let before = journal_len(&cloud);
    let mode = Mode {
        name: "profile StsToken",
        setup: Setup::default().profile(profiles(
            "sts",
            json!([{"name": "sts", "mode": "StsToken", "access_key_id": id,
                    "access_key_secret": secret, "sts_token": token}]),
        )),
        provider: "static_sts",
        signer: format!("{DEPLOYER}/from-profile"),
        sts: vec![],
    };
    check_mode_after(&cloud, &mode, before, &[&secret, &token]);
}

#[test]
fn profile_ram_role_arn() {
    run_shared_mode("profile RamRoleArn");
}

#[test]
fn profile_chainable_ram_role_arn() {
    run_shared_mode("profile ChainableRamRoleArn");
}

#[test]
fn profile_ecs_ram_role_with_the_metadata_endpoint_flag() {
    let cloud = Cloud::start();
    let mut mode = shared_modes(cloud.path())
        .into_iter()
        .find(|mode| mode.name == "profile EcsRamRole")
        .unwrap();
    mode.setup = mode.setup.flag(&["--metadata-endpoint", &cloud.emu.url]);
    check_mode(&cloud, &mode, &[]);
}

#[test]
fn profile_oidc() {
    run_shared_mode("profile OIDC");
}

#[test]
fn ecs_metadata_env() {
    run_shared_mode("ECS env");
}

#[test]
fn a_stack_role_is_assumed_on_top_of_the_chain() {
    let cloud = Cloud::start();
    write_manifest(
        cloud.path(),
        &MANIFEST.replace(
            "spec: {region: cn-hangzhou}",
            &format!(
                "spec:\n  region: cn-hangzhou\n  credentials: {{roleArn: \"{STACK_ROLE}\", sessionName: stack-ops}}"
            ),
        ),
    );
    let setup = Setup::default()
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", "testid")
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", TEST_SECRET);
    // Without -f, `credentials` shows the chain alone.
    let (shown, _) = credentials_json(&cloud, &setup);
    assert_eq!(shown["provider"], "static_ak");
    let mode = Mode {
        name: "stack role",
        setup: setup.clone(),
        provider: "ram_role_arn/static_ak",
        signer: format!("{STACK_ROLE}/stack-ops"),
        sts: vec![assume(STACK_ROLE, "stack-ops", "testid")],
    };
    // `credentials -f manifests` assumes the role as plan and apply do; the journal then
    // holds one fetch per run after the first `credentials`.
    let output = run(&mut cloud.kvsync(&setup, &["credentials", "--json", "-f", "manifests"]));
    assert_ok(&output, "credentials -f");
    let (stdout, _) = texts(&output);
    let shown: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(shown["provider"], mode.provider, "{shown}");
    assert!(shown["described"].as_str().unwrap().contains(STACK_ROLE));
    let plan = run(&mut cloud.kvsync(&setup, &["-v", "plan"]));
    assert_ok(&plan, "plan");
    let apply = run(&mut cloud.kvsync(&setup, &["-v", "apply", "--auto-approve"]));
    assert_ok(&apply, "apply");
    let journal = cloud.journal();
    let assumed: Vec<_> = journal
        .iter()
        .filter(|entry| entry["action"] == "AssumeRole")
        .collect();
    assert_eq!(assumed.len(), 3, "{journal:?}");
    for entry in &assumed {
        assert_eq!(entry["access_key_id"], "testid");
        assert_eq!(entry["parameters"]["RoleArn"], STACK_ROLE);
        assert_eq!(entry["parameters"]["RoleSessionName"], "stack-ops");
    }
    for entry in journal
        .iter()
        .filter(|e| !STS_ACTIONS.contains(&e["action"].as_str().unwrap()))
    {
        assert_eq!(
            cloud.who(entry["access_key_id"].as_str().unwrap()),
            mode.signer,
            "{entry}"
        );
    }
    cloud.assert_nothing_leaks(&all_text(&[&output, &plan, &apply]), &[]);
}

/// Runs `credentials` and `plan` with `setup`, each required to fail with exit 1 and a
/// message containing every one of `expect`; nothing reaches R-KVStore.
fn assert_refused(cloud: &Cloud, setup: &Setup, expect: &[&str]) {
    let mut outputs = Vec::new();
    for args in [&["credentials"][..], &["plan"]] {
        let output = run(&mut cloud.kvsync(setup, args));
        let (stdout, stderr) = texts(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}:\n{stdout}\n{stderr}"
        );
        for needle in expect {
            assert!(
                stderr.contains(needle),
                "{args:?}: {needle:?} not in:\n{stderr}"
            );
        }
        outputs.push(output);
    }
    let stats = cloud.emu.stats();
    let reached: Vec<&String> = stats
        .as_object()
        .map(|actions| {
            actions
                .keys()
                .filter(|a| !STS_ACTIONS.contains(&a.as_str()))
                .collect()
        })
        .unwrap_or_default();
    assert!(reached.is_empty(), "R-KVStore was called: {stats}");
    cloud.assert_nothing_leaks(&all_text(&outputs.iter().collect::<Vec<_>>()), &[]);
}

#[test]
fn a_cloud_sso_profile_is_refused() {
    let cloud = Cloud::start();
    let setup = Setup::default().profile(profiles(
        "sso",
        json!([{"name": "sso", "mode": "CloudSSO", "cloud_sso_sign_in_url": "https://signin"}]),
    ));
    assert_refused(&cloud, &setup, &["profile \"sso\"", "CloudSSO"]);
    assert_eq!(cloud.emu.total_requests(), 0);
}

#[test]
fn an_untrusted_role_is_refused_with_the_clouds_code() {
    let cloud = Cloud::start();
    let setup = Setup::default().profile(profiles(
        "locked",
        json!([{"name": "locked", "mode": "RamRoleArn", "access_key_id": "testid",
                "access_key_secret": TEST_SECRET, "ram_role_arn": LOCKED}]),
    ));
    assert_refused(
        &cloud,
        &setup,
        &[
            "ram_role_arn/static_ak",
            LOCKED,
            "NoPermission",
            "RequestId",
        ],
    );
    assert!(
        cloud.emu.count("AssumeRole", "NoPermission") >= 2,
        "{}",
        cloud.emu.stats()
    );
}

#[test]
fn an_unreadable_oidc_token_file_is_refused() {
    let cloud = Cloud::start();
    let missing = cloud.path().join("no-such-token");
    let setup = Setup::default()
        .env("ALIBABA_CLOUD_ROLE_ARN", POD)
        .env("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER)
        .env("ALIBABA_CLOUD_OIDC_TOKEN_FILE", missing.to_str().unwrap());
    assert_refused(
        &cloud,
        &setup,
        &[
            "oidc_role_arn",
            "OIDC token file",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(cloud.emu.total_requests(), 0);
}

#[test]
fn a_disabled_metadata_service_is_never_asked() {
    let cloud = Cloud::start();
    let setup = Setup::default()
        .env("ALIBABA_CLOUD_ECS_METADATA", ECS_ROLE_NAME)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .flag(&["--metadata-endpoint", &cloud.emu.url]);
    assert_refused(&cloud, &setup, &["no credentials found"]);
    assert_eq!(cloud.emu.total_requests(), 0);
}

/// The official SDK's provider names and kvsync's, mode by mode: the SDK prefixes the chain
/// (`default/`) and the CLI profile (`cli_profile/`), and calls keys from the environment
/// `env` whether or not a token comes with them.
const SDK_NAMES: &[(&str, &str, &str)] = &[
    // (mode, alibabacloud_credentials 1.0.12, kvsync)
    ("env AK", "default/env", "static_ak"),
    ("env STS", "default/env", "static_sts"),
    ("RRSA env", "default/oidc_role_arn", "oidc_role_arn"),
    ("profile AK", "default/cli_profile/static_ak", "static_ak"),
    (
        "profile StsToken",
        "default/cli_profile/static_sts",
        "static_sts",
    ),
    (
        "profile RamRoleArn",
        "default/cli_profile/ram_role_arn/static_ak",
        "ram_role_arn/static_ak",
    ),
    (
        "profile ChainableRamRoleArn",
        "default/cli_profile/ram_role_arn/ram_role_arn/static_ak",
        "ram_role_arn/ram_role_arn/static_ak",
    ),
    (
        "profile EcsRamRole",
        "default/cli_profile/ecs_ram_role",
        "ecs_ram_role",
    ),
    (
        "profile OIDC",
        "default/cli_profile/oidc_role_arn",
        "oidc_role_arn",
    ),
    ("ECS env", "default/ecs_ram_role", "ecs_ram_role"),
];

/// The STS calls in `entries`: action, RoleArn, RoleSessionName and who signed.
fn sts_calls(cloud: &Cloud, entries: &[Value]) -> Vec<(String, String, String, String)> {
    entries
        .iter()
        .filter(|entry| STS_ACTIONS.contains(&entry["action"].as_str().unwrap()))
        .map(|entry| {
            let key = entry["access_key_id"].as_str().unwrap_or_default();
            let param = |name: &str| {
                entry["parameters"][name]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                entry["action"].as_str().unwrap().to_owned(),
                param("RoleArn"),
                param("RoleSessionName"),
                if key.is_empty() {
                    String::new()
                } else {
                    cloud.who(key)
                },
            )
        })
        .collect()
}

/// Who holds the key whose last four characters `hint` shows: `testid`, a key the test
/// handed over, or the role and session of the one issued key that ends so.
fn who_of_hint(cloud: &Cloud, hint: &str, handed_over: Option<&str>) -> String {
    if hint == kvsync::api::credentials::key_hint("testid") {
        return "testid".into();
    }
    if let Some(id) = handed_over
        && hint == kvsync::api::credentials::key_hint(id)
    {
        return cloud.who(id);
    }
    let keys = cloud.issued_with_hint(hint);
    assert_eq!(keys.len(), 1, "{hint}: {keys:?}");
    cloud.who(&keys[0])
}

/// The official SDK's default chain, run by `tests/python/credentials_check.py` with the
/// same HOME and environment kvsync is given; its one JSON line.
fn sdk_credentials(python: &Path, cloud: &Cloud, setup: &Setup) -> Result<Value, String> {
    setup.write(cloud.path());
    let output = Command::new(python)
        .arg(crate::support::repo().join("tests/python/credentials_check.py"))
        .arg(&cloud.emu.url)
        .env_clear()
        .env("HOME", cloud.path())
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .current_dir(cloud.path())
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    cloud.assert_nothing_leaks(&stdout, &[]);
    if !output.status.success() {
        return Err(format!("{stdout}\n{stderr}"));
    }
    serde_json::from_str(stdout.trim()).map_err(|err| format!("{err}: {stdout}"))
}

/// For every mode, the official Python credentials SDK and `kvsync credentials` given the same
/// HOME, profile file and environment name the same provider (by [`SDK_NAMES`]) and end up
/// with credentials of the same role and session, fetched with the same STS calls.
///
/// Where kvsync deliberately differs, the difference is checked too: kvsync never asks the
/// metadata service unless told to (the SDK's chain ends with the ECS role and probes
/// 100.100.100.200, waiting out a timeout off ECS); kvsync speaks only IMDSv2 (the SDK falls
/// back to IMDSv1 unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`; the emulator serves only v2);
/// and a profile file whose current profile is missing is an error for kvsync unless an ECS
/// role is configured (the SDK passes on to the next provider). Session names are set in
/// every mode, since the defaults differ (`kvsync`; the SDK's `credentials-python-<time>`).
#[test]
fn the_official_python_credentials_sdk_agrees() {
    let python = match crate::python_sdk::python_with_sdks() {
        Ok(python) => python,
        Err(reason) => {
            eprintln!("SKIPPED the_official_python_credentials_sdk_agrees: {reason}");
            return;
        }
    };
    for (name, sdk_name, kvsync_name) in SDK_NAMES {
        let cloud = Cloud::start();
        let mut handed_over = None;
        let mode = match *name {
            "env STS" | "profile StsToken" => {
                let (id, secret, token) = assume_directly(&cloud, DEPLOYER, "handed-over");
                let setup = if *name == "env STS" {
                    Setup::default()
                        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", &id)
                        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", &secret)
                        .env("ALIBABA_CLOUD_SECURITY_TOKEN", &token)
                } else {
                    Setup::default().profile(profiles(
                        "sts",
                        json!([{"name": "sts", "mode": "StsToken", "access_key_id": id,
                                "access_key_secret": secret, "sts_token": token}]),
                    ))
                };
                handed_over = Some(id);
                Mode {
                    name,
                    setup,
                    provider: kvsync_name,
                    signer: format!("{DEPLOYER}/handed-over"),
                    sts: vec![],
                }
            }
            _ => shared_modes(cloud.path())
                .into_iter()
                .find(|mode| mode.name == *name)
                .unwrap(),
        };
        assert_eq!(mode.provider, *kvsync_name, "{name}");
        let setup = with_metadata(&cloud, mode.setup.clone());
        let before = cloud.journal().len();
        let sdk = sdk_credentials(&python, &cloud, &setup)
            .unwrap_or_else(|err| panic!("{name}: the SDK failed: {err}"));
        let middle = cloud.journal().len();
        let (shown, _) = credentials_json(&cloud, &setup);
        let journal = cloud.journal();

        assert_eq!(sdk["provider"], *sdk_name, "{name}: {sdk}");
        assert_eq!(shown["provider"], *kvsync_name, "{name}: {shown}");
        let sdk_who = who_of_hint(
            &cloud,
            sdk["key_hint"].as_str().unwrap(),
            handed_over.as_deref(),
        );
        let kvsync_who = who_of_hint(
            &cloud,
            shown["key_hint"].as_str().unwrap(),
            handed_over.as_deref(),
        );
        assert_eq!(sdk_who, mode.signer, "{name}: the SDK's credentials");
        assert_eq!(kvsync_who, mode.signer, "{name}: kvsync's credentials");
        assert_eq!(
            sdk["temporary"].as_bool(),
            Some(mode.signer != "testid"),
            "{name}: {sdk}"
        );
        let once: Vec<(String, String, String, String)> = mode
            .sts
            .iter()
            .map(|(a, r, s, w)| ((*a).to_owned(), r.clone(), s.clone(), w.clone()))
            .collect();
        assert_eq!(
            sts_calls(&cloud, &journal[before..middle]),
            once,
            "{name}: the SDK"
        );
        assert_eq!(
            sts_calls(&cloud, &journal[middle..]),
            once,
            "{name}: kvsync"
        );
    }

    // The differences. With nothing configured, the SDK probes the metadata service (here
    // the emulator's) and kvsync does not.
    let cloud = Cloud::start();
    let nothing = Setup::default();
    let sdk = sdk_credentials(&python, &cloud, &nothing).unwrap();
    assert_eq!(sdk["provider"], "default/ecs_ram_role", "{sdk}");
    let refused = run(&mut cloud.kvsync(&nothing, &["credentials"]));
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        texts(&refused).1.contains("no credentials found"),
        "{refused:?}"
    );

    // A current profile that is not in the file: the SDK passes on (to the probe), kvsync
    // refuses, unless an ECS role is configured.
    let missing = Setup::default().profile(profiles("gone", json!([ak_profile("other")])));
    let sdk = sdk_credentials(&python, &cloud, &missing).unwrap();
    assert_eq!(sdk["provider"], "default/ecs_ram_role", "{sdk}");
    let refused = run(&mut cloud.kvsync(&missing, &["credentials"]));
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        texts(&refused).1.contains("profile \"gone\" is not in"),
        "{refused:?}"
    );
    let with_ecs = with_metadata(
        &cloud,
        missing.env("ALIBABA_CLOUD_ECS_METADATA", ECS_ROLE_NAME),
    );
    let (shown, _) = credentials_json(&cloud, &with_ecs);
    assert_eq!(shown["provider"], "ecs_ram_role", "{shown}");
}
