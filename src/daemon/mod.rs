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
//! more. Every step that could block has a deadline ([`deadline`]): reading the manifests and
//! secrets runs on blocking threads under `--load-timeout`, git commands under
//! `--git-timeout`, observing under `--observe-timeout`, and an apply is bounded by its steps'
//! own timeouts; a missed deadline fails the cycle with a [`CycleError`], and readiness
//! reports a loop that is stuck. SIGTERM lets the call in flight finish, writes a final status
//! line and ends the loop; a watchdog exits the process if that takes longer than the grace
//! period.

pub mod backoff;
pub mod cache;
pub mod clients;
pub mod console;
pub mod cycle;
pub mod deadline;
pub mod detail;
pub mod error;
pub mod events;
pub mod git;
pub mod history;
pub mod http;
pub mod metrics;
pub mod phase;
pub mod process;
pub mod reconcile;
pub mod source;
pub mod stacks;
pub mod status;
pub mod triggers;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Mutex, mpsc};
use tracing::{info, warn};

use self::backoff::Backoff;
use self::cache::{Freshness, ObservationCache};
use self::cycle::{Cycle, Spread};
pub use self::deadline::Deadlines;
use self::deadline::{BlockingReads, Phase, enter};
pub use self::error::CycleError;
use self::git::GitSource;
use self::reconcile::{InForce, Loaded, Reconciler, choose};
use self::status::{DaemonStatus, InstanceResult, Mode, Revision, SharedStatus};
use self::triggers::{Trigger, next_delay, watch_files, watch_hangup};
use crate::api::Client;
use crate::apply::secrets::DigestMemo;
use crate::apply::{StopSignal, stop_pair};
use crate::coordination::Shard;
use crate::coordination::replica::{Hooks, Replica, ReplicaSettings};
use crate::manifest;

/// Instances changed at once when neither `--parallelism` nor the Stack document says.
pub const DEFAULT_PARALLELISM: usize = 8;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Manifest paths (relative to the git checkout when following a branch).
    pub paths: Vec<PathBuf>,
    /// `--region`: the region of instances that name none, before the Stack's.
    pub region: Option<String>,
    /// The region of instances that name none when neither `--region` nor the Stack names one
    /// (the environment's or the aliyun profile's).
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
    /// Instances changed at once (`--parallelism`; else the Stack's, else 8).
    pub parallelism: Option<usize>,
    /// Requests per second (`--qps`; else the Stack's, else the default).
    pub qps: Option<f64>,
    /// How long each phase of a cycle may take.
    pub deadlines: Deadlines,
    /// The local lock of each stack and region (apply mode) and the run journal beside it.
    pub lock: crate::lock::LockSettings,
    /// Backoff after an instance fails: first delay and cap.
    pub backoff: (Duration, Duration),
    /// Follow a git branch instead of reading local files.
    pub git: Option<GitConfig>,
    /// Share the shards with other replicas through etcd (`None`: reconcile every shard,
    /// with local locks).
    pub coordination: Option<crate::coordination::replica::ReplicaSettings>,
    /// Where the events of each cycle go (`--notify`), and the ring `/events` serves.
    pub notify: crate::notify::Notifier,
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
    /// A manifest path (`-f`) does not exist.
    #[error("{} does not exist (-f names the manifest files or directories to reconcile)", .0.display())]
    Missing(PathBuf),
    /// A manifest path (`-f`) does not exist in the first checkout of the branch.
    #[error(
        "{} does not exist in {url} at {commit} (with --git, -f names paths inside the repository)",
        .path.display()
    )]
    MissingInCheckout {
        /// The path, relative to the checkout.
        path: PathBuf,
        /// The repository (without credentials).
        url: String,
        /// The commit checked out.
        commit: String,
    },
}

/// Refuses to start when a local manifest path (`-f`) does not exist. With `--git` the
/// paths are inside the checkout and are checked after the first checkout instead.
pub fn check_paths(config: &DaemonConfig) -> Result<(), DaemonError> {
    if config.git.is_some() {
        return Ok(());
    }
    match config.paths.iter().find(|path| !path.exists()) {
        Some(path) => Err(DaemonError::Missing(path.clone())),
        None => Ok(()),
    }
}

