//! `kvsync emulator`: serve a local emulator of the R-KVStore API.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use clap::Args;
use jiff::SignedDuration;

use super::{CliError, ExitStatus, GlobalArgs, values};
use crate::api::error::error_chain;
use crate::emulator::auth::KeyRing;
use crate::emulator::faults::{Faults, parse_lose_response, parse_signature_fault};
use crate::emulator::roles::{MAX_DURATION_SECONDS, Roles, RolesError};
use crate::emulator::state::Durations;
use crate::emulator::{self, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorConfig};

/// Arguments of `emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9494", value_name = "ADDR")]
    pub listen: String,
    /// Persist state to this file (kept in memory when absent).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seconds a new instance stays Creating (0 to 86400).
    #[arg(long, default_value = "3", value_name = "S", value_parser = values::emulator_seconds, allow_hyphen_values = true)]
    pub create_seconds: f64,
    /// Seconds a change keeps an instance Changing (0 to 86400).
    #[arg(long, default_value = "2", value_name = "S", value_parser = values::emulator_seconds, allow_hyphen_values = true)]
    pub change_seconds: f64,
    /// Seconds a backup runs before its set is listed (0 to 86400; default: --change-seconds).
    #[arg(long, value_name = "S", value_parser = values::emulator_seconds, allow_hyphen_values = true)]
    pub backup_seconds: Option<f64>,
    /// Accept the next N CreateBackup calls but let their backups end Failed (0 to 1000000).
    #[arg(long, default_value = "0", value_name = "N", value_parser = values::fail_backups, allow_hyphen_values = true)]
    pub fail_backups: u64,
    /// Offset of the emulated cloud's clock from real time, e.g. -3h, +90m, 5h30m (within
    /// -168h to +168h); signatures are still checked against real time.
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = values::clock_offset, allow_hyphen_values = true)]
    pub clock_offset: SignedDuration,
    /// How long idempotency tokens (`Token`, `ClientToken`) are remembered, in seconds
    /// (0 to 86400; default: for ever).
    #[arg(long, value_name = "S", value_parser = values::emulator_seconds, allow_hyphen_values = true)]
    pub token_memory_seconds: Option<f64>,
    /// Latency added to every request, in milliseconds (0 to 60000).
    #[arg(long, default_value = "0", value_name = "N", value_parser = values::latency_ms, allow_hyphen_values = true)]
    pub latency_ms: u64,
    /// Probability of answering ServiceUnavailable (503) without effect (0 to 1).
    #[arg(long, default_value = "0", value_name = "P", value_parser = values::probability, allow_hyphen_values = true)]
    pub fault_rate: f64,
    /// Probability that a successful call's answer is lost after it committed (0 to 1).
    #[arg(long, default_value = "0", value_name = "P", value_parser = values::probability, allow_hyphen_values = true)]
    pub lost_response_rate: f64,
    /// Lose the answers of the first N successful calls of ACTION (repeatable).
    #[arg(long, value_name = "ACTION[:N]")]
    pub lose_response: Vec<String>,
    /// Refuse every call carrying parameter PARAM with SignatureDoesNotMatch and the server's
    /// string-to-sign, as the cloud answers a real mismatch (repeatable).
    #[arg(long, value_name = "PARAM")]
    pub signature_fault: Vec<String>,
    /// Accept another key pair (repeatable), besides --access-key-id/--access-key-secret.
    #[arg(long = "key", value_name = "ID:SECRET")]
    pub keys: Vec<String>,
    /// A RAM role STS lets callers assume (repeatable). TRUST is an access key ID, `*` (any
    /// key the emulator knows, issued STS keys included), a role ARN (keys issued for that
    /// role: chaining) or `oidc:PROVIDER_ARN` (AssumeRoleWithOIDC through that provider).
    #[arg(long = "role", value_name = "ARN=TRUST[,TRUST...]")]
    pub roles: Vec<String>,
    /// An OIDC token the provider accepts in AssumeRoleWithOIDC (repeatable).
    #[arg(long = "oidc-token", value_name = "PROVIDER_ARN=TOKEN")]
    pub oidc_tokens: Vec<String>,
    /// The RAM role the ECS metadata stand-in (`/latest/`) serves under role name NAME.
    #[arg(long, value_name = "NAME=ROLE_ARN")]
    pub ecs_role: Option<String>,
    /// The longest lifetime of issued STS and metadata credentials, in seconds (1 to 43200;
    /// default: as requested, 3600 when not said, 6 hours for metadata).
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    pub sts_max_seconds: Option<String>,
    /// A JSON file of roles, OIDC tokens, the ECS role and the lifetime cap:
    /// {"account_id", "roles": {ARN: [TRUST...]}, "oidc_tokens": {PROVIDER_ARN: [TOKEN...]},
    /// "ecs_role": {"name", "arn"}, "max_seconds"}; the flags add to it.
    #[arg(long = "roles", value_name = "FILE")]
    pub roles_file: Option<PathBuf>,
}

