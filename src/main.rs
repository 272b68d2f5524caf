//! The `kvsync` binary: logging, argument parsing, errors and exit codes.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};
use kvsync::apply::secrets::SecretsError;
use kvsync::cli::{self, Cli, CliError, ExitStatus, LogFormat, color};
use kvsync::env_vars;
use kvsync::manifest::LoadError;
use tracing_subscriber::EnvFilter;

/// `daemon` says what each cycle does at the default level (its own lines at info); every
/// other command is quiet but for warnings.
/// Logging on stderr. `KVSYNC_LOG`, else `RUST_LOG` (the `tracing` filter syntax, as in every
/// tracing-based tool), else `-q` / `-v`: errors only, warnings (info for the daemon's own
/// lines), info, debug, trace.
fn init_tracing(verbose: u8, quiet: bool, format: LogFormat, daemon: bool) {
    let default = match verbose {
        _ if quiet => "error",
        0 if daemon => "warn,kvsync::daemon=info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = [env_vars::KVSYNC_LOG, env_vars::RUST_LOG]
        .into_iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        })
        .and_then(|value| EnvFilter::try_new(value).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("{default},hyper=warn,reqwest=warn,h2=warn")));
    let ansi = color::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn report(err: &CliError) {
    let diagnostics = match err {
        CliError::Load(LoadError::Invalid(diagnostics)) => Some(diagnostics),
        CliError::Secrets(secrets) => match secrets.as_ref() {
            SecretsError::Rules(diagnostics) => Some(diagnostics),
            SecretsError::Missing(_) => None,
        },
        _ => None,
    };
    if let Some(diagnostics) = diagnostics {
        eprintln!("{diagnostics}");
        return;
    }
    eprintln!("error: {err}");
    let mut source = std::error::Error::source(err);
    if source.is_some() {
        eprintln!("\nCaused by:");
    }
    while let Some(cause) = source {
        eprintln!("    {cause}");
        source = cause.source();
    }
}

/// A clap error (or `--help`/`--version`) printed, and its exit status: 64 for a usage error,
/// 0 for help and version.
fn parse_error(err: &clap::Error) -> ExitStatus {
    let _ = err.print();
    if err.use_stderr() {
        ExitStatus::Usage
    } else {
        ExitStatus::Success
    }
}

/// How clap colours its own help and errors: `--color`/`--no-color` as typed (before `--`), read
/// ahead of parsing, since they are errors the parse reports; clap's `auto` already honours
/// `NO_COLOR` and `CLICOLOR_FORCE`.
fn clap_color(args: &[OsString]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut args = args.iter().skip(1).map(|arg| arg.to_str().unwrap_or(""));
    while let Some(arg) = args.next() {
        let value = match arg {
            "--" => break,
            "--no-color" => "never",
            "--color" => args.next().unwrap_or(""),
            _ => arg.strip_prefix("--color=").unwrap_or(""),
        };
        choice = match value {
            "never" => clap::ColorChoice::Never,
            "always" => clap::ColorChoice::Always,
            "auto" => clap::ColorChoice::Auto,
            _ => choice,
        };
    }
    choice
}

/// Whether a panic is `print!`'s on a closed stdout (code that does not yet write through
/// `cli::write_stdout`).
fn is_stdout_broken_pipe(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    message.starts_with("failed printing to stdout")
        && message.contains(&format!(
            "(os error {})",
            rustix::io::Errno::PIPE.raw_os_error()
        ))
}

/// A closed stdout ends the process quietly with 0 (as ripgrep does). Writes through
/// `cli::write_stdout` report it as an error; this hook catches any `print!` left.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_stdout_broken_pipe(info) {
            std::process::exit(ExitStatus::Success.code());
        }
        default(info);
    }));
}

/// Caps glibc's malloc arenas at two before any thread starts. By default glibc gives up to
/// eight arenas per core to threads that allocate at once, and each keeps its own free memory:
/// kvsync's threads wait on the network far more than on malloc (and small allocations go
/// through each thread's cache first), so the extra arenas only hold fragments. Measured on
/// `cargo bench --bench apply` (1,000 creates), apply's peak RSS fell from 27.6 to 26.3 MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: `mallopt` only sets an allocator parameter; it is called before any other
    // thread exists, so nothing allocates concurrently. A refusal (0) keeps the default.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() {
    limit_malloc_arenas();
    quiet_on_broken_pipe();
    let args: Vec<OsString> = std::env::args_os().collect();
    let resolved = Cli::command()
        .color(clap_color(&args))
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
        .and_then(Cli::resolve);
    let (global, command) = match resolved {
        Ok(resolved) => resolved,
        Err(err) => std::process::exit(parse_error(&err).code()),
    };
    color::set(global.color);
    let daemon = matches!(command, cli::Command::Daemon(_));
    init_tracing(global.verbose, global.quiet, global.log_format, daemon);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            std::process::exit(ExitStatus::Failure.code());
        }
    };
    let status = match runtime.block_on(cli::run(global, command)) {
        Ok(status) => status,
        Err(err) if err.is_broken_pipe() => ExitStatus::Success,
        Err(err) => {
            report(&err);
            err.exit_status()
        }
    };
    std::process::exit(status.code());
}
