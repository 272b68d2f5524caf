//! The run journal: the seed of the intent tokens of a run that has not finished.
//!
//! A run that may change the cloud starts by taking the seed its predecessor left behind — a
//! run that crashed, was interrupted or had a failing step — or, when there is none, a fresh
//! random one, and records it before the first call (`<dir>/<stack>@<region>.run`, written
//! atomically). Only a run whose every step succeeded removes it. So a re-run after a crash or
//! a lost answer sends the same `ClientToken` for the same intent, and a later, new intent gets
//! a new one (`plan::token::spec`). Entries older than [`MAX_AGE`] are not reused: by then
//! every earlier call has long been answered or forgotten. The journal lives beside the locks
//! and is only written under them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::lock::file_part;
use crate::plan::Seeds;
use crate::plan::token::Seed;

/// How long an unfinished run's seed is reused.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the run journal {path}")]
pub struct JournalError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// The seed, as 32 hex digits.
    seed: String,
    /// When the run that drew it started.
    since: Timestamp,
}

/// The journal file of `stack` in `region`.
pub fn path(dir: &Path, stack: &str, region: &str) -> PathBuf {
    dir.join(format!("{}@{}.run", file_part(stack), file_part(region)))
}

/// The seeds unfinished runs left for `regions`, without recording anything (for `plan`).
pub fn pending(dir: &Path, stack: &str, regions: &BTreeSet<String>, now: Timestamp) -> Seeds {
    regions
        .iter()
        .filter_map(|region| read(&path(dir, stack, region), now).map(|s| (region.clone(), s)))
        .collect()
}

/// Starts a run over `regions`: reuses each region's pending seed, or records a new one drawn
/// from `fresh`. Call it with the regions' locks held.
pub fn begin(
    dir: &Path,
    stack: &str,
    regions: &BTreeSet<String>,
    now: Timestamp,
    mut fresh: impl FnMut() -> Seed,
) -> Result<Seeds, JournalError> {
    let mut seeds = Seeds::new();
    for region in regions {
        let file = path(dir, stack, region);
        let seed = match read(&file, now) {
            Some(seed) => seed,
            None => {
                let seed = fresh();
                let entry = Entry {
                    seed: format!("{seed:032x}"),
                    since: now,
                };
                write(&file, &entry).map_err(|source| JournalError {
                    path: file.clone(),
                    source,
                })?;
                seed
            }
        };
        seeds.insert(region.clone(), seed);
    }
    Ok(seeds)
}

/// Ends a run whose every step succeeded: the next run draws new seeds.
pub fn finish(dir: &Path, stack: &str, regions: &BTreeSet<String>) -> Result<(), JournalError> {
    for region in regions {
        let file = path(dir, stack, region);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(JournalError { path: file, source }),
        }
    }
    Ok(())
}

fn read(file: &Path, now: Timestamp) -> Option<Seed> {
    let text = std::fs::read_to_string(file).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    let age = now.duration_since(entry.since);
    if age.is_negative() || age.unsigned_abs() > MAX_AGE {
        return None;
    }
    Seed::from_str_radix(&entry.seed, 16).ok()
}

fn write(file: &Path, entry: &Entry) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    let partial = file.with_extension("run.partial");
    {
        use std::io::Write as _;
        let mut out = std::fs::File::create(&partial)?;
        out.write_all(text.as_bytes())?;
        out.sync_all()?;
    }
    std::fs::rename(&partial, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> BTreeSet<String> {
        BTreeSet::from(["cn-hangzhou".to_owned()])
    }

    #[test]
    fn an_unfinished_run_leaves_its_seed_and_a_finished_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut draws = [11, 22, 33].into_iter();
        let mut fresh = || draws.next().unwrap();
        let first = begin(dir.path(), "shop", &regions(), now, &mut fresh).unwrap();
        assert_eq!(first["cn-hangzhou"], 11);
        assert_eq!(pending(dir.path(), "shop", &regions(), now), first);
        // A crashed run's successor reuses the seed.
        let again = begin(dir.path(), "shop", &regions(), now, &mut fresh).unwrap();
        assert_eq!(again, first);
        finish(dir.path(), "shop", &regions()).unwrap();
        assert!(pending(dir.path(), "shop", &regions(), now).is_empty());
        let next = begin(dir.path(), "shop", &regions(), now, &mut fresh).unwrap();
        assert_eq!(next["cn-hangzhou"], 22);
    }

    #[test]
    fn an_old_seed_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let then = Timestamp::from_second(1_800_000_000).unwrap();
        begin(dir.path(), "shop", &regions(), then, || 5).unwrap();
        let later = then + jiff::SignedDuration::from_secs(25 * 3600);
        assert!(pending(dir.path(), "shop", &regions(), later).is_empty());
        let seeds = begin(dir.path(), "shop", &regions(), later, || 6).unwrap();
        assert_eq!(seeds["cn-hangzhou"], 6);
    }
}
