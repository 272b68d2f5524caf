//! `kvsync daemon`: reconcile continuously and serve the operator's view.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings, values};
use std::sync::Arc;

use crate::daemon::clients::Clients;
use crate::daemon::stacks::StatusView;
use crate::daemon::status::{DaemonStatus, Mode, SharedStatus};
use crate::daemon::{self, DaemonConfig, Deadlines, ForcedExit, GitConfig, deadline, http};

/// Arguments of `daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Manifests (with --git: paths inside the repository).
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// A directory of one stack's manifests, reconciled by a loop of its own with the
    /// credentials its Stack document names (repeatable, instead of -f: one daemon, several
    /// stacks, each in its own account; with --git, a path inside the repository).
    #[arg(long = "stack", value_name = "DIR", conflicts_with = "files")]
    pub stacks: Vec<PathBuf>,
    /// Time in which every instance is read afresh once (1ms to 168h).
    #[arg(long, default_value = "5m", value_parser = values::interval, allow_hyphen_values = true)]
    pub interval: Duration,
    /// Ticks per interval (1 to 1000): each re-reads the details of one slice of the fleet, so
    /// the refresh is spread over the interval instead of one burst.
    #[arg(long, default_value = "10", value_name = "N", value_parser = values::refresh_slices, allow_hyphen_values = true)]
    pub refresh_slices: usize,
    /// Cycles the console's history keeps (1 to 100000), for its charts of durations, calls,
    /// drift and throttling; older ones fall off.
    #[arg(long, default_value = "288", value_name = "CYCLES", value_parser = values::history, allow_hyphen_values = true)]
    pub history: usize,
    /// On a manifest change, re-plan the changed instances from observations no older than
    /// this instead of reading them again (0s to 24h).
    #[arg(long, default_value = "2m", value_parser = values::cache_max_age, allow_hyphen_values = true)]
    pub cache_max_age: Duration,
    /// `observe` reports drift; `apply` corrects it within the gates the Stack document opens.
    #[arg(long, value_enum, default_value_t = Mode::Observe)]
    pub mode: Mode,
    /// Address of /healthz, /readyz, /metrics, /status and /events.
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    pub listen: String,
    /// Quiet time after manifest changes before a reconcile (0s to 10m).
    #[arg(long, default_value = "2s", value_parser = values::debounce, allow_hyphen_values = true)]
    pub debounce: Duration,
    /// Follow this git repository instead of local files.
    #[arg(long, value_name = "URL", requires = "branch")]
    pub git: Option<String>,
    /// The branch to follow.
    #[arg(long, value_name = "B", requires = "git")]
    pub branch: Option<String>,
    /// How often the branch is fetched (100ms to 24h).
    #[arg(long, default_value = "1m", value_parser = values::git_interval, allow_hyphen_values = true)]
    pub git_interval: Duration,
    /// How long each git command, and bringing the checkout up to date as a whole, may take
    /// (100ms to 1h).
    #[arg(long, default_value = "5m", value_parser = values::git_timeout, allow_hyphen_values = true)]
    pub git_timeout: Duration,
    /// Where the git checkout lives.
    #[arg(long, value_name = "DIR", default_value = ".kvsync/git")]
    pub cache_dir: PathBuf,
    /// Which instances.
    #[command(flatten)]
    pub scope: super::ScopeArgs,
    /// Instances changed at once, 1 to 64 (default: the Stack's `parallelism`, else 8).
    #[arg(long, value_name = "N", value_parser = values::parallelism, allow_hyphen_values = true)]
    pub parallelism: Option<usize>,
    /// Locking against other runs on this machine (apply mode).
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// How replicas share the work: `local` (this daemon reconciles every shard, holding
    /// file locks in --lock-dir while it writes) or `etcd://HOST:PORT[,HOST:PORT…]` (replicas
    /// register in etcd, each holds about shards ÷ replicas of the stack's regions under a
    /// lease, and takes over those of a replica whose lease ended).
    #[arg(long, value_name = "MECHANISM", default_value = "local", value_parser = values::coordination)]
    pub coordination: crate::coordination::Mechanism,
    /// The lease TTL of the replica's etcd hold (2s to 1h): a replica that dies holds its
    /// shards for at most this long, and one that cannot renew stops writing after two
    /// thirds of it.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = values::coordination_ttl, allow_hyphen_values = true)]
    pub coordination_ttl: Duration,
    /// This replica's name in etcd, unique among the live replicas (1 to 64 of A-Za-z0-9._-;
    /// default: the host name and the process ID). With etcd only.
    #[arg(long, value_name = "NAME", value_parser = values::replica_name)]
    pub replica: Option<String>,
    /// The audit log of write calls (default: .kvsync/audit.jsonl).
    #[command(flatten)]
    pub audit: super::AuditLogArgs,
    /// How long reading the manifests and the secrets they name may take before the cycle
    /// fails (10ms to 1h).
    #[arg(long, default_value = "30s", value_parser = values::load_timeout, allow_hyphen_values = true)]
    pub load_timeout: Duration,
    /// How long observing the cloud may take before the cycle fails (1s to 24h).
    #[arg(long, default_value = "10m", value_parser = values::observe_timeout, allow_hyphen_values = true)]
    pub observe_timeout: Duration,
    /// After SIGTERM or Ctrl-C, how long the daemon may take to stop (the call in flight
    /// finishing, with its retries) before it exits regardless (100ms to 1h).
    #[arg(long, default_value = "100s", value_parser = values::shutdown_grace, allow_hyphen_values = true)]
    pub shutdown_grace: Duration,
    /// Post an event to this http or https URL when drift is found or corrected, an apply
    /// fails, steps are held or blocked, the manifests break or are fixed, or a coordination
    /// shard is taken or lost (repeatable; retried with backoff, never delaying a reconcile).
    #[arg(long, value_name = "URL")]
    pub notify: Vec<String>,
    /// The body posted: the event as JSON, or Slack's webhook body (always used for
    /// hooks.slack.com).
    #[arg(long, value_name = "FORMAT", value_enum, default_value = "json")]
    pub notify_format: crate::notify::Format,
    /// Identical events within this window are sent once (0s: every time; up to 24h).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = values::notify_dedup, allow_hyphen_values = true)]
    pub notify_dedup: Duration,
}

