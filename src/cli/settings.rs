//! Flags, environment and profile merged in one place into a ready client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::SignedDuration;

use super::GlobalArgs;
use crate::api::credentials::{
    self, CredentialFlags, CredentialSource, Credentials, CredentialsError, Endpoints, Provider,
    Spec,
};
use crate::api::regions::{self, UnknownRegion};
use crate::api::retry::RetryPolicy;
use crate::api::{self, Client, ClientConfig, Endpoint};
use crate::emulator::state::Durations;
use crate::emulator::{self, EmulatorConfig, EmulatorError, RunningEmulator};
use crate::env_vars;
use crate::secrets::Secret;

/// Where `--emulator` keeps its state, relative to the working directory.
pub const EMULATOR_STATE: &str = ".kvsync/emulator.json";

/// Why the settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// No credentials.
    #[error("finding credentials")]
    Credentials(#[from] CredentialsError),
    /// The profile file exists but cannot be read.
    #[error("reading {path}")]
    ProfileRead {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The client could not be built.
    #[error("setting up the API client")]
    Client(#[source] api::Error),
    /// The in-process emulator could not start.
    #[error("starting the in-process emulator")]
    Emulator(#[from] EmulatorError),
    /// An environment variable has an unusable value.
    #[error(
        "{name}={value:?} is not a number of seconds from 0 to {}",
        MAX_EMULATOR_SECONDS
    )]
    EnvSeconds {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// A region kvsync does not know (from `--region`, the environment or the profile).
    #[error(transparent)]
    Region(#[from] UnknownRegion),
    /// The request rate is outside its range.
    #[error("the request rate must be from 0.01 to 10000 requests per second, not {0}")]
    Qps(f64),
}

/// The longest emulator transition the environment may ask for, in seconds (a day).
const MAX_EMULATOR_SECONDS: f64 = 86_400.0;

pub use crate::api::ratelimit::{RateSource, effective_qps, log_rate};

/// Whether a rate is one the client accepts (the range of `--qps` and of the Stack's `qps`).
fn usable_qps(qps: f64) -> Result<f64, SettingsError> {
    if (0.01..=10_000.0).contains(&qps) {
        Ok(qps)
    } else {
        Err(SettingsError::Qps(qps))
    }
}

/// A client, and the in-process emulator behind it when `--emulator` is on.
pub struct Target {
    /// The client every call goes through.
    pub client: Client,
    /// Where the configuration of its credentials came from (the base of a Stack's role).
    pub source: CredentialSource,
    emulator: Option<RunningEmulator>,
}

impl Target {
    /// Stops the in-process emulator, if any, after its in-flight requests.
    pub async fn close(self) {
        if let Some(emulator) = self.emulator
            && let Err(err) = emulator.stop().await
        {
            tracing::warn!(error = %err, "the in-process emulator did not stop cleanly");
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Seconds from an environment variable, or `default`.
fn env_seconds(
    name: &'static str,
    default: SignedDuration,
) -> Result<SignedDuration, SettingsError> {
    match env(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=MAX_EMULATOR_SECONDS).contains(s))
            .and_then(|s| SignedDuration::try_from_secs_f64(s).ok())
            .ok_or(SettingsError::EnvSeconds { name, value }),
    }
}

/// Where the default region came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    /// `--region`.
    Flag,
    /// An environment variable.
    Env(&'static str),
    /// The `region_id` of this aliyun CLI profile.
    Profile(String),
}

impl std::fmt::Display for RegionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegionSource::Flag => f.write_str("--region"),
            RegionSource::Env(name) => f.write_str(name),
            RegionSource::Profile(name) => write!(f, "region_id of profile {name:?}"),
        }
    }
}

/// The default region of instances whose manifest names none, in the aliyun CLI's order with
/// the manifests in between: `--region` (which beats the Stack's `spec.region`), then the Stack,
/// then `ALIBABA_CLOUD_REGION_ID`, `ALICLOUD_REGION`, then the profile's `region_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regions {
    /// `--region`: before the Stack's.
    pub flag: Option<String>,
    /// From the environment or the profile: after the Stack's.
    pub fallback: Option<(String, RegionSource)>,
}

