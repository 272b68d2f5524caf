//! One reconcile, from scratch: load → observe → plan → apply or report. It never learns what
//! triggered it; it keeps the last good manifests when the newest do not load, and it records
//! every outcome in the shared status.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use tracing::{info, warn};

use super::backoff::Backoff;
use super::cache::{Freshness, ObservationCache};
use super::deadline::{BlockingReads, Deadlines, Phase, apply_deadline, enter};
use super::error::CycleError;
use super::status::{InstanceResult, InstanceStatus, Mode, Revision, SharedStatus, TimedStep};
use crate::api::Client;
use crate::apply::secrets::{self, DigestMemo, Need};
use crate::apply::{self, ApplyOptions, InstanceOutcome, StopSignal, error_chain};
use crate::coordination::local::LocalCoordinator;
use crate::coordination::replica::{Replica, ReplicaFence};
use crate::coordination::{Coordinator, Guard, Shard};
use crate::journal;
use crate::lock::LockSettings;
use crate::manifest::{Desired, InstanceKey};
use crate::plan::model::{BlockedKind, Impact, InstancePlan, Plan, When};
use crate::plan::{DiffOptions, Seeds, render};
use crate::{observe, plan, session};

/// The manifests in force: the last set that loaded, and its revision.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The desired state.
    pub desired: Desired,
    /// Where it came from.
    pub revision: Revision,
    /// Per manifest file, the documents it held (see [`super::source::survey`]).
    pub documents: BTreeMap<PathBuf, usize>,
}

/// The newest manifests as read this cycle.
#[derive(Debug)]
pub enum Loaded {
    /// They loaded.
    Good(InForce),
    /// They did not.
    Bad {
        /// The revision that failed.
        revision: Option<Revision>,
        /// Why.
        error: CycleError,
    },
}

/// Files that described instances in `last` and hold no document at all in `newest`.
fn emptied_files(last: &InForce, newest: &InForce) -> Vec<PathBuf> {
    let describing = |set: &InForce| -> BTreeSet<PathBuf> {
        set.desired
            .instances
            .iter()
            .map(|instance| instance.source.path.clone())
            .collect()
    };
    let after = describing(newest);
    describing(last)
        .into_iter()
        .filter(|path| !after.contains(path) && newest.documents.get(path) == Some(&0))
        .collect()
}

/// Decides which manifests are in force: the newest if they loaded and describe something,
/// else the last good ones, with the reason the newest are not in force. An empty rendering
/// never replaces a non-empty one, nor one in which a file that described instances now holds
/// no document (emptied, only comments, only `---`), so neither can cause a prune.
pub fn choose(
    last_good: Option<InForce>,
    loaded: Loaded,
    status: &SharedStatus,
) -> (Option<InForce>, Option<CycleError>) {
    let refused = match (loaded, &last_good) {
        (Loaded::Good(newest), Some(good))
            if newest.desired.instances.is_empty() && !good.desired.instances.is_empty() =>
        {
            Some((Some(newest.revision), CycleError::NoInstances))
        }
        (Loaded::Good(newest), Some(good)) if !emptied_files(good, &newest).is_empty() => {
            let files = emptied_files(good, &newest);
            Some((Some(newest.revision), CycleError::Emptied(files)))
        }
        (Loaded::Good(newest), _) => {
            let mut status = status.lock();
            if status.revision.as_ref() != Some(&newest.revision) {
                info!(source = %newest.revision.source, revision = %newest.revision.id, "manifests in force");
            }
            status.revision = Some(newest.revision.clone());
            status.pending_revision = None;
            status.manifest_error = None;
            return (Some(newest), None);
        }
        (Loaded::Bad { revision, error }, _) => Some((revision, error)),
    };
    let Some((revision, error)) = refused else {
        return (last_good, None);
    };
    let message = error_chain(&error);
    warn!(error = %message, "the newest manifests are not in force; keeping the last good set");
    let mut status = status.lock();
    status.manifest_error = Some(message);
    status.pending_revision = revision;
    (last_good, Some(error))
}

