//! `kvsync backup INSTANCE`: a backup now, waited for until the cloud lists it as finished.

use clap::Args;

use super::instance::{self, CommandError, InstanceArgs, Session, WriteArgs};
use super::{CliError, ExitStatus, GlobalArgs};

/// Arguments of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The instance.
    #[command(flatten)]
    pub instance: InstanceArgs,
    /// Approval, waiting and locking.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// `CreateBackup`, then waits until `DescribeBackups` lists the job's set as finished.
pub async fn exec(global: &GlobalArgs, args: BackupArgs) -> Result<ExitStatus, CliError> {
    let approval = instance::approval(global, &args.instance, &args.write, "backup")?;
    let session = Session::open(global, &args.instance, Some(&args.write), "backup").await?;
    let json = args.instance.json;
    let result = async {
        let target = &session.instance;
        session
            .confirm(approval, &format!("Back up {target} now?"))
            .await?;
        if !json {
            crate::outln!("Backing up {target}...")?;
        }
        let taken = crate::apply::backup::take(
            session.client(),
            &target.region,
            &target.instance_id,
            args.write.timeout,
            &session.pace(),
        )
        .await
        .map_err(|source| CommandError::Backup {
            instance: target.to_string(),
            source,
        })?;
        if !json {
            crate::outln!(
                "Backup set {} of {target} is finished (job {}).",
                taken.backup_id,
                taken.job_id
            )?;
        }
        Ok::<_, CliError>(serde_json::json!({"backup_id": taken.backup_id, "job_id": taken.job_id}))
    }
    .await;
    session.finish(json, result).await
}
