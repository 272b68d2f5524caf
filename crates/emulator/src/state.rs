//! The emulated cloud's state and the dispatch of one request against it.
//!
//! [`State::handle`] is synchronous and deterministic: the time, the configured durations and
//! the request are its inputs; the answer body and whether anything changed are its outputs.
//! Networking, signatures, persistence and faults live in the server around it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::errors::VendorError;
use super::lifecycle::{Lifecycle, Status};
use super::tracked::{Changes, Tracked};
use kvsync_wire::actions::WireParams;

/// How long transitional statuses last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    /// `Creating` → `Normal`.
    pub create: SignedDuration,
    /// `Changing` → `Normal`.
    pub change: SignedDuration,
    /// How long idempotency tokens are remembered (`None`: for ever).
    pub token_memory: Option<SignedDuration>,
    /// How long a backup runs before its set is listed.
    pub backup: SignedDuration,
}

impl Default for Durations {
    fn default() -> Self {
        Durations {
            create: SignedDuration::from_secs(3),
            change: SignedDuration::from_secs(2),
            token_memory: None,
            backup: SignedDuration::from_secs(2),
        }
    }
}

/// The inputs of one request besides its parameters.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The emulated cloud's time.
    pub now: Timestamp,
    /// Transition durations.
    pub durations: Durations,
    /// Whether a backup started by this request is to fail (an injected fault).
    pub fail_backup: bool,
}

/// A whitelist group of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityIpGroup {
    /// IPs and CIDR blocks, in the order they were set.
    pub ips: Vec<String>,
    /// `SecurityIpGroupAttribute`: empty, or `hidden` for system groups.
    pub attribute: String,
}

/// The whitelist groups every instance has and clients may not change.
pub const SYSTEM_IP_GROUPS: &[&str] = &["ali_dms_group", "hdm_security_ips"];

/// A database account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// `AccountName`.
    pub name: String,
    /// `Normal`, or `Super` for the default account.
    pub account_type: String,
    /// `RoleReadOnly`, `RoleReadWrite` or `RoleRepl`.
    pub privilege: String,
    /// `AccountDescription`.
    pub description: String,
    /// `Available` or `Unavailable`.
    pub status: String,
    /// Salted SHA-256 of the password; never the password.
    pub password_digest: String,
    /// Until when a change in progress keeps the account `Unavailable`.
    #[serde(default)]
    pub available_at: Option<Timestamp>,
}

/// The automatic backup policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// `PreferredBackupTime`, e.g. `02:00Z-03:00Z`.
    pub preferred_time: String,
    /// `PreferredBackupPeriod`: comma-separated weekdays.
    pub preferred_period: String,
    /// Days backups are kept.
    pub retention_days: u32,
    /// Since when data flashback (`EnableBackupLog`, continuous log backup) is on; `None`
    /// while it is off.
    #[serde(default)]
    pub backup_log_since: Option<Timestamp>,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            preferred_time: "02:00Z-03:00Z".into(),
            preferred_period: "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday".into(),
            retention_days: 7,
            backup_log_since: None,
        }
    }
}

/// The emulated data in an instance: what backups capture and `FlushInstance` erases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// Number of keys.
    pub keys: u64,
    /// Bytes of memory in use.
    pub used_memory: u64,
}

/// A backup set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    /// `BackupId`.
    pub id: u64,
    /// `BackupJobID`: the job that took it.
    #[serde(default)]
    pub job_id: u64,
    /// The instance it was taken of.
    pub instance_id: String,
    /// When it started.
    pub start: Timestamp,
    /// When it finished.
    pub end: Timestamp,
    /// `Automated` or `Manual`.
    pub mode: String,
    /// The data it holds.
    pub dataset: Dataset,
    /// The parameters at the time.
    pub config: BTreeMap<String, String>,
    /// When it expires; `None` keeps it as long as its instance exists.
    #[serde(default)]
    pub expires: Option<Timestamp>,
    /// Whether the backup job failed: such a set is listed as `Failed`, holds no space and is
    /// never restored.
    #[serde(default)]
    pub failed: bool,
}

