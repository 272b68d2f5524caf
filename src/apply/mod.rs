//! The executor: runs a plan once, instances in parallel, each instance's steps in order.
//!
//! Before any call it refuses gated steps and checks that every secret the plan sends was read,
//! so a plan either starts whole or not at all. Every step is safe to repeat: `CreateInstance` carries the plan's
//! deterministic token, the other calls set absolute values, and a release of an instance that
//! is already gone, or a one-way change the cloud refuses as already made, counts as done. One
//! instance failing never stops the others. Each instance's steps run inside
//! [`crate::audit::scoped`], so an audited client's records name their stack and instance.

pub mod backup;
pub mod create;
pub mod error;
pub mod progress;
pub mod report;
pub mod secrets;
pub mod step;
pub mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::info;

pub use self::progress::{Event, Progress, StopHandle, StopSignal, stop_pair};
pub use self::report::{Failure, Held, InstanceOutcome, Report};
use self::wait::{Pace, PollPolicy};
use crate::api::Client;
use crate::coordination::Guard;
use crate::manifest::InstanceKey;
use crate::plan::model::{Impact, InstancePlan, Plan};
use crate::secrets::Secret;
use crate::secrets::SecretRef;

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Permit destructive steps.
    pub allow_destroy: bool,
    /// Permit irreversible steps.
    pub allow_irreversible: bool,
    /// Instances processed at once.
    pub parallelism: usize,
    /// Status polling.
    pub poll: PollPolicy,
    /// The hold on the run's shards, checked before every write call: once it is lost, no
    /// further call is sent (`None`: nothing to check).
    pub fence: Option<Arc<Guard>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_destroy: false,
            allow_irreversible: false,
            parallelism: 8,
            poll: PollPolicy::default(),
            fence: None,
        }
    }
}

/// Why a plan was not started.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan has steps that need a flag.
    #[error("the plan has {count} {impact} step{s} ({steps}); re-run with {flag} to allow {them}", s = if *count == 1 { "" } else { "s" }, them = if *count == 1 { "it" } else { "them" })]
    Gated {
        /// How many.
        count: usize,
        /// `destructive` or `irreversible`.
        impact: &'static str,
        /// Which, as `instance: Action`.
        steps: String,
        /// The flag that allows them.
        flag: &'static str,
    },
    /// A secret the plan sends was not read.
    #[error("the secret {reference} for {instance} was not read")]
    Secret {
        /// The instance.
        instance: InstanceKey,
        /// The reference.
        reference: SecretRef,
    },
    /// The plan was made without some secrets, so its passwords were not compared.
    #[error(
        "the plan was made without every secret (some passwords were not compared); plan again where the secrets are readable"
    )]
    Incomplete,
}

/// Refuses a plan with gated steps that are not allowed.
pub fn check_gates(plan: &Plan, options: &ApplyOptions) -> Result<(), ApplyError> {
    let gates = [
        (
            Impact::Destructive,
            options.allow_destroy,
            "destructive",
            "--allow-destroy",
        ),
        (
            Impact::Irreversible,
            options.allow_irreversible,
            "irreversible",
            "--allow-irreversible",
        ),
    ];
    for (impact, allowed, name, flag) in gates {
        if allowed {
            continue;
        }
        let offending: Vec<String> = plan
            .instances
            .iter()
            .flat_map(|i| {
                i.steps
                    .iter()
                    .filter(|s| s.impact == impact && s.when.runs_now())
                    .map(move |s| format!("{}: {}", i.key, s.request.name()))
            })
            .collect();
        if !offending.is_empty() {
            return Err(ApplyError::Gated {
                count: offending.len(),
                impact: name,
                steps: offending.join(", "),
                flag,
            });
        }
    }
    Ok(())
}

/// Checks that every secret the plan sends was read (before any call).
pub fn check_secrets(plan: &Plan, values: &BTreeMap<SecretRef, Secret>) -> Result<(), ApplyError> {
    for instance in &plan.instances {
        for step in &instance.steps {
            if let Some(reference) = step
                .request
                .secrets()
                .into_iter()
                .find(|reference| !values.contains_key(*reference))
            {
                return Err(ApplyError::Secret {
                    instance: instance.key.clone(),
                    reference: reference.clone(),
                });
            }
        }
    }
    if !plan.complete {
        return Err(ApplyError::Incomplete);
    }
    Ok(())
}

