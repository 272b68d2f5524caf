//! Benchmark: `kvsync plan` with no changes over a fleet of N instances, against the emulator
//! with 20 ms latency and a QPS cap of 200, side by side with a baseline that reads every
//! instance the way Terraform's alicloud provider does.
//!
//! Not a test: `cargo bench --bench fleet [-- N...]` (default N = 100, 1,000 and 10,000). The
//! emulator's state is built in-process with `State::handle`, the password digest tags with
//! `secrets::digest::digest` and `secrets::digest::encode_tags` as `apply` records them (under a second for
//! 1,000 instances); `--seed-apply` seeds by running `kvsync apply` against a fast emulator
//! instead, timing that apply against an emulator in memory and against one with `--state` (the
//! same end state, slower). Either way the plan must come out empty. `--keep` keeps each
//! run's directory (manifests, emulator state, plan output) for a closer look.
//!
//! Per N it seeds the emulator with N managed instances, each with whitelists, two accounts
//! with passwords (and kvsync's password digest tags), a backup policy and parameters, writes
//! manifests that manage exactly that (class, engine version, zone, whitelists, accounts,
//! backup policy, config), restarts the emulator on that state with `--latency-ms 20 --qps 200`
//! and measures:
//!
//! * `kvsync --qps 200 plan --detailed-exitcode` (must exit 0: no changes): API calls per
//!   instance and by action (the emulator's counters before and after), throttled calls
//!   (`Throttling.User`), wall time, the child's peak RSS (`ru_maxrss` from `wait4`, the
//!   kernel's high-water mark for the whole life of the process), and the ratio of wall time
//!   to the lower bound `calls / qps`;
//! * the baseline, in this process through `kvsync::api::Client` (same key pair, qps 200, the
//!   default retry policy): the listing pages, then per instance sequentially
//!   `DescribeInstanceAttribute`, `DescribeSecurityIps`, `DescribeBackupPolicy`,
//!   `DescribeInstanceConfig`, `DescribeAccounts`, `DescribeDBInstanceNetInfo`,
//!   `DescribeInstanceSSL`, 10 instances at a time (Terraform's default `-parallelism`);
//! * kvsync's speed-up: baseline wall time / kvsync wall time, in the same run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "support/rss.rs"]
mod rss;

use jiff::{SignedDuration, Timestamp};
use kvsync::api::actions::account::{DescribeAccounts, ROLE_READ_ONLY, ROLE_READ_WRITE};
use kvsync::api::actions::backup::DescribeBackupPolicy;
use kvsync::api::actions::config::DescribeInstanceConfig;
use kvsync::api::actions::instance::DescribeInstanceAttribute;
use kvsync::api::actions::manage::DescribeDbInstanceNetInfo;
use kvsync::api::actions::security::{DescribeInstanceSsl, DescribeSecurityIps};
use kvsync::api::retry::RetryPolicy;
use kvsync::api::{Action, Client, ClientConfig, Credentials, Endpoint};
use kvsync::emulator::state::{Context, Durations, State};
use kvsync::emulator::store;
use kvsync::secrets::Secret;
use kvsync::secrets::digest::{self as passwords, Owner};

const REGION: &str = "cn-hangzhou";
const ZONE: &str = "cn-hangzhou-h";
const CLASS: &str = "redis.master.small.default";
const ENGINE: &str = "5.0";
const STACK: &str = "fleet";
const QPS: f64 = 200.0;
const LATENCY_MS: u64 = 20;
/// Instances the baseline reads at once (Terraform's default `-parallelism`).
const BASELINE_PARALLELISM: usize = 10;
/// Instances per `DescribeInstances` page.
const PAGE_SIZE: usize = 50;
const KEY_ID: &str = "testid";
const KEY_SECRET: &str = "testsecret";

/// The accounts of every instance: name, privilege, the variable holding its password, the
/// password itself.
const ACCOUNTS: [(&str, &str, &str, &str); 2] = [
    (
        "app_rw",
        ROLE_READ_WRITE,
        "FLEET_APP_RW_PASSWORD",
        "Fleet-Rw-2024",
    ),
    (
        "app_ro",
        ROLE_READ_ONLY,
        "FLEET_APP_RO_PASSWORD",
        "Fleet-Ro-2024",
    ),
];
const APP_IPS: [&str; 2] = ["10.0.1.0/24", "10.0.2.15"];
const BACKUP_TIME: &str = "02:00Z-03:00Z";
const BACKUP_PERIOD: &str = "Monday,Wednesday,Friday";
const CONFIG: [(&str, &str); 2] = [
    ("maxmemory-policy", "allkeys-lru"),
    ("notify-keyspace-events", "Ex"),
];