/// The architecture an operator may declare besides the class: node type, shard, replica
/// and read-only node counts, and a secondary zone. `None` counts take the class's default
/// (the emulator's class catalogue), so a class change keeps only the overrides that fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Architecture {
    /// `true` for `STAND_ALONE`/`single` (no replica), `false` for `MASTER_SLAVE`/`double`.
    pub stand_alone: bool,
    /// `ShardCount` (cluster classes).
    pub shard_count: Option<u64>,
    /// `ReplicaCount`: secondary nodes in the primary zone.
    pub replica_count: Option<u64>,
    /// `ReadOnlyCount`: read-only nodes (read/write splitting classes).
    pub read_only_count: Option<u64>,
    /// `SecondaryZoneId`; empty for a single-zone instance.
    pub secondary_zone_id: String,
}

/// A change that takes effect when the current transition ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    /// A new instance class (`ModifyInstanceSpec` before it took the architecture; kept so
    /// that state files with such a change still load).
    InstanceClass(String),
    /// A new class and architecture (`ModifyInstanceSpec`).
    Spec {
        /// The class in effect afterwards.
        instance_class: String,
        /// The architecture in effect afterwards.
        architecture: Architecture,
    },
    /// A new major version (`ModifyInstanceMajorVersion`).
    EngineVersion(String),
    /// Subscription billing until `end_time` (`TransformToPrePaid`).
    PrePaid {
        /// Expiry.
        end_time: Timestamp,
    },
    /// TLS on or off (`ModifyInstanceSSL`).
    Ssl(bool),
    /// A new network placement (`SwitchNetwork`).
    Network {
        /// `VPC` or `CLASSIC`.
        network_type: String,
        /// VPC.
        vpc_id: String,
        /// vSwitch.
        vswitch_id: String,
    },
    /// The data of a backup (`RestoreInstance`).
    Dataset(Dataset),
    /// All data erased (`FlushInstance`).
    Flush,
}

/// A change ordered with `EffectiveTime=MaintainTime`, waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledOrder {
    /// When it runs: the start of the maintenance window at or after the order.
    pub at: Timestamp,
    /// The status shown while it runs.
    pub status: Status,
    /// How long it runs.
    pub duration: SignedDuration,
    /// The change in effect once it has run.
    pub change: Pending,
}

