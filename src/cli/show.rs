//! `kvsync show PLANFILE`: render a plan saved by `plan --out`, with no cloud call.

use clap::Args;

use super::plan::use_color;
use super::{CliError, ExitStatus, GlobalArgs};
use crate::plan::render;

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan (from `kvsync plan --out FILE`).
    #[arg(value_name = "PLANFILE")]
    pub plan_file: std::path::PathBuf,
    /// Print the plan as JSON (the schema of `plan --json`).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as Markdown (for a pull-request comment).
    #[arg(long)]
    pub markdown: bool,
}

/// Reads the saved plan and prints it as `plan` would have; reads no manifest, credential or
/// cloud state.
pub fn exec(_global: &GlobalArgs, args: ShowArgs) -> Result<ExitStatus, CliError> {
    let saved = super::apply::read_saved_plan(&args.plan_file)?;
    if args.json {
        println!("{}", render::json(&saved.plan));
    } else if args.markdown {
        print!("{}", render::markdown(&saved.plan));
    } else {
        print!("{}", render::text(&saved.plan, use_color()));
    }
    Ok(ExitStatus::Success)
}
