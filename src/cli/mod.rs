//! The command line: argument structs, exit statuses, and one thin `exec` per command.

pub mod apply;
pub mod audit;
pub mod backup;
pub mod backups;
pub mod color;
pub mod completions;
pub mod credentials;
pub mod daemon;
pub mod emulator;
pub mod flush;
pub mod import;
pub mod instance;
pub mod plan;
pub mod progress;
pub mod renew_cert;
pub mod restore;
pub mod schema;
pub mod settings;
pub mod show;
pub mod table;
pub mod validate;
pub mod version;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::apply::ApplyError;
use crate::emulator::EmulatorError;
use crate::manifest::LoadError;
use crate::observe::ObserveError;
pub use color::ColorChoice;

/// The exit-status table of `--help` (the same as [`ExitStatus`] and the README's).
const EXIT_STATUS_HELP: &str = "\
Exit status (the same for every command):
  0    success, or nothing left to do (also when stdout is closed early, as by `| head`)
  1    error
  2    changes present (plan --detailed-exitcode)
  3    applied, but a blocked or held step keeps the cloud from matching the manifests
  64   usage error: an unknown flag, a bad value, or a flag the command does not use
  130  interrupted (Ctrl-C or SIGTERM)";

/// kvsync keeps ApsaraDB for Redis instances in the state YAML manifests describe.
///
/// The options below may also be given before the command, where the command uses them.
#[derive(Debug, Parser)]
#[command(
    name = "kvsync",
    version = version::LONG,
    about,
    max_term_width = 100,
    after_help = EXIT_STATUS_HELP
)]
pub struct Cli {
    /// Options given before the command.
    #[command(flatten)]
    pub leading: LeadingArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The options accepted before the command: every shared group. [`Cli::resolve`] hands each
/// to the command if it uses it and refuses it otherwise.
#[derive(Debug, Default, Args)]
pub struct LeadingArgs {
    /// Where requests go.
    #[command(
        flatten,
        next_help_heading = "Cloud options (plan, apply, daemon, import, backup, backups, restore, flush, renew-cert, credentials)"
    )]
    pub connection: ConnectionArgs,
    /// The key pair.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The request rate.
    #[command(flatten)]
    pub qps: QpsArgs,
    /// The fallback region.
    #[command(
        flatten,
        next_help_heading = "Manifest options (validate, plan, apply, daemon, credentials)"
    )]
    pub region: RegionArgs,
    /// Secret directories.
    #[command(flatten)]
    pub secrets: SecretsDirArgs,
    /// Logging and colour.
    #[command(flatten, next_help_heading = "Output options (every command)")]
    pub output: OutputArgs,
}

/// `--emulator`, `--endpoint`, `--profile`: where requests go (plan, apply, daemon, import).
#[derive(Debug, Default, Args)]
pub struct ConnectionArgs {
    /// Run against an in-process emulator (state in .kvsync/emulator.json) instead of the cloud.
    #[arg(long, conflicts_with = "endpoint")]
    pub emulator: bool,
    /// Send every request to this base URL instead of https://r-kvstore.<region>.aliyuncs.com.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The aliyun CLI profile to read credentials from (~/.aliyun/config.json).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The STS endpoint roles are assumed at (default: ALIBABA_CLOUD_STS_ENDPOINT, else
    /// sts.<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com, else https://sts.aliyuncs.com).
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,
    /// The ECS metadata service the instance role is read from (default:
    /// KVSYNC_METADATA_ENDPOINT, else http://100.100.100.200); giving it makes the instance
    /// role the last credential source.
    #[arg(long, value_name = "URL")]
    pub metadata_endpoint: Option<String>,
}

/// `--access-key-id`, `--access-key-secret`: the key pair (the emulator's accepted pair for
/// `emulator`).
#[derive(Debug, Default, Args)]
pub struct KeyArgs {
    /// AccessKey ID (prefer the environment or a profile).
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,
    /// AccessKey secret (prefer the environment or a profile).
    #[arg(long, value_name = "SECRET")]
    pub access_key_secret: Option<String>,
}

/// `--qps` (plan, apply, daemon, import, emulator).
#[derive(Debug, Default, Args)]
pub struct QpsArgs {
    /// API requests per second, shared by every task, 0.01 to 10000 (default: the Stack
    /// document's `qps`, else 20); for `emulator`, the cap above which requests are answered
    /// Throttling.User (default: none).
    #[arg(long, value_name = "N", value_parser = values::qps, allow_hyphen_values = true)]
    pub qps: Option<f64>,
}

