//! Benchmark: high availability with etcd coordination, measured against a real etcd (a single
//! member: enough to time leases, not a test of quorum) and the embedded emulator, both started
//! here on free 127.0.0.1 ports and killed at the end (or on a panic, by drop guards).
//!
//! 1. Takeover after SIGKILL: per trial, replica A holds the only shard of a fresh one-instance
//!    stack, replica B is registered and idle; A is killed with SIGKILL (at a point of its
//!    renewal period that moves from trial to trial) and B's `/status` is
//!    polled every 20 ms until B holds the shard. Prints each trial, the median, max and min,
//!    their ratios to the TTL, and whether the max is within `TTL + TTL/3` (a lease ends at most
//!    TTL after its last renewal, and renewals come every TTL/3).
//! 2. Cost of coordination: the same N-instance apply (`kvsync apply --auto-approve
//!    --parallelism 64`) against a fresh emulator, with `--coordination local` and with
//!    `--coordination etcd://…`: wall time, cloud API calls, write calls and etcd requests
//!    (deltas of etcd's own `/metrics`), the median of several runs each.
//!
//! Not a test: run it with `cargo bench --bench ha`
//! (`-- TRIALS TTL_SECS N QPS RUNS` to change the defaults 20, 5, 200, 20, 3; QPS is the
//! client's `--qps`, 20 being kvsync's own default).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `index`-th positional argument (1-based, flags skipped), else `default`.
fn arg(index: usize, default: f64) -> f64 {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Environment that would change what kvsync signs with or logs.
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
    "KVSYNC_LOG",
    "RUST_LOG",
];

/// A `kvsync` command run in `dir` (also its HOME), with a clean environment.
fn kvsync(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kvsync"));
    command.current_dir(dir).env("HOME", dir);
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }
    command
}

/// A blocking HTTP client that keeps no idle connections (the daemon closes idle ones).
fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        {
            kvsync::api::tls::install_crypto_provider();
            reqwest::blocking::Client::builder()
        }
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(0)
        .build()
        .expect("build the HTTP client")
    })
}

fn get_text(url: &str) -> Option<String> {
    client().get(url).send().ok()?.text().ok()
}

