//! One reconcile, from scratch: load → observe → plan → apply or report. It never learns what
//! triggered it; it keeps the last good manifests when the newest do not load, and it records
//! every outcome in the shared status.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use jiff::Timestamp;
use tracing::{info, warn};

use super::backoff::Backoff;
use super::cache::{Freshness, ObservationCache};
use super::status::{InstanceResult, InstanceStatus, Mode, Revision, SharedStatus};
use crate::api::Client;
use crate::apply::{self, ApplyOptions, InstanceOutcome, StopSignal, error_chain};
use crate::manifest::{Desired, InstanceKey};
use crate::plan::model::{BlockedKind, Impact, InstancePlan, Plan};
use crate::plan::{DiffOptions, render};
use crate::secrets::{self, DigestMemo, Need};
use crate::{observe, plan};

/// The manifests in force: the last set that loaded, and its revision.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The desired state.
    pub desired: Desired,
    /// Where it came from.
    pub revision: Revision,
}

/// The newest manifests as read this cycle.
#[derive(Debug)]
pub enum Loaded {
    /// They loaded.
    Good(InForce),
    /// They did not; the message says why.
    Bad {
        /// The revision that failed.
        revision: Option<Revision>,
        /// Why.
        error: String,
    },
}

/// Decides which manifests are in force: the newest if they loaded and describe something,
/// else the last good ones. An empty rendering never replaces a non-empty one, so a source that
/// comes up empty can never cause a prune.
pub fn choose(
    last_good: Option<InForce>,
    loaded: Loaded,
    status: &SharedStatus,
) -> Option<InForce> {
    match loaded {
        Loaded::Good(newest)
            if newest.desired.instances.is_empty()
                && last_good
                    .as_ref()
                    .is_some_and(|good| !good.desired.instances.is_empty()) =>
        {
            let mut status = status.lock();
            status.manifest_error = Some(
                "the manifests describe no instance; keeping the last good set (an empty source never prunes)".into(),
            );
            status.pending_revision = Some(newest.revision);
            last_good
        }
        Loaded::Good(newest) => {
            let mut status = status.lock();
            if status.revision.as_ref() != Some(&newest.revision) {
                info!(source = %newest.revision.source, revision = %newest.revision.id, "manifests in force");
            }
            status.revision = Some(newest.revision.clone());
            status.pending_revision = None;
            status.manifest_error = None;
            Some(newest)
        }
        Loaded::Bad { revision, error } => {
            warn!(error = %error, "manifests did not load; keeping the last good set");
            let mut status = status.lock();
            status.manifest_error = Some(error);
            status.pending_revision = revision;
            last_good
        }
    }
}

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
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// Password digests computed in earlier cycles.
    pub digests: &'a mut DigestMemo,
}