// Targets at every N, and the ones set for N = 10,000.
const TARGET_CALLS_PER_INSTANCE: f64 = 4.02;
/// Wall time over `calls / qps` at N = 10,000 (smaller fleets pay the start-up more).
const TARGET_RATIO: f64 = 1.05;
/// Peak RSS at N = 10,000.
const TARGET_RSS_BYTES: u64 = 250 << 20;
/// The N the wall-time and memory targets are set for.
const TARGET_N: usize = 10_000;
/// Seeding through `kvsync apply` against an emulator with `--state`, against one in memory.
const TARGET_SEED_RATIO: f64 = 2.0;

fn name(index: usize) -> String {
    format!("fleet-{index:04}")
}

/// Instances per manifest file: a file of 10,000 would pass the 4 MiB kvsync reads from one.
const INSTANCES_PER_FILE: usize = 1000;
/// The directory of manifests, relative to the run's directory.
const MANIFESTS: &str = "fleet";

/// Writes the manifests: `fleet/stack.yaml` and the instances in files of
/// [`INSTANCES_PER_FILE`].
fn write_manifests(dir: &Path, n: usize) {
    let manifests = dir.join(MANIFESTS);
    std::fs::create_dir_all(&manifests).expect("manifest directory");
    std::fs::write(
        manifests.join("stack.yaml"),
        format!(
            "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {{name: {STACK}}}\nspec: {{region: {REGION}}}\n"
        ),
    )
    .expect("write the Stack document");
    let mut text = String::new();
    let config: String = CONFIG
        .iter()
        .map(|(key, value)| format!("    {key}: {value}\n"))
        .collect();
    let accounts: String = ACCOUNTS
        .iter()
        .map(|(account, privilege, env, _)| {
            format!(
                "    - name: {account}\n      privilege: {privilege}\n      password: {{env: {env}}}\n"
            )
        })
        .collect();
    let period = BACKUP_PERIOD.replace(',', ", ");
    for i in 0..n {
        if i > 0 && i % INSTANCES_PER_FILE == 0 {
            let file = manifests.join(format!("instances-{:02}.yaml", i / INSTANCES_PER_FILE - 1));
            std::fs::write(file, std::mem::take(&mut text)).expect("write manifests");
        }
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {}}}\nspec:\n  \
             instanceClass: {CLASS}\n  engineVersion: \"{ENGINE}\"\n  zoneId: {ZONE}\n  \
             whitelists:\n    default: [127.0.0.1]\n    app: [{}]\n  accounts:\n{accounts}  \
             backupPolicy: {{time: \"{BACKUP_TIME}\", period: [{period}]}}\n  config:\n{config}",
            name(i),
            APP_IPS.join(", "),
        ));
    }
    if !text.is_empty() {
        let file = manifests.join(format!(
            "instances-{:02}.yaml",
            (n - 1) / INSTANCES_PER_FILE
        ));
        std::fs::write(file, text).expect("write manifests");
    }
}

/// One request against the in-process state; panics on a refusal (the seed is fixed).
fn handle(
    state: &mut State,
    ctx: &Context,
    action: &str,
    params: &[(&str, &str)],
) -> serde_json::Value {
    let wire: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match state.handle(action, &wire, ctx) {
        Ok(handled) => handled.body,
        Err(err) => panic!("seeding: {action} refused: {} {}", err.code, err.message),
    }
}

