//! kvsync's planning: manifests ([`manifest`]) into desired state, the observed model
//! ([`observed`]), typed values both share ([`values`]), and the planner, a pure function from
//! desired and observed state to an ordered [`Plan`] of wire requests, with its renderers and
//! saved plans. It reads manifest files and nothing else: no network, no clock, no
//! randomness, no async runtime (the compiler keeps it so: this crate does not depend on
//! tokio, reqwest or hyper), and it never holds a secret value, only references and digests.
//!
//! [`diff`] does no IO, reads no clock, environment or randomness, and is not `async`. Each
//! aspect's rules live in their own module; the order within an instance is fixed (see
//! [`aspects`]), and instances are independent of one another. Secrets never reach it: it
//! compares password digests computed at the edge.

pub mod accounts;
pub mod architecture;
pub mod attributes;
pub mod backup;
pub mod changes;
pub mod check;
pub mod config;
pub mod endpoint;
pub mod instance;
pub mod manifest;
pub mod model;
pub mod observed;
pub mod passwords;
pub mod render;
pub mod saved;
pub mod schedule;
pub mod tags;
pub mod token;
pub mod values;
pub mod whitelists;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_aspects;
#[cfg(test)]
mod tests_schedule;

use crate::values::{ChargeType, Reported};
use std::collections::{BTreeMap, BTreeSet};

use self::model::{Blocked, BlockedKind, PLAN_FORMAT_VERSION};
pub use self::model::{Impact, InstancePlan, Operation, Plan, PlannedRequest, Step};
use self::token::Seed;
use crate::manifest::desired::{Disruption, Stack};
use crate::manifest::{Desired, DesiredInstance, InstanceKey};
use crate::observed::{Observed, ObservedIndex, ObservedInstance};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Password digests computed where the secrets were read: per instance, entry name (`*` for
/// the instance password, else the account name) → digest, or `None` when the secret was not
/// readable there. The planner sees digests only, never a secret.
pub type Digests = BTreeMap<(InstanceKey, String), Option<String>>;

/// What the planner needs besides desired and observed state.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The stack name (ownership tags, tokens).
    pub stack: &'a str,
    /// Password digests.
    pub digests: &'a Digests,
    /// Whether pruning may delete every instance of the stack at once.
    pub prune_all: bool,
    /// The run's seed per region, for intent tokens (`token::spec`).
    pub seeds: &'a Seeds,
    /// Everything observed, indexed (whether a cloud name is shared, for renames).
    pub observed: &'a ObservedIndex<'a>,
    /// The stack's settings (disruption and backup defaults).
    pub settings: &'a Stack,
    /// The time the plan is made for (maintenance windows).
    pub now: Timestamp,
    /// The zone windows are also shown in.
    pub zone: &'a TimeZone,
    /// `--now`: restart-class steps under the policy `window` run at once.
    pub now_overrides_window: bool,
    /// Set when only part of the stack was observed ([`DiffOptions::partial`]).
    pub partial: Option<Partial<'a>>,
}

/// What a plan of part of the stack (`plan --changed-since`) knows of the rest: its
/// observation saw only some instances, so it must not take the others' absence for a
/// deletion.
#[derive(Debug, Clone, Copy)]
pub struct Partial<'a> {
    /// The only instances that may be pruned: those the manifests stopped describing.
    pub prunable: &'a BTreeSet<InstanceKey>,
    /// How many instances the whole manifest set describes. Pruning would delete every
    /// instance of the stack only when this is 0 (the observation cannot tell otherwise).
    pub described: usize,
}

impl Context<'_> {
    /// The run's seed for intent tokens in `region` (0 when the run has none).
    pub fn seed(&self, region: &str) -> Seed {
        self.seeds.get(region).copied().unwrap_or(0)
    }

    /// The digest of a managed password, when its secret was readable.
    pub fn digest(&self, key: &InstanceKey, account: Option<&str>) -> Option<&str> {
        let entry = kvsync_secrets::digest::entry_name(account).to_owned();
        self.digests
            .get(&(key.clone(), entry))
            .and_then(|digest| digest.as_deref())
    }
}

/// A run's seeds for intent tokens, by region (kept in the run journal, `crate::journal`).
pub type Seeds = BTreeMap<String, Seed>;

static NO_SEEDS: Seeds = BTreeMap::new();

static UTC: TimeZone = TimeZone::UTC;

