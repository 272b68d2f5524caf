//! `kvsync validate`: check manifests without contacting the cloud.

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs};
use crate::manifest::diagnostics::Severity;
use crate::manifest::{self, Diagnostic, LoadError};
use crate::plan::model::PLAN_FORMAT_VERSION;
use crate::plan::render::json_line;

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifests.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Print every diagnostic as JSON on stdout (schema in the README); exit codes unchanged.
    #[arg(long)]
    pub json: bool,
}

/// Loads and validates the manifests; prints the warnings and a one-line summary.
pub fn exec(global: &GlobalArgs, args: ValidateArgs) -> Result<ExitStatus, CliError> {
    if args.json {
        return exec_json(global, &args);
    }
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

/// `validate --json`: one document with every error and warning. Manifests with errors exit 1
/// as without `--json`; an error that is not about a manifest's content (an unreadable path)
/// is reported on stderr as usual.
fn exec_json(global: &GlobalArgs, args: &ValidateArgs) -> Result<ExitStatus, CliError> {
    let (status, stack, instances, diagnostics) =
        match manifest::load_with(&args.manifests.files, &global.load_options()?) {
            Ok(loaded) => (
                ExitStatus::Success,
                Some(loaded.desired.stack.name.clone()),
                Some(loaded.desired.instances.len()),
                loaded.warnings,
            ),
            Err(LoadError::Invalid(diagnostics)) => {
                (ExitStatus::Failure, None, None, diagnostics.0)
            }
            Err(other) => return Err(other.into()),
        };
    let doc = serde_json::json!({
        "format_version": PLAN_FORMAT_VERSION,
        "valid": status == ExitStatus::Success,
        "stack": stack,
        "instances": instances,
        "diagnostics": diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    });
    println!("{}", json_line(&doc));
    Ok(status)
}

/// One diagnostic as `validate --json` prints it.
fn diagnostic_json(diagnostic: &Diagnostic) -> serde_json::Value {
    serde_json::json!({
        "file": diagnostic.path.display().to_string(),
        "line": diagnostic.line,
        "column": diagnostic.column,
        "rule": diagnostic.rule,
        "severity": match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        "message": diagnostic.message,
    })
}