/// Environment lookup for secrets, usable from a blocking thread.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Everything one reconcile needs.
pub struct Reconciler<'a> {
    /// The client.
    pub client: &'a Client,
    /// The shared status.
    pub status: &'a SharedStatus,
    /// Observe or apply.
    pub mode: Mode,
    /// Instances changed at once.
    pub parallelism: usize,
    /// Failure backoff.
    pub backoff: &'a mut Backoff,
    /// Asks a running apply to stop (SIGTERM).
    pub stop: StopSignal,
    /// Environment lookup for secrets.
    pub env: Env,
    /// Password digests computed in earlier cycles.
    pub digests: &'a mut DigestMemo,
    /// Where reads that may block run.
    pub reads: &'a mut BlockingReads,
    /// How long each phase may take.
    pub deadlines: Deadlines,
    /// Where the locks and the run journal live (apply mode).
    pub lock: &'a LockSettings,
    /// When the next interval tick is due: every instance looked at is next read then, unless
    /// it is backing off for longer.
    pub next_tick: tokio::time::Instant,
    /// The etcd membership whose shards this cycle holds, instead of local locks.
    pub replica: Option<&'a Replica>,
}

/// The wall-clock time of `tick`, never earlier than now.
fn wall_time(tick: tokio::time::Instant) -> Timestamp {
    let now = Timestamp::now();
    let until = tick.saturating_duration_since(tokio::time::Instant::now());
    jiff::SignedDuration::try_from(until)
        .ok()
        .and_then(|until| now.checked_add(until).ok())
        .unwrap_or(now)
}

/// The fields a plan changes or cannot change for one instance, in plan order, each once.
fn drift_fields(instance: &InstancePlan) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    let changed = instance
        .steps
        .iter()
        .flat_map(|step| step.changes.iter().map(|c| c.field.clone()));
    let blocked = instance
        .blocked
        .iter()
        .filter(|b| b.kind == BlockedKind::Drift)
        .map(|b| b.field.clone());
    for field in changed.chain(blocked) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

/// Logs one line per instance whose plan has steps or blocked differences.
fn log_drift(plan: &Plan, mode: Mode) {
    if plan.instances.iter().any(|i| !i.steps.is_empty()) {
        info!(summary = %render::summary_line(&plan.summary()), mode = %mode, "plan");
    }
    for instance in &plan.instances {
        let fields = drift_fields(instance);
        if fields.is_empty() && instance.steps.is_empty() {
            continue;
        }
        let fields = if fields.is_empty() {
            "-".to_owned()
        } else {
            fields.join(",")
        };
        info!(
            instance = %instance.key,
            steps = instance.steps.len(),
            fields = %fields,
            "drift found"
        );
    }
}

/// Logs an apply's progress as words (never `Debug` output).
fn log_progress(event: apply::Event) {
    match event {
        apply::Event::Step {
            key,
            index,
            total,
            action,
        } => {
            tracing::debug!(instance = %key, step = index, of = total, action = %action, "step started")
        }
        apply::Event::Waiting {
            key,
            action,
            condition,
        } => {
            tracing::debug!(instance = %key, action = %action, waiting_for = %condition, "step waiting")
        }
        apply::Event::Done { key, action, .. } => {
            info!(instance = %key, action = %action, "step applied")
        }
        apply::Event::Failed { key, action, error } => {
            warn!(instance = %key, action = %action, error = %error, "step failed")
        }
        apply::Event::Stopped { key, not_run } => {
            info!(instance = %key, not_run, "stopped before the remaining steps")
        }
    }
}

/// The lines a plan shows for one instance (steps and blocked differences).
fn drift_lines(instance: &InstancePlan) -> Vec<String> {
    let mut lines = Vec::new();
    for step in &instance.steps {
        let changes: Vec<String> = step.changes.iter().map(|c| c.field.clone()).collect();
        let when = match step.when {
            When::Now => String::new(),
            _ => format!(" [{}]", step.when.describe()),
        };
        lines.push(format!(
            "{} ({}){when}",
            step.request.name(),
            changes.join(", ")
        ));
    }
    for blocked in &instance.blocked {
        if blocked.kind == BlockedKind::Drift {
            lines.push(format!("! {}: {}", blocked.field, blocked.reason));
        }
    }
    lines
}

