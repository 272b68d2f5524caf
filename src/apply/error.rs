//! Why a step failed: what the step, the create along its token chain and the waits share.

use super::wait::WaitError;
use crate::api;

/// A step's failure, with its causes.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The call failed.
    #[error(transparent)]
    Api(#[from] api::Error),
    /// Waiting failed.
    #[error(transparent)]
    Wait(#[from] WaitError),
    /// The backup before a risky step did not finish.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The hold on the stack was lost before the step's call: it was not sent.
    #[error("the hold on the stack was lost (another writer may have it); the call was not sent")]
    Fenced,
    /// The instance stayed busy.
    #[error("the instance stayed busy for {0} s")]
    Busy(u64),
    /// The plan refers to a secret that was not resolved (a bug: secrets are resolved first).
    #[error("the secret {0} was not resolved before the run")]
    SecretMissing(String),
    /// Every create token up to the chain's end was spent by earlier instances.
    #[error(
        "the first {0} create tokens of this name were all spent by earlier, released instances or other parameters; nothing was created"
    )]
    ChainExhausted(u32),
    /// More than one live instance has the name after the create: another writer created one
    /// with other parameters, or without kvsync.
    #[error(
        "{count} live instances are named {name:?} in {region} ({ids}) after the create; keep one, release the others and pin the one kept with spec.instanceId"
    )]
    Duplicates {
        /// The name.
        name: String,
        /// The region.
        region: String,
        /// How many.
        count: usize,
        /// Their IDs.
        ids: String,
    },
}

/// Why a backup did not finish.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The cloud reports the backup as failed.
    #[error(
        "backup job {job_id} of {instance_id} failed (BackupStatus {status}); the risky steps after it were not run"
    )]
    Failed {
        /// The instance.
        instance_id: String,
        /// The job.
        job_id: String,
        /// `BackupStatus`.
        status: String,
    },
    /// The answer of `CreateBackup` carried no usable job ID.
    #[error("CreateBackup answered without a usable BackupJobID ({0:?})")]
    NoJob(String),
    /// The backup was not listed as finished in time.
    #[error(
        "backup job {job_id} of {instance_id} was not listed as finished after {waited_secs} s"
    )]
    Timeout {
        /// The instance.
        instance_id: String,
        /// The job.
        job_id: String,
        /// How long.
        waited_secs: u64,
    },
}