/// Brings the git checkout to the branch's newest commit (if it moved forward) and returns the
/// revision and the manifest paths inside the checkout. Waiting for the checkout (the poller
/// may be fetching) and updating it each have the git deadline.
async fn git_refresh(
    config: &DaemonConfig,
    git: &Mutex<GitSource>,
) -> Result<(Revision, Vec<PathBuf>), CycleError> {
    let deadline = config.deadlines.git;
    let missed = || CycleError::Deadline {
        phase: Phase::Fetching,
        after: deadline,
    };
    let mut git = tokio::time::timeout(deadline, git.lock())
        .await
        .map_err(|_| missed())?;
    let refresh = async {
        let fetched = git.fetch().await?;
        if git.applied() != Some(fetched.as_str()) {
            git.checkout(&fetched).await?;
            info!(url = %git.display_url(), commit = %fetched, "checked out");
        }
        Ok::<_, git::GitError>(fetched)
    };
    let fetched = tokio::time::timeout(deadline, refresh)
        .await
        .map_err(|_| missed())?
        .map_err(CycleError::Git)?;
    let revision = Revision {
        author: None,
        subject: None,
        source: "git".into(),
        id: fetched,
    };
    let root = git.checkout_dir().to_path_buf();
    if let Some(path) = config.paths.iter().find(|p| !root.join(p).exists()) {
        return Err(CycleError::NotInCheckout {
            path: path.clone(),
            url: git.display_url().to_string(),
            commit: revision.id,
        });
    }
    let paths = config.paths.iter().map(|p| root.join(p)).collect();
    Ok((revision, paths))
}

/// Reads and validates the manifests under `paths` (blocking: run on a blocking thread).
/// `revision` is the git commit, or `None` for a directory (whose revision is the digest of
/// its files).
fn read_manifests(
    paths: &[PathBuf],
    options: &manifest::LoadOptions,
    scope: &manifest::desired::Scope,
    revision: Option<Revision>,
) -> Loaded {
    // The loader first: it refuses what it cannot read before anything else opens a file.
    let loaded = manifest::load_with(paths, options)
        .map(|loaded| {
            for warning in &loaded.warnings {
                tracing::warn!("{warning}");
            }
            loaded.desired
        })
        .map_err(CycleError::Manifests)
        .and_then(|desired| desired.scoped(scope).map_err(CycleError::Scope));
    let survey = source::survey(paths);
    let revision = revision.or_else(|| {
        survey.as_ref().ok().map(|survey| Revision {
            author: None,
            subject: None,
            source: "dir".into(),
            id: survey.digest.clone(),
        })
    });
    match (loaded, survey, revision) {
        (Ok(desired), Ok(survey), Some(revision)) => Loaded::Good(InForce {
            desired,
            revision,
            documents: survey.documents,
        }),
        (Ok(_), Err(err), revision) => Loaded::Bad {
            revision,
            error: CycleError::Manifests(err),
        },
        (Err(error), _, revision) => Loaded::Bad { revision, error },
        (Ok(_), Ok(_), None) => Loaded::Bad {
            revision: None,
            error: CycleError::Manifests(manifest::LoadError::NoFiles(String::new())),
        },
    }
}

/// The current manifests, read from the source within the deadlines.
async fn load(
    config: &DaemonConfig,
    git: Option<&Mutex<GitSource>>,
    reads: &mut BlockingReads,
    status: &SharedStatus,
) -> Loaded {
    let (revision, paths) = match git {
        Some(git) => {
            enter(status, Phase::Fetching, config.deadlines.git * 2);
            match git_refresh(config, git).await {
                Ok((revision, paths)) => (Some(revision), paths),
                Err(error) => {
                    return Loaded::Bad {
                        revision: None,
                        error,
                    };
                }
            }
        }
        None => (None, config.paths.clone()),
    };
    enter(status, Phase::Loading, config.deadlines.load);
    let options = manifest::LoadOptions {
        region: config.region.clone(),
        fallback_region: config.fallback_region.clone(),
        secrets_dirs: config.secrets_dirs.clone(),
    };
    let scope = config.scope.clone();
    let reading = reads.run(Phase::Loading, config.deadlines.load, move || {
        read_manifests(&paths, &options, &scope, revision)
    });
    match reading.await {
        Ok(loaded) => loaded,
        Err(error) => Loaded::Bad {
            revision: None,
            error,
        },
    }
}

