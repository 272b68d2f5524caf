//! What an apply did, per instance.

use std::fmt::Write as _;

use serde::Serialize;

use super::backup::BackupTaken;
use crate::manifest::InstanceKey;
use crate::plan::model::When;

/// The outcome of one instance's steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceOutcome {
    /// Region and name.
    pub key: InstanceKey,
    /// The instance's ID, when known.
    pub instance_id: Option<String>,
    /// Steps that completed, in order.
    pub applied: Vec<&'static str>,
    /// The step that failed and why.
    pub failed: Option<Failure>,
    /// Steps not attempted because an earlier one failed or the run was stopped.
    pub not_run: Vec<&'static str>,
    /// Steps the plan holds for the maintenance window or by the policy `never`.
    pub held: Vec<Held>,
    /// Backups taken before risky steps.
    pub backups: Vec<BackupTaken>,
}

/// A step the plan holds, and until when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    /// The action.
    pub action: &'static str,
    /// When it runs.
    pub when: When,
}

/// A failed step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The action.
    pub action: &'static str,
    /// The error with its causes.
    pub error: String,
    /// The cloud's error `Code`, when the cloud refused the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The cloud's `RequestId` of that refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Failure {
    /// The failure of `action` with `err`, keeping the cloud's Code and RequestId when the
    /// cloud refused the call.
    pub fn new(action: &'static str, err: &super::step::StepError) -> Failure {
        let cloud = match err {
            super::step::StepError::Api(crate::api::Error::Api(refusal)) => Some(refusal),
            _ => None,
        };
        Failure {
            action,
            error: super::failure_text(action, err),
            code: cloud.map(|refusal| refusal.code.clone()),
            request_id: cloud
                .map(|refusal| refusal.request_id.clone())
                .filter(|id| !id.is_empty()),
        }
    }
}

/// The outcome of an apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One entry per instance with steps, sorted by key.
    pub instances: Vec<InstanceOutcome>,
    /// Whether the run was stopped (Ctrl-C, SIGTERM) before every step ran.
    pub stopped: bool,
}

impl Report {
    /// Whether any instance failed.
    pub fn has_failures(&self) -> bool {
        self.instances.iter().any(|i| i.failed.is_some())
    }

    /// Steps applied in all.
    pub fn applied_steps(&self) -> usize {
        self.instances.iter().map(|i| i.applied.len()).sum()
    }

    /// A human summary: one line per instance.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for outcome in &self.instances {
            let id = outcome.instance_id.as_deref().unwrap_or("-");
            match &outcome.failed {
                None if !outcome.not_run.is_empty() => {
                    let _ = writeln!(
                        out,
                        "  STOPPED {} ({id}): applied: {}; not run: {}",
                        outcome.key,
                        if outcome.applied.is_empty() {
                            "nothing".to_owned()
                        } else {
                            outcome.applied.join(", ")
                        },
                        outcome.not_run.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  ok      {} ({id}): {}",
                        outcome.key,
                        outcome.applied.join(", ")
                    );
                }
                Some(failure) => {
                    let _ = writeln!(
                        out,
                        "  FAILED  {} ({id}): {} failed: {}",
                        outcome.key, failure.action, failure.error
                    );
                    if !outcome.applied.is_empty() {
                        let _ = writeln!(
                            out,
                            "          applied before: {}",
                            outcome.applied.join(", ")
                        );
                    }
                    if !outcome.not_run.is_empty() {
                        let _ = writeln!(out, "          not run: {}", outcome.not_run.join(", "));
                    }
                }
            }
        }
        for outcome in &self.instances {
            for backup in &outcome.backups {
                let _ = writeln!(
                    out,
                    "  backup  {}: backup set {} (job {}) finished before the risky steps",
                    outcome.key, backup.backup_id, backup.job_id
                );
            }
            for held in &outcome.held {
                let _ = writeln!(
                    out,
                    "  held    {}: {} {}",
                    outcome.key,
                    held.action,
                    held.when.describe()
                );
            }
        }
        if self.stopped {
            let _ = writeln!(
                out,
                "Stopped on request: no step was started after the stop; calls in flight finished."
            );
        }
        let failed = self.instances.iter().filter(|i| i.failed.is_some()).count();
        let _ = writeln!(
            out,
            "Applied {} step{} on {} instance{}; {} failed.",
            self.applied_steps(),
            if self.applied_steps() == 1 { "" } else { "s" },
            self.instances.len(),
            if self.instances.len() == 1 { "" } else { "s" },
            failed
        );
        out
    }
}