/// One emulated instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// `InstanceId`.
    pub id: String,
    /// `InstanceName`.
    pub name: String,
    /// `RegionId`.
    pub region_id: String,
    /// `ZoneId`.
    pub zone_id: String,
    /// `InstanceClass` in effect.
    pub instance_class: String,
    /// `EngineVersion` in effect.
    pub engine_version: String,
    /// `ChargeType`: `PrePaid` or `PostPaid`.
    pub charge_type: String,
    /// When a subscription ends.
    pub end_time: Option<Timestamp>,
    /// `NetworkType`: `VPC` or `CLASSIC`.
    pub network_type: String,
    /// `VpcId` (empty on the classic network).
    pub vpc_id: String,
    /// `VSwitchId` (empty on the classic network).
    pub vswitch_id: String,
    /// Salted SHA-256 of the default account's password; the password itself is never stored.
    pub password_digest: Option<String>,
    /// Tags, in the order they were set.
    pub tags: Vec<(String, String)>,
    /// `InstanceReleaseProtection`.
    pub release_protection: bool,
    /// The status and the transition in progress.
    pub lifecycle: Lifecycle,
    /// Changes that take effect when the current transition ends.
    #[serde(default)]
    pub pending: Vec<Pending>,
    /// Changes ordered for the maintenance window, in the order they run.
    #[serde(default)]
    pub scheduled: Vec<ScheduledOrder>,
    /// When it was created.
    pub created: Timestamp,
    /// Creation order, for listings (newest first).
    pub sequence: u64,
    /// The private IP address.
    pub private_ip: String,
    /// The prefix of the connection string (`<prefix>.redis.rds.aliyuncs.com`).
    #[serde(default)]
    pub connection_prefix: String,
    /// The port of the endpoint.
    #[serde(default = "default_port")]
    pub port: i64,
    /// The classic-network endpoint kept after switching to a VPC, and when it expires.
    #[serde(default)]
    pub classic_endpoint_expires: Option<Timestamp>,
    /// `MaintainStartTime`.
    #[serde(default = "default_maintain_start")]
    pub maintain_start_time: String,
    /// `MaintainEndTime`.
    #[serde(default = "default_maintain_end")]
    pub maintain_end_time: String,
    /// `Open` (password required) or `Close` (password-free access in the VPC).
    #[serde(default = "default_vpc_auth_mode")]
    pub vpc_auth_mode: String,
    /// `SslEnabled`.
    #[serde(default)]
    pub ssl_enabled: bool,
    /// When TLS was last switched on (certificate issue time).
    #[serde(default)]
    pub ssl_since: Option<Timestamp>,
    /// Whitelist groups by name, system groups included.
    #[serde(default)]
    pub security_ip_groups: BTreeMap<String, SecurityIpGroup>,
    /// Accounts by name, the default (`Super`) account included.
    #[serde(default)]
    pub accounts: BTreeMap<String, Account>,
    /// `BackupPolicy`.
    #[serde(default)]
    pub backup_policy: BackupPolicy,
    /// Parameter values by name.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Settings `ModifyInstanceConfig` takes as `Param*` parameters rather than in `Config`,
    /// by their `DescribeInstanceConfig` field name; absent ones have the cloud's default.
    #[serde(default)]
    pub param_settings: BTreeMap<String, String>,
    /// `Dataset`.
    #[serde(default)]
    pub dataset: Dataset,
    /// Node type, node counts and secondary zone.
    #[serde(default)]
    pub architecture: Architecture,
}

fn default_port() -> i64 {
    6379
}

fn default_maintain_start() -> String {
    "18:00Z".into()
}

fn default_maintain_end() -> String {
    "22:00Z".into()
}

fn default_vpc_auth_mode() -> String {
    "Open".into()
}