/// Builds the emulator's state in-process, as `kvsync apply` of the manifests leaves it:
/// ownership tags and password digest tags, whitelists, accounts, backup policy, parameters.
fn seed_in_process(state_file: &Path, n: usize) {
    let ctx = Context {
        now: Timestamp::now(),
        durations: Durations {
            create: SignedDuration::ZERO,
            change: SignedDuration::ZERO,
            token_memory: None,
            backup: SignedDuration::ZERO,
        },
        fail_backup: false,
    };
    let mut state = State::default();
    let config_json = kvsync::api::actions::config::config_json(
        &CONFIG
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    for i in 0..n {
        let instance = name(i);
        let digests: BTreeMap<String, String> = ACCOUNTS
            .iter()
            .map(|(account, _, _, password)| {
                let owner = Owner {
                    stack: STACK,
                    region: REGION,
                    instance: &instance,
                    account: Some(account),
                };
                let digest = passwords::digest(&Secret::new(*password), owner);
                ((*account).to_owned(), digest)
            })
            .collect();
        let mut tags = vec![
            ("kvsync:managed".to_owned(), "true".to_owned()),
            ("kvsync:stack".to_owned(), STACK.to_owned()),
        ];
        tags.extend(passwords::encode_tags(&digests));
        let tag_params: Vec<(String, String)> = tags
            .iter()
            .enumerate()
            .flat_map(|(index, (k, v))| {
                [
                    (format!("Tag.{}.Key", index + 1), k.clone()),
                    (format!("Tag.{}.Value", index + 1), v.clone()),
                ]
            })
            .collect();
        let mut create: Vec<(&str, &str)> = vec![
            ("RegionId", REGION),
            ("InstanceName", &instance),
            ("InstanceClass", CLASS),
            ("EngineVersion", ENGINE),
            ("ZoneId", ZONE),
        ];
        create.extend(tag_params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let created = handle(&mut state, &ctx, "CreateInstance", &create);
        let id = created["InstanceId"]
            .as_str()
            .expect("InstanceId")
            .to_owned();
        let ips = APP_IPS.join(",");
        handle(
            &mut state,
            &ctx,
            "ModifySecurityIps",
            &[
                ("InstanceId", &id),
                ("SecurityIpGroupName", "app"),
                ("SecurityIps", &ips),
            ],
        );
        for (account, privilege, _, password) in ACCOUNTS {
            handle(
                &mut state,
                &ctx,
                "CreateAccount",
                &[
                    ("InstanceId", &id),
                    ("AccountName", account),
                    ("AccountPassword", password),
                    ("AccountPrivilege", privilege),
                ],
            );
        }
        handle(
            &mut state,
            &ctx,
            "ModifyBackupPolicy",
            &[
                ("InstanceId", &id),
                ("PreferredBackupTime", BACKUP_TIME),
                ("PreferredBackupPeriod", BACKUP_PERIOD),
            ],
        );
        handle(
            &mut state,
            &ctx,
            "ModifyInstanceConfig",
            &[("InstanceId", &id), ("Config", &config_json)],
        );
    }
    store::save(state_file, &state).expect("write the emulator state");
}

/// A GET on loopback, returning the JSON body.
fn http_get(url: &str) -> serde_json::Value {
    {
        kvsync::api::tls::install_crypto_provider();
        reqwest::blocking::get(url)
    }
    .and_then(|response| response.json())
    .expect("GET the emulator's JSON")
}

/// The emulator's counters: action → outcome → requests.
type Counters = BTreeMap<String, BTreeMap<String, u64>>;

fn counters(url: &str) -> Counters {
    let stats = http_get(&format!("{url}/_emulator/stats"))["requests"].clone();
    serde_json::from_value(stats).unwrap_or_default()
}

/// What happened between two readings of the counters.
#[derive(Debug, Default)]
struct Calls {
    by_action: BTreeMap<String, u64>,
    total: u64,
    throttled: u64,
    failed: u64,
}

fn calls_between(before: &Counters, after: &Counters) -> Calls {
    let mut calls = Calls::default();
    for (action, outcomes) in after {
        for (outcome, count) in outcomes {
            let earlier = before
                .get(action)
                .and_then(|o| o.get(outcome))
                .copied()
                .unwrap_or(0);
            let count = count - earlier;
            if count == 0 {
                continue;
            }
            *calls.by_action.entry(action.clone()).or_default() += count;
            calls.total += count;
            if outcome == "Throttling.User" {
                calls.throttled += count;
            } else if outcome != "ok" {
                calls.failed += count;
            }
        }
    }
    calls
}

struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start(state_file: &Path, extra: &[&str]) -> Self {
        Self::spawn(Some(state_file), extra)
    }

    /// An emulator with `state_file`, or in memory only.
    fn spawn(state_file: Option<&Path>, extra: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kvsync"));
        command.args(["emulator", "--listen", "127.0.0.1:0"]);
        if let Some(state_file) = state_file {
            command.arg("--state").arg(state_file);
        }
        let mut child = command
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let mut banner = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut banner)
            .expect("banner");
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected emulator banner {banner:?}"))
            .to_owned();
        Emulator { child, url }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `kvsync` command aimed at `url` with the passwords in its environment.
fn kvsync(dir: &Path, url: &str, qps: f64) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kvsync"));
    command
        .current_dir(dir)
        .env_remove("KVSYNC_NO_RETRY_DELAY")
        .env_remove("KVSYNC_LOG")
        .env("NO_COLOR", "1")
        .args(["--endpoint", url, "--access-key-id", KEY_ID])
        .args(["--access-key-secret", KEY_SECRET])
        .args(["--qps", &qps.to_string()]);
    for (_, _, env, password) in ACCOUNTS {
        command.env(env, password);
    }
    command
}

/// Seeds by applying the manifests against a fast emulator (no latency, no cap, no waits)
/// that keeps its state in `state_file`, or in memory only; returns how long the apply took.
fn seed_with_apply(dir: &Path, state_file: Option<&Path>, n: usize) -> Duration {
    let emulator = Emulator::spawn(
        state_file,
        &["--create-seconds", "0", "--change-seconds", "0"],
    );
    let started = Instant::now();
    let output = kvsync(dir, &emulator.url, 10_000.0)
        .args(["apply", "--auto-approve", "-f", MANIFESTS, "--parallelism"])
        .arg(n.min(64).to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run kvsync apply");
    let took = started.elapsed();
    emulator.stop();
    assert!(
        output.status.success(),
        "seeding apply failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    took
}

/// Seeds through `kvsync apply` twice, against an emulator in memory and then against one
/// with the state file the plan is measured on; returns both apply times.
fn seed_with_apply_both(dir: &Path, state_file: &Path, n: usize) -> (Duration, Duration) {
    let in_memory = seed_with_apply(dir, None, n);
    // The second apply starts from an empty cloud, like the first.
    let _ = std::fs::remove_dir_all(dir.join(".kvsync"));
    let persisted = seed_with_apply(dir, Some(state_file), n);
    (in_memory, persisted)
}

struct PlanRun {
    exit: Option<i32>,
    wall: Duration,
    peak_rss_kib: u64,
    calls: Calls,
}

fn run_plan(dir: &Path, url: &str) -> PlanRun {
    let before = counters(url);
    let stdout = std::fs::File::create(dir.join("plan.out")).expect("plan output file");
    let stderr = std::fs::File::create(dir.join("plan.err")).expect("plan log file");
    let started = Instant::now();
    let child = kvsync(dir, url, QPS)
        .args(["plan", "-f", MANIFESTS, "--detailed-exitcode"])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("run kvsync plan");
    let (exit, peak_rss_kib) = rss::wait_with_peak_rss(child);
    let wall = started.elapsed();
    PlanRun {
        exit,
        wall,
        peak_rss_kib,
        calls: calls_between(&before, &counters(url)),
    }
}

struct BaselineRun {
    wall: Duration,
    calls: Calls,
    errors: usize,
}

/// 1 if the call failed (after the client's retries), else 0.
async fn failed<A: Action<Secrets = kvsync::secrets::Secret>>(client: &Client, action: A) -> usize {
    usize::from(client.call(REGION, &action).await.is_err())
}

/// What Terraform's provider reads to refresh one `alicloud_kvstore_instance`: seven calls,
/// one after another. Returns the number of failed calls.
async fn read_like_terraform(client: &Client, id: &str) -> usize {
    let instance_id = || id.to_owned();
    failed(
        client,
        DescribeInstanceAttribute {
            instance_id: instance_id(),
        },
    )
    .await
        + failed(
            client,
            DescribeSecurityIps {
                instance_id: instance_id(),
            },
        )
        .await
        + failed(
            client,
            DescribeBackupPolicy {
                instance_id: instance_id(),
            },
        )
        .await
        + failed(
            client,
            DescribeInstanceConfig {
                instance_id: instance_id(),
            },
        )
        .await
        + failed(
            client,
            DescribeAccounts {
                instance_id: instance_id(),
                account_name: None,
                search_account_name: None,
                page_number: None,
                page_size: None,
            },
        )
        .await
        + failed(
            client,
            DescribeDbInstanceNetInfo {
                instance_id: instance_id(),
                net_type: None,
            },
        )
        .await
        + failed(
            client,
            DescribeInstanceSsl {
                instance_id: instance_id(),
            },
        )
        .await
}

/// The baseline: the listing pages, then every instance read like Terraform does, ten
/// instances at a time (its default `-parallelism`). Returns the number of failed calls.
async fn baseline_reads(client: Client) -> usize {
    let listed = kvsync::observe::list_region(&client, REGION)
        .await
        .expect("list the region");
    let ids: Arc<Vec<String>> = Arc::new(listed.into_iter().map(|i| i.id).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..BASELINE_PARALLELISM {
        let (client, ids, next) = (client.clone(), ids.clone(), next.clone());
        workers.spawn(async move {
            let mut errors = 0;
            while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
                errors += read_like_terraform(&client, id).await;
            }
            errors
        });
    }
    workers.join_all().await.into_iter().sum()
}

fn run_baseline(url: &str) -> BaselineRun {
    let client = Client::new(ClientConfig {
        endpoint: Endpoint::Fixed(url.to_owned()),
        credentials: Credentials {
            access_key_id: KEY_ID.into(),
            access_key_secret: Secret::new(KEY_SECRET),
            security_token: None,
        }
        .into(),
        qps: QPS,
        retry: RetryPolicy::default(),
        timeout: Duration::from_secs(30),
    })
    .expect("client");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let before = counters(url);
    let started = Instant::now();
    let errors = runtime.block_on(baseline_reads(client));
    let wall = started.elapsed();
    BaselineRun {
        wall,
        calls: calls_between(&before, &counters(url)),
        errors,
    }
}

/// One N's measurements.
struct Measured {
    n: usize,
    seeding: Duration,
    /// With `--seed-apply`: how long `kvsync apply` took against an emulator in memory and
    /// against one with `--state`.
    seeded_by_apply: Option<(Duration, Duration)>,
    plan: PlanRun,
    /// The plan's output and log, kept when it did not exit 0.
    plan_output: Option<(String, String)>,
    baseline: BaselineRun,
}

impl Measured {
    fn per_instance(&self, calls: u64) -> f64 {
        calls as f64 / self.n as f64
    }

    fn plan_wall(&self) -> f64 {
        self.plan.wall.as_secs_f64()
    }

    fn bound(&self) -> f64 {
        self.plan.calls.total as f64 / QPS
    }

    fn ratio(&self) -> f64 {
        self.plan_wall() / self.bound()
    }

    fn rss_bytes(&self) -> u64 {
        self.plan.peak_rss_kib * 1024
    }

    fn baseline_wall(&self) -> f64 {
        self.baseline.wall.as_secs_f64()
    }

    fn speed_up(&self) -> f64 {
        self.baseline_wall() / self.plan_wall()
    }
}

/// Seeds the cloud for N instances, then runs `kvsync plan` and the baseline on it.
fn measure(n: usize, seed_apply: bool, keep: bool) -> Measured {
    let mut dir = tempfile::tempdir().expect("temp dir");
    if keep {
        dir.disable_cleanup(true);
        println!("keeping {}", dir.path().display());
    }
    let state_file = dir.path().join("emulator-state.json");
    write_manifests(dir.path(), n);

    let seeding = Instant::now();
    let seeded_by_apply = if seed_apply {
        Some(seed_with_apply_both(dir.path(), &state_file, n))
    } else {
        seed_in_child(&state_file, n);
        None
    };
    let seeding = seeding.elapsed();

    let (latency, qps) = (LATENCY_MS.to_string(), QPS.to_string());
    let emulator = Emulator::start(&state_file, &["--latency-ms", &latency, "--qps", &qps]);
    // Let the emulator's one-second bucket fill after start, as for any fresh run.
    std::thread::sleep(Duration::from_secs(1));
    let plan = run_plan(dir.path(), &emulator.url);
    // An idle second between the runs, so that neither starts with the other's debt.
    std::thread::sleep(Duration::from_secs(1));
    let baseline = run_baseline(&emulator.url);
    emulator.stop();

    let plan_output = (plan.exit != Some(0)).then(|| {
        let read = |file: &str| std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        (read("plan.out"), read("plan.err"))
    });
    Measured {
        n,
        seeding,
        seeded_by_apply,
        plan,
        plan_output,
        baseline,
    }
}

fn by_action(calls: &Calls) -> String {
    calls
        .by_action
        .iter()
        .map(|(action, count)| format!("{action} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

/// Prints one N's figures and whether each target is met.
fn report(m: &Measured) {
    let n = m.n;
    let (plan, baseline) = (&m.plan, &m.baseline);
    let pages = n.div_ceil(PAGE_SIZE) as u64;
    let floor = 4 * n as u64 + pages;
    println!("fleet plan: N={n} latency={LATENCY_MS}ms qps={QPS} (emulator cap and kvsync --qps)");
    match m.seeded_by_apply {
        Some((in_memory, persisted)) => {
            let ratio = persisted.as_secs_f64() / in_memory.as_secs_f64();
            println!("  seeding by kvsync apply against a fast emulator:");
            println!("    in memory        {:.2} s", in_memory.as_secs_f64());
            println!(
                "    with --state     {:.2} s ({ratio:.2}x in memory; target <= {TARGET_SEED_RATIO}: {})",
                persisted.as_secs_f64(),
                met(ratio <= TARGET_SEED_RATIO)
            );
        }
        None => println!(
            "  seeding            {:.2} s (emulator state built in-process; not measured below)",
            m.seeding.as_secs_f64()
        ),
    }
    println!("kvsync plan --detailed-exitcode");
    println!(
        "  exit status        {} ({})",
        plan.exit.map_or("killed".into(), |c| c.to_string()),
        if plan.exit == Some(0) {
            "no changes"
        } else {
            "EXPECTED 0"
        }
    );
    if let Some((out, err)) = &m.plan_output {
        let head: Vec<&str> = out.lines().take(40).collect();
        println!(
            "  plan output (first lines):\n{}\n  stderr:\n{err}",
            head.join("\n")
        );
    }
    println!(
        "  API calls          {} ({:.3} per instance; floor {floor} = 4 per instance + {pages} list pages, {:.3})",
        plan.calls.total,
        m.per_instance(plan.calls.total),
        m.per_instance(floor)
    );
    println!("  by action          {}", by_action(&plan.calls));
    println!(
        "  throttled calls    {} (other failures {})",
        plan.calls.throttled, plan.calls.failed
    );
    println!("  wall time          {:.2} s", m.plan_wall());
    println!("  lower bound        {:.2} s (calls / qps)", m.bound());
    println!("  ratio              {:.3}", m.ratio());
    println!(
        "  peak RSS           {:.1} MiB ({:.1} MB; wait4 ru_maxrss)",
        plan.peak_rss_kib as f64 / 1024.0,
        m.rss_bytes() as f64 / 1e6
    );
    println!(
        "baseline: Terraform-style reads, 7 calls per instance in sequence, {BASELINE_PARALLELISM} instances at a time"
    );
    println!(
        "  API calls          {} ({:.3} per instance; errors {})",
        baseline.calls.total,
        m.per_instance(baseline.calls.total),
        baseline.errors
    );
    println!("  by action          {}", by_action(&baseline.calls));
    println!(
        "  throttled calls    {} (other failures {})",
        baseline.calls.throttled, baseline.calls.failed
    );
    let baseline_bound = baseline.calls.total as f64 / QPS;
    println!(
        "  wall time          {:.2} s (bound {baseline_bound:.2} s, ratio {:.3})",
        m.baseline_wall(),
        m.baseline_wall() / baseline_bound
    );
    println!(
        "kvsync speed-up      {:.2}x (baseline wall / kvsync wall)",
        m.speed_up()
    );
    println!(
        "  RSS per instance   {:.1} KiB (peak RSS / N)",
        m.rss_bytes() as f64 / 1024.0 / n as f64
    );
    if n == TARGET_N {
        println!("targets at N={TARGET_N}:");
    } else {
        println!("targets (wall and RSS set for N={TARGET_N}; informative here):");
    }
    let per_instance = m.per_instance(plan.calls.total);
    let targets = [
        (
            format!("calls per instance <= {TARGET_CALLS_PER_INSTANCE}"),
            format!("{per_instance:.3}"),
            per_instance <= TARGET_CALLS_PER_INSTANCE,
        ),
        (
            format!("wall <= {TARGET_RATIO} x calls / qps"),
            format!("{:.3}", m.ratio()),
            m.ratio() <= TARGET_RATIO,
        ),
        (
            "zero throttled calls".to_owned(),
            plan.calls.throttled.to_string(),
            plan.calls.throttled == 0,
        ),
        (
            format!("peak RSS <= {} MiB", TARGET_RSS_BYTES >> 20),
            format!("{:.1} MiB", m.rss_bytes() as f64 / (1 << 20) as f64),
            m.rss_bytes() <= TARGET_RSS_BYTES,
        ),
        (
            "plan empty (exit 0)".to_owned(),
            format!("exit {}", plan.exit.unwrap_or(-1)),
            plan.exit == Some(0),
        ),
    ];
    for (target, value, ok) in targets {
        // Wall time and memory are held to their bound at N = 10,000 only.
        let judged = n == TARGET_N || !(target.starts_with("wall") || target.starts_with("peak"));
        let verdict = if judged { met(ok) } else { "(set for N=10000)" };
        println!("  {target:<28} {value:<10} {verdict}");
    }
    println!();
}

/// The hidden mode in which the bench runs as its own seeding child.
const SEED_MODE: &str = "--seed-state-into";

/// Seeds in a child process (this bench, in [`SEED_MODE`]). Children are started with
/// `vfork`, and Linux reports a child's peak RSS as at least the parent's at that moment: a
/// bench that had built a 10,000-instance state itself would inflate every later `kvsync`
/// child's figure.
fn seed_in_child(state_file: &Path, n: usize) {
    let status = Command::new(std::env::current_exe().expect("the bench's own path"))
        .arg(SEED_MODE)
        .arg(state_file)
        .arg(n.to_string())
        .status()
        .expect("start the seeding child");
    assert!(status.success(), "seeding failed: {status}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, state_file, n] = args.as_slice()
        && mode == SEED_MODE
    {
        seed_in_process(Path::new(state_file), n.parse().expect("N"));
        return;
    }
    let seed_apply = args.iter().any(|a| a == "--seed-apply");
    let keep = args.iter().any(|a| a == "--keep");
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![100, 1000, TARGET_N];
    }
    let mut runs = Vec::new();
    for n in sizes {
        let measured = measure(n, seed_apply, keep);
        report(&measured);
        runs.push(measured);
    }

    println!("summary (Markdown):");
    println!(
        "| N | plan calls (per instance) | wall | calls / qps | ratio | peak RSS | RSS per instance | throttled | baseline calls (per instance) | baseline wall | speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for m in &runs {
        println!(
            "| {} | {} ({:.3}) | {:.2} s | {:.2} s | {:.3} | {:.1} MiB | {:.1} KiB | {} | {} ({:.2}) | {:.2} s | {:.2}x |",
            m.n,
            m.plan.calls.total,
            m.per_instance(m.plan.calls.total),
            m.plan_wall(),
            m.bound(),
            m.ratio(),
            m.plan.peak_rss_kib as f64 / 1024.0,
            m.plan.peak_rss_kib as f64 / m.n as f64,
            m.plan.calls.throttled,
            m.baseline.calls.total,
            m.per_instance(m.baseline.calls.total),
            m.baseline_wall(),
            m.speed_up(),
        );
    }
    // Linear memory: the RSS each further instance adds stays the same from one N to the next.
    for pair in runs.windows(2) {
        let (small, large) = (&pair[0], &pair[1]);
        if large.n <= small.n {
            continue;
        }
        let added_kib = large.plan.peak_rss_kib as f64 - small.plan.peak_rss_kib as f64;
        println!(
            "RSS added per instance from N={} to N={}: {:.2} KiB",
            small.n,
            large.n,
            added_kib / (large.n - small.n) as f64
        );
    }
}
