//! The validated desired state: what the manifests ask for, in types that cannot be invalid.
//!
//! Every optional field follows the rule "omitted means unmanaged": `None` is never compared
//! or changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::SecretRef;

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
    pub engine_version: Option<String>,
    /// `ZoneId`.
    pub zone_id: Option<String>,
    /// Billing.
    pub charge: Option<Charge>,
    /// Network.
    pub network: Option<Network>,
    /// The default account's password.
    pub password: Option<SecretRef>,
    /// Release protection.
    pub release_protection: Option<bool>,
    /// The daily maintenance window.
    pub maintenance_window: Option<MaintenanceWindow>,
    /// TLS on or off.
    pub ssl: Option<bool>,
    /// `Open` (password required) or `Close` (password-free in the VPC).
    pub vpc_auth_mode: Option<VpcAuthMode>,
    /// Whitelist groups (each listed group exact); `None`: whitelists unmanaged.
    pub whitelists: Option<BTreeMap<String, BTreeSet<String>>>,
    /// The exact set of normal accounts, by name; `None`: accounts unmanaged.
    pub accounts: Option<BTreeMap<String, DesiredAccount>>,
    /// The automatic backup policy.
    pub backup_policy: Option<BackupPolicy>,
    /// Parameters to compare and set (values as the API's strings).
    pub config: Option<BTreeMap<String, String>>,
}

/// A maintenance window: `HH:mmZ` start and end, one hour apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// `MaintainStartTime`.
    pub start: String,
    /// `MaintainEndTime`.
    pub end: String,
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
    /// `AccountDescription`; `None` leaves it unmanaged.
    pub description: Option<String>,
    /// The document it came from.
    pub source: Source,
}

/// The automatic backup policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// `PreferredBackupTime`, `HH:mmZ-HH:mmZ`.
    pub time: String,
    /// `PreferredBackupPeriod`, as weekdays in week order.
    pub period: BTreeSet<Weekday>,
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

impl Desired {
    /// The regions any instance lives in, plus the stack's region.
    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self
            .instances
            .iter()
            .map(|instance| instance.key.region.clone())
            .chain(self.stack.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        regions
    }
}
