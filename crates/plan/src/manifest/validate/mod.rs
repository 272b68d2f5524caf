//! From raw documents to the validated [`Desired`] state, collecting every error.
//!
//! The rules themselves are pure functions in [`super::rules`]; this module applies them to
//! documents and records every problem. Synchronous and free of IO.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_saphyr::Spanned;

use super::desired::SecretSite;
use super::desired::{
    Charge, DesiredInstance, Disruption, InstanceKey, Network, Source, Stack, StackRole,
    VpcAuthMode,
};
use super::diagnostics::Collector;
use super::raw;
use super::rules::{
    instance_name_problem, period_allowed, region_problem, shown, tag_text_problem, zone_problem,
};
use super::text::{mixed_script_problem, skeleton};
use crate::values::EngineVersion;
use kvsync_secrets::reference::{PathResolver, SecretRoots};

mod architecture;
mod aspects;
pub mod attached;
pub mod endpoint;

/// The only `apiVersion` this kvsync reads.
pub const API_VERSION: &str = "kvsync/v1";
/// Tag keys kvsync sets itself; labels may not use this prefix.
pub const RESERVED_TAG_PREFIX: &str = "kvsync:";
/// Engine versions an instance can be created with.
pub const ENGINE_VERSIONS: &[EngineVersion] = &[
    EngineVersion::new(2, 8),
    EngineVersion::new(4, 0),
    EngineVersion::new(5, 0),
    EngineVersion::new(6, 0),
    EngineVersion::new(7, 0),
];
/// The first engine version with TLS and normal accounts.
pub const ENGINE_4_0: EngineVersion = EngineVersion::new(4, 0);
/// The cloud allows 20 tags per instance; kvsync keeps two for ownership.
pub const MAX_LABELS: usize = 18;

/// The region of documents that name none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultRegion {
    /// This region (from the `kind: Stack` document or `--region`).
    Region(String),
    /// None: a document without `metadata.region` is an error.
    Missing,
    /// Not known because the `kind: Stack` document has an error: a document without
    /// `metadata.region` is skipped without an error of its own, which would only mislead.
    Unknown,
}

/// Where the parts of an instance are written, for the rules checked after `kind: Account` and
/// `kind: Whitelist` documents are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sites {
    /// `spec.accounts`, else the first `kind: Account` document of the instance.
    pub accounts: Option<Source>,
    /// `spec.whitelists`, else the first `kind: Whitelist` document of the instance.
    pub whitelists: Option<Source>,
    /// `metadata.labels`.
    pub labels: Option<Source>,
    /// Each whitelist group's name.
    pub groups: BTreeMap<String, Source>,
    /// Each account's `privilege` value, where one is written.
    pub privileges: BTreeMap<String, Source>,
}

/// What validating a document needs to know about its file: where relative `{file:}` paths
/// start and where secrets may be read from.
#[derive(Debug, Clone)]
pub struct FileContext<'a> {
    /// The manifest's directory, as its path was given (relative secret paths are anchored
    /// here, and shown so).
    pub dir: &'a Path,
    /// Where `{file:}` secrets may be read from.
    pub roots: Arc<SecretRoots>,
    /// How paths are resolved for the check.
    pub resolver: PathResolver,
}

/// Warns when `text` (called `what`, at `at`) mixes scripts whose letters look alike.
fn warn_mixed_script(c: &mut Collector<'_>, at: serde_saphyr::Location, what: &str, text: &str) {
    if let Some(problem) = mixed_script_problem(text) {
        c.warning(
            at,
            "confusable",
            format!("{what} {} {problem}", shown(text)),
        );
    }
}

/// Checks `apiVersion`.
pub fn check_api_version(c: &mut Collector<'_>, api_version: &Spanned<String>) {
    if api_version.value != API_VERSION {
        c.error(
            api_version.referenced,
            "api-version",
            format!(
                "apiVersion {:?} is not supported; use {API_VERSION:?}",
                api_version.value
            ),
        );
    }
}

