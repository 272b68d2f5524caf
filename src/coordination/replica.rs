//! A daemon replica in an etcd cluster: registered under a lease, holding its fair share of
//! the shards under the same lease, handing the surplus over between cycles.
//!
//! Keys (all under [`PREFIX`]):
//! - `/kvsync/v1/replicas/<name>`: the replica, put with its lease; the value names its stack
//!   and its process (JSON). Replicas count each other only when they serve the same stack.
//! - `/kvsync/v1/shards/<account-or-_>/<stack>/<region>`: the shard's holder, put with the
//!   holder's lease ([`Shard::key`]). A key whose lease is no registered replica's belongs to
//!   another run (a CLI `apply --coordination`) and is left alone.
//!
//! One pass ([`Replica::pass`]) reads everything under the prefix at one revision, computes
//! the assignment ([`share::moves`]), claims the shards assigned to this replica that no one
//! holds (a transaction that puts the key only if it does not exist), and — only when no
//! cycle is running — hands over the shards assigned elsewhere (a transaction that deletes the
//! key only if it still carries this lease). Passes run at start, every third of the TTL, at
//! every change under the prefix (a watch), when the shards change and after every cycle.
//!
//! Fencing: [`Replica::may_write`] is true only while the lease's last confirmed renewal is
//! younger than TTL − TTL/3 and the last pass saw the shard's key under this lease. Another
//! replica can take the key only after etcd deleted it, which is at least a TTL after that
//! renewal was sent; the third of the TTL in between is the margin for a write already on its
//! way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp, WatchOptions};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Shard;
use super::cluster::{Cluster, is_member_failure};
use super::lease::{Renewal, keep_alive};
use super::share::{self, Holder};

/// Everything kvsync keeps in etcd lives under this prefix.
pub const PREFIX: &str = "/kvsync/v1/";
const REPLICAS: &str = "/kvsync/v1/replicas/";
const SHARDS: &str = "/kvsync/v1/shards/";

/// How a replica joins.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// The client endpoints, `http://HOST:PORT`.
    pub endpoints: Vec<String>,
    /// The lease TTL (whole seconds, at least 2).
    pub ttl: Duration,
    /// This replica's name, unique among the live replicas.
    pub name: String,
}

/// What a replica tells the daemon's status: its view of the cluster and its own counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReplicaReport {
    /// `etcd`.
    pub mechanism: &'static str,
    /// This replica's name.
    pub replica: String,
    /// The etcd endpoints.
    pub endpoints: String,
    /// Whether this replica may write now (lease renewed in time, last pass succeeded).
    pub healthy: bool,
    /// Why not, when it is not.
    pub error: Option<String>,
    /// The lease TTL, in seconds.
    pub ttl_secs: u64,
    /// Seconds since the last confirmed renewal was sent (writes stop at `write_limit_secs`).
    pub lease_age_secs: f64,
    /// The age of the last renewal up to which this replica writes: TTL − TTL/3.
    pub write_limit_secs: f64,
    /// The shards this replica holds, as `stack/region` (`account:stack/region` with an
    /// account).
    pub shards_held: Vec<String>,
    /// The live replicas of this stack, by name.
    pub replicas: Vec<String>,
    /// Every shard of the stack and who holds it: a replica's name, `another run`, or `none`.
    pub holders: BTreeMap<String, String>,
    /// Lease renewals etcd confirmed.
    pub lease_renewals: u64,
    /// Lease renewals that failed.
    pub lease_renewal_failures: u64,
    /// Shards taken from a replica that is gone (its lease ended).
    pub takeovers: u64,
    /// How long the last takeover took: from first seeing the shard's previous holder gone to
    /// holding it, in seconds.
    pub last_takeover_secs: Option<f64>,
    /// Shards handed over to another replica at the end of a cycle.
    pub handovers: u64,
}

