//! The plan: per instance, an ordered list of steps, each exactly one API call.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::manifest::InstanceKey;
use crate::manifest::desired::{Charge, Network, Privilege, VpcAuthMode, Weekday};
use crate::manifest::secret::SecretRef;

/// The version of the plan's JSON schema; bumped on incompatible changes.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// What applying the plan would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The stack the manifests form.
    pub stack: String,
    /// False when a secret was not readable where the plan was made, so passwords were not
    /// compared; such a plan is shown but never applied from a file.
    pub complete: bool,
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
    /// When several live instances have the manifest's name (and no `spec.instanceId` picks
    /// one), their IDs; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wait {
    /// The condition.
    pub until: WaitFor,
    /// Give up after this many seconds.
    pub timeout_secs: u64,
}

/// Conditions to wait for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "condition", content = "value")]
pub enum WaitFor {
    /// Nothing: the call takes effect at once.
    Nothing,
    /// The instance reports `Normal`.
    Normal,
    /// The instance is `Normal` with this class in effect.
    InstanceClass(String),
    /// The account is `Available`.
    AccountAvailable(String),
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
    /// A real difference, or something that could not be checked here.
    #[serde(default)]
    pub kind: BlockedKind,
}

/// What a [`Blocked`] entry is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockedKind {
    /// The cloud differs from the manifests and kvsync will not change it (shown with `!`).
    #[default]
    Drift,
    /// Not compared where the plan was made, e.g. a password whose secret is not readable
    /// here (shown with `?`); not a change.
    Unverified,
}

/// The calls a plan can contain, with exact parameters. The instance ID is not repeated here:
/// every call of an [`InstancePlan`] targets its instance. Secrets appear only as references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Call {
    /// `CreateInstance`.
    CreateInstance(Box<CreateInstanceCall>),
    /// `ModifyInstanceSpec` with a deterministic `ClientToken`.
    ModifyInstanceSpec {
        /// `InstanceClass`.
        instance_class: String,
        /// `ClientToken`.
        client_token: String,
    },
    /// `TransformToPrePaid`.
    TransformToPrePaid {
        /// `Period` in months.
        period: u32,
    },
    /// `SwitchNetwork` from the classic network into a VPC, keeping the classic endpoint for
    /// [`CLASSIC_RETENTION_DAYS`].
    SwitchNetwork {
        /// `VpcId`.
        vpc_id: String,
        /// `VSwitchId`.
        vswitch_id: String,
    },
    /// `ModifyInstanceMajorVersion`.
    ModifyInstanceMajorVersion {
        /// `MajorVersion`.
        major_version: String,
    },
    /// `ModifyInstanceAttribute`.
    ModifyInstanceAttribute {
        /// `InstanceName`: the manifest's name for an instance pinned by `spec.instanceId`
        /// that the cloud knows under another.
        instance_name: Option<String>,
        /// `InstanceReleaseProtection`.
        release_protection: Option<bool>,
        /// `NewPassword`, by reference.
        new_password: Option<SecretRef>,
    },
    /// `ModifyInstanceMaintainTime`.
    ModifyInstanceMaintainTime {
        /// `MaintainStartTime`.
        start: String,
        /// `MaintainEndTime`.
        end: String,
    },
    /// `ModifyInstanceSSL`.
    #[serde(rename = "ModifyInstanceSSL")]
    ModifyInstanceSsl {
        /// `SSLEnabled`: `Enable` or `Disable`.
        enabled: bool,
    },
    /// `ModifyInstanceVpcAuthMode`.
    ModifyInstanceVpcAuthMode {
        /// `VpcAuthMode`.
        mode: VpcAuthMode,
    },
    /// `ModifySecurityIps` with `ModifyMode=Cover`.
    ModifySecurityIps {
        /// `SecurityIpGroupName`.
        group: String,
        /// `SecurityIps`.
        ips: BTreeSet<String>,
    },
    /// `ModifyInstanceConfig` with the differing parameters only.
    ModifyInstanceConfig {
        /// Parameter → value.
        config: BTreeMap<String, String>,
    },
    /// `ModifyBackupPolicy`.
    ModifyBackupPolicy {
        /// `PreferredBackupTime`.
        time: String,
        /// `PreferredBackupPeriod`.
        period: BTreeSet<Weekday>,
    },
    /// `CreateAccount`.
    CreateAccount {
        /// `AccountName`.
        name: String,
        /// `AccountPrivilege`.
        privilege: Privilege,
        /// `AccountPassword`, by reference.
        password: SecretRef,
        /// `AccountDescription`.
        description: Option<String>,
    },
    /// `GrantAccountPrivilege`.
    GrantAccountPrivilege {
        /// `AccountName`.
        name: String,
        /// `AccountPrivilege`.
        privilege: Privilege,
    },
    /// `ModifyAccountDescription`.
    ModifyAccountDescription {
        /// `AccountName`.
        name: String,
        /// `AccountDescription`.
        description: String,
    },
    /// `ResetAccountPassword`.
    ResetAccountPassword {
        /// `AccountName`.
        name: String,
        /// `AccountPassword`, by reference.
        password: SecretRef,
    },
    /// `DeleteAccount`.
    DeleteAccount {
        /// `AccountName`.
        name: String,
    },
    /// `TagResources`: labels and password digests to set.
    TagResources {
        /// Key → value.
        tags: BTreeMap<String, String>,
    },
    /// `UntagResources`: tag keys to remove.
    UntagResources {
        /// `TagKey.N`.
        keys: BTreeSet<String>,
    },
    /// `DeleteInstance`.
    DeleteInstance,
}

