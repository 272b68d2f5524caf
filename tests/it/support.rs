//! Helpers: run the real binary, start the real emulator as a process, read its counters.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use jiff::Timestamp;
use kvsync::api::sign;
use kvsync::emulator::{self, EmulatorConfig};
use serde_json::Value;

/// Environment variables that must not leak from the developer's shell into tests.
const SCRUBBED_ENV: &[&str] = &[
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALICLOUD_ACCESS_KEY",
    "ALICLOUD_SECRET_KEY",
    "ALICLOUD_SECURITY_TOKEN",
    "ALIBABA_CLOUD_PROFILE",
    "ALIBABA_CLOUD_REGION_ID",
    "ALICLOUD_REGION",
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    "ALIBABA_CLOUD_ROLE_SESSION_NAME",
    "ALIBABA_CLOUD_ECS_METADATA",
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED",
    "ALIBABA_CLOUD_STS_REGION",
    "ALIBABA_CLOUD_STS_ENDPOINT",
    "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED",
    "KVSYNC_METADATA_ENDPOINT",
    "KVSYNC_LOG",
    "RUST_LOG",
    "NO_COLOR",
];

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `kvsync` command in `dir`, with a clean environment and fast emulator transitions.
pub(crate) fn kvsync(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kvsync"));
    command.current_dir(dir);
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }
    command
        .env("HOME", dir)
        .env("KVSYNC_EMULATOR_CREATE_SECONDS", "0.5")
        .env("KVSYNC_EMULATOR_CHANGE_SECONDS", "0.2")
        .env("KVSYNC_NO_RETRY_DELAY", "1");
    command
}

/// Runs a command and returns its output.
pub(crate) fn run(command: &mut Command) -> Output {
    command.output().expect("running kvsync")
}

/// Stdout and stderr as text.
pub(crate) fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temporary directory holding a copy of the sample `manifests/`.
pub(crate) fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("manifests"), &dir.path().join("manifests"));
    dir
}

/// `kvsync emulator` running as a separate process; killed on drop.
pub(crate) struct EmulatorProcess {
    child: Child,
    /// Its base URL.
    pub url: String,
    /// Where its stderr goes, when kept.
    stderr_file: Option<PathBuf>,
}

