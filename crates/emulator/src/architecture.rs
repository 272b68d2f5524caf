//! The architecture an operator declares besides the class: `NodeType`, `ShardCount`,
//! `ReplicaCount`, `ReadOnlyCount` and `SecondaryZoneId`, as `CreateInstance` and
//! `ModifyInstanceSpec` take them.
//!
//! Rules (the vendor reference gives the parameters, not all their bounds; these are the
//! emulator's, chosen after the cloud's documented limits):
//! - `NodeType` is `MASTER_SLAVE`/`double` (a primary and replicas) or `STAND_ALONE`/`single`
//!   (one node, no replica, standard classes only, no secondary zone).
//! - `ShardCount` (2–256) applies to cluster classes only.
//! - `ReplicaCount` (1–9, default 1) needs `MASTER_SLAVE`.
//! - `ReadOnlyCount` (1–9, default the class's) applies to read/write splitting classes only;
//!   replicas and read-only nodes are at most 9 together.
//! - `SecondaryZoneId` is another zone of the instance's region than its `ZoneId`.
//!
//! Unset counts take the class's default, so after a class change only the overrides that
//! fit the new class stay.

use super::catalog::{self, Class, Region};
use super::errors::VendorError;
use super::state::Architecture;

/// The architecture fields of one request; `None` leaves a value as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Requested<'a> {
    /// `NodeType`.
    pub node_type: Option<&'a str>,
    /// `ShardCount`.
    pub shard_count: Option<u64>,
    /// `ReplicaCount`.
    pub replica_count: Option<u64>,
    /// `ReadOnlyCount`.
    pub read_only_count: Option<u64>,
    /// `SecondaryZoneId`.
    pub secondary_zone_id: Option<&'a str>,
}

impl Requested<'_> {
    /// Whether the request names no architecture field.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Requested::default()
    }
}

/// Whether a `NodeType` is a single node: `Some(true)` for `STAND_ALONE`/`single`,
/// `Some(false)` for `MASTER_SLAVE`/`double`, `None` for anything else.
fn parse_node_type(value: &str) -> Option<bool> {
    match value {
        "STAND_ALONE" | "single" => Some(true),
        "MASTER_SLAVE" | "double" => Some(false),
        _ => None,
    }
}

/// The architecture `requested` makes of `current` on `class`, for an instance in `zone` of
/// `region`, or the error of the first rule it breaks.
pub(crate) fn resolve(
    current: &Architecture,
    requested: &Requested<'_>,
    class: &Class,
    region: &Region,
    zone: &str,
) -> Result<Architecture, VendorError> {
    let stand_alone = match requested.node_type {
        Some(value) => {
            parse_node_type(value).ok_or_else(|| VendorError::invalid_parameter("NodeType"))?
        }
        None => current.stand_alone,
    };
    if stand_alone && class.architecture != "standard" {
        return Err(VendorError::invalid_parameter_because(
            "NodeType",
            "STAND_ALONE is available on standard classes only.",
        ));
    }
    if let Some(shards) = requested.shard_count {
        if !class.is_cluster() {
            return Err(VendorError::invalid_parameter_because(
                "ShardCount",
                "ShardCount applies to cluster classes only.",
            ));
        }
        if !catalog::SHARD_COUNTS.contains(&shards) {
            return Err(VendorError::invalid_parameter_because(
                "ShardCount",
                "It must be 2 to 256.",
            ));
        }
    }
    if let Some(replicas) = requested.replica_count {
        if stand_alone {
            return Err(VendorError::invalid_parameter_because(
                "ReplicaCount",
                "A STAND_ALONE instance has no replicas.",
            ));
        }
        if !catalog::REPLICA_COUNTS.contains(&replicas) {
            return Err(VendorError::invalid_parameter_because(
                "ReplicaCount",
                "It must be 1 to 9.",
            ));
        }
    }
    if let Some(read_only) = requested.read_only_count {
        if !class.is_rwsplit() {
            return Err(VendorError::invalid_parameter_because(
                "ReadOnlyCount",
                "ReadOnlyCount applies to read/write splitting classes only.",
            ));
        }
        if !catalog::READ_ONLY_COUNTS.contains(&read_only) {
            return Err(VendorError::invalid_parameter_because(
                "ReadOnlyCount",
                "It must be 1 to 9.",
            ));
        }
    }
    let secondary_zone_id = match requested.secondary_zone_id {
        Some(secondary) => {
            if !region.zones.contains(&secondary) {
                return Err(VendorError::zone_not_found());
            }
            if secondary == zone {
                return Err(VendorError::invalid_parameter_because(
                    "SecondaryZoneId",
                    "It must differ from ZoneId.",
                ));
            }
            secondary.to_owned()
        }
        None => current.secondary_zone_id.clone(),
    };
    if stand_alone && !secondary_zone_id.is_empty() {
        return Err(VendorError::invalid_parameter_because(
            "SecondaryZoneId",
            "A STAND_ALONE instance has one node in one zone.",
        ));
    }
    let resolved = Architecture {
        stand_alone,
        shard_count: class
            .is_cluster()
            .then(|| requested.shard_count.or(current.shard_count))
            .flatten(),
        replica_count: (!stand_alone)
            .then(|| requested.replica_count.or(current.replica_count))
            .flatten(),
        read_only_count: class
            .is_rwsplit()
            .then(|| requested.read_only_count.or(current.read_only_count))
            .flatten(),
        secondary_zone_id,
    };
    let nodes = replica_count(&resolved) + read_only_count(&resolved, class);
    if nodes > i64::try_from(catalog::MAX_REPLICAS_AND_READ_ONLY).unwrap_or(i64::MAX) {
        return Err(VendorError::invalid_parameter_because(
            "ReadOnlyCount",
            "ReplicaCount and ReadOnlyCount are at most 9 together.",
        ));
    }
    Ok(resolved)
}

