//! The executor: runs a plan once, instances in parallel, each instance's steps in order.
//!
//! Before any call it refuses gated steps and resolves every secret, so a plan either starts
//! whole or not at all. Every step is safe to repeat: `CreateInstance` carries the plan's
//! deterministic token, the other calls set absolute values, and a release of an instance that
//! is already gone counts as done. One instance failing never stops the others.

pub mod report;
pub mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::info;

pub use self::report::{Failure, InstanceOutcome, Report};
use self::wait::{PollPolicy, WaitError, wait_for};
use crate::api::actions::instance::{CreateInstance, DeleteInstance, ModifyInstanceAttribute};
use crate::api::retry::{Class, classify};
use crate::api::{self, Client};
use crate::manifest::InstanceKey;
use crate::manifest::desired::{Charge, Network};
use crate::manifest::secret::{SecretError, SecretRef};
use crate::plan::model::{Call, CreateInstanceCall, Impact, InstancePlan, Plan, Step, WaitFor};
use crate::secret::Secret;

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
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_destroy: false,
            allow_irreversible: false,
            parallelism: 8,
            poll: PollPolicy::default(),
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
    /// A secret the plan needs could not be read.
    #[error("reading the secret {reference} for {instance}")]
    Secret {
        /// The instance.
        instance: InstanceKey,
        /// The reference.
        reference: SecretRef,
        /// The cause.
        #[source]
        source: SecretError,
    },
}

/// A step's failure, with its causes.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Api(#[from] api::Error),
    #[error(transparent)]
    Wait(#[from] WaitError),
    #[error("the instance became busy and stayed so for {0} s")]
    Busy(u64),
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
                    .filter(|s| s.impact == impact)
                    .map(move |s| format!("{}: {}", i.key, s.call.action()))
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

/// Reads every secret the plan refers to.
pub fn resolve_secrets(
    plan: &Plan,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<SecretRef, Secret>, ApplyError> {
    let mut secrets = BTreeMap::new();
    for instance in &plan.instances {
        for step in &instance.steps {
            if let Call::CreateInstance(create) = &step.call
                && let Some(reference) = &create.password
                && !secrets.contains_key(reference)
            {
                let secret = reference
                    .resolve(env)
                    .map_err(|source| ApplyError::Secret {
                        instance: instance.key.clone(),
                        reference: reference.clone(),
                        source,
                    })?;
                secrets.insert(reference.clone(), secret);
            }
        }
    }
    Ok(secrets)
}

/// Something to tell the operator while the plan runs.
pub type Progress = Arc<dyn Fn(&InstanceKey, &str) + Send + Sync>;

/// Runs `plan` once. Gates and secrets are checked before the first call.
pub async fn execute(
    client: &Client,
    plan: &Plan,
    options: &ApplyOptions,
    env: &dyn Fn(&str) -> Option<String>,
    progress: Progress,
) -> Result<Report, ApplyError> {
    check_gates(plan, options)?;
    let secrets = Arc::new(resolve_secrets(plan, env)?);
    let permits = Arc::new(Semaphore::new(options.parallelism.max(1)));
    let mut tasks = JoinSet::new();
    for instance in plan.instances.iter().filter(|i| !i.steps.is_empty()) {
        let client = client.clone();
        let instance = instance.clone();
        let secrets = secrets.clone();
        let permits = permits.clone();
        let progress = progress.clone();
        let poll = options.poll;
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = permits.acquire_owned().await.ok();
            run_instance(&client, &instance, &secrets, poll, &progress).await
        });
    }
    let mut report = Report::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(outcome) => report.instances.push(outcome),
            Err(join) => tracing::error!(error = %join, "an apply task ended abnormally"),
        }
    }
    report.instances.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(report)
}

async fn run_instance(
    client: &Client,
    plan: &InstancePlan,
    secrets: &BTreeMap<SecretRef, Secret>,
    poll: PollPolicy,
    progress: &Progress,
) -> InstanceOutcome {
    let mut outcome = InstanceOutcome {
        key: plan.key.clone(),
        instance_id: plan.instance_id.clone(),
        applied: Vec::new(),
        failed: None,
        not_run: Vec::new(),
    };
    for (index, step) in plan.steps.iter().enumerate() {
        let action = step.call.action();
        progress(&plan.key, &format!("{action} ..."));
        match run_step(
            client,
            &plan.key,
            &mut outcome.instance_id,
            step,
            secrets,
            poll,
        )
        .await
        {
            Ok(()) => {
                info!(instance = %plan.key, action, "step applied");
                progress(&plan.key, &format!("{action} done"));
                outcome.applied.push(action);
            }
            Err(err) => {
                let error = error_chain(&err);
                progress(&plan.key, &format!("{action} FAILED: {error}"));
                outcome.failed = Some(Failure { action, error });
                outcome.not_run = plan.steps[index + 1..]
                    .iter()
                    .map(|s| s.call.action())
                    .collect();
                break;
            }
        }
    }
    outcome
}

