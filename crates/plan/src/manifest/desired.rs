//! The validated desired state: what the manifests ask for, in types that cannot be invalid.
//!
//! Every optional field follows the rule "omitted means unmanaged": `None` is never compared
//! or changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::values::{ChargeType, EngineVersion, HourMinute, HourWindow, Ipv4Net, NetworkType};
use kvsync_secrets::reference::{SecretRef, SecretRoots};

/// The name of the stack when no `kind: Stack` document names one.
pub const DEFAULT_STACK: &str = "default";

/// Everything the manifests describe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    /// The stack these manifests form.
    pub stack: Stack,
    /// Instances, sorted by key.
    pub instances: Vec<DesiredInstance>,
}

/// Stack-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    /// Used in the `kvsync:stack` ownership tag and in idempotency tokens.
    pub name: String,
    /// Region for instances that name none.
    pub region: Option<String>,
    /// Whether owned instances that no manifest describes are deleted.
    pub prune: bool,
    /// Whether pruning may delete every instance of the stack at once.
    pub prune_all: bool,
    /// Instances changed at once (`None`: the command line decides).
    pub parallelism: Option<u32>,
    /// API requests per second (`None`: the command line decides).
    pub qps: Option<f64>,
    /// Whether the daemon may run destructive steps.
    pub allow_destroy: bool,
    /// Whether the daemon may run irreversible steps.
    pub allow_irreversible: bool,
    /// The disruption policy of instances that set none (`None`: `window` for instances that
    /// declare a maintenance window, `immediate` for the others).
    pub disruption: Option<Disruption>,
    /// Whether instances that do not say take a backup before risky steps.
    pub backup_before_risky: bool,
    /// The RAM role the stack's calls are made as (`None`: kvsync's own credentials).
    #[serde(default)]
    pub credentials: Option<StackRole>,
}

/// `spec.credentials`: the RAM role a stack's calls are made as, assumed with kvsync's own
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The session name (default `kvsync-<stack>`).
    pub session_name: String,
    /// The lifetime asked for, in seconds (default 3600).
    pub duration_seconds: Option<u32>,
    /// A JSON policy narrowing the role's permissions.
    pub policy: Option<String>,
    /// The role's external ID.
    pub external_id: Option<String>,
}

/// What a new instance starts from (`spec.source`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The source instance: a name in the same region, or a cloud ID (`r-…`).
    pub instance: String,
    /// A backup set of it, or a point in time.
    pub from: OriginPoint,
}

/// The data a new instance starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OriginPoint {
    /// `BackupId`: a backup set of the source.
    Backup(String),
    /// `RestoreTime`: the source's data at this moment (needs its log backups on).
    Time(jiff::Timestamp),
}

/// The instance's own endpoint; each `None` is unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The prefix of `<prefix>.redis.rds.aliyuncs.com`.
    pub prefix: Option<String>,
    /// The port.
    pub port: Option<u16>,
}

/// An instance's architecture; each `None` is unmanaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// `NodeType`.
    pub node_type: Option<NodeType>,
    /// `ShardCount` (cluster classes).
    pub shard_count: Option<u32>,
    /// `ReplicaCount`: secondary nodes in the primary zone.
    pub replica_count: Option<u32>,
    /// `ReadOnlyCount` (read/write splitting classes).
    pub read_only_count: Option<u32>,
    /// `SecondaryZoneId`.
    pub secondary_zone_id: Option<String>,
}

impl Architecture {
    /// Whether any part is managed.
    pub fn is_managed(&self) -> bool {
        *self != Architecture::default()
    }
}

/// Whether an instance has replicas. The API spells each kind two ways (`MASTER_SLAVE` and
/// `double`, `STAND_ALONE` and `single`); they compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeType {
    /// A primary with replicas.
    MasterSlave,
    /// A single node.
    StandAlone,
}

