//! Benchmark: `kvsync apply` creating N instances against the emulator with realistic latency,
//! a create duration of several seconds and a QPS cap, measured in one run.
//!
//! Prints wall time, API calls, throttled calls, peak RSS of `apply` beside that of the `plan`
//! it starts from (the same manifests against the same emulator, measured first in the same
//! run; target: apply within 1.3x of plan), and the ratio of wall time to the bound
//! `create duration + calls / qps`, and to the tighter `max(create duration, calls / qps)` (no
//! run can be faster than either: every call waits its turn at the rate limit, and an instance
//! takes the create duration). Not a test: run it with
//! `cargo bench --bench apply` (`-- N CREATE_SECONDS QPS LATENCY_MS` to change the defaults:
//! 1000 instances, 5 s, 50 QPS, 30 ms).

#[path = "support/rss.rs"]
mod rss;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

fn arg(index: usize, default: f64) -> f64 {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
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

fn write_manifests(dir: &Path, n: usize) {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: bench}\nspec: {region: cn-hangzhou}\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: bench-{i:04}}}\nspec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n"
        ));
    }
    std::fs::write(dir.join("bench.yaml"), text).expect("write manifests");
}

/// The emulator's request counters: all calls, throttled calls, successful creates.
fn calls_and_throttled(url: &str) -> (u64, u64, u64) {
    let stats = http_get(&format!("{url}/_emulator/stats"))["requests"].clone();
    let (mut calls, mut throttled, mut creates) = (0, 0, 0);
    for (action, outcomes) in stats.as_object().into_iter().flatten() {
        for (outcome, count) in outcomes.as_object().into_iter().flatten() {
            let count = count.as_u64().unwrap_or(0);
            calls += count;
            if outcome.starts_with("Throttling") {
                throttled += count;
            }
            if action == "CreateInstance" && outcome == "ok" {
                creates += count;
            }
        }
    }
    (calls, throttled, creates)
}

fn main() {
    let n = arg(1, 1000.0) as usize;
    let create_seconds = arg(2, 5.0);
    let qps = arg(3, 50.0);
    let latency_ms = arg(4, 30.0) as u64;
    let kvsync = env!("CARGO_BIN_EXE_kvsync");
    let dir = tempfile::tempdir().expect("temp dir");
    write_manifests(dir.path(), n);

    let mut emulator = Command::new(kvsync)
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(["--create-seconds", &create_seconds.to_string()])
        .args(["--latency-ms", &latency_ms.to_string()])
        .args(["--qps", &qps.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator");
    let mut banner = String::new();
    BufReader::new(emulator.stdout.take().expect("stdout"))
        .read_line(&mut banner)
        .expect("banner");
    let url = banner
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();

    let command = |args: &[&str]| {
        let mut command = Command::new(kvsync);
        command
            .current_dir(dir.path())
            .args([
                "--endpoint",
                &url,
                "--access-key-id",
                "testid",
                "--access-key-secret",
                "testsecret",
            ])
            .args(["--qps", &qps.to_string()])
            .args(args)
            .stdout(Stdio::null());
        command
    };
    // The plan of the same creates, for the memory it takes.
    let plan = command(&["plan", "-f", "bench.yaml"])
        .spawn()
        .expect("run kvsync plan");
    let (plan_exit, plan_rss_kib) = rss::wait_with_peak_rss(plan);
    let before = calls_and_throttled(&url);

    let started = Instant::now();
    // Every instance at once, up to the largest parallelism kvsync accepts.
    let apply = command(&[
        "apply",
        "--auto-approve",
        "-f",
        "bench.yaml",
        "--parallelism",
        &n.min(64).to_string(),
    ])
    .spawn()
    .expect("run kvsync apply");
    let (exit, apply_rss_kib) = rss::wait_with_peak_rss(apply);
    let wall = started.elapsed().as_secs_f64();

    let (all_calls, all_throttled, creates) = calls_and_throttled(&url);
    let calls = all_calls - before.0;
    let throttled = all_throttled - before.1;
    let instances = http_get(&format!("{url}/_emulator/instances"))["Instances"]
        .as_array()
        .map_or(0, Vec::len);
    let _ = emulator.kill();
    let _ = emulator.wait();

    let bound = create_seconds + calls as f64 / qps;
    let tight = create_seconds.max(calls as f64 / qps);
    println!("apply benchmark: N={n} create={create_seconds}s qps={qps} latency={latency_ms}ms");
    println!(
        "  exit status        {} (plan: {})",
        exit.unwrap_or(-1),
        plan_exit.unwrap_or(-1)
    );
    println!("  instances created  {instances} (CreateInstance ok: {creates})");
    println!("  wall time          {wall:.2} s");
    println!(
        "  API calls          {calls} ({:.2} per instance)",
        calls as f64 / n as f64
    );
    println!("  throttled calls    {throttled}");
    let rss_ratio = apply_rss_kib as f64 / plan_rss_kib.max(1) as f64;
    println!(
        "  peak RSS           apply {:.1} MiB, plan {:.1} MiB → {rss_ratio:.2}x (target <= 1.3: {})",
        apply_rss_kib as f64 / 1024.0,
        plan_rss_kib as f64 / 1024.0,
        if rss_ratio <= 1.3 { "met" } else { "NOT met" }
    );
    println!("  lower bound        {bound:.2} s (create duration + calls / qps)");
    let ratio = wall / bound;
    println!(
        "  ratio              {ratio:.2} (target <= 1.1: {})",
        if ratio <= 1.1 { "met" } else { "NOT met" }
    );
    println!(
        "  tight bound        {tight:.2} s (max of create duration and calls / qps: the calls overlap the wait) → ratio {:.2}",
        wall / tight
    );
}
