//! The local mechanism: the file locks of [`crate::lock`], one per shard.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::{CoordinationError, Shard};
use crate::lock::{self, Locks};

/// Takes shards as file locks in one directory.
#[derive(Debug, Clone)]
pub struct LocalCoordinator {
    dir: PathBuf,
}

/// File locks held until dropped (the kernel releases them when the process ends).
#[derive(Debug)]
pub struct LocalGuard {
    locks: Vec<Locks>,
}

impl LocalCoordinator {
    /// A coordinator whose lock files live in `dir`.
    pub fn new(dir: &Path) -> LocalCoordinator {
        LocalCoordinator {
            dir: dir.to_owned(),
        }
    }

    /// Locks every one of `shards`, in sorted order, waiting up to `timeout` in all.
    pub async fn acquire(
        &self,
        shards: &[Shard],
        timeout: Duration,
        who: &str,
    ) -> Result<LocalGuard, CoordinationError> {
        let started = Instant::now();
        let mut sorted = shards.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut locks = Vec::new();
        for shard in &sorted {
            let left = timeout.saturating_sub(started.elapsed());
            let region = BTreeSet::from([shard.region.clone()]);
            locks.push(lock::acquire(&self.dir, &shard.stack, &region, left, who).await?);
        }
        Ok(LocalGuard { locks })
    }
}

impl LocalGuard {
    /// Always true: a file lock holds for as long as its file is open.
    pub fn still_held(&self) -> bool {
        true
    }

    /// How many shards are held.
    pub fn len(&self) -> usize {
        self.locks.iter().map(Locks::len).sum()
    }

    /// Whether no shard is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_local_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let coordinator = LocalCoordinator::new(dir.path());
        let shards = Shard::of(
            "shop",
            &["cn-hangzhou".to_owned(), "cn-shanghai".to_owned()].into(),
        );
        let first = coordinator
            .acquire(&shards, Duration::ZERO, "first")
            .await
            .unwrap();
        assert_eq!(first.len(), 2);
        assert!(first.still_held());
        let refused = coordinator
            .acquire(&shards[1..], Duration::from_millis(100), "second")
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("first"), "{refused}");
        drop(first);
        coordinator
            .acquire(&shards, Duration::ZERO, "second")
            .await
            .unwrap();
    }
}