/// Whether two architectures on `class` report the same values (a default and the same
/// value declared are one).
pub(crate) fn same_in_effect(a: &Architecture, b: &Architecture, class: &Class) -> bool {
    a.stand_alone == b.stand_alone
        && shard_count(a, class) == shard_count(b, class)
        && replica_count(a) == replica_count(b)
        && read_only_count(a, class) == read_only_count(b, class)
        && a.secondary_zone_id == b.secondary_zone_id
}

/// A count as the API reports it.
fn reported(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// `ShardCount` in effect.
pub(crate) fn shard_count(architecture: &Architecture, class: &Class) -> i64 {
    match architecture.shard_count {
        Some(shards) if class.is_cluster() => reported(shards),
        _ => class.shards,
    }
}

/// A class's per-instance figure (capacity, bandwidth, connections, QPS) for the shards in
/// effect: a cluster's figures are per shard times the shards, so a declared `ShardCount`
/// scales them.
pub(crate) fn scaled(figure: i64, architecture: &Architecture, class: &Class) -> i64 {
    if class.shards <= 0 {
        return figure;
    }
    figure / class.shards * shard_count(architecture, class)
}

/// `ReplicaCount` in effect: none for a single node, else 1 unless set.
pub(crate) fn replica_count(architecture: &Architecture) -> i64 {
    if architecture.stand_alone {
        0
    } else {
        architecture.replica_count.map_or(1, reported)
    }
}

/// `ReadOnlyCount` in effect: the class's unless set, none outside read/write splitting.
pub(crate) fn read_only_count(architecture: &Architecture, class: &Class) -> i64 {
    if class.is_rwsplit() {
        architecture
            .read_only_count
            .map_or(class.read_only, reported)
    } else {
        0
    }
}

/// `NodeType` as `DescribeInstances` and `DescribeInstanceAttribute` report it.
pub(crate) fn listed_node_type(architecture: &Architecture) -> &'static str {
    if architecture.stand_alone {
        "single"
    } else {
        "double"
    }
}

