//! The emulator's state file under SIGKILL: a change it acknowledged is in the state it
//! reloads, whenever the process dies.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{EmulatorProcess, Request, emulator_state_json};

/// Writers sending creates at once, as an apply with `--parallelism` does.
const WRITERS: usize = 6;
/// Seedings interrupted by SIGKILL, each on the state the previous one left.
const ROUNDS: usize = 6;

/// Sends creates named `prefix-N` until the emulator stops answering; returns the IDs of
/// the creates it acknowledged (HTTP 200 with an `InstanceId`).
async fn seed_until_killed(url: String, prefix: String, acknowledged: Arc<Mutex<Vec<String>>>) {
    let client = kvsync::api::tls::http_client()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for n in 0.. {
        let query = Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceName", &format!("{prefix}-{n}"))
            .param("InstanceClass", "redis.master.small.default")
            .signed_query("POST", "testsecret");
        let Ok(response) = client.post(format!("{url}/?{query}")).send().await else {
            return;
        };
        if response.status() != 200 {
            return;
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            return;
        };
        if let Some(id) = body["InstanceId"].as_str() {
            acknowledged.lock().unwrap().push(id.to_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_random_moments_during_a_seeding_never_loses_an_acknowledged_create() {
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("emulator-state.json");
    let mut all_acknowledged = BTreeSet::new();
    let mut delays = Vec::new();
    for round in 0..ROUNDS {
        let emulator = EmulatorProcess::start(dir.path(), &[]);
        let listed: BTreeSet<String> = emulator
            .instances()
            .iter()
            .filter_map(|i| i["InstanceId"].as_str().map(str::to_owned))
            .collect();
        assert!(
            listed.is_superset(&all_acknowledged),
            "round {round}: the restarted emulator serves every acknowledged create; missing {:?}",
            all_acknowledged.difference(&listed).collect::<Vec<_>>()
        );

        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                tokio::spawn(seed_until_killed(
                    emulator.url.clone(),
                    format!("r{round}-w{writer}"),
                    Arc::clone(&acknowledged),
                ))
            })
            .collect();
        // The seeding is under way once a first create is acknowledged (however slow the
        // machine); then a random moment, somewhere in the middle of a create, a log append
        // or a compaction, as it happens to fall.
        let started = std::time::Instant::now();
        while acknowledged.lock().unwrap().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: no create was acknowledged within a minute"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let delay = Duration::from_millis(rand::random_range(0..750));
        delays.push(delay.as_millis());
        tokio::time::sleep(delay).await;
        drop(emulator); // SIGKILL, then wait for the process to end.
        for writer in writers {
            writer.await.unwrap();
        }

        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(
            !acknowledged.is_empty(),
            "round {round}: some creates were acknowledged before the kill"
        );
        let reloaded = emulator_state_json(&state_path);
        let missing: Vec<&String> = acknowledged
            .iter()
            .filter(|id| reloaded["instances"].get(id.as_str()).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "round {round} (killed after {delay:?}): acknowledged creates lost: {missing:?}"
        );
        all_acknowledged.extend(acknowledged);
    }
    let reloaded = emulator_state_json(&state_path);
    let held = reloaded["instances"].as_object().unwrap().len();
    println!(
        "{} acknowledged creates over {ROUNDS} kills (after {delays:?} ms); {held} instances held",
        all_acknowledged.len()
    );
    assert!(held >= all_acknowledged.len());
}
