//! `kvsync apply`: change the cloud to match the manifests.

use std::io::IsTerminal;

use clap::Args;

use super::plan::{first_plan, observe_and_plan, read_secrets, use_color};
use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};
use std::collections::BTreeSet;

use crate::apply::{self, ApplyOptions};
use crate::plan::Plan;
use crate::plan::model::BlockedKind;
use crate::plan::saved::SavedPlan;
use crate::plan::{DiffOptions, render};
use crate::secrets::{Checked, Need};
use crate::{journal, lock, manifest};

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Apply this saved plan (from `plan --out`) instead of planning now; refused if the cloud
    /// or the secrets changed since.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<std::path::PathBuf>,
    /// Allow destructive steps (DeleteInstance).
    #[arg(long)]
    pub allow_destroy: bool,
    /// Allow irreversible steps.
    #[arg(long)]
    pub allow_irreversible: bool,
    /// Instances changed at once (default: the Stack's `parallelism`, else 8).
    #[arg(long, value_name = "N", value_parser = super::values::parallelism, allow_hyphen_values = true)]
    pub parallelism: Option<usize>,
    /// Which instances.
    #[command(flatten)]
    pub scope: super::ScopeArgs,
    /// Let pruning delete every instance of the stack at once.
    #[arg(long)]
    pub prune_all: bool,
    /// Locking against other runs on this machine.
    #[command(flatten)]
    pub lock: super::LockArgs,
}

/// Plans, applies, then observes again to confirm convergence.
pub async fn exec(global: &GlobalArgs, args: ApplyArgs) -> Result<ExitStatus, CliError> {
    if args.parallelism == Some(0) {
        return Err(CliError::Usage("--parallelism must be at least 1".into()));
    }
    let desired = super::load_manifests(global, &args.manifests)?.scoped(&args.scope.scope())?;
    let checked = read_secrets(&desired, Need::Required)?;
    let target = settings::connect_for(global, Some(&desired.stack)).await?;
    let (stop_handle, stop) = apply::stop_pair();
    let signals = tokio::spawn(watch_signals(stop_handle));
    let result = run(&target, &desired, checked, &args, &stop).await;
    signals.abort();
    target.close().await;
    result
}

/// First Ctrl-C or SIGTERM: stop starting steps (calls in flight finish). Second: exit now.
async fn watch_signals(stop: apply::StopHandle) {
    if shutdown_signal().await.is_err() {
        return;
    }
    eprintln!(
        "\nstopping: no new step starts; calls in flight finish (press Ctrl-C again to exit at once)"
    );
    stop.stop();
    if shutdown_signal().await.is_ok() {
        eprintln!("exiting at once");
        std::process::exit(ExitStatus::Interrupted.code());
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

fn read_saved_plan(path: &std::path::Path) -> Result<SavedPlan, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::PlanFile {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CliError::PlanFormat {
        path: path.to_owned(),
        source,
    })
}

async fn run(
    target: &settings::Target,
    desired: &manifest::Desired,
    checked: Checked,
    args: &ApplyArgs,
    stop: &apply::StopSignal,
) -> Result<ExitStatus, CliError> {
    // One writer per stack and region on this machine, from before the observation until after
    // the last one; the seeds of an unfinished run are taken over, so its tokens are sent again.
    let regions: BTreeSet<String> = desired.regions().into_iter().collect();
    let _locks = lock::acquire(
        &args.lock.lock_dir,
        &desired.stack.name,
        &regions,
        args.lock.lock_timeout,
        "kvsync apply",
    )
    .await?;
    let seeds = journal::begin(
        &args.lock.lock_dir,
        &desired.stack.name,
        &regions,
        jiff::Timestamp::now(),
        rand::random,
    )?;
    let diff_options = DiffOptions {
        prune_all: args.prune_all,
        seeds: &seeds,
    };
    let (observed, fresh, resolved) = first_plan(target, desired, checked, diff_options).await?;
    let resolved = &resolved;
    let plan = match &args.plan_file {
        None => fresh,
        Some(path) => {
            let saved = read_saved_plan(path)?;
            saved
                .check_fresh(&desired.stack.name, &observed, &resolved.digests)
                .map_err(|source| CliError::Stale {
                    path: path.clone(),
                    source,
                })?;
            saved.plan
        }
    };
    print!("{}", render::text(&plan, use_color()));
    if plan.summary().steps == 0 {
        journal::finish(&args.lock.lock_dir, &desired.stack.name, &regions)?;
        return Ok(converged_or_blocked(&plan));
    }
    let options = ApplyOptions {
        allow_destroy: args.allow_destroy,
        allow_irreversible: args.allow_irreversible,
        parallelism: args
            .parallelism
            .or(desired.stack.parallelism.map(|p| p as usize))
            .unwrap_or(8),
        ..ApplyOptions::default()
    };
    println!("\nApplying...");
    if stop.is_set() {
        println!("Stopped on request before any change.");
        return Ok(ExitStatus::Interrupted);
    }
    let (progress, board) = super::progress::display(std::io::stdout().is_terminal());
    let report = apply::execute(
        &target.client,
        &plan,
        &options,
        &resolved.values,
        progress,
        stop.clone(),
    )
    .await;
    if let Some(board) = board {
        board.finish();
    }
    let report = report?;
    println!("\n{}", report.text().trim_end());
    if report.stopped {
        return Ok(ExitStatus::Interrupted);
    }
    if !report.has_failures() {
        journal::finish(&args.lock.lock_dir, &desired.stack.name, &regions)?;
    }

    let (_, remaining) = observe_and_plan(target, desired, resolved, diff_options).await?;
    let left = remaining.summary().steps;
    if left > 0 {
        println!("\nNot converged: {left} step(s) still needed:");
        print!("{}", render::text(&remaining, use_color()));
        return Ok(ExitStatus::Failure);
    }
    let status = converged_or_blocked(&remaining);
    Ok(if report.has_failures() {
        ExitStatus::Failure
    } else {
        status
    })
}

/// For a plan with no step left: says whether the cloud matches the manifests, or names each
/// difference kvsync will not change and why (exit status 3).
fn converged_or_blocked(plan: &Plan) -> ExitStatus {
    let blocked: Vec<String> = plan
        .instances
        .iter()
        .flat_map(|instance| {
            instance
                .blocked
                .iter()
                .filter(|b| b.kind == BlockedKind::Drift)
                .map(move |b| format!("  ! {} {}: {}", instance.key, b.field, b.reason))
        })
        .collect();
    if blocked.is_empty() {
        println!("Converged: the cloud matches the manifests.");
        return ExitStatus::Success;
    }
    println!(
        "\nNot converged: {} difference{} kvsync will not change:",
        blocked.len(),
        if blocked.len() == 1 { "" } else { "s" }
    );
    for line in blocked {
        println!("{line}");
    }
    ExitStatus::Blocked
}