/// Fills in what the console shows of an instance after its reconcile: the differences with
/// their values, the pending steps, the cloud's view, every managed aspect, and the run.
fn describe(
    entry: &mut InstanceStatus,
    desired: Option<&crate::manifest::DesiredInstance>,
    observed: &HashMap<&str, &crate::plan::observed::ObservedInstance>,
    plan: Option<&InstancePlan>,
    outcome: Option<&InstanceOutcome>,
    now: Timestamp,
) {
    use super::detail;
    let settled = matches!(
        entry.last_result,
        InstanceResult::Applied | InstanceResult::InSync
    );
    if entry.last_result != InstanceResult::BackingOff {
        let mut values = plan.map(detail::drift_values).unwrap_or_default();
        if settled {
            // What was applied is done; what kvsync will not change still differs.
            values.retain(|value| value.blocked.is_some());
        }
        entry.drift_values = values;
        entry.pending = plan
            .map(|plan| detail::pending(plan, settled))
            .unwrap_or_default();
    }
    entry.instance_id = outcome
        .and_then(|o| o.instance_id.clone())
        .or_else(|| plan.and_then(|p| p.instance_id.clone()))
        .or_else(|| entry.instance_id.clone());
    if let Some(id) = &entry.instance_id
        && let Some(found) = observed.get(id.as_str())
    {
        entry.cloud = Some(detail::cloud_view(found));
    }
    if let Some(desired) = desired {
        entry.aspects = detail::aspects(desired, &entry.drift_values);
    }
    let applied: Vec<String> = outcome
        .map(|o| o.applied.iter().map(|a| (*a).to_owned()).collect())
        .unwrap_or_default();
    if !applied.is_empty() {
        entry.last_applied = Some(now);
    }
    match outcome.and_then(|o| o.failed.as_ref()) {
        Some(failure) => {
            entry.last_error_code = failure.code.clone();
            entry.last_error_request_id = failure.request_id.clone();
        }
        None if entry.last_error.is_none() => {
            entry.last_error_code = None;
            entry.last_error_request_id = None;
        }
        None => {}
    }
    if entry.runs.len() == super::status::RUNS_KEPT {
        entry.runs.pop_front();
    }
    entry.runs.push_back(super::status::InstanceRun {
        at: now,
        result: entry.last_result,
        drift: entry.drift_values.len(),
        applied,
        error: entry.last_error.clone(),
    });
}

/// The steps of an instance's plan that do not run now (held for the window or by the policy
/// `never`) and the changes the cloud makes in the window (sent as `MaintainTime` this cycle,
/// or pending already).
fn timed(instance: &InstancePlan) -> (Vec<TimedStep>, Vec<TimedStep>) {
    let mut held = Vec::new();
    let mut scheduled = Vec::new();
    for step in &instance.steps {
        let entry = |opens: Option<Timestamp>| TimedStep {
            what: step.request.name().to_owned(),
            when: step.when.describe(),
            opens,
        };
        match &step.when {
            When::Now => {}
            When::Window { opens, .. } => held.push(entry(Some(opens.utc))),
            When::Held => held.push(entry(None)),
            When::Cloud { opens } => scheduled.push(entry(Some(opens.utc))),
        }
    }
    for note in &instance.blocked {
        if note.kind == BlockedKind::Scheduled {
            scheduled.push(TimedStep {
                what: note.field.clone(),
                when: "pending in the cloud for the maintenance window".into(),
                opens: None,
            });
        }
    }
    (held, scheduled)
}

