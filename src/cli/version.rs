//! `kvsync version`: the version and the git commit kvsync was built from (`build.rs`).

use clap::Args;
use serde::Serialize;

use super::{CliError, ExitStatus};

/// The package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The short git commit kvsync was built from, or `unknown`.
pub const COMMIT: &str = env!("KVSYNC_GIT_COMMIT");
/// What `--version` prints after the name: `0.1.0 (commit abc1234)`.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KVSYNC_GIT_COMMIT"),
    ")"
);

/// Arguments of `version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print `{"version": ..., "commit": ...}`.
    #[arg(long)]
    pub json: bool,
}

/// The JSON form.
#[derive(Debug, Serialize)]
struct Version {
    version: &'static str,
    commit: &'static str,
}

/// Prints the version.
pub fn exec(args: VersionArgs) -> Result<ExitStatus, CliError> {
    if args.json {
        let json = serde_json::to_string(&Version {
            version: VERSION,
            commit: COMMIT,
        })
        .map_err(|err| CliError::Stdout(std::io::Error::other(err)))?;
        crate::outln!("{json}")?;
    } else {
        crate::outln!("kvsync {LONG}")?;
    }
    Ok(ExitStatus::Success)
}
