//! `kvsync daemon`: continuous, level-triggered reconciliation.
//!
//! Interval ticks (with jitter), debounced manifest changes, SIGHUP and a moved git branch feed
//! one queue. Each wake-up drains the queue, decides what to do ([`cycle::decide`]) and runs
//! one reconcile ([`reconcile::Reconciler`]): startup and SIGHUP observe everything afresh; the
//! interval is cut into `refresh_slices` ticks, each re-reading the details of one slice of the
//! fleet (and the cheap listing) so the refresh is spread over the interval instead of a burst;
//! a manifest change re-plans only the instances whose desired state changed, from observations
//! no older than `cache_max_age` ([`cache::ObservationCache`]). Reconciles never overlap, so no
//! instance is reconciled twice at once, and triggers that arrive during one cause exactly one
//! more. SIGTERM lets the call in flight finish, writes a final status line and ends the loop.

pub mod backoff;
pub mod cache;
pub mod cycle;
pub mod git;
pub mod http;
pub mod metrics;
pub mod reconcile;
pub mod source;
pub mod status;
pub mod triggers;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Mutex, mpsc};
use tracing::{info, warn};

use self::backoff::Backoff;
use self::cache::{Freshness, ObservationCache};
use self::cycle::{Cycle, Spread};
use self::git::GitSource;
use self::reconcile::{InForce, Loaded, Reconciler, choose};
use self::source::LocalSource;
use self::status::{DaemonStatus, InstanceResult, Mode, Revision, SharedStatus};
use self::triggers::{Trigger, next_delay, watch_files, watch_hangup};
use crate::api::Client;
use crate::apply::{StopSignal, stop_pair};
use crate::manifest;
use crate::secrets::DigestMemo;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Manifest paths (relative to the git checkout when following a branch).
    pub paths: Vec<PathBuf>,
    /// `--region`.
    pub fallback_region: Option<String>,
    /// `--secrets-dir`: where `{file:}` secrets may be read from besides the manifest root.
    pub secrets_dirs: Vec<PathBuf>,
    /// `--target` / `--exclude`.
    pub scope: crate::manifest::desired::Scope,
    /// Report or correct.
    pub mode: Mode,
    /// Time in which every instance is read afresh once.
    pub interval: Duration,
    /// Ticks per interval; each re-reads one slice of the fleet (±10 % jitter per tick).
    pub refresh_slices: usize,
    /// The oldest observation a manifest change may be planned from.
    pub cache_max_age: Duration,
    /// Quiet time after manifest changes before a reconcile.
    pub debounce: Duration,
    /// Instances changed at once.
    pub parallelism: usize,
    /// Backoff after an instance fails: first delay and cap.
    pub backoff: (Duration, Duration),
    /// Follow a git branch instead of reading local files.
    pub git: Option<GitConfig>,
}