fn get_json(url: &str) -> Value {
    let text = get_text(url).unwrap_or_else(|| panic!("GET {url}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON of {url}: {e}: {text}"))
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `check` every `every` until it holds; panics with `what` after `timeout`.
fn wait_until(what: &str, timeout: Duration, every: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(every);
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
struct Guard {
    child: Child,
}

impl Guard {
    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("a pid fits i32")
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own, not yet reaped child has no memory effects.
        let result = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(result, 0, "kill({}, {signal})", self.pid());
    }

    /// SIGTERM, then waits up to `timeout` for the exit (SIGKILL after it).
    fn stop(&mut self, timeout: Duration) {
        self.signal(libc::SIGTERM);
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!(
            "pid {} ignored SIGTERM for {timeout:?}; killing it",
            self.pid()
        );
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the first stdout line of `child` (its banner) and drains the rest on a thread, so a
/// chatty child never blocks on a full pipe. Returns the first `http://` word of the banner.
fn banner_url(child: &mut Child, what: &str) -> String {
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut banner = String::new();
    stdout.read_line(&mut banner).expect("read the banner");
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stdout.read_to_end(&mut sink);
    });
    banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected {what} banner {banner:?}"))
        .to_owned()
}

/// A single etcd member with its data in a temp dir.
struct Etcd {
    _guard: Guard,
    _data: tempfile::TempDir,
    port: u16,
}

impl Etcd {
    fn start() -> Etcd {
        let data = tempfile::tempdir().expect("etcd temp dir");
        let (port, peer) = (free_port(), free_port());
        let client_url = format!("http://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let binary = if Path::new("/usr/bin/etcd").exists() {
            "/usr/bin/etcd"
        } else {
            "etcd"
        };
        let child = Command::new(binary)
            .arg("--data-dir")
            .arg(data.path().join("member"))
            .args(["--name", "default"])
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("default={peer_url}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd (on Debian: apt-get install -y etcd-server)");
        let etcd = Etcd {
            _guard: Guard { child },
            _data: data,
            port,
        };
        wait_until(
            "etcd to be healthy",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || {
                get_text(&format!("{}/health", etcd.endpoint()))
                    .is_some_and(|body| body.contains("\"health\":\"true\""))
            },
        );
        etcd
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn flag(&self) -> String {
        format!("etcd://127.0.0.1:{}", self.port)
    }

    /// The sum of every sample of each metric family in `names`, from etcd's `/metrics`.
    fn metrics(&self, names: &[&str]) -> Vec<f64> {
        let text = get_text(&format!("{}/metrics", self.endpoint())).expect("GET etcd /metrics");
        names
            .iter()
            .map(|name| {
                text.lines()
                    .filter(|line| {
                        line.strip_prefix(name)
                            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                    })
                    .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum()
            })
            .collect()
    }
}

/// `kvsync emulator` with its state in `dir`.
struct Emulator {
    _guard: Guard,
    url: String,
}

impl Emulator {
    fn start(dir: &Path, extra: &[String]) -> Emulator {
        let mut child = kvsync(dir)
            .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
            .arg(dir.join("emulator-state.json"))
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let url = banner_url(&mut child, "emulator");
        Emulator {
            _guard: Guard { child },
            url,
        }
    }

    /// Whether the emulator holds an instance named `name` in status Normal.
    fn is_normal(&self, name: &str) -> bool {
        get_json(&format!("{}/_emulator/instances", self.url))["Instances"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["InstanceName"] == name && i["InstanceStatus"] == "Normal")
    }

    /// (all requests, write requests) from `/_emulator/stats`; a write is any action but
    /// `Describe…` and `List…`.
    fn calls(&self) -> (u64, u64) {
        let stats = get_json(&format!("{}/_emulator/stats", self.url))["requests"].clone();
        let (mut all, mut writes) = (0, 0);
        for (action, outcomes) in stats.as_object().into_iter().flatten() {
            let count: u64 = outcomes
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, n)| n.as_u64())
                .sum();
            all += count;
            if !action.starts_with("Describe") && !action.starts_with("List") {
                writes += count;
            }
        }
        (all, writes)
    }
}

fn key_id(name: &str) -> String {
    format!("LTAI-{name}")
}

fn key_secret(name: &str) -> String {
    format!("secret-of-{name}")
}

/// One daemon replica in a checkout of its own.
struct Replica {
    guard: Guard,
    url: String,
    dir: tempfile::TempDir,
}

impl Replica {
    fn start(name: &str, manifest: &str, emulator: &Emulator, etcd: &Etcd, ttl: u64) -> Replica {
        let dir = tempfile::tempdir().expect("replica temp dir");
        std::fs::create_dir(dir.path().join("manifests")).expect("mkdir manifests");
        std::fs::write(dir.path().join("manifests/stack.yaml"), manifest).expect("manifest");
        let log = std::fs::File::create(dir.path().join("daemon.log")).expect("daemon log");
        let mut child = kvsync(dir.path())
            .args(["--endpoint", &emulator.url])
            .args(["--access-key-id", &key_id(name)])
            .args(["--access-key-secret", &key_secret(name)])
            .args(["daemon", "--listen", "127.0.0.1:0", "--debounce", "300ms"])
            .args(["--mode", "apply", "--interval", "1h"])
            .args(["--coordination", &etcd.flag(), "--replica", name])
            .args(["--coordination-ttl", &format!("{ttl}s")])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start the daemon");
        let url = banner_url(&mut child, "daemon");
        Replica {
            guard: Guard { child },
            url,
            dir,
        }
    }

    /// `/status`'s `coordination` object (Null if the daemon does not answer).
    fn coordination(&self) -> Value {
        get_text(&format!("{}/status", self.url))
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .map_or(Value::Null, |status| status["coordination"].clone())
    }

    fn held(&self) -> usize {
        self.coordination()["shards_held"]
            .as_array()
            .map_or(0, Vec::len)
    }

