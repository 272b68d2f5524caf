//! What the cloud reported: plain, normalised data, no IO.

use std::collections::{BTreeMap, BTreeSet};

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
    pub fn by_id(&self, region: &str, id: &str) -> Option<&ObservedInstance> {
        self.regions.get(region)?.iter().find(|i| i.id == id)
    }
}