/// Runs `plan` once. Gates and secrets are checked before the first call. A stop request
/// (first Ctrl-C or SIGTERM) lets calls in flight finish and starts no new step.
pub async fn execute(
    client: &Client,
    plan: &Plan,
    options: &ApplyOptions,
    secrets: &BTreeMap<SecretRef, Secret>,
    progress: Progress,
    stop: StopSignal,
) -> Result<Report, ApplyError> {
    check_gates(plan, options)?;
    check_secrets(plan, secrets)?;
    let secrets = Arc::new(secrets.clone());
    // Every request of a fenced run, retries and polls included, asks the hold right
    // before it leaves.
    let client = match &options.fence {
        Some(guard) => client.fenced(Arc::new(crate::coordination::ClientFence(guard.clone()))),
        None => client.clone(),
    };
    let parallelism = options.parallelism.max(1);
    let mut report = Report::default();
    let mut tasks = JoinSet::new();
    for instance in plan.instances.iter().filter(|i| !i.steps.is_empty()) {
        // At most `parallelism` instances are in flight, so the executor holds that many
        // copies of instance plans and task states, not one per instance of the plan.
        while tasks.len() >= parallelism {
            collect(&mut tasks, &mut report).await;
        }
        let client = client.clone();
        let instance = instance.clone();
        let secrets = secrets.clone();
        let progress = progress.clone();
        let stack = plan.stack.clone();
        let fence = options.fence.clone();
        let pace = Pace {
            poll: options.poll,
            stop: stop.clone(),
        };
        tasks.spawn(async move {
            let fence = fence.as_deref();
            // The audit log names the stack and instance of every write call the steps make.
            let scope = crate::audit::Scope {
                stack: stack.clone(),
                instance: instance.key.to_string(),
            };
            let steps = run_instance(
                &client, &stack, &instance, &secrets, &pace, &progress, fence,
            );
            crate::audit::scoped(scope, steps).await
        });
    }
    while !tasks.is_empty() {
        collect(&mut tasks, &mut report).await;
    }
    report.instances.sort_by(|a, b| a.key.cmp(&b.key));
    report.stopped = stop.is_set();
    Ok(report)
}

/// Waits for the next instance to finish and adds its outcome to the report.
async fn collect(tasks: &mut JoinSet<InstanceOutcome>, report: &mut Report) {
    match tasks.join_next().await {
        Some(Ok(outcome)) => report.instances.push(outcome),
        Some(Err(join)) => tracing::error!(error = %join, "an apply task ended abnormally"),
        None => {}
    }
}

async fn run_instance(
    client: &Client,
    stack: &str,
    plan: &InstancePlan,
    secrets: &BTreeMap<SecretRef, Secret>,
    pace: &Pace,
    progress: &Progress,
    fence: Option<&Guard>,
) -> InstanceOutcome {
    let mut outcome = InstanceOutcome {
        key: plan.key.clone(),
        instance_id: plan.instance_id.clone(),
        applied: Vec::new(),
        failed: None,
        not_run: Vec::new(),
        held: Vec::new(),
        backups: Vec::new(),
    };
    let total = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        let action = step.request.name();
        if !step.when.runs_now() {
            // The plan holds it (and whatever depends on it) for the window or by policy.
            outcome.held.push(Held {
                action,
                when: step.when.clone(),
            });
            continue;
        }
        if pace.stop.is_set() {
            outcome.not_run = plan.steps[index..]
                .iter()
                .filter(|s| s.when.runs_now())
                .map(|s| s.request.name())
                .collect();
            progress(Event::Stopped {
                key: plan.key.clone(),
                not_run: outcome.not_run.len(),
            });
            break;
        }
        progress(Event::Step {
            key: plan.key.clone(),
            index: index + 1,
            total,
            action,
        });
        let started = std::time::Instant::now();
        let runner = step::Runner {
            client,
            stack,
            secrets,
            pace,
            progress,
            fence,
        };
        match step::run(&runner, &plan.key, &mut outcome.instance_id, step).await {
            Ok(backup) => {
                outcome.backups.extend(backup);
                info!(instance = %plan.key, action, "step applied");
                progress(Event::Done {
                    key: plan.key.clone(),
                    action,
                    elapsed: started.elapsed(),
                });
                outcome.applied.push(action);
            }
            Err(err) => {
                let failure = Failure::new(action, &err);
                progress(Event::Failed {
                    key: plan.key.clone(),
                    action,
                    error: failure.error.clone(),
                });
                outcome.failed = Some(failure);
                outcome.not_run = plan.steps[index + 1..]
                    .iter()
                    .filter(|s| s.when.runs_now())
                    .map(|s| s.request.name())
                    .collect();
                break;
            }
        }
    }
    outcome
}

/// Why a step failed, on one line, for the report and the progress, which name the action
/// already: the cloud's "`Action` failed: " prefix is left out.
pub fn failure_text(action: &str, err: &dyn std::error::Error) -> String {
    let text = error_chain(err);
    match text
        .strip_prefix(action)
        .and_then(|rest| rest.strip_prefix(" failed: "))
    {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// An error and its causes on one line.
pub use crate::api::error::error_chain;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ApiError;

    #[test]
    fn a_failed_step_names_its_action_once() {
        let err = step::StepError::Api(crate::api::Error::from(ApiError {
            action: "CreateInstance",
            status: 400,
            code: "InvalidParameter".into(),
            message: "bad zone".into(),
            request_id: "R-1".into(),
        }));
        let outcome = InstanceOutcome {
            key: InstanceKey {
                region: "cn-hangzhou".into(),
                name: "orders".into(),
            },
            instance_id: None,
            applied: Vec::new(),
            failed: Some(Failure::new("CreateInstance", &err)),
            not_run: Vec::new(),
            held: Vec::new(),
            backups: Vec::new(),
        };
        let report = Report {
            instances: vec![outcome],
            stopped: false,
        };
        let text = report.text();
        assert_eq!(text.matches("CreateInstance").count(), 1, "{text}");
        assert!(
            text.contains(
                "CreateInstance failed: InvalidParameter: bad zone (RequestId: R-1, HTTP 400)"
            ),
            "{text}"
        );
        // An error of another call keeps its name.
        let other = step::StepError::Api(crate::api::Error::from(ApiError {
            action: "DescribeInstances",
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "busy".into(),
            request_id: String::new(),
        }));
        assert!(failure_text("CreateInstance", &other).starts_with("DescribeInstances failed: "));
    }
}