/// What the daemon learns from a replica as it happens.
pub struct Hooks {
    /// The replica took shards: a cycle should reconcile them.
    pub gained: Box<dyn Fn() + Send + Sync>,
    /// A new report after each pass and renewal period.
    pub report: Box<dyn Fn(ReplicaReport) + Send + Sync>,
}

/// The value of a replica's key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Registration {
    stack: Option<String>,
    holder: String,
}

/// One grant of the lease and what hangs on it.
struct Lease {
    id: i64,
    renewal: Arc<Renewal>,
    keeper: JoinHandle<()>,
    /// The stack the replica key says, as last put.
    registered: Registration,
}

#[derive(Default)]
struct State {
    client: Option<Client>,
    lease: Option<Lease>,
    stack: Option<String>,
    shards: BTreeSet<Shard>,
    held: BTreeSet<Shard>,
    replicas: BTreeSet<String>,
    holders: BTreeMap<Shard, Holder>,
    error: Option<String>,
    /// When each shard was first seen without its previous holder (a gone replica).
    orphaned: BTreeMap<Shard, Instant>,
    takeovers: u64,
    last_takeover: Option<Duration>,
    handovers: u64,
    /// Renewals and failures of leases granted before the current one.
    past_renewals: (u64, u64),
    watcher: Option<JoinHandle<()>>,
}

struct Inner {
    settings: ReplicaSettings,
    /// The etcd members, one in use at a time.
    cluster: Cluster,
    /// Set when an etcd call of the current pass failed for want of a member (not by etcd's
    /// refusal): the pass is tried again on the next member.
    member_failed: AtomicBool,
    holder: String,
    state: Mutex<State>,
    wake: Notify,
    /// Held by the daemon for the length of a cycle: hand-overs wait for it.
    cycle: Arc<tokio::sync::Mutex<()>>,
    /// One pass at a time.
    passing: tokio::sync::Mutex<()>,
    /// The replica left: the membership loop ends.
    left: AtomicBool,
}

/// A daemon replica's membership; cheap to clone.
#[derive(Clone)]
pub struct Replica {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("name", &self.inner.settings.name)
            .finish_non_exhaustive()
    }
}

/// Why a replica name is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replica name {0:?}: use 1 to 64 letters, digits, '.', '_' or '-'")]
pub struct NameError(pub String);

/// Checks a replica name: 1 to 64 of `A-Za-z0-9._-`.
pub fn check_name(name: &str) -> Result<(), NameError> {
    let fine = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if fine {
        Ok(())
    } else {
        Err(NameError(name.to_owned()))
    }
}

