//! The command line: argument structs, exit statuses, and one thin `exec` per command.

pub mod apply;
pub mod daemon;
pub mod emulator;
pub mod import;
pub mod plan;
pub mod progress;
pub mod schema;
pub mod settings;
pub mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::apply::ApplyError;
use crate::emulator::EmulatorError;
use crate::manifest::LoadError;
use crate::observe::ObserveError;

/// kvsync keeps ApsaraDB for Redis instances in the state YAML manifests describe.
#[derive(Debug, Parser)]
#[command(name = "kvsync", version, about, max_term_width = 100)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run against an in-process emulator (state in .kvsync/emulator.json) instead of the cloud.
    #[arg(long, global = true, conflicts_with = "endpoint")]
    pub emulator: bool,
    /// Send every request to this base URL instead of https://r-kvstore.<region>.aliyuncs.com.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region for instances whose manifest and stack name none.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The aliyun CLI profile to read credentials from (~/.aliyun/config.json).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AccessKey ID (prefer the environment or a profile).
    #[arg(long, global = true, value_name = "ID")]
    pub access_key_id: Option<String>,
    /// AccessKey secret (prefer the environment or a profile).
    #[arg(long, global = true, value_name = "SECRET")]
    pub access_key_secret: Option<String>,
    /// A directory `{file:}` secrets may also be read from, besides the manifest root (the -f
    /// directory, or the directory of a -f file); repeatable.
    #[arg(long = "secrets-dir", global = true, value_name = "DIR")]
    pub secrets_dirs: Vec<PathBuf>,
    /// API requests per second, shared by every task (default 20); for `emulator`, the cap
    /// above which requests are answered Throttling.User (default: none).
    #[arg(long, global = true, value_name = "N")]
    pub qps: Option<f64>,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The client's default request rate.
pub const DEFAULT_QPS: f64 = 20.0;

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without contacting the cloud.
    Validate(validate::ValidateArgs),
    /// Show what apply would change.
    Plan(plan::PlanArgs),
    /// Change the cloud to match the manifests.
    Apply(apply::ApplyArgs),
    /// Reconcile continuously: report or correct drift, serve health, metrics and status.
    Daemon(daemon::DaemonArgs),
    /// Write manifests for the existing instances of a region (--region).
    Import(import::ImportArgs),
    /// Serve a local emulator of the R-KVStore API.
    Emulator(emulator::EmulatorArgs),
    /// Print the JSON Schema of the manifest format (for editors).
    Schema(schema::SchemaArgs),
}

/// Manifest paths (`-f`), shared by the commands that read manifests.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Manifest files or directories (searched recursively for *.yaml and *.yml).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "manifests"
    )]
    pub files: Vec<PathBuf>,
}

/// `--target` / `--exclude`, shared by plan, apply and daemon.
#[derive(Debug, Clone, Default, Args)]
pub struct ScopeArgs {
    /// Work only on this instance (`name` or `region/name`; repeatable); the others are not
    /// even read. A scoped run never prunes.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// Leave this instance out (repeatable).
    #[arg(long = "exclude", value_name = "NAME")]
    pub excludes: Vec<String>,
}

impl ScopeArgs {
    /// The scope these flags describe.
    pub fn scope(&self) -> crate::manifest::desired::Scope {
        crate::manifest::desired::Scope {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
        }
    }
}

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Success, or no changes.
    Success,
    /// An error, a failed step, or an apply that did not converge.
    Failure,
    /// `plan --detailed-exitcode` found changes.
    Changes,
    /// `apply` was stopped by Ctrl-C or SIGTERM (128 + SIGINT).
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Manifests could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Settings are unusable.
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    /// The secrets cannot be used.
    #[error(transparent)]
    Secrets(Box<crate::secrets::SecretsError>),
    /// The cloud could not be observed.
    #[error("observing the cloud")]
    Observe(#[from] ObserveError),
    /// The plan was refused before any change.
    #[error("refusing to apply")]
    Apply(#[from] ApplyError),
    /// The import failed.
    #[error("importing instances")]
    Import(#[from] crate::import::ImportError),
    /// The emulator failed.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
    /// `--target`/`--exclude` names an unknown instance.
    #[error(transparent)]
    Scope(#[from] crate::manifest::desired::ScopeError),
    /// The daemon could not run.
    #[error("running the daemon")]
    Daemon(#[source] crate::daemon::DaemonError),
    /// The daemon's address could not be bound.
    #[error("listening on {addr}")]
    Listen {
        /// The address.
        addr: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A saved plan could not be written or read.
    #[error("plan file {path}")]
    PlanFile {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A saved plan is not a plan.
    #[error("reading the saved plan {path}")]
    PlanFormat {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A saved plan no longer applies.
    #[error("refusing the saved plan {path}")]
    Stale {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::plan::saved::Stale,
    },
}

impl From<crate::secrets::SecretsError> for CliError {
    fn from(err: crate::secrets::SecretsError) -> Self {
        CliError::Secrets(Box::new(err))
    }
}

impl GlobalArgs {
    /// How manifests are loaded: `--region` and `--secrets-dir`.
    pub fn load_options(&self) -> crate::manifest::LoadOptions {
        crate::manifest::LoadOptions {
            fallback_region: self.region.clone(),
            secrets_dirs: self.secrets_dirs.clone(),
        }
    }
}

/// Loads the manifests `-f` names and prints the warnings about them to stderr.
pub fn load_manifests(
    global: &GlobalArgs,
    manifests: &ManifestArgs,
) -> Result<crate::manifest::Desired, CliError> {
    let loaded = crate::manifest::load_with(&manifests.files, &global.load_options())?;
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    Ok(loaded.desired)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitStatus, CliError> {
    match cli.command {
        Command::Validate(args) => validate::exec(&cli.global, args),
        Command::Plan(args) => plan::exec(&cli.global, args).await,
        Command::Apply(args) => apply::exec(&cli.global, args).await,
        Command::Daemon(args) => daemon::exec(&cli.global, args).await,
        Command::Import(args) => import::exec(&cli.global, args).await,
        Command::Emulator(args) => emulator::exec(&cli.global, args).await,
        Command::Schema(args) => schema::exec(args),
    }
}
