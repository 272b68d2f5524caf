//! What the cloud reported: plain, normalised data, no IO.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::manifest::desired::{Privilege, Weekday};
use crate::values::{
    ChargeType, EngineVersion, HourWindow, InstanceStatus, Ipv4Net, NetworkType, Reported,
};

/// The observed state of every region kvsync looked at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Region → every instance listed there (managed or not).
    pub regions: BTreeMap<String, Vec<ObservedInstance>>,
}

/// One instance as the cloud reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedInstance {
    /// `InstanceId`.
    pub id: String,
    /// `InstanceName`.
    pub name: String,
    /// `RegionId`.
    pub region: String,
    /// `InstanceStatus`.
    pub status: InstanceStatus,
    /// `InstanceClass`.
    pub instance_class: String,
    /// `EngineVersion`.
    pub engine_version: Reported<EngineVersion>,
    /// `ZoneId`.
    pub zone_id: String,
    /// `ChargeType`.
    pub charge_type: ChargeType,
    /// `NetworkType`.
    pub network_type: NetworkType,
    /// `VpcId` (empty on the classic network).
    pub vpc_id: String,
    /// `VSwitchId` (empty on the classic network).
    pub vswitch_id: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// `InstanceReleaseProtection`; `None` when the attribute was not read.
    pub release_protection: Option<bool>,
    /// `MaintainStartTime`/`MaintainEndTime` (from the attribute).
    pub maintenance_window: Option<Reported<HourWindow>>,
    /// `VpcAuthMode` (from the attribute).
    pub vpc_auth_mode: Option<String>,
    /// Parameters (from the attribute's `Config`), values as strings.
    pub config: Option<BTreeMap<String, String>>,
    /// TLS on (`DescribeInstanceSSL`).
    pub ssl: Option<bool>,
    /// Whitelist groups and their normalised entries, system groups included
    /// (`DescribeSecurityIps`).
    pub whitelists: Option<BTreeMap<String, BTreeSet<Reported<Ipv4Net>>>>,
    /// Accounts by name, the default (`Super`) one included (`DescribeAccounts`).
    pub accounts: Option<BTreeMap<String, ObservedAccount>>,
    /// The backup policy (`DescribeBackupPolicy`).
    pub backup_policy: Option<ObservedBackupPolicy>,
    /// The classic endpoint kept after a switch into a VPC (`DescribeDBInstanceNetInfo`):
    /// `None` when not read, `Some(None)` when there is none.
    #[serde(default)]
    pub classic_endpoint: Option<Option<ObservedClassicEndpoint>>,
    /// The instance's own endpoint (from the attribute's `ConnectionDomain` and `Port`).
    #[serde(default)]
    pub endpoint: Option<ObservedEndpoint>,
    /// Node type, shards, replicas, read-only nodes, secondary zone (from the attribute).
    #[serde(default)]
    pub architecture: Option<ObservedArchitecture>,
    /// `HasRenewChangeOrder`: the cloud holds an order for this instance that has not taken
    /// effect yet, such as a change scheduled for the maintenance window (from the listing).
    #[serde(default)]
    pub change_order_pending: bool,
}

/// One account as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedAccount {
    /// `AccountType`: `Normal` or `Super`.
    pub account_type: String,
    /// `AccountStatus`: `Available` or `Unavailable`.
    pub status: String,
    /// The privilege, when it is one kvsync knows.
    pub privilege: Option<Privilege>,
    /// The privilege as reported.
    pub privilege_text: String,
    /// `AccountDescription`.
    pub description: String,
}

impl ObservedAccount {
    /// Whether this is a normal account (the ones `accounts` manages).
    pub fn is_normal(&self) -> bool {
        self.account_type != "Super"
    }
}

/// A classic-network endpoint kept after a switch into a VPC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedClassicEndpoint {
    /// Its connection string.
    pub connection_string: String,
    /// Seconds until it expires.
    pub remaining_secs: i64,
}

/// The tag recording the retention last set for the classic endpoint, in days: the cloud
/// reports only the time left, which shrinks every day, so kvsync compares the manifest with
/// what it last asked for.
pub const CLASSIC_DAYS_TAG: &str = "kvsync:classic-days";

/// An instance's own endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedEndpoint {
    /// `ConnectionDomain`, e.g. `r-abc.redis.rds.aliyuncs.com`.
    pub connection_string: String,
    /// `Port`.
    pub port: i64,
}

/// An instance's architecture as `DescribeInstanceAttribute` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedArchitecture {
    /// `NodeType`, as reported (`double`, `MASTER_SLAVE`, …).
    pub node_type: String,
    /// `ShardCount`.
    pub shard_count: i64,
    /// `ReplicaCount`.
    pub replica_count: i64,
    /// `ReadOnlyCount`.
    pub read_only_count: i64,
    /// `SecondaryZoneId` (empty when there is none).
    pub secondary_zone_id: String,
}

/// The backup policy as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedBackupPolicy {
    /// `PreferredBackupTime`.
    pub time: Reported<HourWindow>,
    /// `PreferredBackupPeriod`, parsed.
    pub period: BTreeSet<Weekday>,
    /// `BackupRetentionPeriod` in days, when it reads as a number.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// `EnableBackupLog`.
    #[serde(default)]
    pub backup_log: bool,
}

