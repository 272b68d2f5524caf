//! The command line: argument structs, exit statuses, and one thin `exec` per command.

pub mod apply;
pub mod daemon;
pub mod emulator;
pub mod import;
pub mod plan;
pub mod progress;
pub mod schema;
pub mod settings;
pub mod show;
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
    /// Region for instances whose manifest names none (before the Stack's spec.region, then
    /// ALIBABA_CLOUD_REGION_ID, ALICLOUD_REGION and the profile's region_id).
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
    /// API requests per second, shared by every task, 0.01 to 10000 (default: the Stack
    /// document's `qps`, else 20); for `emulator`, the cap above which requests are answered
    /// Throttling.User (default: none).
    #[arg(long, global = true, value_name = "N", value_parser = values::qps, allow_hyphen_values = true)]
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

/// Parsers of numeric command-line values, each into a documented range: a value outside it
/// is a usage error that names the flag (clap adds it) and the range, before anything runs.
pub mod values {
    use std::fmt::Display;
    use std::str::FromStr;
    use std::time::Duration;

    use jiff::SignedDuration;

    /// A number of `T` from `min` to `max` (both included); `what` says what it counts.
    fn between<T>(text: &str, min: T, max: T, what: &str) -> Result<T, String>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let range = || {
            let unit = if what.is_empty() {
                String::new()
            } else {
                format!(" ({what})")
            };
            format!("must be a number from {min} to {max}{unit}")
        };
        match text.trim().parse::<T>() {
            // NaN is neither at least `min` nor at most `max`.
            Ok(value) if value >= min && value <= max => Ok(value),
            Ok(_) => Err(range()),
            Err(_) => Err(format!("{text:?} is not a number; {}", range())),
        }
    }

    /// A duration such as `500ms`, `30s`, `5m` or `1h 30m` from `min` to `max`.
    fn duration_between(text: &str, min: Duration, max: Duration) -> Result<Duration, String> {
        let shown = |d: Duration| {
            SignedDuration::try_from(d).map_or_else(|_| format!("{d:?}"), |d| format!("{d:#}"))
        };
        let range = format!(
            "must be a duration from {} to {} (such as 500ms, 30s, 5m or 1h 30m)",
            shown(min),
            shown(max)
        );
        let parsed: SignedDuration = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a duration; {range}"))?;
        match Duration::try_from(parsed) {
            Ok(value) if value >= min && value <= max => Ok(value),
            _ => Err(range),
        }
    }

    const MS: Duration = Duration::from_millis(1);
    const SECOND: Duration = Duration::from_secs(1);
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    /// `--qps`: 0.01 to 10000 requests per second.
    pub fn qps(text: &str) -> Result<f64, String> {
        between(text, 0.01, 10_000.0, "requests per second")
    }

    /// `--parallelism`: 1 to 64 instances at once (the Stack document's range).
    pub fn parallelism(text: &str) -> Result<usize, String> {
        between(text, 1, 64, "instances at once")
    }

    /// `daemon --refresh-slices`: 1 to 1000 ticks per interval.
    pub fn refresh_slices(text: &str) -> Result<usize, String> {
        between(text, 1, 1000, "ticks per interval")
    }

    /// `emulator --create-seconds` and `--change-seconds`: 0 to 86400 seconds (a day).
    pub fn emulator_seconds(text: &str) -> Result<f64, String> {
        between(text, 0.0, 86_400.0, "seconds")
    }

    /// `emulator --latency-ms`: 0 to 60000 milliseconds.
    pub fn latency_ms(text: &str) -> Result<u64, String> {
        between(text, 0, 60_000, "milliseconds")
    }

    /// `emulator --fault-rate` and `--lost-response-rate`: a probability, 0 to 1.
    pub fn probability(text: &str) -> Result<f64, String> {
        between(text, 0.0, 1.0, "a probability")
    }

    /// `daemon --interval`: 1ms to 168h (zero would reconcile without pause).
    pub fn interval(text: &str) -> Result<Duration, String> {
        duration_between(text, MS, 168 * HOUR)
    }

    /// `daemon --cache-max-age`: 0s (never plan from the cache) to 24h.
    pub fn cache_max_age(text: &str) -> Result<Duration, String> {
        duration_between(text, Duration::ZERO, 24 * HOUR)
    }

    /// `daemon --debounce`: 0s to 10m.
    pub fn debounce(text: &str) -> Result<Duration, String> {
        duration_between(text, Duration::ZERO, 10 * MINUTE)
    }

    /// `daemon --git-interval`: 100ms to 24h (zero would fetch without pause).
    pub fn git_interval(text: &str) -> Result<Duration, String> {
        duration_between(text, 100 * MS, 24 * HOUR)
    }

    /// `daemon --git-timeout`: 100ms to 1h.
    pub fn git_timeout(text: &str) -> Result<Duration, String> {
        duration_between(text, 100 * MS, HOUR)
    }

    /// `daemon --load-timeout`: 10ms to 1h.
    pub fn load_timeout(text: &str) -> Result<Duration, String> {
        duration_between(text, 10 * MS, HOUR)
    }

    /// `daemon --observe-timeout`: 1s to 24h.
    pub fn observe_timeout(text: &str) -> Result<Duration, String> {
        duration_between(text, SECOND, 24 * HOUR)
    }

    /// `--lock-timeout`: 0s to 24h.
    pub fn lock_timeout(text: &str) -> Result<Duration, String> {
        duration_between(text, Duration::ZERO, 24 * HOUR)
    }

    /// `daemon --shutdown-grace`: 100ms to 1h.
    pub fn shutdown_grace(text: &str) -> Result<Duration, String> {
        duration_between(text, 100 * MS, HOUR)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn values_inside_the_range_pass_and_others_name_it() {
            assert_eq!(qps("0.01"), Ok(0.01));
            assert_eq!(qps("10000"), Ok(10_000.0));
            for bad in ["1e-300", "0", "NaN", "inf", "-1", "1e300", "many"] {
                let message = qps(bad).unwrap_err();
                assert!(message.contains("from 0.01 to 10000"), "{bad}: {message}");
            }
            assert_eq!(parallelism("64"), Ok(64));
            assert!(parallelism("18446744073709551616").is_err());
            assert_eq!(interval("1ms"), Ok(Duration::from_millis(1)));
            assert_eq!(interval("5m"), Ok(Duration::from_secs(300)));
            for bad in ["0s", "-1s", "169h", "soon"] {
                let message = interval(bad).unwrap_err();
                assert!(message.contains("from 1ms to 168h"), "{bad}: {message}");
            }
            assert_eq!(cache_max_age("0s"), Ok(Duration::ZERO));
            assert!(debounce("10m 1s").is_err());
            assert_eq!(emulator_seconds("0.5"), Ok(0.5));
            assert!(
                emulator_seconds("1e300")
                    .unwrap_err()
                    .contains("0 to 86400")
            );
            assert!(probability("NaN").is_err());
        }
    }
}

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
    /// Show a plan saved with `plan --out`, without contacting the cloud.
    Show(show::ShowArgs),
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

