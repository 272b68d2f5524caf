//! The backup before risky steps: `CreateBackup`, then poll `DescribeBackups` until the job's
//! backup set is listed as finished.
//!
//! `CreateBackup` has no idempotency token. A run that dies after the call and before the
//! backup is listed makes a new backup when it runs again: one backup too many, never one too
//! few, and the risky step still waits for a finished one.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio::time::Instant;

use super::error::{BackupError, StepError};
use super::wait::{Pace, WaitError, wait_for};
use crate::api::Client;
use crate::api::actions::backup::{BackupSet, CreateBackup, DescribeBackups};
use crate::api::retry::{Class, classify};
use crate::plan::model::WaitFor;

/// A backup taken before a risky step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupTaken {
    /// `BackupJobID`.
    pub job_id: String,
    /// `BackupId` of the finished set.
    pub backup_id: String,
}

/// Starts a backup of `instance_id` and waits until `DescribeBackups` lists it as finished.
pub async fn take(
    client: &Client,
    region: &str,
    instance_id: &str,
    timeout: Duration,
    pace: &Pace,
) -> Result<BackupTaken, StepError> {
    let started = Instant::now();
    let request = CreateBackup {
        instance_id: instance_id.to_owned(),
        backup_retention_period: None,
    };
    let issued = client.cloud_now();
    let created = loop {
        match client.call(region, &request).await {
            Ok(created) => break created,
            Err(err) if classify(&err) == Class::Busy && started.elapsed() < timeout => {
                let left = timeout.saturating_sub(started.elapsed());
                wait_for(client, region, instance_id, &WaitFor::Normal, left, pace).await?;
            }
            Err(err) => return Err(err.into()),
        }
    };
    let job_id = created.backup_job_id.trim().to_owned();
    let job: u64 = job_id
        .parse()
        .map_err(|_| BackupError::NoJob(job_id.clone()))?;
    let mut interval = pace.poll.initial;
    loop {
        if let Some(set) = listed(client, region, instance_id, job, issued).await? {
            return match set.backup_status.as_str() {
                "Success" => Ok(BackupTaken {
                    job_id,
                    backup_id: set.backup_id.to_string(),
                }),
                status => Err(BackupError::Failed {
                    instance_id: instance_id.to_owned(),
                    job_id,
                    status: status.to_owned(),
                }
                .into()),
            };
        }
        if started.elapsed() + interval > timeout {
            return Err(BackupError::Timeout {
                instance_id: instance_id.to_owned(),
                job_id,
                waited_secs: started.elapsed().as_secs(),
            }
            .into());
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = pace.stop.stopped() => {
                return Err(WaitError::Stopped(format!("backup job {job_id} to finish")).into());
            }
        }
        interval = interval.mul_f64(1.5).min(pace.poll.max);
    }
}

/// The set of backup job `job`, if `DescribeBackups` lists it yet. The time range reaches a
/// day either side of when the job was started, so a skewed clock still finds it.
async fn listed(
    client: &Client,
    region: &str,
    instance_id: &str,
    job: u64,
    issued: Timestamp,
) -> Result<Option<BackupSet>, StepError> {
    let day = SignedDuration::from_hours(24);
    let stamp = |at: Timestamp| at.strftime("%Y-%m-%dT%H:%MZ").to_string();
    let request = DescribeBackups {
        instance_id: instance_id.to_owned(),
        start_time: stamp(issued.checked_sub(day).unwrap_or(issued)),
        end_time: stamp(issued.checked_add(day).unwrap_or(issued)),
        backup_id: None,
        backup_job_id: Some(job),
        need_aof: None,
        page_number: 1,
        page_size: 30,
    };
    let response = client.call(region, &request).await?;
    Ok(response
        .backups
        .backup
        .into_iter()
        .find(|set| u64::try_from(set.backup_job_id).ok() == Some(job)))
}