/// How long the daemon may go without a successful reconcile before it is not ready: an
/// interval and a tick for the next one to start, plus the deadlines of one cycle before its
/// apply (whose own deadline readiness follows while it runs).
fn success_expected_within(config: &DaemonConfig, tick: Duration) -> Duration {
    let fetching = if config.git.is_some() {
        config.deadlines.git * 2
    } else {
        Duration::ZERO
    };
    config
        .interval
        .saturating_add(tick)
        .saturating_add(fetching)
        .saturating_add(config.deadlines.load.saturating_mul(2))
        .saturating_add(config.deadlines.observe)
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

/// Runs until `stop` fires; returns the final status. Each cycle calls with the client
/// `clients` gives the Stack document in force.
pub async fn run(
    clients: Arc<clients::Clients>,
    config: DaemonConfig,
    status: SharedStatus,
    stop: StopSignal,
) -> Result<DaemonStatus, DaemonError> {
    check_paths(&config)?;
    let (triggers, mut queue) = mpsc::unbounded_channel();
    let _ = triggers.send(Trigger::Startup);
    let git = config.git.as_ref().map(|g| {
        Arc::new(Mutex::new(
            GitSource::new(g.url.clone(), g.branch.clone(), &g.cache_dir)
                .with_timeout(config.deadlines.git),
        ))
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
    let replica = config
        .coordination
        .clone()
        .map(|settings| start_replica(settings, &triggers, &status, &config.notify));
    let mut watch = events::Watch::new(config.notify.clone());

    let env: reconcile::Env = Arc::new(|name: &str| std::env::var(name).ok());
    let mut backoff = Backoff::new(
        SignedDuration::try_from(config.backoff.0).unwrap_or(SignedDuration::from_secs(30)),
        SignedDuration::try_from(config.backoff.1).unwrap_or(SignedDuration::from_secs(1800)),
    );
    let mut in_force: Option<InForce> = None;
    let mut cache = ObservationCache::default();
    let mut digests = DigestMemo::default();
    let mut reads = BlockingReads::new(status.clone());
    let client = clients.base().clone();
    let spread = Spread {
        slices: config.refresh_slices.max(1),
        max_age: config.cache_max_age,
    };
    let tick = config.interval / u32::try_from(spread.slices).unwrap_or(u32::MAX);
    status.lock().success_expected_within_secs =
        Some(success_expected_within(&config, tick).as_secs().max(1));
    let mut next_slice = 0;
    // With --git, whether a checkout has had the manifest paths (a missing path in the first
    // checkout is a mistake in the command line; later, a commit that removed them).
    let mut paths_seen = false;
    // Only interval ticks move the next tick: manifest changes do not postpone the refresh.
    let mut next_tick = tokio::time::Instant::now() + tick;
    // When the earliest window that held steps wait for opens: a fresh cycle runs then.
    let mut window_opens: Option<tokio::time::Instant> = None;
    loop {
        if stop.is_set() {
            break;
        }
        let first = tokio::select! {
            biased;
            _ = stop.stopped() => break,
            trigger = queue.recv() => trigger.unwrap_or(Trigger::Interval),
            _ = tokio::time::sleep_until(next_tick) => Trigger::Interval,
            _ = sleep_until_some(window_opens) => Trigger::Window,
        };
        window_opens = None;
        // Everything queued meanwhile is served by this one reconcile.
        let mut woken_by = vec![first];
        while let Ok(trigger) = queue.try_recv() {
            woken_by.push(trigger);
        }
        let started = Instant::now();
        let before = in_force.take();
        let loaded = tokio::select! {
            loaded = load(&config, git.as_deref(), &mut reads, &status) => loaded,
            () = stop.stopped() => break,
        };
        match &loaded {
            Loaded::Bad {
                error: CycleError::NotInCheckout { path, url, commit },
                ..
            } if !paths_seen => {
                return Err(DaemonError::MissingInCheckout {
                    path: path.clone(),
                    url: url.clone(),
                    commit: commit.clone(),
                });
            }
            Loaded::Bad {
                error: CycleError::Git(_) | CycleError::Deadline { .. },
                ..
            } => {}
            _ => paths_seen = true,
        }
        let (chosen, refused) = choose(before.clone(), loaded, &status);
        in_force = chosen;
        if woken_by.contains(&Trigger::Interval) {
            next_tick = tokio::time::Instant::now() + jittered(tick);
        }
        let Some(manifests) = &in_force else {
            let cause = refused.unwrap_or(CycleError::NoInstances);
            finish_cycle(
                &status,
                &client,
                &mut watch,
                started,
                next_tick,
                Err(CycleError::NothingInForce(Box::new(cause))),
            );
            continue;
        };
        // With etcd, only the shards this replica holds.
        let (manifests, _cycle) = match &replica {
            None => (Cow::Borrowed(manifests), None),
            Some(replica) => {
                let stack = &manifests.desired.stack.name;
                let regions = manifests.desired.regions().into_iter().collect();
                replica
                    .describe(stack, Shard::of(stack, &regions).into_iter().collect())
                    .await;
                let guard = replica.cycle().await;
                let held: BTreeSet<String> = replica
                    .held()
                    .into_iter()
                    .map(|shard| shard.region)
                    .collect();
                let part = InForce {
                    desired: manifests.desired.in_regions(&held),
                    ..manifests.clone()
                };
                (Cow::Owned(part), Some(guard))
            }
        };
        let manifests = manifests.as_ref();
        if replica.is_some()
            && manifests.desired.instances.is_empty()
            && manifests.desired.regions().is_empty()
        {
            // A standby: it holds no shard (or none with instances) this cycle.
            let trouble = replica.as_ref().and_then(Replica::trouble);
            status.lock().instances.clear();
            finish_cycle(
                &status,
                &client,
                &mut watch,
                started,
                next_tick,
                trouble.map_or(Ok(()), |t| Err(CycleError::Coordination(t))),
            );
            continue;
        }
        let change = cycle::change(before.as_ref().map(|b| &b.desired), &manifests.desired);
        let cycle = cycle::decide(&woken_by, &change, spread, next_slice);
        if woken_by.contains(&Trigger::Interval) {
            next_slice += 1;
        }
        info!(
            trigger = %triggers::words(&woken_by),
            cycle = %cycle,
            mode = %config.mode,
            "reconcile started"
        );
        let stack = &manifests.desired.stack;
        watch.stack(&stack.name);
        let client = clients.for_stack(stack);
        let mut reconciler = Reconciler {
            client: &client,
            status: &status,
            mode: config.mode,
            parallelism: parallelism(config.parallelism, stack),
            backoff: &mut backoff,
            stop: stop.clone(),
            env: env.clone(),
            digests: &mut digests,
            reads: &mut reads,
            deadlines: config.deadlines,
            lock: &config.lock,
            next_tick,
            replica: replica.as_ref(),
        };
        let result = match &cycle {
            Cycle::Skip => {
                info!("the manifests changed nothing any instance depends on");
                if let Some(refused) = refused {
                    finish_cycle(
                        &status,
                        &client,
                        &mut watch,
                        started,
                        next_tick,
                        Err(refused),
                    );
                } else {
                    status.lock().phase = None;
                }
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
        // The last good manifests were reconciled; the cycle still failed if the newest did
        // not load.
        let result = result.and(refused.map_or(Ok(()), Err));
        window_opens = next_window_opening(&status, &client);
        finish_cycle(&status, &client, &mut watch, started, next_tick, result);
    }
    if let Some(replica) = &replica {
        replica.leave().await;
    }
    let last = status.snapshot();
    info!(summary = %summary(&last), "daemon stopped");
    Ok(last)
}

/// Starts this replica's etcd membership: taking shards triggers a cycle, and every report
/// goes into the status.
fn start_replica(
    settings: ReplicaSettings,
    triggers: &mpsc::UnboundedSender<Trigger>,
    status: &SharedStatus,
    notifier: &crate::notify::Notifier,
) -> Replica {
    info!(replica = %settings.name, endpoints = %settings.endpoints.join(","), ttl_secs = settings.ttl.as_secs(), "coordinating through etcd");
    let gained = triggers.clone();
    let reports = status.clone();
    let shards = events::ShardWatch::new(notifier.clone());
    let replica = Replica::start(
        settings,
        Hooks {
            gained: Box::new(move || {
                let _ = gained.send(Trigger::Shards);
            }),
            report: Box::new(move |report| {
                shards.report(&report);
                reports.lock().coordination = Some(report);
            }),
        },
    );
    // The lease's age moves even while etcd does not answer: the status follows it each
    // second, not only after each pass.
    let reporting = replica.clone();
    let reports = status.clone();
    let closed = triggers.clone();
    tokio::spawn(async move {
        while !closed.is_closed() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            reports.lock().coordination = Some(reporting.report());
        }
    });
    replica
}

/// A tick with ±10 % jitter, so that many daemons do not reconcile in step.
fn jittered(tick: Duration) -> Duration {
    next_delay(tick, 0.1, rand::random::<f64>())
}

/// Records a finished reconcile in the status.
/// Sleeps until `at`, or for ever when there is no such moment.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// When the earliest maintenance window a held step waits for opens, on this machine's
/// monotonic clock (window times are the cloud's: the client knows its offset), a second
/// late so that the window is open by then.
fn next_window_opening(status: &SharedStatus, client: &Client) -> Option<tokio::time::Instant> {
    let opens = status
        .lock()
        .instances
        .values()
        .flat_map(|instance| instance.held.iter().filter_map(|held| held.opens))
        .min()?;
    let wait = opens.duration_since(client.cloud_now()) + SignedDuration::from_secs(1);
    let wait = std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
    Some(tokio::time::Instant::now() + wait)
}

fn finish_cycle(
    status: &SharedStatus,
    client: &Client,
    watch: &mut events::Watch,
    started: Instant,
    next_tick: tokio::time::Instant,
    result: Result<(), CycleError>,
) {
    let now = Timestamp::now();
    let until_next = next_tick.saturating_duration_since(tokio::time::Instant::now());
    let counts = client.stats().snapshot();
    let credentials = status::CredentialStatus::of(client.credentials());
    let mut current = status.lock();
    current.phase = None;
    current.cycles += 1;
    current.credentials = Some(credentials);
    let seconds = started.elapsed().as_secs_f64();
    current.cycle_seconds.observe(seconds);
    let drift = current
        .instances
        .values()
        .filter(|instance| !instance.drift.is_empty())
        .count();
    current
        .history
        .record(now, seconds, result.is_ok(), drift, &counts);
    current.last_cycle_at = Some(now);
    current.next_cycle_at = now
        .checked_add(SignedDuration::try_from(until_next).unwrap_or_default())
        .ok();
    match result {
        Ok(()) => {
            info!(outcome = %"ok", summary = %summary(&current), "reconcile finished");
            current.cycle_error = None;
            current.ready = true;
            current.last_success_at = Some(now);
        }
        Err(error) => {
            let error = crate::apply::error_chain(&error);
            current.failed_cycles += 1;
            warn!(outcome = %"failed", error = %error, summary = %summary(&current), "reconcile finished");
            current.cycle_error = Some(error);
        }
    }
    let finished = current.outcomes();
    drop(current);
    watch.after_cycle(finished);
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

/// Instances changed at once: `--parallelism`, else the Stack document's, else the default.
fn parallelism(flag: Option<usize>, stack: &crate::manifest::desired::Stack) -> usize {
    flag.or(stack.parallelism.and_then(|p| usize::try_from(p).ok()))
        .unwrap_or(DEFAULT_PARALLELISM)
}

/// Why the watchdog ends the process itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForcedExit {
    /// A second SIGTERM or Ctrl-C.
    SecondSignal,
    /// The daemon had not stopped when the grace period ended.
    GraceExpired,
}

/// A stop signal that fires on SIGTERM or Ctrl-C (after which the call in flight finishes),
/// and a watchdog that calls `exit` if the process is still running `grace` later, or at a
/// second signal. Signals are handled on a thread of their own with its own small runtime, so
/// a loop stuck in a blocking step cannot keep them from being seen.
pub fn stop_on_signals(
    grace: Duration,
    exit: impl FnOnce(ForcedExit) + Send + 'static,
) -> StopSignal {
    let (handle, stop) = stop_pair();
    // The signal handlers are in place before this returns, so that a signal sent as soon as
    // the daemon has printed its address is seen, not left to its default action.
    let (ready, handlers_set) = std::sync::mpsc::channel::<()>();
    let watchdog = move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(err) => {
                warn!(error = %err, "no signal handling: the runtime for it did not start");
                return;
            }
        };
        runtime.block_on(async move {
            let mut signals = match crate::signals::StopSignals::new() {
                Ok(signals) => signals,
                Err(err) => {
                    warn!(error = %err, "no signal handling: SIGTERM cannot be watched");
                    return;
                }
            };
            let _ = ready.send(());
            signals.next().await;
            handle.stop();
            enforce_grace(grace, async move { signals.next().await }, exit).await;
        });
    };
    match std::thread::Builder::new()
        .name("kvsync-signals".into())
        .spawn(watchdog)
    {
        Ok(_) => {
            let _ = handlers_set.recv_timeout(Duration::from_secs(5));
        }
        Err(err) => warn!(error = %err, "no signal handling: its thread did not start"),
    }
    stop
}

/// After a stop was asked for: calls `exit` when `second` resolves `true` (a second signal)
/// or when `grace` has passed, whichever comes first. The process normally ends before either.
pub async fn enforce_grace(
    grace: Duration,
    second: impl std::future::Future<Output = bool>,
    exit: impl FnOnce(ForcedExit),
) {
    let forced = tokio::select! {
        true = second => ForcedExit::SecondSignal,
        () = tokio::time::sleep(grace) => ForcedExit::GraceExpired,
    };
    exit(forced);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_exits_when_the_grace_period_ends() {
        let (sender, receiver) = std::sync::mpsc::channel();
        enforce_grace(
            Duration::from_secs(10),
            std::future::pending::<bool>(),
            move |forced| sender.send(forced).unwrap(),
        )
        .await;
        assert_eq!(receiver.try_recv(), Ok(ForcedExit::GraceExpired));
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_signal_exits_at_once() {
        let started = tokio::time::Instant::now();
        let (sender, receiver) = std::sync::mpsc::channel();
        enforce_grace(Duration::from_secs(10), async { true }, move |forced| {
            sender.send(forced).unwrap()
        })
        .await;
        assert_eq!(receiver.try_recv(), Ok(ForcedExit::SecondSignal));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    /// Regression: `daemon --parallelism` claimed to default to the Stack's value but the
    /// daemon always used 8.
    #[test]
    fn parallelism_comes_from_the_flag_then_the_stack_then_the_default() {
        let mut stack = crate::manifest::desired::Stack::default();
        assert_eq!(parallelism(None, &stack), DEFAULT_PARALLELISM);
        stack.parallelism = Some(3);
        assert_eq!(parallelism(None, &stack), 3);
        assert_eq!(parallelism(Some(5), &stack), 5);
    }

    fn config(git: bool) -> DaemonConfig {
        DaemonConfig {
            paths: Vec::new(),
            region: None,
            fallback_region: None,
            secrets_dirs: Vec::new(),
            scope: Default::default(),
            mode: Mode::Observe,
            interval: Duration::from_secs(300),
            refresh_slices: 10,
            cache_max_age: Duration::from_secs(120),
            debounce: Duration::from_secs(2),
            parallelism: None,
            qps: None,
            deadlines: Deadlines::default(),
            lock: crate::lock::LockSettings {
                dir: PathBuf::from(".kvsync/locks"),
                timeout: Duration::ZERO,
            },
            backoff: (Duration::from_secs(30), Duration::from_secs(1800)),
            git: git.then(|| GitConfig {
                url: "file:///r".into(),
                branch: "main".into(),
                cache_dir: PathBuf::from("c"),
                poll_interval: Duration::from_secs(60),
            }),
            coordination: None,
            notify: Default::default(),
        }
    }

    #[test]
    fn a_success_is_expected_within_an_interval_a_tick_and_one_cycles_deadlines() {
        let tick = Duration::from_secs(30);
        // 300 s + 30 s + 2 × 30 s (manifests, secrets) + 600 s (observing).
        assert_eq!(
            success_expected_within(&config(false), tick),
            Duration::from_secs(990)
        );
        // ... plus fetching: twice the git deadline.
        assert_eq!(
            success_expected_within(&config(true), tick),
            Duration::from_secs(990 + 600)
        );
    }
}
