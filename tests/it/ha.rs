//! High availability on a real three-member etcd cluster: daemon replicas share a stack's
//! shards (one per region), take over a killed replica's shards, never write a shard another
//! replica has taken (even after a SIGSTOP longer than the TTL), stop writing when etcd loses
//! quorum, and never interleave with a `kvsync apply --coordination`.
//!
//! Each replica signs with its own access key, so the emulator's request journal says who made
//! every call, in the order the emulator accepted them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kvsync::api::actions::{Class, class_of};
use serde_json::Value;

use crate::daemon::{Daemon, wait_until};
use crate::etcd_member::EtcdCluster;
use crate::support::{EmulatorProcess, http_get, http_get_json, kvsync, texts};

/// The lease TTL of the replicas under test (the shortest sensible one, for quick tests).
const TTL: Duration = Duration::from_secs(3);

/// Twelve regions the emulator serves, with a zone of each.
pub(crate) const REGIONS: [(&str, &str); 12] = [
    ("cn-hangzhou", "cn-hangzhou-h"),
    ("cn-shanghai", "cn-shanghai-b"),
    ("cn-beijing", "cn-beijing-a"),
    ("cn-shenzhen", "cn-shenzhen-a"),
    ("ap-southeast-1", "ap-southeast-1a"),
    ("us-west-1", "us-west-1a"),
    ("eu-central-1", "eu-central-1a"),
    ("cn-qingdao", "cn-qingdao-b"),
    ("cn-zhangjiakou", "cn-zhangjiakou-a"),
    ("cn-huhehaote", "cn-huhehaote-a"),
    ("cn-chengdu", "cn-chengdu-a"),
    ("ap-northeast-1", "ap-northeast-1a"),
];

/// The access key id a replica (or a CLI run) named `name` signs with.
pub(crate) fn key_id(name: &str) -> String {
    format!("LTAI-{name}")
}

fn key_secret(name: &str) -> String {
    format!("secret-of-{name}")
}

/// The emulator's `--key` flags accepting every name's key pair.
pub(crate) fn key_flags(names: &[String]) -> Vec<String> {
    names
        .iter()
        .flat_map(|name| {
            [
                "--key".to_owned(),
                format!("{}:{}", key_id(name), key_secret(name)),
            ]
        })
        .collect()
}

/// A manifest text: stack `stack` homed in the first region, with `per_region` instances in
/// each of `regions`, each with a whitelist (so each takes a create and a later write).
pub(crate) fn stack_text(stack: &str, regions: &[(&str, &str)], per_region: usize) -> String {
    let mut text = format!(
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {{name: {stack}}}\nspec: {{region: {}}}\n",
        regions[0].0
    );
    for (region, zone) in regions {
        for n in 0..per_region {
            text.push_str(&instance_text(
                &format!("{stack}-{region}-{n}"),
                region,
                zone,
            ));
        }
    }
    text
}

/// One instance document.
pub(crate) fn instance_text(name: &str, region: &str, zone: &str) -> String {
    format!(
        "---\napiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {name}, region: {region}}}\n\
         spec:\n  instanceClass: redis.master.small.default\n  zoneId: {zone}\n  \
         releaseProtection: false\n  whitelists:\n    app: [10.0.1.0/24]\n"
    )
}

/// A directory of its own (as on its own machine) with `text` as its manifests.
pub(crate) fn checkout(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("manifests")).unwrap();
    std::fs::write(dir.path().join("manifests/stack.yaml"), text).unwrap();
    dir
}

/// A `kvsync` command in `dir` against the emulator, signed with `name`'s key.
pub(crate) fn kvsync_as(dir: &Path, emulator: &EmulatorProcess, name: &str) -> Command {
    let mut command = kvsync(dir);
    command.args([
        "--endpoint",
        &emulator.url,
        "--access-key-id",
        &key_id(name),
        "--access-key-secret",
        &key_secret(name),
    ]);
    command
}

