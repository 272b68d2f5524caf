//! The plan: per instance, an ordered list of steps, each exactly one API call.

use serde::{Deserialize, Serialize};

use crate::manifest::InstanceKey;
use kvsync_secrets::SecretRef;
use kvsync_wire::actions::Request;
pub use kvsync_wire::actions::{Impact, NEW_INSTANCE_ID};

/// The version of the plan's JSON schema; bumped on incompatible changes.
pub const PLAN_FORMAT_VERSION: u32 = 4;

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
    /// What the plan covers when it was asked for part of the stack
    /// (`plan --changed-since REF`); `None`: every instance the manifests describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PlanScope>,
}

/// What a plan of the changes since a git ref covers (`plan --changed-since REF`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanScope {
    /// The ref as given.
    pub since: String,
    /// The commit it named.
    pub commit: String,
    /// Why every instance was planned after all (the Stack document changed, …); `None`: only
    /// `instances` were read and planned, and only `deleted` could be pruned.
    pub everything: Option<String>,
    /// How many instances the manifests describe now.
    pub described: usize,
    /// The instances described now whose manifests changed (or that are new) since the ref.
    pub instances: Vec<InstanceKey>,
    /// The instances the manifests described at the ref and no longer do: the only ones the
    /// plan may prune.
    pub deleted: Vec<InstanceKey>,
}

impl PlanScope {
    /// Whether the plan covers only part of the stack.
    pub fn is_partial(&self) -> bool {
        self.everything.is_none()
    }

    /// The first 12 characters of the commit.
    pub fn short_commit(&self) -> &str {
        self.commit.get(..12).unwrap_or(&self.commit)
    }
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

/// One API call: the request exactly as apply sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The request with every parameter it sends (common and signature parameters aside).
    /// An instance created in the same plan is named [`NEW_INSTANCE_ID`] until it exists.
    #[serde(with = "request_json")]
    pub request: PlannedRequest,
    /// The fields it changes.
    pub changes: Vec<Change>,
    /// How disruptive it is.
    pub impact: Impact,
    /// What to wait for once it is accepted.
    pub wait: Wait,
    /// Whether it restarts the instance or disconnects its clients (see
    /// [`crate::schedule::disruption`]): such steps follow the disruption policy.
    #[serde(default)]
    pub restart: bool,
    /// When it runs.
    #[serde(default)]
    pub when: When,
}

/// When a step runs, as the disruption policy and the maintenance window decide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "at")]
pub enum When {
    /// As soon as apply reaches it.
    #[default]
    Now,
    /// Held until the instance's maintenance window opens: the daemon applies it then, and
    /// `apply` reports it (exit 3) unless run with `--now`.
    Window {
        /// When the window next opens.
        opens: WindowOpening,
        /// The earlier step of the same instance it waits behind, if that is why it waits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        behind: Option<String>,
    },
    /// Sent now with `EffectiveTime=MaintainTime`: the cloud makes the change when the
    /// window opens, and apply waits only for the order to be accepted.
    Cloud {
        /// When the window next opens.
        opens: WindowOpening,
    },
    /// Not applied: the disruption policy is `never`; reported until the manifest or the
    /// policy changes.
    Held,
}

impl When {
    /// Whether apply sends the step in this run.
    pub fn runs_now(&self) -> bool {
        matches!(self, When::Now | When::Cloud { .. })
    }

    /// How the step's timing reads in a plan: `now`, `at the window …`, ….
    pub fn describe(&self) -> String {
        match self {
            When::Now => "now".to_owned(),
            When::Window { opens, behind } => {
                let behind = behind
                    .as_ref()
                    .map(|action| format!(", behind {action}"))
                    .unwrap_or_default();
                format!("held until the window opens at {opens}{behind}")
            }
            When::Cloud { opens } => format!("scheduled by the cloud for the window at {opens}"),
            When::Held => "held: the disruption policy is never".to_owned(),
        }
    }
}

/// The next opening of a maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowOpening {
    /// The window, `HH:mmZ-HH:mmZ`.
    pub window: String,
    /// When it next opens, UTC.
    pub utc: jiff::Timestamp,
    /// The same moment in the planner's local time zone (RFC 3339 with offset).
    pub local: String,
}

impl std::fmt::Display for WindowOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} UTC ({} local; window {})",
            self.utc.strftime("%Y-%m-%d %H:%M"),
            self.local,
            self.window
        )
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
    /// The backup the step started is listed by `DescribeBackups` as finished.
    BackupFinished,
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
    /// A change the cloud has already been ordered to make in the maintenance window
    /// (shown with `~`); nothing more is ordered until it has taken effect.
    Scheduled,
    /// Something worth knowing that is neither a change nor a difference, such as a
    /// `spec.source` of an instance that exists already (shown with `i`).
    Note,
}

