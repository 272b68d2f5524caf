//! What the instance commands (`backup`, `backups`, `restore`, `flush`, `renew-cert`) share:
//! the INSTANCE argument and how it is found in the cloud, the approval of writes, the stop
//! on Ctrl-C, and the one JSON document of `--json`.
//!
//! INSTANCE is a manifest instance name (`name` or `region/name`), found in its region's
//! listing by `spec.instanceId` or by name; with `--id` it is a cloud instance ID, checked with
//! `DescribeInstanceAttribute`, and no manifest is needed.

use std::collections::BTreeSet;
use std::fmt;
use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;

use super::apply::{Approval, Unapproved, ask, decide};
use super::{CliError, ExitStatus, GlobalArgs, LockArgs, ManifestArgs, settings};
use crate::api::actions::instance::DescribeInstanceAttribute;
use crate::api::{self, Client};
use crate::apply::error::StepError;
use crate::apply::wait::{Pace, PollPolicy, WaitError, wait_for};
use crate::apply::{self, StopSignal};
use crate::coordination::local::LocalCoordinator;
use crate::coordination::{self, Coordinator, Shard};
use crate::observe::ObserveError;
use crate::plan::model::{PLAN_FORMAT_VERSION, WaitFor};

/// The INSTANCE argument and the options every instance command takes.
#[derive(Debug, Args)]
pub struct InstanceArgs {
    /// The instance: its manifest name (`name`, or `region/name`), or with --id its cloud
    /// instance ID (r-…).
    #[arg(value_name = "INSTANCE")]
    pub instance: String,
    /// INSTANCE is a cloud instance ID: no manifest is needed (the region comes from --region,
    /// else the Stack document's spec.region, else the environment or the profile).
    #[arg(long)]
    pub id: bool,
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Print one JSON document on stdout (schema in the README).
    #[arg(long)]
    pub json: bool,
}

/// The options of the commands that change an instance.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Run without asking for confirmation (needed off a terminal and with --json, unless
    /// `--emulator` is used).
    #[arg(long)]
    pub auto_approve: bool,
    /// How long to wait for the instance (or the backup) to be ready again.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = super::values::wait_timeout, allow_hyphen_values = true)]
    pub timeout: Duration,
    /// Locking against other runs on this machine (taken when the manifests name the stack).
    #[command(flatten)]
    pub lock: LockArgs,
    /// The audit log of write calls (none unless --audit-log is given).
    #[command(flatten)]
    pub audit: super::AuditLogArgs,
}

/// Why an instance command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No manifest instance has the name.
    #[error("no instance named {name:?} in the manifests{known}")]
    UnknownName {
        /// The name given.
        name: String,
        /// The names the manifests hold, as `; known: …` (empty when none).
        known: String,
    },
    /// Manifest instances of several regions have the name.
    #[error("{name:?} names instances in several regions ({keys}); write it as region/name")]
    AmbiguousName {
        /// The name given.
        name: String,
        /// The matching keys.
        keys: String,
    },
    /// The manifest instance has no live instance in the cloud.
    #[error("{key} has no live instance in the cloud (no instance of {region} is named {name:?})")]
    NotLive {
        /// The manifest instance.
        key: String,
        /// Its region.
        region: String,
        /// Its name.
        name: String,
    },
    /// The instance `spec.instanceId` pins is not listed.
    #[error("{key} is pinned to {id} (spec.instanceId), which is not an instance of {region}")]
    PinnedMissing {
        /// The manifest instance.
        key: String,
        /// The pinned ID.
        id: String,
        /// Its region.
        region: String,
    },
    /// Several live instances have the name.
    #[error(
        "{count} live instances are named {name:?} in {region} ({ids}); pin the one meant with spec.instanceId, or name it by ID with --id"
    )]
    Duplicates {
        /// How many.
        count: usize,
        /// The name.
        name: String,
        /// The region.
        region: String,
        /// Their IDs.
        ids: String,
    },
    /// No instance has the ID.
    #[error("no instance {id} in {region}")]
    UnknownId {
        /// The ID given.
        id: String,
        /// The region asked.
        region: String,
    },
    /// `--id` without a region to look in.
    #[error(
        "--id needs a region: give --region, or manifests (-f) whose Stack document sets spec.region"
    )]
    NoRegion,
    /// A destructive command without `--allow-destroy`.
    #[error(
        "refusing to {action} {instance}: it is destructive; re-run with --allow-destroy to allow it"
    )]
    Gated {
        /// What would be done.
        action: &'static str,
        /// INSTANCE as given.
        instance: String,
    },
    /// Stdin is not a terminal and the write was not approved.
    #[error(
        "refusing to {command} without approval: stdin is not a terminal, so there is no one to ask; re-run with --auto-approve"
    )]
    NoTerminal {
        /// The command.
        command: &'static str,
    },
    /// `--json` without `--auto-approve`.
    #[error("{command} --json does not ask for confirmation: add --auto-approve")]
    JsonUnapproved {
        /// The command.
        command: &'static str,
    },
    /// The answer was not `yes`.
    #[error("{command} cancelled: nothing was sent")]
    Cancelled {
        /// The command.
        command: &'static str,
    },
    /// `renew-cert` on an instance without TLS.
    #[error(
        "TLS is off on {instance}: it has no certificate to renew (turn TLS on with `ssl: Enable` in its manifest and apply)"
    )]
    TlsOff {
        /// The instance.
        instance: String,
    },
    /// A call failed.
    #[error("{action} on {instance}")]
    Api {
        /// The action.
        action: &'static str,
        /// The instance.
        instance: String,
        /// The cloud's error.
        #[source]
        source: api::Error,
    },
    /// The backup failed or did not finish.
    #[error("backing up {instance}")]
    Backup {
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: StepError,
    },
    /// The instance did not become ready again.
    #[error("{action} was sent to {instance}, but it did not end")]
    Wait {
        /// The action sent.
        action: &'static str,
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: WaitError,
    },
    /// The region could not be listed.
    #[error("finding {name:?} in {region}")]
    List {
        /// The name.
        name: String,
        /// The region.
        region: String,
        /// Why.
        #[source]
        source: ObserveError,
    },
}

