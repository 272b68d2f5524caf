//! The etcd members behind `--coordination etcd://h1,h2,h3`, and failing over between them.
//!
//! The etcd client's balanced channel keeps sending a share of the calls to a member that is
//! down (and fails them with "connection refused"), so kvsync does not use it: it talks to one
//! member at a time, through a client of its own for that member, and moves on to the next
//! member when the one in use stops answering. A member that answers but sees no leader (it is
//! cut off from the majority) is passed over while another member sees one. So one member dying
//! while the others keep quorum changes nothing visible: the next call goes to a live member.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};

/// How long connecting to one member, and one call on it, may take.
const MEMBER_TIMEOUT: Duration = Duration::from_secs(3);

/// The members of one etcd cluster, and which one is in use.
#[derive(Debug, Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoints: Vec<String>,
    /// The member to try first.
    cursor: AtomicUsize,
}

impl Cluster {
    /// The cluster at `endpoints` (each `http://host:port`).
    pub fn new(endpoints: Vec<String>) -> Cluster {
        Cluster {
            inner: Arc::new(Inner {
                endpoints,
                cursor: AtomicUsize::new(0),
            }),
        }
    }

    /// The endpoints, comma-separated, for messages.
    pub fn describe(&self) -> String {
        self.inner.endpoints.join(",")
    }

    /// A client of one member that answers, preferring one that sees a leader, tried from the
    /// member in use onwards. Fails with the last member's error when none answers.
    pub async fn connect(&self) -> Result<Client, etcd_client::Error> {
        let count = self.inner.endpoints.len().max(1);
        let start = self.inner.cursor.load(Ordering::SeqCst);
        let mut leaderless = None;
        let mut last_error = None;
        for step in 0..count {
            let index = (start + step) % count;
            let Some(endpoint) = self.inner.endpoints.get(index) else {
                break;
            };
            match member(endpoint).await {
                Ok((client, true)) => {
                    self.inner.cursor.store(index, Ordering::SeqCst);
                    return Ok(client);
                }
                Ok((client, false)) => {
                    leaderless.get_or_insert((index, client));
                }
                Err(err) => last_error = Some(err),
            }
        }
        if let Some((index, client)) = leaderless {
            // Every member that answers is without a leader: calls will fail until quorum is
            // back, with etcd's own reason.
            self.inner.cursor.store(index, Ordering::SeqCst);
            return Ok(client);
        }
        Err(last_error
            .unwrap_or_else(|| etcd_client::Error::InvalidArgs("no etcd endpoint given".into())))
    }

    /// Notes that the member in use failed a call at the transport level: the next
    /// [`connect`](Self::connect) starts with the member after it.
    pub fn member_failed(&self) {
        let count = self.inner.endpoints.len().max(1);
        let _ = self
            .inner
            .cursor
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |at| {
                Some((at + 1) % count)
            });
    }
}

/// Connects to one member and asks its status: the client, and whether it sees a leader.
async fn member(endpoint: &str) -> Result<(Client, bool), etcd_client::Error> {
    let options = ConnectOptions::new()
        .with_connect_timeout(MEMBER_TIMEOUT)
        .with_timeout(MEMBER_TIMEOUT);
    let mut client = Client::connect([endpoint], Some(options)).await?;
    let status = tokio::time::timeout(MEMBER_TIMEOUT, client.status())
        .await
        .map_err(|_| etcd_client::Error::Internal(format!("{endpoint}: no status answer")))??;
    Ok((client, status.leader() != 0))
}

/// Whether `err` says the member could not be reached or did not answer (another member may),
/// rather than answering with a refusal of its own.
pub fn is_member_failure(err: &etcd_client::Error) -> bool {
    use etcd_client::Error;
    match err {
        Error::TransportError(_) | Error::IoError(_) | Error::Internal(_) => true,
        // gRPC's CANCELLED (1), UNKNOWN (2, a broken connection), DEADLINE_EXCEEDED (4) and
        // UNAVAILABLE (14).
        Error::GRpcStatus(status) => matches!(i32::from(status.code()), 1 | 2 | 4 | 14),
        _ => false,
    }
}
