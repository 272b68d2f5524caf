//! `kvsync apply`: change the cloud to match the manifests.

use std::sync::Arc;

use clap::Args;

use super::plan::use_color;
use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};
use crate::apply::{self, ApplyOptions};
use crate::plan::render;
use crate::{manifest, observe, plan};

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Allow destructive steps (DeleteInstance).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Allow irreversible steps.
    #[arg(long)]
    pub allow_irreversible: bool,
    /// Instances changed at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub parallelism: usize,
}

/// Plans, applies, then observes again to confirm convergence.
pub async fn exec(global: &GlobalArgs, args: ApplyArgs) -> Result<ExitStatus, CliError> {
    if args.parallelism == 0 {
        return Err(CliError::Usage("--parallelism must be at least 1".into()));
    }
    let desired = manifest::load(&args.manifests.files, global.region.as_deref())?;
    let target = settings::connect(global).await?;
    let result = run(&target, &desired, &args).await;
    target.close().await;
    result
}

async fn run(
    target: &settings::Target,
    desired: &manifest::Desired,
    args: &ApplyArgs,
) -> Result<ExitStatus, CliError> {
    let observed = observe::observe(&target.client, desired).await?;
    let plan = plan::diff(desired, &observed);
    print!("{}", render::text(&plan, use_color()));
    if plan.summary().steps == 0 {
        return Ok(ExitStatus::Success);
    }
    let options = ApplyOptions {
        allow_destroy: args.allow_destroy,
        allow_irreversible: args.allow_irreversible,
        parallelism: args.parallelism,
        ..ApplyOptions::default()
    };
    println!("\nApplying...");
    let progress: apply::Progress = Arc::new(|key, message| println!("  {key}: {message}"));
    let env = |name: &str| std::env::var(name).ok();
    let report = apply::execute(&target.client, &plan, &options, &env, progress).await?;
    println!("\n{}", report.text().trim_end());

    let after = observe::observe(&target.client, desired).await?;
    let remaining = plan::diff(desired, &after);
    let left = remaining.summary().steps;
    if left > 0 {
        println!("\nNot converged: {left} step(s) still needed:");
        print!("{}", render::text(&remaining, use_color()));
    } else {
        println!("Converged: the cloud matches the manifests.");
    }
    Ok(if report.has_failures() || left > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
