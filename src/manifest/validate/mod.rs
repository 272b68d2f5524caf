//! From raw documents to the validated [`Desired`] state, collecting every error.
//!
//! The rules themselves are pure functions in [`super::rules`]; this module applies them to
//! documents and records every problem. Synchronous and free of IO.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::{Location, Spanned};

use super::desired::{Charge, DesiredInstance, InstanceKey, Network, Source, Stack, VpcAuthMode};
use super::diagnostics::Collector;
use super::raw;
use super::rules::{instance_name_problem, period_allowed, region_problem, tag_text_problem};

mod aspects;
pub mod attached;

/// The only `apiVersion` this kvsync reads.
pub const API_VERSION: &str = "kvsync/v1";
/// Tag keys kvsync sets itself; labels may not use this prefix.
pub const RESERVED_TAG_PREFIX: &str = "kvsync:";
/// Engine versions an instance can be created with.
pub const ENGINE_VERSIONS: &[&str] = &["2.8", "4.0", "5.0", "6.0", "7.0"];
/// The cloud allows 20 tags per instance; kvsync keeps two for ownership.
pub const MAX_LABELS: usize = 18;

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

/// Validates one `kind: Instance` document. Returns `None` when it has errors (all recorded).
pub fn instance(
    c: &mut Collector<'_>,
    doc: raw::InstanceDoc,
    manifest_dir: &Path,
    default_region: Option<&str>,
) -> Option<DesiredInstance> {
    let before = c_errors(c);
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
    let region = match (&metadata.region, default_region) {
        (Some(region), _) => {
            if let Some(problem) = region_problem(&region.value) {
                c.error(region.referenced, "region", problem);
            }
            Some(region.value.clone())
        }
        (None, Some(default)) => Some(default.to_owned()),
        (None, None) => {
            c.error(
                doc.metadata.referenced,
                "region",
                "metadata.region is required (or set spec.region in the kind: Stack document)",
            );
            None
        }
    };

    let labels = metadata.labels.map(|labels| {
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
        for (key, value) in labels.value.0 {
            if key.value.starts_with(RESERVED_TAG_PREFIX) {
                c.error(
                    key.referenced,
                    "labels",
                    format!("label key {:?} uses the reserved prefix {RESERVED_TAG_PREFIX:?}", key.value),
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
                    "spec.instanceId {:?} is not an instance ID such as r-bp1zxszhcgatnx",
                    id.value
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
                    "spec.instanceClass {:?} is not an instance class code such as redis.master.small.default",
                    class.value
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

    let engine_version = spec.engine_version.map(|version| {
        if !ENGINE_VERSIONS.contains(&version.value.as_str()) {
            c.error(
                version.referenced,
                "engine-version",
                format!(
                    "spec.engineVersion {:?} is not supported; allowed: {}",
                    version.value,
                    ENGINE_VERSIONS.join(", ")
                ),
            );
        }
        version.value
    });

    let zone_id = spec.zone_id.map(|zone| {
        if let Some(region) = &region
            && !zone.value.starts_with(region.as_str())
        {
            c.error(
                zone.referenced,
                "zone",
                format!(
                    "spec.zoneId {:?} is not a zone of region {region}",
                    zone.value
                ),
            );
        }
        zone.value
    });

    let charge = match (&spec.charge_type, &spec.period) {
        (Some(charge), period) if charge.value == raw::ChargeType::PrePaid => match period {
            Some(period) if period_allowed(period.value) => Some(Charge::PrePaid {
                period: period.value,
            }),
            Some(period) => {
                c.error(
                    period.referenced,
                    "period",
                    format!(
                        "spec.period {} is not allowed; allowed: 1-9, 12, 24, 36 (months)",
                        period.value
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

    let network = spec.network.and_then(|network| {
        let net = network.value;
        match net.network_type.value {
            raw::NetworkType::Vpc => match (net.vpc_id, net.vswitch_id) {
                (Some(vpc), Some(vsw)) => {
                    let mut ok = true;
                    if !vpc.value.starts_with("vpc-") {
                        c.error(
                            vpc.referenced,
                            "network",
                            format!("vpcId {:?} is not a VPC ID (vpc-…)", vpc.value),
                        );
                        ok = false;
                    }
                    if !vsw.value.starts_with("vsw-") {
                        c.error(
                            vsw.referenced,
                            "network",
                            format!("vSwitchId {:?} is not a vSwitch ID (vsw-…)", vsw.value),
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

    let password = spec
        .password
        .map(|password| password.value.0.anchored_at(manifest_dir));
    let maintenance_window = spec
        .maintenance_window
        .and_then(|w| aspects::maintenance_window(c, w));
    let whitelists = spec.whitelists.map(|w| aspects::whitelists(c, w));
    let accounts = spec.accounts.map(|a| aspects::accounts(c, a, manifest_dir));
    let backup_policy = spec
        .backup_policy
        .and_then(|b| aspects::backup_policy(c, b));
    let config = spec.config.map(|config| aspects::config(c, config));

    if c_errors(c) > before {
        return None;
    }
    Some(DesiredInstance {
        key: InstanceKey {
            region: region?,
            name: name.value,
        },
        source: Source {
            path: c.path().to_owned(),
            line: c.file_line(name.referenced),
        },
        instance_id,
        labels,
        instance_class,
        engine_version,
        zone_id,
        charge,
        network,
        password,
        release_protection: spec.release_protection.map(|p| p.value),
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
    })
}

/// Validates a `kind: Stack` document.
pub fn stack(c: &mut Collector<'_>, doc: raw::StackDoc) -> Option<(Stack, Location)> {
    let before = c_errors(c);
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
                "stack name {:?} must be 1 to 64 characters of a-z, 0-9, - and _",
                name.value
            ),
        );
    }
    let spec = doc.spec.map(|spec| spec.value).unwrap_or_default();
    if let Some(parallelism) = &spec.parallelism
        && !(1..=64).contains(&parallelism.value)
    {
        c.error(
            parallelism.referenced,
            "parallelism",
            "spec.parallelism must be 1 to 64",
        );
    }
    if let Some(qps) = &spec.qps
        && !(qps.value.is_finite() && qps.value > 0.0 && qps.value <= 10_000.0)
    {
        c.error(
            qps.referenced,
            "qps",
            "spec.qps must be a positive number of requests per second (at most 10000)",
        );
    }
    if let Some(region) = &spec.region
        && let Some(problem) = region_problem(&region.value)
    {
        c.error(region.referenced, "region", problem);
    }
    if c_errors(c) > before {
        return None;
    }
    Some((
        Stack {
            name: name.value,
            region: spec.region.map(|r| r.value),
            prune: spec.prune.is_some_and(|p| p.value),
            prune_all: spec.prune_all.is_some_and(|p| p.value),
            parallelism: spec.parallelism.map(|p| p.value),
            qps: spec.qps.map(|q| q.value),
            allow_destroy: spec.allow_destroy.is_some_and(|a| a.value),
            allow_irreversible: spec.allow_irreversible.is_some_and(|a| a.value),
        },
        doc.metadata.referenced,
    ))
}

fn c_errors(c: &Collector<'_>) -> usize {
    c.count()
}
