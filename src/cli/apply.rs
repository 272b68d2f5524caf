//! `kvsync apply`: change the cloud to match the manifests.
//!
//! A plan with steps is applied only once approved: `--auto-approve`, a saved PLANFILE (it was
//! reviewed when it was saved), `--emulator` (a local stand-in with nothing at stake), or the
//! answer `yes` on a terminal. Without any of these, apply refuses before its first call.

use std::io::IsTerminal;

use clap::Args;

use super::plan::{read_secrets, use_color};
use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};
use std::collections::BTreeSet;

use super::progress::Mode;
use crate::apply::secrets::{Checked, Need};
use crate::apply::{self, ApplyOptions, Report};
use crate::coordination::{self, Coordinator, Guard, Shard};
use crate::plan::Plan;
use crate::plan::model::{BlockedKind, PLAN_FORMAT_VERSION, When};
use crate::plan::saved::SavedPlan;
use crate::plan::{DiffOptions, render};
use crate::since::Narrowed;
use crate::{journal, manifest, session};

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
    /// Run restart-class steps now that the policy `window` would hold until the instance's
    /// maintenance window or leave to the cloud to schedule (the policy `never` still holds).
    #[arg(long)]
    pub now: bool,
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
    /// Coordination with runs on other machines.
    #[command(flatten)]
    pub coordination: super::CoordinationArgs,
    /// The audit log of write calls (none unless --audit-log is given).
    #[command(flatten)]
    pub audit: super::AuditLogArgs,
    /// Apply without asking for confirmation (needed off a terminal, unless a PLANFILE is
    /// given or `--emulator` is used).
    #[arg(long)]
    pub auto_approve: bool,
    /// Print the plan, each progress event and the report as JSON, one object per line
    /// (schema in the README); needs the same approval as off a terminal.
    #[arg(long)]
    pub json: bool,
}

/// How a write gets its approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Approval {
    /// Approved already: `--auto-approve`, a saved plan, or `--emulator`.
    Given,
    /// Ask on the terminal after showing the plan.
    Ask,
}

/// The message of an apply that cannot ask and was not approved.
const NEEDS_APPROVAL: &str = "error: refusing to apply without approval: stdin is not a terminal, so there is no one to ask.
Re-run with --auto-approve, or save the plan with `kvsync plan --out FILE`, review it, and apply it with `kvsync apply FILE` (a saved plan needs no further approval).";

/// The message of `apply --json` without approval.
const JSON_NEEDS_APPROVAL: &str = "error: apply --json does not ask for confirmation: add --auto-approve, or apply a saved plan with `kvsync apply --json FILE`.";

/// Why a write that needs approval cannot get it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unapproved {
    /// Stdin is not a terminal, so there is no one to ask.
    NoTerminal,
    /// `--json` never asks.
    Json,
}

/// Decides how a write is approved, or why it cannot be (then it is refused before any
/// call): `approved` already (`--auto-approve`, a saved plan), `--emulator`, or asked on a
/// terminal, except with `--json`.
pub(super) fn decide(
    global: &GlobalArgs,
    approved: bool,
    json: bool,
    stdin_terminal: bool,
) -> Result<Approval, Unapproved> {
    if approved || global.emulator {
        Ok(Approval::Given)
    } else if json {
        Err(Unapproved::Json)
    } else if stdin_terminal {
        Ok(Approval::Ask)
    } else {
        Err(Unapproved::NoTerminal)
    }
}

/// Decides how the plan is approved, or refuses (before any call).
fn approval(
    global: &GlobalArgs,
    args: &ApplyArgs,
    stdin_terminal: bool,
) -> Result<Approval, &'static str> {
    let approved = args.auto_approve || args.plan_file.is_some();
    decide(global, approved, args.json, stdin_terminal).map_err(|why| match why {
        Unapproved::Json => JSON_NEEDS_APPROVAL,
        Unapproved::NoTerminal => NEEDS_APPROVAL,
    })
}

/// Asks on the terminal whether to apply `plan`: only `yes` is accepted. A stop (Ctrl-C) while
/// asking is a no.
async fn confirm(plan: &Plan, stop: &apply::StopSignal) -> bool {
    let summary = plan.summary();
    let instances = plan
        .instances
        .iter()
        .filter(|i| !i.steps.is_empty())
        .count();
    let question = format!(
        "Apply {} step{} to {} instance{}?",
        summary.steps,
        if summary.steps == 1 { "" } else { "s" },
        instances,
        if instances == 1 { "" } else { "s" },
    );
    ask(&question, stop).await
}