/// `--region` (validate, plan, apply, daemon, import).
#[derive(Debug, Default, Args)]
pub struct RegionArgs {
    /// Region for instances whose manifest names none (before the Stack's spec.region, then
    /// ALIBABA_CLOUD_REGION_ID, ALICLOUD_REGION and the profile's region_id; for `import`: the
    /// region to import).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// `--secrets-dir` (validate, plan, apply, daemon).
#[derive(Debug, Default, Args)]
pub struct SecretsDirArgs {
    /// A directory `{file:}` secrets may also be read from, besides the manifest root (the -f
    /// directory, or the directory of a -f file); repeatable.
    #[arg(long = "secrets-dir", value_name = "DIR")]
    pub secrets_dirs: Vec<PathBuf>,
}

/// Logging and colour (every command).
#[derive(Debug, Default, Args)]
pub struct OutputArgs {
    /// Log line format on stderr [default: text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr (no warnings, and no daemon cycle lines).
    #[arg(short, long)]
    pub quiet: bool,
    /// When to colour output: the flag beats NO_COLOR, which beats CLICOLOR_FORCE, which beats
    /// terminal detection [default: auto].
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
    /// The same as --color never.
    #[arg(long, conflicts_with = "color")]
    pub no_color: bool,
}

/// One group of shared options: which of its flags were given, and how the values given
/// before the command fill those not given after it.
trait Group: Default {
    /// The first flag of the group that was given, as typed.
    fn first_given(&self) -> Option<&'static str>;
    /// Takes `leading`'s values for the flags not given after the command.
    fn inherit(&mut self, leading: Self);
}

impl Group for ConnectionArgs {
    fn first_given(&self) -> Option<&'static str> {
        if self.emulator {
            Some("--emulator")
        } else if self.endpoint.is_some() {
            Some("--endpoint")
        } else if self.profile.is_some() {
            Some("--profile")
        } else if self.sts_endpoint.is_some() {
            Some("--sts-endpoint")
        } else if self.metadata_endpoint.is_some() {
            Some("--metadata-endpoint")
        } else {
            None
        }
    }
    fn inherit(&mut self, leading: Self) {
        self.emulator |= leading.emulator;
        self.endpoint = self.endpoint.take().or(leading.endpoint);
        self.profile = self.profile.take().or(leading.profile);
        self.sts_endpoint = self.sts_endpoint.take().or(leading.sts_endpoint);
        self.metadata_endpoint = self.metadata_endpoint.take().or(leading.metadata_endpoint);
    }
}

impl Group for KeyArgs {
    fn first_given(&self) -> Option<&'static str> {
        if self.access_key_id.is_some() {
            Some("--access-key-id")
        } else if self.access_key_secret.is_some() {
            Some("--access-key-secret")
        } else {
            None
        }
    }
    fn inherit(&mut self, leading: Self) {
        self.access_key_id = self.access_key_id.take().or(leading.access_key_id);
        self.access_key_secret = self.access_key_secret.take().or(leading.access_key_secret);
    }
}

impl Group for QpsArgs {
    fn first_given(&self) -> Option<&'static str> {
        self.qps.map(|_| "--qps")
    }
    fn inherit(&mut self, leading: Self) {
        self.qps = self.qps.or(leading.qps);
    }
}

impl Group for RegionArgs {
    fn first_given(&self) -> Option<&'static str> {
        self.region.as_ref().map(|_| "--region")
    }
    fn inherit(&mut self, leading: Self) {
        self.region = self.region.take().or(leading.region);
    }
}

impl Group for SecretsDirArgs {
    fn first_given(&self) -> Option<&'static str> {
        (!self.secrets_dirs.is_empty()).then_some("--secrets-dir")
    }
    fn inherit(&mut self, leading: Self) {
        let after = std::mem::take(&mut self.secrets_dirs);
        self.secrets_dirs = leading.secrets_dirs;
        self.secrets_dirs.extend(after);
    }
}

impl Group for OutputArgs {
    fn first_given(&self) -> Option<&'static str> {
        None
    }
    fn inherit(&mut self, leading: Self) {
        self.log_format = self.log_format.or(leading.log_format);
        self.verbose = self.verbose.saturating_add(leading.verbose);
        self.quiet |= leading.quiet;
        if self.color.is_none() && !self.no_color {
            self.color = leading.color;
            self.no_color = leading.no_color;
        }
    }
}

/// The shared groups a command accepts (`None`: it does not use them).
struct Groups<'a> {
    connection: Option<&'a mut ConnectionArgs>,
    keys: Option<&'a mut KeyArgs>,
    qps: Option<&'a mut QpsArgs>,
    region: Option<&'a mut RegionArgs>,
    secrets: Option<&'a mut SecretsDirArgs>,
    output: &'a mut OutputArgs,
}

/// The command's own group with the leading values filled in, or the name of a leading flag
/// the command does not use.
fn merge<G: Group>(leading: G, own: Option<&mut G>) -> Result<G, &'static str> {
    match own {
        Some(own) => {
            let mut merged = std::mem::take(own);
            merged.inherit(leading);
            Ok(merged)
        }
        None => match leading.first_given() {
            Some(flag) => Err(flag),
            None => Ok(G::default()),
        },
    }
}

