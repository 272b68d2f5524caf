//! Diff rules for an instance's architecture: node type (either spelling), shards, replicas,
//! read-only nodes and the secondary zone, each only when declared. A difference is sent with
//! `ModifyInstanceSpec`, in the same call as a class change (see `instance::lifecycle`).

use crate::manifest::desired::{Architecture, NodeType};
use crate::model::Change;
use crate::observed::ObservedArchitecture;

/// What differs, and the values `ModifyInstanceSpec` sends for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchitectureDiff {
    /// The changed fields, for the plan.
    pub changes: Vec<Change>,
    /// `NodeType` to send.
    pub node_type: Option<String>,
    /// `ShardCount` to send.
    pub shard_count: Option<u64>,
    /// `ReplicaCount` to send.
    pub replica_count: Option<u64>,
    /// `ReadOnlyCount` to send.
    pub read_only_count: Option<u64>,
    /// `SecondaryZoneId` to send.
    pub secondary_zone_id: Option<String>,
}

impl ArchitectureDiff {
    /// The intent as text, for the `ClientToken` (empty when nothing differs).
    pub fn intent(&self) -> String {
        self.changes
            .iter()
            .map(|c| format!("{}={}", c.field, c.new.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Compares the declared parts of `desired` with `observed` (`None`: not read, so every
/// declared part is sent).
pub fn diff(desired: &Architecture, observed: Option<&ObservedArchitecture>) -> ArchitectureDiff {
    let mut out = ArchitectureDiff::default();
    let change = |field: &str, old: Option<String>, new: String| Change {
        field: field.to_owned(),
        old,
        new: Some(new),
    };
    if let Some(wanted) = desired.node_type {
        let current = observed.map(|o| o.node_type.as_str());
        if current.and_then(NodeType::from_cloud) != Some(wanted) {
            out.changes.push(change(
                "spec.nodeType",
                current.map(str::to_owned),
                wanted.as_str().to_owned(),
            ));
            out.node_type = Some(wanted.as_str().to_owned());
        }
    }
    let counts = [
        (
            "spec.shardCount",
            desired.shard_count,
            observed.map(|o| o.shard_count),
            &mut out.shard_count,
        ),
        (
            "spec.replicaCount",
            desired.replica_count,
            observed.map(|o| o.replica_count),
            &mut out.replica_count,
        ),
        (
            "spec.readOnlyCount",
            desired.read_only_count,
            observed.map(|o| o.read_only_count),
            &mut out.read_only_count,
        ),
    ];
    let mut changes = Vec::new();
    for (field, wanted, current, send) in counts {
        if let Some(wanted) = wanted
            && current != Some(i64::from(wanted))
        {
            changes.push(change(
                field,
                current.map(|c| c.to_string()),
                wanted.to_string(),
            ));
            *send = Some(u64::from(wanted));
        }
    }
    out.changes.extend(changes);
    if let Some(wanted) = &desired.secondary_zone_id {
        let current = observed.map(|o| o.secondary_zone_id.as_str());
        if current != Some(wanted.as_str()) {
            out.changes.push(change(
                "spec.secondaryZoneId",
                current.filter(|zone| !zone.is_empty()).map(str::to_owned),
                wanted.clone(),
            ));
            out.secondary_zone_id = Some(wanted.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed() -> ObservedArchitecture {
        ObservedArchitecture {
            node_type: "double".into(),
            shard_count: 2,
            replica_count: 1,
            read_only_count: 0,
            secondary_zone_id: String::new(),
        }
    }

    #[test]
    fn either_spelling_of_the_node_type_matches() {
        let desired = Architecture {
            node_type: Some(NodeType::MasterSlave),
            ..Architecture::default()
        };
        assert!(diff(&desired, Some(&observed())).changes.is_empty());
        let single = Architecture {
            node_type: Some(NodeType::StandAlone),
            ..Architecture::default()
        };
        let found = diff(&single, Some(&observed()));
        assert_eq!(found.node_type.as_deref(), Some("STAND_ALONE"));
        assert_eq!(found.changes[0].old.as_deref(), Some("double"));
    }

    #[test]
    fn only_declared_parts_that_differ_are_sent() {
        let desired = Architecture {
            shard_count: Some(4),
            replica_count: Some(1),
            secondary_zone_id: Some("cn-hangzhou-i".into()),
            ..Architecture::default()
        };
        let found = diff(&desired, Some(&observed()));
        assert_eq!(found.shard_count, Some(4));
        assert_eq!(found.replica_count, None, "already 1");
        assert_eq!(found.read_only_count, None, "not declared");
        assert_eq!(found.secondary_zone_id.as_deref(), Some("cn-hangzhou-i"));
        let fields: Vec<&str> = found.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.shardCount", "spec.secondaryZoneId"]);
        assert_eq!(
            found.intent(),
            "spec.shardCount=4;spec.secondaryZoneId=cn-hangzhou-i"
        );
        assert!(
            diff(&Architecture::default(), Some(&observed()))
                .changes
                .is_empty()
        );
    }
}
