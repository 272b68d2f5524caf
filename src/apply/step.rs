//! One plan step: the API call it makes, retried while the instance is busy, then its wait.
//!
//! Every call is safe to repeat. Answers that mean "already done" after a lost response (the
//! instance or account already released, the account already created) count as success.

use std::collections::BTreeMap;
use std::time::Duration;

use tracing::info;

use super::progress::{Event, Progress};
use super::wait::{Pace, WaitError, describe, wait_after_probe, wait_for};
use crate::api::actions::account::{
    CreateAccount, DeleteAccount, GrantAccountPrivilege, ModifyAccountDescription,
    ResetAccountPassword,
};
use crate::api::actions::backup::ModifyBackupPolicy;
use crate::api::actions::config::ModifyInstanceConfig;
use crate::api::actions::instance::{CreateInstance, DeleteInstance, ModifyInstanceAttribute};
use crate::api::actions::manage::{
    ModifyInstanceMaintainTime, ModifyInstanceMajorVersion, ModifyInstanceSpec, SwitchNetwork,
    TransformToPrePaid,
};
use crate::api::actions::security::{
    ModifyInstanceSsl, ModifyInstanceVpcAuthMode, ModifySecurityIps,
};
use crate::api::actions::tag::{TagResources, UntagResources};
use crate::api::retry::{Class, classify};
use crate::api::{self, Action, Client};
use crate::apply::create;
use crate::manifest::InstanceKey;
use crate::manifest::desired::{Charge, Network};
use crate::manifest::secret::SecretRef;
use crate::plan::model::{
    CLASSIC_RETENTION_DAYS, Call, CreateInstanceCall, Step, WaitFor, config_json, join,
};
use crate::secret::Secret;