/// One daemon replica in its own checkout.
pub(crate) struct Replica {
    pub(crate) name: String,
    pub(crate) daemon: Daemon,
    pub(crate) dir: tempfile::TempDir,
}

impl Replica {
    /// Starts replica `name` on `text` with the cluster at `coordination`, plus `extra` flags.
    pub(crate) fn start(
        name: &str,
        text: &str,
        emulator: &EmulatorProcess,
        coordination: &str,
        extra: &[&str],
    ) -> Replica {
        let dir = checkout(text);
        let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
        let mut command = kvsync_as(dir.path(), emulator, name);
        command
            .args(["daemon", "--listen", "127.0.0.1:0", "--debounce", "300ms"])
            .args(["--mode", "apply", "--interval", "2s"])
            .args(["--coordination", coordination, "--replica", name])
            .args(["--coordination-ttl", &format!("{}s", TTL.as_secs())])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log);
        Replica {
            name: name.to_owned(),
            daemon: Daemon::spawn(command),
            dir,
        }
    }

    pub(crate) fn status(&self) -> Value {
        self.daemon.status()
    }

    /// The `coordination` object of `/status`.
    pub(crate) fn coordination(&self) -> Value {
        self.status()["coordination"].clone()
    }

    /// How many shards it holds.
    pub(crate) fn held(&self) -> usize {
        self.coordination()["shards_held"]
            .as_array()
            .map_or(0, Vec::len)
    }

    /// `/readyz`'s status code.
    pub(crate) fn readyz(&self) -> u16 {
        http_get(&format!("{}/readyz", self.daemon.url)).0
    }

    pub(crate) fn pid(&self) -> i32 {
        i32::try_from(self.daemon.child.id()).unwrap()
    }

    pub(crate) fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        let result = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(result, 0, "kill({}, {signal})", self.pid());
    }

    /// Its log so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }
}

/// One request the emulator accepted: who signed it and what it was.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) key: String,
    pub(crate) action: String,
}

impl Call {
    /// Whether it changes something, as the action's declaration says (an undeclared
    /// action counts as a write).
    pub(crate) fn is_write(&self) -> bool {
        !matches!(class_of(&self.action), Some(Class::Read))
    }
}