/// Resolves [`Regions`] from `--region`, an environment lookup and the profile's region (with
/// the profile's name). Every region that would be used is checked against the known ones
/// before any call: a typo in a later source is refused even when an earlier one wins, since it
/// would take over the moment the earlier one is removed.
pub fn resolve_regions(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    profile: Option<(String, String)>,
) -> Result<Regions, UnknownRegion> {
    if let Some(region) = flag {
        regions::check(region, "--region")?;
    }
    let from_env = [env_vars::ALIBABA_CLOUD_REGION_ID, env_vars::ALICLOUD_REGION]
        .into_iter()
        .find_map(|name| {
            env(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(|value| (value, RegionSource::Env(name)))
        });
    let fallback =
        from_env.or_else(|| profile.map(|(region, name)| (region, RegionSource::Profile(name))));
    if let Some((region, source)) = &fallback {
        regions::check(region, &source.to_string())?;
    }
    Ok(Regions {
        flag: flag.map(str::to_owned),
        fallback,
    })
}

/// The most of the aliyun CLI profile file kvsync reads.
const PROFILE_FILE_LIMIT: u64 = 1 << 20;

/// The aliyun CLI profile file's path and text, if it exists.
fn profile_file() -> Result<Option<(PathBuf, String)>, SettingsError> {
    let Some(path) = env(env_vars::HOME).map(|home| credentials::profile_path(Path::new(&home)))
    else {
        return Ok(None);
    };
    // A regular file only, never blocking on a FIFO, and bounded: it holds a few profiles.
    match crate::secrets::bounded_read::read_regular(&path, PROFILE_FILE_LIMIT) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some((path, text))),
            Err(_) => Err(SettingsError::ProfileRead {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
            }),
        },
        Err(crate::secrets::bounded_read::ReadError::Io(err))
            if err.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(err) => Err(SettingsError::ProfileRead {
            path,
            source: std::io::Error::other(err.to_string()),
        }),
    }
}

/// The default regions from `--region`, the environment and the profile.
pub fn regions(global: &GlobalArgs) -> Result<Regions, SettingsError> {
    let file = profile_file()?;
    let profile = credentials::profile_region(
        global.profile.as_deref(),
        &env,
        file.as_ref()
            .map(|(path, text)| (path.as_path(), text.as_str())),
    );
    let regions = resolve_regions(global.region.as_deref(), &env, profile)?;
    if let Some((region, source)) = &regions.fallback {
        tracing::info!(region = %region, source = %source, "default region when the manifests name none");
    }
    Ok(regions)
}

/// How manifests are loaded: the regions ([`regions`]) and `--secrets-dir`.
pub fn load_options(global: &GlobalArgs) -> Result<crate::manifest::LoadOptions, SettingsError> {
    let regions = regions(global)?;
    Ok(crate::manifest::LoadOptions {
        region: regions.flag,
        fallback_region: regions.fallback.map(|(region, _)| region),
        secrets_dirs: global.secrets_dirs.clone(),
    })
}

/// Resolves the credential chain from flags, environment and the aliyun CLI profile.
pub fn credentials(global: &GlobalArgs) -> Result<(Spec, CredentialSource), SettingsError> {
    let flags = CredentialFlags {
        access_key_id: global.access_key_id.clone(),
        access_key_secret: global.access_key_secret.clone().map(Secret::new),
        profile: global.profile.clone(),
        metadata_endpoint: global.metadata_endpoint.clone(),
    };
    let file = profile_file()?;
    let profile_file = file
        .as_ref()
        .map(|(path, text)| (path.as_path(), text.as_str()));
    Ok(credentials::resolve(&flags, &env, profile_file)?)
}

/// The STS and metadata endpoints from `--sts-endpoint`, `--metadata-endpoint` and the
/// environment; with `--emulator`, the in-process emulator's own unless a flag says otherwise.
fn endpoints(global: &GlobalArgs, emulator: Option<&str>) -> Endpoints {
    let mut found = credentials::chain::endpoints(
        global.sts_endpoint.as_deref(),
        global.metadata_endpoint.as_deref(),
        &env,
    );
    if let Some(url) = emulator {
        if global.sts_endpoint.is_none() {
            found.sts = url.to_owned();
        }
        if global.metadata_endpoint.is_none() {
            found.metadata = url.to_owned();
        }
    }
    found
}

/// Logs which provider the credentials come from, with the key's last four characters at most.
fn log_credentials(spec: &Spec, source: &CredentialSource) {
    tracing::info!(
        provider = %spec.provider_name(),
        source = %source,
        credentials = %spec.describe(),
        "credentials"
    );
}

/// The emulator durations for `--emulator`, from the environment.
pub fn emulator_durations() -> Result<Durations, SettingsError> {
    let defaults = Durations::default();
    let change = env_seconds(env_vars::KVSYNC_EMULATOR_CHANGE_SECONDS, defaults.change)?;
    Ok(Durations {
        create: env_seconds(env_vars::KVSYNC_EMULATOR_CREATE_SECONDS, defaults.create)?,
        change,
        token_memory: None,
        backup: change,
    })
}

/// The client's retry policy; `KVSYNC_NO_RETRY_DELAY` removes the waits (for tests).
fn retry_policy() -> RetryPolicy {
    let policy = RetryPolicy::default();
    if env(env_vars::KVSYNC_NO_RETRY_DELAY).is_some_and(|v| !v.is_empty()) {
        RetryPolicy {
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..policy
        }
    } else {
        policy
    }
}

/// Builds the client (starting the in-process emulator for `--emulator`) at the rate of
/// `--qps`, else the default.
pub async fn connect(global: &GlobalArgs) -> Result<Target, SettingsError> {
    connect_for(global, None).await
}

/// Builds the daemon's client: [`connect`], with the embedded emulator (`--emulator`) letting
/// its key assume `roles` (the roles the stacks' Stack documents name at start).
pub async fn connect_trusting(
    global: &GlobalArgs,
    roles: &[String],
) -> Result<Target, SettingsError> {
    connect_with(global, None, roles).await
}

