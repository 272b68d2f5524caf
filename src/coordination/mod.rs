//! Coordination: one writer per shard — a stack in a region — for the duration of a run.
//!
//! A run names the shards it changes and holds them from before it observes until after it
//! observes again. Two mechanisms give the same promise:
//! - [`local`]: the advisory file locks of [`crate::lock`], for runs on one machine;
//! - [`etcd`]: a key per shard in etcd, put with a lease that the run keeps alive, for runs on
//!   any number of machines that share an etcd cluster.
//!
//! A shard's key is `/kvsync/v1/shards/<account>/<stack>/<region>` ([`Shard::key`]); the
//! account is `_` until runs are told which cloud account they write to. A writer asks
//! [`Guard::still_held`] before each write: the local locks hold for as long as the guard
//! lives; an etcd hold ends when its lease could not be renewed for longer than the TTL less a
//! safety margin, or when its key no longer carries the lease (fencing).

pub mod cluster;
pub mod etcd;
pub mod lease;
pub mod local;
pub mod replica;
pub mod share;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// The default lease TTL of an etcd hold.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15);

/// One unit of exclusive writing: a stack in a region (of an account, when one is known).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shard {
    /// The cloud account, or `None` for "not told" (`_` in the key).
    pub account: Option<String>,
    /// The stack's name.
    pub stack: String,
    /// The region.
    pub region: String,
}

impl Shard {
    /// The shards of `stack` in each of `regions`, in sorted order (the order they are taken).
    pub fn of(stack: &str, regions: &BTreeSet<String>) -> Vec<Shard> {
        regions
            .iter()
            .map(|region| Shard {
                account: None,
                stack: stack.to_owned(),
                region: region.clone(),
            })
            .collect()
    }

    /// The shard's key: `/kvsync/v1/shards/<account-or-_>/<stack>/<region>`.
    pub fn key(&self) -> String {
        format!(
            "/kvsync/v1/shards/{}/{}/{}",
            self.account.as_deref().map_or("_".to_owned(), key_part),
            key_part(&self.stack),
            key_part(&self.region)
        )
    }
}

/// A name part safe between slashes of a key (names are validated; this is a guard).
fn key_part(name: &str) -> String {
    crate::lock::file_part(name)
}

/// Which mechanism holds the shards, as `--coordination` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// File locks on this machine (`local`).
    Local,
    /// Keys in etcd (`etcd://HOST:PORT[,HOST:PORT…]`).
    Etcd {
        /// The client endpoints, as `http://HOST:PORT`.
        endpoints: Vec<String>,
    },
}

/// Why `--coordination` was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MechanismError {
    /// Neither `local` nor `etcd://…`.
    #[error("{0:?} is neither `local` nor `etcd://HOST:PORT[,HOST:PORT…]`")]
    Unknown(String),
    /// An etcd endpoint is not `HOST:PORT`.
    #[error("{0:?} is not an etcd endpoint HOST:PORT")]
    Endpoint(String),
}

impl std::str::FromStr for Mechanism {
    type Err = MechanismError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "local" {
            return Ok(Mechanism::Local);
        }
        let Some(list) = text.strip_prefix("etcd://") else {
            return Err(MechanismError::Unknown(text.to_owned()));
        };
        let endpoints = list
            .split(',')
            .map(|endpoint| {
                let endpoint = endpoint.trim();
                match endpoint.rsplit_once(':') {
                    Some((host, port))
                        if !host.is_empty()
                            && !host.contains('/')
                            && port.parse::<u16>().is_ok_and(|p| p > 0) =>
                    {
                        Ok(format!("http://{endpoint}"))
                    }
                    _ => Err(MechanismError::Endpoint(endpoint.to_owned())),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Mechanism::Etcd { endpoints })
    }
}

/// How a run coordinates with other runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The directory of the local lock files.
    pub lock_dir: PathBuf,
    /// The lease TTL of an etcd hold.
    pub ttl: Duration,
}

/// Why the shards were not taken, or could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum CoordinationError {
    /// A local lock was not taken.
    #[error(transparent)]
    Local(#[from] crate::lock::LockError),
    /// etcd could not be reached or answered with an error.
    #[error("etcd at {endpoints}: {action}")]
    Etcd {
        /// The endpoints.
        endpoints: String,
        /// What was being done.
        action: &'static str,
        /// The client's error.
        #[source]
        source: etcd_client::Error,
    },
    /// The hold ended before a write (fencing): no further write is sent.
    #[error(
        "the hold on the stack was lost (its etcd lease was not renewed in time, or its key was \
         taken); no further change is sent"
    )]
    Lost,
    /// Another run held a shard for longer than the timeout.
    #[error(
        "stack {stack:?} in {region} is held by another kvsync run ({holder}) at etcd key {key}; \
         waited {waited_secs} s (--lock-timeout); try again when it has finished (its hold ends \
         by itself at most one TTL after that process is gone)"
    )]
    Held {
        /// The stack.
        stack: String,
        /// The region.
        region: String,
        /// The shard's key.
        key: String,
        /// Who holds it, as the key's value says.
        holder: String,
        /// How long this run waited.
        waited_secs: u64,
    },
}