/// Prints `question` and reads the answer on the terminal: only `yes` is accepted. A stop
/// (Ctrl-C) while asking is a no.
pub(super) async fn ask(question: &str, stop: &apply::StopSignal) -> bool {
    print!("\n{question} Only 'yes' will be accepted: ");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    tokio::select! {
        answer = answer => matches!(answer, Ok(Ok(line)) if line.trim() == "yes"),
        () = stop.stopped() => false,
    }
}

/// Plans, applies, then observes again to confirm convergence.
pub async fn exec(global: &GlobalArgs, args: ApplyArgs) -> Result<ExitStatus, CliError> {
    if args.parallelism == Some(0) {
        return Err(CliError::Usage("--parallelism must be at least 1".into()));
    }
    if args.now && args.plan_file.is_some() {
        return Err(CliError::Usage(
            "--now does not change a saved plan: plan again with `kvsync plan --now --out FILE`"
                .into(),
        ));
    }
    let approval = match approval(global, &args, std::io::stdin().is_terminal()) {
        Ok(approval) => approval,
        Err(message) => {
            eprintln!("{message}");
            return Ok(ExitStatus::Failure);
        }
    };
    let whole = super::load_manifests(global, &args.manifests)?.scoped(&args.scope.scope())?;
    // A saved plan of the changes since a ref (`plan --changed-since --out`) is checked
    // against the same part of the stack it was made from, read the same way.
    let narrowed = match &args.plan_file {
        Some(path) => read_saved_plan(path)?
            .plan
            .scope
            .map(|scope| Narrowed::new(scope, &whole)),
        None => None,
    };
    let desired = narrowed.as_ref().map_or(&whole, |n| &n.desired);
    let checked = read_secrets(desired, Need::Required)?;
    let audit = args.audit.sink(
        None,
        crate::audit::who("apply"),
        Some(desired.stack.name.clone()),
    )?;
    let mut target = settings::connect_for(global, Some(&desired.stack)).await?;
    if let Some(audit) = audit {
        target.client = target.client.audited(audit);
    }
    let (stop_handle, stop) = apply::stop_pair();
    let signals = tokio::spawn(watch_signals(
        crate::signals::StopSignals::new(),
        stop_handle,
    ));
    let result = run(
        &target,
        desired,
        narrowed.as_ref(),
        checked,
        &args,
        approval,
        &stop,
    )
    .await;
    signals.abort();
    target.close().await;
    result
}

/// First Ctrl-C or SIGTERM: stop starting steps (calls in flight finish). Second: exit now.
/// Without signal handlers (`signals` failed) the signals keep their default action.
async fn watch_signals(
    signals: std::io::Result<crate::signals::StopSignals>,
    stop: apply::StopHandle,
) {
    let Ok(mut signals) = signals else {
        return;
    };
    signals.next().await;
    eprintln!(
        "\nstopping: no new step starts; calls in flight finish (press Ctrl-C again to exit at once)"
    );
    stop.stop();
    signals.next().await;
    eprintln!("exiting at once");
    std::process::exit(ExitStatus::Interrupted.code());
}

/// Reads a plan saved by `plan --out`.
pub(super) fn read_saved_plan(path: &std::path::Path) -> Result<SavedPlan, CliError> {
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
    narrowed: Option<&Narrowed>,
    checked: Checked,
    args: &ApplyArgs,
    approval: Approval,
    stop: &apply::StopSignal,
) -> Result<ExitStatus, CliError> {
    // One writer per stack and region on this machine, from before the observation until after
    // the last one; the seeds of an unfinished run are taken over, so its tokens are sent again.
    let regions: BTreeSet<String> = desired.regions().into_iter().collect();
    let coordinator = Coordinator::new(&coordination::Settings {
        mechanism: args.coordination.coordination.clone(),
        lock_dir: args.lock.lock_dir.clone(),
        ttl: args.coordination.coordination_ttl,
    });
    let held = coordinator
        .acquire(
            &Shard::of(&desired.stack.name, &regions),
            args.lock.lock_timeout,
            "kvsync apply",
        )
        .await?;
    // Shared with the executor, which checks it before every write call.
    let held = std::sync::Arc::new(held);
    let result = held_run(
        target, desired, narrowed, checked, args, approval, stop, &regions, &held,
    )
    .await;
    // Every task of the run has ended, so this is the last reference (else dropping it
    // releases the shards as well).
    if let Ok(held) = std::sync::Arc::try_unwrap(held) {
        held.release().await;
    }
    result
}

