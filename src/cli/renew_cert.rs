//! `kvsync renew-cert INSTANCE`: renews the TLS certificate of an instance with TLS on.

use clap::Args;

use super::instance::{self, CommandError, InstanceArgs, Session, WriteArgs};
use super::{CliError, ExitStatus, GlobalArgs};
use crate::api::actions::security::{DescribeInstanceSsl, ModifyInstanceSsl};

/// Arguments of `renew-cert`.
#[derive(Debug, Args)]
pub struct RenewCertArgs {
    /// The instance.
    #[command(flatten)]
    pub instance: InstanceArgs,
    /// Approval, waiting and locking.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// Checks TLS is on (`DescribeInstanceSSL`), sends `ModifyInstanceSSL` with `SSLEnabled=Update`,
/// then waits until the instance is `Normal` again.
pub async fn exec(global: &GlobalArgs, args: RenewCertArgs) -> Result<ExitStatus, CliError> {
    let approval = instance::approval(global, &args.instance, &args.write, "renew-cert")?;
    let session = Session::open(global, &args.instance, Some(&args.write), "renew-cert").await?;
    let json = args.instance.json;
    let result = async {
        let target = &session.instance;
        let describe = DescribeInstanceSsl {
            instance_id: target.instance_id.clone(),
        };
        let before = session.call("DescribeInstanceSSL", &describe).await?;
        if before.ssl_enabled != "Enable" {
            return Err(CommandError::TlsOff {
                instance: target.to_string(),
            }
            .into());
        }
        session
            .confirm(
                approval,
                &format!(
                    "Renew the TLS certificate of {target} (it restarts; the certificate expires {})?",
                    shown(&before.ssl_expired_time)
                ),
            )
            .await?;
        if !json {
            crate::outln!("Renewing the TLS certificate of {target}...")?;
        }
        let request = ModifyInstanceSsl {
            instance_id: target.instance_id.clone(),
            ssl_enabled: "Update".into(),
        };
        session.call("ModifyInstanceSSL", &request).await?;
        session
            .wait_normal("ModifyInstanceSSL", args.write.timeout)
            .await?;
        let after = session.call("DescribeInstanceSSL", &describe).await?;
        if !json {
            crate::outln!(
                "Renewed the TLS certificate of {target}: it expires {} (was {}).",
                shown(&after.ssl_expired_time),
                shown(&before.ssl_expired_time)
            )?;
        }
        Ok::<_, CliError>(serde_json::json!({
            "previous_expiry": before.ssl_expired_time,
            "expiry": after.ssl_expired_time,
        }))
    }
    .await;
    session.finish(json, result).await
}

/// An expiry time as shown, `unknown` when the cloud gives none.
fn shown(time: &str) -> &str {
    if time.is_empty() { "unknown" } else { time }
}