/// Parameter values a new instance starts with.
pub fn default_config() -> BTreeMap<String, String> {
    [
        ("maxmemory-policy", "volatile-lru"),
        ("hash-max-ziplist-entries", "512"),
        ("hash-max-ziplist-value", "64"),
        ("list-max-ziplist-entries", "512"),
        ("list-max-ziplist-value", "64"),
        ("set-max-intset-entries", "512"),
        ("zset-max-ziplist-entries", "128"),
        ("zset-max-ziplist-value", "64"),
        ("notify-keyspace-events", ""),
        ("timeout", "0"),
        ("appendonly", "yes"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Whitelist groups a new instance starts with: `default` open to loopback only, and the two
/// system groups the console's tools use.
pub fn default_security_ip_groups() -> BTreeMap<String, SecurityIpGroup> {
    let mut groups = BTreeMap::new();
    groups.insert(
        "default".to_owned(),
        SecurityIpGroup {
            ips: vec!["127.0.0.1".into()],
            attribute: String::new(),
        },
    );
    groups.insert(
        "ali_dms_group".to_owned(),
        SecurityIpGroup {
            ips: vec!["100.104.175.0/24".into(), "100.104.5.0/24".into()],
            attribute: "hidden".into(),
        },
    );
    groups.insert(
        "hdm_security_ips".to_owned(),
        SecurityIpGroup {
            ips: vec!["100.104.72.0/24".into()],
            attribute: "hidden".into(),
        },
    );
    groups
}

impl Instance {
    /// A new instance in `Creating` with the cloud's defaults for everything not given here.
    pub fn new(
        id: String,
        name: String,
        region_id: String,
        zone_id: String,
        instance_class: String,
        ctx: &Context,
        sequence: u64,
    ) -> Self {
        let mut accounts = BTreeMap::new();
        accounts.insert(
            id.clone(),
            Account {
                name: id.clone(),
                account_type: "Super".into(),
                privilege: "RoleReadWrite".into(),
                description: String::new(),
                status: "Available".into(),
                password_digest: String::new(),
                available_at: None,
            },
        );
        Instance {
            connection_prefix: id.clone(),
            name,
            region_id,
            zone_id,
            instance_class,
            engine_version: "5.0".into(),
            charge_type: "PostPaid".into(),
            end_time: None,
            network_type: "CLASSIC".into(),
            vpc_id: String::new(),
            vswitch_id: String::new(),
            password_digest: None,
            tags: Vec::new(),
            release_protection: false,
            lifecycle: Lifecycle::transition(Status::Creating, ctx.now + ctx.durations.create),
            pending: Vec::new(),
            scheduled: Vec::new(),
            created: ctx.now,
            sequence,
            private_ip: format!("172.16.{}.{}", (sequence / 250) % 250, sequence % 250 + 2),
            port: default_port(),
            classic_endpoint_expires: None,
            maintain_start_time: default_maintain_start(),
            maintain_end_time: default_maintain_end(),
            vpc_auth_mode: default_vpc_auth_mode(),
            ssl_enabled: false,
            ssl_since: None,
            security_ip_groups: default_security_ip_groups(),
            accounts,
            backup_policy: BackupPolicy::default(),
            config: default_config(),
            param_settings: BTreeMap::new(),
            dataset: Dataset {
                keys: 1000 + sequence * 37,
                used_memory: (1000 + sequence * 37) * 96,
            },
            architecture: Architecture::default(),
            id,
        }
    }

    /// Refuses with `IncorrectDBInstanceState` unless the instance is `Normal`.
    pub fn require_normal(&self) -> Result<(), VendorError> {
        if self.lifecycle.is_normal() {
            Ok(())
        } else {
            Err(VendorError::incorrect_state())
        }
    }

    /// Starts a transition that shows `status` for `duration` and then applies `pending`.
    pub fn begin(
        &mut self,
        status: Status,
        ctx: &Context,
        duration: SignedDuration,
        pending: Vec<Pending>,
    ) {
        self.lifecycle = Lifecycle::transition(status, ctx.now + duration);
        self.pending = pending;
        self.settle(ctx.now);
    }

    /// Whether a change ordered for the maintenance window is still waiting
    /// (`HasRenewChangeOrder`).
    pub fn has_scheduled_order(&self) -> bool {
        !self.scheduled.is_empty()
    }

    /// Brings the instance to `now`: completes transitions whose time has come and runs the
    /// scheduled orders that are due, one after another. An order starts at its time, or when
    /// the instance became `Normal` if it was busy then, so a large jump of the clock
    /// completes everything due in between.
    pub fn settle(&mut self, now: Timestamp) {
        if !self.is_due(now) {
            return;
        }
        let mut idle_since = None;
        loop {
            if let Some(ended) = self.complete_transition(now) {
                idle_since = Some(ended);
            }
            if !self.lifecycle.is_normal() {
                return;
            }
            match self.scheduled.first() {
                Some(order) if order.at <= now => {}
                _ => return,
            }
            let order = self.scheduled.remove(0);
            let start = idle_since.map_or(order.at, |idle| idle.max(order.at));
            self.lifecycle = Lifecycle::transition(order.status, start + order.duration);
            self.pending = vec![order.change];
        }
    }

    /// Whether [`Instance::settle`] at `now` would change anything.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.lifecycle.is_due(now)
            || (self.lifecycle.is_normal() && self.scheduled.first().is_some_and(|o| o.at <= now))
    }

    /// Whether it has a transition in progress or an order waiting: some later time may
    /// change it without a request.
    pub fn is_in_transition(&self) -> bool {
        self.lifecycle.until.is_some() || !self.scheduled.is_empty()
    }

    /// Completes the current transition if its time has come, applying its pending changes;
    /// returns when it ended.
    fn complete_transition(&mut self, now: Timestamp) -> Option<Timestamp> {
        if !self.lifecycle.is_due(now) {
            return None;
        }
        let finished_at = self.lifecycle.until.unwrap_or(now);
        for change in std::mem::take(&mut self.pending) {
            self.apply(change, finished_at);
        }
        self.lifecycle = self.lifecycle.settled(now);
        Some(finished_at)
    }

    /// Puts one change into effect at `finished_at`.
    fn apply(&mut self, change: Pending, finished_at: Timestamp) {
        match change {
            Pending::InstanceClass(class) => self.instance_class = class,
            Pending::Spec {
                instance_class,
                architecture,
            } => {
                self.instance_class = instance_class;
                self.architecture = architecture;
            }
            Pending::EngineVersion(version) => self.engine_version = version,
            Pending::PrePaid { end_time } => {
                self.charge_type = "PrePaid".into();
                self.end_time = Some(end_time);
            }
            Pending::Ssl(enabled) => {
                self.ssl_enabled = enabled;
                self.ssl_since = enabled.then_some(finished_at);
            }
            Pending::Network {
                network_type,
                vpc_id,
                vswitch_id,
            } => {
                self.network_type = network_type;
                self.vpc_id = vpc_id;
                self.vswitch_id = vswitch_id;
            }
            Pending::Dataset(dataset) => self.dataset = dataset,
            Pending::Flush => self.dataset = Dataset::default(),
        }
    }
}

/// What a `Token` was first used for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Digest of the request's business parameters.
    pub fingerprint: String,
    /// The answer given the first time (without `RequestId`).
    pub response: Value,
    /// When it was first used (absent in state files written before this was recorded).
    #[serde(default)]
    pub at: Option<Timestamp>,
}

impl TokenRecord {
    /// A record of a first use at `ctx.now`.
    pub fn new(fingerprint: String, response: Value, ctx: &Context) -> Self {
        TokenRecord {
            fingerprint,
            response,
            at: Some(ctx.now),
        }
    }

    /// Whether the cloud still remembers the token at `ctx.now`.
    pub fn remembered(&self, ctx: &Context) -> bool {
        match (ctx.durations.token_memory, self.at) {
            (Some(memory), Some(at)) => ctx.now.duration_since(at) < memory,
            _ => true,
        }
    }
}

/// Everything the emulated cloud knows; persisted as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Instances by ID.
    pub instances: Tracked<String, Instance>,
    /// `CreateInstance` tokens.
    pub tokens: Tracked<String, TokenRecord>,
    /// `ModifyInstanceSpec` client tokens.
    #[serde(default)]
    pub client_tokens: Tracked<String, TokenRecord>,
    /// Backup sets by ID (kept after their instance is released, until they expire).
    #[serde(default)]
    pub backups: Tracked<u64, Backup>,
    /// The last sequence number handed out (instances, backups, orders).
    pub sequence: u64,
    /// Temporary credentials STS and the metadata stand-in issued, by access key ID.
    #[serde(default)]
    pub sts_keys: Tracked<String, super::issued::IssuedKey>,
    /// The IDs of the instances that time alone may change; built on first use, kept up to
    /// date from the instances' touched keys. Derived, so neither saved nor compared.
    #[serde(skip)]
    in_transition: Option<BTreeSet<String>>,
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        self.instances == other.instances
            && self.tokens == other.tokens
            && self.client_tokens == other.client_tokens
            && self.backups == other.backups
            && self.sequence == other.sequence
            && self.sts_keys == other.sts_keys
    }
}

