//! `kvsync validate`: check manifests without contacting the cloud.

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs};

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

/// Loads and validates the manifests; prints the warnings and a one-line summary.
pub fn exec(global: &GlobalArgs, args: ValidateArgs) -> Result<ExitStatus, CliError> {
    let desired = super::load_manifests(global, &args.manifests)?;
    println!(
        "Manifests are valid: stack {:?}, {} instance{}.",
        desired.stack.name,
        desired.instances.len(),
        if desired.instances.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    Ok(ExitStatus::Success)
}
