//! The manifest as written: serde structs with source spans, unknown fields refused.
//!
//! Nothing here judges values; [`super::validate`] turns these into the validated model.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use super::rules::shown;
use kvsync_secrets::reference::RawSecretRef;
use kvsync_secrets::refusal::{RefusalKind, refuse};

/// The fields every document has, read leniently to decide how to parse the rest.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// `apiVersion`.
    pub api_version: Option<Spanned<String>>,
    /// `kind`.
    pub kind: Option<Spanned<String>>,
}

/// A `kind: Instance` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceDoc {
    /// `apiVersion`.
    pub api_version: Spanned<String>,
    /// `kind`.
    pub kind: Spanned<String>,
    /// `metadata`.
    pub metadata: Spanned<InstanceMetadata>,
    /// `spec`.
    pub spec: Spanned<InstanceSpec>,
}

/// `metadata` of an instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceMetadata {
    /// The instance name (its identity within the region).
    pub name: Spanned<String>,
    /// The region; defaults to the stack's.
    pub region: Option<Spanned<String>>,
    /// Labels, applied as instance tags.
    pub labels: Option<Spanned<Entries<Spanned<String>>>>,
}

/// `spec` of an instance.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceSpec {
    /// Pins or adopts an existing instance by ID.
    pub instance_id: Option<Spanned<String>>,
    /// `InstanceClass`.
    pub instance_class: Option<Spanned<String>>,
    /// `EngineVersion`.
    pub engine_version: Option<Spanned<String>>,
    /// `ZoneId`.
    pub zone_id: Option<Spanned<String>>,
    /// `ChargeType`.
    pub charge_type: Option<Spanned<ChargeType>>,
    /// Subscription months (PrePaid).
    pub period: Option<Spanned<StrictU32>>,
    /// Network placement.
    pub network: Option<Spanned<Network>>,
    /// The default account's password.
    pub password: Option<Spanned<RawSecretRef>>,
    /// `InstanceReleaseProtection`.
    pub release_protection: Option<Spanned<StrictBool>>,
    /// The daily maintenance window.
    pub maintenance_window: Option<Spanned<MaintenanceWindow>>,
    /// TLS.
    pub ssl: Option<Spanned<SslMode>>,
    /// Password-free access within the VPC (`Close`) or not (`Open`).
    pub vpc_auth_mode: Option<Spanned<VpcAuthMode>>,
    /// Whitelist groups: group name → IPs and CIDR blocks.
    pub whitelists: Option<Spanned<Entries<IpList>>>,
    /// The exact set of normal accounts.
    pub accounts: Option<Spanned<Vec<Spanned<AccountEntry>>>>,
    /// The automatic backup policy.
    pub backup_policy: Option<Spanned<BackupPolicy>>,
    /// Parameters: only the keys listed are compared and set.
    pub config: Option<Spanned<Entries<Spanned<ConfigValue>>>>,
    /// What a new instance starts from: another instance's backup or point in time.
    pub source: Option<Spanned<Source>>,
    /// The instance's endpoint: prefix and port.
    pub endpoint: Option<Spanned<Endpoint>>,
    /// `PrivateIpAddress`, at creation.
    pub private_ip: Option<Spanned<String>>,
    /// `NodeType`.
    pub node_type: Option<Spanned<NodeType>>,
    /// `ShardCount` (cluster classes).
    pub shard_count: Option<Spanned<StrictU32>>,
    /// `ReplicaCount`: secondary nodes in the primary zone.
    pub replica_count: Option<Spanned<StrictU32>>,
    /// `ReadOnlyCount` (read/write splitting classes).
    pub read_only_count: Option<Spanned<StrictU32>>,
    /// `SecondaryZoneId`.
    pub secondary_zone_id: Option<Spanned<String>>,
    /// When restart-class steps may run.
    pub disruption: Option<Spanned<Disruption>>,
    /// Whether a backup is taken before restart-class, irreversible or destructive steps.
    pub backup_before_risky: Option<Spanned<StrictBool>>,
}

/// `spec.source`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    /// The source instance: a manifest name in the same region, or a cloud ID.
    pub instance: Spanned<String>,
    /// A backup set of the source.
    pub backup_id: Option<Spanned<String>>,
    /// A point in time of the source (RFC 3339).
    pub restore_time: Option<Spanned<String>>,
}

/// `spec.endpoint`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The prefix of `<prefix>.redis.rds.aliyuncs.com`.
    pub prefix: Option<Spanned<String>>,
    /// The port.
    pub port: Option<Spanned<StrictU32>>,
}

