//! Waiting for an instance to reach a condition: poll with backoff, always with a deadline.

use std::time::Duration;

use tokio::time::Instant;

use super::progress::StopSignal;
use crate::api::actions::account::DescribeAccounts;
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

/// How a wait paces itself, and what makes it give up early.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Poll intervals.
    pub poll: PollPolicy,
    /// A stop request ends the wait at once.
    pub stop: StopSignal,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            poll: PollPolicy::default(),
            stop: StopSignal::never(),
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
        condition: String,
        /// How long.
        waited_secs: u64,
        /// The last status seen.
        last_status: String,
    },
    /// The run was asked to stop while waiting (the call itself was made).
    #[error("stopped while waiting for {0}; the call was made but its effect was not confirmed")]
    Stopped(String),
    /// The instance (or account) disappeared while kvsync waited for it.
    #[error("instance {0} (or the account) disappeared while kvsync waited for it")]
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
    /// The instance exists with this status and class.
    Instance {
        /// `InstanceStatus`.
        status: String,
        /// `InstanceClass`.
        class: String,
    },
    /// The account exists with this status.
    Account(String),
    /// The instance (or the account) does not exist.
    Gone,
}

/// Whether `probe` satisfies `condition` (a pure predicate).
pub fn satisfied(condition: &WaitFor, probe: &Probe) -> bool {
    match (condition, probe) {
        (WaitFor::Nothing, _) => true,
        (WaitFor::Normal, Probe::Instance { status, .. }) => status == "Normal",
        (WaitFor::InstanceClass(wanted), Probe::Instance { status, class }) => {
            status == "Normal" && class == wanted
        }
        (WaitFor::AccountAvailable(_), Probe::Account(status)) => status == "Available",
        (WaitFor::Gone, Probe::Gone) => true,
        _ => false,
    }
}

/// Reads what `condition` needs, once.
pub async fn probe(
    client: &Client,
    region: &str,
    instance_id: &str,
    condition: &WaitFor,
) -> Result<Probe, api::Error> {
    let result = match condition {
        WaitFor::AccountAvailable(name) => {
            let request = DescribeAccounts {
                instance_id: instance_id.to_owned(),
                account_name: Some(name.clone()),
                search_account_name: None,
                page_number: None,
                page_size: None,
            };
            client.call(region, &request).await.map(|response| {
                response
                    .accounts
                    .account
                    .into_iter()
                    .find(|account| account.account_name == *name)
                    .map_or(Probe::Gone, |account| {
                        Probe::Account(account.account_status)
                    })
            })
        }
        _ => {
            let request = DescribeInstanceAttribute {
                instance_id: instance_id.to_owned(),
            };
            client.call(region, &request).await.map(|response| {
                response
                    .instances
                    .db_instance_attribute
                    .into_iter()
                    .next()
                    .map_or(Probe::Gone, |attribute| Probe::Instance {
                        status: attribute.instance_status,
                        class: attribute.instance_class,
                    })
            })
        }
    };
    match result {
        Err(err)
            if matches!(
                err.code(),
                Some("InvalidInstanceId.NotFound" | "InvalidAccountName.NotFound")
            ) =>
        {
            Ok(Probe::Gone)
        }
        other => other,
    }
}

/// Polls until `condition` holds or `timeout` passes.
pub async fn wait_for(
    client: &Client,
    region: &str,
    instance_id: &str,
    condition: &WaitFor,
    timeout: Duration,
    pace: &Pace,
) -> Result<(), WaitError> {
    poll_until(client, region, instance_id, condition, timeout, pace, false).await
}

/// Like [`wait_for`], for an instance the caller has just read: the first poll comes after
/// one interval.
pub async fn wait_after_probe(
    client: &Client,
    region: &str,
    instance_id: &str,
    condition: &WaitFor,
    timeout: Duration,
    pace: &Pace,
) -> Result<(), WaitError> {
    poll_until(client, region, instance_id, condition, timeout, pace, true).await
}

async fn poll_until(
    client: &Client,
    region: &str,
    instance_id: &str,
    condition: &WaitFor,
    timeout: Duration,
    pace: &Pace,
    just_probed: bool,
) -> Result<(), WaitError> {
    if *condition == WaitFor::Nothing {
        return Ok(());
    }
    let started = Instant::now();
    let mut interval = pace.poll.initial;
    let mut last_status = String::from("unknown");
    let mut skip = just_probed;
    loop {
        if std::mem::take(&mut skip) {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = pace.stop.stopped() => return Err(WaitError::Stopped(describe(condition))),
            }
            interval = interval.mul_f64(1.5).min(pace.poll.max);
            continue;
        }
        let found = probe(client, region, instance_id, condition)
            .await
            .map_err(|source| WaitError::Poll {
                instance_id: instance_id.to_owned(),
                source,
            })?;
        if satisfied(condition, &found) {
            return Ok(());
        }
        match &found {
            Probe::Gone if *condition != WaitFor::Gone => {
                return Err(WaitError::Vanished(instance_id.to_owned()));
            }
            Probe::Instance { status, class } => last_status = format!("{status}, {class}"),
            Probe::Account(status) => last_status = status.clone(),
            Probe::Gone => {}
        }
        if started.elapsed() + interval > timeout {
            return Err(WaitError::Timeout {
                instance_id: instance_id.to_owned(),
                condition: describe(condition),
                waited_secs: started.elapsed().as_secs(),
                last_status,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = pace.stop.stopped() => return Err(WaitError::Stopped(describe(condition))),
        }
        interval = interval.mul_f64(1.5).min(pace.poll.max);
    }
}

/// What a condition waits for, in words.
pub fn describe(condition: &WaitFor) -> String {
    match condition {
        WaitFor::Nothing => "done".into(),
        WaitFor::Normal => "Normal".into(),
        WaitFor::InstanceClass(class) => format!("Normal with class {class}"),
        WaitFor::AccountAvailable(name) => format!("Normal with account {name} Available"),
        WaitFor::Gone => "released".into(),
        WaitFor::BackupFinished => "backed up".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(status: &str, class: &str) -> Probe {
        Probe::Instance {
            status: status.into(),
            class: class.into(),
        }
    }

    #[test]
    fn predicates() {
        assert!(satisfied(&WaitFor::Normal, &instance("Normal", "a")));
        assert!(!satisfied(&WaitFor::Normal, &instance("Creating", "a")));
        assert!(!satisfied(&WaitFor::Normal, &Probe::Gone));
        assert!(satisfied(&WaitFor::Gone, &Probe::Gone));
        assert!(!satisfied(&WaitFor::Gone, &instance("Normal", "a")));
        let class = WaitFor::InstanceClass("b".into());
        assert!(!satisfied(&class, &instance("Normal", "a")));
        assert!(!satisfied(&class, &instance("Changing", "b")));
        assert!(satisfied(&class, &instance("Normal", "b")));
        let account = WaitFor::AccountAvailable("x".into());
        assert!(satisfied(&account, &Probe::Account("Available".into())));
        assert!(!satisfied(&account, &Probe::Account("Unavailable".into())));
        assert!(satisfied(&WaitFor::Nothing, &Probe::Gone));
    }
}
