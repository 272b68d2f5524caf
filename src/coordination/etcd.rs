//! The etcd mechanism: a key per shard, put with a lease this run keeps alive.
//!
//! Acquire grants one lease of the TTL for the run, then takes each shard's key (in sorted
//! order) with a transaction `put key=holder with lease if create_revision(key) == 0`; a taken
//! key is read for its holder and tried again, with backoff, until the timeout. A background
//! task renews the lease every third of the TTL and records when a renewal last succeeded.
//! [`EtcdGuard::still_held`] is false once that is older than the TTL less a third of it
//! (the safety margin), once etcd says the lease is gone, or once a key no longer carries the
//! lease. Release revokes the lease, which deletes the keys; a run that dies leaves them until
//! the TTL runs out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, PutOptions, Txn, TxnOp, TxnOpResponse,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{CoordinationError, Shard};

/// Takes shards as keys in one etcd cluster.
#[derive(Debug, Clone)]
pub struct EtcdCoordinator {
    endpoints: Vec<String>,
    ttl: Duration,
}

/// Keys held under one lease, renewed in the background until released or dropped.
pub struct EtcdGuard {
    client: Client,
    endpoints: String,
    lease: i64,
    keys: Vec<String>,
    renewal: Arc<Renewal>,
    keeper: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for EtcdGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdGuard")
            .field("endpoints", &self.endpoints)
            .field("lease", &self.lease)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// When the lease was last renewed, and whether etcd said it is gone.
#[derive(Debug)]
struct Renewal {
    /// The reference point of `renewed_ms`.
    base: Instant,
    /// Milliseconds from `base` to the start of the last successful renewal (or the grant).
    renewed_ms: AtomicU64,
    /// etcd answered that the lease no longer exists.
    lost: AtomicBool,
    /// The TTL.
    ttl: Duration,
}

impl Renewal {
    /// Whether the last renewal is recent enough to write: younger than TTL − TTL/3.
    fn fresh(&self) -> bool {
        let renewed = Duration::from_millis(self.renewed_ms.load(Ordering::SeqCst));
        let age = self.base.elapsed().saturating_sub(renewed);
        !self.lost.load(Ordering::SeqCst) && age < self.ttl - self.ttl / 3
    }

    fn record(&self, at: Instant) {
        let ms = u64::try_from(at.duration_since(self.base).as_millis()).unwrap_or(u64::MAX);
        self.renewed_ms.store(ms, Ordering::SeqCst);
    }
}

impl EtcdCoordinator {
    /// A coordinator on `endpoints` (`http://HOST:PORT`) whose holds last `ttl` unrenewed
    /// (whole seconds, at least one).
    pub fn new(endpoints: Vec<String>, ttl: Duration) -> EtcdCoordinator {
        EtcdCoordinator {
            endpoints,
            ttl: Duration::from_secs(ttl.as_secs().max(1)),
        }
    }

    fn error(&self, action: &'static str) -> impl FnOnce(etcd_client::Error) -> CoordinationError {
        let endpoints = self.endpoints.join(",");
        move |source| CoordinationError::Etcd {
            endpoints,
            action,
            source,
        }
    }

    /// Holds every one of `shards`, in sorted order, waiting up to `timeout` in all; `who`
    /// describes this run in each key's value.
    pub async fn acquire(
        &self,
        shards: &[Shard],
        timeout: Duration,
        who: &str,
    ) -> Result<EtcdGuard, CoordinationError> {
        let started = Instant::now();
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(5));
        let mut client = Client::connect(&self.endpoints, Some(options))
            .await
            .map_err(self.error("connecting"))?;
        let ttl_secs = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let granted_at = Instant::now();
        let lease = client
            .lease_grant(ttl_secs, None)
            .await
            .map_err(self.error("granting a lease"))?
            .id();
        let renewal = Arc::new(Renewal {
            base: granted_at,
            renewed_ms: AtomicU64::new(0),
            lost: AtomicBool::new(false),
            ttl: self.ttl,
        });
        let mut guard = EtcdGuard {
            keeper: Some(tokio::spawn(keep_alive(
                client.clone(),
                lease,
                Arc::clone(&renewal),
            ))),
            client,
            endpoints: self.endpoints.join(","),
            lease,
            keys: Vec::new(),
            renewal,
        };
        let holder = super::holder_text(who);
        let mut sorted = shards.to_vec();
        sorted.sort();
        sorted.dedup();
        for shard in &sorted {
            let key = shard.key();
            if let Err(err) = self
                .take(
                    &mut guard.client,
                    lease,
                    &key,
                    &holder,
                    shard,
                    started,
                    timeout,
                )
                .await
            {
                guard.release().await;
                return Err(err);
            }
            guard.keys.push(key);
        }
        Ok(guard)
    }