/// Days the classic endpoint stays reachable after a switch into a VPC.
pub const CLASSIC_RETENTION_DAYS: u32 = 14;

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
    /// `Tag.N.Key`/`Tag.N.Value`: ownership tags, labels and the password digest.
    pub tags: BTreeMap<String, String>,
}

impl Call {
    /// The API action this call makes.
    pub fn action(&self) -> &'static str {
        match self {
            Call::CreateInstance(_) => "CreateInstance",
            Call::ModifyInstanceSpec { .. } => "ModifyInstanceSpec",
            Call::TransformToPrePaid { .. } => "TransformToPrePaid",
            Call::SwitchNetwork { .. } => "SwitchNetwork",
            Call::ModifyInstanceMajorVersion { .. } => "ModifyInstanceMajorVersion",
            Call::ModifyInstanceAttribute { .. } => "ModifyInstanceAttribute",
            Call::ModifyInstanceMaintainTime { .. } => "ModifyInstanceMaintainTime",
            Call::ModifyInstanceSsl { .. } => "ModifyInstanceSSL",
            Call::ModifyInstanceVpcAuthMode { .. } => "ModifyInstanceVpcAuthMode",
            Call::ModifySecurityIps { .. } => "ModifySecurityIps",
            Call::ModifyInstanceConfig { .. } => "ModifyInstanceConfig",
            Call::ModifyBackupPolicy { .. } => "ModifyBackupPolicy",
            Call::CreateAccount { .. } => "CreateAccount",
            Call::GrantAccountPrivilege { .. } => "GrantAccountPrivilege",
            Call::ModifyAccountDescription { .. } => "ModifyAccountDescription",
            Call::ResetAccountPassword { .. } => "ResetAccountPassword",
            Call::DeleteAccount { .. } => "DeleteAccount",
            Call::TagResources { .. } => "TagResources",
            Call::UntagResources { .. } => "UntagResources",
            Call::DeleteInstance => "DeleteInstance",
        }
    }

    /// The wire parameters for display: secrets appear as their reference, never a value.
    pub fn display_params(&self) -> BTreeMap<String, String> {
        let mut params = BTreeMap::new();
        let mut put = |key: &str, value: String| {
            params.insert(key.to_owned(), value);
        };
        match self {
            Call::CreateInstance(create) => {
                put("Token", create.token.clone());
                put("RegionId", create.region_id.clone());
                put("InstanceName", create.instance_name.clone());
                put("InstanceClass", create.instance_class.clone());
                if let Some(version) = &create.engine_version {
                    put("EngineVersion", version.clone());
                }
                if let Some(zone) = &create.zone_id {
                    put("ZoneId", zone.clone());
                }
                if let Some(charge) = &create.charge {
                    put("ChargeType", charge.charge_type().into());
                    if let Charge::PrePaid { period } = charge {
                        put("Period", period.to_string());
                    }
                }
                if let Some(network) = &create.network {
                    put("NetworkType", network.network_type().into());
                    if let Network::Vpc { vpc_id, vswitch_id } = network {
                        put("VpcId", vpc_id.clone());
                        put("VSwitchId", vswitch_id.clone());
                    }
                }
                if let Some(password) = &create.password {
                    put("Password", password.to_string());
                }
                for (index, (key, value)) in create.tags.iter().enumerate() {
                    put(&format!("Tag.{}.Key", index + 1), key.clone());
                    put(&format!("Tag.{}.Value", index + 1), value.clone());
                }
            }
            Call::ModifyInstanceSpec {
                instance_class,
                client_token,
            } => {
                put("InstanceClass", instance_class.clone());
                put("ClientToken", client_token.clone());
            }
            Call::TransformToPrePaid { period } => put("Period", period.to_string()),
            Call::SwitchNetwork { vpc_id, vswitch_id } => {
                put("TargetNetworkType", "VPC".into());
                put("VpcId", vpc_id.clone());
                put("VSwitchId", vswitch_id.clone());
                put("RetainClassic", "true".into());
                put("ClassicExpiredDays", CLASSIC_RETENTION_DAYS.to_string());
            }
            Call::ModifyInstanceMajorVersion { major_version } => {
                put("MajorVersion", major_version.clone());
            }
            Call::ModifyInstanceAttribute {
                instance_name,
                release_protection,
                new_password,
            } => {
                if let Some(name) = instance_name {
                    put("InstanceName", name.clone());
                }
                if let Some(protection) = release_protection {
                    put("InstanceReleaseProtection", protection.to_string());
                }
                if let Some(password) = new_password {
                    put("NewPassword", password.to_string());
                }
            }
            Call::ModifyInstanceMaintainTime { start, end } => {
                put("MaintainStartTime", start.clone());
                put("MaintainEndTime", end.clone());
            }
            Call::ModifyInstanceSsl { enabled } => {
                put(
                    "SSLEnabled",
                    if *enabled { "Enable" } else { "Disable" }.into(),
                );
            }
            Call::ModifyInstanceVpcAuthMode { mode } => put("VpcAuthMode", mode.as_str().into()),
            Call::ModifySecurityIps { group, ips } => {
                put("SecurityIpGroupName", group.clone());
                put("SecurityIps", join(ips.iter()));
                put("ModifyMode", "Cover".into());
            }
            Call::ModifyInstanceConfig { config } => put("Config", config_json(config)),
            Call::ModifyBackupPolicy { time, period } => {
                put("PreferredBackupTime", time.clone());
                put(
                    "PreferredBackupPeriod",
                    join(period.iter().map(|d| d.as_str())),
                );
            }
            Call::CreateAccount {
                name,
                privilege,
                password,
                description,
            } => {
                put("AccountName", name.clone());
                put("AccountPrivilege", privilege.as_str().into());
                put("AccountPassword", password.to_string());
                if let Some(description) = description {
                    put("AccountDescription", description.clone());
                }
            }
            Call::GrantAccountPrivilege { name, privilege } => {
                put("AccountName", name.clone());
                put("AccountPrivilege", privilege.as_str().into());
            }
            Call::ModifyAccountDescription { name, description } => {
                put("AccountName", name.clone());
                put("AccountDescription", description.clone());
            }
            Call::ResetAccountPassword { name, password } => {
                put("AccountName", name.clone());
                put("AccountPassword", password.to_string());
            }
            Call::DeleteAccount { name } => put("AccountName", name.clone()),
            Call::TagResources { tags } => {
                put("ResourceType", "INSTANCE".into());
                for (index, (key, value)) in tags.iter().enumerate() {
                    put(&format!("Tag.{}.Key", index + 1), key.clone());
                    put(&format!("Tag.{}.Value", index + 1), value.clone());
                }
            }
            Call::UntagResources { keys } => {
                put("ResourceType", "INSTANCE".into());
                for (index, key) in keys.iter().enumerate() {
                    put(&format!("TagKey.{}", index + 1), key.clone());
                }
            }
            Call::DeleteInstance => {}
        }
        params
    }
}