impl Cli {
    /// Merges the options given before the command into the command's own (those after it
    /// win) and refuses, as a usage error, one the command does not use.
    pub fn resolve(self) -> Result<(GlobalArgs, Command), clap::Error> {
        let Cli {
            leading,
            mut command,
        } = self;
        let name = command.name();
        let groups = command.groups();
        // Reported like clap's own unknown argument, with the command's usage.
        let refuse = |flag: &str| {
            let mut cli = Cli::command();
            cli.build();
            let message = format!("unexpected argument '{flag}': `kvsync {name}` does not use it");
            match cli.find_subcommand_mut(name) {
                Some(sub) => sub.error(clap::error::ErrorKind::UnknownArgument, message),
                None => cli.error(clap::error::ErrorKind::UnknownArgument, message),
            }
        };
        let output = {
            let mut merged = std::mem::take(groups.output);
            merged.inherit(leading.output);
            merged
        };
        let connection = merge(leading.connection, groups.connection).map_err(refuse)?;
        let keys = merge(leading.keys, groups.keys).map_err(refuse)?;
        let qps = merge(leading.qps, groups.qps).map_err(refuse)?;
        let region = merge(leading.region, groups.region).map_err(refuse)?;
        let secrets = merge(leading.secrets, groups.secrets).map_err(refuse)?;
        if connection.emulator && connection.endpoint.is_some() {
            return Err(Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "the argument '--emulator' cannot be used with '--endpoint <URL>'",
            ));
        }
        let color = if output.no_color {
            ColorChoice::Never
        } else {
            output.color.unwrap_or_default()
        };
        let global = GlobalArgs {
            emulator: connection.emulator,
            endpoint: connection.endpoint,
            region: region.region,
            profile: connection.profile,
            sts_endpoint: connection.sts_endpoint,
            metadata_endpoint: connection.metadata_endpoint,
            access_key_id: keys.access_key_id,
            access_key_secret: keys.access_key_secret,
            secrets_dirs: secrets.secrets_dirs,
            qps: qps.qps,
            log_format: output.log_format.unwrap_or_default(),
            verbose: output.verbose,
            quiet: output.quiet,
            color,
        };
        Ok((global, command))
    }
}

/// The options shared by several commands, merged from before and after the command
/// ([`Cli::resolve`]); a group the command does not use holds its defaults.
#[derive(Debug, Default)]
pub struct GlobalArgs {
    /// `--emulator`: run against an in-process emulator.
    pub emulator: bool,
    /// `--endpoint`: the base URL of every request.
    pub endpoint: Option<String>,
    /// `--region`: the fallback region (`import`: the region to import).
    pub region: Option<String>,
    /// `--profile`: the aliyun CLI profile.
    pub profile: Option<String>,
    /// `--sts-endpoint`.
    pub sts_endpoint: Option<String>,
    /// `--metadata-endpoint`.
    pub metadata_endpoint: Option<String>,
    /// `--access-key-id`.
    pub access_key_id: Option<String>,
    /// `--access-key-secret`.
    pub access_key_secret: Option<String>,
    /// `--secrets-dir`, repeatable.
    pub secrets_dirs: Vec<PathBuf>,
    /// `--qps`, checked into its range.
    pub qps: Option<f64>,
    /// `--log-format`.
    pub log_format: LogFormat,
    /// `-v`, counted.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// `--color` / `--no-color`.
    pub color: ColorChoice,
}

