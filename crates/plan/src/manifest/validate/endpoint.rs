//! Validation of what a new instance is created with: `spec.source`, `spec.endpoint` (prefix
//! and port) and `spec.privateIp`.
//!
//! The vendor's rules: a prefix of 8 to 64 characters, lowercase letters and digits, starting
//! with a letter (`ModifyDBInstanceConnectionString`); a port of 1024 to 65535; a private IP
//! is an IPv4 address and needs a VPC.

use serde_saphyr::Spanned;

use super::super::desired::{Endpoint, Network, Origin, OriginPoint};
use super::super::diagnostics::Collector;
use super::super::raw;
use super::super::rules::shown;

/// Ports an instance may listen on.
const PORTS: std::ops::RangeInclusive<u32> = 1024..=65_535;

/// Why `prefix` is not an endpoint prefix the vendor accepts.
pub fn prefix_problem(prefix: &str) -> Option<String> {
    let starts_with_letter = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase());
    let allowed = prefix
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (!(8..=64).contains(&prefix.len()) || !starts_with_letter || !allowed).then(|| {
        format!(
            "spec.endpoint.prefix {} must be 8 to 64 lowercase letters and digits, starting with a letter",
            shown(prefix)
        )
    })
}

/// `spec.endpoint`.
pub(super) fn endpoint(c: &mut Collector<'_>, endpoint: Spanned<raw::Endpoint>) -> Endpoint {
    let raw::Endpoint { prefix, port } = endpoint.value;
    let prefix = prefix.map(|prefix| {
        if let Some(problem) = prefix_problem(&prefix.value) {
            c.error(prefix.referenced, "endpoint-prefix", problem);
        }
        prefix.value
    });
    let port = port.and_then(|port| {
        let valid = PORTS.contains(&port.value.0);
        if !valid {
            c.error(
                port.referenced,
                "endpoint-port",
                format!(
                    "spec.endpoint.port must be {} to {}, not {}",
                    PORTS.start(),
                    PORTS.end(),
                    port.value.0
                ),
            );
        }
        u16::try_from(port.value.0).ok().filter(|_| valid)
    });
    Endpoint { prefix, port }
}

/// `spec.privateIp`: an IPv4 address, in a VPC.
pub(super) fn private_ip(
    c: &mut Collector<'_>,
    ip: Spanned<String>,
    network: Option<&Network>,
) -> Option<std::net::Ipv4Addr> {
    let parsed = ip.value.parse::<std::net::Ipv4Addr>();
    match (&parsed, network) {
        (Err(_), _) => c.error(
            ip.referenced,
            "private-ip",
            format!("spec.privateIp {} is not an IPv4 address", shown(&ip.value)),
        ),
        (Ok(_), Some(Network::Vpc { .. })) => {}
        (Ok(_), _) => c.error(
            ip.referenced,
            "private-ip",
            "spec.privateIp needs spec.network of type VPC",
        ),
    }
    parsed.ok()
}

/// `spec.source`: an instance and exactly one of `backupId` (digits) and `restoreTime`
/// (RFC 3339).
pub(super) fn source(c: &mut Collector<'_>, source: Spanned<raw::Source>) -> Option<Origin> {
    let raw::Source {
        instance,
        backup_id,
        restore_time,
    } = source.value;
    if instance.value.is_empty() {
        c.error(
            instance.referenced,
            "source",
            "spec.source.instance names the source instance (a name in the region, or an ID)",
        );
        return None;
    }
    let from = match (backup_id, restore_time) {
        (Some(backup), None) => {
            if backup.value.is_empty() || !backup.value.bytes().all(|b| b.is_ascii_digit()) {
                c.error(
                    backup.referenced,
                    "source",
                    format!(
                        "spec.source.backupId {} is not a backup set ID (digits, as `kvsync backups` lists them)",
                        shown(&backup.value)
                    ),
                );
                return None;
            }
            OriginPoint::Backup(backup.value)
        }
        (None, Some(time)) => match time.value.parse::<jiff::Timestamp>() {
            Ok(at) => OriginPoint::Time(at),
            Err(_) => {
                c.error(
                    time.referenced,
                    "source",
                    format!(
                        "spec.source.restoreTime {} is not an RFC 3339 time such as 2026-12-01T08:00:00Z",
                        shown(&time.value)
                    ),
                );
                return None;
            }
        },
        (Some(_), Some(time)) => {
            c.error(
                time.referenced,
                "source",
                "spec.source takes backupId or restoreTime, not both",
            );
            return None;
        }
        (None, None) => {
            c.error(
                source.referenced,
                "source",
                "spec.source needs backupId or restoreTime",
            );
            return None;
        }
    };
    Some(Origin {
        instance: instance.value,
        from,
    })
}

/// The retention periods `SwitchNetwork` accepts for the classic endpoint, in days.
pub const CLASSIC_RETENTION_DAYS: [u32; 4] = [14, 30, 60, 120];

/// `spec.network.classicRetentionDays`: 14, 30, 60 or 120, with a VPC.
pub(super) fn classic_retention(
    c: &mut Collector<'_>,
    days: Spanned<raw::StrictU32>,
    network: raw::NetworkType,
) -> Option<u32> {
    if network != raw::NetworkType::Vpc {
        c.error(
            days.referenced,
            "classic-retention",
            "spec.network.classicRetentionDays applies to a switch into a VPC (type VPC)",
        );
        return None;
    }
    if !CLASSIC_RETENTION_DAYS.contains(&days.value.0) {
        c.error(
            days.referenced,
            "classic-retention",
            format!(
                "spec.network.classicRetentionDays must be 14, 30, 60 or 120, not {}",
                days.value.0
            ),
        );
        return None;
    }
    Some(days.value.0)
}
