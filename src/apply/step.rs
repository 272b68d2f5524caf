//! One plan step: the API call it makes, retried while the instance is busy, then its wait.
//!
//! Every call is safe to repeat. Answers that mean "already done" after a lost response (the
//! instance or account already released, the account already created) count as success.

use std::collections::BTreeMap;
use std::time::Duration;

use tracing::info;

use super::progress::{Event, Progress};
use super::wait::{Pace, WaitError, describe, wait_after_probe, wait_for};
use crate::api::actions::{NEW_INSTANCE_ID, Request};
use crate::api::retry::{Class, classify};
use crate::api::{self, Client};
use crate::apply::backup::{self, BackupTaken};
use crate::apply::create;
pub use crate::apply::error::StepError;
use crate::coordination::Guard;
use crate::manifest::InstanceKey;
use crate::plan::model::{PlannedRequest, Step, WaitFor};
use crate::secrets::Secret;
use crate::secrets::SecretRef;

/// Vendor codes that, on a repeated call, mean the change already happened: the calls that
/// do not set an absolute value refuse to make a change that is already made. (Apply
/// observes again at the end, so a change someone else made instead is still reported.)
fn already_done<S>(request: &Request<S>, err: &api::Error) -> bool {
    let code = err.code().unwrap_or("");
    match request {
        Request::DeleteInstance(_) => code == "InvalidInstanceId.NotFound",
        Request::DeleteAccount(_) => code == "InvalidAccountName.NotFound",
        Request::CreateAccount(_) => code == "InvalidAccountName.Duplicate",
        // Already on subscription billing.
        Request::TransformToPrePaid(_) => code == "IncorrectDBInstanceChargeType",
        // Already out of the classic network.
        Request::SwitchNetwork(_) => code == "IncorrectDBInstanceNetType",
        // Already on that version (or a later one).
        Request::ModifyInstanceMajorVersion(_) => code == "IncorrectEngineVersion",
        // Already of that class (the plan only resizes to a class the instance does not have).
        Request::ModifyInstanceSpec(_) => code == "InvalidDBInstanceClass.Duplicate",
        // TLS already in the state asked for.
        Request::ModifyInstanceSsl(_) => code == "IncorrectSSLStatus",
        // Possibly already renamed (the old string is gone) or already on that port; a
        // conflict with another instance answers the same, so `endpoint_in_place` decides.
        Request::ModifyDbInstanceConnectionString(_) => matches!(
            code,
            "InvalidConnectionString.NotFound" | "InvalidConnectionStringOrPort.Duplicate"
        ),
        _ => false,
    }
}

/// Whether the instance's endpoint already has the prefix and port `change` asks for: then a
/// refusal of the repeated call means it was made before (its answer lost), not a conflict.
async fn endpoint_in_place(
    client: &Client,
    region: &str,
    change: &crate::api::actions::ModifyDbInstanceConnectionString,
) -> bool {
    let request = crate::api::actions::instance::DescribeInstanceAttribute {
        instance_id: change.db_instance_id.clone(),
    };
    let Ok(response) = client.call(region, &request).await else {
        return false;
    };
    let Some(attribute) = response.instances.db_instance_attribute.first() else {
        return false;
    };
    let prefix = crate::plan::endpoint::prefix_of(&attribute.connection_domain);
    change
        .new_connection_string
        .as_deref()
        .is_none_or(|wanted| wanted == prefix)
        && change
            .port
            .is_none_or(|wanted| i64::try_from(wanted).ok() == Some(attribute.port))
}

/// The account a request concerns, if any.
fn account_of<S>(request: &Request<S>) -> Option<&str> {
    match request {
        Request::CreateAccount(r) => Some(&r.account_name),
        Request::GrantAccountPrivilege(r) => Some(&r.account_name),
        Request::ModifyAccountDescription(r) => Some(&r.account_name),
        Request::ResetAccountPassword(r) => Some(&r.account_name),
        Request::DeleteAccount(r) => Some(&r.account_name),
        _ => None,
    }
}

/// What the steps of a run share.
pub struct Runner<'a> {
    /// The client.
    pub client: &'a Client,
    /// The stack the plan belongs to (create tokens).
    pub stack: &'a str,
    /// The secrets the plan sends.
    pub secrets: &'a BTreeMap<SecretRef, Secret>,
    /// Poll pacing and the stop signal.
    pub pace: &'a Pace,
    /// Where events go.
    pub progress: &'a Progress,
    /// The hold on the shard, checked before the step's write call.
    pub fence: Option<&'a Guard>,
}

