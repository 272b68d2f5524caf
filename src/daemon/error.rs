//! Why a cycle failed, or why the newest manifests are not in force.

use std::path::PathBuf;
use std::time::Duration;

use super::git::GitError;
use super::phase::{Phase, show};
use crate::apply::secrets::SecretsError;
use crate::manifest::LoadError;
use crate::manifest::desired::ScopeError;
use crate::observe::ObserveError;

/// What stopped a cycle (or kept the newest manifests out of force).
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// The git branch could not be fetched or checked out.
    #[error("bringing the git checkout up to date")]
    Git(#[source] GitError),
    /// The manifests did not load.
    #[error("loading the manifests")]
    Manifests(#[source] LoadError),
    /// `--target`/`--exclude` name an instance the manifests do not describe.
    #[error("selecting instances")]
    Scope(#[source] ScopeError),
    /// The manifests loaded but describe no instance, while the set in force does.
    #[error(
        "the manifests describe no instance; keeping the last good set (an empty source never prunes)"
    )]
    NoInstances,
    /// Files that described instances now hold no document at all (emptied, only comments or
    /// only `---`): more likely a truncated write than an intent to delete.
    #[error(
        "{} described instances and now hold no document; keeping the last good manifests so \
         that their instances are not pruned (delete a file to remove its instances)",
        list(.0)
    )]
    Emptied(Vec<PathBuf>),
    /// No manifests have ever loaded, so there is nothing to reconcile.
    #[error("no manifests are in force")]
    NothingInForce(#[source] Box<CycleError>),
    /// A phase did not finish within its deadline.
    #[error("{phase} did not finish within {}", show(*.after))]
    Deadline {
        /// The phase.
        phase: Phase,
        /// Its deadline.
        after: Duration,
    },
    /// Earlier blocking reads overran and have not returned.
    #[error(
        "{phase}: {count} earlier reads overran their deadline and are still blocked; no new one starts until one returns"
    )]
    StillBlocked {
        /// The phase that did not start.
        phase: Phase,
        /// How many are outstanding.
        count: usize,
    },
    /// A blocking read ended without a result (it panicked).
    #[error("{phase} ended without a result")]
    Crashed {
        /// The phase.
        phase: Phase,
    },
    /// The secrets the manifests name cannot be used.
    #[error("reading the secrets")]
    Secrets(#[source] Box<SecretsError>),
    /// The cloud could not be observed.
    #[error("observing the cloud")]
    Observe(#[source] ObserveError),
    /// Another kvsync run on this machine holds the stack's lock.
    #[error("taking the stack's lock")]
    Lock(#[source] crate::coordination::CoordinationError),
    /// The replica may not write (its etcd lease was not renewed in time, or etcd could not be
    /// read): the cycle observed and planned, and wrote nothing.
    #[error("no changes were sent: {0}")]
    Coordination(String),
    /// The run journal could not be written.
    #[error("recording the run")]
    Journal(#[source] crate::journal::JournalError),
    /// A manifest path (`-f`) is not in the git checkout.
    #[error("{} does not exist in {url} at {commit}", .path.display())]
    NotInCheckout {
        /// The path, relative to the checkout.
        path: PathBuf,
        /// The repository (without credentials).
        url: String,
        /// The commit checked out.
        commit: String,
    },
    /// The daemon was asked to stop during the cycle.
    #[error("stopped before the cycle finished")]
    Stopped,
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::error_chain;

    #[test]
    fn messages_say_what_was_being_done_and_why() {
        let missed = CycleError::Deadline {
            phase: Phase::ReadingSecrets,
            after: Duration::from_secs(30),
        };
        assert_eq!(
            missed.to_string(),
            "reading the secrets did not finish within 30s"
        );
        let nothing = CycleError::NothingInForce(Box::new(missed));
        assert_eq!(
            error_chain(&nothing),
            "no manifests are in force: reading the secrets did not finish within 30s"
        );
        let emptied = CycleError::Emptied(vec!["m/b.yaml".into(), "m/c.yaml".into()]);
        assert!(
            emptied
                .to_string()
                .starts_with("m/b.yaml, m/c.yaml described instances and now hold no document"),
            "{emptied}"
        );
    }
}