/// Options of a plan that are not part of the manifests.
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions<'a> {
    /// `--prune-all`: pruning may delete every instance of the stack at once.
    pub prune_all: bool,
    /// The run's seeds for intent tokens, by region.
    pub seeds: &'a Seeds,
    /// The time the plan is made for: maintenance windows are open or not at this moment.
    /// The caller reads the clock (the cloud's, see `kvsync_client`), the planner never does.
    pub now: Timestamp,
    /// The zone the plan also shows window times in (UTC by default).
    pub zone: &'a TimeZone,
    /// `--now`: restart-class steps that the policy `window` would hold or schedule run at
    /// once (the policy `never` still holds them).
    pub now_overrides_window: bool,
    /// `Some` when `observed` holds only part of the stack (`plan --changed-since`): only
    /// [`Partial::prunable`] instances may be pruned. `None`: `observed` lists every instance
    /// of the regions the manifests name.
    pub partial: Option<Partial<'a>>,
}

impl Default for DiffOptions<'_> {
    fn default() -> Self {
        DiffOptions {
            prune_all: false,
            seeds: &NO_SEEDS,
            now: Timestamp::UNIX_EPOCH,
            zone: &UTC,
            now_overrides_window: false,
            partial: None,
        }
    }
}

/// Computes the plan that takes `observed` to `desired`.
pub fn diff(
    desired: &Desired,
    observed: &Observed,
    digests: &Digests,
    options: DiffOptions<'_>,
) -> Plan {
    let index = observed.index();
    let ctx = Context {
        stack: &desired.stack.name,
        digests,
        prune_all: options.prune_all || desired.stack.prune_all,
        seeds: options.seeds,
        observed: &index,
        settings: &desired.stack,
        now: options.now,
        zone: options.zone,
        now_overrides_window: options.now_overrides_window,
        partial: options.partial,
    };
    let mut instances = Vec::new();
    let mut claimed: BTreeSet<(String, String)> = BTreeSet::new();
    let mut complete = true;

    for wanted in &desired.instances {
        let region = &wanted.key.region;
        let candidates: Vec<&ObservedInstance> = match &wanted.instance_id {
            Some(id) => index.by_id(region, id).into_iter().collect(),
            None => index.named(region, &wanted.key.name).collect(),
        };
        for candidate in &candidates {
            claimed.insert((region.clone(), candidate.id.clone()));
        }
        let plan = match candidates.as_slice() {
            [] => match &wanted.instance_id {
                Some(id) => blocked_only(
                    &wanted.key,
                    "spec.instanceId",
                    format!("instance {id} does not exist in region {region}"),
                ),
                None => create(&ctx, wanted),
            },
            [existing] => update(&ctx, wanted, existing),
            several => {
                let ids: Vec<&str> = several.iter().map(|i| i.id.as_str()).collect();
                let mut plan = blocked_only(
                    &wanted.key,
                    "metadata.name",
                    format!(
                        "{} instances are named {:?} in {region} ({}); pin one with spec.instanceId",
                        ids.len(),
                        wanted.key.name,
                        ids.join(", ")
                    ),
                );
                plan.candidates = ids.into_iter().map(str::to_owned).collect();
                plan
            }
        };
        complete &= !plan
            .blocked
            .iter()
            .any(|b| b.kind == BlockedKind::Unverified);
        instances.push(plan);
    }

    if desired.stack.prune {
        instances.extend(prune(&ctx, observed, &claimed));
    }

    instances.retain(|plan| !plan.steps.is_empty() || !plan.blocked.is_empty());
    instances.sort_by(|a, b| a.key.cmp(&b.key));
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: ctx.stack.to_owned(),
        complete,
        instances,
        scope: None,
    }
}

/// Every aspect's steps against what the instance is (or, after creation, will be), in the
/// fixed order: spec → billing → network → major version → attributes → maintenance window →
/// endpoint → TLS → VPC auth → whitelists → config → backup policy → accounts → tags.
fn aspects(
    ctx: &Context<'_>,
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    steps: &mut Vec<Step>,
    notes: &mut Vec<Blocked>,
) {
    let mut digest_updates = passwords::DigestUpdates::new();
    instance::lifecycle(ctx, desired, observed, steps, notes);
    attributes::attribute(ctx, desired, observed, steps, notes, &mut digest_updates);
    attributes::maintenance(desired, observed, steps);
    endpoint::diff(desired, observed, steps);
    let engine_after = instance::engine_after(desired, observed);
    attributes::ssl(desired, observed, &engine_after, steps, notes);
    let network_after = desired
        .network
        .as_ref()
        .map_or_else(|| observed.network_type.clone(), |n| n.kind());
    attributes::vpc_auth(desired, observed, &network_after, steps, notes);
    whitelists::diff(desired, observed, steps);
    config::diff(desired, observed, steps);
    backup::diff(desired, observed, steps);
    accounts::diff(ctx, desired, observed, steps, notes, &mut digest_updates);
    let recorded = instance::recorded_tags(desired, steps);
    tags::diff(desired, observed, &digest_updates, &recorded, steps);
}

