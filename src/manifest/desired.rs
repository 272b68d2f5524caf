//! The validated desired state: what the manifests ask for, in types that cannot be invalid.
//!
//! Every optional field follows the rule "omitted means unmanaged": `None` is never compared
//! or changed.

use std::collections::BTreeMap;
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
}

impl Default for Stack {
    fn default() -> Self {
        Stack {
            name: DEFAULT_STACK.to_owned(),
            region: None,
            prune: false,
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

/// Where a document came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// The line of the document's `metadata.name`.
    pub line: u64,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
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