/// [`run`] once the shards are held.
#[allow(clippy::too_many_arguments)]
async fn held_run(
    target: &settings::Target,
    desired: &manifest::Desired,
    narrowed: Option<&Narrowed>,
    checked: Checked,
    args: &ApplyArgs,
    approval: Approval,
    stop: &apply::StopSignal,
    regions: &BTreeSet<String>,
    held: &std::sync::Arc<Guard>,
) -> Result<ExitStatus, CliError> {
    let json = args.json;
    let seeds = journal::begin(
        &args.lock.lock_dir,
        &desired.stack.name,
        regions,
        jiff::Timestamp::now(),
        rand::random,
    )?;
    let zone = jiff::tz::TimeZone::system();
    let diff_options = DiffOptions {
        prune_all: args.prune_all,
        seeds: &seeds,
        zone: &zone,
        now_overrides_window: args.now,
        partial: narrowed.and_then(Narrowed::partial),
        ..DiffOptions::default()
    };
    let lookup = narrowed.and_then(Narrowed::lookup);
    let session::Planned {
        observed,
        plan: fresh,
        resolved,
    } = session::plan(&target.client, desired, checked, diff_options, lookup).await?;
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
    // What was observed is not needed again: the check after the run observes afresh.
    drop(observed);
    if json {
        emit_json(&serde_json::json!({
            "format_version": PLAN_FORMAT_VERSION,
            "type": "plan",
            "plan": render::json_value(&plan),
        }));
    } else {
        print!("{}", render::text(&plan, use_color()));
    }
    if runnable_steps(&plan) == 0 {
        journal::finish(&args.lock.lock_dir, &desired.stack.name, regions)?;
        return Ok(finish(json, None, &plan));
    }
    let options = ApplyOptions {
        allow_destroy: args.allow_destroy,
        allow_irreversible: args.allow_irreversible,
        parallelism: args
            .parallelism
            .or(desired.stack.parallelism.map(|p| p as usize))
            .unwrap_or(8),
        fence: Some(held.clone()),
        ..ApplyOptions::default()
    };
    // Refuse a gated plan before asking, so no one approves what will not run.
    apply::check_gates(&plan, &options)?;
    apply::check_secrets(&plan, &resolved.values)?;
    if approval == Approval::Ask && !confirm(&plan, stop).await {
        println!("\nApply cancelled.");
        return Ok(ExitStatus::Failure);
    }
    let (fence, fence_stop) = apply::stop_pair();
    // Fencing: no write once the hold is gone.
    if !held.still_held(None).await {
        return Err(coordination::CoordinationError::Lost.into());
    }
    if !json {
        println!("\nApplying...");
    }
    if stop.is_set() {
        if !json {
            println!("Stopped on request before any change.");
        }
        return Ok(ExitStatus::Interrupted);
    }
    let mode = if json {
        Mode::Json
    } else if std::io::stdout().is_terminal() {
        Mode::Board
    } else {
        Mode::Lines
    };
    let (progress, display) = super::progress::display(mode, super::progress::heartbeat_period());
    let (report, lost) = fenced(
        apply::execute(
            &target.client,
            &plan,
            &options,
            &resolved.values,
            progress,
            fence_stop,
        ),
        &fence,
        stop,
        held,
    )
    .await;
    display.finish();
    let report = report?;
    if !json {
        println!("\n{}", report.text().trim_end());
    }
    // The executor's own check before each call may have found it first.
    let lost = lost || !held.still_held(None).await;
    if lost {
        return Err(coordination::CoordinationError::Lost.into());
    }
    if report.stopped {
        if json {
            emit_report(&report, None, &[], ExitStatus::Interrupted);
        }
        return Ok(ExitStatus::Interrupted);
    }
    if !report.has_failures() {
        journal::finish(&args.lock.lock_dir, &desired.stack.name, regions)?;
    }

    // The plan that ran is done with; the check below builds its own.
    drop(plan);
    let (_, remaining) =
        session::replan(&target.client, desired, resolved, diff_options, lookup).await?;
    let left = runnable_steps(&remaining);
    if left > 0 {
        if json {
            emit_report(
                &report,
                Some(left),
                &blocked_lines(&remaining),
                ExitStatus::Failure,
            );
        } else {
            println!("\nNot converged: {left} step(s) still needed:");
            print!("{}", render::text(&remaining, use_color()));
        }
        return Ok(ExitStatus::Failure);
    }
    Ok(finish(json, Some(&report), &remaining))
}