impl EmulatorProcess {
    /// Starts `kvsync emulator` on a free port with state in `dir`, plus `extra` flags.
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(dir, extra, None)
    }

    /// Like [`start`](Self::start), keeping the emulator's stderr (its log) in
    /// `dir/emulator-stderr.log`; read it with [`stderr`](Self::stderr).
    pub(crate) fn start_logged(dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(dir, extra, Some(dir.join("emulator-stderr.log")))
    }

    fn spawn(dir: &Path, extra: &[&str], stderr_file: Option<PathBuf>) -> Self {
        let state = dir.join("emulator-state.json");
        let stderr = match &stderr_file {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("creating the log")),
            None => Stdio::null(),
        };
        // Fast transitions unless the test sets its own.
        let mut defaults = Vec::new();
        for (flag, value) in [("--create-seconds", "0.5"), ("--change-seconds", "0.2")] {
            if !extra.contains(&flag) {
                defaults.extend([flag, value]);
            }
        }
        if !extra.contains(&"--listen") {
            defaults.extend(["--listen", "127.0.0.1:0"]);
        }
        let mut child = kvsync(dir)
            .args(["emulator", "--state"])
            .arg(&state)
            .args(&defaults)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting the emulator");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected emulator banner {line:?}"))
            .to_owned();
        EmulatorProcess {
            child,
            url,
            stderr_file,
        }
    }

    /// Everything the emulator wrote to stderr so far (started with
    /// [`start_logged`](Self::start_logged)).
    pub(crate) fn stderr(&self) -> String {
        let path = self
            .stderr_file
            .as_ref()
            .expect("the emulator was started without keeping its stderr");
        std::fs::read_to_string(path).expect("reading the emulator's stderr")
    }

    /// A `kvsync` command aimed at this emulator with its default key pair.
    pub(crate) fn kvsync(&self, dir: &Path) -> Command {
        kvsync_at(dir, &self.url)
    }

    /// The emulator's per-action request counters.
    pub(crate) fn stats(&self) -> Value {
        http_get_json(&format!("{}/_emulator/stats", self.url))["requests"].clone()
    }

    /// How many requests of `action` ended in `outcome`.
    pub(crate) fn count(&self, action: &str, outcome: &str) -> u64 {
        self.stats()[action][outcome].as_u64().unwrap_or(0)
    }

    /// Every request the emulator received.
    pub(crate) fn total_requests(&self) -> u64 {
        let stats = self.stats();
        stats
            .as_object()
            .map(|actions| {
                actions
                    .values()
                    .flat_map(|outcomes| outcomes.as_object().unwrap().values())
                    .map(|n| n.as_u64().unwrap())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The instances the emulator holds (its own view, not kvsync's).
    pub(crate) fn instances(&self) -> Vec<Value> {
        instances_at(&self.url)
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kvsync` command in `dir` aimed at the emulator at `url` with its default key pair.
/// A blocking HTTP client builder whose `build()` finds kvsync's TLS provider.
pub(crate) fn blocking_http() -> reqwest::blocking::ClientBuilder {
    kvsync::api::tls::install_crypto_provider();
    reqwest::blocking::Client::builder()
}

/// Everything the emulator has written of its state at `snapshot`: the snapshot and the
/// log of changes beside it, as raw text (for checking what reaches the disk).
pub(crate) fn emulator_state_text(snapshot: &Path) -> String {
    let log = kvsync::emulator::store::log_path(snapshot);
    [snapshot, log.as_path()]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The emulator's state at `snapshot` as it would load (snapshot and log), as JSON.
pub(crate) fn emulator_state_json(snapshot: &Path) -> Value {
    let state = kvsync::emulator::store::load(snapshot).expect("reading the emulator's state");
    serde_json::to_value(state).expect("state as JSON")
}

pub(crate) fn kvsync_at(dir: &Path, url: &str) -> Command {
    let mut command = kvsync(dir);
    command.args([
        "--endpoint",
        url,
        "--access-key-id",
        "testid",
        "--access-key-secret",
        "testsecret",
    ]);
    command
}

/// The instances the emulator at `url` holds (its own view, not kvsync's).
pub(crate) fn instances_at(url: &str) -> Vec<Value> {
    http_get_json(&format!("{url}/_emulator/instances"))["Instances"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// How long a GET of the helpers below may take in all.
const GET_TIMEOUT: Duration = Duration::from_secs(30);

/// The blocking client of the helpers below. It keeps no idle connections, so a server that
/// closes idle connections (the daemon does) never meets a reused one.
fn blocking_client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        blocking_http()
            .timeout(GET_TIMEOUT)
            .pool_max_idle_per_host(0)
            .build()
            .expect("building the HTTP client")
    })
}

/// An HTTP GET on loopback: the status code and the body.
///
/// The request is made on a thread of its own: reqwest's blocking client refuses to run on a
/// thread inside a Tokio runtime, and async tests call this too.
pub(crate) fn http_get(url: &str) -> (u16, String) {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let response = blocking_client()
                    .get(url)
                    .send()
                    .unwrap_or_else(|err| panic!("GET {url}: {err}"));
                let status = response.status().as_u16();
                let body = response
                    .text()
                    .unwrap_or_else(|err| panic!("GET {url}: reading the body: {err}"));
                (status, body)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// An HTTP GET on loopback, returning the JSON body.
pub(crate) fn http_get_json(url: &str) -> Value {
    let (_, body) = http_get(url);
    serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

/// A hand-built, signed request.
pub(crate) struct Request {
    /// Every parameter but `Signature`.
    pub params: BTreeMap<String, String>,
}

impl Request {
    /// A request for `action` with the protocol parameters set (key `testid`).
    pub(crate) fn new(action: &str) -> Self {
        let mut params = BTreeMap::new();
        for (k, v) in [
            ("Action", action),
            ("Version", "2015-01-01"),
            ("Format", "JSON"),
            ("AccessKeyId", "testid"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
        ] {
            params.insert(k.to_owned(), v.to_owned());
        }
        params.insert(
            "SignatureNonce".into(),
            uuid::Uuid::new_v4().simple().to_string(),
        );
        params.insert(
            "Timestamp".into(),
            Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        Request { params }
    }

    /// Adds or replaces a parameter.
    pub(crate) fn param(mut self, key: &str, value: &str) -> Self {
        self.params.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The query string, signed with `secret` for `method`.
    pub(crate) fn signed_query(&self, method: &str, secret: &str) -> String {
        let signature = sign::signature(method, &self.params, secret);
        let mut all = self.params.clone();
        all.insert("Signature".into(), signature);
        all.iter()
            .map(|(k, v)| format!("{}={}", sign::percent_encode(k), sign::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Sends a query with GET or POST; returns the status and the JSON body.
pub(crate) async fn send(url: &str, method: &str, query: &str) -> (u16, Value) {
    let client = kvsync::api::tls::http_client().build().unwrap();
    let full = format!("{url}/?{query}");
    let response = match method {
        "GET" => client.get(full).send().await.unwrap(),
        _ => client.post(full).send().await.unwrap(),
    };
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Starts an in-process emulator with default settings.
pub(crate) async fn start() -> emulator::RunningEmulator {
    emulator::start("127.0.0.1:0", EmulatorConfig::default())
        .await
        .unwrap()
}

/// Sends a signed POST (key `testid`/`testsecret`) and returns the status and JSON body.
pub(crate) async fn call(url: &str, request: Request) -> (u16, Value) {
    send(url, "POST", &request.signed_query("POST", "testsecret")).await
}

/// Creates an instance and waits until it is `Normal`; returns its ID.
pub(crate) async fn create_normal_instance(url: &str, region: &str, name: &str) -> String {
    let (status, body) = call(
        url,
        Request::new("CreateInstance")
            .param("RegionId", region)
            .param("InstanceName", name)
            .param("InstanceClass", "redis.master.small.default"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["InstanceId"].as_str().unwrap().to_owned();
    wait_normal(url, &id).await;
    id
}

/// Polls `DescribeInstanceAttribute` until the instance is `Normal` (at most 10 s).
pub(crate) async fn wait_normal(url: &str, id: &str) {
    for _ in 0..100 {
        let (_, body) = call(
            url,
            Request::new("DescribeInstanceAttribute").param("InstanceId", id),
        )
        .await;
        if body["Instances"]["DBInstanceAttribute"][0]["InstanceStatus"] == "Normal" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("instance {id} did not become Normal");
}

/// Starts an in-process emulator whose transitions take `seconds`.
pub(crate) async fn start_with_durations(seconds: f64) -> emulator::RunningEmulator {
    let duration = jiff::SignedDuration::from_secs_f64(seconds);
    let config = EmulatorConfig {
        durations: kvsync::emulator::state::Durations {
            create: duration,
            change: duration,
            token_memory: None,
            backup: duration,
        },
        ..EmulatorConfig::default()
    };
    emulator::start("127.0.0.1:0", config).await.unwrap()
}

/// A window of one hour starting `hours` whole hours after the current one (UTC), e.g.
/// `("15:00Z", "16:00Z")`: well away from now, so a test is outside it until it moves the
/// emulator's clock.
pub(crate) fn window_in(hours: i64) -> (String, String) {
    let hour = (Timestamp::now().as_second().div_euclid(3600) + hours).rem_euclid(24);
    (
        format!("{hour:02}:00Z"),
        format!("{:02}:00Z", (hour + 1) % 24),
    )
}

/// A blocking POST on a thread of its own; the JSON answer.
pub(crate) fn post_json(url: &str) -> Value {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let response = blocking_http().build().unwrap().post(&url).send().unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.json().unwrap()
    })
    .join()
    .unwrap()
}

/// Moves the emulator's clock to `late` seconds after `start` (`HH:00Z`) next comes.
pub(crate) fn advance_into_window(emulator: &EmulatorProcess, start: &str, late: i64) {
    let clock = http_get_json(&format!("{}/_emulator/clock", emulator.url));
    let now: Timestamp = clock["now"].as_str().unwrap().parse().unwrap();
    let hour: i64 = start[..2].parse().unwrap();
    let second = now.as_second();
    let mut opens = second - second.rem_euclid(86_400) + hour * 3600;
    if opens <= second {
        opens += 86_400;
    }
    let advance = opens - second + late;
    post_json(&format!(
        "{}/_emulator/clock?advance={advance}",
        emulator.url
    ));
}

/// Writes `text` as the only manifest file, `manifests/stack.yaml`, under `dir`.
pub(crate) fn write_manifest(dir: &Path, text: &str) {
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/stack.yaml"), text).unwrap();
}

/// Sends a signed request and requires success; returns the JSON body.
pub(crate) async fn call_ok(url: &str, request: Request) -> Value {
    let (status, body) = call(url, request).await;
    assert_eq!(status, 200, "{body}");
    body
}