/// A step's failure, with its causes.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The call failed.
    #[error(transparent)]
    Api(#[from] api::Error),
    /// Waiting failed.
    #[error(transparent)]
    Wait(#[from] WaitError),
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

/// Vendor codes that, on a repeated call, mean the change already happened: the calls that
/// do not set an absolute value refuse to make a change that is already made. (Apply
/// observes again at the end, so a change someone else made instead is still reported.)
fn already_done(call: &Call, err: &api::Error) -> bool {
    let code = err.code().unwrap_or("");
    match call {
        Call::DeleteInstance => code == "InvalidInstanceId.NotFound",
        Call::DeleteAccount { .. } => code == "InvalidAccountName.NotFound",
        Call::CreateAccount { .. } => code == "InvalidAccountName.Duplicate",
        // Already on subscription billing.
        Call::TransformToPrePaid { .. } => code == "IncorrectDBInstanceChargeType",
        // Already out of the classic network.
        Call::SwitchNetwork { .. } => code == "IncorrectDBInstanceNetType",
        // Already on that version (or a later one).
        Call::ModifyInstanceMajorVersion { .. } => code == "IncorrectEngineVersion",
        // Already of that class (the plan only resizes to a class the instance does not have).
        Call::ModifyInstanceSpec { .. } => code == "InvalidDBInstanceClass.Duplicate",
        // TLS already in the state asked for.
        Call::ModifyInstanceSsl { .. } => code == "IncorrectSSLStatus",
        _ => false,
    }
}

/// The account a call concerns, if any.
fn account_of(call: &Call) -> Option<&str> {
    match call {
        Call::CreateAccount { name, .. }
        | Call::GrantAccountPrivilege { name, .. }
        | Call::ModifyAccountDescription { name, .. }
        | Call::ResetAccountPassword { name, .. }
        | Call::DeleteAccount { name } => Some(name),
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
}

/// Runs one step against `instance_id` (set by `CreateInstance`).
pub async fn run(
    runner: &Runner<'_>,
    key: &InstanceKey,
    instance_id: &mut Option<String>,
    step: &Step,
) -> Result<(), StepError> {
    let Runner {
        client,
        stack,
        secrets,
        pace,
        progress,
    } = *runner;
    let region = key.region.as_str();
    let timeout = Duration::from_secs(step.wait.timeout_secs);
    if let Call::CreateInstance(create) = &step.call {
        *instance_id = Some(create::run(client, stack, key, create, secrets, pace).await?);
    } else {
        let id = instance_id.clone().unwrap_or_default();
        let outcome = call(client, key, &id, &step.call, secrets, timeout, pace).await;
        match outcome {
            Ok(()) => {}
            Err(StepError::Api(err)) if already_done(&step.call, &err) => {
                info!(instance = %key, action = step.call.action(), "already done");
            }
            Err(err) => return Err(err),
        }
    }
    let id = instance_id.clone().unwrap_or_default();
    if step.wait.until != WaitFor::Nothing {
        progress(Event::Waiting {
            key: key.clone(),
            action: step.call.action(),
            condition: describe(&step.wait.until),
        });
    }
    if matches!(step.call, Call::CreateInstance(_)) {
        // The create has just read the instance: polling goes on from there.
        wait_after_probe(client, region, &id, &step.wait.until, timeout, pace).await?;
    } else {
        wait_for(client, region, &id, &step.wait.until, timeout, pace).await?;
    }
    if matches!(step.call, Call::CreateInstance(_)) {
        create::check_single(client, key).await?;
    }
    Ok(())
}

pub(crate) fn secret(
    secrets: &BTreeMap<SecretRef, Secret>,
    reference: &SecretRef,
) -> Result<Secret, StepError> {
    secrets
        .get(reference)
        .cloned()
        .ok_or_else(|| StepError::SecretMissing(reference.to_string()))
}

/// Makes the call of a step on an existing instance.
async fn call(
    client: &Client,
    key: &InstanceKey,
    id: &str,
    call: &Call,
    secrets: &BTreeMap<SecretRef, Secret>,
    timeout: Duration,
    pace: &Pace,
) -> Result<(), StepError> {
    let instance_id = id.to_owned();
    let region = key.region.as_str();
    let send = Sender {
        client,
        region,
        id,
        account: account_of(call),
        timeout,
        pace,
    };
    match call {
        Call::CreateInstance(_) => Ok(()),
        Call::ModifyInstanceSpec {
            instance_class,
            client_token,
        } => {
            send.when_idle(&ModifyInstanceSpec {
                instance_id,
                instance_class: Some(instance_class.clone()),
                client_token: Some(client_token.clone()),
                effective_time: Some("Immediately".into()),
                ..Default::default()
            })
            .await
        }
        Call::TransformToPrePaid { period } => {
            send.when_idle(&TransformToPrePaid {
                instance_id,
                period: u64::from(*period),
                auto_pay: Some(true),
                ..Default::default()
            })
            .await
        }
        Call::SwitchNetwork { vpc_id, vswitch_id } => {
            send.when_idle(&SwitchNetwork {
                instance_id,
                target_network_type: Some("VPC".into()),
                vpc_id: Some(vpc_id.clone()),
                vswitch_id: Some(vswitch_id.clone()),
                retain_classic: Some(true),
                classic_expired_days: Some(u64::from(CLASSIC_RETENTION_DAYS)),
            })
            .await
        }
        Call::ModifyInstanceMajorVersion { major_version } => {
            send.when_idle(&ModifyInstanceMajorVersion {
                instance_id,
                major_version: major_version.clone(),
                effective_time: Some("Immediately".into()),
            })
            .await
        }
        Call::ModifyInstanceAttribute {
            instance_name,
            release_protection,
            new_password,
        } => {
            let new_password = new_password
                .as_ref()
                .map(|r| secret(secrets, r))
                .transpose()?;
            send.when_idle(&ModifyInstanceAttribute {
                instance_id,
                instance_name: instance_name.clone(),
                instance_release_protection: *release_protection,
                new_password,
            })
            .await
        }
        Call::ModifyInstanceMaintainTime { start, end } => {
            send.when_idle(&ModifyInstanceMaintainTime {
                instance_id,
                maintain_start_time: start.clone(),
                maintain_end_time: end.clone(),
            })
            .await
        }
        Call::ModifyInstanceSsl { enabled } => {
            send.when_idle(&ModifyInstanceSsl {
                instance_id,
                ssl_enabled: if *enabled { "Enable" } else { "Disable" }.into(),
            })
            .await
        }
        Call::ModifyInstanceVpcAuthMode { mode } => {
            send.when_idle(&ModifyInstanceVpcAuthMode {
                instance_id,
                vpc_auth_mode: mode.as_str().into(),
            })
            .await
        }
        Call::ModifySecurityIps { group, ips } => {
            send.when_idle(&ModifySecurityIps {
                instance_id,
                security_ips: ips.iter().cloned().collect(),
                security_ip_group_name: Some(group.clone()),
                security_ip_group_attribute: None,
                modify_mode: Some("Cover".into()),
            })
            .await
        }
        Call::ModifyInstanceConfig { config } => {
            send.when_idle(&ModifyInstanceConfig {
                instance_id,
                config: Some(config_json(config)),
                ..Default::default()
            })
            .await
        }
        Call::ModifyBackupPolicy { time, period } => {
            send.when_idle(&ModifyBackupPolicy {
                instance_id,
                preferred_backup_time: time.clone(),
                preferred_backup_period: join(period.iter().map(|d| d.as_str())),
                backup_retention_period: None,
                enable_backup_log: None,
            })
            .await
        }
        Call::CreateAccount {
            name,
            privilege,
            password,
            description,
        } => {
            send.when_idle(&CreateAccount {
                instance_id,
                account_name: name.clone(),
                account_password: secret(secrets, password)?,
                account_privilege: Some(privilege.as_str().into()),
                account_description: description.clone(),
                account_type: Some("Normal".into()),
            })
            .await
        }
        Call::GrantAccountPrivilege { name, privilege } => {
            send.when_idle(&GrantAccountPrivilege {
                instance_id,
                account_name: name.clone(),
                account_privilege: privilege.as_str().into(),
            })
            .await
        }
        Call::ModifyAccountDescription { name, description } => {
            send.when_idle(&ModifyAccountDescription {
                instance_id,
                account_name: name.clone(),
                account_description: description.clone(),
            })
            .await
        }
        Call::ResetAccountPassword { name, password } => {
            send.when_idle(&ResetAccountPassword {
                instance_id,
                account_name: name.clone(),
                account_password: secret(secrets, password)?,
            })
            .await
        }
        Call::DeleteAccount { name } => {
            send.when_idle(&DeleteAccount {
                instance_id,
                account_name: name.clone(),
            })
            .await
        }
        Call::TagResources { tags } => {
            send.when_idle(&TagResources {
                region_id: key.region.clone(),
                resource_type: "INSTANCE".into(),
                resource_ids: vec![instance_id],
                tags: tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            })
            .await
        }
        Call::UntagResources { keys } => {
            send.when_idle(&UntagResources {
                region_id: key.region.clone(),
                resource_type: "INSTANCE".into(),
                resource_ids: vec![instance_id],
                tag_keys: keys.iter().cloned().collect(),
                all: None,
            })
            .await
        }
        Call::DeleteInstance => send.when_idle(&DeleteInstance { instance_id }).await,
    }
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
    async fn when_idle<A: Action>(&self, action: &A) -> Result<(), StepError> {
        let started = tokio::time::Instant::now();
        loop {
            match self.client.call(self.region, action).await {
                Ok(_) => return Ok(()),
                Err(err) if classify(&err) == Class::Busy => {
                    if started.elapsed() >= self.timeout {
                        return Err(StepError::Busy(started.elapsed().as_secs()));
                    }
                    info!(
                        instance_id = self.id,
                        action = A::NAME,
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

/// The `CreateInstance` request of `create` with `token`.
pub(crate) fn create_request(
    create: &CreateInstanceCall,
    token: &str,
    secrets: &BTreeMap<SecretRef, Secret>,
) -> Result<CreateInstance, StepError> {
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
    Ok(CreateInstance {
        region_id: create.region_id.clone(),
        token: Some(token.to_owned()),
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
            .map(|r| secret(secrets, r))
            .transpose()?,
        tags: create
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
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
        let done = [
            (
                Call::TransformToPrePaid { period: 1 },
                "IncorrectDBInstanceChargeType",
            ),
            (
                Call::SwitchNetwork {
                    vpc_id: "vpc-a".into(),
                    vswitch_id: "vsw-a".into(),
                },
                "IncorrectDBInstanceNetType",
            ),
            (
                Call::ModifyInstanceMajorVersion {
                    major_version: "6.0".into(),
                },
                "IncorrectEngineVersion",
            ),
            (
                Call::ModifyInstanceSsl { enabled: true },
                "IncorrectSSLStatus",
            ),
            (Call::DeleteInstance, "InvalidInstanceId.NotFound"),
        ];
        for (call, code) in done {
            assert!(already_done(&call, &refused(code)), "{call:?} {code}");
            assert!(
                !already_done(&call, &refused("InvalidParameter")),
                "{call:?}"
            );
        }
        assert!(!already_done(
            &Call::ModifyInstanceSsl { enabled: true },
            &refused("IncorrectEngineVersion")
        ));
    }
}