/// An error and its causes on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn run_step(
    client: &Client,
    key: &InstanceKey,
    instance_id: &mut Option<String>,
    step: &Step,
    secrets: &BTreeMap<SecretRef, Secret>,
    poll: PollPolicy,
) -> Result<(), StepError> {
    let region = key.region.as_str();
    let timeout = Duration::from_secs(step.wait.timeout_secs);
    match &step.call {
        Call::CreateInstance(create) => {
            let request = create_request(create, secrets);
            let response = client.call(region, &request).await?;
            *instance_id = Some(response.instance_id);
        }
        Call::ModifyInstanceAttribute { release_protection } => {
            let id = instance_id.clone().unwrap_or_default();
            let request = ModifyInstanceAttribute {
                instance_id: id.clone(),
                instance_release_protection: Some(*release_protection),
                ..Default::default()
            };
            call_when_idle(client, region, &id, &request, timeout, poll).await?;
        }
        Call::DeleteInstance => {
            let id = instance_id.clone().unwrap_or_default();
            let request = DeleteInstance {
                instance_id: id.clone(),
            };
            match call_when_idle(client, region, &id, &request, timeout, poll).await {
                Ok(()) => {}
                // Already released (by an earlier run whose answer was lost, or by someone else).
                Err(StepError::Api(err)) if err.code() == Some("InvalidInstanceId.NotFound") => {}
                Err(err) => return Err(err),
            }
        }
    }
    let id = instance_id.clone().unwrap_or_default();
    wait_for(client, region, &id, step.wait.until, timeout, poll).await?;
    Ok(())
}

/// Calls `action`; while the instance is busy, waits for it to be `Normal` and tries again.
async fn call_when_idle<A: api::Action>(
    client: &Client,
    region: &str,
    instance_id: &str,
    action: &A,
    timeout: Duration,
    poll: PollPolicy,
) -> Result<(), StepError> {
    let started = tokio::time::Instant::now();
    loop {
        match client.call(region, action).await {
            Ok(_) => return Ok(()),
            Err(err) if classify(&err) == Class::Busy && started.elapsed() < timeout => {
                info!(
                    instance_id,
                    action = A::NAME,
                    code = err.code().unwrap_or(""),
                    "instance busy; waiting for Normal"
                );
                wait_for(
                    client,
                    region,
                    instance_id,
                    WaitFor::Normal,
                    timeout.saturating_sub(started.elapsed()),
                    poll,
                )
                .await?;
            }
            Err(err) if classify(&err) == Class::Busy => {
                return Err(StepError::Busy(started.elapsed().as_secs()));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

fn create_request(
    create: &CreateInstanceCall,
    secrets: &BTreeMap<SecretRef, Secret>,
) -> CreateInstance {
    let (charge_type, period) = match create.charge {
        None => (None, None),
        Some(Charge::PostPaid) => (Some("PostPaid".to_owned()), None),
        Some(Charge::PrePaid { period }) => (Some("PrePaid".to_owned()), Some(u64::from(period))),
    };
    let (network_type, vpc_id, vswitch_id) = match &create.network {
        None => (None, None, None),
        Some(Network::Classic) => (Some("CLASSIC".to_owned()), None, None),
        Some(Network::Vpc { vpc_id, vswitch_id }) => (
            Some("VPC".to_owned()),
            Some(vpc_id.clone()),
            Some(vswitch_id.clone()),
        ),
    };
    CreateInstance {
        region_id: create.region_id.clone(),
        token: Some(create.token.clone()),
        instance_name: Some(create.instance_name.clone()),
        instance_class: Some(create.instance_class.clone()),
        engine_version: create.engine_version.clone(),
        zone_id: create.zone_id.clone(),
        charge_type,
        period,
        network_type,
        vpc_id,
        vswitch_id,
        password: create
            .password
            .as_ref()
            .and_then(|reference| secrets.get(reference).cloned()),
        tags: create
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}