/// The earliest moment a held step's window opens, for waking up then.
pub fn earliest_opening(plan: &Plan) -> Option<Timestamp> {
    plan.instances
        .iter()
        .flat_map(|i| &i.steps)
        .filter_map(|step| match &step.when {
            When::Window { opens, .. } => Some(opens.utc),
            _ => None,
        })
        .min()
}

/// The steps the daemon may run for an instance: everything up to the first step that needs a
/// gate the Stack document does not open (that step and all after it are held back).
fn allowed_steps(instance: &InstancePlan, desired: &Desired) -> (InstancePlan, usize) {
    let held_from = instance.steps.iter().position(|step| match step.impact {
        Impact::Destructive => !desired.stack.allow_destroy,
        Impact::Irreversible => !desired.stack.allow_irreversible,
        Impact::None | Impact::Restart => false,
    });
    let mut allowed = instance.clone();
    let held = match held_from {
        Some(index) => {
            allowed.steps.truncate(index);
            instance.steps.len() - index
        }
        None => 0,
    };
    (allowed, held)
}

/// The part of the manifests one cycle looks at: everything, or only `only` (which never
/// prunes: a partial view cannot tell which instances no manifest describes).
fn subset<'d>(desired: &'d Desired, only: Option<&BTreeSet<InstanceKey>>) -> Cow<'d, Desired> {
    match only {
        None => Cow::Borrowed(desired),
        Some(keys) => {
            let mut part = desired.clone();
            part.instances
                .retain(|instance| keys.contains(&instance.key));
            part.stack.prune = false;
            Cow::Owned(part)
        }
    }
}