/// The result of a request that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// The answer body, without `RequestId`.
    pub body: Value,
    /// Whether the state changed (and must be persisted).
    pub changed: bool,
}

impl Handled {
    /// An answer that changed nothing.
    pub fn read(body: Value) -> Self {
        Handled {
            body,
            changed: false,
        }
    }

    /// An answer to a change.
    pub fn wrote(body: Value) -> Self {
        Handled {
            body,
            changed: true,
        }
    }
}

/// Parameters that belong to the protocol, not to the business request.
pub const PROTOCOL_PARAMS: &[&str] = &[
    "AccessKeyId",
    "Action",
    "Format",
    "SecurityToken",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureType",
    "SignatureVersion",
    "Timestamp",
    "Version",
];

impl State {
    /// Handles one API request whose signature has already been verified.
    pub fn handle(
        &mut self,
        action: &str,
        wire: &BTreeMap<String, String>,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        self.settle(ctx.now);
        kvsync_wire::actions::dispatch(self, action, WireParams(wire), ctx)
            .unwrap_or_else(|| Err(VendorError::action_not_found()))
    }

    /// Completes every transition whose time has come. It costs the instances in transition,
    /// not the whole cloud: only those are looked at, and only the due ones are changed.
    pub fn settle(&mut self, now: Timestamp) {
        let mut in_transition = self.refreshed_transitions();
        let due: Vec<String> = in_transition
            .iter()
            .filter(|id| self.instances.get(*id).is_some_and(|i| i.is_due(now)))
            .cloned()
            .collect();
        for id in due {
            if let Some(instance) = self.instances.get_mut(&id) {
                instance.settle(now);
                if !instance.is_in_transition() {
                    in_transition.remove(&id);
                }
            }
        }
        // What settling touched is already accounted for.
        self.instances.take_touched();
        self.in_transition = Some(in_transition);
    }