/// `--git URL --branch B`.
#[derive(Debug, Clone)]
pub struct GitConfig {
    /// The repository.
    pub url: String,
    /// The branch.
    pub branch: String,
    /// Where the checkout lives.
    pub cache_dir: PathBuf,
    /// How often the branch is fetched.
    pub poll_interval: Duration,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The manifests could not be watched.
    #[error(transparent)]
    Watch(#[from] triggers::WatchError),
}

/// Brings the git checkout to the branch's newest commit (if it moved forward) and returns the
/// revision and the manifest paths inside the checkout.
async fn git_refresh(
    config: &DaemonConfig,
    git: &Mutex<GitSource>,
) -> Result<(Revision, Vec<PathBuf>), String> {
    let mut git = git.lock().await;
    let fetched = git
        .fetch()
        .await
        .map_err(|err| crate::apply::error_chain(&err))?;
    if git.applied() != Some(fetched.as_str()) {
        git.checkout(&fetched)
            .await
            .map_err(|err| crate::apply::error_chain(&err))?;
        info!(url = %git.display_url(), commit = %fetched, "checked out");
    }
    let revision = Revision {
        source: "git".into(),
        id: fetched,
    };
    let root = git.checkout_dir().to_path_buf();
    let paths = config.paths.iter().map(|p| root.join(p)).collect();
    Ok((revision, paths))
}

/// The current manifests, read from the source.
async fn load(config: &DaemonConfig, git: Option<&Mutex<GitSource>>) -> Loaded {
    let (revision, paths) = match git {
        Some(git) => match git_refresh(config, git).await {
            Ok(found) => found,
            Err(error) => {
                return Loaded::Bad {
                    revision: None,
                    error,
                };
            }
        },
        None => {
            let source = LocalSource {
                paths: config.paths.clone(),
            };
            match source.revision() {
                Ok(revision) => (revision, config.paths.clone()),
                Err(err) => {
                    return Loaded::Bad {
                        revision: None,
                        error: crate::apply::error_chain(&err),
                    };
                }
            }
        }
    };
    let options = manifest::LoadOptions {
        fallback_region: config.fallback_region.clone(),
        secrets_dirs: config.secrets_dirs.clone(),
    };
    let loaded = manifest::load_with(&paths, &options)
        .map(|loaded| {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            loaded.desired
        })
        .map_err(|err| err.to_string())
        .and_then(|desired| desired.scoped(&config.scope).map_err(|err| err.to_string()));
    match loaded {
        Ok(desired) => Loaded::Good(InForce { desired, revision }),
        Err(error) => Loaded::Bad {
            revision: Some(revision),
            error,
        },
    }
}

/// One summary line of the status, for logs and the final line.
pub fn summary(status: &DaemonStatus) -> String {
    let count = |result: InstanceResult| {
        status
            .instances
            .values()
            .filter(|i| i.last_result == result)
            .count()
    };
    format!(
        "cycles={} failed_cycles={} revision={} instances={} in_sync={} applied={} drift={} failed={} backing_off={}",
        status.cycles,
        status.failed_cycles,
        status.revision.as_ref().map_or("-", |r| r.id.as_str()),
        status.instances.len(),
        count(InstanceResult::InSync),
        count(InstanceResult::Applied),
        count(InstanceResult::Drift),
        count(InstanceResult::Failed),
        count(InstanceResult::BackingOff),
    )
}

/// Runs until `stop` fires; returns the final status.
pub async fn run(
    client: Client,
    config: DaemonConfig,
    status: SharedStatus,
    stop: StopSignal,
) -> Result<DaemonStatus, DaemonError> {
    let (triggers, mut queue) = mpsc::unbounded_channel();
    let _ = triggers.send(Trigger::Startup);
    let git = config.git.as_ref().map(|g| {
        Arc::new(Mutex::new(GitSource::new(
            g.url.clone(),
            g.branch.clone(),
            &g.cache_dir,
        )))
    });
    let _watcher = match (&git, &config.git) {
        (Some(git), Some(git_config)) => {
            poll_git(
                git.clone(),
                git_config.poll_interval,
                triggers.clone(),
                stop.clone(),
            );
            None
        }
        _ => {
            let watch_paths: Vec<PathBuf> = config
                .paths
                .iter()
                .filter(|p| p.exists())
                .cloned()
                .collect();
            Some(watch_files(
                &watch_paths,
                config.debounce,
                triggers.clone(),
            )?)
        }
    };
    watch_hangup(triggers.clone());

    let env = |name: &str| std::env::var(name).ok();
    let mut backoff = Backoff::new(
        SignedDuration::try_from(config.backoff.0).unwrap_or(SignedDuration::from_secs(30)),
        SignedDuration::try_from(config.backoff.1).unwrap_or(SignedDuration::from_secs(1800)),
    );
    let mut in_force: Option<InForce> = None;
    let mut cache = ObservationCache::default();
    let mut digests = DigestMemo::default();
    let spread = Spread {
        slices: config.refresh_slices.max(1),
        max_age: config.cache_max_age,
    };
    let tick = config.interval / spread.slices as u32;
    let mut next_slice = 0;
    // Only interval ticks move the next tick: manifest changes do not postpone the refresh.
    let mut next_tick = tokio::time::Instant::now() + tick;
    loop {
        let first = tokio::select! {
            trigger = queue.recv() => trigger.unwrap_or(Trigger::Interval),
            _ = tokio::time::sleep_until(next_tick) => Trigger::Interval,
            _ = stop.stopped() => break,
        };
        // Everything queued meanwhile is served by this one reconcile.
        let mut woken_by = vec![first];
        while let Ok(trigger) = queue.try_recv() {
            woken_by.push(trigger);
        }
        let started = Instant::now();
        let before = in_force.take();
        in_force = choose(before.clone(), load(&config, git.as_deref()).await, &status);
        let Some(manifests) = &in_force else {
            finish_cycle(
                &status,
                started,
                next_tick,
                Err("no manifests have loaded yet".to_owned()),
            );
            if woken_by.contains(&Trigger::Interval) {
                next_tick = tokio::time::Instant::now() + jittered(tick);
            }
            continue;
        };
        let change = cycle::change(before.as_ref().map(|b| &b.desired), &manifests.desired);
        let cycle = cycle::decide(&woken_by, &change, spread, next_slice);
        if woken_by.contains(&Trigger::Interval) {
            next_slice += 1;
            next_tick = tokio::time::Instant::now() + jittered(tick);
        }
        info!(?woken_by, ?cycle, "reconcile");
        let mut reconciler = Reconciler {
            client: &client,
            status: &status,
            mode: config.mode,
            parallelism: config.parallelism,
            backoff: &mut backoff,
            stop: stop.clone(),
            env: &env,
            digests: &mut digests,
        };
        let result = match &cycle {
            Cycle::Skip => {
                info!("the manifests changed nothing any instance depends on");
                continue;
            }
            Cycle::Full(freshness) => {
                reconciler
                    .run(manifests, *freshness, None, &mut cache)
                    .await
            }
            Cycle::Only { keys, max_age } => {
                let freshness = Freshness::Cached { max_age: *max_age };
                reconciler
                    .run(manifests, freshness, Some(keys), &mut cache)
                    .await
            }
        };
        finish_cycle(&status, started, next_tick, result);
    }
    let last = status.snapshot();
    info!(summary = %summary(&last), "daemon stopped");
    Ok(last)
}

/// A tick with ±10 % jitter, so that many daemons do not reconcile in step.
fn jittered(tick: Duration) -> Duration {
    next_delay(tick, 0.1, rand::random::<f64>())
}

/// Records a finished reconcile in the status.
fn finish_cycle(
    status: &SharedStatus,
    started: Instant,
    next_tick: tokio::time::Instant,
    result: Result<(), String>,
) {
    let now = Timestamp::now();
    let until_next = next_tick.saturating_duration_since(tokio::time::Instant::now());
    let mut current = status.lock();
    current.cycles += 1;
    current
        .cycle_seconds
        .observe(started.elapsed().as_secs_f64());
    current.last_cycle_at = Some(now);
    current.next_cycle_at = now
        .checked_add(SignedDuration::try_from(until_next).unwrap_or_default())
        .ok();
    match result {
        Ok(()) => {
            current.cycle_error = None;
            current.ready = true;
        }
        Err(error) => {
            warn!(error = %error, "reconcile failed");
            current.failed_cycles += 1;
            current.cycle_error = Some(error);
        }
    }
    info!(summary = %summary(&current), "reconcile finished");
}

/// Fetches the branch every `interval`; a new commit triggers a reconcile (which checks it out).
fn poll_git(
    git: Arc<Mutex<GitSource>>,
    interval: Duration,
    triggers: mpsc::UnboundedSender<Trigger>,
    stop: StopSignal,
) {
    tokio::spawn(async move {
        // Each new commit triggers once, even if it cannot be checked out (a rewind).
        let mut last_triggered: Option<String> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.stopped() => return,
            }
            let mut git = git.lock().await;
            match git.fetch().await {
                Ok(commit)
                    if git.applied() != Some(commit.as_str())
                        && last_triggered.as_deref() != Some(commit.as_str()) =>
                {
                    info!(commit = %commit, "the branch moved");
                    last_triggered = Some(commit);
                    if triggers.send(Trigger::Git).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    warn!(error = %crate::apply::error_chain(&err), "fetching the branch failed")
                }
            }
        }
    });
}

/// A stop signal that fires on SIGTERM or Ctrl-C (after which the call in flight finishes).
pub fn stop_on_signals() -> StopSignal {
    let (handle, stop) = stop_pair();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        handle.stop();
    });
    stop
}