/// The lines a plan shows for one instance (steps and blocked differences).
fn drift_lines(instance: &InstancePlan) -> Vec<String> {
    let mut lines = Vec::new();
    for step in &instance.steps {
        let changes: Vec<String> = step.changes.iter().map(|c| c.field.clone()).collect();
        lines.push(format!("{} ({})", step.call.action(), changes.join(", ")));
    }
    for blocked in &instance.blocked {
        if blocked.kind == BlockedKind::Drift {
            lines.push(format!("! {}: {}", blocked.field, blocked.reason));
        }
    }
    lines
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
    /// instances (the others keep their last status). `Err` is a message for a failure of the
    /// whole cycle (secrets, the cloud); per-instance failures are recorded in the status.
    pub async fn run(
        &mut self,
        in_force: &InForce,
        freshness: Freshness,
        only: Option<&BTreeSet<InstanceKey>>,
        cache: &mut ObservationCache,
    ) -> Result<(), String> {
        let desired = subset(&in_force.desired, only);
        let need = match self.mode {
            Mode::Apply => Need::Required,
            Mode::Observe => Need::Optional,
        };
        let checked = secrets::check(&desired, self.env, need).map_err(|err| error_chain(&err))?;
        // Digests of new or changed passwords are computed beside the observation.
        let mut memo = std::mem::take(self.digests);
        let hashing = tokio::task::spawn_blocking(move || {
            let resolved = checked.hash(&mut memo);
            (resolved, memo)
        });
        let observed = self.observe(&desired, freshness, cache).await;
        let (resolved, memo) = hashing
            .await
            .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        *self.digests = memo;
        if only.is_none() {
            self.digests.retain_described(&in_force.desired);
        }
        let observed = observed?;
        let plan = plan::diff(
            &desired,
            &observed,
            &resolved.digests,
            DiffOptions::default(),
        );
        let now = Timestamp::now();
        let results = match self.mode {
            Mode::Observe => BTreeMap::new(),
            Mode::Apply => self.apply(&desired, &plan, &resolved.values, now).await,
        };
        // What was written, or failed to be, is read afresh next time.
        for (outcome, _) in results.values() {
            match &outcome.instance_id {
                Some(id) => cache.invalidate(&outcome.key.region, id),
                None => cache.forget_listing(),
            }
        }
        self.record(&in_force.desired, &desired, &plan, &results, now);
        Ok(())
    }

    /// The listing and detail reads `desired` needs, taking from `cache` what `freshness`
    /// allows and storing what was read.
    async fn observe(
        &self,
        desired: &Desired,
        freshness: Freshness,
        cache: &mut ObservationCache,
    ) -> Result<observe::Observed, String> {
        let now = Instant::now();
        let mut observed = match cache.listing(&desired.regions(), freshness, now) {
            Some(listing) => listing,
            None => {
                let listing = observe::list(self.client, desired)
                    .await
                    .map_err(|err| error_chain(&err))?;
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
        .map_err(|err| error_chain(&err))?;
        info!(
            reads,
            cached = cache.len(),
            ?freshness,
            instances = desired.instances.len(),
            "observed"
        );
        Ok(observed)
    }

    async fn apply(
        &mut self,
        desired: &Desired,
        plan: &Plan,
        secrets: &BTreeMap<crate::manifest::secret::SecretRef, crate::secret::Secret>,
        now: Timestamp,
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
        let options = ApplyOptions {
            allow_destroy: true,
            allow_irreversible: true,
            parallelism: self.parallelism,
            ..ApplyOptions::default()
        };
        let progress: apply::Progress = std::sync::Arc::new(|event| info!(event = ?event, "apply"));
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
            Ok(report) => report
                .instances
                .into_iter()
                .map(|outcome| {
                    let held_back = held.get(&outcome.key).copied().unwrap_or(0);
                    (outcome.key.clone(), (outcome, held_back))
                })
                .collect(),
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
        plan: &Plan,
        results: &BTreeMap<InstanceKey, (InstanceOutcome, usize)>,
        now: Timestamp,
    ) {
        let planned: BTreeMap<&InstanceKey, &InstancePlan> =
            plan.instances.iter().map(|i| (&i.key, i)).collect();
        let mut status = self.status.lock();
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
            let mut entry = previous.get(&name).cloned().unwrap_or(InstanceStatus {
                last_result: InstanceResult::InSync,
                drift: Vec::new(),
                last_error: None,
                last_run: None,
                next_run: None,
                consecutive_failures: 0,
            });
            entry.last_run = Some(now);
            entry.next_run = status.next_cycle_at;
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
                    None => {
                        self.backoff.succeeded(&key);
                        entry.last_result = InstanceResult::Applied;
                        entry.last_error = None;
                        entry.drift = Vec::new();
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
            status.instances.insert(name, entry);
        }
        for instance in &all.instances {
            let name = instance.key.to_string();
            if let Some(entry) = previous.get(&name)
                && !status.instances.contains_key(&name)
            {
                status.instances.insert(name, entry.clone());
            }
        }
        let described: Vec<String> = status.instances.keys().cloned().collect();
        self.backoff
            .retain(|key| described.contains(&key.to_string()));
        if plan.instances.iter().any(|i| !i.steps.is_empty()) {
            info!(summary = %render::summary_line(&plan.summary()), mode = ?self.mode, "drift found");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Call, Step, Wait, WaitFor};

    fn step(call: Call, impact: Impact) -> Step {
        Step {
            call,
            changes: Vec::new(),
            impact,
            wait: Wait {
                until: WaitFor::Nothing,
                timeout_secs: 1,
            },
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
            step(Call::ModifyInstanceSsl { enabled: true }, Impact::Restart),
            step(
                Call::DeleteAccount { name: "x".into() },
                Impact::Destructive,
            ),
            step(
                Call::TagResources {
                    tags: BTreeMap::new(),
                },
                Impact::None,
            ),
        ]);
        let (allowed, held) = allowed_steps(&plan, &desired(false));
        assert_eq!(allowed.steps.len(), 1);
        assert_eq!(held, 2);
        let (allowed, held) = allowed_steps(&plan, &desired(true));
        assert_eq!(allowed.steps.len(), 3);
        assert_eq!(held, 0);
    }

    #[test]
    fn an_empty_rendering_never_replaces_a_non_empty_set() {
        let status = SharedStatus::new(super::super::status::DaemonStatus::new(
            Mode::Apply,
            Timestamp::now(),
        ));
        let mut good = desired(false);
        let mut instance = crate::manifest::DesiredInstance::bare("a");
        instance.instance_class = Some("redis.master.small.default".into());
        good.instances.push(instance);
        let revision = |id: &str| Revision {
            source: "dir".into(),
            id: id.into(),
        };
        let last = Some(InForce {
            desired: good,
            revision: revision("good"),
        });
        let empty = Loaded::Good(InForce {
            desired: desired(false),
            revision: revision("empty"),
        });
        let chosen = choose(last, empty, &status).unwrap();
        assert_eq!(chosen.revision, revision("good"));
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
            error: "x.yaml:1:1: error".into(),
        };
        let chosen = choose(Some(chosen), bad, &status).unwrap();
        assert_eq!(chosen.revision, revision("good"));
        assert_eq!(status.lock().pending_revision, Some(revision("bad")));
    }
}