    /// The index of instances in transition, brought up to date with the instances changed
    /// since it was last used (or built from all of them the first time).
    fn refreshed_transitions(&mut self) -> BTreeSet<String> {
        let touched = self.instances.take_touched();
        let instances = &self.instances;
        let rebuild = || {
            instances
                .values()
                .filter(|i| i.is_in_transition())
                .map(|i| i.id.clone())
                .collect()
        };
        match (self.in_transition.take(), touched) {
            (Some(mut index), Changes::Keys(keys)) => {
                for id in keys {
                    if instances.get(&id).is_some_and(Instance::is_in_transition) {
                        index.insert(id);
                    } else {
                        index.remove(&id);
                    }
                }
                index
            }
            _ => rebuild(),
        }
    }

    /// Forgets which entries changed, for persistence (an emulator without a state file, or
    /// one that has just written everything).
    pub fn clear_unsaved(&mut self) {
        self.instances.take_unsaved();
        self.tokens.take_unsaved();
        self.client_tokens.take_unsaved();
        self.backups.take_unsaved();
        self.sts_keys.take_unsaved();
    }

    /// The next sequence number.
    pub fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// An instance by ID, or the vendor's not-found error.
    pub fn instance(&self, id: &str) -> Result<&Instance, VendorError> {
        self.instances
            .get(id)
            .ok_or_else(VendorError::instance_not_found)
    }

    /// An instance by ID for changing, or the vendor's not-found error.
    pub fn instance_mut(&mut self, id: &str) -> Result<&mut Instance, VendorError> {
        self.instances
            .get_mut(id)
            .ok_or_else(VendorError::instance_not_found)
    }
}

/// Hex SHA-256 of the business parameters (protocol parameters and `exclude` left out).
pub fn fingerprint(wire: &BTreeMap<String, String>, exclude: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in wire {
        if PROTOCOL_PARAMS.contains(&key.as_str()) || exclude.contains(&key.as_str()) {
            continue;
        }
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// A response struct as a JSON body.
pub fn to_body<T: Serialize>(value: &T) -> Value {
    // Serialising plain structs of strings and numbers to a `Value` cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
