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

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::cluster::{Cluster, is_member_failure};
use super::lease::{Renewal, keep_alive};
use super::{CoordinationError, Shard};

/// Takes shards as keys in one etcd cluster.
#[derive(Debug, Clone)]
pub struct EtcdCoordinator {
    endpoints: Vec<String>,
    cluster: Cluster,
    ttl: Duration,
}

/// Keys held under one lease, renewed in the background until released or dropped.
pub struct EtcdGuard {
    /// The client of the member in use; replaced when that member stops answering.
    client: std::sync::Mutex<Client>,
    cluster: Cluster,
    endpoints: String,
    lease: i64,
    keys: Vec<(Shard, String)>,
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

impl EtcdCoordinator {
    /// A coordinator on `endpoints` (`http://HOST:PORT`) whose holds last `ttl` unrenewed
    /// (whole seconds, at least one).
    pub fn new(endpoints: Vec<String>, ttl: Duration) -> EtcdCoordinator {
        EtcdCoordinator {
            cluster: Cluster::new(endpoints.clone()),
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
        let mut client = self
            .cluster
            .connect()
            .await
            .map_err(self.error("connecting"))?;
        let ttl_secs = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let granted_at = Instant::now();
        let lease = client
            .lease_grant(ttl_secs, None)
            .await
            .map_err(self.error("granting a lease"))?
            .id();
        let renewal = Arc::new(Renewal::new(self.ttl, granted_at));
        let mut guard = EtcdGuard {
            keeper: Some(tokio::spawn(keep_alive(
                client.clone(),
                self.cluster.clone(),
                lease,
                Arc::clone(&renewal),
            ))),
            client: std::sync::Mutex::new(client.clone()),
            cluster: self.cluster.clone(),
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
                .take(&mut client, lease, &key, &holder, shard, started, timeout)
                .await
            {
                guard.release().await;
                return Err(err);
            }
            guard.keys.push((shard.clone(), key));
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

impl EtcdGuard {
    /// Whether the shard of `region` (every shard, for `None`) is still ours: the last renewal
    /// is younger than TTL − TTL/3, etcd has not said the lease is gone, and its key still
    /// carries the lease.
    pub async fn still_held(&self, region: Option<&str>) -> bool {
        if !self.renewal.fresh() {
            return false;
        }
        let keys = self
            .keys
            .iter()
            .filter(|(shard, _)| region.is_none_or(|region| shard.region == region));
        for (_, key) in keys {
            match self.get(key).await {
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

    /// Reads `key`, on the next member when the one in use does not answer.
    async fn get(&self, key: &str) -> Result<etcd_client::GetResponse, etcd_client::Error> {
        let mut attempts = 0;
        loop {
            let mut client = self.client();
            match client.get(key, None).await {
                Err(err) if is_member_failure(&err) && attempts < 2 => {
                    attempts += 1;
                    self.cluster.member_failed();
                    let next = self.cluster.connect().await?;
                    *self.client.lock().unwrap_or_else(PoisonError::into_inner) = next;
                }
                answer => return answer,
            }
        }
    }

    fn client(&self) -> Client {
        self.client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The keys held.
    pub fn keys(&self) -> Vec<&str> {
        self.keys.iter().map(|(_, key)| key.as_str()).collect()
    }

    /// Whether a write may go out now, as far as is known without asking etcd: the lease's
    /// last renewal is younger than TTL − TTL/3 and etcd has not said it is gone.
    pub fn fresh(&self) -> bool {
        self.renewal.fresh()
    }

    /// Stops renewing and revokes the lease, which deletes the keys at once.
    pub async fn release(mut self) {
        if let Some(keeper) = self.keeper.take() {
            keeper.abort();
        }
        let _ = self.client().lease_revoke(self.lease).await;
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
        let mut client = self.client();
        let lease = self.lease;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = client.lease_revoke(lease).await;
            });
        }
    }
}