/// The tag marking instances kvsync created.
pub const MANAGED_TAG: &str = "kvsync:managed";
/// The tag naming the stack that owns an instance.
pub const STACK_TAG: &str = "kvsync:stack";

impl ObservedInstance {
    /// Whether `stack` owns this instance (both ownership tags present).
    pub fn owned_by(&self, stack: &str) -> bool {
        self.tags.get(MANAGED_TAG).is_some_and(|v| v == "true")
            && self.tags.get(STACK_TAG).is_some_and(|v| v == stack)
    }

    /// The password digests recorded in the tags.
    pub fn digests(&self) -> BTreeMap<String, String> {
        kvsync_secrets::digest::decode_tags(&self.tags)
    }

    /// The tags that are labels, i.e. not kvsync's own.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.tags
            .iter()
            .filter(|(key, _)| !key.starts_with("kvsync:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl Observed {
    /// Instances of `region` called `name`.
    pub fn named<'a>(
        &'a self,
        region: &str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a ObservedInstance> + 'a {
        self.regions
            .get(region)
            .into_iter()
            .flatten()
            .filter(move |instance| instance.name == name)
    }

    /// The instance of `region` with this ID.
    ///
    /// Both lookups scan the region; a caller looking up many instances builds an
    /// [`ObservedIndex`] once instead.
    pub fn by_id(&self, region: &str, id: &str) -> Option<&ObservedInstance> {
        self.regions.get(region)?.iter().find(|i| i.id == id)
    }

    /// Lookups by name and by ID, built in one pass over the instances.
    pub fn index(&self) -> ObservedIndex<'_> {
        let mut regions: HashMap<&str, RegionIndex<'_>> = HashMap::new();
        for (region, instances) in &self.regions {
            let index = regions.entry(region).or_default();
            for instance in instances {
                index
                    .by_name
                    .entry(instance.name.as_str())
                    .or_default()
                    .push(instance);
                // The listing holds an ID once; should it not, the first one is the one
                // `Observed::by_id` finds too.
                index.by_id.entry(instance.id.as_str()).or_insert(instance);
            }
        }
        ObservedIndex { regions }
    }
}

/// [`Observed::named`] and [`Observed::by_id`] in constant time: a plan over N instances makes
/// N lookups, not N scans of the region. It borrows the observation, so it cannot go stale.
#[derive(Debug, Default)]
pub struct ObservedIndex<'a> {
    regions: HashMap<&'a str, RegionIndex<'a>>,
}

#[derive(Debug, Default)]
struct RegionIndex<'a> {
    /// Instances by name, in listing order.
    by_name: HashMap<&'a str, Vec<&'a ObservedInstance>>,
    by_id: HashMap<&'a str, &'a ObservedInstance>,
}

impl<'a> ObservedIndex<'a> {
    /// Instances of `region` called `name`, in listing order.
    pub fn named(
        &self,
        region: &str,
        name: &str,
    ) -> impl Iterator<Item = &'a ObservedInstance> + '_ {
        self.regions
            .get(region)
            .and_then(|index| index.by_name.get(name))
            .into_iter()
            .flatten()
            .copied()
    }

    /// The instance of `region` with this ID.
    pub fn by_id(&self, region: &str, id: &str) -> Option<&'a ObservedInstance> {
        self.regions.get(region)?.by_id.get(id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, name: &str) -> ObservedInstance {
        ObservedInstance {
            id: id.into(),
            name: name.into(),
            ..ObservedInstance::default()
        }
    }

    #[test]
    fn the_index_finds_what_the_scans_find() {
        let observed = Observed {
            regions: BTreeMap::from([
                (
                    "cn-hangzhou".to_owned(),
                    vec![
                        instance("r-1", "web"),
                        instance("r-2", "cache"),
                        instance("r-3", "web"),
                    ],
                ),
                ("cn-beijing".to_owned(), vec![instance("r-4", "web")]),
            ]),
        };
        let index = observed.index();
        for (region, name) in [
            ("cn-hangzhou", "web"),
            ("cn-hangzhou", "cache"),
            ("cn-beijing", "web"),
            ("cn-beijing", "cache"),
            ("cn-shanghai", "web"),
        ] {
            let scanned: Vec<&str> = observed
                .named(region, name)
                .map(|i| i.id.as_str())
                .collect();
            let indexed: Vec<&str> = index.named(region, name).map(|i| i.id.as_str()).collect();
            assert_eq!(indexed, scanned, "{region}/{name}");
        }
        assert_eq!(
            index
                .named("cn-hangzhou", "web")
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>(),
            vec!["r-1", "r-3"],
            "in listing order"
        );
        for (region, id) in [
            ("cn-hangzhou", "r-2"),
            ("cn-beijing", "r-2"),
            ("cn-beijing", "r-4"),
        ] {
            assert_eq!(
                index.by_id(region, id).map(|i| &i.id),
                observed.by_id(region, id).map(|i| &i.id),
                "{region}/{id}"
            );
        }
        assert!(
            index.by_id("cn-hangzhou", "r-4").is_none(),
            "IDs are per region"
        );
    }
}