impl NodeType {
    /// The spelling kvsync sends.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeType::MasterSlave => "MASTER_SLAVE",
            NodeType::StandAlone => "STAND_ALONE",
        }
    }

    /// The node type the cloud reports in either spelling, if it is one.
    pub fn from_cloud(text: &str) -> Option<Self> {
        match text {
            "MASTER_SLAVE" | "double" => Some(NodeType::MasterSlave),
            "STAND_ALONE" | "single" => Some(NodeType::StandAlone),
            _ => None,
        }
    }
}

/// The architecture an instance class code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassArchitecture {
    /// One shard (`redis.master.…`, `tair.rdb.…`).
    Standard,
    /// Several shards behind proxies (`….sharding.…`).
    Cluster,
    /// A primary with read-only replicas behind proxies (`….splitrw.…`).
    ReadWriteSplitting,
}

impl ClassArchitecture {
    /// The architecture of class `code`.
    pub fn of(code: &str) -> Self {
        if code.contains(".sharding.") {
            ClassArchitecture::Cluster
        } else if code.contains(".splitrw.") {
            ClassArchitecture::ReadWriteSplitting
        } else {
            ClassArchitecture::Standard
        }
    }
}

/// When restart-class steps (those that restart an instance or disconnect its clients) may
/// run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disruption {
    /// As soon as apply reaches them.
    Immediate,
    /// In the instance's maintenance window: scheduled with the cloud where the API can, else
    /// held until the window opens.
    Window,
    /// Never: reported, not applied.
    Never,
}

impl Disruption {
    /// The manifest's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Disruption::Immediate => "immediate",
            Disruption::Window => "window",
            Disruption::Never => "never",
        }
    }
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            name: DEFAULT_STACK.to_owned(),
            region: None,
            prune: false,
            prune_all: false,
            parallelism: None,
            qps: None,
            allow_destroy: false,
            allow_irreversible: false,
            disruption: None,
            backup_before_risky: false,
            credentials: None,
        }
    }
}

/// An instance's identity: its name within its region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceKey {
    /// `RegionId`.
    pub region: String,
    /// `InstanceName`.
    pub name: String,
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region, self.name)
    }
}

/// Where something is written in the manifests, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line in the file (of an instance or account: its name).
    pub line: u64,
    /// The 1-based column.
    #[serde(default)]
    pub column: u64,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// Where a secret reference is written and which directories its file may be read from:
/// context for reading it and for messages, not part of what the manifests ask for, so any two
/// compare equal (moving a reference within a file changes nothing).
#[derive(Debug, Clone, Default)]
pub struct SecretSite {
    /// Where the variable name or path is written (`None`: not known, e.g. in tests).
    pub at: Option<Source>,
    /// Where a `{file:}` secret may be read from; empty: nowhere.
    pub roots: Arc<SecretRoots>,
}

impl PartialEq for SecretSite {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SecretSite {}

/// Billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Charge {
    /// Pay-as-you-go.
    PostPaid,
    /// Subscription for `period` months (1–9, 12, 24 or 36).
    PrePaid {
        /// Months.
        period: u32,
    },
}

impl Charge {
    /// The `ChargeType` spelling.
    pub fn charge_type(&self) -> &'static str {
        match self {
            Charge::PostPaid => "PostPaid",
            Charge::PrePaid { .. } => "PrePaid",
        }
    }

    /// The charge type, to compare with what the cloud reports.
    pub fn kind(&self) -> ChargeType {
        match self {
            Charge::PostPaid => ChargeType::PostPaid,
            Charge::PrePaid { .. } => ChargeType::PrePaid,
        }
    }
}

/// Network placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Network {
    /// The classic network.
    Classic,
    /// A VPC and vSwitch.
    #[serde(rename = "VPC")]
    Vpc {
        /// The VPC.
        vpc_id: String,
        /// The vSwitch.
        vswitch_id: String,
    },
}

impl Network {
    /// The `NetworkType` spelling.
    pub fn network_type(&self) -> &'static str {
        match self {
            Network::Classic => "CLASSIC",
            Network::Vpc { .. } => "VPC",
        }
    }

    /// The network type, to compare with what the cloud reports.
    pub fn kind(&self) -> NetworkType {
        match self {
            Network::Classic => NetworkType::Classic,
            Network::Vpc { .. } => NetworkType::Vpc,
        }
    }
}