pub use crate::api::ratelimit::DEFAULT_QPS;

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

    /// `--audit-max-bytes`: 1 byte to 1 TiB.
    pub fn audit_max_bytes(text: &str) -> Result<u64, String> {
        between(text, 1, 1 << 40, "bytes")
    }

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

    /// `daemon --history`: 1 to 100000 cycles kept for the console's charts.
    pub fn history(text: &str) -> Result<usize, String> {
        between(text, 1, 100_000, "cycles")
    }

    /// `emulator --create-seconds` and `--change-seconds`: 0 to 86400 seconds (a day).
    pub fn emulator_seconds(text: &str) -> Result<f64, String> {
        between(text, 0.0, 86_400.0, "seconds")
    }

    /// `emulator --fail-backups`: 0 to 1000000 backups.
    pub fn fail_backups(text: &str) -> Result<u64, String> {
        between(text, 0, 1_000_000, "backups")
    }

    /// `emulator --clock-offset`: a signed duration such as `-3h`, `+90m` or `2h 15m`, within
    /// 7 days either way.
    pub fn clock_offset(text: &str) -> Result<SignedDuration, String> {
        let range = "must be a duration from -168h to +168h (7 days; such as -3h, +90m or 5h30m)";
        let trimmed = text.trim();
        let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let parsed: SignedDuration = unsigned
            .parse()
            .map_err(|_| format!("{text:?} is not a duration; {range}"))?;
        let limit = SignedDuration::from_hours(7 * 24);
        if parsed.abs() <= limit && !unsigned.starts_with(['+', ' ']) {
            Ok(parsed)
        } else {
            Err(range.to_owned())
        }
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

    /// `daemon --notify-dedup`: 0s to 24h.
    pub fn notify_dedup(text: &str) -> Result<Duration, String> {
        duration_between(text, Duration::ZERO, 24 * HOUR)
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

    /// `--coordination`: `local` or `etcd://HOST:PORT[,HOST:PORT…]`.
    pub fn coordination(text: &str) -> Result<crate::coordination::Mechanism, String> {
        text.parse().map_err(|err| format!("{err}"))
    }

    /// `--replica`: a replica name.
    pub fn replica_name(text: &str) -> Result<String, String> {
        crate::coordination::replica::check_name(text)
            .map(|()| text.to_owned())
            .map_err(|err| err.to_string())
    }

    /// `--coordination-ttl`: whole seconds (`15`) or a duration (`15s`), 2s to 1h.
    pub fn coordination_ttl(text: &str) -> Result<Duration, String> {
        let value = match text.trim().parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => duration_between(text, Duration::ZERO, HOUR)?,
        };
        if value < 2 * SECOND || value > HOUR || value.subsec_nanos() != 0 {
            return Err("must be whole seconds from 2s to 1h (such as 15 or 30s)".to_owned());
        }
        Ok(value)
    }

    /// `--timeout` of the instance commands: 1s to 24h.
    pub fn wait_timeout(text: &str) -> Result<Duration, String> {
        duration_between(text, SECOND, 24 * HOUR)
    }

    /// `backups --since`: 1m to 730d, in days (`7d`) or as any other duration (`36h`).
    pub fn since(text: &str) -> Result<Duration, String> {
        const DAY: Duration = Duration::from_secs(24 * 3600);
        let range = "must be a duration from 1m to 730d (such as 7d, 36h or 90m)";
        let trimmed = text.trim();
        let value = match trimmed.strip_suffix('d') {
            Some(days) => days
                .trim()
                .parse::<u32>()
                .map(|days| DAY * days)
                .map_err(|_| format!("{text:?} is not a duration; {range}"))?,
            None => duration_between(trimmed, MINUTE, 730 * DAY).map_err(|_| range.to_owned())?,
        };
        if value >= MINUTE && value <= 730 * DAY {
            Ok(value)
        } else {
            Err(range.to_owned())
        }
    }

    /// `daemon --shutdown-grace`: 100ms to 1h.
    pub fn shutdown_grace(text: &str) -> Result<Duration, String> {
        duration_between(text, 100 * MS, HOUR)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn clock_offsets_are_signed_durations_within_a_week() {
            let hours = SignedDuration::from_hours;
            assert_eq!(clock_offset("-3h"), Ok(hours(-3)));
            assert_eq!(clock_offset("+90m"), Ok(SignedDuration::from_mins(90)));
            assert_eq!(clock_offset("5h30m"), Ok(SignedDuration::from_mins(330)));
            assert_eq!(clock_offset("2h 15m"), Ok(SignedDuration::from_mins(135)));
            assert_eq!(clock_offset("0s"), Ok(SignedDuration::ZERO));
            assert_eq!(clock_offset("168h"), Ok(hours(168)));
            assert_eq!(clock_offset("-168h"), Ok(hours(-168)));
            for bad in ["169h", "-8d", "soon", "", "++1h", "3"] {
                let message = clock_offset(bad).unwrap_err();
                assert!(message.contains("from -168h to +168h"), "{bad}: {message}");
            }
            assert_eq!(fail_backups("1000000"), Ok(1_000_000));
            assert!(fail_backups("1000001").is_err());
            assert!(fail_backups("-1").is_err());
        }

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

        #[test]
        fn since_takes_days_or_durations_up_to_730_days() {
            assert_eq!(since("7d"), Ok(Duration::from_secs(7 * 24 * 3600)));
            assert_eq!(since("36h"), Ok(Duration::from_secs(36 * 3600)));
            assert_eq!(since("730d"), Ok(Duration::from_secs(730 * 24 * 3600)));
            for bad in ["731d", "0d", "30s", "-1d", "soon", "d"] {
                let message = since(bad).unwrap_err();
                assert!(message.contains("from 1m to 730d"), "{bad}: {message}");
            }
            assert!(wait_timeout("0s").is_err());
            assert_eq!(wait_timeout("1h"), Ok(Duration::from_secs(3600)));
        }
    }
}