impl Reconciler<'_> {
    /// Observes, plans, and (in apply mode) corrects what is allowed. `freshness` says which
    /// answers the cache may give instead of the cloud; `only` limits the cycle to some
    /// instances (the others keep their last status). `Err` is a failure of the whole cycle
    /// (secrets, the cloud, a missed deadline); per-instance failures are recorded in the
    /// status.
    pub async fn run(
        &mut self,
        in_force: &InForce,
        freshness: Freshness,
        only: Option<&BTreeSet<InstanceKey>>,
        cache: &mut ObservationCache,
    ) -> Result<(), CycleError> {
        let desired = subset(&in_force.desired, only);
        // In apply mode, one writer per stack and region on this machine from before the
        // observation until the apply ends; an unfinished run's seeds are taken over.
        let regions: BTreeSet<String> = desired.regions().into_iter().collect();
        // A replica that may not write observes and plans, and sends nothing.
        let mut refused = None;
        let (_locks, fence) = match (self.mode, self.replica) {
            (Mode::Observe, _) => (None, None),
            (Mode::Apply, Some(replica)) => {
                refused = replica.trouble();
                let fence = Guard::Replica(ReplicaFence {
                    replica: replica.clone(),
                    stack: desired.stack.name.clone(),
                });
                (None, Some(Arc::new(fence)))
            }
            (Mode::Apply, None) => {
                let coordinator = Coordinator::Local(LocalCoordinator::new(&self.lock.dir));
                let shards = Shard::of(&desired.stack.name, &regions);
                let locks = tokio::select! {
                    locks = coordinator.acquire(
                        &shards,
                        self.lock.timeout,
                        "kvsync daemon",
                    ) => locks.map_err(CycleError::Lock)?,
                    () = self.stop.stopped() => return Err(CycleError::Stopped),
                };
                (Some(locks), None)
            }
        };
        // The run's token seeds, begun once this process may write the stack (under its locks,
        // or holding its shards).
        let seeds = match self.mode {
            Mode::Observe => Seeds::new(),
            Mode::Apply => journal::begin(
                &self.lock.dir,
                &desired.stack.name,
                &regions,
                Timestamp::now(),
                rand::random,
            )
            .map_err(CycleError::Journal)?,
        };
        let need = match self.mode {
            Mode::Apply => Need::Required,
            Mode::Observe => Need::Optional,
        };
        // Secret files are read off the async threads: one can block (a FIFO).
        enter(self.status, Phase::ReadingSecrets, self.deadlines.load);
        let reading = {
            let desired = desired.clone().into_owned();
            let env = self.env.clone();
            self.reads
                .run(Phase::ReadingSecrets, self.deadlines.load, move || {
                    secrets::check(&desired, &*env, need)
                })
        };
        let checked = tokio::select! {
            read = reading => read?,
            () = self.stop.stopped() => return Err(CycleError::Stopped),
        }
        .map_err(|err| CycleError::Secrets(Box::new(err)))?;
        // Digests of new or changed passwords are computed beside the observation.
        let memo = std::mem::take(self.digests);
        enter(self.status, Phase::Observing, self.deadlines.observe);
        let observation = async {
            tokio::select! {
                observed = tokio::time::timeout(
                    self.deadlines.observe,
                    self.observe(&desired, freshness, cache),
                ) => observed.unwrap_or(Err(CycleError::Deadline {
                    phase: Phase::Observing,
                    after: self.deadlines.observe,
                })),
                () = self.stop.stopped() => Err(CycleError::Stopped),
            }
        };
        let (observed, resolved, memo) =
            session::observe_and_digest(checked, memo, observation).await;
        *self.digests = memo;
        if only.is_none() {
            self.digests.retain_described(&in_force.desired);
        }
        let observed = observed?;
        let zone = jiff::tz::TimeZone::system();
        let plan = plan::diff(
            &desired,
            &observed,
            &resolved.digests,
            DiffOptions {
                prune_all: false,
                seeds: &seeds,
                now: self.client.cloud_now(),
                zone: &zone,
                now_overrides_window: false,
                partial: None,
            },
        );
        log_drift(&plan, self.mode);
        let now = Timestamp::now();
        let results = match (self.mode, &refused) {
            (Mode::Apply, None) => {
                self.apply(&desired, &plan, &resolved.values, now, fence)
                    .await
            }
            _ => BTreeMap::new(),
        };
        let finished = results
            .values()
            .all(|(outcome, _)| outcome.failed.is_none() && outcome.not_run.is_empty());
        if self.mode == Mode::Apply && finished {
            journal::finish(&self.lock.dir, &desired.stack.name, &regions)
                .map_err(CycleError::Journal)?;
        }
        // What was written, or failed to be, is read afresh next time.
        for (outcome, _) in results.values() {
            match &outcome.instance_id {
                Some(id) => cache.invalidate(&outcome.key.region, id),
                None => cache.forget_listing(),
            }
        }
        self.record(&in_force.desired, &desired, &observed, &plan, &results, now);
        refused.map_or(Ok(()), |trouble| Err(CycleError::Coordination(trouble)))
    }

    /// The listing and detail reads `desired` needs, taking from `cache` what `freshness`
    /// allows and storing what was read.
    async fn observe(
        &self,
        desired: &Desired,
        freshness: Freshness,
        cache: &mut ObservationCache,
    ) -> Result<observe::Observed, CycleError> {
        let now = Instant::now();
        let mut observed = match cache.listing(&desired.regions(), freshness, now) {
            Some(listing) => listing,
            None => {
                let listing = observe::list(self.client, desired)
                    .await
                    .map_err(CycleError::Observe)?;
                cache.put_listing(&listing, now);
                cache.retain_listed(&listing);
                listing
            }
        };
        let reads = observe::read_details(
            self.client,
            desired,
            &mut observed,
            &mut cache.view(freshness, now),
        )
        .await
        .map_err(CycleError::Observe)?;
        info!(
            instances = desired.instances.len(),
            listed = observed.regions.values().map(Vec::len).sum::<usize>(),
            "instances read"
        );
        tracing::debug!(
            reads,
            cached = cache.len(),
            freshness = %freshness,
            "observation details"
        );
        Ok(observed)
    }

    async fn apply(
        &mut self,
        desired: &Desired,
        plan: &Plan,
        secrets: &BTreeMap<crate::secrets::SecretRef, crate::secrets::Secret>,
        now: Timestamp,
        fence: Option<Arc<Guard>>,
    ) -> BTreeMap<InstanceKey, (InstanceOutcome, usize)> {
        let mut runnable = Plan {
            instances: Vec::new(),
            ..plan.clone()
        };
        let mut held = BTreeMap::new();
        for instance in &plan.instances {
            if self.backoff.waiting_until(&instance.key, now).is_some() || instance.steps.is_empty()
            {
                continue;
            }
            let (allowed, held_back) = allowed_steps(instance, desired);
            held.insert(instance.key.clone(), held_back);
            if !allowed.steps.is_empty() {
                runnable.instances.push(allowed);
            }
        }
        if runnable.instances.is_empty() {
            return BTreeMap::new();
        }
        enter(
            self.status,
            Phase::Applying,
            apply_deadline(&runnable, self.parallelism),
        );
        let options = ApplyOptions {
            allow_destroy: true,
            allow_irreversible: true,
            parallelism: self.parallelism,
            fence,
            ..ApplyOptions::default()
        };
        let progress: apply::Progress = std::sync::Arc::new(log_progress);
        match apply::execute(
            self.client,
            &runnable,
            &options,
            secrets,
            progress,
            self.stop.clone(),
        )
        .await
        {
            Ok(report) => {
                let (applied, failed, not_run) = report.instances.iter().fold(
                    (0, 0, 0),
                    |(applied, failed, not_run), outcome| {
                        (
                            applied + outcome.applied.len(),
                            failed + usize::from(outcome.failed.is_some()),
                            not_run + outcome.not_run.len(),
                        )
                    },
                );
                let held_back: usize = held.values().sum();
                info!(applied, failed, not_run, held_back, "steps applied");
                report
                    .instances
                    .into_iter()
                    .map(|outcome| {
                        let held_back = held.get(&outcome.key).copied().unwrap_or(0);
                        (outcome.key.clone(), (outcome, held_back))
                    })
                    .collect()
            }
            Err(err) => {
                warn!(error = %error_chain(&err), "apply refused");
                BTreeMap::new()
            }
        }
    }

    /// Records the outcome for every instance the cycle looked at (`looked`); the other
    /// instances of `all` keep their last status.
    fn record(
        &mut self,
        all: &Desired,
        looked: &Desired,
        observed: &crate::plan::observed::Observed,
        plan: &Plan,
        results: &BTreeMap<InstanceKey, (InstanceOutcome, usize)>,
        now: Timestamp,
    ) {
        let next = wall_time(self.next_tick);
        let planned: BTreeMap<&InstanceKey, &InstancePlan> =
            plan.instances.iter().map(|i| (&i.key, i)).collect();
        let described: HashMap<&InstanceKey, &crate::manifest::DesiredInstance> =
            looked.instances.iter().map(|d| (&d.key, d)).collect();
        let observed: HashMap<&str, &crate::plan::observed::ObservedInstance> = observed
            .regions
            .values()
            .flatten()
            .map(|instance| (instance.id.as_str(), instance))
            .collect();
        let mut status = self.status.lock();
        status.stack = Some(all.stack.name.clone());
        let previous = std::mem::take(&mut status.instances);
        let keys: Vec<InstanceKey> = looked
            .instances
            .iter()
            .map(|d| d.key.clone())
            .chain(plan.instances.iter().map(|i| i.key.clone()))
            .collect();
        for key in keys {
            let name = key.to_string();
            let drift = planned
                .get(&key)
                .map(|p| drift_lines(p))
                .unwrap_or_default();
            let mut entry = previous.get(&name).cloned().unwrap_or_default();
            entry.last_run = Some(now);
            entry.corrected = Vec::new();
            entry.next_run = Some(next.max(now));
            (entry.held, entry.scheduled) = planned.get(&key).map(|p| timed(p)).unwrap_or_default();
            match results.get(&key) {
                Some((outcome, held_back)) => match &outcome.failed {
                    Some(failure) => {
                        let until = self.backoff.failed(&key, now);
                        entry.last_result = InstanceResult::Failed;
                        entry.last_error = Some(format!("{}: {}", failure.action, failure.error));
                        entry.next_run = Some(until);
                        entry.drift = drift;
                    }
                    None if *held_back > 0 || !outcome.not_run.is_empty() => {
                        entry.last_result = InstanceResult::Drift;
                        entry.drift = drift;
                    }
                    None if !outcome.held.is_empty() => {
                        self.backoff.succeeded(&key);
                        entry.last_error = None;
                        entry.last_result = InstanceResult::Held;
                        entry.drift = drift;
                    }
                    None => {
                        self.backoff.succeeded(&key);
                        entry.last_error = None;
                        entry.corrected = drift
                            .iter()
                            .filter(|line| !line.starts_with("! "))
                            .cloned()
                            .collect();
                        // What kvsync will not change still keeps the instance out of sync.
                        let blocked: Vec<String> = drift
                            .into_iter()
                            .filter(|line| line.starts_with("! "))
                            .collect();
                        entry.last_result = if blocked.is_empty() {
                            InstanceResult::Applied
                        } else {
                            InstanceResult::Drift
                        };
                        entry.drift = blocked;
                    }
                },
                None => {
                    if let Some(until) = self.backoff.waiting_until(&key, now) {
                        entry.last_result = InstanceResult::BackingOff;
                        entry.next_run = Some(until);
                    } else if drift.is_empty() {
                        self.backoff.succeeded(&key);
                        entry.last_result = InstanceResult::InSync;
                        entry.last_error = None;
                    } else {
                        entry.last_result = InstanceResult::Drift;
                    }
                    entry.drift = drift;
                }
            }
            entry.consecutive_failures = self.backoff.failures(&key);
            describe(
                &mut entry,
                described.get(&key).copied(),
                &observed,
                planned.get(&key).copied(),
                results.get(&key).map(|(outcome, _)| outcome),
                now,
            );
            status.instances.insert(name, entry);
        }
        for instance in &all.instances {
            let name = instance.key.to_string();
            if let Some(entry) = previous.get(&name)
                && !status.instances.contains_key(&name)
            {
                // Not looked at this cycle: read again at the next tick at the latest.
                let mut entry = entry.clone();
                entry.next_run = Some(entry.next_run.map_or(next, |due| due.max(next)));
                status.instances.insert(name, entry);
            }
        }
        let described: Vec<String> = status.instances.keys().cloned().collect();
        self.backoff
            .retain(|key| described.contains(&key.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::actions::{DeleteAccount, ModifyInstanceSsl, Request, TagResources};
    use crate::plan::model::{PlannedRequest, Step, Wait, WaitFor};

    fn step(request: PlannedRequest, impact: Impact) -> Step {
        Step {
            request,
            changes: Vec::new(),
            impact,
            wait: Wait {
                until: WaitFor::Nothing,
                timeout_secs: 1,
            },
            restart: false,
            when: crate::plan::model::When::Now,
        }
    }

    fn instance(steps: Vec<Step>) -> InstancePlan {
        InstancePlan {
            key: InstanceKey {
                region: "cn-hangzhou".into(),
                name: "a".into(),
            },
            instance_id: Some("r-1".into()),
            operation: crate::plan::Operation::Update,
            candidates: Vec::new(),
            steps,
            blocked: Vec::new(),
        }
    }

    fn desired(allow_destroy: bool) -> Desired {
        Desired {
            stack: crate::manifest::desired::Stack {
                allow_destroy,
                ..Default::default()
            },
            instances: Vec::new(),
        }
    }

    #[test]
    fn gated_steps_and_everything_after_them_are_held_back() {
        let plan = instance(vec![
            step(
                Request::ModifyInstanceSsl(ModifyInstanceSsl::default()),
                Impact::Restart,
            ),
            step(
                Request::DeleteAccount(DeleteAccount::default()),
                Impact::Destructive,
            ),
            step(Request::TagResources(TagResources::default()), Impact::None),
        ]);
        let (allowed, held) = allowed_steps(&plan, &desired(false));
        assert_eq!(allowed.steps.len(), 1);
        assert_eq!(held, 2);
        let (allowed, held) = allowed_steps(&plan, &desired(true));
        assert_eq!(allowed.steps.len(), 3);
        assert_eq!(held, 0);
    }

    fn revision(id: &str) -> Revision {
        Revision {
            author: None,
            subject: None,
            source: "dir".into(),
            id: id.into(),
        }
    }

    fn in_force(id: &str, instances: &[(&str, &str)], documents: &[(&str, usize)]) -> InForce {
        let mut set = desired(false);
        for (name, file) in instances {
            let mut instance = crate::manifest::DesiredInstance::bare(name);
            instance.instance_class = Some("redis.master.small.default".into());
            instance.source.path = PathBuf::from(file);
            set.instances.push(instance);
        }
        InForce {
            desired: set,
            revision: revision(id),
            documents: documents
                .iter()
                .map(|(file, count)| (PathBuf::from(file), *count))
                .collect(),
        }
    }

    #[test]
    fn an_empty_rendering_never_replaces_a_non_empty_set() {
        let status = SharedStatus::new(super::super::status::DaemonStatus::new(
            Mode::Apply,
            Timestamp::now(),
        ));
        let last = Some(in_force("good", &[("a", "a.yaml")], &[("a.yaml", 1)]));
        let empty = Loaded::Good(in_force("empty", &[], &[("a.yaml", 0)]));
        let (chosen, refused) = choose(last, empty, &status);
        let chosen = chosen.unwrap();
        assert_eq!(chosen.revision, revision("good"));
        assert!(
            matches!(refused, Some(CycleError::NoInstances)),
            "{refused:?}"
        );
        assert!(
            status
                .lock()
                .manifest_error
                .as_deref()
                .unwrap()
                .contains("describe no instance")
        );
        let bad = Loaded::Bad {
            revision: Some(revision("bad")),
            error: CycleError::Manifests(crate::manifest::LoadError::NoFiles("m".into())),
        };
        let (chosen, refused) = choose(Some(chosen), bad, &status);
        assert_eq!(chosen.unwrap().revision, revision("good"));
        assert!(matches!(refused, Some(CycleError::Manifests(_))));
        assert_eq!(status.lock().pending_revision, Some(revision("bad")));
    }

    #[test]
    fn a_file_that_now_holds_no_document_keeps_the_last_good_set() {
        let status = SharedStatus::new(super::super::status::DaemonStatus::new(
            Mode::Apply,
            Timestamp::now(),
        ));
        let two_files = || {
            in_force(
                "good",
                &[("a", "a.yaml"), ("b", "b.yaml")],
                &[("a.yaml", 1), ("b.yaml", 1)],
            )
        };
        // b.yaml emptied (or only comments, or only `---`): refused.
        let emptied = in_force(
            "emptied",
            &[("a", "a.yaml")],
            &[("a.yaml", 1), ("b.yaml", 0)],
        );
        let (chosen, refused) = choose(Some(two_files()), Loaded::Good(emptied), &status);
        assert_eq!(chosen.unwrap().revision, revision("good"));
        match refused {
            Some(CycleError::Emptied(files)) => assert_eq!(files, vec![PathBuf::from("b.yaml")]),
            other => panic!("{other:?}"),
        }
        assert!(
            status
                .lock()
                .manifest_error
                .as_deref()
                .unwrap()
                .contains("b.yaml described instances and now hold no document")
        );
        // b.yaml deleted, or still holding a document (its instance removed on purpose): in force.
        for documents in [&[("a.yaml", 1)][..], &[("a.yaml", 1), ("b.yaml", 1)][..]] {
            let newest = in_force("newest", &[("a", "a.yaml")], documents);
            let (chosen, refused) = choose(Some(two_files()), Loaded::Good(newest), &status);
            assert_eq!(chosen.unwrap().revision, revision("newest"));
            assert!(refused.is_none());
            assert!(status.lock().manifest_error.is_none());
        }
    }
}
