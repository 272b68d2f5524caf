//! Soak run: `kvsync daemon` reconciling N instances for C cycles against the emulator, with
//! the daemon's resident memory sampled at the start and at the end.
//!
//! Not a test: `cargo bench --bench soak [-- INSTANCES CYCLES SLICES]` (defaults 200, 1000 and
//! the daemon's default of 10 refresh slices; with 1, every cycle reads every instance).
//! Prints cycles, API calls and the daemon's RSS after the first 10 cycles, at every tenth of the
//! run, and after the last: growth after the warm-up (the first tenth) is what must stay flat.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// A GET on loopback, returning the JSON body (null when the body is not JSON). The client is
/// made once (the status is polled often) and keeps no idle connection, which the daemon would
/// close under it.
fn http_get(url: &str) -> serde_json::Value {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        {
            kvsync::api::tls::install_crypto_provider();
            reqwest::blocking::Client::builder()
        }
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client")
    });
    let body = client
        .get(url)
        .send()
        .and_then(|response| response.text())
        .expect("GET");
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// A process's resident set (and its peak) in KiB, from /proc.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn banner_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_default()
        .to_owned()
}

fn write_manifests(dir: &Path, n: u64) {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: soak}\nspec: {region: cn-hangzhou}\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: soak-{i:04}}}\nspec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n  releaseProtection: false\n  whitelists:\n    app: [10.0.0.0/16]\n"
        ));
    }
    std::fs::create_dir_all(dir.join("manifests")).expect("dir");
    std::fs::write(dir.join("manifests/soak.yaml"), text).expect("write");
}

fn cycles(url: &str) -> u64 {
    http_get(&format!("{url}/status"))["cycles"]
        .as_u64()
        .unwrap_or(0)
}

fn wait_cycles(url: &str, at_least: u64) {
    while cycles(url) < at_least {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() {
    let instances = arg(1, 200);
    let target = arg(2, 1000);
    let slices = arg(3, 10);
    let kvsync = env!("CARGO_BIN_EXE_kvsync");
    let dir = tempfile::tempdir().expect("temp dir");
    write_manifests(dir.path(), instances);

    let mut emulator = Command::new(kvsync)
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--create-seconds",
            "0",
            "--change-seconds",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("emulator");
    let emulator_url = banner_url(&mut emulator);
    let credentials = [
        "--endpoint",
        &emulator_url,
        "--access-key-id",
        "testid",
        "--access-key-secret",
        "testsecret",
        "--qps",
        "10000",
    ];
    let applied = Command::new(kvsync)
        .current_dir(dir.path())
        .args(credentials)
        .args(["apply", "--auto-approve", "--parallelism", "50"])
        .stdout(Stdio::null())
        .status()
        .expect("apply");
    assert!(applied.success(), "the initial apply failed");

    let mut daemon = Command::new(kvsync)
        .current_dir(dir.path())
        .args(credentials)
        .args([
            "daemon",
            "--mode",
            "apply",
            "--interval",
            "1ms",
            "--refresh-slices",
            &slices.to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon");
    let url = banner_url(&mut daemon);
    let started = Instant::now();
    wait_cycles(&url, 10);
    let (rss_start, _) = rss_kib(daemon.id());
    let at_start = Instant::now();
    let mut samples = Vec::new();
    let step = (target / 10).max(1);
    let mut next = step;
    while next < target {
        wait_cycles(&url, next);
        samples.push((next, rss_kib(daemon.id()).0));
        next += step;
    }
    wait_cycles(&url, target);
    let (rss_end, peak) = rss_kib(daemon.id());
    samples.push((target, rss_end));
    let elapsed = at_start.elapsed();
    let status = http_get(&format!("{url}/status"));
    let calls: u64 = http_get(&format!("{emulator_url}/_emulator/stats"))["requests"]
        .as_object()
        .map(|actions| {
            actions
                .values()
                .flat_map(|o| o.as_object().into_iter().flat_map(|m| m.values()))
                .filter_map(|n| n.as_u64())
                .sum()
        })
        .unwrap_or(0);
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    let _ = emulator.kill();
    let _ = emulator.wait();

    println!(
        "soak: {instances} instances, daemon --mode apply --interval 1ms --refresh-slices {slices}"
    );
    println!(
        "  cycles             {} (failed {})",
        status["cycles"], status["failed_cycles"]
    );
    println!(
        "  time               {:.1} s from cycle 10 to {target} ({:.1} s in all)",
        elapsed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    println!("  API calls          {calls} in all");
    println!("  RSS after 10       {:.1} MiB", rss_start as f64 / 1024.0);
    println!(
        "  RSS after {target:<5}    {:.1} MiB (peak {:.1} MiB)",
        rss_end as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let series: Vec<String> = samples
        .iter()
        .map(|(cycle, kib)| format!("{cycle}:{:.1}", *kib as f64 / 1024.0))
        .collect();
    println!("  RSS by cycle (MiB) {}", series.join(" "));
    println!(
        "  growth from cycle 10      {:+.1} MiB ({:+.1} %)",
        (rss_end as f64 - rss_start as f64) / 1024.0,
        (rss_end as f64 / rss_start.max(1) as f64 - 1.0) * 100.0
    );
    // After the first tenth (connection pools and allocator arenas warmed up), memory must stay flat.
    let warm = samples.first().map_or(rss_start, |(_, kib)| *kib);
    let (low, high) = samples.iter().fold((u64::MAX, 0), |(lo, hi), (_, kib)| {
        (lo.min(*kib), hi.max(*kib))
    });
    println!(
        "  growth after warm-up      {:+.1} MiB ({:+.1} %); range {:.1}–{:.1} MiB",
        (rss_end as f64 - warm as f64) / 1024.0,
        (rss_end as f64 / warm.max(1) as f64 - 1.0) * 100.0,
        low as f64 / 1024.0,
        high as f64 / 1024.0
    );
}