/// How often a running apply checks that it still holds its shards.
const FENCE_PERIOD: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `execute` (whose stop signal `fence` sets) while checking the hold every
/// [`FENCE_PERIOD`]: a stop asked of the run, or a hold found lost, stops new steps (calls in
/// flight finish). Returns the run's result and whether the hold was lost.
async fn fenced<F: std::future::Future>(
    execute: F,
    fence: &apply::StopHandle,
    stop: &apply::StopSignal,
    held: &Guard,
) -> (F::Output, bool) {
    tokio::pin!(execute);
    let mut stopped = false;
    let mut lost = false;
    loop {
        tokio::select! {
            output = &mut execute => return (output, lost),
            () = stop.stopped(), if !stopped => {
                stopped = true;
                fence.stop();
            }
            () = tokio::time::sleep(FENCE_PERIOD), if !stopped => {
                if !held.still_held(None).await {
                    eprintln!("\nthe hold on the stack was lost: no new step starts; calls in flight finish");
                    lost = true;
                    stopped = true;
                    fence.stop();
                }
            }
        }
    }
}

/// Steps of `plan` that apply sends in this run (held ones aside).
fn runnable_steps(plan: &Plan) -> usize {
    plan.instances
        .iter()
        .flat_map(|i| &i.steps)
        .filter(|s| s.when.runs_now())
        .count()
}

/// Writes one JSON line on stdout.
fn emit_json(value: &serde_json::Value) {
    println!("{}", render::json_line(value));
}

/// The last line of `apply --json`: what was done, what is left, and the exit code.
fn emit_report(report: &Report, left: Option<usize>, blocked: &[Blocked], status: ExitStatus) {
    emit_json(&serde_json::json!({
        "format_version": PLAN_FORMAT_VERSION,
        "type": "report",
        "time": super::progress::timestamp(jiff::Timestamp::now()),
        "report": report,
        "remaining_steps": left,
        "converged": left == Some(0) && blocked.is_empty() && !report.has_failures(),
        "blocked": blocked,
        "exit_code": status.code(),
    }));
}

/// Ends a run whose plan has no step left: the verdict in words, or the report line in JSON.
fn finish(json: bool, report: Option<&Report>, remaining: &Plan) -> ExitStatus {
    let failed = report.is_some_and(Report::has_failures);
    let blocked = blocked_lines(remaining);
    let status = if failed {
        ExitStatus::Failure
    } else if blocked.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Blocked
    };
    if json {
        emit_report(
            report.unwrap_or(&Report::default()),
            Some(0),
            &blocked,
            status,
        );
    } else {
        let scheduled = scheduled_lines(remaining);
        if scheduled.is_empty() || !blocked.is_empty() {
            converged_or_blocked(&blocked);
        }
        if !scheduled.is_empty() {
            println!(
                "{}Ordered for the cloud to make in the maintenance window:",
                if blocked.is_empty() {
                    "Done: every other change is made. "
                } else {
                    ""
                }
            );
        }
        for s in scheduled {
            println!("  ~ {} {}: {}", s.instance, s.field, s.reason);
        }
    }
    status
}

/// A difference kvsync will not change now, as the report lists it.
#[derive(Debug, serde::Serialize)]
struct Blocked {
    instance: String,
    field: String,
    reason: String,
    /// `held`: a step that waits for the maintenance window (or the policy `never`);
    /// `blocked`: a difference kvsync does not make; `scheduled`: the cloud makes it in the
    /// window.
    kind: &'static str,
}