/// Builds the client for the manifests' `stack`: at the rate of `--qps`, else the Stack
/// document's `qps`, else the default.
pub async fn connect_for(
    global: &GlobalArgs,
    stack: Option<&crate::manifest::desired::Stack>,
) -> Result<Target, SettingsError> {
    let roles: Vec<String> = stack
        .and_then(|stack| stack.credentials.as_ref())
        .map(|role| role.role_arn.clone())
        .into_iter()
        .collect();
    connect_with(global, stack, &roles).await
}

async fn connect_with(
    global: &GlobalArgs,
    stack: Option<&crate::manifest::desired::Stack>,
    roles: &[String],
) -> Result<Target, SettingsError> {
    // An unknown `--region` is refused before any call, whatever the command.
    if let Some(region) = &global.region {
        regions::check(region, "--region")?;
    }
    let (qps, source) = effective_qps(global.qps, stack.and_then(|stack| stack.qps));
    let qps = usable_qps(qps)?;
    log_rate(qps, source);
    let (endpoint, base, source, emulator) = if global.emulator {
        let mut config = EmulatorConfig {
            state_path: Some(PathBuf::from(EMULATOR_STATE)),
            durations: emulator_durations()?,
            ..EmulatorConfig::default()
        };
        // The embedded emulator lets its own key assume the roles the Stacks name, so that a
        // stack written for another account can be tried locally as it is.
        for role in roles {
            if let Err(err) = config
                .roles
                .add_role(role, &[emulator::DEFAULT_ACCESS_KEY_ID])
            {
                tracing::warn!(error = %err, "the embedded emulator does not know the Stack's role");
            }
        }
        let running = emulator::start("127.0.0.1:0", config).await?;
        let creds = Credentials {
            access_key_id: emulator::DEFAULT_ACCESS_KEY_ID.into(),
            access_key_secret: Secret::new(emulator::DEFAULT_ACCESS_KEY_SECRET),
            security_token: None,
        };
        tracing::info!(url = %running.url(), state = EMULATOR_STATE, "in-process emulator started");
        (
            Endpoint::Fixed(running.url()),
            Spec::Fixed(creds),
            CredentialSource::Emulator,
            Some(running),
        )
    } else {
        let (spec, source) = credentials(global)?;
        let endpoint = match &global.endpoint {
            Some(url) => Endpoint::Fixed(url.clone()),
            None => Endpoint::Regional,
        };
        (endpoint, spec, source, None)
    };
    let spec = crate::identity::stack_spec(base, stack);
    log_credentials(&spec, &source);
    let endpoints = endpoints(global, emulator.as_ref().map(|e| e.url()).as_deref());
    let client = Client::new(ClientConfig {
        endpoint,
        credentials: Provider::new(spec, endpoints),
        qps,
        retry: retry_policy(),
        timeout: Duration::from_secs(30),
    })
    .map_err(SettingsError::Client)?;
    Ok(Target {
        client,
        source,
        emulator,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn profile(region: &str) -> Option<(String, String)> {
        Some((region.to_owned(), "default".to_owned()))
    }

    #[test]
    fn the_flag_comes_first_and_the_environment_before_the_profile() {
        let env = env_of(&[
            ("ALIBABA_CLOUD_REGION_ID", "cn-beijing"),
            ("ALICLOUD_REGION", "cn-shenzhen"),
        ]);
        let regions = resolve_regions(Some("cn-shanghai"), &env, profile("us-west-1")).unwrap();
        assert_eq!(regions.flag.as_deref(), Some("cn-shanghai"));
        assert_eq!(
            regions.fallback,
            Some((
                "cn-beijing".into(),
                RegionSource::Env("ALIBABA_CLOUD_REGION_ID")
            ))
        );

        let env = env_of(&[("ALICLOUD_REGION", "cn-shenzhen")]);
        let regions = resolve_regions(None, &env, profile("us-west-1")).unwrap();
        assert_eq!(
            regions.fallback,
            Some(("cn-shenzhen".into(), RegionSource::Env("ALICLOUD_REGION")))
        );

        let regions = resolve_regions(None, &env_of(&[]), profile("us-west-1")).unwrap();
        assert_eq!(
            regions.fallback,
            Some(("us-west-1".into(), RegionSource::Profile("default".into())))
        );
        assert_eq!(
            resolve_regions(None, &env_of(&[("ALIBABA_CLOUD_REGION_ID", "")]), None).unwrap(),
            Regions::default()
        );
    }

    #[test]
    fn unknown_regions_are_refused_naming_their_source() {
        let err = resolve_regions(Some("cn-mars"), &env_of(&[]), None).unwrap_err();
        assert_eq!(err.source_name, "--region");
        let env = env_of(&[("ALIBABA_CLOUD_REGION_ID", "cn-mars")]);
        let err = resolve_regions(None, &env, None).unwrap_err();
        assert_eq!(err.source_name, "ALIBABA_CLOUD_REGION_ID");
        let err = resolve_regions(None, &env_of(&[]), profile("mars-1")).unwrap_err();
        assert!(err.to_string().contains("profile \"default\""), "{err}");
    }
}
