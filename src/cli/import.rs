//! `kvsync import`: write manifests for existing instances.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, settings};
use crate::import::{self, DEFAULT_OUT, Options};
use crate::manifest::rules::region_problem;

/// Arguments of `import` (the region comes from `--region`).
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Import only this instance (repeatable); default: every instance of the region.
    #[arg(long = "instance", value_name = "ID")]
    pub instances: Vec<String>,
    /// Directory to write `<name>.yaml` files to (created when missing).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// Imports and prints the files written.
pub async fn exec(global: &GlobalArgs, args: ImportArgs) -> Result<ExitStatus, CliError> {
    let Some(region) = global.region.clone() else {
        return Err(CliError::Usage(
            "import needs --region: the region whose instances to import".into(),
        ));
    };
    if let Some(problem) = region_problem(&region) {
        return Err(CliError::Usage(format!("--region {problem}")));
    }
    let options = Options {
        region,
        instances: args.instances,
        out: args.out,
        force: args.force,
    };
    let target = settings::connect(global).await?;
    let result = import::import(&target.client, &options).await;
    target.close().await;
    let written = result?;
    if written.is_empty() {
        crate::outln!(
            "No instances in region {}; nothing written.",
            options.region
        )?;
        return Ok(ExitStatus::Success);
    }
    crate::outln!(
        "Imported {} instance{} of {} into {}:",
        written.len(),
        if written.len() == 1 { "" } else { "s" },
        options.region,
        options.out.display()
    )?;
    let width = written
        .iter()
        .map(|w| w.path.display().to_string().chars().count())
        .max()
        .unwrap_or(0);
    for file in &written {
        let path = file.path.display().to_string();
        let note = match file.left_out {
            0 => String::new(),
            n => format!(
                "  ({n} part{} left unmanaged; see the comments)",
                if n == 1 { "" } else { "s" }
            ),
        };
        crate::outln!("  {path:<width$}  {}{note}", file.id)?;
    }
    crate::outln!(
        "`kvsync plan -f {}` reports no changes for them. Passwords cannot be read: each file shows how to manage them.",
        options.out.display()
    )?;
    Ok(ExitStatus::Success)
}
