//! Waiting for an instance to reach a condition: poll with backoff, always with a deadline.

use std::time::Duration;

use tokio::time::Instant;

use crate::api::actions::instance::DescribeInstanceAttribute;
use crate::api::{self, Client};
use crate::plan::model::WaitFor;

/// How often to poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    /// The first interval.
    pub initial: Duration,
    /// The largest interval.
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(10),
        }
    }
}

/// Why a wait ended without its condition.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The deadline passed.
    #[error(
        "gave up waiting for {instance_id} to be {condition} after {waited_secs} s (last status: {last_status})"
    )]
    Timeout {
        /// The instance.
        instance_id: String,
        /// What was awaited.
        condition: &'static str,
        /// How long.
        waited_secs: u64,
        /// The last status seen.
        last_status: String,
    },
    /// The instance disappeared while waiting for it to be `Normal`.
    #[error("instance {0} disappeared while kvsync waited for it to be Normal")]
    Vanished(String),
    /// Polling failed.
    #[error("polling the status of {instance_id}")]
    Poll {
        /// The instance.
        instance_id: String,
        /// The API error.
        #[source]
        source: api::Error,
    },
}

/// What one poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The instance exists with this status.
    Status(String),
    /// The instance does not exist.
    Gone,
}

/// Whether `probe` satisfies `condition` (a pure predicate).
pub fn satisfied(condition: WaitFor, probe: &Probe) -> bool {
    match (condition, probe) {
        (WaitFor::Normal, Probe::Status(status)) => status == "Normal",
        (WaitFor::Gone, Probe::Gone) => true,
        _ => false,
    }
}

/// Reads an instance's status once.
pub async fn probe(client: &Client, region: &str, instance_id: &str) -> Result<Probe, api::Error> {
    let request = DescribeInstanceAttribute {
        instance_id: instance_id.to_owned(),
    };
    match client.call(region, &request).await {
        Ok(response) => Ok(response
            .instances
            .db_instance_attribute
            .into_iter()
            .next()
            .map_or(Probe::Gone, |attribute| {
                Probe::Status(attribute.instance_status)
            })),
        Err(err) if err.code() == Some("InvalidInstanceId.NotFound") => Ok(Probe::Gone),
        Err(err) => Err(err),
    }
}

/// Polls until `condition` holds or `timeout` passes.
pub async fn wait_for(
    client: &Client,
    region: &str,
    instance_id: &str,
    condition: WaitFor,
    timeout: Duration,
    poll: PollPolicy,
) -> Result<(), WaitError> {
    let started = Instant::now();
    let mut interval = poll.initial;
    let mut last_status = String::from("unknown");
    loop {
        let found = probe(client, region, instance_id)
            .await
            .map_err(|source| WaitError::Poll {
                instance_id: instance_id.to_owned(),
                source,
            })?;
        if satisfied(condition, &found) {
            return Ok(());
        }
        match &found {
            Probe::Gone if condition == WaitFor::Normal => {
                return Err(WaitError::Vanished(instance_id.to_owned()));
            }
            Probe::Status(status) => last_status = status.clone(),
            Probe::Gone => {}
        }
        if started.elapsed() + interval > timeout {
            return Err(WaitError::Timeout {
                instance_id: instance_id.to_owned(),
                condition: match condition {
                    WaitFor::Normal => "Normal",
                    WaitFor::Gone => "released",
                },
                waited_secs: started.elapsed().as_secs(),
                last_status,
            });
        }
        tokio::time::sleep(interval).await;
        interval = interval.mul_f64(1.5).min(poll.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        assert!(satisfied(WaitFor::Normal, &Probe::Status("Normal".into())));
        assert!(!satisfied(
            WaitFor::Normal,
            &Probe::Status("Creating".into())
        ));
        assert!(!satisfied(WaitFor::Normal, &Probe::Gone));
        assert!(satisfied(WaitFor::Gone, &Probe::Gone));
        assert!(!satisfied(WaitFor::Gone, &Probe::Status("Normal".into())));
    }
}