/// `spec.nodeType`, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum NodeType {
    /// A primary with replicas.
    #[serde(rename = "MASTER_SLAVE")]
    MasterSlave,
    /// A single node.
    #[serde(rename = "STAND_ALONE")]
    StandAlone,
    /// A primary with replicas (older spelling).
    #[serde(rename = "double")]
    Double,
    /// A single node (older spelling).
    #[serde(rename = "single")]
    Single,
}

/// `disruption`: when restart-class steps may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disruption {
    /// At once.
    Immediate,
    /// In the maintenance window.
    Window,
    /// Never: reported, not applied.
    Never,
}

/// A list of IPs and CIDR blocks, each with its location.
pub type IpList = Spanned<Vec<Spanned<String>>>;

/// `spec.maintenanceWindow`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// `HH:mmZ`.
    pub start: Spanned<String>,
    /// `HH:mmZ`, one hour after `start`.
    pub end: Spanned<String>,
}

/// `spec.ssl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SslMode {
    /// TLS on.
    Enable,
    /// TLS off.
    Disable,
}

/// `spec.vpcAuthMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum VpcAuthMode {
    /// A password is required.
    Open,
    /// Password-free access from within the VPC.
    Close,
}

/// Account privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Privilege {
    /// Read and write.
    RoleReadWrite,
    /// Read only.
    RoleReadOnly,
    /// Replication (engine 4.0 and later).
    RoleRepl,
}

/// One entry of `spec.accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// `AccountName`.
    pub name: Spanned<String>,
    /// `AccountPrivilege` (default `RoleReadWrite`).
    pub privilege: Option<Spanned<Privilege>>,
    /// `AccountPassword`; omitted leaves the password unmanaged (an existing account keeps
    /// its password; a new account cannot be created without one).
    pub password: Option<Spanned<RawSecretRef>>,
    /// `AccountDescription`.
    pub description: Option<Spanned<String>>,
}

/// `spec.backupPolicy`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupPolicy {
    /// `HH:mmZ-HH:mmZ`, a one-hour window.
    pub time: Spanned<String>,
    /// Weekdays.
    pub period: Spanned<Vec<Spanned<Weekday>>>,
    /// `BackupRetentionPeriod`: days backups are kept (7 to 730).
    pub retention_days: Option<Spanned<StrictU32>>,
    /// `EnableBackupLog`: incremental (AOF) log backups, for restores to a point in time.
    pub backup_log: Option<Spanned<StrictBool>>,
}

/// A day of the week, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
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

/// A parameter value: a string, number or boolean scalar, kept as the text the API uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue(pub String);

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;

        impl Visitor<'_> for ScalarVisitor {
            type Value = ConfigValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ConfigValue(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ConfigValue(if v { "yes" } else { "no" }.to_owned()))
            }
        }

        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Billing method, spelled as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ChargeType {
    /// Pay-as-you-go.
    PostPaid,
    /// Subscription.
    PrePaid,
}

/// `spec.network`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// `VPC` or `Classic`.
    #[serde(rename = "type")]
    pub network_type: Spanned<NetworkType>,
    /// The VPC.
    pub vpc_id: Option<Spanned<String>>,
    /// The vSwitch.
    #[serde(rename = "vSwitchId")]
    pub vswitch_id: Option<Spanned<String>>,
    /// Days the classic endpoint stays reachable after a switch into a VPC.
    pub classic_retention_days: Option<Spanned<StrictU32>>,
}

/// Network type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum NetworkType {
    /// A virtual private cloud.
    #[serde(rename = "VPC")]
    Vpc,
    /// The classic network.
    Classic,
}

/// A `kind: Stack` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackDoc {
    /// `apiVersion`.
    pub api_version: Spanned<String>,
    /// `kind`.
    pub kind: Spanned<String>,
    /// `metadata`.
    pub metadata: Spanned<StackMetadata>,
    /// `spec`.
    #[serde(default)]
    pub spec: Option<Spanned<StackSpec>>,
}

/// Only the region of a `kind: Stack` document, read leniently (other fields ignored) when the
/// document has an error, so that the documents relying on its region are still checked.
#[derive(Debug, Deserialize)]
pub struct StackRegionOnly {
    /// `spec`.
    pub spec: Option<StackRegionSpec>,
}

/// `spec.region` of a stack, read leniently.
#[derive(Debug, Deserialize)]
pub struct StackRegionSpec {
    /// The region.
    pub region: Option<String>,
}

/// `metadata` of a stack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackMetadata {
    /// The stack's name, used in ownership tags.
    pub name: Spanned<String>,
}