/// `--lock-dir` / `--lock-timeout`, shared by the commands that change the cloud.
#[derive(Debug, Clone, Args)]
pub struct LockArgs {
    /// Directory of the per-stack, per-region lock files and the run journal.
    #[arg(long, value_name = "DIR", default_value = crate::lock::DEFAULT_DIR)]
    pub lock_dir: PathBuf,
    /// How long to wait for another kvsync run on this machine to release the stack's lock
    /// before refusing.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = values::lock_timeout, allow_hyphen_values = true)]
    pub lock_timeout: std::time::Duration,
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
    /// `apply` made every change it could, but something it will not change (a blocked or
    /// held step) keeps the cloud from matching the manifests.
    Blocked,
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
            ExitStatus::Blocked => 3,
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
    /// Another run holds the stack's lock, or the lock could not be taken.
    #[error("taking the stack's lock")]
    Lock(#[from] crate::lock::LockError),
    /// The run journal could not be written.
    #[error("recording the run")]
    Journal(#[from] crate::journal::JournalError),
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
    /// How manifests are loaded: the regions (`--region`, environment, profile) and
    /// `--secrets-dir`.
    pub fn load_options(&self) -> Result<crate::manifest::LoadOptions, CliError> {
        Ok(settings::load_options(self)?)
    }
}

/// Loads the manifests `-f` names and prints the warnings about them to stderr.
pub fn load_manifests(
    global: &GlobalArgs,
    manifests: &ManifestArgs,
) -> Result<crate::manifest::Desired, CliError> {
    let loaded = crate::manifest::load_with(&manifests.files, &global.load_options()?)?;
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
        Command::Show(args) => show::exec(&cli.global, args),
        Command::Daemon(args) => daemon::exec(&cli.global, args).await,
        Command::Import(args) => import::exec(&cli.global, args).await,
        Command::Emulator(args) => emulator::exec(&cli.global, args).await,
        Command::Schema(args) => schema::exec(args),
    }
}
