//! One etcd lease kept alive in the background, and what is known of its renewals.
//!
//! The keeper renews every third of the TTL and records when each renewal that etcd confirmed
//! was *sent*: etcd cannot have let the lease expire before that moment plus the TTL. A
//! holder may write while its last confirmed renewal is younger than the TTL less a third of it
//! ([`Renewal::fresh`]); the third is the safety margin for the renewal's own round trip, a
//! write already on its way, and clocks that run at slightly different rates.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use etcd_client::Client;

use super::cluster::Cluster;
use tokio::time::Instant;

/// When a lease was last renewed, whether etcd said it is gone, and how renewals went.
#[derive(Debug)]
pub struct Renewal {
    /// The reference point of `renewed_ms`.
    base: Instant,
    /// Milliseconds from `base` to the sending of the last confirmed renewal (or the grant).
    renewed_ms: AtomicU64,
    /// etcd answered that the lease no longer exists.
    lost: AtomicBool,
    /// Renewals etcd confirmed.
    renewals: AtomicU64,
    /// Renewals that failed (no answer, a broken stream, no quorum).
    failures: AtomicU64,
    /// The TTL.
    ttl: Duration,
}

impl Renewal {
    /// A lease of `ttl` granted by a request sent at `granted_at`.
    pub fn new(ttl: Duration, granted_at: Instant) -> Renewal {
        Renewal {
            base: granted_at,
            renewed_ms: AtomicU64::new(0),
            lost: AtomicBool::new(false),
            renewals: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            ttl,
        }
    }

    /// How long ago the last confirmed renewal (or the grant) was sent.
    pub fn age(&self) -> Duration {
        let renewed = Duration::from_millis(self.renewed_ms.load(Ordering::SeqCst));
        self.base.elapsed().saturating_sub(renewed)
    }

    /// The age up to which the holder may write: the TTL less a third of it.
    pub fn write_limit(&self) -> Duration {
        self.ttl - self.ttl / 3
    }

    /// Whether a write may go out now: the lease is not known to be gone and its last
    /// confirmed renewal is younger than [`Renewal::write_limit`].
    pub fn fresh(&self) -> bool {
        !self.lost() && self.age() < self.write_limit()
    }

    /// Whether etcd said the lease no longer exists.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Confirmed renewals so far.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::SeqCst)
    }

    /// Failed renewals so far.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn record(&self, sent: Instant) {
        let ms = u64::try_from(sent.duration_since(self.base).as_millis()).unwrap_or(u64::MAX);
        self.renewed_ms.store(ms, Ordering::SeqCst);
        self.renewals.fetch_add(1, Ordering::SeqCst);
    }

    /// Records that etcd no longer knows the lease.
    pub fn mark_lost(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    fn failed(&self) {
        self.failures.fetch_add(1, Ordering::SeqCst);
    }
}

/// Whether etcd answered that the lease does not exist (it expired, or was revoked).
pub fn is_lease_gone(err: &etcd_client::Error) -> bool {
    err.to_string().contains("requested lease not found")
}

/// Renews `lease` every third of the TTL, recording each confirmed renewal, until etcd says
/// the lease is gone. A broken stream is opened again, on the next member of `cluster` when
/// the one of `client` stopped answering. Run it as a task and abort it to stop.
pub async fn keep_alive(mut client: Client, cluster: Cluster, lease: i64, renewal: Arc<Renewal>) {
    let period = renewal.ttl / 3;
    let mut broken = false;
    loop {
        if broken {
            tokio::time::sleep(Duration::from_millis(200)).await;
            cluster.member_failed();
            match cluster.connect().await {
                Ok(next) => client = next,
                Err(_) => {
                    renewal.failed();
                    continue;
                }
            }
        }
        broken = true;
        let (mut keeper, mut stream) = match client.lease_keep_alive(lease).await {
            Ok(opened) => opened,
            Err(err) if is_lease_gone(&err) => return renewal.mark_lost(),
            Err(_) => {
                renewal.failed();
                continue;
            }
        };
        loop {
            let sent = Instant::now();
            if keeper.keep_alive().await.is_err() {
                renewal.failed();
                break;
            }
            // An answer that never comes (no quorum) counts as a failure after a period.
            match tokio::time::timeout(period.max(Duration::from_millis(500)), stream.message())
                .await
            {
                Ok(Ok(Some(answer))) if answer.ttl() > 0 => renewal.record(sent),
                Ok(Ok(Some(_))) => return renewal.mark_lost(),
                Ok(Err(err)) if is_lease_gone(&err) => return renewal.mark_lost(),
                Ok(Ok(None) | Err(_)) | Err(_) => {
                    renewal.failed();
                    break;
                }
            }
            tokio::time::sleep(period).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_renewal_is_fresh_for_the_ttl_less_a_third() {
        let renewal = Renewal::new(Duration::from_secs(15), Instant::now());
        assert!(renewal.fresh());
        tokio::time::advance(Duration::from_millis(9_900)).await;
        assert!(renewal.fresh(), "9.9 s after the grant, within 10 s");
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(!renewal.fresh(), "10.1 s after the grant");
        renewal.record(Instant::now());
        assert!(renewal.fresh());
        assert_eq!(renewal.renewals(), 1);
        renewal.lost.store(true, Ordering::SeqCst);
        assert!(!renewal.fresh(), "a lease etcd says is gone is never fresh");
    }
}
