//! Coordination through a real etcd: one holder per shard, waiting, fencing, a dead holder's
//! lease running out, and two `kvsync apply` runs from different directories (as if on
//! different machines) serialized by etcd alone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use kvsync::coordination::etcd::EtcdCoordinator;
use kvsync::coordination::{CoordinationError, Shard};

use crate::etcd_member::EtcdMember;
use crate::support::{EmulatorProcess, texts};

const TTL: Duration = Duration::from_secs(3);

fn shards() -> Vec<Shard> {
    Shard::of("shop", &["cn-hangzhou".to_owned()].into())
}

#[tokio::test(flavor = "multi_thread")]
async fn coordination_etcd_second_acquirer_waits_until_the_first_releases() {
    let etcd = EtcdMember::start();
    let coordinator = EtcdCoordinator::new(vec![etcd.endpoint()], TTL);
    let first = coordinator
        .acquire(&shards(), Duration::ZERO, "first run")
        .await
        .unwrap();
    assert_eq!(first.keys(), ["/kvsync/v1/shards/_/shop/cn-hangzhou"]);

    // A short wait is refused, naming the holder and the key.
    let refused = coordinator
        .acquire(&shards(), Duration::from_millis(300), "second run")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CoordinationError::Held { .. }),
        "{refused}"
    );
    let text = refused.to_string();
    assert!(
        text.contains("first run")
            && text.contains(&format!("pid {}", std::process::id()))
            && text.contains("/kvsync/v1/shards/_/shop/cn-hangzhou"),
        "{text}"
    );

    // A long wait outlasts the TTL (the lease is renewed) and ends when the first releases.
    let waiting = tokio::spawn({
        let coordinator = coordinator.clone();
        async move {
            let started = Instant::now();
            let guard = coordinator
                .acquire(&shards(), Duration::from_secs(30), "second run")
                .await;
            (guard, started.elapsed())
        }
    });
    tokio::time::sleep(TTL * 2).await;
    assert!(
        !waiting.is_finished(),
        "the second got the shard while the first held it"
    );
    assert!(
        first.still_held(None).await,
        "renewal did not keep the first hold"
    );
    first.release().await;
    let (second, waited) = waiting.await.unwrap();
    let second = second.unwrap();
    assert!(waited >= TTL * 2, "{waited:?}");
    assert!(waited < TTL * 2 + Duration::from_secs(2), "{waited:?}");
    assert!(second.still_held(None).await);
    second.release().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coordination_etcd_a_revoked_lease_is_no_longer_held() {
    let etcd = EtcdMember::start();
    let coordinator = EtcdCoordinator::new(vec![etcd.endpoint()], TTL);
    let guard = coordinator
        .acquire(&shards(), Duration::ZERO, "holder")
        .await
        .unwrap();
    assert!(guard.still_held(None).await);
    // Someone else (an operator, or etcd itself) revokes the lease behind the holder's back.
    let mut other = etcd_client::Client::connect([etcd.endpoint()], None)
        .await
        .unwrap();
    let key = other
        .get("/kvsync/v1/shards/_/shop/cn-hangzhou", None)
        .await
        .unwrap();
    let lease = key.kvs()[0].lease();
    assert_ne!(lease, 0);
    other.lease_revoke(lease).await.unwrap();
    assert!(
        !guard.still_held(None).await,
        "a revoked hold still reports held"
    );
    // And another run can take the shard at once.
    let next = coordinator
        .acquire(&shards(), Duration::ZERO, "next")
        .await
        .unwrap();
    assert!(next.still_held(None).await);
    assert!(!guard.still_held(None).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn coordination_etcd_a_dead_holders_shard_frees_within_the_ttl() {
    let etcd = EtcdMember::start();
    let coordinator = EtcdCoordinator::new(vec![etcd.endpoint()], TTL);
    let dead = coordinator
        .acquire(&shards(), Duration::ZERO, "dies")
        .await
        .unwrap();
    // The process dies: no more renewals, no revoke.
    dead.abandon();
    let started = Instant::now();
    let next = coordinator
        .acquire(&shards(), Duration::from_secs(30), "survivor")
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= TTL / 2,
        "the dead holder's key was gone at once: {waited:?}"
    );
    assert!(waited <= TTL + Duration::from_secs(2), "{waited:?}");
    assert!(next.still_held(None).await);
}

/// A stack of three instances.
fn manifests(dir: &Path) {
    let mut text = String::from(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: writers}\nspec: {region: cn-hangzhou}\n",
    );
    for name in ["w-0", "w-1", "w-2"] {
        text.push_str(&format!(
            "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {name}}}\nspec:\n  instanceClass: redis.master.small.default\n  zoneId: cn-hangzhou-h\n"
        ));
    }
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::fs::write(dir.join("manifests/stack.yaml"), text).unwrap();
}

