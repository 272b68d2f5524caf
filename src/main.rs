//! The `kvsync` binary: logging, argument parsing, errors and exit codes.

use std::io::IsTerminal;

use clap::Parser;
use kvsync::cli::{self, Cli, CliError, LogFormat};
use kvsync::env_vars;
use kvsync::manifest::LoadError;
use kvsync::secrets::SecretsError;
use tracing_subscriber::EnvFilter;

/// `daemon` says what each cycle does at the default level (its own lines at info); every
/// other command is quiet but for warnings.
fn init_tracing(verbose: u8, format: LogFormat, daemon: bool) {
    let default = match verbose {
        0 if daemon => "warn,kvsync::daemon=info",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var(env_vars::KVSYNC_LOG)
        .ok()
        .and_then(|value| EnvFilter::try_new(value).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("{default},hyper=warn,reqwest=warn,h2=warn")));
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os(env_vars::NO_COLOR).is_none_or(|value| value.is_empty());
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

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors; a bad flag or value is a usage error, which
        // exits 1 like every other error (2 means "changes present" for `plan`).
        Err(err) => {
            let _ = err.print();
            let code = if err.use_stderr() {
                cli::ExitStatus::Failure.code()
            } else {
                cli::ExitStatus::Success.code()
            };
            std::process::exit(code);
        }
    };
    let daemon = matches!(cli.command, cli::Command::Daemon(_));
    init_tracing(cli.global.verbose, cli.global.log_format, daemon);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            std::process::exit(1);
        }
    };
    let status = match runtime.block_on(cli::run(cli)) {
        Ok(status) => status,
        Err(err) => {
            report(&err);
            cli::ExitStatus::Failure
        }
    };
    std::process::exit(status.code());
}