    fn replicas(&self) -> Vec<String> {
        self.coordination()["replicas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }
}

fn stack_manifest(stack: &str, instances: &[String]) -> String {
    let mut text = format!(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {{name: {stack}}}\nspec: {{region: cn-hangzhou}}\n"
    );
    for name in instances {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {name}, region: cn-hangzhou}}\n\
             spec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n"
        ));
    }
    text
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// One takeover trial; returns the time from A's SIGKILL until B reports the shard held.
fn takeover_trial(k: usize, emulator: &Emulator, etcd: &Etcd, ttl: u64) -> Duration {
    let setup = Duration::from_secs(60);
    let every = Duration::from_millis(50);
    let instance = format!("take{k}-0");
    let manifest = stack_manifest(&format!("take{k}"), std::slice::from_ref(&instance));
    let (a_name, b_name) = (format!("a{k}"), format!("b{k}"));

    let a = Replica::start(&a_name, &manifest, emulator, etcd, ttl);
    wait_until(&format!("{a_name} to hold the shard"), setup, every, || {
        a.held() == 1
    });
    wait_until(&format!("{instance} to be Normal"), setup, every, || {
        emulator.is_normal(&instance)
    });
    // No replica of an earlier trial is still registered.
    wait_until(&format!("{a_name} to be alone"), setup, every, || {
        a.replicas() == [a_name.clone()]
    });

    let mut b = Replica::start(&b_name, &manifest, emulator, etcd, ttl);
    wait_until(&format!("{b_name} to register"), setup, every, || {
        b.replicas().len() == 2
    });
    assert_eq!(b.held(), 0, "{b_name} holds a shard before the kill");

    // Spread the kills over a renewal period (renewals come every TTL/3): trial k waits
    // (k mod 10) tenths of it, so the trials sample every point of the period, from a kill
    // right after a renewal (the longest takeover) to one just before the next.
    let period = Duration::from_secs(ttl) / 3;
    std::thread::sleep(period * (k % 10) as u32 / 10);
    a.guard.signal(libc::SIGKILL);
    let killed = Instant::now();
    let limit = Duration::from_secs(ttl * 4 + 30);
    wait_until(
        &format!("{b_name} to take over (log: {})", b.log_path().display()),
        limit,
        Duration::from_millis(20),
        || b.held() == 1,
    );
    let takeover = killed.elapsed();
    drop(a);
    // A graceful stop revokes B's lease, so the next trial starts with no replica registered.
    b.guard.stop(Duration::from_secs(10));
    takeover
}

fn measure_takeover(trials: usize, ttl: u64) {
    let etcd = Etcd::start();
    let root = tempfile::tempdir().expect("temp dir");
    let mut flags = vec!["--create-seconds".to_owned(), "0.5".to_owned()];
    for k in 0..trials {
        for name in [format!("a{k}"), format!("b{k}")] {
            flags.extend([
                "--key".to_owned(),
                format!("{}:{}", key_id(&name), key_secret(&name)),
            ]);
        }
    }
    let emulator = Emulator::start(root.path(), &flags);

    println!(
        "1. takeover after SIGKILL: {trials} trials, TTL {ttl}s, one etcd member \
         (single-member etcd: lease timing only, no quorum), daemons --interval 1h, poll 20 ms"
    );
    let mut times = Vec::new();
    for k in 0..trials {
        let takeover = takeover_trial(k, &emulator, &etcd, ttl).as_secs_f64();
        println!("  trial {k:2}  {takeover:.3} s");
        times.push(takeover);
    }
    let ttl_f = ttl as f64;
    let (med, max, min) = (
        median(&times),
        times.iter().copied().fold(f64::MIN, f64::max),
        times.iter().copied().fold(f64::MAX, f64::min),
    );
    let bound = ttl_f + ttl_f / 3.0;
    println!("  median     {med:.3} s  (median/TTL {:.2})", med / ttl_f);
    println!("  max        {max:.3} s  (max/TTL {:.2})", max / ttl_f);
    println!("  min        {min:.3} s");
    println!(
        "  bound      TTL + TTL/3 = {bound:.3} s: max {}",
        if max <= bound {
            "within it"
        } else {
            "EXCEEDS it"
        }
    );
}

/// The etcd metric families summed for "etcd requests", in print order.
const ETCD_METRICS: [&str; 6] = [
    "grpc_server_handled_total",
    "grpc_server_msg_received_total",
    "etcd_mvcc_range_total",
    "etcd_mvcc_txn_total",
    "etcd_mvcc_put_total",
    "etcd_mvcc_delete_total",
];