/// Log line formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Defines a command's arguments: its own (`args`), the shared groups it uses, and the output
/// options every command takes.
macro_rules! command_args {
    ($(#[$meta:meta])* $name:ident($args:ty) { $($group:ident: $ty:ty => $heading:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Args)]
        pub struct $name {
            /// The command's own arguments.
            #[command(flatten)]
            pub args: $args,
            $(
                /// A shared group the command uses.
                #[command(flatten, next_help_heading = $heading)]
                pub $group: $ty,
            )*
            /// Logging and colour.
            #[command(flatten, next_help_heading = "Output options")]
            pub output: OutputArgs,
        }
    };
}

command_args!(
    /// `validate` with the groups it uses.
    ValidateCommand(validate::ValidateArgs) {
        region: RegionArgs => "Manifest options", secrets: SecretsDirArgs => "Manifest options",
    }
);
command_args!(
    /// `plan` with the groups it uses.
    PlanCommand(plan::PlanArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
        secrets: SecretsDirArgs => "Manifest options",
    }
);
command_args!(
    /// `apply` with the groups it uses.
    ApplyCommand(apply::ApplyArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
        secrets: SecretsDirArgs => "Manifest options",
    }
);
command_args!(
    /// `daemon` with the groups it uses.
    DaemonCommand(daemon::DaemonArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
        secrets: SecretsDirArgs => "Manifest options",
    }
);
command_args!(
    /// `import` with the groups it uses.
    ImportCommand(import::ImportArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Cloud options",
    }
);
command_args!(
    /// `backup` with the groups it uses.
    BackupCommand(backup::BackupArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
    }
);
command_args!(
    /// `backups` with the groups it uses.
    BackupsCommand(backups::BackupsArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
    }
);
command_args!(
    /// `restore` with the groups it uses.
    RestoreCommand(restore::RestoreArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
    }
);
command_args!(
    /// `flush` with the groups it uses.
    FlushCommand(flush::FlushArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
    }
);
command_args!(
    /// `renew-cert` with the groups it uses.
    RenewCertCommand(renew_cert::RenewCertArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        qps: QpsArgs => "Cloud options", region: RegionArgs => "Manifest options",
    }
);
command_args!(
    /// `credentials` with the groups it uses.
    CredentialsCommand(credentials::CredentialsArgs) {
        connection: ConnectionArgs => "Cloud options", keys: KeyArgs => "Cloud options",
        region: RegionArgs => "Manifest options", secrets: SecretsDirArgs => "Manifest options",
    }
);
command_args!(
    /// `audit`.
    AuditCommand(audit::AuditArgs) {}
);
command_args!(
    /// `emulator` with the groups it uses.
    EmulatorCommand(emulator::EmulatorArgs) {
        keys: KeyArgs => "Emulator options", qps: QpsArgs => "Emulator options",
    }
);
command_args!(
    /// `show`.
    ShowCommand(show::ShowArgs) {}
);
command_args!(
    /// `schema`.
    SchemaCommand(schema::SchemaArgs) {}
);
command_args!(
    /// `completions`.
    CompletionsCommand(completions::CompletionsArgs) {}
);
command_args!(
    /// `man`.
    ManCommand(completions::ManArgs) {}
);
command_args!(
    /// `version`.
    VersionCommand(version::VersionArgs) {}
);

/// The commands.
// Parsed once per process; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests without contacting the cloud.
    Validate(ValidateCommand),
    /// Show what apply would change.
    Plan(PlanCommand),
    /// Change the cloud to match the manifests.
    Apply(ApplyCommand),
    /// Show a plan saved with `plan --out`, without contacting the cloud.
    Show(ShowCommand),
    /// Reconcile continuously: report or correct drift, serve health, metrics and status.
    Daemon(DaemonCommand),
    /// Write manifests for the existing instances of a region (--region).
    Import(ImportCommand),
    /// Back up an instance now and wait until the backup is finished.
    Backup(BackupCommand),
    /// List the backups of an instance (default: those of the last 7 days).
    Backups(BackupsCommand),
    /// Overwrite an instance's data with a backup or a point in time (needs --allow-destroy).
    Restore(RestoreCommand),
    /// Erase every key of an instance (needs --allow-destroy).
    Flush(FlushCommand),
    /// Renew the TLS certificate of an instance with TLS on.
    RenewCert(RenewCertCommand),
    /// Show which credentials plan and apply would use, fetched once (never a secret).
    Credentials(CredentialsCommand),
    /// Print the audit log of write calls (default .kvsync/audit.jsonl) as a table or JSON lines.
    Audit(AuditCommand),
    /// Serve a local emulator of the R-KVStore API.
    Emulator(EmulatorCommand),
    /// Print the JSON Schema of the manifest format (for editors).
    Schema(SchemaCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsCommand),
    /// Print the man page (roff) to stdout: `kvsync man | man -l -`.
    Man(ManCommand),
    /// Print the version and the git commit kvsync was built from.
    Version(VersionCommand),
}