impl CommandError {
    /// Whether the command stopped on Ctrl-C or SIGTERM (exit status 130).
    pub fn is_stopped(&self) -> bool {
        match self {
            CommandError::Wait { source, .. } => matches!(source, WaitError::Stopped(_)),
            CommandError::Backup { source, .. } => {
                matches!(source, StepError::Wait(WaitError::Stopped(_)))
            }
            _ => false,
        }
    }
}

/// The instance a command works on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Instance {
    /// Its region.
    pub region: String,
    /// Its name (the manifest's, or the cloud's with `--id`).
    pub name: String,
    /// Its cloud ID.
    pub instance_id: String,
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} ({})", self.region, self.name, self.instance_id)
    }
}

/// Refuses a destructive command without `--allow-destroy`, before anything else.
pub(super) fn gate(
    allow_destroy: bool,
    action: &'static str,
    args: &InstanceArgs,
) -> Result<(), CliError> {
    if allow_destroy {
        Ok(())
    } else {
        Err(CommandError::Gated {
            action,
            instance: args.instance.clone(),
        }
        .into())
    }
}

/// How a write is approved, or its refusal (before any call); as `apply` decides.
pub(super) fn approval(
    global: &GlobalArgs,
    args: &InstanceArgs,
    write: &WriteArgs,
    command: &'static str,
) -> Result<Approval, CliError> {
    decide(
        global,
        write.auto_approve,
        args.json,
        std::io::stdin().is_terminal(),
    )
    .map_err(|why| {
        match why {
            Unapproved::NoTerminal => CommandError::NoTerminal { command },
            Unapproved::Json => CommandError::JsonUnapproved { command },
        }
        .into()
    })
}

/// A connection to the cloud and the instance found there.
pub(super) struct Session {
    target: settings::Target,
    /// The instance.
    pub instance: Instance,
    stop: StopSignal,
    signals: tokio::task::JoinHandle<()>,
    _locks: Option<coordination::Guard>,
    command: &'static str,
}