fn create(ctx: &Context<'_>, desired: &DesiredInstance) -> InstancePlan {
    let source_id = match &desired.origin {
        None => None,
        Some(origin) => match source_instance(ctx, &desired.key.region, &origin.instance) {
            Ok(id) => Some(id),
            Err(reason) => return blocked_only(&desired.key, "spec.source", reason),
        },
    };
    let create = instance::create(ctx, desired, source_id.as_deref());
    let assumed = assumed_after_create(desired, &create);
    let mut steps = vec![create];
    let mut notes = Vec::new();
    aspects(ctx, desired, &assumed, &mut steps, &mut notes);
    InstancePlan {
        key: desired.key.clone(),
        instance_id: None,
        operation: Operation::Create,
        candidates: Vec::new(),
        steps,
        blocked: notes,
    }
}

/// The cloud ID of `spec.source.instance`: an ID of the region as it is, else the one live
/// instance of that name.
fn source_instance(ctx: &Context<'_>, region: &str, instance: &str) -> Result<String, String> {
    if ctx.observed.by_id(region, instance).is_some() {
        return Ok(instance.to_owned());
    }
    let named: Vec<&ObservedInstance> = ctx.observed.named(region, instance).collect();
    match named.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(format!(
            "the source instance {instance:?} is not an instance of {region} (create it first, or name it by ID)"
        )),
        several => Err(format!(
            "{} instances are named {instance:?} in {region} ({}); name the source by ID",
            several.len(),
            several
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// What a new instance looks like right after `CreateInstance`, as far as the cloud documents
/// its defaults: no release protection, TLS off, VPC auth `Open`, the `default` whitelist group
/// with `127.0.0.1`, no normal accounts. The maintenance window, parameters and backup policy
/// are left unknown, so managed values are always set.
fn assumed_after_create(desired: &DesiredInstance, create: &Step) -> ObservedInstance {
    let tags = match &create.request {
        kvsync_wire::actions::Request::CreateInstance(request) => {
            request.tags.iter().cloned().collect()
        }
        _ => BTreeMap::new(),
    };
    let network = desired
        .network
        .clone()
        .unwrap_or(crate::manifest::desired::Network::Classic);
    let (vpc_id, vswitch_id) = match &network {
        crate::manifest::desired::Network::Vpc { vpc_id, vswitch_id } => {
            (vpc_id.clone(), vswitch_id.clone())
        }
        crate::manifest::desired::Network::Classic => (String::new(), String::new()),
    };
    ObservedInstance {
        id: model::NEW_INSTANCE_ID.to_owned(),
        name: desired.key.name.clone(),
        region: desired.key.region.clone(),
        status: "Normal".into(),
        instance_class: desired.instance_class.clone().unwrap_or_default(),
        engine_version: desired
            .engine_version
            .map_or_else(Reported::default, Reported::Known),
        zone_id: desired.zone_id.clone().unwrap_or_default(),
        charge_type: desired.charge.map_or(ChargeType::PostPaid, |c| c.kind()),
        network_type: network.kind(),
        vpc_id,
        vswitch_id,
        tags,
        release_protection: Some(false),
        vpc_auth_mode: Some("Open".into()),
        ssl: Some(false),
        whitelists: Some(BTreeMap::from([(
            "default".to_owned(),
            BTreeSet::from([Reported::from_cloud("127.0.0.1")]),
        )])),
        accounts: Some(BTreeMap::new()),
        architecture: Some(created_architecture(&desired.architecture)),
        endpoint: desired
            .endpoint
            .as_ref()
            .map(|wanted| crate::observed::ObservedEndpoint {
                connection_string: wanted
                    .prefix
                    .as_ref()
                    .map(|prefix| format!("{prefix}{}", endpoint::ENDPOINT_DOMAIN))
                    .unwrap_or_default(),
                port: wanted.port.map_or(0, i64::from),
            }),
        ..ObservedInstance::default()
    }
}

/// The architecture a new instance has: what the create asked for (undeclared parts are never
/// compared).
fn created_architecture(
    wanted: &crate::manifest::desired::Architecture,
) -> crate::observed::ObservedArchitecture {
    crate::observed::ObservedArchitecture {
        node_type: wanted
            .node_type
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        shard_count: wanted.shard_count.map_or(0, i64::from),
        replica_count: wanted.replica_count.map_or(0, i64::from),
        read_only_count: wanted.read_only_count.map_or(0, i64::from),
        secondary_zone_id: wanted.secondary_zone_id.clone().unwrap_or_default(),
    }
}

fn update(
    ctx: &Context<'_>,
    desired: &DesiredInstance,
    observed: &ObservedInstance,
) -> InstancePlan {
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    aspects(ctx, desired, observed, &mut steps, &mut notes);
    if let Some(origin) = &desired.origin {
        notes.push(Blocked {
            field: "spec.source".into(),
            old: None,
            new: Some(origin.instance.clone()),
            reason: "the instance exists: spec.source is used only when kvsync creates it".into(),
            kind: BlockedKind::Note,
        });
    }
    let policy = schedule::Policy {
        disruption: desired.disruption_policy(ctx.settings),
        backup_before_risky: desired.backs_up_before_risky(ctx.settings),
    };
    schedule::arrange(ctx, policy, observed, &mut steps, &mut notes);
    InstancePlan {
        key: desired.key.clone(),
        instance_id: Some(observed.id.clone()),
        operation: Operation::Update,
        candidates: Vec::new(),
        steps,
        blocked: notes,
    }
}

fn blocked_only(key: &InstanceKey, field: &str, reason: String) -> InstancePlan {
    InstancePlan {
        key: key.clone(),
        instance_id: None,
        operation: Operation::Update,
        candidates: Vec::new(),
        steps: Vec::new(),
        blocked: vec![Blocked {
            field: field.into(),
            old: None,
            new: None,
            reason,
            kind: BlockedKind::Drift,
        }],
    }
}

/// Deletions of instances this stack owns that no manifest describes. If that would be every
/// instance the stack owns, nothing is deleted unless pruning everything was asked for
/// explicitly: an empty or broken manifest set must never wipe a stack. A partial observation
/// ([`Context::partial`]) prunes only the instances removed from the manifests, and judges
/// "every instance" by what the whole manifest set still describes.
fn prune(
    ctx: &Context<'_>,
    observed: &Observed,
    claimed: &BTreeSet<(String, String)>,
) -> Vec<InstancePlan> {
    let stack = ctx.stack;
    let owned: Vec<&ObservedInstance> = observed
        .regions
        .values()
        .flatten()
        .filter(|instance| instance.owned_by(stack))
        .collect();
    let orphans: Vec<&ObservedInstance> = owned
        .iter()
        .copied()
        .filter(|instance| !claimed.contains(&(instance.region.clone(), instance.id.clone())))
        .filter(|instance| {
            ctx.partial.is_none_or(|partial| {
                partial.prunable.contains(&InstanceKey {
                    region: instance.region.clone(),
                    name: instance.name.clone(),
                })
            })
        })
        .collect();
    let every_owned = match ctx.partial {
        None => orphans.len() == owned.len(),
        Some(partial) => partial.described == 0,
    };
    let all_of_stack = !orphans.is_empty() && every_owned && !ctx.prune_all;
    orphans
        .into_iter()
        .map(|orphan| {
            let (steps, blocked) = if all_of_stack {
                (
                    Vec::new(),
                    vec![Blocked {
                        field: "instance".into(),
                        old: Some(orphan.id.clone()),
                        new: None,
                        reason: format!(
                            "pruning would delete every instance of stack {stack:?}; kvsync refuses unless asked with --prune-all (check that the manifests are complete)"
                        ),
                        kind: BlockedKind::Drift,
                    }],
                )
            } else {
                let (mut steps, mut notes) = instance::delete(orphan);
                let policy = schedule::Policy {
                    disruption: ctx.settings.disruption.unwrap_or(Disruption::Immediate),
                    backup_before_risky: ctx.settings.backup_before_risky,
                };
                schedule::arrange(ctx, policy, orphan, &mut steps, &mut notes);
                (steps, notes)
            };
            InstancePlan {
                key: InstanceKey {
                    region: orphan.region.clone(),
                    name: orphan.name.clone(),
                },
                instance_id: Some(orphan.id.clone()),
                operation: Operation::Delete,
                candidates: Vec::new(),
                steps,
                blocked,
            }
        })
        .collect()
}