impl Command {
    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Show(_) => "show",
            Command::Daemon(_) => "daemon",
            Command::Import(_) => "import",
            Command::Backup(_) => "backup",
            Command::Backups(_) => "backups",
            Command::Restore(_) => "restore",
            Command::Flush(_) => "flush",
            Command::RenewCert(_) => "renew-cert",
            Command::Audit(_) => "audit",
            Command::Credentials(_) => "credentials",
            Command::Emulator(_) => "emulator",
            Command::Schema(_) => "schema",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::Version(_) => "version",
        }
    }

    /// The shared groups the command uses.
    fn groups(&mut self) -> Groups<'_> {
        let none = |output| Groups {
            connection: None,
            keys: None,
            qps: None,
            region: None,
            secrets: None,
            output,
        };
        match self {
            Command::Validate(c) => Groups {
                region: Some(&mut c.region),
                secrets: Some(&mut c.secrets),
                ..none(&mut c.output)
            },
            Command::Plan(PlanCommand {
                connection,
                keys,
                qps,
                region,
                secrets,
                output,
                ..
            })
            | Command::Apply(ApplyCommand {
                connection,
                keys,
                qps,
                region,
                secrets,
                output,
                ..
            })
            | Command::Daemon(DaemonCommand {
                connection,
                keys,
                qps,
                region,
                secrets,
                output,
                ..
            }) => Groups {
                connection: Some(connection),
                keys: Some(keys),
                qps: Some(qps),
                region: Some(region),
                secrets: Some(secrets),
                output,
            },
            Command::Backup(BackupCommand {
                connection,
                keys,
                qps,
                region,
                output,
                ..
            })
            | Command::Backups(BackupsCommand {
                connection,
                keys,
                qps,
                region,
                output,
                ..
            })
            | Command::Restore(RestoreCommand {
                connection,
                keys,
                qps,
                region,
                output,
                ..
            })
            | Command::Flush(FlushCommand {
                connection,
                keys,
                qps,
                region,
                output,
                ..
            })
            | Command::RenewCert(RenewCertCommand {
                connection,
                keys,
                qps,
                region,
                output,
                ..
            }) => Groups {
                connection: Some(connection),
                keys: Some(keys),
                qps: Some(qps),
                region: Some(region),
                ..none(output)
            },
            Command::Import(c) => Groups {
                connection: Some(&mut c.connection),
                keys: Some(&mut c.keys),
                qps: Some(&mut c.qps),
                region: Some(&mut c.region),
                ..none(&mut c.output)
            },
            Command::Credentials(c) => Groups {
                connection: Some(&mut c.connection),
                keys: Some(&mut c.keys),
                region: Some(&mut c.region),
                secrets: Some(&mut c.secrets),
                ..none(&mut c.output)
            },
            Command::Emulator(c) => Groups {
                keys: Some(&mut c.keys),
                qps: Some(&mut c.qps),
                ..none(&mut c.output)
            },
            Command::Schema(SchemaCommand { output, .. })
            | Command::Audit(AuditCommand { output, .. })
            | Command::Show(ShowCommand { output, .. })
            | Command::Completions(CompletionsCommand { output, .. })
            | Command::Man(ManCommand { output, .. })
            | Command::Version(VersionCommand { output, .. }) => none(output),
        }
    }
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

/// `--audit-log` / `--audit-max-bytes`, shared by the commands that change the cloud.
#[derive(Debug, Clone, Args)]
pub struct AuditLogArgs {
    /// Append one JSON line per write call to FILE: who, stack, instance, action, parameters
    /// (secrets as "(secret)"), RequestId, outcome, duration (the daemon's default:
    /// .kvsync/audit.jsonl; the other commands keep none unless given).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Rotate the audit log once a record would take it past this size in bytes, keeping
    /// FILE.1 (newest) to FILE.5.
    #[arg(long, value_name = "BYTES", default_value_t = crate::audit::DEFAULT_MAX_BYTES, value_parser = values::audit_max_bytes)]
    pub audit_max_bytes: u64,
}

impl AuditLogArgs {
    /// The audit log (`--audit-log`, else `default`), opened now so that an unwritable log
    /// stops the command before its first call; `None` when there is none.
    pub fn open(
        &self,
        default: Option<&std::path::Path>,
    ) -> Result<Option<std::sync::Arc<crate::audit::AuditLog>>, CliError> {
        let Some(path) = self.audit_log.as_deref().or(default) else {
            return Ok(None);
        };
        let log = crate::audit::AuditLog::open(path.to_owned(), self.audit_max_bytes)?;
        Ok(Some(std::sync::Arc::new(log)))
    }