/// One apply run's figures.
struct ApplyRun {
    exit: i32,
    wall: f64,
    calls: u64,
    writes: u64,
    etcd: Vec<f64>,
}

fn apply_run(n: usize, qps: f64, coordination: Option<&Etcd>, etcd: &Etcd) -> ApplyRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let names: Vec<String> = (0..n).map(|i| format!("bench-{i:04}")).collect();
    std::fs::write(
        dir.path().join("bench.yaml"),
        stack_manifest("bench", &names),
    )
    .expect("write manifests");
    let flags = ["--create-seconds", "1", "--latency-ms", "10"].map(str::to_owned);
    let emulator = Emulator::start(dir.path(), &flags);

    let mut command = kvsync(dir.path());
    command
        .args(["--endpoint", &emulator.url])
        .args([
            "--access-key-id",
            "testid",
            "--access-key-secret",
            "testsecret",
        ])
        .args(["--qps", &qps.to_string()])
        .args(["apply", "--auto-approve", "-f", "bench.yaml"])
        .args(["--parallelism", "64", "--lock-dir"])
        .arg(dir.path().join("locks"));
    if let Some(etcd) = coordination {
        command.args(["--coordination", &etcd.flag()]);
    }
    let before = etcd.metrics(&ETCD_METRICS);
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run kvsync apply");
    let wall = started.elapsed().as_secs_f64();
    let after = etcd.metrics(&ETCD_METRICS);
    let (calls, writes) = emulator.calls();
    ApplyRun {
        exit: status.code().unwrap_or(-1),
        wall,
        calls,
        writes,
        etcd: after.iter().zip(&before).map(|(a, b)| a - b).collect(),
    }
}

/// Runs one variant `runs` times, prints each run and returns (median wall, median calls).
fn apply_variant(
    label: &str,
    runs: usize,
    n: usize,
    qps: f64,
    etcd: &Etcd,
    with: bool,
) -> (f64, f64) {
    let mut walls = Vec::new();
    let mut calls = Vec::new();
    println!("  {label}:");
    for run in 0..runs {
        let r = apply_run(n, qps, with.then_some(etcd), etcd);
        let deltas: Vec<String> = ETCD_METRICS
            .iter()
            .zip(&r.etcd)
            .map(|(name, delta)| format!("{name} +{delta}"))
            .collect();
        println!(
            "    run {run}: exit {} wall {:.2} s, API calls {} ({:.2}/instance), writes {}",
            r.exit,
            r.wall,
            r.calls,
            r.calls as f64 / n as f64,
            r.writes
        );
        println!("      etcd: {}", deltas.join(", "));
        walls.push(r.wall);
        calls.push(r.calls as f64);
    }
    let (wall, call) = (median(&walls), median(&calls));
    println!("    median: wall {wall:.2} s, API calls {call}");
    (wall, call)
}

fn measure_apply_cost(n: usize, qps: f64, runs: usize) {
    let etcd = Etcd::start();
    println!(
        "2. cost of coordination: apply of {n} instances (--parallelism 64, client --qps {qps}), \
         emulator --create-seconds 1 --latency-ms 10, fresh emulator per run, {runs} runs each, \
         one etcd member; etcd figures are deltas of etcd's /metrics around the run"
    );
    let (wall_local, calls_local) =
        apply_variant("--coordination local", runs, n, qps, &etcd, false);
    let (wall_etcd, calls_etcd) = apply_variant("--coordination etcd", runs, n, qps, &etcd, true);
    println!(
        "  ratio etcd/local: wall {:.3}, API calls {:.3}",
        wall_etcd / wall_local,
        calls_etcd / calls_local
    );
}

fn main() {
    let trials = arg(1, 20.0) as usize;
    let ttl = arg(2, 5.0) as u64;
    let n = arg(3, 200.0) as usize;
    let qps = arg(4, 20.0);
    let runs = arg(5, 3.0) as usize;
    measure_takeover(trials, ttl);
    measure_apply_cost(n, qps, runs);
}