/// A request as the plan holds it: every parameter that will be sent, secrets as references
/// that are read only when it is sent ([`Request::map_secrets`]).
pub type PlannedRequest = Request<SecretRef>;

/// Days the classic endpoint stays reachable after a switch into a VPC.
pub const CLASSIC_RETENTION_DAYS: u64 = 14;

/// A step's request in JSON: `{"action": …, "parameters": {…}}`, exactly the parameters sent
/// (secrets as references); read back through the action's own parsing.
mod request_json {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::PlannedRequest;
    use kvsync_wire::actions::{Request, WireParams};

    #[derive(Serialize, Deserialize)]
    struct Doc {
        action: String,
        parameters: BTreeMap<String, String>,
    }

    pub(super) fn serialize<S: Serializer>(
        request: &PlannedRequest,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Doc {
            action: request.name().to_owned(),
            parameters: request.params().expose(),
        }
        .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PlannedRequest, D::Error> {
        let doc = Doc::deserialize(deserializer)?;
        match Request::from_wire(&doc.action, WireParams(&doc.parameters)) {
            Some(Ok(request)) => Ok(request),
            Some(Err(err)) => Err(D::Error::custom(format!("{}: {err}", doc.action))),
            None => Err(D::Error::custom(format!("unknown action {:?}", doc.action))),
        }
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
    /// Aspects not compared where the plan was made.
    pub unverified: usize,
    /// Steps held for the maintenance window or by the policy `never`.
    pub held: usize,
    /// Changes the cloud makes in the maintenance window: steps sent as `MaintainTime` and
    /// orders already pending.
    pub scheduled: usize,
}

impl Plan {
    /// Whether the plan would change nothing and reports no drift (notes of unverified
    /// aspects and of changes the cloud already has scheduled aside).
    pub fn is_empty(&self) -> bool {
        self.instances
            .iter()
            .all(|i| i.steps.is_empty() && i.blocked.iter().all(|b| b.kind != BlockedKind::Drift))
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
            for step in &instance.steps {
                match step.when {
                    When::Now => {}
                    When::Window { .. } | When::Held => summary.held += 1,
                    When::Cloud { .. } => summary.scheduled += 1,
                }
            }
            for blocked in &instance.blocked {
                match blocked.kind {
                    BlockedKind::Drift => summary.blocked += 1,
                    BlockedKind::Unverified => summary.unverified += 1,
                    BlockedKind::Scheduled => summary.scheduled += 1,
                    BlockedKind::Note => {}
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
    use kvsync_wire::actions::{CreateAccount, ModifyInstanceSpec, SecretSlot};

    #[test]
    fn a_step_serialises_as_its_action_and_every_parameter_and_reads_back() {
        let steps = [
            Request::CreateAccount(CreateAccount {
                instance_id: "r-1".into(),
                account_name: "app".into(),
                account_password: SecretRef::Env("APP_PASSWORD".into()),
                account_privilege: Some("RoleReadOnly".into()),
                account_description: None,
                account_type: Some("Normal".into()),
            }),
            Request::ModifyInstanceSpec(ModifyInstanceSpec {
                instance_id: NEW_INSTANCE_ID.into(),
                instance_class: Some("redis.master.mid.default".into()),
                client_token: Some("kvsync-c".into()),
                effective_time: Some("Immediately".into()),
                ..ModifyInstanceSpec::default()
            }),
        ];
        for request in steps {
            let step = Step {
                request,
                changes: Vec::new(),
                impact: Impact::None,
                wait: Wait {
                    until: WaitFor::Nothing,
                    timeout_secs: 1,
                },
                restart: false,
                when: When::Now,
            };
            let json = serde_json::to_value(&step).unwrap();
            assert_eq!(json["request"]["action"], step.request.name(), "{json}");
            let back: Step = serde_json::from_value(json).unwrap();
            assert_eq!(back, step);
        }
        let json = serde_json::to_value(Step {
            request: Request::CreateAccount(CreateAccount {
                instance_id: "r-1".into(),
                account_name: "app".into(),
                account_password: SecretRef::File("/run/secrets/app".into()),
                account_privilege: None,
                account_description: None,
                account_type: None,
            }),
            changes: Vec::new(),
            impact: Impact::None,
            wait: Wait {
                until: WaitFor::Nothing,
                timeout_secs: 1,
            },
            restart: false,
            when: When::Now,
        })
        .unwrap();
        assert_eq!(
            json["request"]["parameters"]["AccountPassword"],
            "{file: /run/secrets/app}"
        );
    }

    #[test]
    fn a_reference_that_is_not_one_does_not_read_back() {
        for text in ["hunter2", "{env: }", "{disk: x}", "{env: X", "env: X}"] {
            assert!(SecretRef::take("AccountPassword", text).is_err(), "{text}");
        }
    }
}
