//! Every R-KVStore action kvsync sends or the emulator serves, declared once: wire name,
//! handler method, response type, class and impact, idempotency token, and each request field
//! with its wire name and codec (see [`declare`](super::declare)). The request structs,
//! their parameters, their parsing, [`Request`] and the emulator's [`Handler`] all come from
//! this one list.
//!
//! Adding an action is one entry here; the emulator then fails to compile until
//! its `Handler` implementation has the new method.

use super::account::{CreateAccountResponse, DescribeAccountsResponse};
use super::backup::{CreateBackupResponse, DescribeBackupPolicyResponse, DescribeBackupsResponse};
use super::config::DescribeInstanceConfigResponse;
use super::instance::{
    CreateInstanceResponse, DescribeInstanceAttributeResponse, DescribeInstancesResponse,
    EmptyResponse,
};
use super::manage::{
    DescribeDbInstanceNetInfoResponse, ModifyInstanceNetExpireTimeResponse,
    ModifyInstanceSpecResponse, SwitchNetworkResponse, TransformToPrePaidResponse,
};
use super::monitor::{DescribeHistoryMonitorValuesResponse, DescribeMonitorItemsResponse};
use super::region::DescribeRegionsResponse;
use super::security::{
    DescribeInstanceSslResponse, DescribeSecurityIpsResponse, ModifyInstanceSslResponse,
};
use super::tag::ListTagResourcesResponse;

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
            page_size: u64 = "PageSize" or super::backup::DESCRIBE_BACKUPS_DEFAULT_PAGE_SIZE,
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