/// Items joined with commas.
pub fn join<T: AsRef<str>>(items: impl Iterator<Item = T>) -> String {
    items
        .map(|item| item.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parameters as the JSON object string `ModifyInstanceConfig` takes.
pub fn config_json(config: &BTreeMap<String, String>) -> String {
    serde_json::to_string(config).unwrap_or_else(|_| "{}".into())
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
    /// Aspects not compared where the plan was made.
    pub unverified: usize,
}

impl Plan {
    /// Whether the plan would change nothing and reports no drift (unverified notes aside).
    pub fn is_empty(&self) -> bool {
        self.instances.iter().all(|i| {
            i.steps.is_empty() && i.blocked.iter().all(|b| b.kind == BlockedKind::Unverified)
        })
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
            for blocked in &instance.blocked {
                match blocked.kind {
                    BlockedKind::Drift => summary.blocked += 1,
                    BlockedKind::Unverified => summary.unverified += 1,
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One call of every kind.
    fn every_call() -> Vec<Call> {
        let reference = SecretRef::Env("PASSWORD".into());
        vec![
            Call::CreateInstance(Box::new(CreateInstanceCall {
                token: "kvsync-t".into(),
                region_id: "cn-hangzhou".into(),
                instance_name: "cache".into(),
                instance_class: "redis.master.small.default".into(),
                engine_version: None,
                zone_id: None,
                charge: None,
                network: None,
                password: Some(reference.clone()),
                tags: BTreeMap::new(),
            })),
            Call::ModifyInstanceSpec {
                instance_class: "redis.master.mid.default".into(),
                client_token: "kvsync-c".into(),
            },
            Call::TransformToPrePaid { period: 1 },
            Call::SwitchNetwork {
                vpc_id: "vpc-a".into(),
                vswitch_id: "vsw-a".into(),
            },
            Call::ModifyInstanceMajorVersion {
                major_version: "6.0".into(),
            },
            Call::ModifyInstanceAttribute {
                instance_name: None,
                release_protection: Some(true),
                new_password: None,
            },
            Call::ModifyInstanceMaintainTime {
                start: "02:00Z".into(),
                end: "03:00Z".into(),
            },
            Call::ModifyInstanceSsl { enabled: true },
            Call::ModifyInstanceVpcAuthMode {
                mode: VpcAuthMode::Close,
            },
            Call::ModifySecurityIps {
                group: "app".into(),
                ips: BTreeSet::from(["10.0.0.1".to_owned()]),
            },
            Call::ModifyInstanceConfig {
                config: BTreeMap::new(),
            },
            Call::ModifyBackupPolicy {
                time: "02:00Z-03:00Z".into(),
                period: BTreeSet::from([Weekday::Monday]),
            },
            Call::CreateAccount {
                name: "app".into(),
                privilege: Privilege::RoleReadOnly,
                password: reference.clone(),
                description: None,
            },
            Call::GrantAccountPrivilege {
                name: "app".into(),
                privilege: Privilege::RoleReadWrite,
            },
            Call::ModifyAccountDescription {
                name: "app".into(),
                description: "d".into(),
            },
            Call::ResetAccountPassword {
                name: "app".into(),
                password: reference,
            },
            Call::DeleteAccount { name: "app".into() },
            Call::TagResources {
                tags: BTreeMap::new(),
            },
            Call::UntagResources {
                keys: BTreeSet::new(),
            },
            Call::DeleteInstance,
        ]
    }

    #[test]
    fn a_call_serialises_under_the_api_action_it_makes() {
        for call in every_call() {
            let json = serde_json::to_value(&call).unwrap();
            assert_eq!(json["action"], call.action(), "{json}");
            let back: Call = serde_json::from_value(json).unwrap();
            assert_eq!(back, call);
        }
    }
}