/// The differences of `plan` kvsync will not change now: blocked ones, and steps held for
/// the maintenance window or by the policy `never` (named with when they run).
fn blocked_lines(plan: &Plan) -> Vec<Blocked> {
    report_lines(
        plan,
        |step| !step.when.runs_now(),
        BlockedKind::Drift,
        ("held", "blocked"),
    )
}

/// Changes the cloud has been ordered to make in the maintenance window: steps sent as
/// `MaintainTime` and orders found pending.
fn scheduled_lines(plan: &Plan) -> Vec<Blocked> {
    report_lines(
        plan,
        |step| matches!(step.when, When::Cloud { .. }),
        BlockedKind::Scheduled,
        ("scheduled", "scheduled"),
    )
}

/// Per instance, the steps `step_matches` selects (named by action, with when they run) and
/// then the notes of kind `note_kind`; `kinds` labels the two.
fn report_lines(
    plan: &Plan,
    step_matches: impl Fn(&crate::plan::Step) -> bool,
    note_kind: BlockedKind,
    kinds: (&'static str, &'static str),
) -> Vec<Blocked> {
    let mut lines = Vec::new();
    for instance in &plan.instances {
        let name = instance.key.to_string();
        for step in instance.steps.iter().filter(|s| step_matches(s)) {
            lines.push(Blocked {
                instance: name.clone(),
                field: step.request.name().to_owned(),
                reason: step.when.describe(),
                kind: kinds.0,
            });
        }
        for note in instance.blocked.iter().filter(|b| b.kind == note_kind) {
            lines.push(Blocked {
                instance: name.clone(),
                field: note.field.clone(),
                reason: note.reason.clone(),
                kind: kinds.1,
            });
        }
    }
    lines
}

/// For a plan with no step left: says whether the cloud matches the manifests, or names each
/// difference kvsync will not change and why (exit status 3).
fn converged_or_blocked(blocked: &[Blocked]) {
    if blocked.is_empty() {
        println!("Converged: the cloud matches the manifests.");
        return;
    }
    let held = blocked.iter().filter(|b| b.kind == "held").count();
    let refused = blocked.len() - held;
    if refused > 0 {
        println!(
            "\nNot converged: {refused} difference{} kvsync will not change:",
            if refused == 1 { "" } else { "s" }
        );
        for b in blocked.iter().filter(|b| b.kind != "held") {
            println!("  ! {} {}: {}", b.instance, b.field, b.reason);
        }
    }
    if held > 0 {
        println!(
            "\nNot converged yet: {held} step{} held, each until the time shown (`apply --now` runs the ones waiting for a window at once):",
            if held == 1 { "" } else { "s" },
        );
        for b in blocked.iter().filter(|b| b.kind == "held") {
            println!("  > {} {}: {}", b.instance, b.field, b.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn decide(args: &[&str], terminal: bool) -> Result<Approval, &'static str> {
        let (global, command) = Cli::try_parse_from(args).unwrap().resolve().unwrap();
        match command {
            Command::Apply(apply) => approval(&global, &apply.args, terminal),
            _ => unreachable!("not apply"),
        }
    }

    #[test]
    fn approval_comes_from_a_flag_a_saved_plan_the_emulator_or_a_terminal() {
        let endpoint = ["kvsync", "--endpoint", "http://127.0.0.1:1", "apply"];
        assert_eq!(decide(&endpoint, true), Ok(Approval::Ask));
        assert_eq!(decide(&endpoint, false), Err(NEEDS_APPROVAL));
        let auto = [&endpoint[..], &["--auto-approve"]].concat();
        assert_eq!(decide(&auto, false), Ok(Approval::Given));
        let saved = [&endpoint[..], &["plan.json"]].concat();
        assert_eq!(decide(&saved, false), Ok(Approval::Given));
        assert_eq!(
            decide(&["kvsync", "apply", "--emulator"], false),
            Ok(Approval::Given)
        );
        let json = [&endpoint[..], &["--json"]].concat();
        assert_eq!(decide(&json, true), Err(JSON_NEEDS_APPROVAL));
        let json_auto = [&json[..], &["--auto-approve"]].concat();
        assert_eq!(decide(&json_auto, false), Ok(Approval::Given));
    }
}