/// Validates one `kind: Instance` document, returning it with the places of its parts.
/// Returns `None` when it has errors (all recorded) or its region is unknown.
pub fn instance(
    c: &mut Collector<'_>,
    doc: raw::InstanceDoc,
    files: &FileContext<'_>,
    default_region: &DefaultRegion,
) -> Option<(DesiredInstance, Sites)> {
    let before = c_errors(c);
    let mut sites = Sites::default();
    check_api_version(c, &doc.api_version);
    let metadata = doc.metadata.value;
    let spec = doc.spec.value;

    let name = metadata.name;
    if let Some(problem) = instance_name_problem(&name.value) {
        c.error(
            name.referenced,
            "instance-name",
            format!("metadata.name {problem}"),
        );
    }
    warn_mixed_script(c, name.referenced, "metadata.name", &name.value);
    let region = match (&metadata.region, default_region) {
        (Some(region), _) => {
            if let Some(problem) = region_problem(&region.value) {
                c.error(region.referenced, "region", problem);
                None
            } else {
                Some(region.value.clone())
            }
        }
        (None, DefaultRegion::Region(default)) => Some(default.clone()),
        (None, DefaultRegion::Missing) => {
            c.error(
                doc.metadata.referenced,
                "region",
                "metadata.region is required (or set spec.region in the kind: Stack document, pass --region, set ALIBABA_CLOUD_REGION_ID, or give the aliyun profile a region_id)",
            );
            None
        }
        (None, DefaultRegion::Unknown) => None,
    };

    let labels = metadata.labels.map(|labels| {
        sites.labels = Some(c.source(labels.referenced));
        if labels.value.0.len() > MAX_LABELS {
            c.error(
                labels.referenced,
                "labels",
                format!(
                    "{} labels given; at most {MAX_LABELS} are allowed (the cloud's 20 tags less kvsync's 2)",
                    labels.value.0.len()
                ),
            );
        }
        let mut map = BTreeMap::new();
        let mut skeletons: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in labels.value.0 {
            warn_mixed_script(c, key.referenced, "label key", &key.value);
            warn_mixed_script(c, value.referenced, "label value", &value.value);
            if let Some(first) = skeletons.insert(skeleton(&key.value), key.value.clone())
                && first != key.value
            {
                c.warning(
                    key.referenced,
                    "confusable",
                    format!(
                        "label key {} looks like the label key {} of the same instance (Unicode UTS #39 confusables); they are two different tags",
                        shown(&key.value),
                        shown(&first)
                    ),
                );
            }
            if key.value.starts_with(RESERVED_TAG_PREFIX) {
                c.error(
                    key.referenced,
                    "labels",
                    format!("label key {} uses the reserved prefix {RESERVED_TAG_PREFIX:?}", shown(&key.value)),
                );
            } else if let Some(problem) = tag_text_problem(&key.value, "key", 1) {
                c.error(key.referenced, "labels", problem);
            }
            if let Some(problem) = tag_text_problem(&value.value, "value", 0) {
                c.error(value.referenced, "labels", problem);
            }
            map.insert(key.value, value.value);
        }
        map
    });

    let instance_id = spec.instance_id.map(|id| {
        let valid = id.value.strip_prefix("r-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
        if !valid {
            c.error(
                id.referenced,
                "instance-id",
                format!(
                    "spec.instanceId {} is not an instance ID such as r-bp1zxszhcgatnx",
                    shown(&id.value)
                ),
            );
        }
        id.value
    });

    let instance_class = spec.instance_class.map(|class| {
        let valid = !class.value.is_empty()
            && class
                .value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-');
        if !valid {
            c.error(
                class.referenced,
                "instance-class",
                format!(
                    "spec.instanceClass {} is not an instance class code such as redis.master.small.default",
                    shown(&class.value)
                ),
            );
        }
        class.value
    });
    if instance_class.is_none() && instance_id.is_none() {
        c.error(
            doc.spec.referenced,
            "instance-class",
            "spec.instanceClass is required to create the instance (or pin an existing one with spec.instanceId)",
        );
    }

    let engine_version = spec.engine_version.and_then(|version| {
        let parsed = version
            .value
            .parse::<EngineVersion>()
            .ok()
            .filter(|parsed| ENGINE_VERSIONS.contains(parsed));
        if parsed.is_none() {
            c.error(
                version.referenced,
                "engine-version",
                format!(
                    "spec.engineVersion {} is not supported; allowed: {}",
                    shown(&version.value),
                    ENGINE_VERSIONS
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        parsed
    });

    if let (Some(ssl), Some(version)) = (&spec.ssl, &engine_version)
        && ssl.value == raw::SslMode::Enable
        && *version < ENGINE_4_0
    {
        c.error(
            ssl.referenced,
            "ssl",
            format!("TLS needs engine version 4.0 or later; this instance has {version} (allowed here: Disable)"),
        );
    }

    let zone_id = spec.zone_id.map(|zone| {
        if let Some(region) = &region
            && let Some(problem) = zone_problem(&zone.value, region)
        {
            c.error(zone.referenced, "zone", problem);
        }
        zone.value
    });
    let architecture = architecture::validate(
        c,
        architecture::Written {
            node_type: spec.node_type,
            shard_count: spec.shard_count,
            replica_count: spec.replica_count,
            read_only_count: spec.read_only_count,
            secondary_zone_id: spec.secondary_zone_id,
        },
        instance_class.as_deref(),
        zone_id.as_deref(),
        region.as_deref(),
    );

    let charge = match (&spec.charge_type, &spec.period) {
        (Some(charge), period) if charge.value == raw::ChargeType::PrePaid => match period {
            Some(period) if period_allowed(period.value.0) => Some(Charge::PrePaid {
                period: period.value.0,
            }),
            Some(period) => {
                c.error(
                    period.referenced,
                    "period",
                    format!(
                        "spec.period {} is not allowed; allowed: 1-9, 12, 24, 36 (months)",
                        period.value.0
                    ),
                );
                None
            }
            None => {
                c.error(
                    charge.referenced,
                    "period",
                    "chargeType PrePaid needs spec.period (months: 1-9, 12, 24 or 36)",
                );
                None
            }
        },
        (charge, Some(period)) => {
            c.error(
                period.referenced,
                "period",
                "spec.period applies only with chargeType: PrePaid",
            );
            charge.as_ref().map(|_| Charge::PostPaid)
        }
        (Some(_), None) => Some(Charge::PostPaid),
        (None, None) => None,
    };

    let mut classic_retention_days = None;
    let network = spec.network.and_then(|network| {
        let mut net = network.value;
        if let Some(days) = net.classic_retention_days.take() {
            classic_retention_days = endpoint::classic_retention(c, days, net.network_type.value);
        }
        match net.network_type.value {
            raw::NetworkType::Vpc => match (net.vpc_id, net.vswitch_id) {
                (Some(vpc), Some(vsw)) => {
                    let mut ok = true;
                    if !vpc.value.starts_with("vpc-") {
                        c.error(
                            vpc.referenced,
                            "network",
                            format!("vpcId {} is not a VPC ID (vpc-…)", shown(&vpc.value)),
                        );
                        ok = false;
                    }
                    if !vsw.value.starts_with("vsw-") {
                        c.error(
                            vsw.referenced,
                            "network",
                            format!(
                                "vSwitchId {} is not a vSwitch ID (vsw-…)",
                                shown(&vsw.value)
                            ),
                        );
                        ok = false;
                    }
                    ok.then_some(Network::Vpc {
                        vpc_id: vpc.value,
                        vswitch_id: vsw.value,
                    })
                }
                _ => {
                    c.error(
                        network.referenced,
                        "network",
                        "network type VPC needs both vpcId and vSwitchId",
                    );
                    None
                }
            },
            raw::NetworkType::Classic => {
                if let Some(extra) = net.vpc_id.as_ref().or(net.vswitch_id.as_ref()) {
                    c.error(
                        extra.referenced,
                        "network",
                        "network type Classic takes no vpcId or vSwitchId",
                    );
                }
                Some(Network::Classic)
            }
        }
    });

    let (password, password_site) = match spec.password {
        Some(password) => {
            let (reference, site) = aspects::secret(c, password.value, files);
            (Some(reference), site)
        }
        None => (None, SecretSite::default()),
    };
    let maintenance_window = spec
        .maintenance_window
        .and_then(|w| aspects::maintenance_window(c, w));
    let whitelists = spec
        .whitelists
        .map(|w| aspects::whitelists(c, w, &mut sites));
    let accounts = spec
        .accounts
        .map(|a| aspects::accounts(c, a, files, &mut sites));
    let origin = spec.source.and_then(|s| endpoint::source(c, s));
    let endpoint = spec.endpoint.map(|e| endpoint::endpoint(c, e));
    let private_ip = spec
        .private_ip
        .and_then(|ip| endpoint::private_ip(c, ip, network.as_ref()));
    let backup_policy = spec
        .backup_policy
        .and_then(|b| aspects::backup_policy(c, b));
    let config = spec.config.map(|config| aspects::config(c, config));

    if c_errors(c) > before {
        return None;
    }
    let instance = DesiredInstance {
        key: InstanceKey {
            region: region?,
            name: name.value,
        },
        source: c.source(name.referenced),
        instance_id,
        labels,
        instance_class,
        engine_version,
        zone_id,
        charge,
        network,
        password,
        password_site,
        release_protection: spec.release_protection.map(|p| p.value.0),
        maintenance_window,
        ssl: spec.ssl.map(|ssl| ssl.value == raw::SslMode::Enable),
        vpc_auth_mode: spec.vpc_auth_mode.map(|mode| match mode.value {
            raw::VpcAuthMode::Open => VpcAuthMode::Open,
            raw::VpcAuthMode::Close => VpcAuthMode::Close,
        }),
        whitelists,
        accounts,
        backup_policy,
        config,
        origin,
        endpoint,
        private_ip,
        classic_retention_days,
        architecture,
        disruption: spec.disruption.map(|d| disruption(d.value)),
        backup_before_risky: spec.backup_before_risky.map(|b| b.value.0),
    };
    Some((instance, sites))
}

/// Validates a `kind: Stack` document. The stack keeps every valid setting even when another
/// has an error, so that its region still serves the documents that rely on it; the region is
/// [`DefaultRegion::Unknown`] when it is itself in error.
pub fn stack(c: &mut Collector<'_>, doc: raw::StackDoc) -> (Stack, DefaultRegion) {
    check_api_version(c, &doc.api_version);
    let name = doc.metadata.value.name;
    let valid_name = (1..=64).contains(&name.value.len())
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_name {
        c.error(
            name.referenced,
            "stack-name",
            format!(
                "stack name {} must be 1 to 64 characters of a-z, 0-9, - and _",
                shown(&name.value)
            ),
        );
    }
    let spec = doc.spec.map(|spec| spec.value).unwrap_or_default();
    let parallelism = spec.parallelism.and_then(|parallelism| {
        let valid = (1..=64).contains(&parallelism.value.0);
        if !valid {
            c.error(
                parallelism.referenced,
                "parallelism",
                format!(
                    "spec.parallelism must be 1 to 64, not {}",
                    parallelism.value.0
                ),
            );
        }
        valid.then_some(parallelism.value.0)
    });
    let qps = spec.qps.and_then(|qps| {
        let qps_value = qps.value.0;
        // The range of `--qps`: the shared rate limiter needs at least one call per 100 s.
        let valid = qps_value.is_finite() && (0.01..=10_000.0).contains(&qps_value);
        if !valid {
            c.error(
                qps.referenced,
                "qps",
                "spec.qps must be 0.01 to 10000 requests per second",
            );
        }
        valid.then_some(qps_value)
    });
    let region = match spec.region {
        None => DefaultRegion::Missing,
        Some(region) => match region_problem(&region.value) {
            None => DefaultRegion::Region(region.value),
            Some(problem) => {
                c.error(region.referenced, "region", problem);
                DefaultRegion::Unknown
            }
        },
    };
    let stack = Stack {
        name: if valid_name {
            name.value
        } else {
            Stack::default().name
        },
        region: match &region {
            DefaultRegion::Region(region) => Some(region.clone()),
            _ => None,
        },
        prune: spec.prune.is_some_and(|p| p.value.0),
        prune_all: spec.prune_all.is_some_and(|p| p.value.0),
        parallelism,
        qps,
        allow_destroy: spec.allow_destroy.is_some_and(|a| a.value.0),
        allow_irreversible: spec.allow_irreversible.is_some_and(|a| a.value.0),
        disruption: spec.disruption.map(|d| disruption(d.value)),
        backup_before_risky: spec.backup_before_risky.is_some_and(|b| b.value.0),
        credentials: None,
    };
    let credentials = spec
        .credentials
        .and_then(|credentials| stack_role(c, credentials.value, &stack.name));
    let stack = Stack {
        credentials,
        ..stack
    };
    (stack, region)
}

/// Whether `arn` is a RAM role's ARN: `acs:ram::<account>:role/<name>`.
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("acs:ram::") else {
        return false;
    };
    let Some((account, role)) = rest.split_once(":role/") else {
        return false;
    };
    !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !role.is_empty()
        && role.len() <= 64
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Whether `name` is a session name STS accepts: 2 to 64 of `A-Z a-z 0-9 . @ - _`.
fn is_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'))
}

/// `spec.credentials`, checked: the role ARN's form, the session name, the duration STS
/// accepts and a policy that is a JSON object.
fn stack_role(c: &mut Collector<'_>, raw: raw::StackCredentials, stack: &str) -> Option<StackRole> {
    let mut valid = true;
    let role_arn = raw.role_arn;
    if !is_role_arn(&role_arn.value) {
        c.error(
            role_arn.referenced,
            "stack-credentials",
            format!(
                "spec.credentials.roleArn {} must be a RAM role's ARN, acs:ram::<account id>:role/<role name>",
                shown(&role_arn.value)
            ),
        );
        valid = false;
    }
    let session_name = match raw.session_name {
        Some(name) => {
            if !is_session_name(&name.value) {
                c.error(
                    name.referenced,
                    "stack-credentials",
                    format!(
                        "spec.credentials.sessionName {} must be 2 to 64 of A-Z, a-z, 0-9, '.', '@', '-', '_'",
                        shown(&name.value)
                    ),
                );
                valid = false;
            }
            name.value
        }
        None => format!("kvsync-{stack}").chars().take(64).collect(),
    };
    let duration_seconds = raw.duration_seconds.map(|duration| {
        if !(900..=43_200).contains(&duration.value.0) {
            c.error(
                duration.referenced,
                "stack-credentials",
                format!(
                    "spec.credentials.durationSeconds must be 900 to 43200 (what STS accepts), not {}",
                    duration.value.0
                ),
            );
            valid = false;
        }
        duration.value.0
    });
    let policy = raw.policy.map(|policy| {
        let object = serde_json::from_str::<serde_json::Value>(&policy.value)
            .is_ok_and(|value| value.is_object());
        if !object {
            c.error(
                policy.referenced,
                "stack-credentials",
                "spec.credentials.policy must be a JSON policy document (an object), as a string",
            );
            valid = false;
        }
        policy.value
    });
    valid.then(|| StackRole {
        role_arn: role_arn.value,
        session_name,
        duration_seconds,
        policy,
        external_id: raw.external_id.map(|id| id.value),
    })
}

fn disruption(raw: raw::Disruption) -> Disruption {
    match raw {
        raw::Disruption::Immediate => Disruption::Immediate,
        raw::Disruption::Window => Disruption::Window,
        raw::Disruption::Never => Disruption::Never,
    }
}

fn c_errors(c: &Collector<'_>) -> usize {
    c.count()
}