/// Waits until the shard's key exists in etcd (the first run holds it).
fn wait_for_key(etcd: &EtcdMember) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([etcd.endpoint()], None)
            .await
            .unwrap();
        let started = Instant::now();
        loop {
            let answer = client
                .get("/kvsync/v1/shards/_/writers/cn-hangzhou", None)
                .await
                .unwrap();
            if !answer.kvs().is_empty() {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no shard taken"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[test]
fn coordination_etcd_two_applies_on_different_machines_take_turns() {
    let etcd = EtcdMember::start();
    let root = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(root.path(), &["--create-seconds", "2"]);
    // Each run from its own directory, so from its own lock directory: only etcd is shared.
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            manifests(dir.path());
            dir
        })
        .collect();
    let apply = |dir: &Path, timeout: &str| {
        let mut command = emulator.kvsync(dir);
        command.args([
            "apply",
            "--auto-approve",
            "--coordination",
            &etcd.flag(),
            "--coordination-ttl",
            "5s",
            "--lock-timeout",
            timeout,
        ]);
        command
    };
    let first = apply(dirs[0].path(), "1m")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_key(&etcd);

    let refused = apply(dirs[1].path(), "200ms").output().unwrap();
    let (stdout, stderr) = texts(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("held by another kvsync run")
            && stderr.contains(&format!("pid {}", first.id()))
            && stderr.contains("/kvsync/v1/shards/_/writers/cn-hangzhou"),
        "{stderr}"
    );

    // A run that waits long enough finds the first one's work done.
    let waited = apply(dirs[2].path(), "1m").output().unwrap();
    let (stdout, stderr) = texts(&waited);
    assert_eq!(waited.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{:?}", texts(&first));

    let mut counts = BTreeMap::new();
    for instance in emulator.instances() {
        let name = instance["InstanceName"].as_str().unwrap().to_owned();
        *counts.entry(name).or_insert(0) += 1;
    }
    let expected: BTreeMap<String, usize> = ["w-0", "w-1", "w-2"]
        .iter()
        .map(|n| (n.to_string(), 1))
        .collect();
    assert_eq!(counts, expected);
    assert_eq!(emulator.count("CreateInstance", "ok"), 3);
}

#[test]
fn coordination_flags_refuse_bad_values_as_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [
        ("--coordination", "zk://h:1"),
        ("--coordination", "etcd://h1"),
        ("--coordination-ttl", "1s"),
        ("--coordination-ttl", "soon"),
    ] {
        let output = crate::support::kvsync(dir.path())
            .args(["apply", "--emulator", flag, value])
            .output()
            .unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(64), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{stderr}");
    }
    // Replica names: bad ones, and a name without etcd to register it in.
    for args in [
        &[
            "daemon",
            "--emulator",
            "--coordination",
            "etcd://h:1",
            "--replica",
            "a/b",
        ][..],
        &[
            "daemon",
            "--emulator",
            "--coordination",
            "etcd://h:1",
            "--replica",
            "",
        ][..],
        &["daemon", "--emulator", "--replica", "r1"][..],
    ] {
        let output = crate::support::kvsync(dir.path())
            .args(args)
            .output()
            .unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(64), "{args:?}: {stderr}");
        assert!(stderr.contains("--replica"), "{args:?}: {stderr}");
    }
}

#[test]
fn coordination_etcd_an_apply_that_loses_its_hold_starts_no_new_step() {
    let etcd = EtcdMember::start();
    let root = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(root.path(), &["--create-seconds", "2"]);
    manifests(root.path());
    let run = emulator
        .kvsync(root.path())
        .args([
            "apply",
            "--auto-approve",
            "--parallelism",
            "1",
            "--coordination",
        ])
        .arg(etcd.flag())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_key(&etcd);
    // An operator revokes the run's lease while it creates the first instance.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([etcd.endpoint()], None)
            .await
            .unwrap();
        let key = client
            .get("/kvsync/v1/shards/_/writers/cn-hangzhou", None)
            .await
            .unwrap();
        client.lease_revoke(key.kvs()[0].lease()).await.unwrap();
    });
    let output = run.wait_with_output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("hold on the stack was lost"), "{stderr}");
    let created = emulator.count("CreateInstance", "ok");
    assert!(
        created < 3,
        "{created} created after the hold was lost\n{stdout}"
    );
}

#[test]
fn coordination_etcd_unreachable_refuses_before_any_call() {
    let root = tempfile::tempdir().unwrap();
    let emulator = EmulatorProcess::start(root.path(), &[]);
    manifests(root.path());
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = emulator
        .kvsync(root.path())
        .args([
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "1s",
            "--coordination",
        ])
        .arg(format!("etcd://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("etcd at http://127.0.0.1:{port}")),
        "{stderr}"
    );
    assert_eq!(emulator.count("CreateInstance", "ok"), 0);
    assert!(emulator.instances().is_empty());
}