/// Runs one step against `instance_id` (set by `CreateInstance`); a backup step returns the
/// backup it took.
pub async fn run(
    runner: &Runner<'_>,
    key: &InstanceKey,
    instance_id: &mut Option<String>,
    step: &Step,
) -> Result<Option<BackupTaken>, StepError> {
    let Runner {
        client,
        stack,
        secrets,
        pace,
        progress,
        fence,
    } = *runner;
    // Fencing: a writer that may have lost its shard to another sends nothing more.
    if let Some(fence) = fence
        && !fence.still_held(Some(&key.region)).await
    {
        return Err(StepError::Fenced);
    }
    let region = key.region.as_str();
    let timeout = Duration::from_secs(step.wait.timeout_secs);
    let action = step.request.name();
    let mut request = resolve(&step.request, secrets)?;
    if step.wait.until == WaitFor::BackupFinished {
        let id = instance_id.clone().unwrap_or_default();
        progress(Event::Waiting {
            key: key.clone(),
            action,
            condition: describe(&step.wait.until),
        });
        let taken = backup::take(client, region, &id, timeout, pace).await?;
        info!(instance = %key, job_id = %taken.job_id, backup_id = %taken.backup_id, "backup finished");
        return Ok(Some(taken));
    }
    if let Request::CreateInstance(create) = request {
        *instance_id = Some(create::run(client, stack, key, create, pace).await?);
    } else {
        let id = instance_id.clone().unwrap_or_default();
        // The one thing the plan cannot know: the ID of an instance it creates.
        request.bind(NEW_INSTANCE_ID, &id);
        let send = Sender {
            client,
            region,
            id: &id,
            account: account_of(&request),
            timeout,
            pace,
        };
        match send.when_idle(&request).await {
            Ok(()) => {}
            Err(StepError::Api(err)) if already_done(&request, &err) => {
                if let Request::ModifyDbInstanceConnectionString(change) = &request
                    && !endpoint_in_place(client, region, change).await
                {
                    return Err(StepError::Api(err));
                }
                info!(instance = %key, action, "already done");
            }
            Err(err) => return Err(err),
        }
    }
    let id = instance_id.clone().unwrap_or_default();
    if step.wait.until != WaitFor::Nothing {
        progress(Event::Waiting {
            key: key.clone(),
            action,
            condition: describe(&step.wait.until),
        });
    }
    if matches!(step.request, Request::CreateInstance(_)) {
        // The create has just read the instance: polling goes on from there.
        wait_after_probe(client, region, &id, &step.wait.until, timeout, pace).await?;
        create::check_single(client, key).await?;
    } else {
        wait_for(client, region, &id, &step.wait.until, timeout, pace).await?;
    }
    Ok(None)
}

/// The planned request with its secret references replaced by the values read for the run.
fn resolve(
    request: &PlannedRequest,
    secrets: &BTreeMap<SecretRef, Secret>,
) -> Result<Request<Secret>, StepError> {
    request.clone().map_secrets(|reference| {
        secrets
            .get(&reference)
            .cloned()
            .ok_or_else(|| StepError::SecretMissing(reference.to_string()))
    })
}

/// Sends calls for one instance, waiting out busy refusals.
struct Sender<'a> {
    client: &'a Client,
    region: &'a str,
    id: &'a str,
    account: Option<&'a str>,
    timeout: Duration,
    pace: &'a Pace,
}

impl Sender<'_> {
    /// Calls `action`; while the instance (or the account) is busy, waits until it is ready
    /// and tries again, up to the step's timeout.
    async fn when_idle(&self, request: &Request<Secret>) -> Result<(), StepError> {
        let started = tokio::time::Instant::now();
        loop {
            match self.client.send(self.region, request).await {
                Ok(_) => return Ok(()),
                Err(err) if classify(&err) == Class::Busy => {
                    if started.elapsed() >= self.timeout {
                        return Err(StepError::Busy(started.elapsed().as_secs()));
                    }
                    info!(
                        instance_id = self.id,
                        action = request.name(),
                        code = err.code().unwrap_or(""),
                        "busy; waiting"
                    );
                    let left = self.timeout.saturating_sub(started.elapsed());
                    wait_for(
                        self.client,
                        self.region,
                        self.id,
                        &WaitFor::Normal,
                        left,
                        self.pace,
                    )
                    .await?;
                    if let Some(account) = self.account {
                        let ready = WaitFor::AccountAvailable(account.to_owned());
                        let left = self.timeout.saturating_sub(started.elapsed());
                        // The account may not exist yet (CreateAccount): then there is nothing to wait for.
                        if let Err(err) =
                            wait_for(self.client, self.region, self.id, &ready, left, self.pace)
                                .await
                            && !matches!(err, WaitError::Vanished(_))
                        {
                            return Err(err.into());
                        }
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str) -> api::Error {
        api::Error::from(api::ApiError {
            action: "Test",
            status: 400,
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        })
    }

    #[test]
    fn a_repeated_one_way_change_counts_as_done() {
        use crate::api::actions::{
            DeleteInstance, ModifyInstanceMajorVersion, ModifyInstanceSsl, SwitchNetwork,
            TransformToPrePaid,
        };
        let done: [(Request, &str); 5] = [
            (
                Request::TransformToPrePaid(TransformToPrePaid::default()),
                "IncorrectDBInstanceChargeType",
            ),
            (
                Request::SwitchNetwork(SwitchNetwork::default()),
                "IncorrectDBInstanceNetType",
            ),
            (
                Request::ModifyInstanceMajorVersion(ModifyInstanceMajorVersion::default()),
                "IncorrectEngineVersion",
            ),
            (
                Request::ModifyInstanceSsl(ModifyInstanceSsl::default()),
                "IncorrectSSLStatus",
            ),
            (
                Request::DeleteInstance(DeleteInstance::default()),
                "InvalidInstanceId.NotFound",
            ),
        ];
        for (request, code) in &done {
            assert!(already_done(request, &refused(code)), "{request:?} {code}");
            assert!(
                !already_done(request, &refused("InvalidParameter")),
                "{request:?}"
            );
        }
        assert!(!already_done(
            &done[3].0,
            &refused("IncorrectEngineVersion")
        ));
    }
}