/// The default replica name: the host name and the process ID.
pub fn default_name() -> String {
    let host: String = crate::lock::host_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    format!("{host}-{}", std::process::id())
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Replica {
    /// Starts the replica's membership in the background: it registers, claims and renews
    /// until [`Replica::leave`]. It never fails: etcd trouble shows in the reports.
    pub fn start(settings: ReplicaSettings, hooks: Hooks) -> Replica {
        let holder = super::holder_text("kvsync daemon");
        let replica = Replica {
            inner: Arc::new(Inner {
                cluster: Cluster::new(settings.endpoints.clone()),
                member_failed: AtomicBool::new(false),
                settings,
                holder,
                state: Mutex::new(State::default()),
                wake: Notify::new(),
                cycle: Arc::new(tokio::sync::Mutex::new(())),
                passing: tokio::sync::Mutex::new(()),
                left: AtomicBool::new(false),
            }),
        };
        let background = replica.clone();
        tokio::spawn(async move { background.membership(hooks).await });
        replica
    }

    /// This replica's name.
    pub fn name(&self) -> &str {
        &self.inner.settings.name
    }

    /// Declares the stack and its shards (from the manifests in force) and, when they
    /// changed, runs a pass at once so the cycle about to start sees the shards it holds.
    pub async fn describe(&self, stack: &str, shards: BTreeSet<Shard>) {
        let changed = {
            let mut state = lock(&self.inner.state);
            let changed = state.stack.as_deref() != Some(stack) || state.shards != shards;
            state.stack = Some(stack.to_owned());
            state.shards = shards;
            changed
        };
        if changed {
            let _ = self.pass().await;
        }
    }

    /// The shards held, as the last pass saw them.
    pub fn held(&self) -> BTreeSet<Shard> {
        lock(&self.inner.state).held.clone()
    }

    /// Why this replica may not write now, if it may not: its lease was not renewed in time,
    /// or etcd could not be read.
    pub fn trouble(&self) -> Option<String> {
        let state = lock(&self.inner.state);
        trouble(&state, self.inner.settings.ttl)
    }

    /// Whether a write to `shard` may go out now: the lease's last confirmed renewal is
    /// younger than TTL − TTL/3 and the last pass saw the shard's key under this lease. A
    /// local check, without asking etcd.
    pub fn may_write(&self, shard: &Shard) -> bool {
        let state = lock(&self.inner.state);
        state
            .lease
            .as_ref()
            .is_some_and(|lease| lease.renewal.fresh())
            && state.held.contains(shard)
    }

    /// Marks a cycle as running until the returned guard drops: shards are handed over only
    /// between cycles, never in the middle of an instance's steps.
    pub async fn cycle(&self) -> CycleGuard {
        let guard = Arc::clone(&self.inner.cycle).lock_owned().await;
        CycleGuard {
            _guard: guard,
            replica: self.clone(),
        }
    }

    /// Leaves the cluster: stops renewing and revokes the lease, which frees every shard at
    /// once for the other replicas.
    pub async fn leave(&self) {
        self.inner.left.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
        let _one = self.inner.passing.lock().await;
        let (client, lease, watcher) = {
            let mut state = lock(&self.inner.state);
            state.held.clear();
            (
                state.client.clone(),
                state.lease.take(),
                state.watcher.take(),
            )
        };
        if let Some(watcher) = watcher {
            watcher.abort();
        }
        if let (Some(mut client), Some(lease)) = (client, lease) {
            lease.keeper.abort();
            let revoke = client.lease_revoke(lease.id);
            match tokio::time::timeout(Duration::from_secs(3), revoke).await {
                Ok(Ok(_)) => info!(replica = %self.name(), "left the cluster; shards released"),
                _ => warn!(
                    replica = %self.name(),
                    "could not revoke the lease; its shards are free when its TTL ends"
                ),
            }
        }
    }

    /// The report of this replica now.
    pub fn report(&self) -> ReplicaReport {
        let state = lock(&self.inner.state);
        let settings = &self.inner.settings;
        let (renewals, failures) = state.past_renewals;
        let lease = state.lease.as_ref();
        let error = trouble(&state, settings.ttl);
        let display = |shard: &Shard| match &shard.account {
            Some(account) => format!("{account}:{}/{}", shard.stack, shard.region),
            None => format!("{}/{}", shard.stack, shard.region),
        };
        let holders = state
            .shards
            .iter()
            .map(|shard| {
                let holder = match state.holders.get(shard) {
                    Some(Holder::Replica(name)) => name.clone(),
                    Some(Holder::Other) => "another run".to_owned(),
                    None => "none".to_owned(),
                };
                (display(shard), holder)
            })
            .collect();
        ReplicaReport {
            mechanism: "etcd",
            replica: settings.name.clone(),
            endpoints: settings.endpoints.join(","),
            healthy: error.is_none(),
            error,
            ttl_secs: settings.ttl.as_secs(),
            lease_age_secs: lease.map_or(0.0, |l| l.renewal.age().as_secs_f64()),
            write_limit_secs: (settings.ttl - settings.ttl / 3).as_secs_f64(),
            shards_held: state.held.iter().map(display).collect(),
            replicas: state.replicas.iter().cloned().collect(),
            holders,
            lease_renewals: renewals + lease.map_or(0, |l| l.renewal.renewals()),
            lease_renewal_failures: failures + lease.map_or(0, |l| l.renewal.failures()),
            takeovers: state.takeovers,
            last_takeover_secs: state.last_takeover.map(|d| d.as_secs_f64()),
            handovers: state.handovers,
        }
    }

    /// Passes until the replica leaves: at start, every third of the TTL, and when woken.
    async fn membership(self, hooks: Hooks) {
        let period = self.inner.settings.ttl / 3;
        loop {
            match self.pass().await {
                Ok(true) => (hooks.gained)(),
                Ok(false) => {}
                Err(error) => {
                    let first = {
                        let mut state = lock(&self.inner.state);
                        let first = state.error.as_deref() != Some(error.as_str());
                        state.error = Some(error.clone());
                        first
                    };
                    if first {
                        warn!(replica = %self.name(), error = %error, "coordination");
                    }
                }
            }
            (hooks.report)(self.report());
            if self.inner.left.load(Ordering::SeqCst) {
                return;
            }
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(period) => {}
            }
            if self.inner.left.load(Ordering::SeqCst) {
                return;
            }
            let never_connected = lock(&self.inner.state).client.is_none();
            if never_connected {
                // etcd is not reachable: do not spin on wake-ups.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// One pass: connect and register if needed, read the cluster, claim and hand over.
    /// `Ok(true)` when shards were taken.
    pub async fn pass(&self) -> Result<bool, String> {
        let _one = self.inner.passing.lock().await;
        if self.inner.left.load(Ordering::SeqCst) {
            return Ok(false);
        }
        // A member that stopped answering is replaced by the next one within the same pass,
        // so a member dying while quorum holds is not seen as trouble.
        let attempts = self.inner.settings.endpoints.len().max(1);
        let mut attempt = 1;
        loop {
            self.inner.member_failed.store(false, Ordering::SeqCst);
            match self.pass_on_one_member().await {
                Err(err)
                    if attempt < attempts && self.inner.member_failed.load(Ordering::SeqCst) =>
                {
                    debug!(replica = %self.name(), error = %err, "an etcd member failed; trying the next");
                    self.drop_member();
                    attempt += 1;
                }
                Err(err) => {
                    if self.inner.member_failed.load(Ordering::SeqCst) {
                        self.drop_member();
                    }
                    return Err(err);
                }
                Ok(gained) => {
                    lock(&self.inner.state).error = None;
                    return Ok(gained);
                }
            }
        }
    }

    async fn pass_on_one_member(&self) -> Result<bool, String> {
        let client = self.connect().await?;
        self.register(&client).await?;
        self.rebalance(&client).await
    }

    /// Forgets the member in use (and its watch): the next call connects to the next member.
    fn drop_member(&self) {
        self.inner.cluster.member_failed();
        let mut state = lock(&self.inner.state);
        state.client = None;
        if let Some(watcher) = state.watcher.take() {
            watcher.abort();
        }
    }

    async fn connect(&self) -> Result<Client, String> {
        if let Some(client) = lock(&self.inner.state).client.clone() {
            return Ok(client);
        }
        let client = self
            .inner
            .cluster
            .connect()
            .await
            .map_err(|err| self.etcd_error("connecting", &err))?;
        let mut state = lock(&self.inner.state);
        state.watcher = Some(tokio::spawn(watch(client.clone(), Arc::clone(&self.inner))));
        state.client = Some(client.clone());
        Ok(client)
    }

    fn etcd_error(&self, action: &str, err: &etcd_client::Error) -> String {
        if is_member_failure(err) {
            self.inner.member_failed.store(true, Ordering::SeqCst);
        }
        if super::lease::is_lease_gone(err)
            && let Some(lease) = lock(&self.inner.state).lease.as_ref()
        {
            lease.renewal.mark_lost();
        }
        format!(
            "etcd at {}: {action}: {err}",
            self.inner.settings.endpoints.join(",")
        )
    }

    /// Grants a lease and puts the replica's key when there is none (or etcd said the lease
    /// is gone), and updates the key's value when the stack changed.
    async fn register(&self, client: &Client) -> Result<(), String> {
        let mut client = client.clone();
        let key = format!("{REPLICAS}{}", self.name());
        let wanted = Registration {
            stack: lock(&self.inner.state).stack.clone(),
            holder: self.inner.holder.clone(),
        };
        let value = serde_json::to_string(&wanted).unwrap_or_default();
        let current = {
            let mut state = lock(&self.inner.state);
            if state.lease.as_ref().is_some_and(|l| l.renewal.lost()) {
                if let Some(old) = state.lease.take() {
                    old.keeper.abort();
                    state.past_renewals.0 += old.renewal.renewals();
                    state.past_renewals.1 += old.renewal.failures();
                }
                state.held.clear();
                warn!(replica = %self.name(), "the lease ended; registering again");
            }
            state.lease.as_ref().map(|l| (l.id, l.registered == wanted))
        };
        match current {
            Some((_, true)) => Ok(()),
            Some((id, false)) => {
                let txn = Txn::new()
                    .when([Compare::lease(key.as_str(), CompareOp::Equal, id)])
                    .and_then([TxnOp::put(
                        key.as_str(),
                        value,
                        Some(PutOptions::new().with_lease(id)),
                    )]);
                let answer = client
                    .txn(txn)
                    .await
                    .map_err(|err| self.etcd_error("updating the replica's key", &err))?;
                if answer.succeeded()
                    && let Some(lease) = lock(&self.inner.state).lease.as_mut()
                {
                    lease.registered = wanted;
                }
                Ok(())
            }
            None => {
                let ttl = i64::try_from(self.inner.settings.ttl.as_secs()).unwrap_or(i64::MAX);
                let granted_at = Instant::now();
                let id = client
                    .lease_grant(ttl, None)
                    .await
                    .map_err(|err| self.etcd_error("granting a lease", &err))?
                    .id();
                let answer = client
                    .txn(put_if_absent(&key, value, id))
                    .await
                    .map_err(|err| self.etcd_error("registering the replica", &err))?;
                if !answer.succeeded() {
                    let _ = client.lease_revoke(id).await;
                    return Err(format!(
                        "another live process is registered as replica {:?} in etcd; waiting \
                         for its lease to end (give each replica its own --replica name)",
                        self.name()
                    ));
                }
                let renewal = Arc::new(Renewal::new(self.inner.settings.ttl, granted_at));
                let keeper = tokio::spawn(keep_alive(
                    client.clone(),
                    self.inner.cluster.clone(),
                    id,
                    Arc::clone(&renewal),
                ));
                lock(&self.inner.state).lease = Some(Lease {
                    id,
                    renewal,
                    keeper,
                    registered: wanted,
                });
                info!(replica = %self.name(), lease = id, "registered");
                Ok(())
            }
        }
    }

    /// Reads the cluster at one revision, claims this replica's free shards and, between
    /// cycles, hands over its surplus. `Ok(true)` when shards were taken.
    async fn rebalance(&self, client: &Client) -> Result<bool, String> {
        let mut client = client.clone();
        let answer = client
            .get(PREFIX, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(|err| self.etcd_error("reading the replicas and shards", &err))?;
        let me = self.name().to_owned();
        let (my_lease, stack, shards) = {
            let state = lock(&self.inner.state);
            (
                state.lease.as_ref().map(|l| l.id),
                state.stack.clone(),
                state.shards.clone(),
            )
        };
        let Some(my_lease) = my_lease else {
            return Ok(false);
        };
        let mut replica_leases: BTreeMap<i64, String> = BTreeMap::new();
        let mut replicas = BTreeSet::new();
        for kv in answer.kvs() {
            let Some(name) = kv.key_str().ok().and_then(|k| k.strip_prefix(REPLICAS)) else {
                continue;
            };
            let registration: Option<Registration> = serde_json::from_slice(kv.value()).ok();
            if registration.is_some_and(|r| r.stack.is_some() && r.stack == stack) {
                replicas.insert(name.to_owned());
                replica_leases.insert(kv.lease(), name.to_owned());
            }
        }
        // This replica counts itself once its stack is known, even before its key says so.
        if stack.is_some() {
            replicas.insert(me.clone());
            replica_leases.insert(my_lease, me.clone());
        }
        let by_key: BTreeMap<String, &Shard> = shards.iter().map(|s| (s.key(), s)).collect();
        let mut holders: BTreeMap<Shard, Holder> = BTreeMap::new();
        for kv in answer.kvs() {
            let Ok(key) = kv.key_str() else { continue };
            if !key.starts_with(SHARDS) {
                continue;
            }
            let holder = match replica_leases.get(&kv.lease()) {
                Some(name) => Holder::Replica(name.clone()),
                None => Holder::Other,
            };
            match by_key.get(key) {
                Some(shard) => {
                    holders.insert((*shard).clone(), holder);
                }
                // A shard of this replica's that is no longer described: handed over.
                None if kv.lease() == my_lease => {
                    if let Some(shard) = parse_key(key) {
                        holders.insert(shard, holder);
                    }
                }
                None => {}
            }
        }
        let (claim, hand_over) = share::moves(&me, &shards, &replicas, &holders);
        self.note_orphans(&holders, &replicas);
        let mut gained = false;
        for shard in claim {
            let key = shard.key();
            let value = format!("replica {me}: {}", self.inner.holder);
            let taken = client
                .txn(put_if_absent(&key, value, my_lease))
                .await
                .map_err(|err| self.etcd_error("taking a shard", &err))?
                .succeeded();
            if taken {
                gained = true;
                holders.insert(shard.clone(), Holder::Replica(me.clone()));
                let mut state = lock(&self.inner.state);
                if let Some(since) = state.orphaned.remove(&shard) {
                    state.takeovers += 1;
                    state.last_takeover = Some(since.elapsed());
                    info!(replica = %me, stack = %shard.stack, region = %shard.region, after_ms = since.elapsed().as_millis() as u64, "took over a shard");
                } else {
                    info!(replica = %me, stack = %shard.stack, region = %shard.region, "took a shard");
                }
            }
        }
        // Hand-overs only between cycles; a cycle that is running keeps its shards.
        let handing = if hand_over.is_empty() {
            None
        } else {
            Arc::clone(&self.inner.cycle).try_lock_owned().ok()
        };
        if let Some(_between_cycles) = handing {
            for shard in hand_over {
                // No write may go out for it from the moment the hand-over starts.
                lock(&self.inner.state).held.remove(&shard);
                let key = shard.key();
                let txn = Txn::new()
                    .when([Compare::lease(key.as_str(), CompareOp::Equal, my_lease)])
                    .and_then([TxnOp::delete(key.as_str(), None)]);
                client
                    .txn(txn)
                    .await
                    .map_err(|err| self.etcd_error("handing a shard over", &err))?;
                holders.remove(&shard);
                lock(&self.inner.state).handovers += 1;
                info!(replica = %me, stack = %shard.stack, region = %shard.region, "handed a shard over");
            }
        }
        let mut state = lock(&self.inner.state);
        state.held = holders
            .iter()
            .filter(|(_, holder)| **holder == Holder::Replica(me.clone()))
            .map(|(shard, _)| shard.clone())
            .collect();
        state.replicas = replicas;
        state.holders = holders;
        Ok(gained)
    }

    /// Remembers when each shard was first seen free after a replica other than this one
    /// held it and is no longer registered, for timing takeovers.
    fn note_orphans(&self, holders: &BTreeMap<Shard, Holder>, replicas: &BTreeSet<String>) {
        let mut state = lock(&self.inner.state);
        let previous = std::mem::take(&mut state.holders);
        for (shard, holder) in previous {
            if let Holder::Replica(name) = holder
                && name != self.inner.settings.name
                && !replicas.contains(&name)
                && !holders.contains_key(&shard)
            {
                state.orphaned.entry(shard).or_insert_with(Instant::now);
            }
        }
        let held_now: Vec<Shard> = state
            .orphaned
            .keys()
            .filter(|shard| holders.contains_key(*shard))
            .cloned()
            .collect();
        for shard in held_now {
            state.orphaned.remove(&shard);
        }
        state.holders = holders.clone();
    }
}

/// Why the replica may not write, from its state.
fn trouble(state: &State, ttl: Duration) -> Option<String> {
    match &state.lease {
        None => Some(
            state
                .error
                .clone()
                .unwrap_or_else(|| "not registered in etcd yet".to_owned()),
        ),
        Some(lease) if !lease.renewal.fresh() => Some(format!(
            "the etcd lease was last renewed {:.1} s ago; writes stop {} s after a renewal \
             (TTL {} s less a third){}",
            lease.renewal.age().as_secs_f64(),
            (ttl - ttl / 3).as_secs_f64(),
            ttl.as_secs(),
            state
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        )),
        Some(_) => state.error.clone(),
    }
}

/// The shard a key names, if it is one.
fn parse_key(key: &str) -> Option<Shard> {
    let rest = key.strip_prefix(SHARDS)?;
    let mut parts = rest.splitn(3, '/');
    let account = parts.next()?;
    let stack = parts.next()?;
    let region = parts.next()?;
    Some(Shard {
        account: (account != "_").then(|| account.to_owned()),
        stack: stack.to_owned(),
        region: region.to_owned(),
    })
}

/// A transaction that puts `key` under `lease` only if the key does not exist: how a replica
/// registers and how it takes a shard, so a key is never taken from a live holder.
fn put_if_absent(key: &str, value: String, lease: i64) -> Txn {
    Txn::new()
        .when([Compare::create_revision(key, CompareOp::Equal, 0)])
        .and_then([TxnOp::put(
            key,
            value,
            Some(PutOptions::new().with_lease(lease)),
        )])
}

/// Wakes the membership loop at every change under the prefix; a broken watch is opened
/// again.
async fn watch(mut client: Client, inner: Arc<Inner>) {
    loop {
        if let Ok(mut stream) = client
            .watch(PREFIX, Some(WatchOptions::new().with_prefix()))
            .await
        {
            while let Ok(Some(_)) = stream.message().await {
                inner.wake.notify_one();
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A running cycle; dropping it lets the replica hand shards over.
pub struct CycleGuard {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    replica: Replica,
}

impl Drop for CycleGuard {
    fn drop(&mut self) {
        self.replica.inner.wake.notify_one();
    }
}

/// The executor's fence for one cycle: the shard of each region must still be held.
#[derive(Debug, Clone)]
pub struct ReplicaFence {
    /// The replica.
    pub replica: Replica,
    /// The stack written.
    pub stack: String,
}

impl ReplicaFence {
    /// Whether a write to the stack's shard in `region` may go out now.
    pub fn allows(&self, region: &str) -> bool {
        self.replica.may_write(&Shard {
            account: None,
            stack: self.stack.clone(),
            region: region.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_into_their_shard() {
        let shard = Shard {
            account: Some("1234".into()),
            stack: "shop".into(),
            region: "cn-hangzhou".into(),
        };
        assert_eq!(parse_key(&shard.key()), Some(shard.clone()));
        let plain = Shard {
            account: None,
            ..shard
        };
        assert_eq!(parse_key(&plain.key()), Some(plain));
        assert_eq!(parse_key("/kvsync/v1/replicas/a"), None);
        assert_eq!(parse_key("/kvsync/v1/shards/_/shop"), None);
    }

    #[test]
    fn replica_names_are_short_and_plain() {
        assert!(check_name("kvsync-0").is_ok());
        assert!(check_name("host.example_1").is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(65), "ü"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&default_name()).is_ok(), "{}", default_name());
    }
}
