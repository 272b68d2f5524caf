//! Wire types of the R-KVStore `2015-01-01` actions.
//!
//! Every request is declared once, in this module's [`actions!`](crate::actions) list, and
//! [`declare`]'s macro derives from that declaration how it serialises to [`Params`] (client side), how it parses from the wire map
//! (emulator side and saved plans), [`Request`] and the emulator's [`Handler`]. Response types,
//! one module per family, are the JSON bodies in the official SDK models' shape and key
//! spelling. These are the only types the client and the emulator share.

pub mod account;
pub mod backup;
pub mod config;
pub mod declare;
pub mod instance;
pub mod manage;
pub mod monitor;
pub mod region;
pub mod security;
pub mod tag;

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::params::Params;

pub use declare::{Class, Impact, SecretSlot};

/// What a request of an instance created earlier in the same plan says in place of its ID
/// until `CreateInstance` answers; [`Request::bind`] replaces it.
pub const NEW_INSTANCE_ID: &str = "${CreateInstance.InstanceId}";

/// One API action: its wire name, its parameters and the shape of its answer.
pub trait Action {
    /// The `Action` parameter.
    const NAME: &'static str;
    /// Whether the call reads or writes, and how disruptive a write is.
    const CLASS: Class;
    /// The parameter that carries the idempotency token, if the action has one.
    const TOKEN: Option<&'static str>;
    /// Whether the call changes cloud state (used for logging and retry decisions).
    const MUTATING: bool = matches!(Self::CLASS, Class::Write(_));
    /// The JSON body of a successful answer.
    type Response: DeserializeOwned + Serialize;
    /// What the request's secrets are: [`Secret`](kvsync_secrets::Secret) values to send, or
    /// references in a plan. Only requests of values can be sent.
    type Secrets;
    /// The action-specific parameters (common parameters are added by the client).
    fn params(&self) -> Params;
}

/// Why a wire request could not be parsed into a typed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A required parameter is absent or empty.
    #[error(
        "the input parameter \"{0}\" that is mandatory for processing this request is not supplied"
    )]
    Missing(String),
    /// A parameter is present but not of the documented form.
    #[error("the specified parameter \"{name}\" is not valid")]
    Invalid {
        /// The parameter's wire name.
        name: String,
        /// Its value as received.
        value: String,
    },
}

/// Read access to the decoded parameters of an incoming request (the emulator's side).
#[derive(Debug, Clone, Copy)]
pub struct WireParams<'a>(pub &'a BTreeMap<String, String>);

impl<'a> WireParams<'a> {
    /// A parameter that may be absent; an empty value counts as absent.
    pub fn optional(&self, name: &str) -> Option<&'a str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<&'a str, ParamError> {
        self.optional(name)
            .ok_or_else(|| ParamError::Missing(name.to_owned()))
    }

    /// An optional owned string.
    pub fn string(&self, name: &str) -> Option<String> {
        self.optional(name).map(str::to_owned)
    }

    /// An optional boolean; `true`/`True`/`TRUE` and `false`/… are accepted, as the SDKs send
    /// Python's `str(bool)`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.optional(name) {
            None => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(value) => Err(invalid(name, value)),
        }
    }

    /// An optional non-negative integer.
    pub fn u64(&self, name: &str) -> Result<Option<u64>, ParamError> {
        self.optional(name)
            .map(|value| value.trim().parse().map_err(|_| invalid(name, value)))
            .transpose()
    }

    /// A 1-based list of plain values (`Name.1`, `Name.2`, …), in index order. Indexes need not
    /// be contiguous; an index that is not a number, or an empty value, is refused.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ParamError> {
        let prefix = format!("{name}.");
        let mut by_index: BTreeMap<u32, String> = BTreeMap::new();
        for (key, value) in self.0.range(prefix.clone()..) {
            let Some(index) = key.strip_prefix(&prefix) else {
                break;
            };
            let index: u32 = index.parse().map_err(|_| invalid(key, value))?;
            if value.is_empty() {
                return Err(ParamError::Missing(key.clone()));
            }
            by_index.insert(index, value.clone());
        }
        Ok(by_index.into_values().collect())
    }

    /// A 1-based list of key/value objects (`Tag.1.Key`, `Tag.1.Value`, …), in index order.
    /// Indexes need not be contiguous; a `Key` is required for every index that appears.
    pub fn key_values(&self, name: &str) -> Result<Vec<(String, String)>, ParamError> {
        let prefix = format!("{name}.");
        let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
        for (key, value) in self.0.range(prefix.clone()..) {
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let index: u32 = index.parse().map_err(|_| invalid(key, value))?;
            let entry = by_index.entry(index).or_default();
            match field {
                "Key" => entry.0 = Some(value.clone()),
                "Value" => entry.1 = Some(value.clone()),
                _ => return Err(invalid(key, value)),
            }
        }
        by_index
            .into_iter()
            .map(|(index, (key, value))| match key {
                Some(key) if !key.is_empty() => Ok((key, value.unwrap_or_default())),
                _ => Err(ParamError::Missing(format!("{name}.{index}.Key"))),
            })
            .collect()
    }
}