/// `spec` of a stack.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackSpec {
    /// Region for instances that name none.
    pub region: Option<Spanned<String>>,
    /// Whether instances of this stack that no manifest describes are deleted.
    pub prune: Option<Spanned<StrictBool>>,
    /// Permits pruning every instance of the stack at once.
    pub prune_all: Option<Spanned<StrictBool>>,
    /// Instances changed at once by `apply` and the daemon.
    pub parallelism: Option<Spanned<StrictU32>>,
    /// API requests per second.
    pub qps: Option<Spanned<StrictF64>>,
    /// Lets the daemon run destructive steps.
    pub allow_destroy: Option<Spanned<StrictBool>>,
    /// Lets the daemon run irreversible steps.
    pub allow_irreversible: Option<Spanned<StrictBool>>,
    /// The default disruption policy of the stack's instances.
    pub disruption: Option<Spanned<Disruption>>,
    /// The default of `backupBeforeRisky` for the stack's instances.
    pub backup_before_risky: Option<Spanned<StrictBool>>,
    /// The RAM role the stack's calls are made as.
    pub credentials: Option<Spanned<StackCredentials>>,
}

/// `spec.credentials` of a stack: the RAM role to assume.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StackCredentials {
    /// `roleArn`.
    pub role_arn: Spanned<String>,
    /// `sessionName`.
    pub session_name: Option<Spanned<String>>,
    /// `durationSeconds`.
    pub duration_seconds: Option<Spanned<StrictU32>>,
    /// `policy`: a JSON policy document, as a string.
    pub policy: Option<Spanned<String>>,
    /// `externalId`.
    pub external_id: Option<Spanned<String>>,
}

/// `metadata` of an `Account` or `Whitelist` document: what it is and which instance it
/// belongs to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttachedMetadata {
    /// The account or whitelist group name.
    pub name: Spanned<String>,
    /// The instance's `metadata.name`.
    pub instance: Spanned<String>,
    /// The instance's region; defaults to the stack's.
    pub region: Option<Spanned<String>>,
}

/// A `kind: Account` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountDoc {
    /// `apiVersion`.
    pub api_version: Spanned<String>,
    /// `kind`.
    pub kind: Spanned<String>,
    /// `metadata`.
    pub metadata: Spanned<AttachedMetadata>,
    /// `spec`.
    pub spec: Spanned<AccountSpec>,
}

/// `spec` of an `Account` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// `AccountPrivilege` (default `RoleReadWrite`).
    pub privilege: Option<Spanned<Privilege>>,
    /// `AccountPassword`; omitted leaves the password unmanaged.
    pub password: Option<Spanned<RawSecretRef>>,
    /// `AccountDescription`.
    pub description: Option<Spanned<String>>,
}

/// A `kind: Whitelist` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhitelistDoc {
    /// `apiVersion`.
    pub api_version: Spanned<String>,
    /// `kind`.
    pub kind: Spanned<String>,
    /// `metadata`.
    pub metadata: Spanned<AttachedMetadata>,
    /// `spec`.
    pub spec: Spanned<WhitelistSpec>,
}

/// `spec` of a `Whitelist` document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistSpec {
    /// IPs and CIDR blocks.
    pub ips: Spanned<Vec<Spanned<String>>>,
}

/// A mapping read in document order with the span of every key, for rules about keys.
#[derive(Debug)]
pub struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

/// What a value that is not the expected scalar is, for messages: `the string "4"`, `a list`.
fn found(value: Found<'_>) -> String {
    match value {
        Found::Str(text) => format!("the string {}", shown(text)),
        Found::Bool(b) => b.to_string(),
        Found::Signed(n) => n.to_string(),
        Found::Unsigned(n) => n.to_string(),
        // A float that happens to be whole keeps its decimal point: 12.0 is not 12.
        Found::Float(x) if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 => {
            format!("{x:.1}")
        }
        Found::Float(x) if x.fract() == 0.0 => {
            format!("{x}, beyond the whole numbers kvsync reads")
        }
        Found::Float(x) => x.to_string(),
        Found::Map => "a mapping".to_owned(),
        Found::Seq => "a list".to_owned(),
    }
}

enum Found<'a> {
    Str(&'a str),
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Map,
    Seq,
}

fn mismatch<E: de::Error>(expected: &str, value: Found<'_>) -> E {
    refuse(
        RefusalKind::Type,
        format!("expected {expected}, found {}", found(value)),
    )
}

