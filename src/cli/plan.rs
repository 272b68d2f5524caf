//! `kvsync plan`: show what apply would change.

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};
use crate::apply::secrets::{self, Checked, Need};
use crate::manifest::Desired;
use crate::observe::Observed;
use crate::plan::model::PLAN_FORMAT_VERSION;
use crate::plan::saved::SavedPlan;
use crate::plan::{DiffOptions, Digests, Plan, render};
use crate::since::{self, Narrowed};
use crate::{journal, session};

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Print the plan as JSON (schema in the README).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the plan as Markdown (for a pull-request comment).
    #[arg(long)]
    pub markdown: bool,
    /// Exit 2 when there are changes (0 none, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Which instances.
    #[command(flatten)]
    pub scope: super::ScopeArgs,
    /// Plan only the instances whose manifests (or attached Account and Whitelist documents)
    /// differ between the git ref REF and the working tree, reading only those from the cloud;
    /// instances removed since REF may be pruned, no others. A changed Stack document plans
    /// everything. The plan says what it covers.
    #[arg(long, value_name = "REF", conflicts_with_all = ["targets", "excludes"])]
    pub changed_since: Option<String>,
    /// Let pruning delete every instance of the stack at once.
    #[arg(long)]
    pub prune_all: bool,
    /// Plan restart-class steps that the policy `window` would hold or schedule for the
    /// maintenance window as running at once (what `apply --now` would do).
    #[arg(long)]
    pub now: bool,
    /// Also save the plan to FILE, for `kvsync apply FILE`.
    #[arg(long, value_name = "FILE", value_parser = plan_file)]
    pub out: Option<std::path::PathBuf>,
    /// Not a flag: refused with a hint to use --json (clap would suggest --out).
    #[arg(long, hide = true, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "", value_parser = no_output)]
    pub output: Option<String>,
}

/// Whether human output on stdout may use colour ([`super::color::stdout`]).
pub fn use_color() -> bool {
    super::color::stdout()
}

/// `--out FILE`: refuses a name that is a format (`--out json`), which would write a file
/// of that name when `--json` was meant.
fn plan_file(text: &str) -> Result<std::path::PathBuf, String> {
    let hint = match text.to_ascii_lowercase().as_str() {
        "json" | "yaml" | "yml" => "to print the plan as JSON, use --json",
        "markdown" | "md" => "to print the plan as Markdown, use --markdown",
        "text" | "txt" => "text is printed by default; for JSON use --json",
        _ => return Ok(text.into()),
    };
    Err(format!(
        "--out takes the file to save the plan in, not a format: {hint} \
         (to save the plan in a file of that name, write ./{text})"
    ))
}

/// The hidden `--output`: always refused with the flags that were meant.
fn no_output(_text: &str) -> Result<String, String> {
    Err(
        "plan has no --output: print the plan with --json or --markdown; \
         --out FILE saves it for `kvsync apply FILE`"
            .to_owned(),
    )
}

/// Reads the secrets the manifests refer to and checks the passwords (before any call).
pub fn read_secrets(desired: &Desired, need: Need) -> Result<Checked, CliError> {
    let env = |name: &str| std::env::var(name).ok();
    Ok(secrets::check(desired, &env, need)?)
}

/// Writes a saved plan atomically (temporary file, then rename).
fn write_saved_plan(path: &std::path::Path, saved: &SavedPlan) -> Result<(), CliError> {
    let io = |source: std::io::Error| CliError::PlanFile {
        path: path.to_owned(),
        source,
    };
    let text = serde_json::to_string_pretty(saved).map_err(|err| io(std::io::Error::other(err)))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// Loads, observes, diffs and prints.
pub async fn exec(global: &GlobalArgs, args: PlanArgs) -> Result<ExitStatus, CliError> {
    let whole = super::load_manifests(global, &args.manifests)?.scoped(&args.scope.scope())?;
    let narrowed = match &args.changed_since {
        None => None,
        Some(since) => {
            let at = since::read(&args.manifests.files, since, &global.load_options()?).await?;
            Some(Narrowed::new(since::scope(&at, &whole), &whole))
        }
    };
    if let Some(narrowed) = narrowed.as_ref().filter(|n| n.is_nothing()) {
        // Nothing changed since the ref: nothing is read from the cloud.
        let plan = Plan {
            format_version: PLAN_FORMAT_VERSION,
            stack: whole.stack.name.clone(),
            complete: true,
            instances: Vec::new(),
            scope: Some(narrowed.scope.clone()),
        };
        let saved = || SavedPlan::new(plan.clone(), &Observed::default(), &Digests::new());
        return show(&args, &plan, saved);
    }
    let desired = narrowed.as_ref().map_or(&whole, |n| &n.desired);
    let checked = read_secrets(desired, Need::Optional)?;
    let target = settings::connect_for(global, Some(&desired.stack)).await?;
    // The tokens an unfinished run would send again, else those of a new run.
    let regions = desired.regions().into_iter().collect();
    let mut seeds = journal::pending(
        std::path::Path::new(crate::lock::DEFAULT_DIR),
        &desired.stack.name,
        &regions,
        jiff::Timestamp::now(),
    );
    for region in regions {
        seeds.entry(region).or_insert_with(rand::random);
    }
    let zone = jiff::tz::TimeZone::system();
    let options = DiffOptions {
        prune_all: args.prune_all,
        seeds: &seeds,
        zone: &zone,
        now_overrides_window: args.now,
        partial: narrowed.as_ref().and_then(Narrowed::partial),
        ..DiffOptions::default()
    };
    let lookup = narrowed.as_ref().and_then(Narrowed::lookup);
    let planned = session::plan(&target.client, desired, checked, options, lookup).await;
    target.close().await;
    let session::Planned {
        observed,
        mut plan,
        resolved,
    } = planned?;
    plan.scope = narrowed.map(|n| n.scope);
    let saved = || SavedPlan::new(plan.clone(), &observed, &resolved.digests);
    show(&args, &plan, saved)
}

/// Saves the plan if asked (`--out`, the file `saved` makes), prints it, and says whether it
/// has changes.
fn show(
    args: &PlanArgs,
    plan: &Plan,
    saved: impl FnOnce() -> SavedPlan,
) -> Result<ExitStatus, CliError> {
    if let Some(path) = &args.out {
        write_saved_plan(path, &saved())?;
        eprintln!(
            "Saved the plan to {shown}; apply it with `kvsync apply {shown}`.",
            shown = path.display()
        );
    }
    if args.json {
        crate::outln!("{}", render::json(plan))?;
    } else if args.markdown {
        crate::out!("{}", render::markdown(plan))?;
    } else {
        crate::out!("{}", render::text(plan, use_color()))?;
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