fn invalid(name: &str, value: &str) -> ParamError {
    ParamError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// One `Key`/`Value` tag, as it appears in responses.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    /// The tag key.
    pub key: String,
    /// The tag value.
    pub value: String,
}

/// The `Tags: {Tag: [...]}` wrapper used by instance listings.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tags {
    /// The tags.
    pub tag: Vec<Tag>,
}

/// Serialises a value as the text the SDKs send for it (`true`/`false`, decimal numbers).
pub(crate) fn wire_bool(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

// The catalog: every R-KVStore action kvsync sends or the emulator serves, declared once —
// wire name, handler method, response type, class and impact, idempotency token, and each
// request field with its wire name and codec (see `declare`). The request structs, their
// parameters, their parsing, `Request` and the emulator's `Handler` all come from this one
// list. Adding an action is one entry here; the emulator then fails to compile until its
// `Handler` implementation has the new method.

use self::account::{CreateAccountResponse, DescribeAccountsResponse};
use self::backup::{CreateBackupResponse, DescribeBackupPolicyResponse, DescribeBackupsResponse};
use self::config::DescribeInstanceConfigResponse;
use self::instance::{
    CreateInstanceResponse, DescribeInstanceAttributeResponse, DescribeInstancesResponse,
    EmptyResponse,
};
use self::manage::{
    DescribeDbInstanceNetInfoResponse, ModifyInstanceNetExpireTimeResponse,
    ModifyInstanceSpecResponse, SwitchNetworkResponse, TransformToPrePaidResponse,
};
use self::monitor::{DescribeHistoryMonitorValuesResponse, DescribeMonitorItemsResponse};
use self::region::DescribeRegionsResponse;
use self::security::{
    DescribeInstanceSslResponse, DescribeSecurityIpsResponse, ModifyInstanceSslResponse,
};
use self::tag::ListTagResourcesResponse;

crate::actions! {
    // Instances: lifecycle and attributes.

    /// `CreateInstance`: creates an instance; `Token` makes the call idempotent.
    CreateInstance<S> = "CreateInstance" as create_instance {
        response: CreateInstanceResponse,
        class: Write(None),
        token: Some("Token"),
        fields: {
            /// `RegionId` (required).
            region_id: String = "RegionId",
            /// `Token`: the idempotency token (at most 64 ASCII characters).
            token: Option<String> = "Token",
            /// `InstanceName`.
            instance_name: Option<String> = "InstanceName",
            /// `InstanceClass`.
            instance_class: Option<String> = "InstanceClass",
            /// `EngineVersion`.
            engine_version: Option<String> = "EngineVersion",
            /// `ZoneId`.
            zone_id: Option<String> = "ZoneId",
            /// `ChargeType`: `PrePaid` or `PostPaid`.
            charge_type: Option<String> = "ChargeType",
            /// `Period`: months, for `PrePaid`.
            period: Option<u64> = "Period",
            /// `NetworkType`.
            network_type: Option<String> = "NetworkType",
            /// `VpcId`.
            vpc_id: Option<String> = "VpcId",
            /// `VSwitchId`.
            vswitch_id: Option<String> = "VSwitchId",
            /// `Password`.
            password: Option<S> = "Password" as HiddenOpt,
            /// `Tag.N.Key` / `Tag.N.Value`.
            tags: Vec<(String, String)> = "Tag" as Pairs,
            /// `SrcDBInstanceId`: the instance whose backup (or data at `RestoreTime`) the new
            /// one starts from.
            src_db_instance_id: Option<String> = "SrcDBInstanceId",
            /// `BackupId`: the backup set of `SrcDBInstanceId` to start from.
            backup_id: Option<String> = "BackupId",
            /// `RestoreTime`: the point in time of `SrcDBInstanceId` to start from
            /// (`yyyy-MM-ddTHH:mm:ssZ`, data flashback on).
            restore_time: Option<String> = "RestoreTime",
            /// `Port`: the service port (1024–65535).
            port: Option<u64> = "Port",
            /// `PrivateIpAddress`: the internal IP address, inside the vSwitch.
            private_ip_address: Option<String> = "PrivateIpAddress",
            /// `ConnectionStringPrefix`: the endpoint's prefix.
            connection_string_prefix: Option<String> = "ConnectionStringPrefix",
            /// `NodeType`: `MASTER_SLAVE`, `STAND_ALONE`, `double` or `single`.
            node_type: Option<String> = "NodeType",
            /// `ShardCount`: shards of a cluster instance.
            shard_count: Option<u64> = "ShardCount",
            /// `ReplicaCount`: secondary nodes in the primary zone.
            replica_count: Option<u64> = "ReplicaCount",
            /// `ReadOnlyCount`: read-only nodes in the primary zone.
            read_only_count: Option<u64> = "ReadOnlyCount",
            /// `SecondaryZoneId`: the secondary zone.
            secondary_zone_id: Option<String> = "SecondaryZoneId",
        }
    }

    /// `DescribeInstances`: one page of the instances of a region. Page defaults are the
    /// cloud's: 1 and 30.
    DescribeInstances = "DescribeInstances" as describe_instances {
        response: DescribeInstancesResponse,
        class: Read,
        token: None,
        fields: {
            /// `RegionId`.
            region_id: String = "RegionId" or String::new(),
            /// `InstanceIds`: comma-separated IDs to restrict the listing to.
            instance_ids: Option<String> = "InstanceIds",
            /// `InstanceStatus` filter.
            instance_status: Option<String> = "InstanceStatus",
            /// `SearchKey`: instances whose ID or name contains this text.
            search_key: Option<String> = "SearchKey",
            /// `Tag.N.*` filter: instances carrying all of these tags.
            tags: Vec<(String, String)> = "Tag" as Pairs,
            /// `PageNumber` (1-based).
            page_number: u64 = "PageNumber" or 1,
            /// `PageSize` (at most 50).
            page_size: u64 = "PageSize" or 30,
        }
    }

    /// `DescribeInstanceAttribute`: the details of one instance.
    DescribeInstanceAttribute = "DescribeInstanceAttribute" as describe_instance_attribute {
        response: DescribeInstanceAttributeResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
        }
    }

    /// `ModifyInstanceAttribute`: renames, sets release protection or resets the default
    /// password.
    ModifyInstanceAttribute<S> = "ModifyInstanceAttribute" as modify_instance_attribute {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `InstanceName`.
            instance_name: Option<String> = "InstanceName",
            /// `InstanceReleaseProtection`.
            instance_release_protection: Option<bool> = "InstanceReleaseProtection",
            /// `NewPassword`.
            new_password: Option<S> = "NewPassword" as HiddenOpt,
        }
    }

    /// `DeleteInstance`: releases an instance.
    DeleteInstance = "DeleteInstance" as delete_instance {
        response: EmptyResponse,
        class: Write(Destructive),
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
        }
    }

    /// `DescribeRegions`: the regions (and their zones) where instances can be created.
    DescribeRegions = "DescribeRegions" as describe_regions {
        response: DescribeRegionsResponse,
        class: Read,
        token: None,
        fields: {
            /// `AcceptLanguage`: `zh-CN` or `en-US`, for `LocalName`.
            accept_language: Option<String> = "AcceptLanguage",
        }
    }

    // Management: specification, billing, network, endpoints, versions, maintenance, flush.

    /// `ModifyInstanceSpec`: changes the instance class; `ClientToken` makes the call
    /// idempotent.
    ModifyInstanceSpec = "ModifyInstanceSpec" as modify_instance_spec {
        response: ModifyInstanceSpecResponse,
        class: Write(Restart),
        token: Some("ClientToken"),
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `InstanceClass`: the target class.
            instance_class: Option<String> = "InstanceClass",
            /// `ClientToken`: the idempotency token (at most 64 ASCII characters).
            client_token: Option<String> = "ClientToken",
            /// `RegionId`.
            region_id: Option<String> = "RegionId",
            /// `EffectiveTime`: `Immediately` or `MaintainTime`.
            effective_time: Option<String> = "EffectiveTime",
            /// `OrderType`: `UPGRADE` or `DOWNGRADE` (subscription instances).
            order_type: Option<String> = "OrderType",
            /// `AutoPay`.
            auto_pay: Option<bool> = "AutoPay",
            /// `ForceUpgrade`.
            force_upgrade: Option<bool> = "ForceUpgrade",
            /// `CouponNo`.
            coupon_no: Option<String> = "CouponNo",
            /// `BusinessInfo`.
            business_info: Option<String> = "BusinessInfo",
            /// `NodeType`: `MASTER_SLAVE`, `STAND_ALONE`, `double` or `single`.
            node_type: Option<String> = "NodeType",
            /// `ShardCount`: shards of a cluster instance.
            shard_count: Option<u64> = "ShardCount",
            /// `ReplicaCount`: secondary nodes in the primary zone.
            replica_count: Option<u64> = "ReplicaCount",
            /// `ReadOnlyCount`: read-only nodes in the primary zone.
            read_only_count: Option<u64> = "ReadOnlyCount",
            /// `SecondaryZoneId`: the secondary zone.
            secondary_zone_id: Option<String> = "SecondaryZoneId",
        }
    }

    /// `TransformToPrePaid`: switches a pay-as-you-go instance to subscription billing.
    TransformToPrePaid = "TransformToPrePaid" as transform_to_pre_paid {
        response: TransformToPrePaidResponse,
        class: Write(Irreversible),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `Period` (required): months; 1–9, 12, 24 or 36.
            period: u64 = "Period",
            /// `AutoPay`.
            auto_pay: Option<bool> = "AutoPay",
            /// `AutoRenew` (sent as `true`/`false` text).
            auto_renew: Option<bool> = "AutoRenew",
            /// `AutoRenewPeriod`: months.
            auto_renew_period: Option<u64> = "AutoRenewPeriod",
            /// `CouponNo`.
            coupon_no: Option<String> = "CouponNo",
        }
    }

    /// `DescribeDBInstanceNetInfo`: the endpoints of an instance.
    DescribeDbInstanceNetInfo = "DescribeDBInstanceNetInfo" as describe_db_instance_net_info {
        response: DescribeDbInstanceNetInfoResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `NetType`: accepted and ignored, as the SDK documents no values for it.
            net_type: Option<String> = "NetType",
        }
    }

    /// `FlushInstance`: erases all data of an instance.
    FlushInstance = "FlushInstance" as flush_instance {
        response: EmptyResponse,
        class: Write(Destructive),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
        }
    }

    /// `ModifyInstanceMaintainTime`: sets the maintenance window.
    ModifyInstanceMaintainTime = "ModifyInstanceMaintainTime" as modify_instance_maintain_time {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `MaintainStartTime` (required): `HH:mmZ`, UTC.
            maintain_start_time: String = "MaintainStartTime",
            /// `MaintainEndTime` (required): `HH:mmZ`, UTC, one hour after the start.
            maintain_end_time: String = "MaintainEndTime",
        }
    }

    /// `ModifyInstanceNetExpireTime`: sets how long a retained classic endpoint is kept.
    ModifyInstanceNetExpireTime = "ModifyInstanceNetExpireTime" as modify_instance_net_expire_time {
        response: ModifyInstanceNetExpireTimeResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `ConnectionString` (required): the retained classic endpoint.
            connection_string: String = "ConnectionString",
            /// `ClassicExpiredDays` (required): 14, 30, 60 or 120.
            classic_expired_days: u64 = "ClassicExpiredDays",
        }
    }

    /// `ModifyDBInstanceConnectionString`: changes the prefix or port of an endpoint. Note the
    /// instance is named by `DBInstanceId`, not `InstanceId`.
    ModifyDbInstanceConnectionString = "ModifyDBInstanceConnectionString" as modify_db_instance_connection_string {
        response: EmptyResponse,
        class: Write(Restart),
        token: None,
        fields: {
            /// `DBInstanceId` (required).
            db_instance_id: String = "DBInstanceId",
            /// `CurrentConnectionString` (required): the endpoint to change.
            current_connection_string: String = "CurrentConnectionString",
            /// `NewConnectionString`: the new prefix (`<prefix>.redis.rds.aliyuncs.com`).
            new_connection_string: Option<String> = "NewConnectionString",
            /// `Port`: 1024–65535.
            port: Option<u64> = "Port",
            /// `IPType`: `Private` or `Public`.
            ip_type: Option<String> = "IPType",
        }
    }

    /// `SwitchNetwork`: moves a classic-network instance into a VPC.
    SwitchNetwork = "SwitchNetwork" as switch_network {
        response: SwitchNetworkResponse,
        class: Write(Irreversible),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `TargetNetworkType`: `VPC`.
            target_network_type: Option<String> = "TargetNetworkType",
            /// `VpcId`.
            vpc_id: Option<String> = "VpcId",
            /// `VSwitchId`.
            vswitch_id: Option<String> = "VSwitchId",
            /// `RetainClassic`: keep the classic endpoint for `ClassicExpiredDays` (sent as
            /// `True`/`False`).
            retain_classic: Option<bool> = "RetainClassic" as Capitalised,
            /// `ClassicExpiredDays`: 14, 30, 60 or 120; required with `RetainClassic`.
            classic_expired_days: Option<u64> = "ClassicExpiredDays",
        }
    }

    /// `ModifyInstanceMajorVersion`: upgrades the major engine version.
    ModifyInstanceMajorVersion = "ModifyInstanceMajorVersion" as modify_instance_major_version {
        response: EmptyResponse,
        class: Write(Irreversible),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `MajorVersion` (required), e.g. `6.0`.
            major_version: String = "MajorVersion",
            /// `EffectiveTime`: `Immediately` or `MaintainTime`.
            effective_time: Option<String> = "EffectiveTime",
        }
    }

    // Accounts.

    /// `CreateAccount`: adds a normal account with a password and a privilege.
    CreateAccount<S> = "CreateAccount" as create_account {
        response: CreateAccountResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `AccountName` (required).
            account_name: String = "AccountName",
            /// `AccountPassword` (required).
            account_password: S = "AccountPassword" as Hidden,
            /// `AccountPrivilege`; the cloud's default is `RoleReadWrite`.
            account_privilege: Option<String> = "AccountPrivilege",
            /// `AccountDescription`.
            account_description: Option<String> = "AccountDescription",
            /// `AccountType`: only `Normal` is accepted.
            account_type: Option<String> = "AccountType",
        }
    }

    /// `DescribeAccounts`: the accounts of an instance, the default (`Super`) account
    /// included.
    DescribeAccounts = "DescribeAccounts" as describe_accounts {
        response: DescribeAccountsResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `AccountName`: only the account of this exact name.
            account_name: Option<String> = "AccountName",
            /// `SearchAccountName`: only accounts whose name contains this text.
            search_account_name: Option<String> = "SearchAccountName",
            /// `PageNumber` (1-based).
            page_number: Option<u64> = "PageNumber",
            /// `PageSize`.
            page_size: Option<u64> = "PageSize",
        }
    }

    /// `ModifyAccountDescription`: sets an account's description.
    ModifyAccountDescription = "ModifyAccountDescription" as modify_account_description {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `AccountName` (required).
            account_name: String = "AccountName",
            /// `AccountDescription` (required).
            account_description: String = "AccountDescription",
        }
    }

    /// `ResetAccountPassword`: sets an account's password without knowing the old one.
    ResetAccountPassword<S> = "ResetAccountPassword" as reset_account_password {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `AccountName` (required).
            account_name: String = "AccountName",
            /// `AccountPassword` (required): the new password.
            account_password: S = "AccountPassword" as Hidden,
        }
    }

    /// `GrantAccountPrivilege`: replaces an account's privilege.
    GrantAccountPrivilege = "GrantAccountPrivilege" as grant_account_privilege {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `AccountName` (required).
            account_name: String = "AccountName",
            /// `AccountPrivilege` (required).
            account_privilege: String = "AccountPrivilege",
        }
    }

    /// `DeleteAccount`: removes a normal account.
    DeleteAccount = "DeleteAccount" as delete_account {
        response: EmptyResponse,
        class: Write(Destructive),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `AccountName` (required).
            account_name: String = "AccountName",
        }
    }

    // Network security: whitelists, TLS, VPC password-free access.

    /// `DescribeSecurityIps`: every whitelist group of an instance, system groups included.
    DescribeSecurityIps = "DescribeSecurityIps" as describe_security_ips {
        response: DescribeSecurityIpsResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
        }
    }

    /// `ModifySecurityIps`: covers, extends or shrinks one whitelist group.
    ModifySecurityIps = "ModifySecurityIps" as modify_security_ips {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `SecurityIps` (required): IPv4 addresses and CIDR blocks, sent comma-joined.
            security_ips: Vec<String> = "SecurityIps" as Comma,
            /// `SecurityIpGroupName`; the cloud uses `default` when it is absent.
            security_ip_group_name: Option<String> = "SecurityIpGroupName",
            /// `SecurityIpGroupAttribute`: empty, or `hidden` to keep the group out of the
            /// console.
            security_ip_group_attribute: Option<String> = "SecurityIpGroupAttribute",
            /// `ModifyMode`: `Cover` (the default), `Append` or `Delete`.
            modify_mode: Option<String> = "ModifyMode",
        }
    }

    /// `ModifyInstanceSSL`: switches TLS on or off, or renews the certificate.
    ModifyInstanceSsl = "ModifyInstanceSSL" as modify_instance_ssl {
        response: ModifyInstanceSslResponse,
        class: Write(Restart),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `SSLEnabled` (required): `Enable`, `Disable` or `Update`.
            ssl_enabled: String = "SSLEnabled",
        }
    }

    /// `DescribeInstanceSSL`: whether TLS is on, and the certificate.
    DescribeInstanceSsl = "DescribeInstanceSSL" as describe_instance_ssl {
        response: DescribeInstanceSslResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
        }
    }

    /// `ModifyInstanceVpcAuthMode`: password-free access from the instance's VPC on or off.
    ModifyInstanceVpcAuthMode = "ModifyInstanceVpcAuthMode" as modify_instance_vpc_auth_mode {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId` (required).
            instance_id: String = "InstanceId",
            /// `VpcAuthMode` (required): `Open` (password required) or `Close`
            /// (password-free).
            vpc_auth_mode: String = "VpcAuthMode",
        }
    }

    // Backups and restores.

    /// `ModifyBackupPolicy`: sets when automatic backups run and how long they are kept.
    ModifyBackupPolicy = "ModifyBackupPolicy" as modify_backup_policy {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `PreferredBackupTime`: a one-hour UTC window on the hour, `HH:mmZ-HH:mmZ`
            /// (e.g. `02:00Z-03:00Z`).
            preferred_backup_time: String = "PreferredBackupTime",
            /// `PreferredBackupPeriod`: comma-separated English weekdays (`Monday,Wednesday`).
            preferred_backup_period: String = "PreferredBackupPeriod",
            /// `BackupRetentionPeriod`: days automatic backups are kept.
            backup_retention_period: Option<i64> = "BackupRetentionPeriod",
            /// `EnableBackupLog`: data flashback on (`1`) or off (`0`).
            enable_backup_log: Option<bool> = "EnableBackupLog" as Flag,
        }
    }

    /// `DescribeBackupPolicy`: the automatic backup policy of an instance.
    DescribeBackupPolicy = "DescribeBackupPolicy" as describe_backup_policy {
        response: DescribeBackupPolicyResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
        }
    }

    /// `CreateBackup`: starts a manual backup.
    CreateBackup = "CreateBackup" as create_backup {
        response: CreateBackupResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `BackupRetentionPeriod`: days this backup is kept (7–730), or `-1` for as long
            /// as the instance exists; the policy's retention when absent.
            backup_retention_period: Option<i64> = "BackupRetentionPeriod",
        }
    }

    /// `DescribeBackups`: one page of an instance's backup sets started within a time range.
    /// Page defaults are the cloud's: 1 and 30.
    DescribeBackups = "DescribeBackups" as describe_backups {
        response: DescribeBackupsResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `StartTime`: `yyyy-MM-ddTHH:mmZ` (UTC).
            start_time: String = "StartTime",
            /// `EndTime`: `yyyy-MM-ddTHH:mmZ` (UTC), after `StartTime`.
            end_time: String = "EndTime",
            /// `BackupId`: only this backup set.
            backup_id: Option<u64> = "BackupId",
            /// `BackupJobId`: only the set of this job.
            backup_job_id: Option<u64> = "BackupJobId",
            /// `NeedAof`: `1` to include AOF files, `0` not.
            need_aof: Option<String> = "NeedAof",
            /// `PageNumber` (1-based).
            page_number: u64 = "PageNumber" or 1,
            /// `PageSize`.
            page_size: u64 = "PageSize" or backup::DESCRIBE_BACKUPS_DEFAULT_PAGE_SIZE,
        }
    }

    /// `RestoreInstance`: overwrites an instance's data with a backup set, or with its data at
    /// a point in time when data flashback is on.
    RestoreInstance = "RestoreInstance" as restore_instance {
        response: EmptyResponse,
        class: Write(Destructive),
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `BackupId`: the set to restore (for `RestoreType` `0`).
            backup_id: Option<String> = "BackupId",
            /// `RestoreType`: `0` (a backup set, the default) or `1` (a point in time).
            restore_type: Option<String> = "RestoreType",
            /// `RestoreTime`: `yyyy-MM-ddTHH:mm:ssZ` (for `RestoreType` `1`).
            restore_time: Option<String> = "RestoreTime",
            /// `FilterKey`: the keys to restore (a pattern).
            filter_key: Option<String> = "FilterKey",
            /// `TimeShift`: how key expiry times are shifted.
            time_shift: Option<String> = "TimeShift",
        }
    }

    // Parameters.

    /// `DescribeInstanceConfig`: an instance's parameters.
    DescribeInstanceConfig = "DescribeInstanceConfig" as describe_instance_config {
        response: DescribeInstanceConfigResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
        }
    }

    /// `ModifyInstanceConfig`: changes parameters. `Config` carries Redis parameters as a
    /// JSON object; the `Param*` fields set the Sentinel and replication modes.
    ModifyInstanceConfig = "ModifyInstanceConfig" as modify_instance_config {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `Config`: a JSON object of parameter → value (values as strings or numbers),
            /// as sent.
            config: Option<String> = "Config",
            /// `ParamNoLooseSentinelEnabled`: `yes` or `no`.
            param_no_loose_sentinel_enabled: Option<String> = "ParamNoLooseSentinelEnabled",
            /// `ParamNoLooseSentinelPasswordFreeAccess`: `yes` or `no`.
            param_no_loose_sentinel_password_free_access: Option<String> =
                "ParamNoLooseSentinelPasswordFreeAccess",
            /// `ParamNoLooseSentinelPasswordFreeCommands`: comma-separated commands.
            param_no_loose_sentinel_password_free_commands: Option<String> =
                "ParamNoLooseSentinelPasswordFreeCommands",
            /// `ParamReplMode`: `async` or `semisync`.
            param_repl_mode: Option<String> = "ParamReplMode",
            /// `ParamSemisyncReplTimeout`: milliseconds.
            param_semisync_repl_timeout: Option<String> = "ParamSemisyncReplTimeout",
            /// `ParamSentinelCompatEnable`: `0` or `1`.
            param_sentinel_compat_enable: Option<String> = "ParamSentinelCompatEnable",
        }
    }

    // Monitoring.

    /// `DescribeMonitorItems`: the metrics `DescribeHistoryMonitorValues` can report.
    DescribeMonitorItems = "DescribeMonitorItems" as describe_monitor_items {
        response: DescribeMonitorItemsResponse,
        class: Read,
        token: None,
        fields: {}
    }

    /// `DescribeHistoryMonitorValues`: an instance's metrics over a time range.
    DescribeHistoryMonitorValues = "DescribeHistoryMonitorValues" as describe_history_monitor_values {
        response: DescribeHistoryMonitorValuesResponse,
        class: Read,
        token: None,
        fields: {
            /// `InstanceId`.
            instance_id: String = "InstanceId",
            /// `StartTime`: `yyyy-MM-ddTHH:mm:ssZ` (UTC).
            start_time: String = "StartTime",
            /// `EndTime`: `yyyy-MM-ddTHH:mm:ssZ` (UTC), after `StartTime`.
            end_time: String = "EndTime",
            /// `IntervalForHistory`: `01m`, `05m`, `15m`, `30m` or `60m`.
            interval_for_history: String = "IntervalForHistory",
            /// `MonitorKeys`: comma-separated metrics; `UsedMemory` and `quotaMemory` when
            /// absent.
            monitor_keys: Option<String> = "MonitorKeys",
            /// `NodeId`: one node of a cluster or read/write splitting instance.
            node_id: Option<String> = "NodeId",
            /// `NodeRole`: `READONLY` for a read-only node.
            node_role: Option<String> = "NodeRole",
            /// `Type`.
            kind: Option<String> = "Type",
        }
    }

    // Tags.

    /// `TagResources`: adds tags to instances; a key they already carry gets the new value.
    TagResources = "TagResources" as tag_resources {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `RegionId` (required).
            region_id: String = "RegionId",
            /// `ResourceType` (required): `INSTANCE`.
            resource_type: String = "ResourceType",
            /// `ResourceId.N` (at least one).
            resource_ids: Vec<String> = "ResourceId" as IndexedRequired,
            /// `Tag.N.Key` / `Tag.N.Value` (at least one).
            tags: Vec<(String, String)> = "Tag" as PairsRequired,
        }
    }

    /// `UntagResources`: removes tags (by key, or all of them) from instances.
    UntagResources = "UntagResources" as untag_resources {
        response: EmptyResponse,
        class: Write(None),
        token: None,
        fields: {
            /// `RegionId` (required).
            region_id: String = "RegionId",
            /// `ResourceType` (required): `INSTANCE`.
            resource_type: String = "ResourceType",
            /// `ResourceId.N` (at least one).
            resource_ids: Vec<String> = "ResourceId" as IndexedRequired,
            /// `TagKey.N`: the keys to remove.
            tag_keys: Vec<String> = "TagKey" as Indexed,
            /// `All`: remove every tag; only used when no `TagKey.N` is given.
            all: Option<bool> = "All",
        }
    }

    /// `ListTagResources`: the tags of instances, by instance and/or by tag, one page at a
    /// time.
    ListTagResources = "ListTagResources" as list_tag_resources {
        response: ListTagResourcesResponse,
        class: Read,
        token: None,
        fields: {
            /// `RegionId` (required).
            region_id: String = "RegionId",
            /// `ResourceType` (required): `INSTANCE`.
            resource_type: String = "ResourceType",
            /// `ResourceId.N`: only these instances.
            resource_ids: Vec<String> = "ResourceId" as Indexed,
            /// `Tag.N.Key` / `Tag.N.Value`: only instances carrying all of these (an empty
            /// value matches any value of the key).
            tags: Vec<(String, String)> = "Tag" as Pairs,
            /// `NextToken`: from the previous page.
            next_token: Option<String> = "NextToken",
        }
    }
}

impl ModifyInstanceConfig {
    /// A request that sets `values` (parameter → value) through `Config`.
    pub fn with_config(instance_id: &str, values: &BTreeMap<String, String>) -> Self {
        ModifyInstanceConfig {
            instance_id: instance_id.to_owned(),
            config: Some(config::config_json(values)),
            ..ModifyInstanceConfig::default()
        }
    }

    /// The `Param*` fields with their wire names.
    pub fn param_fields(&self) -> [(&'static str, Option<&str>); 6] {
        [
            (
                "ParamNoLooseSentinelEnabled",
                self.param_no_loose_sentinel_enabled.as_deref(),
            ),
            (
                "ParamNoLooseSentinelPasswordFreeAccess",
                self.param_no_loose_sentinel_password_free_access.as_deref(),
            ),
            (
                "ParamNoLooseSentinelPasswordFreeCommands",
                self.param_no_loose_sentinel_password_free_commands
                    .as_deref(),
            ),
            ("ParamReplMode", self.param_repl_mode.as_deref()),
            (
                "ParamSemisyncReplTimeout",
                self.param_semisync_repl_timeout.as_deref(),
            ),
            (
                "ParamSentinelCompatEnable",
                self.param_sentinel_compat_enable.as_deref(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn booleans_are_case_insensitive() {
        let map = wire(&[("A", "True"), ("B", "false"), ("C", "yes")]);
        let params = WireParams(&map);
        assert_eq!(params.bool("A"), Ok(Some(true)));
        assert_eq!(params.bool("B"), Ok(Some(false)));
        assert!(matches!(params.bool("C"), Err(ParamError::Invalid { .. })));
        assert_eq!(params.bool("D"), Ok(None));
    }

    #[test]
    fn key_values_follow_numeric_index_order() {
        let map = wire(&[
            ("Tag.10.Key", "ten"),
            ("Tag.10.Value", "10"),
            ("Tag.2.Key", "two"),
            ("Tag.2.Value", "2"),
            ("Tagged", "x"),
        ]);
        let tags = WireParams(&map).key_values("Tag").unwrap();
        assert_eq!(
            tags,
            vec![
                ("two".to_string(), "2".to_string()),
                ("ten".to_string(), "10".to_string())
            ]
        );
    }

    #[test]
    fn key_values_need_a_key() {
        let map = wire(&[("Tag.1.Value", "v")]);
        assert_eq!(
            WireParams(&map).key_values("Tag"),
            Err(ParamError::Missing("Tag.1.Key".into()))
        );
    }

    #[test]
    fn lists_follow_numeric_index_order() {
        let map = wire(&[
            ("ResourceId.10", "r-ten"),
            ("ResourceId.2", "r-two"),
            ("ResourceIdX", "ignored"),
            ("ResourceType", "INSTANCE"),
        ]);
        assert_eq!(
            WireParams(&map).list("ResourceId"),
            Ok(vec!["r-two".to_string(), "r-ten".to_string()])
        );
        assert_eq!(WireParams(&map).list("TagKey"), Ok(vec![]));
    }

    #[test]
    fn lists_refuse_bad_indexes_and_empty_values() {
        let map = wire(&[("TagKey.one", "a")]);
        assert!(matches!(
            WireParams(&map).list("TagKey"),
            Err(ParamError::Invalid { .. })
        ));
        let map = wire(&[("TagKey.1", "")]);
        assert_eq!(
            WireParams(&map).list("TagKey"),
            Err(ParamError::Missing("TagKey.1".into()))
        );
    }

    #[test]
    fn empty_values_count_as_missing() {
        let map = wire(&[("InstanceId", "")]);
        assert_eq!(
            WireParams(&map).required("InstanceId"),
            Err(ParamError::Missing("InstanceId".into()))
        );
    }
}