impl Session {
    /// Connects and finds the instance; for a write (`write`), takes the stack's lock when the
    /// manifests name the stack.
    pub(super) async fn open(
        global: &GlobalArgs,
        args: &InstanceArgs,
        write: Option<&WriteArgs>,
        command: &'static str,
    ) -> Result<Session, CliError> {
        let (desired, region) = if args.id {
            let options = global.load_options()?;
            match options.region {
                Some(region) => (None, Some(region)),
                None => {
                    let loaded = if args.manifests.files.iter().all(|path| path.exists()) {
                        Some(super::load_manifests(global, &args.manifests)?)
                    } else {
                        None
                    };
                    let region = loaded
                        .as_ref()
                        .and_then(|desired| desired.stack.region.clone())
                        .or(options.fallback_region);
                    (loaded, region)
                }
            }
        } else {
            (Some(super::load_manifests(global, &args.manifests)?), None)
        };
        if args.id && region.is_none() {
            return Err(CommandError::NoRegion.into());
        }
        let audit_log = match write {
            Some(write) => write.audit.open(None)?,
            None => None,
        };
        let mut target = settings::connect_for(global, desired.as_ref().map(|d| &d.stack)).await?;
        let found = match (&desired, region) {
            (_, Some(region)) if args.id => by_id(&target.client, &region, &args.instance).await,
            (Some(desired), _) => by_name(&target.client, desired, &args.instance).await,
            _ => Err(CommandError::NoRegion),
        };
        let instance = match found {
            Ok(instance) => instance,
            Err(err) => {
                target.close().await;
                return Err(err.into());
            }
        };
        if let Some(log) = audit_log {
            let stack = desired.as_ref().map(|d| d.stack.name.clone());
            let sink = crate::audit::AuditSink::new(log, crate::audit::who(command), stack)
                .for_instance(format!("{}/{}", instance.region, instance.name));
            target.client = target.client.audited(std::sync::Arc::new(sink));
        }
        let locks = match (write, &desired) {
            (Some(write), Some(desired)) => {
                let regions = BTreeSet::from([instance.region.clone()]);
                let taken = Coordinator::Local(LocalCoordinator::new(&write.lock.lock_dir))
                    .acquire(
                        &Shard::of(&desired.stack.name, &regions),
                        write.lock.lock_timeout,
                        &format!("kvsync {command}"),
                    )
                    .await;
                match taken {
                    Ok(locks) => Some(locks),
                    Err(err) => {
                        target.close().await;
                        return Err(err.into());
                    }
                }
            }
            _ => None,
        };
        let (stop_handle, stop) = apply::stop_pair();
        let signals = tokio::spawn(watch_signals(
            crate::signals::StopSignals::new(),
            stop_handle,
        ));
        Ok(Session {
            target,
            instance,
            stop,
            signals,
            _locks: locks,
            command,
        })
    }

    /// The client every call goes through.
    pub(super) fn client(&self) -> &Client {
        &self.target.client
    }

    /// How waits pace themselves: a stop (Ctrl-C) ends them.
    pub(super) fn pace(&self) -> Pace {
        Pace {
            poll: PollPolicy::default(),
            stop: self.stop.clone(),
        }
    }

    /// Asks `question` unless the write is approved already; a `no` is
    /// [`CommandError::Cancelled`].
    pub(super) async fn confirm(
        &self,
        approval: Approval,
        question: &str,
    ) -> Result<(), CommandError> {
        if approval == Approval::Ask && !ask(question, &self.stop).await {
            return Err(CommandError::Cancelled {
                command: self.command,
            });
        }
        Ok(())
    }

    /// Sends `request` to the instance's region.
    pub(super) async fn call<A: api::Action<Secrets = crate::secrets::Secret>>(
        &self,
        action: &'static str,
        request: &A,
    ) -> Result<A::Response, CommandError> {
        self.client()
            .call(&self.instance.region, request)
            .await
            .map_err(|source| CommandError::Api {
                action,
                instance: self.instance.to_string(),
                source,
            })
    }

    /// Waits until the instance is `Normal` again after `action`.
    pub(super) async fn wait_normal(
        &self,
        action: &'static str,
        timeout: Duration,
    ) -> Result<(), CommandError> {
        let pace = self.pace();
        let instance = &self.instance;
        wait_for(
            self.client(),
            &instance.region,
            &instance.instance_id,
            &WaitFor::Normal,
            timeout,
            &pace,
        )
        .await
        .map_err(|source| CommandError::Wait {
            action,
            instance: instance.to_string(),
            source,
        })
    }

