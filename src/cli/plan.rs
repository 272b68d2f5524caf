//! `kvsync plan`: show what apply would change.

use std::io::IsTerminal;

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};
use crate::plan::render;
use crate::{env_vars, manifest, observe, plan};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Print the plan as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when there are changes (0 none, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// Whether human output may use colour: a terminal, and `NO_COLOR` unset or empty.
pub fn use_color() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os(env_vars::NO_COLOR).is_none_or(|value| value.is_empty())
}

/// Loads, observes, diffs and prints.
pub async fn exec(global: &GlobalArgs, args: PlanArgs) -> Result<ExitStatus, CliError> {
    let desired = manifest::load(&args.manifests.files, global.region.as_deref())?;
    let target = settings::connect(global).await?;
    let observed = observe::observe(&target.client, &desired).await;
    target.close().await;
    let plan = plan::diff(&desired, &observed?);
    if args.json {
        println!("{}", render::json(&plan));
    } else {
        print!("{}", render::text(&plan, use_color()));
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