/// `NodeType` as `CreateInstance` answers it.
pub(crate) fn created_node_type(architecture: &Architecture) -> &'static str {
    if architecture.stand_alone {
        "STAND_ALONE"
    } else {
        "MASTER_SLAVE"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hangzhou() -> &'static Region {
        catalog::region("cn-hangzhou").unwrap()
    }

    fn class(code: &str) -> &'static Class {
        catalog::class(code).unwrap()
    }

    const STANDARD: &str = "redis.master.small.default";
    const CLUSTER: &str = "redis.logic.sharding.2g.4db.0rodb.4proxy.default";
    const SPLIT: &str = "redis.logic.splitrw.default.1db.1rodb.4proxy";

    fn resolve_on(code: &str, requested: Requested<'_>) -> Result<Architecture, VendorError> {
        resolve(
            &Architecture::default(),
            &requested,
            class(code),
            hangzhou(),
            "cn-hangzhou-b",
        )
    }

    fn refused(code: &str, requested: Requested<'_>) -> String {
        resolve_on(code, requested).unwrap_err().message
    }

    #[test]
    fn defaults_come_from_the_class() {
        let default = Architecture::default();
        assert_eq!(shard_count(&default, class(CLUSTER)), 4);
        assert_eq!(shard_count(&default, class(STANDARD)), 1);
        assert_eq!(replica_count(&default), 1);
        assert_eq!(read_only_count(&default, class(SPLIT)), 1);
        assert_eq!(read_only_count(&default, class(STANDARD)), 0);
        assert_eq!(listed_node_type(&default), "double");
        assert_eq!(created_node_type(&default), "MASTER_SLAVE");
    }

    #[test]
    fn declared_values_are_the_ones_in_effect() {
        let cluster = resolve_on(
            CLUSTER,
            Requested {
                shard_count: Some(8),
                replica_count: Some(2),
                secondary_zone_id: Some("cn-hangzhou-e"),
                ..Requested::default()
            },
        )
        .unwrap();
        assert_eq!(shard_count(&cluster, class(CLUSTER)), 8);
        assert_eq!(replica_count(&cluster), 2);
        assert_eq!(cluster.secondary_zone_id, "cn-hangzhou-e");
        let split = resolve_on(
            SPLIT,
            Requested {
                read_only_count: Some(5),
                ..Requested::default()
            },
        )
        .unwrap();
        assert_eq!(read_only_count(&split, class(SPLIT)), 5);
        let single = resolve_on(
            STANDARD,
            Requested {
                node_type: Some("STAND_ALONE"),
                ..Requested::default()
            },
        )
        .unwrap();
        assert_eq!(replica_count(&single), 0);
        assert_eq!(listed_node_type(&single), "single");
    }

    #[test]
    fn counts_that_do_not_fit_the_class_are_refused() {
        let shards = Requested {
            shard_count: Some(4),
            ..Requested::default()
        };
        assert!(refused(STANDARD, shards).contains("ShardCount"));
        let read_only = Requested {
            read_only_count: Some(2),
            ..Requested::default()
        };
        assert!(refused(CLUSTER, read_only).contains("ReadOnlyCount"));
        let single_cluster = Requested {
            node_type: Some("single"),
            ..Requested::default()
        };
        assert!(refused(CLUSTER, single_cluster).contains("NodeType"));
        let single_with_replicas = Requested {
            node_type: Some("STAND_ALONE"),
            replica_count: Some(1),
            ..Requested::default()
        };
        assert!(refused(STANDARD, single_with_replicas).contains("ReplicaCount"));
    }

    #[test]
    fn counts_out_of_range_are_refused() {
        for (requested, name) in [
            (
                Requested {
                    shard_count: Some(1),
                    ..Requested::default()
                },
                "ShardCount",
            ),
            (
                Requested {
                    replica_count: Some(0),
                    ..Requested::default()
                },
                "ReplicaCount",
            ),
            (
                Requested {
                    replica_count: Some(10),
                    ..Requested::default()
                },
                "ReplicaCount",
            ),
            (
                Requested {
                    node_type: Some("TRIPLE"),
                    ..Requested::default()
                },
                "NodeType",
            ),
        ] {
            let code = if name == "ShardCount" {
                CLUSTER
            } else {
                STANDARD
            };
            let err = resolve_on(code, requested).unwrap_err();
            assert_eq!(err.code, "InvalidParameter");
            assert!(err.message.contains(name), "{}", err.message);
        }
        let too_many = Requested {
            replica_count: Some(5),
            read_only_count: Some(5),
            ..Requested::default()
        };
        assert!(refused(SPLIT, too_many).contains("ReadOnlyCount"));
    }

    #[test]
    fn the_secondary_zone_is_another_zone_of_the_region() {
        let same = Requested {
            secondary_zone_id: Some("cn-hangzhou-b"),
            ..Requested::default()
        };
        assert!(refused(STANDARD, same).contains("SecondaryZoneId"));
        let elsewhere = Requested {
            secondary_zone_id: Some("cn-beijing-a"),
            ..Requested::default()
        };
        assert_eq!(
            resolve_on(STANDARD, elsewhere).unwrap_err().code,
            "InvalidZoneId.NotFound"
        );
    }

    #[test]
    fn overrides_that_do_not_fit_a_new_class_are_dropped() {
        let current = resolve_on(
            CLUSTER,
            Requested {
                shard_count: Some(8),
                ..Requested::default()
            },
        )
        .unwrap();
        let moved = resolve(
            &current,
            &Requested::default(),
            class(STANDARD),
            hangzhou(),
            "cn-hangzhou-b",
        )
        .unwrap();
        assert_eq!(moved.shard_count, None);
        assert_eq!(shard_count(&moved, class(STANDARD)), 1);
    }

    #[test]
    fn a_cluster_figures_scale_with_its_shards() {
        let cluster = class(CLUSTER);
        let default = Architecture::default();
        assert_eq!(
            scaled(cluster.capacity_mb, &default, cluster),
            cluster.capacity_mb
        );
        let doubled = Architecture {
            shard_count: Some(8),
            ..Architecture::default()
        };
        assert_eq!(
            scaled(cluster.capacity_mb, &doubled, cluster),
            2 * cluster.capacity_mb
        );
        let standard = class(STANDARD);
        assert_eq!(scaled(standard.qps, &doubled, standard), standard.qps);
    }
}