/// The roles the stacks' Stack documents name now, read once (best effort: a stack whose
/// manifests do not load names none), for the embedded emulator to trust.
fn stack_roles(global: &GlobalArgs, configs: &[DaemonConfig]) -> Vec<String> {
    let Ok(options) = global.load_options() else {
        return Vec::new();
    };
    configs
        .iter()
        .filter(|config| config.git.is_none())
        .filter_map(|config| crate::manifest::load_with(&config.paths, &options).ok())
        .filter_map(|loaded| loaded.desired.stack.credentials.map(|role| role.role_arn))
        .collect()
}

/// Serves and reconciles until SIGTERM or Ctrl-C.
pub async fn exec(global: &GlobalArgs, args: DaemonArgs) -> Result<ExitStatus, CliError> {
    // Paths that do not exist are refused before anything starts.
    let regions = settings::regions(global)?;
    if args.replica.is_some() && matches!(args.coordination, crate::coordination::Mechanism::Local)
    {
        return Err(CliError::Usage(
            "--replica names this daemon among etcd replicas: it needs --coordination etcd://…"
                .into(),
        ));
    }
    if args.stacks.len() > 1 && !matches!(args.coordination, crate::coordination::Mechanism::Local)
    {
        return Err(CliError::Usage(
            "several --stack directories share the work with other replicas only with \
             --coordination local; run one daemon per stack with etcd"
                .into(),
        ));
    }
    let targets = args
        .notify
        .iter()
        .map(|url| crate::notify::Target::parse(url, args.notify_format))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| CliError::Usage(err.to_string()))?;
    let config = DaemonConfig {
        paths: args.manifests.files.clone(),
        region: regions.flag,
        fallback_region: regions.fallback.map(|(region, _)| region),
        secrets_dirs: global.secrets_dirs.clone(),
        scope: args.scope.scope(),
        mode: args.mode,
        interval: args.interval,
        refresh_slices: args.refresh_slices,
        cache_max_age: args.cache_max_age,
        debounce: args.debounce,
        parallelism: args.parallelism,
        qps: global.qps,
        deadlines: Deadlines {
            load: args.load_timeout,
            observe: args.observe_timeout,
            git: args.git_timeout,
        },
        lock: crate::lock::LockSettings {
            dir: args.lock.lock_dir.clone(),
            timeout: args.lock.lock_timeout,
        },
        backoff: (Duration::from_secs(30), Duration::from_secs(30 * 60)),
        coordination: match &args.coordination {
            crate::coordination::Mechanism::Local => None,
            crate::coordination::Mechanism::Etcd { endpoints } => {
                Some(crate::coordination::replica::ReplicaSettings {
                    endpoints: endpoints.clone(),
                    ttl: args.coordination_ttl,
                    name: args
                        .replica
                        .clone()
                        .unwrap_or_else(crate::coordination::replica::default_name),
                })
            }
        },
        git: match (&args.git, &args.branch) {
            (Some(url), Some(branch)) => Some(GitConfig {
                url: url.clone(),
                branch: branch.clone(),
                cache_dir: args.cache_dir.clone(),
                poll_interval: args.git_interval,
            }),
            _ => None,
        },
        // One sender task per receiver; they idle until the first event.
        notify: crate::notify::Notifier::start(crate::notify::Settings {
            targets,
            dedup: args.notify_dedup,
            retry: Default::default(),
        }),
    };
    // One loop per stack: the -f manifests, or each --stack directory.
    let configs: Vec<DaemonConfig> = if args.stacks.is_empty() {
        vec![config]
    } else {
        args.stacks
            .iter()
            .enumerate()
            .map(|(index, dir)| DaemonConfig {
                paths: vec![dir.clone()],
                // Each loop keeps a checkout of its own: one checkout, one writer.
                git: config.git.clone().map(|git| GitConfig {
                    cache_dir: git.cache_dir.join(format!("stack-{index}")),
                    ..git
                }),
                ..config.clone()
            })
            .collect()
    };
    for config in &configs {
        daemon::check_paths(config).map_err(CliError::Daemon)?;
    }
    let open_files = http::raise_open_files_limit();
    // Every write call of every cycle is audited; the executor names stack and instance.
    let who = match &configs[0].coordination {
        Some(replica) => replica.name.clone(),
        None => crate::audit::who("daemon"),
    };
    let default_log = std::path::Path::new(crate::audit::DEFAULT_PATH);
    let audit = args.audit.sink(Some(default_log), who, None)?;
    let roles = if global.emulator {
        stack_roles(global, &configs)
    } else {
        Vec::new()
    };
    let mut target = settings::connect_trusting(global, &roles).await?;
    if let Some(audit) = audit {
        target.client = target.client.audited(audit);
    }
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
    let grace = args.shutdown_grace;
    let stop = daemon::stop_on_signals(grace, move |forced| {
        let code = match forced {
            ForcedExit::SecondSignal => {
                eprintln!("kvsync daemon: a second stop signal; exiting at once");
                ExitStatus::Interrupted
            }
            ForcedExit::GraceExpired => {
                eprintln!(
                    "kvsync daemon: still running {} after the stop signal; exiting",
                    deadline::show(grace)
                );
                ExitStatus::Failure
            }
        };
        std::process::exit(code.code());
    });
    // Printed once the signals are watched, so a stop sent on reading it is handled.
    // A service: its output is its log and its endpoints, so a closed stdout does not stop it.
    let _ = crate::outln!(
        "kvsync daemon listening on http://{address} (mode {})",
        args.mode
    );
    let statuses: Vec<SharedStatus> = configs
        .iter()
        .map(|_| {
            let mut fresh = DaemonStatus::new(args.mode, jiff::Timestamp::now());
            fresh.history = crate::daemon::history::History::with_capacity(args.history);
            SharedStatus::new(fresh)
        })
        .collect();
    let view = if statuses.len() == 1 {
        StatusView::One(statuses[0].clone())
    } else {
        StatusView::Many(statuses.clone())
    };
    let limits = http::Limits {
        // Connections get part of the grace period; the rest is the loop's.
        grace: http::Limits::default().grace.min(grace / 2),
        ..http::Limits::for_open_files(open_files)
    };
    let server = tokio::spawn(http::serve(
        listener,
        view,
        target.client.clone(),
        configs[0].notify.clone(),
        stop.clone(),
        limits,
    ));
    let credentials = target.client.credentials();
    let clients = Arc::new(Clients::new(
        target.client.clone(),
        credentials.spec().clone(),
        credentials.endpoints().clone(),
        global.qps,
    ));
    let mut loops = tokio::task::JoinSet::new();
    for (index, (config, status)) in configs.into_iter().zip(statuses).enumerate() {
        let (clients, stop) = (clients.clone(), stop.clone());
        loops.spawn(async move { (index, daemon::run(clients, config, status, stop).await) });
    }
    let mut finals = Vec::new();
    let mut failure = None;
    while let Some(joined) = loops.join_next().await {
        match joined {
            Ok((index, Ok(last))) => finals.push((index, last)),
            Ok((_, Err(err))) => {
                // A loop that could not run: the others and the server stop with it.
                failure.get_or_insert(err);
                loops.abort_all();
            }
            Err(join) if join.is_cancelled() => {}
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
    if failure.is_some() {
        // The server is not waiting for a stop signal to come.
        server.abort();
    }
    let _ = server.await;
    target.close().await;
    if let Some(err) = failure {
        return Err(CliError::Daemon(err));
    }
    finals.sort_by_key(|(index, _)| *index);
    for (_, last) in &finals {
        let _ = crate::outln!("kvsync daemon stopped: {}", daemon::summary(last));
    }
    Ok(ExitStatus::Success)
}