/// The emulator's request journal, oldest first.
pub(crate) fn journal(emulator: &EmulatorProcess) -> Vec<Call> {
    let body = http_get_json(&format!("{}/_emulator/requests", emulator.url));
    body.as_array()
        .unwrap_or_else(|| panic!("unexpected journal {body}"))
        .iter()
        .map(|entry| Call {
            key: entry["access_key_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            action: entry["action"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// How many instances of each name the emulator holds.
pub(crate) fn instance_counts(emulator: &EmulatorProcess) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for instance in emulator.instances() {
        let name = instance["InstanceName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

/// Every instance name of `stack_text(stack, regions, per_region)`.
pub(crate) fn names(stack: &str, regions: &[(&str, &str)], per_region: usize) -> BTreeSet<String> {
    regions
        .iter()
        .flat_map(|(region, _)| (0..per_region).map(move |n| format!("{stack}-{region}-{n}")))
        .collect()
}

/// Whether the emulator holds exactly one instance of each of `wanted`, each Normal with its
/// `app` whitelist (its last step).
pub(crate) fn converged(emulator: &EmulatorProcess, wanted: &BTreeSet<String>) -> bool {
    let mut seen = BTreeSet::new();
    for instance in emulator.instances() {
        let name = instance["InstanceName"].as_str().unwrap_or_default();
        if !wanted.contains(name) {
            continue;
        }
        let whitelisted = instance["SecurityIpGroups"]
            .as_array()
            .is_some_and(|groups| groups.iter().any(|g| g == "app"));
        if !seen.insert(name.to_owned()) || instance["InstanceStatus"] != "Normal" || !whitelisted {
            return false;
        }
    }
    seen.len() == wanted.len()
}

fn assert_no_duplicates(emulator: &EmulatorProcess) {
    let counts = instance_counts(emulator);
    let duplicates: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "duplicate instances: {duplicates:?}");
}

#[test]
fn ha_three_replicas_share_twelve_shards_and_take_over_a_killed_ones() {
    let mut etcd = EtcdCluster::start(3);
    let root = tempfile::tempdir().unwrap();
    let names_of: Vec<String> = ["r1", "r2", "r3"].map(str::to_owned).to_vec();
    let mut flags = vec!["--create-seconds".to_owned(), "3".to_owned()];
    flags.extend(key_flags(&names_of));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let emulator = EmulatorProcess::start(root.path(), &flags);
    // The replicas first converge a stack of one instance per region, so every replica is
    // registered and holds its share before the apply under test begins.
    let text = stack_text("fleet", &REGIONS, 1);
    let extra = ["--parallelism", "2"];
    let mut replicas: Vec<Replica> = names_of
        .iter()
        .map(|name| Replica::start(name, &text, &emulator, &etcd.flag(), &extra))
        .collect();

    // A fair share each: 4 ± 1 of the 12, every shard held by exactly one of them.
    wait_until("a balanced share", Duration::from_secs(60), || {
        let held: Vec<usize> = replicas.iter().map(Replica::held).collect();
        held.iter().sum::<usize>() == 12 && held.iter().all(|n| (3..=5).contains(n))
    });
    let holders = replicas[0].coordination()["holders"].clone();
    let by_holder: BTreeSet<&str> = holders
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(holders.as_object().unwrap().len(), 12, "{holders:#}");
    assert_eq!(by_holder, ["r1", "r2", "r3"].into(), "{holders:#}");
    wait_until("the first convergence", Duration::from_secs(90), || {
        converged(&emulator, &names("fleet", &REGIONS, 1))
    });

    // The apply under test: a second instance in every region, each replica in its shards.
    let text = stack_text("fleet", &REGIONS, 2);
    let wanted = names("fleet", &REGIONS, 2);
    let started = journal(&emulator).len();
    for replica in &replicas {
        std::fs::write(replica.dir.path().join("manifests/stack.yaml"), &text).unwrap();
    }
    // Kill r2 while it applies: after its first create, before the fleet converges.
    let victim = &replicas[1];
    let victim_key = key_id(&victim.name);
    wait_until("the victim's first create", Duration::from_secs(60), || {
        journal(&emulator)[started..]
            .iter()
            .any(|call| call.key == victim_key && call.action == "CreateInstance")
    });
    let victim_shards: Vec<String> = victim.coordination()["shards_held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert!(!converged(&emulator, &wanted), "the apply was already over");
    victim.signal(libc::SIGKILL);
    let killed_at = Instant::now();
    let victim = replicas.remove(1);
    drop(victim);

    // The survivors take its shards (6 each) and report a takeover.
    wait_until("the takeover", TTL * 10, || {
        replicas.iter().map(Replica::held).sum::<usize>() == 12
    });
    let takeover = killed_at.elapsed();
    let survivors: Vec<Value> = replicas.iter().map(Replica::coordination).collect();
    let takeovers: u64 = survivors
        .iter()
        .map(|c| c["takeovers"].as_u64().unwrap())
        .sum();
    assert!(
        takeovers >= victim_shards.len() as u64,
        "takeovers {takeovers} of {victim_shards:?}: {survivors:#?}"
    );
    for shard in &victim_shards {
        let holder = survivors[0]["holders"][shard].as_str().unwrap_or_default();
        assert!(["r1", "r3"].contains(&holder), "{shard} held by {holder}");
    }
    eprintln!("takeover {takeover:?} after SIGKILL (TTL {TTL:?})");
    // Any replica's metrics name every shard's holder, and count the takeovers.
    let (code, metrics) = http_get(&format!("{}/metrics", replicas[0].daemon.url));
    assert_eq!(code, 200);
    let holder_lines: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("kvsync_coordination_shard_holder{"))
        .collect();
    assert_eq!(holder_lines.len(), 12, "{metrics}");
    for shard in &victim_shards {
        assert!(
            holder_lines
                .iter()
                .any(|line| line.contains(&format!("shard=\"{shard}\""))
                    && !line.contains("holder=\"r2\"")),
            "{shard}: {holder_lines:#?}"
        );
    }
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("kvsync_coordination_takeovers_total")),
        "{metrics}"
    );
    // The survivors told of the shards they took.
    let taken: Vec<String> = replicas
        .iter()
        .flat_map(|replica| {
            http_get_json(&format!("{}/events", replica.daemon.url))
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|event| event["kind"] == "shard_taken")
        .map(|event| event.to_string())
        .collect();
    for shard in &victim_shards {
        assert!(
            taken.iter().any(|event| event.contains(shard.as_str())),
            "no shard_taken event for {shard}: {taken:#?}"
        );
    }

    // Everything converges, once: no duplicate instance, whoever created it.
    wait_until("convergence", Duration::from_secs(120), || {
        converged(&emulator, &wanted)
    });
    assert_no_duplicates(&emulator);
    assert_eq!(instance_counts(&emulator).len(), wanted.len());
    // Each survivor wrote only in regions it held when it wrote: no call by the dead replica
    // after it died (it cannot), and both survivors did work.
    let calls = journal(&emulator);
    for replica in &replicas {
        let key = key_id(&replica.name);
        assert!(
            calls.iter().any(|call| call.key == key && call.is_write()),
            "{} never wrote:\n{}",
            replica.name,
            replica.log()
        );
    }
    // A stopped etcd member (quorum holds) changes nothing visible.
    etcd.stop(2);
    std::thread::sleep(TTL * 2);
    for replica in &replicas {
        assert_eq!(replica.readyz(), 200, "{:#}", replica.status());
        assert_eq!(replica.coordination()["healthy"], true);
    }
    assert_eq!(replicas.iter().map(Replica::held).sum::<usize>(), 12);
}

/// One fencing trial: replica `a` holds the only shard of its stack and applies slowly;
/// SIGSTOP it `pause_after` after its first write, for longer than the TTL; `b` takes the
/// shard and writes; SIGCONT `a`. No write by `a` may follow `b`'s first write.
fn fencing_trial(
    etcd: &EtcdCluster,
    emulator: &EmulatorProcess,
    trial: usize,
    pause_after: Duration,
) {
    let stack = format!("fence{trial}");
    let region = [REGIONS[0]];
    let text = stack_text(&stack, &region, 6);
    let (a_name, b_name) = (format!("a{trial}"), format!("b{trial}"));
    let (a_key, b_key) = (key_id(&a_name), key_id(&b_name));
    let extra = ["--parallelism", "1"];
    let a = Replica::start(&a_name, &text, emulator, &etcd.flag(), &extra);
    wait_until("a holds the shard", Duration::from_secs(30), || {
        a.held() == 1
    });
    let b = Replica::start(&b_name, &text, emulator, &etcd.flag(), &extra);
    wait_until("b registers", Duration::from_secs(30), || {
        b.coordination()["replicas"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
    });
    assert_eq!(b.held(), 0);

    wait_until("a's first write", Duration::from_secs(30), || {
        journal(emulator)
            .iter()
            .any(|c| c.key == a_key && c.is_write())
    });
    std::thread::sleep(pause_after);
    a.signal(libc::SIGSTOP);
    wait_until("b takes the shard", TTL * 10, || b.held() == 1);
    wait_until("b's first write", Duration::from_secs(30), || {
        journal(emulator)
            .iter()
            .any(|c| c.key == b_key && c.is_write())
    });
    a.signal(libc::SIGCONT);
    // Give the woken replica time to do whatever it would: finish its step, try the next.
    std::thread::sleep(TTL + Duration::from_secs(2));

    let calls = journal(emulator);
    let first_b = calls
        .iter()
        .position(|c| c.key == b_key && c.is_write())
        .unwrap();
    let late: Vec<&Call> = calls[first_b..]
        .iter()
        .filter(|c| c.key == a_key && c.is_write())
        .collect();
    assert!(
        late.is_empty(),
        "trial {trial} (pause after {pause_after:?}): the paused replica wrote after the new \
         holder's first write: {late:?}\n{}",
        a.log()
    );
    // The woken replica knows it lost the shard and does not hold it.
    wait_until("a gives up the shard", TTL * 5, || a.held() == 0);
    assert_eq!(b.held(), 1);
}

#[test]
fn ha_a_replica_paused_past_its_lease_never_writes_after_the_new_holder() {
    let etcd = EtcdCluster::start(3);
    let root = tempfile::tempdir().unwrap();
    let all: Vec<String> = (0..10)
        .flat_map(|trial| [format!("a{trial}"), format!("b{trial}")])
        .collect();
    let mut flags = vec!["--create-seconds".to_owned(), "1.5".to_owned()];
    flags.extend(key_flags(&all));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let emulator = EmulatorProcess::start(root.path(), &flags);
    for trial in 0..10 {
        // Ten moments: right after the first write, and then every 0.37 s into the apply,
        // landing in creates, waits for Normal, and whitelist writes.
        let pause_after = Duration::from_millis(370 * trial as u64);
        fencing_trial(&etcd, &emulator, trial, pause_after);
    }
    assert_no_duplicates(&emulator);
}

#[test]
fn ha_losing_etcd_quorum_stops_every_write_and_the_replicas_resume_after() {
    let mut etcd = EtcdCluster::start(3);
    let root = tempfile::tempdir().unwrap();
    let names_of: Vec<String> = ["q1", "q2"].map(str::to_owned).to_vec();
    let mut flags = key_flags(&names_of);
    flags.extend(["--create-seconds".to_owned(), "0.5".to_owned()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let emulator = EmulatorProcess::start(root.path(), &flags);
    let regions = &REGIONS[..4];
    let text = stack_text("quorum", regions, 1);
    let mut wanted = names("quorum", regions, 1);
    let replicas: Vec<Replica> = names_of
        .iter()
        .map(|name| Replica::start(name, &text, &emulator, &etcd.flag(), &[]))
        .collect();
    wait_until("convergence", Duration::from_secs(60), || {
        converged(&emulator, &wanted) && replicas.iter().map(Replica::held).sum::<usize>() == 4
    });
    wait_until("both ready", Duration::from_secs(30), || {
        replicas.iter().all(|r| r.readyz() == 200)
    });

    etcd.stop(1);
    etcd.stop(2);
    let lost_at = Instant::now();
    wait_until("the last member to lose its leader", TTL * 3, || {
        !etcd.has_quorum()
    });
    wait_until("both unready", TTL * 3, || {
        replicas.iter().all(|r| r.readyz() != 200)
    });
    eprintln!("readyz failed {:?} after quorum loss", lost_at.elapsed());
    // /status goes on and says why.
    for replica in &replicas {
        let coordination = replica.coordination();
        assert_eq!(coordination["healthy"], false, "{coordination:#}");
        assert!(
            coordination["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{coordination:#}"
        );
    }
    // Writes stopped within the TTL of the loss; a change now is not written, but read.
    let before_change = journal(&emulator).len();
    let extra = instance_text("quorum-late", regions[1].0, regions[1].1);
    for replica in &replicas {
        let path = replica.dir.path().join("manifests/stack.yaml");
        std::fs::write(&path, format!("{text}{extra}")).unwrap();
    }
    std::thread::sleep(TTL * 3);
    let calls = journal(&emulator);
    let writes: Vec<&Call> = calls[before_change..]
        .iter()
        .filter(|c| c.is_write())
        .collect();
    assert!(writes.is_empty(), "written without quorum: {writes:?}");
    assert!(
        calls[before_change..]
            .iter()
            .any(|c| c.action == "DescribeInstances"),
        "reads stopped too"
    );
    assert!(!instance_counts(&emulator).contains_key("quorum-late"));
    for replica in &replicas {
        let status = replica.status();
        assert!(
            status["cycle_error"]
                .as_str()
                .is_some_and(|e| e.contains("no changes were sent")),
            "{status:#}"
        );
    }

    etcd.restart(1);
    etcd.restart(2);
    etcd.wait_quorum(Duration::from_secs(30));
    wanted.insert("quorum-late".to_owned());
    wait_until(
        "convergence after quorum is back",
        Duration::from_secs(90),
        || converged(&emulator, &wanted),
    );
    wait_until("both ready again", Duration::from_secs(30), || {
        replicas.iter().all(|r| r.readyz() == 200)
    });
    assert_no_duplicates(&emulator);
    assert_eq!(instance_counts(&emulator)["quorum-late"], 1);
}

#[test]
fn ha_an_apply_never_interleaves_with_a_daemon_holding_the_shard() {
    let etcd = EtcdCluster::start(3);
    let root = tempfile::tempdir().unwrap();
    let names_of: Vec<String> = ["d1", "ci"].map(str::to_owned).to_vec();
    let mut flags = key_flags(&names_of);
    flags.extend(["--create-seconds".to_owned(), "1".to_owned()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let emulator = EmulatorProcess::start(root.path(), &flags);
    let region = [REGIONS[0]];
    let text = stack_text("shared", &region, 1);
    let apply = |dir: &Path, timeout: &str| {
        let mut command = kvsync_as(dir, &emulator, "ci");
        command.args(["apply", "--auto-approve", "--coordination", &etcd.flag()]);
        command.args(["--coordination-ttl", "3s", "--lock-timeout", timeout]);
        command
    };

    // A CI run that starts first holds the shard for its whole (slow) apply; the daemon
    // started meanwhile waits for it, and writes only after the run's last write.
    let ci_dir = checkout(&stack_text("shared", &region, 4));
    let ci = apply(ci_dir.path(), "10s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the run's first create", Duration::from_secs(30), || {
        journal(&emulator)
            .iter()
            .any(|c| c.key == key_id("ci") && c.action == "CreateInstance")
    });
    let daemon_text = format!(
        "{text}{}",
        instance_text("shared-daemon-only", region[0].0, region[0].1)
    );
    let daemon = Replica::start("d1", &daemon_text, &emulator, &etcd.flag(), &[]);
    let ci = ci.wait_with_output().unwrap();
    assert_eq!(ci.status.code(), Some(0), "{:?}", texts(&ci));
    wait_until("the daemon holds the shard", TTL * 5, || daemon.held() == 1);
    wait_until("the daemon's own instance", Duration::from_secs(60), || {
        instance_counts(&emulator).contains_key("shared-daemon-only")
    });
    let calls = journal(&emulator);
    let last_ci = calls
        .iter()
        .rposition(|c| c.key == key_id("ci") && c.is_write())
        .unwrap();
    let early: Vec<&Call> = calls[..last_ci]
        .iter()
        .filter(|c| c.key == key_id("d1") && c.is_write())
        .collect();
    assert!(
        early.is_empty(),
        "the daemon wrote during the run: {early:?}"
    );

    // Now the daemon holds the shard: a run waits --lock-timeout, refuses naming the replica,
    // and sends nothing.
    let before = journal(&emulator).len();
    let other = checkout(&stack_text("shared", &region, 5));
    let refused = apply(other.path(), "2s").output().unwrap();
    let (stdout, stderr) = texts(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("held by another kvsync run")
            && stderr.contains("replica d1")
            && stderr.contains("/kvsync/v1/shards/_/shared/cn-hangzhou"),
        "{stderr}"
    );
    let writes: Vec<Call> = journal(&emulator)[before..]
        .iter()
        .filter(|c| c.key == key_id("ci"))
        .cloned()
        .collect();
    assert!(writes.is_empty(), "the refused run called: {writes:?}");
    assert_no_duplicates(&emulator);
}