/// Takes and checks holds on shards: the one entry point for every writer.
#[derive(Debug, Clone)]
pub enum Coordinator {
    /// File locks on this machine.
    Local(local::LocalCoordinator),
    /// Keys in etcd.
    Etcd(etcd::EtcdCoordinator),
}

impl Coordinator {
    /// The coordinator `settings` describe (an etcd one connects lazily, on acquire).
    pub fn new(settings: &Settings) -> Coordinator {
        match &settings.mechanism {
            Mechanism::Local => {
                Coordinator::Local(local::LocalCoordinator::new(&settings.lock_dir))
            }
            Mechanism::Etcd { endpoints } => {
                Coordinator::Etcd(etcd::EtcdCoordinator::new(endpoints.clone(), settings.ttl))
            }
        }
    }

    /// Holds every one of `shards` (taken in sorted order), waiting up to `timeout` in all;
    /// `who` describes this run to those that must wait for it.
    pub async fn acquire(
        &self,
        shards: &[Shard],
        timeout: Duration,
        who: &str,
    ) -> Result<Guard, CoordinationError> {
        match self {
            Coordinator::Local(local) => {
                local.acquire(shards, timeout, who).await.map(Guard::Local)
            }
            Coordinator::Etcd(etcd) => etcd
                .acquire(shards, timeout, who)
                .await
                .map(|guard| Guard::Etcd(Box::new(guard))),
        }
    }
}

/// Shards held until dropped or [released](Guard::release).
#[derive(Debug)]
pub enum Guard {
    /// Local file locks.
    Local(local::LocalGuard),
    /// etcd keys under a lease.
    Etcd(Box<etcd::EtcdGuard>),
    /// The shards a daemon replica holds this cycle.
    Replica(replica::ReplicaFence),
}

impl Guard {
    /// Whether the shard of `region` (every shard, for `None`) is still held, so a write may
    /// go out now: ask before each step. An etcd hold asks etcd that its key still carries
    /// the lease.
    pub async fn still_held(&self, region: Option<&str>) -> bool {
        match self {
            Guard::Local(local) => local.still_held(),
            Guard::Etcd(etcd) => etcd.still_held(region).await,
            Guard::Replica(fence) => region.is_none_or(|region| fence.allows(region)),
        }
    }

    /// Whether a request to `region` may leave now, as far as is known without asking
    /// anyone: checked by the client right before each request is sent.
    pub fn allows_now(&self, region: &str) -> bool {
        match self {
            Guard::Local(local) => local.still_held(),
            Guard::Etcd(etcd) => etcd.fresh(),
            Guard::Replica(fence) => fence.allows(region),
        }
    }

    /// Releases the shards now, so a waiting run need not wait for a TTL.
    pub async fn release(self) {
        match self {
            Guard::Local(local) => drop(local),
            Guard::Etcd(etcd) => (*etcd).release().await,
            // A replica's shards outlive a cycle: its membership hands them over.
            Guard::Replica(_) => {}
        }
    }
}

/// The client's last check before each request: the guard's [`Guard::allows_now`].
#[derive(Debug)]
pub struct ClientFence(pub std::sync::Arc<Guard>);

impl crate::api::WriteFence for ClientFence {
    fn allows(&self, region: &str) -> bool {
        self.0.allows_now(region)
    }
}

/// This run as a holder describes itself: process, host, time and command.
pub fn holder_text(who: &str) -> String {
    crate::lock::holder_line(who)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_leave_room_for_an_account_and_stay_between_slashes() {
        let mut shard = Shard::of("shop", &["cn-hangzhou".to_owned()].into())
            .pop()
            .unwrap();
        assert_eq!(shard.key(), "/kvsync/v1/shards/_/shop/cn-hangzhou");
        shard.account = Some("1234".into());
        shard.stack = "a/../b".into();
        assert_eq!(shard.key(), "/kvsync/v1/shards/1234/a_.._b/cn-hangzhou");
    }

    #[test]
    fn mechanisms_are_local_or_etcd_endpoints() {
        assert_eq!("local".parse(), Ok(Mechanism::Local));
        assert_eq!(
            "etcd://h1:2379,10.0.0.2:2380".parse(),
            Ok(Mechanism::Etcd {
                endpoints: vec!["http://h1:2379".into(), "http://10.0.0.2:2380".into()]
            })
        );
        for bad in [
            "etcd://",
            "etcd://h1",
            "etcd://h1:0",
            "etcd://h1:2379,",
            "zk://h:1",
            "",
        ] {
            assert!(bad.parse::<Mechanism>().is_err(), "{bad}");
        }
    }
}
