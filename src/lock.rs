//! Local locks: one writer per stack and region on this machine.
//!
//! `apply` and the daemon's apply phase hold a lock per (stack, region) they change, from
//! before they observe until after they observe again, so two runs on one machine never plan
//! from the same observation. Locks are advisory file locks (`flock`) on
//! `<dir>/<stack>@<region>.lock`, released by the kernel when the process ends, however it
//! ends; the file names the holder so that a refused run can say who holds it. Regions are
//! locked in sorted order, so two runs over overlapping regions cannot deadlock. Between
//! machines, which share no lock, the create tokens keep creation single (`plan::token`).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

/// The default directory of lock files, relative to the working directory.
pub const DEFAULT_DIR: &str = ".kvsync/locks";

/// Where lock files live and how long to wait for one.
#[derive(Debug, Clone)]
pub struct LockSettings {
    /// The directory of lock files (and of the run journal).
    pub dir: PathBuf,
    /// How long to wait for another run's lock.
    pub timeout: Duration,
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The directory or a lock file could not be used.
    #[error("cannot use the lock file {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another run held the lock for longer than the timeout.
    #[error(
        "stack {stack:?} in {region} is locked by another kvsync run ({holder}); waited {waited_secs} s (--lock-timeout); \
         try again when it has finished, or remove {path} only if that process is gone"
    )]
    Held {
        /// The stack.
        stack: String,
        /// The region.
        region: String,
        /// Who holds it, as its lock file says.
        holder: String,
        /// How long this run waited.
        waited_secs: u64,
        /// The lock file.
        path: PathBuf,
    },
}

/// Locks held until dropped.
#[derive(Debug)]
pub struct Locks {
    files: Vec<File>,
}

impl Locks {
    /// How many locks are held.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no lock is held.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The lock file of `stack` in `region`.
pub fn path(dir: &Path, stack: &str, region: &str) -> PathBuf {
    dir.join(format!("{}@{}.lock", file_part(stack), file_part(region)))
}

/// A name part safe in a file name (stack and region names are validated; this is a guard).
pub fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Takes the lock of `stack` in every one of `regions`, waiting up to `timeout` for each;
/// `command` describes this run in the lock file.
pub async fn acquire(
    dir: &Path,
    stack: &str,
    regions: &BTreeSet<String>,
    timeout: Duration,
    command: &str,
) -> Result<Locks, LockError> {
    std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let started = Instant::now();
    let mut files = Vec::new();
    for region in regions {
        let path = path(dir, stack, region);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| LockError::Io {
                path: path.clone(),
                source,
            })?;
        let mut pause = Duration::from_millis(50);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if started.elapsed() >= timeout {
                        return Err(LockError::Held {
                            stack: stack.to_owned(),
                            region: region.clone(),
                            holder: holder(&mut file),
                            waited_secs: started.elapsed().as_secs(),
                            path,
                        });
                    }
                    let left = timeout.saturating_sub(started.elapsed());
                    tokio::time::sleep(pause.min(left)).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(TryLockError::Error(source)) => {
                    return Err(LockError::Io { path, source });
                }
            }
        }
        describe_holder(&mut file, command).map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
        files.push(file);
    }
    Ok(Locks { files })
}

/// How this process describes itself as a holder: `pid N on HOST since TIME (command)`.
pub fn holder_line(command: &str) -> String {
    format!(
        "pid {} on {} since {} ({command})",
        std::process::id(),
        host_name(),
        jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now()),
    )
}

/// Writes who holds the lock into its file.
fn describe_holder(file: &mut File, command: &str) -> std::io::Result<()> {
    let text = format!("{}\n", holder_line(command));
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// What a lock file says about its holder (one short line, never more than 200 characters).
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.take(200).read_to_string(&mut text));
    match read {
        Ok(_) if !text.trim().is_empty() => text
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .collect(),
        _ => "holder unknown".to_owned(),
    }
}

/// This machine's host name (`unknown host` when it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[tokio::test]
    async fn a_second_holder_waits_then_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(
            dir.path(),
            "shop",
            &regions(&["cn-hangzhou", "cn-shanghai"]),
            Duration::ZERO,
            "kvsync apply",
        )
        .await
        .unwrap();
        assert_eq!(first.len(), 2);
        let refused = acquire(
            dir.path(),
            "shop",
            &regions(&["cn-shanghai"]),
            Duration::from_millis(200),
            "kvsync apply",
        )
        .await
        .unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())) && text.contains("cn-shanghai"),
            "{text}"
        );
        // Another stack, or another region, is not held.
        acquire(
            dir.path(),
            "other",
            &regions(&["cn-shanghai"]),
            Duration::ZERO,
            "x",
        )
        .await
        .unwrap();
        acquire(
            dir.path(),
            "shop",
            &regions(&["cn-beijing"]),
            Duration::ZERO,
            "x",
        )
        .await
        .unwrap();
        drop(first);
        acquire(
            dir.path(),
            "shop",
            &regions(&["cn-shanghai"]),
            Duration::ZERO,
            "x",
        )
        .await
        .unwrap();
    }

    #[test]
    fn file_names_cannot_escape_the_directory() {
        let p = path(Path::new("/locks"), "../x", "a/b");
        assert_eq!(p, Path::new("/locks/.._x@a_b.lock"));
    }
}
