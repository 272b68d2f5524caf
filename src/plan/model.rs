//! The plan: per instance, an ordered list of steps, each exactly one API call.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manifest::InstanceKey;
use crate::manifest::desired::{Charge, Network};
use crate::manifest::secret::SecretRef;

/// The version of the plan's JSON schema; bumped on incompatible changes.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What applying the plan would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The stack the manifests form.
    pub stack: String,
    /// One entry per instance that needs anything (sorted by key).
    pub instances: Vec<InstancePlan>,
}

/// What happens to one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancePlan {
    /// Region and name.
    pub key: InstanceKey,
    /// The instance's ID, when it exists.
    pub instance_id: Option<String>,
    /// Create, update or delete.
    pub operation: Operation,
    /// The calls, in order.
    pub steps: Vec<Step>,
    /// Differences kvsync will not or cannot reconcile, with the reason.
    pub blocked: Vec<Blocked>,
}

/// The kind of change to an instance as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// The instance does not exist yet.
    Create,
    /// The instance exists and differs.
    Update,
    /// The instance is to be released.
    Delete,
}

/// One API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The call and its exact parameters.
    pub call: Call,
    /// The fields it changes.
    pub changes: Vec<Change>,
    /// How disruptive it is.
    pub impact: Impact,
    /// What to wait for once it is accepted.
    pub wait: Wait,
}

/// How disruptive a step is; ordered from harmless to destructive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// No effect on clients.
    None,
    /// A brief disconnect.
    Restart,
    /// Cannot be undone (needs `--allow-irreversible`).
    Irreversible,
    /// Deletes data or access (needs `--allow-destroy`).
    Destructive,
}

impl Impact {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Restart => "restart",
            Impact::Irreversible => "irreversible",
            Impact::Destructive => "destructive",
        }
    }
}

/// What the executor waits for after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    /// The condition.
    pub until: WaitFor,
    /// Give up after this many seconds.
    pub timeout_secs: u64,
}

/// Conditions to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitFor {
    /// The instance reports `Normal`.
    Normal,
    /// The instance is no longer listed.
    Gone,
}

/// One field's change, as text for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The manifest field, e.g. `spec.releaseProtection`.
    pub field: String,
    /// The observed value; `None` when the instance does not exist or the field is unset.
    pub old: Option<String>,
    /// The desired value; `None` when it is removed.
    pub new: Option<String>,
}

/// A difference that is reported but not acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The manifest field or aspect.
    pub field: String,
    /// Observed value, if meaningful.
    pub old: Option<String>,
    /// Desired value, if meaningful.
    pub new: Option<String>,
    /// Why kvsync does not act.
    pub reason: String,
}

/// The calls a plan can contain, with exact parameters. The instance ID is not repeated here:
/// every call of an [`InstancePlan`] targets its instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Call {
    /// `CreateInstance`.
    CreateInstance(Box<CreateInstanceCall>),
    /// `ModifyInstanceAttribute` with `InstanceReleaseProtection`.
    ModifyInstanceAttribute {
        /// `InstanceReleaseProtection`.
        release_protection: bool,
    },
    /// `DeleteInstance`.
    DeleteInstance,
}

/// The parameters of `CreateInstance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateInstanceCall {
    /// `Token`: derived from stack, region, name and the parameters below.
    pub token: String,
    /// `RegionId`.
    pub region_id: String,
    /// `InstanceName`.
    pub instance_name: String,
    /// `InstanceClass`.
    pub instance_class: String,
    /// `EngineVersion`.
    pub engine_version: Option<String>,
    /// `ZoneId`.
    pub zone_id: Option<String>,
    /// `ChargeType` and `Period`.
    pub charge: Option<Charge>,
    /// `NetworkType`, `VpcId`, `VSwitchId`.
    pub network: Option<Network>,
    /// `Password`, by reference.
    pub password: Option<SecretRef>,
    /// `Tag.N.Key`/`Tag.N.Value`: ownership tags and labels.
    pub tags: BTreeMap<String, String>,
}

impl Call {
    /// The API action this call makes.
    pub fn action(&self) -> &'static str {
        match self {
            Call::CreateInstance(_) => "CreateInstance",
            Call::ModifyInstanceAttribute { .. } => "ModifyInstanceAttribute",
            Call::DeleteInstance => "DeleteInstance",
        }
    }

    /// The wire parameters for display: secrets appear as their reference, never a value.
    pub fn display_params(&self) -> BTreeMap<String, String> {
        let mut params = BTreeMap::new();
        match self {
            Call::CreateInstance(create) => {
                params.insert("Token".into(), create.token.clone());
                params.insert("RegionId".into(), create.region_id.clone());
                params.insert("InstanceName".into(), create.instance_name.clone());
                params.insert("InstanceClass".into(), create.instance_class.clone());
                if let Some(version) = &create.engine_version {
                    params.insert("EngineVersion".into(), version.clone());
                }
                if let Some(zone) = &create.zone_id {
                    params.insert("ZoneId".into(), zone.clone());
                }
                if let Some(charge) = &create.charge {
                    params.insert("ChargeType".into(), charge.charge_type().into());
                    if let Charge::PrePaid { period } = charge {
                        params.insert("Period".into(), period.to_string());
                    }
                }
                if let Some(network) = &create.network {
                    params.insert("NetworkType".into(), network.network_type().into());
                    if let Network::Vpc { vpc_id, vswitch_id } = network {
                        params.insert("VpcId".into(), vpc_id.clone());
                        params.insert("VSwitchId".into(), vswitch_id.clone());
                    }
                }
                if let Some(password) = &create.password {
                    params.insert("Password".into(), password.to_string());
                }
                for (index, (key, value)) in create.tags.iter().enumerate() {
                    params.insert(format!("Tag.{}.Key", index + 1), key.clone());
                    params.insert(format!("Tag.{}.Value", index + 1), value.clone());
                }
            }
            Call::ModifyInstanceAttribute { release_protection } => {
                params.insert(
                    "InstanceReleaseProtection".into(),
                    release_protection.to_string(),
                );
            }
            Call::DeleteInstance => {}
        }
        params
    }
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Instances to create.
    pub create: usize,
    /// Instances to change.
    pub update: usize,
    /// Instances to delete.
    pub delete: usize,
    /// Steps in all.
    pub steps: usize,
    /// Differences not acted on.
    pub blocked: usize,
}

impl Plan {
    /// Whether the plan would change nothing and reports nothing.
    pub fn is_empty(&self) -> bool {
        self.instances
            .iter()
            .all(|i| i.steps.is_empty() && i.blocked.is_empty())
    }

    /// Counts for the summary line.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for instance in &self.instances {
            if !instance.steps.is_empty() {
                match instance.operation {
                    Operation::Create => summary.create += 1,
                    Operation::Update => summary.update += 1,
                    Operation::Delete => summary.delete += 1,
                }
            }
            summary.steps += instance.steps.len();
            summary.blocked += instance.blocked.len();
        }
        summary
    }

    /// The highest impact of any step.
    pub fn max_impact(&self) -> Option<Impact> {
        self.instances
            .iter()
            .flat_map(|i| i.steps.iter().map(|s| s.impact))
            .max()
    }
}
