//! Validation of `spec.nodeType`, `shardCount`, `replicaCount`, `readOnlyCount` and
//! `secondaryZoneId`: each in its range, and only with a class and node type that have it.
//!
//! Ranges (the vendor's console and API reference): 2 to 256 shards, on cluster classes only;
//! 1 to 9 replicas, never on a single-node instance; 1 to 9 read-only nodes, on read/write
//! splitting classes only; a secondary zone of the same region other than the primary zone.

use serde_saphyr::Spanned;

use super::super::desired::{Architecture, ClassArchitecture, NodeType};
use super::super::diagnostics::Collector;
use super::super::raw::{self, StrictU32};
use super::super::rules::{shown, zone_problem};

/// Shards of a cluster instance.
const SHARDS: std::ops::RangeInclusive<u32> = 2..=256;
/// Secondary nodes in the primary zone.
const REPLICAS: std::ops::RangeInclusive<u32> = 1..=9;
/// Read-only nodes of a read/write splitting instance.
const READ_ONLY: std::ops::RangeInclusive<u32> = 1..=9;

/// The manifest's architecture fields, as written.
pub(super) struct Written {
    pub node_type: Option<Spanned<raw::NodeType>>,
    pub shard_count: Option<Spanned<StrictU32>>,
    pub replica_count: Option<Spanned<StrictU32>>,
    pub read_only_count: Option<Spanned<StrictU32>>,
    pub secondary_zone_id: Option<Spanned<String>>,
}

/// Checks the fields against each other, the class (when declared), the zone and the region.
pub(super) fn validate(
    c: &mut Collector<'_>,
    written: Written,
    class: Option<&str>,
    zone: Option<&str>,
    region: Option<&str>,
) -> Architecture {
    let kind = class.map(ClassArchitecture::of);
    let node_type = written.node_type.map(|node| match node.value {
        raw::NodeType::MasterSlave | raw::NodeType::Double => NodeType::MasterSlave,
        raw::NodeType::StandAlone | raw::NodeType::Single => NodeType::StandAlone,
    });
    let mut count = |field: Option<Spanned<StrictU32>>,
                     name: &str,
                     rule: &'static str,
                     range: std::ops::RangeInclusive<u32>,
                     allowed: bool,
                     needs: &str| {
        let field = field?;
        let value = field.value.0;
        if !range.contains(&value) {
            c.error(
                field.referenced,
                rule,
                format!(
                    "spec.{name} must be {} to {}, not {value}",
                    range.start(),
                    range.end()
                ),
            );
        } else if !allowed {
            c.error(field.referenced, rule, format!("spec.{name} {needs}"));
        }
        Some(value)
    };
    let shard_count = count(
        written.shard_count,
        "shardCount",
        "shard-count",
        SHARDS,
        kind.is_none_or(|k| k == ClassArchitecture::Cluster),
        "applies only to cluster classes (redis.logic.sharding.…)",
    );
    let read_only_count = count(
        written.read_only_count,
        "readOnlyCount",
        "read-only-count",
        READ_ONLY,
        kind.is_none_or(|k| k == ClassArchitecture::ReadWriteSplitting),
        "applies only to read/write splitting classes (redis.logic.splitrw.…)",
    );
    let replica_count = count(
        written.replica_count,
        "replicaCount",
        "replica-count",
        REPLICAS,
        node_type != Some(NodeType::StandAlone),
        "needs replicas, which a STAND_ALONE (single) node type does not have",
    );
    let secondary_zone_id = written.secondary_zone_id.map(|secondary| {
        let problem = region
            .and_then(|region| zone_problem(&secondary.value, region))
            .or_else(|| {
                (zone == Some(secondary.value.as_str())).then(|| {
                    format!(
                        "spec.secondaryZoneId {} is the primary zone; name another zone of the region",
                        shown(&secondary.value)
                    )
                })
            })
            .or_else(|| {
                (node_type == Some(NodeType::StandAlone)).then(|| {
                    "spec.secondaryZoneId needs replicas, which a STAND_ALONE (single) node type does not have".to_owned()
                })
            });
        if let Some(problem) = problem {
            c.error(secondary.referenced, "secondary-zone", problem);
        }
        secondary.value
    });
    Architecture {
        node_type,
        shard_count,
        replica_count,
        read_only_count,
        secondary_zone_id,
    }
}