/// Visits any YAML node and hands scalars to `accept`, which may refuse them; mappings and
/// lists are refused. serde-saphyr would otherwise turn a quoted `"true"` or `"4"` into a
/// boolean or a number; here only a plain `true`, `false` or number is accepted.
struct StrictVisitor<T> {
    expected: &'static str,
    accept: fn(Found<'_>) -> Option<T>,
}

impl<'de, T> Visitor<'de> for StrictVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        (self.accept)(Found::Bool(v)).ok_or_else(|| mismatch(self.expected, Found::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.accept)(Found::Signed(v)).ok_or_else(|| mismatch(self.expected, Found::Signed(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.accept)(Found::Unsigned(v)).ok_or_else(|| mismatch(self.expected, Found::Unsigned(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.accept)(Found::Float(v)).ok_or_else(|| mismatch(self.expected, Found::Float(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Err(mismatch(self.expected, Found::Str(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(mismatch(self.expected, Found::Map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(mismatch(self.expected, Found::Seq))
    }
}

/// A boolean written `true` or `false`: a quoted `"true"` and YAML 1.1's `yes` and `on` are
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrictBool(pub bool);

impl<'de> Deserialize<'de> for StrictBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor {
            expected: "true or false",
            accept: |value| match value {
                Found::Bool(b) => Some(StrictBool(b)),
                _ => None,
            },
        })
    }
}

/// A whole number from 0 to 4294967295, written without quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrictU32(pub u32);

impl<'de> Deserialize<'de> for StrictU32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor {
            expected: "a whole number",
            accept: |value| match value {
                Found::Unsigned(n) => u32::try_from(n).ok().map(StrictU32),
                _ => None,
            },
        })
    }
}

/// A number, written without quotes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrictF64(pub f64);

impl<'de> Deserialize<'de> for StrictF64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor {
            expected: "a number",
            accept: |value| match value {
                #[allow(clippy::cast_precision_loss)]
                Found::Unsigned(n) => Some(StrictF64(n as f64)),
                #[allow(clippy::cast_precision_loss)]
                Found::Signed(n) => Some(StrictF64(n as f64)),
                Found::Float(x) => Some(StrictF64(x)),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: for<'de> Deserialize<'de>>(yaml: &str) -> Result<T, String> {
        let options = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
        serde_saphyr::from_str_with_options::<T>(yaml, options)
            .map_err(|e| e.without_snippet().to_string())
    }

    #[test]
    fn strict_booleans_are_plain_true_or_false() {
        assert_eq!(parse::<StrictBool>("true"), Ok(StrictBool(true)));
        assert_eq!(parse::<StrictBool>("false"), Ok(StrictBool(false)));
        for bad in [
            "\"true\"",
            "'false'",
            "yes",
            "on",
            "1",
            "[true]",
            "{a: true}",
        ] {
            let err = parse::<StrictBool>(bad).unwrap_err();
            assert!(
                err.starts_with("expected true or false, found "),
                "{bad}: {err}"
            );
        }
        assert!(
            parse::<StrictBool>("\"true\"")
                .unwrap_err()
                .contains("found the string \"true\"")
        );
    }

    #[test]
    fn strict_whole_numbers_are_plain_numbers() {
        assert_eq!(parse::<StrictU32>("4"), Ok(StrictU32(4)));
        assert_eq!(parse::<StrictU32>("0"), Ok(StrictU32(0)));
        for bad in ["\"4\"", "four", "-1", "4.5", "4294967296", "true", "[4]"] {
            let err = parse::<StrictU32>(bad).unwrap_err();
            assert!(
                err.starts_with("expected a whole number, found "),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn issue_whole_floats_keep_their_decimal_point() {
        assert_eq!(
            parse::<StrictU32>("12.0").unwrap_err(),
            "expected a whole number, found 12.0"
        );
        assert_eq!(
            parse::<StrictU32>("4.5").unwrap_err(),
            "expected a whole number, found 4.5"
        );
        assert_eq!(
            parse::<StrictU32>("100000000000000000000").unwrap_err(),
            "expected a whole number, found 100000000000000000000, beyond the whole numbers kvsync reads"
        );
    }

    #[test]
    fn strict_numbers_are_plain_numbers() {
        assert_eq!(parse::<StrictF64>("10"), Ok(StrictF64(10.0)));
        assert_eq!(parse::<StrictF64>("2.5"), Ok(StrictF64(2.5)));
        assert_eq!(parse::<StrictF64>("-1"), Ok(StrictF64(-1.0)));
        for bad in ["\"10\"", "ten", "true"] {
            let err = parse::<StrictF64>(bad).unwrap_err();
            assert!(err.starts_with("expected a number, found "), "{bad}: {err}");
        }
    }

    #[test]
    fn strings_may_still_look_like_numbers() {
        #[derive(Debug, Deserialize)]
        struct Spec {
            #[serde(rename = "engineVersion")]
            engine_version: String,
        }
        let spec: Spec = parse("engineVersion: 6.0").unwrap();
        assert_eq!(spec.engine_version, "6.0");
    }
}