    /// Ends the command: with `--json`, the JSON document (also for a failure); then closes the
    /// connection.
    pub(super) async fn finish(
        self,
        json: bool,
        result: Result<serde_json::Value, CliError>,
    ) -> Result<ExitStatus, CliError> {
        let status = match &result {
            Ok(_) => ExitStatus::Success,
            Err(err) => err.exit_status(),
        };
        let written = if json {
            let mut document = serde_json::json!({
                "format_version": PLAN_FORMAT_VERSION,
                "command": self.command,
                "instance": self.instance,
                "result": result.as_ref().ok(),
                "exit_code": status.code(),
            });
            if let Err(err) = &result {
                document["error"] = serde_json::Value::String(err.to_string());
            }
            crate::outln!("{document}")
        } else {
            Ok(())
        };
        self.signals.abort();
        self.target.close().await;
        result?;
        written?;
        Ok(status)
    }
}

/// First Ctrl-C or SIGTERM: stop waiting (a call already sent is not undone). Second: exit
/// now.
async fn watch_signals(
    signals: std::io::Result<crate::signals::StopSignals>,
    stop: apply::StopHandle,
) {
    let Ok(mut signals) = signals else {
        return;
    };
    signals.next().await;
    eprintln!(
        "\nstopping: a call already sent is not undone; kvsync stops waiting for it (press Ctrl-C again to exit at once)"
    );
    stop.stop();
    signals.next().await;
    eprintln!("exiting at once");
    std::process::exit(ExitStatus::Interrupted.code());
}

/// The manifest instance `given` names (`name` or `region/name`), found in its region.
async fn by_name(
    client: &Client,
    desired: &crate::manifest::Desired,
    given: &str,
) -> Result<Instance, CommandError> {
    let matching: Vec<_> = desired
        .instances
        .iter()
        .filter(|i| i.key.name == given || i.key.to_string() == given)
        .collect();
    let wanted = match matching.as_slice() {
        [] => {
            let names: Vec<String> = desired
                .instances
                .iter()
                .map(|i| i.key.to_string())
                .collect();
            return Err(CommandError::UnknownName {
                name: given.to_owned(),
                known: if names.is_empty() {
                    String::new()
                } else {
                    format!("; known: {}", names.join(", "))
                },
            });
        }
        [one] => *one,
        many => {
            return Err(CommandError::AmbiguousName {
                name: given.to_owned(),
                keys: many
                    .iter()
                    .map(|i| i.key.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    let region = &wanted.key.region;
    let listed = crate::observe::list_region(client, region)
        .await
        .map_err(|source| CommandError::List {
            name: wanted.key.name.clone(),
            region: region.clone(),
            source,
        })?;
    let found = |id: &str| Instance {
        region: region.clone(),
        name: wanted.key.name.clone(),
        instance_id: id.to_owned(),
    };
    if let Some(pinned) = &wanted.instance_id {
        return listed
            .iter()
            .find(|i| &i.id == pinned)
            .map(|i| found(&i.id))
            .ok_or_else(|| CommandError::PinnedMissing {
                key: wanted.key.to_string(),
                id: pinned.clone(),
                region: region.clone(),
            });
    }
    let named: Vec<_> = listed
        .iter()
        .filter(|i| {
            i.name == wanted.key.name && i.status != crate::values::InstanceStatus::Released
        })
        .collect();
    match named.as_slice() {
        [] => Err(CommandError::NotLive {
            key: wanted.key.to_string(),
            region: region.clone(),
            name: wanted.key.name.clone(),
        }),
        [one] => Ok(found(&one.id)),
        many => Err(CommandError::Duplicates {
            count: many.len(),
            name: wanted.key.name.clone(),
            region: region.clone(),
            ids: many
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The instance of ID `id` in `region`, checked with `DescribeInstanceAttribute`.
async fn by_id(client: &Client, region: &str, id: &str) -> Result<Instance, CommandError> {
    let unknown = || CommandError::UnknownId {
        id: id.to_owned(),
        region: region.to_owned(),
    };
    let id = id.trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(unknown());
    }
    let request = DescribeInstanceAttribute {
        instance_id: id.to_owned(),
    };
    let answer = match client.call(region, &request).await {
        Ok(answer) => answer,
        Err(err) if err.code() == Some("InvalidInstanceId.NotFound") => return Err(unknown()),
        Err(source) => {
            return Err(CommandError::Api {
                action: "DescribeInstanceAttribute",
                instance: id.to_owned(),
                source,
            });
        }
    };
    let attribute = answer
        .instances
        .db_instance_attribute
        .into_iter()
        .find(|a| a.instance_id == id)
        .ok_or_else(unknown)?;
    Ok(Instance {
        region: region.to_owned(),
        name: attribute.instance_name,
        instance_id: attribute.instance_id,
    })
}
