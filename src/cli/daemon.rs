//! `kvsync daemon`: reconcile continuously and serve the operator's view.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use jiff::SignedDuration;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};
use crate::daemon::status::{DaemonStatus, Mode, SharedStatus};
use crate::daemon::{self, DaemonConfig, GitConfig, http};

/// Parses a duration such as `5m`, `30s`, `1h 30m` or `500ms`.
fn duration(text: &str) -> Result<Duration, String> {
    let parsed: SignedDuration = text
        .parse()
        .map_err(|err| format!("{text:?} is not a duration such as 30s, 5m or 1h: {err}"))?;
    Duration::try_from(parsed).map_err(|_| format!("{text:?} is negative"))
}

/// Arguments of `daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Manifests (with --git: paths inside the repository).
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// Time in which every instance is read afresh once.
    #[arg(long, default_value = "5m", value_parser = duration)]
    pub interval: Duration,
    /// Ticks per interval: each re-reads the details of one slice of the fleet, so the refresh
    /// is spread over the interval instead of one burst.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub refresh_slices: usize,
    /// On a manifest change, re-plan the changed instances from observations no older than
    /// this instead of reading them again.
    #[arg(long, default_value = "2m", value_parser = duration)]
    pub cache_max_age: Duration,
    /// `observe` reports drift; `apply` corrects it within the gates the Stack document opens.
    #[arg(long, value_enum, default_value_t = Mode::Observe)]
    pub mode: Mode,
    /// Address of /healthz, /readyz, /metrics and /status.
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    pub listen: String,
    /// Quiet time after manifest changes before a reconcile.
    #[arg(long, default_value = "2s", value_parser = duration)]
    pub debounce: Duration,
    /// Follow this git repository instead of local files.
    #[arg(long, value_name = "URL", requires = "branch")]
    pub git: Option<String>,
    /// The branch to follow.
    #[arg(long, value_name = "B", requires = "git")]
    pub branch: Option<String>,
    /// How often the branch is fetched.
    #[arg(long, default_value = "1m", value_parser = duration)]
    pub git_interval: Duration,
    /// Where the git checkout lives.
    #[arg(long, value_name = "DIR", default_value = ".kvsync/git")]
    pub cache_dir: PathBuf,
    /// Which instances.
    #[command(flatten)]
    pub scope: super::ScopeArgs,
    /// Instances changed at once (default: the Stack's `parallelism`, else 8).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub parallelism: usize,
}

/// Serves and reconciles until SIGTERM or Ctrl-C.
pub async fn exec(global: &GlobalArgs, args: DaemonArgs) -> Result<ExitStatus, CliError> {
    if args.parallelism == 0 {
        return Err(CliError::Usage("--parallelism must be at least 1".into()));
    }
    if args.refresh_slices == 0 {
        return Err(CliError::Usage(
            "--refresh-slices must be at least 1".into(),
        ));
    }
    let target = settings::connect(global).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|source| CliError::Listen {
            addr: args.listen.clone(),
            source,
        })?;
    let address = listener.local_addr().map_err(|source| CliError::Listen {
        addr: args.listen.clone(),
        source,
    })?;
    println!(
        "kvsync daemon listening on http://{address} (mode {:?})",
        args.mode
    );
    let stop = daemon::stop_on_signals();
    let status = SharedStatus::new(DaemonStatus::new(args.mode, jiff::Timestamp::now()));
    let server = tokio::spawn(http::serve(
        listener,
        status.clone(),
        target.client.clone(),
        stop.clone(),
    ));
    let config = DaemonConfig {
        paths: args.manifests.files.clone(),
        fallback_region: global.region.clone(),
        secrets_dirs: global.secrets_dirs.clone(),
        scope: args.scope.scope(),
        mode: args.mode,
        interval: args.interval,
        refresh_slices: args.refresh_slices,
        cache_max_age: args.cache_max_age,
        debounce: args.debounce,
        parallelism: args.parallelism,
        backoff: (Duration::from_secs(30), Duration::from_secs(30 * 60)),
        git: match (&args.git, &args.branch) {
            (Some(url), Some(branch)) => Some(GitConfig {
                url: url.clone(),
                branch: branch.clone(),
                cache_dir: args.cache_dir.clone(),
                poll_interval: args.git_interval,
            }),
            _ => None,
        },
    };
    let result = daemon::run(target.client.clone(), config, status, stop).await;
    let _ = server.await;
    target.close().await;
    let last = result.map_err(CliError::Daemon)?;
    println!("kvsync daemon stopped: {}", daemon::summary(&last));
    Ok(ExitStatus::Success)
}