/// One instance as the manifests want it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesiredInstance {
    /// Region and name.
    pub key: InstanceKey,
    /// The document it came from.
    pub source: Source,
    /// Pins or adopts an existing instance.
    pub instance_id: Option<String>,
    /// User labels (become tags); `None` leaves tags unmanaged.
    pub labels: Option<BTreeMap<String, String>>,
    /// `InstanceClass`.
    pub instance_class: Option<String>,
    /// `EngineVersion`.
    pub engine_version: Option<EngineVersion>,
    /// `ZoneId`.
    pub zone_id: Option<String>,
    /// Billing.
    pub charge: Option<Charge>,
    /// Network.
    pub network: Option<Network>,
    /// The default account's password.
    pub password: Option<SecretRef>,
    /// Where `password` is written and where its file may be read from.
    #[serde(skip)]
    pub password_site: SecretSite,
    /// Release protection.
    pub release_protection: Option<bool>,
    /// The daily maintenance window.
    pub maintenance_window: Option<MaintenanceWindow>,
    /// TLS on or off.
    pub ssl: Option<bool>,
    /// `Open` (password required) or `Close` (password-free in the VPC).
    pub vpc_auth_mode: Option<VpcAuthMode>,
    /// Whitelist groups (each listed group exact); `None`: whitelists unmanaged.
    pub whitelists: Option<BTreeMap<String, BTreeSet<Ipv4Net>>>,
    /// The exact set of normal accounts, by name; `None`: accounts unmanaged.
    pub accounts: Option<BTreeMap<String, DesiredAccount>>,
    /// The automatic backup policy.
    pub backup_policy: Option<BackupPolicy>,
    /// Parameters to compare and set (values as the API's strings).
    pub config: Option<BTreeMap<String, String>>,
    /// What the instance is created from (`spec.source`); used only at creation.
    #[serde(default)]
    pub origin: Option<Origin>,
    /// The endpoint's prefix and port; `None`: unmanaged.
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// Days the classic endpoint stays after a switch into a VPC (`None`: 14).
    #[serde(default)]
    pub classic_retention_days: Option<u32>,
    /// `PrivateIpAddress`, used when the instance is created.
    #[serde(default)]
    pub private_ip: Option<std::net::Ipv4Addr>,
    /// Node type, shards, replicas, read-only nodes and the secondary zone.
    #[serde(default)]
    pub architecture: Architecture,
    /// When restart-class steps may run (`None`: the stack's default).
    pub disruption: Option<Disruption>,
    /// Whether a backup is taken before risky steps (`None`: the stack's default).
    pub backup_before_risky: Option<bool>,
}

/// A maintenance window: `HH:mmZ` start and end, one hour apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// `MaintainStartTime`.
    pub start: HourMinute,
    /// `MaintainEndTime`.
    pub end: HourMinute,
}

impl MaintenanceWindow {
    /// The window, `start-end`.
    pub fn window(&self) -> HourWindow {
        HourWindow {
            start: self.start,
            end: self.end,
        }
    }
}

/// VPC password-free access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VpcAuthMode {
    /// A password is required.
    Open,
    /// Password-free access from within the VPC.
    Close,
}

impl VpcAuthMode {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VpcAuthMode::Open => "Open",
            VpcAuthMode::Close => "Close",
        }
    }
}

/// An account privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Privilege {
    /// Read and write.
    RoleReadWrite,
    /// Read only.
    RoleReadOnly,
    /// Replication.
    RoleRepl,
}

impl Privilege {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::RoleReadWrite => "RoleReadWrite",
            Privilege::RoleReadOnly => "RoleReadOnly",
            Privilege::RoleRepl => "RoleRepl",
        }
    }
}

/// A normal account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredAccount {
    /// `AccountName`.
    pub name: String,
    /// `AccountPrivilege`.
    pub privilege: Privilege,
    /// `AccountPassword`, by reference; `None` leaves it unmanaged.
    pub password: Option<SecretRef>,
    /// Where `password` is written and where its file may be read from.
    #[serde(skip)]
    pub password_site: SecretSite,
    /// `AccountDescription`; `None` leaves it unmanaged.
    pub description: Option<String>,
    /// The document it came from.
    pub source: Source,
}