/// The roles STS and the metadata stand-in know, from `--roles` and the flags.
fn roles(args: &EmulatorArgs) -> Result<Roles, CliError> {
    // Every message names the flag (or the file) it is about.
    let usage = |flag: &'static str| {
        move |err: RolesError| {
            let text = error_chain(&err);
            if text.starts_with(flag) || text.contains("roles file") {
                CliError::Usage(text)
            } else {
                CliError::Usage(format!("{flag}: {text}"))
            }
        }
    };
    let mut roles = Roles::default();
    if let Some(path) = &args.roles_file {
        roles.load_file(path).map_err(usage("--roles"))?;
    }
    for spec in &args.roles {
        roles.add_role_flag(spec).map_err(usage("--role"))?;
    }
    for spec in &args.oidc_tokens {
        roles
            .add_oidc_token_flag(spec)
            .map_err(usage("--oidc-token"))?;
    }
    if let Some(spec) = &args.ecs_role {
        roles.set_ecs_role_flag(spec).map_err(usage("--ecs-role"))?;
    }
    if let Some(text) = &args.sts_max_seconds {
        let refused = || {
            CliError::Usage(format!(
                "--sts-max-seconds takes whole seconds from 1 to {MAX_DURATION_SECONDS}, not {text:?}"
            ))
        };
        let seconds = text.parse::<u64>().map_err(|_| refused())?;
        roles.set_max_seconds(seconds).map_err(|_| refused())?;
    }
    Ok(roles)
}

/// Seconds as a duration; the value parser has kept them within a day, so this cannot overflow.
fn seconds(value: f64) -> SignedDuration {
    SignedDuration::try_from_secs_f64(value).unwrap_or(SignedDuration::ZERO)
}

/// Serves until interrupted.
pub async fn exec(global: &GlobalArgs, args: EmulatorArgs) -> Result<ExitStatus, CliError> {
    let mut keys = match (&global.access_key_id, &global.access_key_secret) {
        (Some(id), Some(secret)) => KeyRing::single(id, secret),
        (None, None) => KeyRing::single(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET),
        _ => {
            return Err(CliError::Usage(
                "--access-key-id and --access-key-secret go together".into(),
            ));
        }
    };
    for pair in &args.keys {
        match pair.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => keys.add(id, secret),
            _ => {
                return Err(CliError::Usage(format!(
                    "--key takes ID:SECRET, not {pair:?}"
                )));
            }
        }
    }
    // `--qps` was checked into its range by its value parser.
    let qps = global.qps;
    let mut lose_responses = BTreeMap::new();
    for spec in &args.lose_response {
        let (action, count) = parse_lose_response(spec).map_err(CliError::Usage)?;
        lose_responses.insert(action, count);
    }
    let signature_faults = args
        .signature_fault
        .iter()
        .map(|name| parse_signature_fault(name))
        .collect::<Result<_, _>>()
        .map_err(CliError::Usage)?;
    let roles = roles(&args)?;
    let config = EmulatorConfig {
        keys,
        roles,
        state_path: args.state.clone(),
        durations: Durations {
            create: seconds(args.create_seconds),
            change: seconds(args.change_seconds),
            token_memory: args.token_memory_seconds.map(seconds),
            backup: seconds(args.backup_seconds.unwrap_or(args.change_seconds)),
        },
        faults: Faults {
            latency: Duration::from_millis(args.latency_ms),
            fault_rate: args.fault_rate,
            lost_response_rate: args.lost_response_rate,
            lose_responses,
            qps,
            signature_faults,
            fail_backups: args.fail_backups,
        },
        clock_offset: Arc::new(AtomicI64::new(args.clock_offset.as_secs())),
        ..EmulatorConfig::default()
    };
    let running = emulator::start(&args.listen, config).await?;
    // Watched before the banner: a supervisor that signals once it reads the address must not
    // find the default action (death) still in place.
    let stop = crate::signals::stop();
    // A service: its output is its log and its API, so a closed stdout does not stop it.
    let _ = crate::outln!("kvsync emulator listening on {}", running.url());
    tokio::select! {
        result = running.wait() => result?,
        () = stop => {}
    }
    Ok(ExitStatus::Success)
}