    /// The sink recording write calls in the audit log (see [`AuditLogArgs::open`]) as made
    /// by `who` for `stack`; `None` when there is no log.
    pub fn sink(
        &self,
        default: Option<&std::path::Path>,
        who: String,
        stack: Option<String>,
    ) -> Result<Option<std::sync::Arc<dyn crate::api::CallAudit>>, CliError> {
        Ok(self.open(default)?.map(|log| {
            let sink = crate::audit::AuditSink::new(log, who, stack);
            std::sync::Arc::new(sink) as std::sync::Arc<dyn crate::api::CallAudit>
        }))
    }
}

/// How a writer coordinates with other runs (`apply`).
#[derive(Debug, Args)]
pub struct CoordinationArgs {
    /// Who holds a stack in a region while this run writes: `local` (file locks in
    /// --lock-dir, for runs on this machine) or `etcd://HOST:PORT[,HOST:PORT…]` (a leased key
    /// per stack and region in etcd, for runs on any machine); --lock-timeout bounds the wait.
    #[arg(long, value_name = "MECHANISM", default_value = "local", value_parser = values::coordination)]
    pub coordination: crate::coordination::Mechanism,
    /// The lease TTL of an etcd hold, in seconds or as a duration (2s to 1h): a run that dies
    /// holds its stack for at most this long.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = values::coordination_ttl, allow_hyphen_values = true)]
    pub coordination_ttl: std::time::Duration,
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
    /// A usage error: an unknown flag, a bad value, or a flag the command does not use
    /// (`EX_USAGE` of sysexits.h).
    Usage,
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
            ExitStatus::Usage => 64,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// Exit statuses are documented in the README and in `--help`; the table there lists every
/// [`ExitStatus`]. A closed stdout (`kvsync plan | head -1`) ends the command quietly with
/// [`ExitStatus::Success`], as ripgrep does: the reader has what it wanted.
impl CliError {
    /// The exit status this error ends the process with.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            CliError::Usage(_) => ExitStatus::Usage,
            CliError::Since(err) if err.is_usage() => ExitStatus::Usage,
            CliError::Command(err) if err.is_stopped() => ExitStatus::Interrupted,
            err if err.is_broken_pipe() => ExitStatus::Success,
            _ => ExitStatus::Failure,
        }
    }

    /// Whether this is stdout's reader having gone away, which ends the command quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Stdout(err) if err.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Writes to stdout and flushes. Unlike `print!`, which panics when the reader has gone away,
/// a closed pipe is [`CliError::Stdout`] with [`std::io::ErrorKind::BrokenPipe`], which
/// [`CliError::exit_status`] ends quietly with 0.
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.flush())
        .map_err(CliError::Stdout)
}