    /// Puts `key` under `lease` once no one holds it, or refuses after `timeout` from
    /// `started`, naming the holder.
    #[allow(clippy::too_many_arguments)]
    async fn take(
        &self,
        client: &mut Client,
        lease: i64,
        key: &str,
        holder: &str,
        shard: &Shard,
        started: Instant,
        timeout: Duration,
    ) -> Result<(), CoordinationError> {
        let mut pause = Duration::from_millis(50);
        loop {
            let txn = Txn::new()
                .when([Compare::create_revision(key, CompareOp::Equal, 0)])
                .and_then([TxnOp::put(
                    key,
                    holder,
                    Some(PutOptions::new().with_lease(lease)),
                )])
                .or_else([TxnOp::get(key, None)]);
            let answer = client
                .txn(txn)
                .await
                .map_err(self.error("taking a shard"))?;
            if answer.succeeded() {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                let holder = answer
                    .op_responses()
                    .into_iter()
                    .find_map(|op| match op {
                        TxnOpResponse::Get(get) => get
                            .kvs()
                            .first()
                            .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "holder unknown".to_owned());
                return Err(CoordinationError::Held {
                    stack: shard.stack.clone(),
                    region: shard.region.clone(),
                    key: key.to_owned(),
                    holder: holder
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect(),
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            let left = timeout.saturating_sub(started.elapsed());
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// Renews `lease` every third of the TTL, recording each success, until etcd says the lease
/// is gone; a broken stream is opened again.
async fn keep_alive(mut client: Client, lease: i64, renewal: Arc<Renewal>) {
    let period = renewal.ttl / 3;
    loop {
        let Ok((mut keeper, mut stream)) = client.lease_keep_alive(lease).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        loop {
            let sent = Instant::now();
            if keeper.keep_alive().await.is_err() {
                break;
            }
            match stream.message().await {
                Ok(Some(answer)) if answer.ttl() > 0 => renewal.record(sent),
                Ok(Some(_)) => {
                    renewal.lost.store(true, Ordering::SeqCst);
                    return;
                }
                Ok(None) | Err(_) => break,
            }
            tokio::time::sleep(period).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl EtcdGuard {
    /// Whether every key is still ours: the last renewal is younger than TTL − TTL/3, etcd has
    /// not said the lease is gone, and each key still carries the lease.
    pub async fn still_held(&self) -> bool {
        if !self.renewal.fresh() {
            return false;
        }
        let mut client = self.client.clone();
        for key in &self.keys {
            match client.get(key.as_str(), None).await {
                Ok(answer)
                    if answer
                        .kvs()
                        .first()
                        .is_some_and(|kv| kv.lease() == self.lease) => {}
                _ => return false,
            }
        }
        self.renewal.fresh()
    }

    /// The keys held.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Stops renewing and revokes the lease, which deletes the keys at once.
    pub async fn release(mut self) {
        if let Some(keeper) = self.keeper.take() {
            keeper.abort();
        }
        let _ = self.client.lease_revoke(self.lease).await;
    }

    /// Stops renewing without revoking, as when the process dies: the keys stay held until
    /// the TTL runs out.
    pub fn abandon(mut self) {
        if let Some(keeper) = self.keeper.take() {
            keeper.abort();
        }
    }
}

impl Drop for EtcdGuard {
    /// Stops renewing and, on a runtime that is still running, revokes the lease.
    fn drop(&mut self) {
        let Some(keeper) = self.keeper.take() else {
            return;
        };
        keeper.abort();
        let mut client = self.client.clone();
        let lease = self.lease;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = client.lease_revoke(lease).await;
            });
        }
    }
}
