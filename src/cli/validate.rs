//! `kvsync validate`: check manifests without contacting the cloud.

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs};
use crate::manifest;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

/// Loads and validates the manifests; prints a one-line summary.
pub fn exec(global: &GlobalArgs, args: ValidateArgs) -> Result<ExitStatus, CliError> {
    let desired = manifest::load(&args.manifests.files, global.region.as_deref())?;
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