/// `print!` through [`write_stdout`]: `out!("{x}")?`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` through [`write_stdout`]: `outln!("{x}")?`.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
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
    Secrets(Box<crate::apply::secrets::SecretsError>),
    /// The cloud could not be observed.
    #[error("observing the cloud")]
    Observe(#[from] ObserveError),
    /// The plan was refused before any change.
    #[error("refusing to apply")]
    Apply(#[from] ApplyError),
    /// Another run holds the stack's lock, or the lock could not be taken.
    #[error("taking the stack's lock")]
    Lock(#[from] crate::lock::LockError),
    /// Another run holds the stack, or coordination failed.
    #[error("holding the stack")]
    Coordination(#[from] crate::coordination::CoordinationError),
    /// The run journal could not be written.
    #[error("recording the run")]
    Journal(#[from] crate::journal::JournalError),
    /// The import failed.
    #[error("importing instances")]
    Import(#[from] crate::import::ImportError),
    /// The audit log could not be opened or read.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The emulator failed.
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    /// An instance command (`backup`, `restore`, …) failed or was refused.
    #[error(transparent)]
    Command(Box<instance::CommandError>),
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
    /// Stdout could not be written (a closed pipe ends the command quietly).
    #[error("writing to stdout")]
    Stdout(#[source] std::io::Error),
    /// `--target`/`--exclude` names an unknown instance.
    #[error(transparent)]
    Scope(#[from] crate::manifest::desired::ScopeError),
    /// `--changed-since`: the manifests at the ref could not be read.
    #[error(transparent)]
    Since(#[from] crate::since::SinceError),
    /// `credentials` could not fetch or show the credentials.
    #[error(transparent)]
    Show(#[from] credentials::ShowError),
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

impl From<instance::CommandError> for CliError {
    fn from(err: instance::CommandError) -> Self {
        CliError::Command(Box::new(err))
    }
}

impl From<crate::apply::secrets::SecretsError> for CliError {
    fn from(err: crate::apply::secrets::SecretsError) -> Self {
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

/// Runs the command with the options [`Cli::resolve`] merged.
pub async fn run(global: GlobalArgs, command: Command) -> Result<ExitStatus, CliError> {
    match command {
        Command::Validate(c) => validate::exec(&global, c.args),
        Command::Plan(c) => plan::exec(&global, c.args).await,
        Command::Apply(c) => apply::exec(&global, c.args).await,
        Command::Show(c) => show::exec(&global, c.args),
        Command::Daemon(c) => daemon::exec(&global, c.args).await,
        Command::Import(c) => import::exec(&global, c.args).await,
        Command::Backup(c) => backup::exec(&global, c.args).await,
        Command::Backups(c) => backups::exec(&global, c.args).await,
        Command::Restore(c) => restore::exec(&global, c.args).await,
        Command::Flush(c) => flush::exec(&global, c.args).await,
        Command::RenewCert(c) => renew_cert::exec(&global, c.args).await,
        Command::Audit(c) => audit::exec(c.args),
        Command::Credentials(c) => credentials::exec(&global, c.args).await,
        Command::Emulator(c) => emulator::exec(&global, c.args).await,
        Command::Schema(c) => schema::exec(c.args),
        Command::Completions(c) => completions::exec(c.args),
        Command::Man(c) => completions::man(c.args),
        Command::Version(c) => version::exec(c.args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(args: &[&str]) -> Result<(GlobalArgs, Command), clap::Error> {
        Cli::try_parse_from(std::iter::once("kvsync").chain(args.iter().copied()))
            .and_then(Cli::resolve)
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn changed_since_takes_a_ref_and_excludes_the_instance_flags() {
        let (_, command) = resolved(&["plan", "--changed-since", "origin/main"]).unwrap();
        let Command::Plan(plan) = command else {
            panic!("not plan")
        };
        assert_eq!(plan.args.changed_since.as_deref(), Some("origin/main"));
        for flag in ["--target", "--exclude"] {
            let error = resolved(&["plan", "--changed-since", "main", flag, "a"]).unwrap_err();
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{flag}"
            );
        }
        assert!(resolved(&["apply", "--changed-since", "main"]).is_err());
    }

    #[test]
    fn flags_before_the_command_merge_into_it_and_those_after_win() {
        let (global, command) = resolved(&[
            "--qps",
            "5",
            "--region",
            "cn-beijing",
            "-v",
            "--secrets-dir",
            "a",
            "plan",
            "--region",
            "cn-hangzhou",
            "-vv",
            "--secrets-dir",
            "b",
            "--no-color",
        ])
        .unwrap();
        assert_eq!(command.name(), "plan");
        assert_eq!(global.qps, Some(5.0));
        assert_eq!(global.region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(global.verbose, 3);
        assert_eq!(
            global.secrets_dirs,
            [PathBuf::from("a"), PathBuf::from("b")]
        );
        assert_eq!(global.color, ColorChoice::Never);
        assert_eq!(global.log_format, LogFormat::Text);

        let (global, _) = resolved(&["--color", "always", "schema"]).unwrap();
        assert_eq!(global.color, ColorChoice::Always);
        let (global, _) = resolved(&["--no-color", "schema", "--color", "always"]).unwrap();
        assert_eq!(global.color, ColorChoice::Always);
    }

    #[test]
    fn a_flag_the_command_does_not_use_is_refused_before_or_after_it() {
        for args in [
            &["--region", "x", "schema"][..],
            &["schema", "--region", "x"],
            &["--emulator", "emulator"],
            &["--profile", "p", "emulator"],
            &["--endpoint", "http://x", "validate"],
            &["--secrets-dir", "d", "import"],
            &["--qps", "3", "man"],
            &["--access-key-id", "a", "completions", "bash"],
            &["--emulator", "plan", "--endpoint", "http://x"],
        ] {
            let err = resolved(args).unwrap_err();
            assert!(err.use_stderr(), "{args:?}");
            assert!(
                matches!(
                    err.kind(),
                    clap::error::ErrorKind::UnknownArgument
                        | clap::error::ErrorKind::ArgumentConflict
                ),
                "{args:?}: {err}"
            );
        }
        let (global, _) = resolved(&["--access-key-id", "a", "--qps", "3", "emulator"]).unwrap();
        assert_eq!(global.access_key_id.as_deref(), Some("a"));
        assert_eq!(global.qps, Some(3.0));
    }

    #[test]
    fn usage_errors_exit_64_and_a_closed_stdout_0() {
        assert_eq!(
            CliError::Usage("x".into()).exit_status().code(),
            ExitStatus::Usage.code()
        );
        assert_eq!(ExitStatus::Usage.code(), 64);
        let pipe = CliError::Stdout(std::io::ErrorKind::BrokenPipe.into());
        assert_eq!(pipe.exit_status(), ExitStatus::Success);
        let full = CliError::Stdout(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(full.exit_status(), ExitStatus::Failure);
    }
}