/// The automatic backup policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// `PreferredBackupTime`, `HH:mmZ-HH:mmZ`.
    pub time: HourWindow,
    /// `PreferredBackupPeriod`, as weekdays in week order.
    pub period: BTreeSet<Weekday>,
    /// `BackupRetentionPeriod` in days; `None` leaves it unmanaged.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// `EnableBackupLog` (incremental log backups); `None` leaves it unmanaged.
    #[serde(default)]
    pub backup_log: Option<bool>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Weekday {
    /// Every day, in week order.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Monday => "Monday",
            Weekday::Tuesday => "Tuesday",
            Weekday::Wednesday => "Wednesday",
            Weekday::Thursday => "Thursday",
            Weekday::Friday => "Friday",
            Weekday::Saturday => "Saturday",
            Weekday::Sunday => "Sunday",
        }
    }

    /// Parses the API's spelling (case-insensitive, as some consoles echo lower case).
    pub fn parse(text: &str) -> Option<Weekday> {
        Weekday::ALL
            .into_iter()
            .find(|day| day.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl BackupPolicy {
    /// `PreferredBackupPeriod`: comma-separated weekdays in week order.
    pub fn period_param(&self) -> String {
        self.period
            .iter()
            .map(|day| day.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `--target` and `--exclude`: which instances a command works on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only these (`name` or `region/name`); empty means all.
    pub targets: Vec<String>,
    /// Never these.
    pub excludes: Vec<String>,
}

/// A `--target` or `--exclude` that names no instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag} {name} matches no instance in the manifests")]
pub struct ScopeError {
    /// The flag.
    pub flag: &'static str,
    /// The name given.
    pub name: String,
}

impl Scope {
    /// Whether the command works on everything.
    pub fn is_everything(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }

    fn names(name: &str, key: &InstanceKey) -> bool {
        name == key.name || name == key.to_string()
    }
}

impl DesiredInstance {
    /// An instance in `cn-hangzhou` that manages nothing: a starting point that tests (here
    /// and in the crates that use the planner) fill in.
    pub fn bare(name: &str) -> Self {
        DesiredInstance {
            key: InstanceKey {
                region: "cn-hangzhou".into(),
                name: name.into(),
            },
            source: Source {
                path: "a.yaml".into(),
                line: 1,
                column: 1,
            },
            instance_id: None,
            labels: None,
            instance_class: None,
            engine_version: None,
            zone_id: None,
            charge: None,
            network: None,
            password: None,
            password_site: SecretSite::default(),
            release_protection: None,
            maintenance_window: None,
            ssl: None,
            vpc_auth_mode: None,
            whitelists: None,
            accounts: None,
            backup_policy: None,
            config: None,
            origin: None,
            endpoint: None,
            classic_retention_days: None,
            private_ip: None,
            architecture: Architecture::default(),
            disruption: None,
            backup_before_risky: None,
        }
    }

    /// The disruption policy in force: the instance's own, else the stack's, else `window`
    /// when the instance declares a maintenance window and `immediate` when it does not.
    pub fn disruption_policy(&self, stack: &Stack) -> Disruption {
        self.disruption
            .or(stack.disruption)
            .unwrap_or(if self.maintenance_window.is_some() {
                Disruption::Window
            } else {
                Disruption::Immediate
            })
    }

    /// Whether a backup is taken before risky steps: the instance's choice, else the stack's.
    pub fn backs_up_before_risky(&self, stack: &Stack) -> bool {
        self.backup_before_risky
            .unwrap_or(stack.backup_before_risky)
    }
}

impl Desired {
    /// The instances `scope` selects. A scoped run never prunes: it does not see the whole
    /// stack, so it cannot tell which instances no manifest describes.
    pub fn scoped(mut self, scope: &Scope) -> Result<Desired, ScopeError> {
        if scope.is_everything() {
            return Ok(self);
        }
        for (flag, names) in [("--target", &scope.targets), ("--exclude", &scope.excludes)] {
            if let Some(unknown) = names
                .iter()
                .find(|name| !self.instances.iter().any(|i| Scope::names(name, &i.key)))
            {
                return Err(ScopeError {
                    flag,
                    name: unknown.clone(),
                });
            }
        }
        self.instances.retain(|instance| {
            (scope.targets.is_empty()
                || scope.targets.iter().any(|t| Scope::names(t, &instance.key)))
                && !scope
                    .excludes
                    .iter()
                    .any(|e| Scope::names(e, &instance.key))
        });
        self.stack.prune = false;
        Ok(self)
    }

    /// The part of the stack in `regions`: their instances, and the stack's own region (where
    /// pruning looks) only if it is one of them. A replica reconciles this part for the
    /// shards it holds; pruning stays whole within each region.
    pub fn in_regions(&self, regions: &BTreeSet<String>) -> Desired {
        let mut part = Desired {
            stack: self.stack.clone(),
            instances: self
                .instances
                .iter()
                .filter(|instance| regions.contains(&instance.key.region))
                .cloned()
                .collect(),
        };
        if part
            .stack
            .region
            .as_ref()
            .is_some_and(|r| !regions.contains(r))
        {
            part.stack.region = None;
        }
        part
    }

    /// The regions any instance lives in, plus the stack's region.
    pub fn regions(&self) -> Vec<String> {
        // The stack's own region matters only for finding instances to prune there.
        let stack_region = self.stack.region.clone().filter(|_| self.stack.prune);
        let mut regions: Vec<String> = self
            .instances
            .iter()
            .map(|instance| instance.key.region.clone())
            .chain(stack_region)
            .collect();
        regions.sort();
        regions.dedup();
        regions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(names: &[&str]) -> Desired {
        Desired {
            stack: Stack {
                prune: true,
                region: Some("cn-hangzhou".into()),
                ..Stack::default()
            },
            instances: names
                .iter()
                .map(|name| DesiredInstance::bare(name))
                .collect(),
        }
    }

    fn names(desired: &Desired) -> Vec<&str> {
        desired
            .instances
            .iter()
            .map(|i| i.key.name.as_str())
            .collect()
    }

    #[test]
    fn a_part_by_regions_keeps_their_instances_and_lists_the_stack_region_only_if_held() {
        let mut all = desired(&["a", "b"]);
        all.instances[1].key.region = "cn-beijing".into();
        let beijing = all.in_regions(&["cn-beijing".to_owned()].into());
        assert_eq!(names(&beijing), ["b"]);
        assert_eq!(
            beijing.regions(),
            ["cn-beijing"],
            "the stack's region is not held"
        );
        let hangzhou = all.in_regions(&["cn-hangzhou".to_owned()].into());
        assert_eq!(names(&hangzhou), ["a"]);
        assert_eq!(hangzhou.regions(), ["cn-hangzhou"]);
        assert!(all.in_regions(&BTreeSet::new()).regions().is_empty());
    }

    #[test]
    fn targets_and_excludes_select_instances_and_turn_prune_off() {
        let all = desired(&["a", "b", "c"]);
        assert_eq!(all.clone().scoped(&Scope::default()).unwrap(), all);
        let scope = Scope {
            targets: vec!["a".into(), "cn-hangzhou/b".into()],
            excludes: vec!["b".into()],
        };
        let scoped = all.clone().scoped(&scope).unwrap();
        assert_eq!(names(&scoped), ["a"]);
        assert!(!scoped.stack.prune);
        let unknown = Scope {
            targets: vec!["z".into()],
            excludes: vec![],
        };
        assert_eq!(
            all.scoped(&unknown).unwrap_err().to_string(),
            "--target z matches no instance in the manifests"
        );
    }

    #[test]
    fn the_stack_region_is_listed_only_for_pruning() {
        let mut pruning = desired(&[]);
        assert_eq!(pruning.regions(), ["cn-hangzhou"]);
        pruning.stack.prune = false;
        assert!(pruning.regions().is_empty());
    }
}
