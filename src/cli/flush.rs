//! `kvsync flush INSTANCE`: erases every key of an instance (destructive: `--allow-destroy`).

use clap::Args;

use super::instance::{self, InstanceArgs, Session, WriteArgs};
use super::{CliError, ExitStatus, GlobalArgs};
use crate::api::actions::manage::FlushInstance;

/// Arguments of `flush`.
#[derive(Debug, Args)]
pub struct FlushArgs {
    /// The instance.
    #[command(flatten)]
    pub instance: InstanceArgs,
    /// Allow erasing the data (refused without it).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Approval, waiting and locking.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// `FlushInstance`, then waits until the instance is `Normal` again.
pub async fn exec(global: &GlobalArgs, args: FlushArgs) -> Result<ExitStatus, CliError> {
    instance::gate(args.allow_destroy, "flush every key of", &args.instance)?;
    let approval = instance::approval(global, &args.instance, &args.write, "flush")?;
    let session = Session::open(global, &args.instance, Some(&args.write), "flush").await?;
    let json = args.instance.json;
    let result = async {
        let target = &session.instance;
        session
            .confirm(approval, &format!("Flush every key of {target}?"))
            .await?;
        if !json {
            crate::outln!("Flushing {target}...")?;
        }
        let request = FlushInstance {
            instance_id: target.instance_id.clone(),
        };
        session.call("FlushInstance", &request).await?;
        session
            .wait_normal("FlushInstance", args.write.timeout)
            .await?;
        if !json {
            crate::outln!("Flushed {target}: every key is erased.")?;
        }
        Ok::<_, CliError>(serde_json::json!({"flushed": true}))
    }
    .await;
    session.finish(json, result).await
}
