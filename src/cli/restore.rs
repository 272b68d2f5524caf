//! `kvsync restore INSTANCE --backup ID | --time RFC3339`: overwrites an instance's data with a
//! backup set, or with its data at a point in time (destructive: `--allow-destroy`).

use clap::Args;
use jiff::Timestamp;

use super::instance::{self, InstanceArgs, Session, WriteArgs};
use super::{CliError, ExitStatus, GlobalArgs};
use crate::api::actions::backup::RestoreInstance;

/// Arguments of `restore`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["backup", "time"])))]
pub struct RestoreArgs {
    /// The instance.
    #[command(flatten)]
    pub instance: InstanceArgs,
    /// The backup set to restore (its ID, as `kvsync backups` lists it).
    #[arg(long, value_name = "ID")]
    pub backup: Option<u64>,
    /// Restore the data as it was at this time (RFC 3339, such as 2026-05-01T10:00:00Z; needs
    /// data flashback on the instance).
    #[arg(long, value_name = "RFC3339")]
    pub time: Option<Timestamp>,
    /// Allow overwriting the data (refused without it).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Approval, waiting and locking.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// `RestoreInstance`, then waits until the instance is `Normal` again.
pub async fn exec(global: &GlobalArgs, args: RestoreArgs) -> Result<ExitStatus, CliError> {
    instance::gate(args.allow_destroy, "overwrite the data of", &args.instance)?;
    let approval = instance::approval(global, &args.instance, &args.write, "restore")?;
    let session = Session::open(global, &args.instance, Some(&args.write), "restore").await?;
    let json = args.instance.json;
    let time = args
        .time
        .map(|at| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let (request, source, result) = match (&args.backup, &time) {
        (Some(backup), _) => (
            RestoreInstance {
                instance_id: session.instance.instance_id.clone(),
                backup_id: Some(backup.to_string()),
                restore_type: Some("0".into()),
                ..Default::default()
            },
            format!("backup set {backup}"),
            serde_json::json!({"backup_id": backup.to_string()}),
        ),
        (None, time) => (
            RestoreInstance {
                instance_id: session.instance.instance_id.clone(),
                restore_type: Some("1".into()),
                restore_time: time.clone(),
                ..Default::default()
            },
            format!("its data at {}", time.as_deref().unwrap_or_default()),
            serde_json::json!({"restore_time": time}),
        ),
    };
    let outcome = async {
        let target = &session.instance;
        session
            .confirm(
                approval,
                &format!("Overwrite every key of {target} with {source}?"),
            )
            .await?;
        if !json {
            crate::outln!("Restoring {target} from {source}...")?;
        }
        session.call("RestoreInstance", &request).await?;
        session
            .wait_normal("RestoreInstance", args.write.timeout)
            .await?;
        if !json {
            crate::outln!("Restored {target} from {source}.")?;
        }
        Ok::<_, CliError>(result)
    }
    .await;
    session.finish(json, outcome).await
}
