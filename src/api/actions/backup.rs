//! Backup and recovery actions: the automatic backup policy, backup sets and restores.
//!
//! The SDK models give some fields different JSON types in different actions on purpose:
//! `BackupJobID` is a string in [`CreateBackupResponse`] but an integer in [`BackupSet`];
//! `BackupRetentionPeriod` is a string in [`DescribeBackupPolicyResponse`] while
//! `EnableBackupLog` there is an integer.

use serde::{Deserialize, Serialize};

use super::instance::EmptyResponse;
use super::{Action, ParamError, WireParams};
use crate::api::params::Params;

/// `ModifyBackupPolicy`: sets when automatic backups run and how long they are kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyBackupPolicy {
    /// `InstanceId`.
    pub instance_id: String,
    /// `PreferredBackupTime`: a one-hour UTC window on the hour, `HH:mmZ-HH:mmZ`
    /// (e.g. `02:00Z-03:00Z`).
    pub preferred_backup_time: String,
    /// `PreferredBackupPeriod`: comma-separated English weekdays (`Monday,Wednesday`).
    pub preferred_backup_period: String,
    /// `BackupRetentionPeriod`: days automatic backups are kept.
    pub backup_retention_period: Option<i64>,
    /// `EnableBackupLog`: data flashback on (`1`) or off (`0`).
    pub enable_backup_log: Option<bool>,
}

impl Action for ModifyBackupPolicy {
    const NAME: &'static str = "ModifyBackupPolicy";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("PreferredBackupTime", &self.preferred_backup_time)
            .set("PreferredBackupPeriod", &self.preferred_backup_period)
            .set_opt(
                "BackupRetentionPeriod",
                self.backup_retention_period.map(|days| days.to_string()),
            )
            .set_opt("EnableBackupLog", self.enable_backup_log.map(wire_flag));
        params
    }
}

impl ModifyBackupPolicy {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ModifyBackupPolicy {
            instance_id: wire.required("InstanceId")?.to_owned(),
            preferred_backup_time: wire.required("PreferredBackupTime")?.to_owned(),
            preferred_backup_period: wire.required("PreferredBackupPeriod")?.to_owned(),
            backup_retention_period: wire_i64(wire, "BackupRetentionPeriod")?,
            enable_backup_log: wire_flag_param(wire, "EnableBackupLog")?,
        })
    }
}

/// `DescribeBackupPolicy`: the automatic backup policy of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribeBackupPolicy {
    /// `InstanceId`.
    pub instance_id: String,
}

impl Action for DescribeBackupPolicy {
    const NAME: &'static str = "DescribeBackupPolicy";
    const MUTATING: bool = false;
    type Response = DescribeBackupPolicyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id);
        params
    }
}

impl DescribeBackupPolicy {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeBackupPolicy {
            instance_id: wire.required("InstanceId")?.to_owned(),
        })
    }
}

/// The answer to `DescribeBackupPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeBackupPolicyResponse {
    pub request_id: String,
    /// `HH:mmZ-HH:mmZ`.
    pub preferred_backup_time: String,
    /// Comma-separated weekdays.
    pub preferred_backup_period: String,
    /// The start of the next automatic backup, `yyyy-MM-ddTHH:mmZ`.
    pub preferred_next_backup_time: String,
    /// Days, as a **string**.
    pub backup_retention_period: String,
    /// `1` when data flashback is on, else `0` (an integer).
    pub enable_backup_log: i64,
    /// Since when log backups exist (empty when data flashback is off).
    pub backup_log_start_time: String,
    /// `1` when the instance has a DBS backup service, else `0`.
    pub dbs_instance: String,
    /// Deprecated; absent in the emulator's answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_denied_detail: Option<AccessDeniedDetail>,
}

/// The deprecated `AccessDeniedDetail` object of some answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AccessDeniedDetail {
    pub auth_action: String,
    pub auth_principal_display_name: String,
    pub auth_principal_owner_id: String,
    pub auth_principal_type: String,
    pub encoded_diagnostic_message: String,
    pub no_permission_type: String,
    pub policy_type: String,
}

/// `CreateBackup`: starts a manual backup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateBackup {
    /// `InstanceId`.
    pub instance_id: String,
    /// `BackupRetentionPeriod`: days this backup is kept (7–730), or `-1` for as long as the
    /// instance exists; the policy's retention when absent.
    pub backup_retention_period: Option<i64>,
}

impl Action for CreateBackup {
    const NAME: &'static str = "CreateBackup";
    const MUTATING: bool = true;
    type Response = CreateBackupResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params.set("InstanceId", &self.instance_id).set_opt(
            "BackupRetentionPeriod",
            self.backup_retention_period.map(|days| days.to_string()),
        );
        params
    }
}

impl CreateBackup {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(CreateBackup {
            instance_id: wire.required("InstanceId")?.to_owned(),
            backup_retention_period: wire_i64(wire, "BackupRetentionPeriod")?,
        })
    }
}

/// The answer to `CreateBackup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBackupResponse {
    pub request_id: String,
    /// The backup job's ID, as a **string** (an integer in `DescribeBackups`).
    #[serde(rename = "BackupJobID")]
    pub backup_job_id: String,
}

/// `DescribeBackups`: one page of an instance's backup sets started within a time range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeBackups {
    /// `InstanceId`.
    pub instance_id: String,
    /// `StartTime`: `yyyy-MM-ddTHH:mmZ` (UTC).
    pub start_time: String,
    /// `EndTime`: `yyyy-MM-ddTHH:mmZ` (UTC), after `StartTime`.
    pub end_time: String,
    /// `BackupId`: only this backup set.
    pub backup_id: Option<u64>,
    /// `BackupJobId`: only the set of this job.
    pub backup_job_id: Option<u64>,
    /// `NeedAof`: `1` to include AOF files, `0` not.
    pub need_aof: Option<String>,
    /// `PageNumber` (1-based).
    pub page_number: u64,
    /// `PageSize`.
    pub page_size: u64,
}

/// The page size `DescribeBackups` uses unless told otherwise.
pub const DESCRIBE_BACKUPS_DEFAULT_PAGE_SIZE: u64 = 30;

impl Action for DescribeBackups {
    const NAME: &'static str = "DescribeBackups";
    const MUTATING: bool = false;
    type Response = DescribeBackupsResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set("StartTime", &self.start_time)
            .set("EndTime", &self.end_time)
            .set_opt("BackupId", self.backup_id.map(|id| id.to_string()))
            .set_opt("BackupJobId", self.backup_job_id.map(|id| id.to_string()))
            .set_opt("NeedAof", self.need_aof.as_deref())
            .set("PageNumber", self.page_number.to_string())
            .set("PageSize", self.page_size.to_string());
        params
    }
}

impl DescribeBackups {
    /// Parses an incoming request (emulator side). Page defaults are the cloud's: 1 and 30.
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(DescribeBackups {
            instance_id: wire.required("InstanceId")?.to_owned(),
            start_time: wire.required("StartTime")?.to_owned(),
            end_time: wire.required("EndTime")?.to_owned(),
            backup_id: wire.u64("BackupId")?,
            backup_job_id: wire.u64("BackupJobId")?,
            need_aof: wire.string("NeedAof"),
            page_number: wire.u64("PageNumber")?.unwrap_or(1),
            page_size: wire
                .u64("PageSize")?
                .unwrap_or(DESCRIBE_BACKUPS_DEFAULT_PAGE_SIZE),
        })
    }
}

/// The answer to `DescribeBackups`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeBackupsResponse {
    pub request_id: String,
    pub page_number: u64,
    pub page_size: u64,
    pub total_count: u64,
    pub backups: Backups,
    /// Free backup quota, bytes.
    pub free_size: i64,
    /// Bytes of full backups the instance holds.
    pub full_storage_size: i64,
    /// Bytes of log backups the instance holds.
    pub log_storage_size: i64,
    /// Deprecated; absent in the emulator's answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_denied_detail: Option<AccessDeniedDetail>,
}

/// `Backups: {Backup: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Backups {
    pub backup: Vec<BackupSet>,
}

/// One backup set in a `DescribeBackups` page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BackupSet {
    /// An integer here.
    pub backup_id: i64,
    /// An integer here, a string in `CreateBackup`: the SDK models say so.
    #[serde(rename = "BackupJobID")]
    pub backup_job_id: i64,
    /// `yyyy-MM-ddTHH:mm:ssZ`.
    pub backup_start_time: String,
    /// `yyyy-MM-ddTHH:mm:ssZ`.
    pub backup_end_time: String,
    /// `Success` or `Failed`.
    pub backup_status: String,
    /// `Automated` or `Manual`.
    pub backup_mode: String,
    /// `Logical` or `Physical`.
    pub backup_method: String,
    /// `FullBackup` or `IncrementalBackup`.
    pub backup_type: String,
    /// Bytes.
    pub backup_size: i64,
    #[serde(rename = "BackupDBNames")]
    pub backup_db_names: String,
    #[serde(rename = "BackupDownloadURL")]
    pub backup_download_url: String,
    #[serde(rename = "BackupIntranetDownloadURL")]
    pub backup_intranet_download_url: String,
    pub engine_version: String,
    /// `yyyy-MM-ddTHH:mm:ssZ`, or empty when it does not expire.
    pub expect_expire_time: String,
    pub node_instance_id: String,
    /// A JSON string saying whether the set holds the whitelist, parameters and accounts.
    pub recover_config_mode: String,
}

/// `RestoreInstance`: overwrites an instance's data with a backup set, or with its data at a
/// point in time when data flashback is on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreInstance {
    /// `InstanceId`.
    pub instance_id: String,
    /// `BackupId`: the set to restore (for `RestoreType` `0`).
    pub backup_id: Option<String>,
    /// `RestoreType`: `0` (a backup set, the default) or `1` (a point in time).
    pub restore_type: Option<String>,
    /// `RestoreTime`: `yyyy-MM-ddTHH:mm:ssZ` (for `RestoreType` `1`).
    pub restore_time: Option<String>,
    /// `FilterKey`: the keys to restore (a pattern).
    pub filter_key: Option<String>,
    /// `TimeShift`: how key expiry times are shifted.
    pub time_shift: Option<String>,
}

impl Action for RestoreInstance {
    const NAME: &'static str = "RestoreInstance";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("InstanceId", &self.instance_id)
            .set_opt("BackupId", self.backup_id.as_deref())
            .set_opt("RestoreType", self.restore_type.as_deref())
            .set_opt("RestoreTime", self.restore_time.as_deref())
            .set_opt("FilterKey", self.filter_key.as_deref())
            .set_opt("TimeShift", self.time_shift.as_deref());
        params
    }
}

impl RestoreInstance {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(RestoreInstance {
            instance_id: wire.required("InstanceId")?.to_owned(),
            backup_id: wire.string("BackupId"),
            restore_type: wire.string("RestoreType"),
            restore_time: wire.string("RestoreTime"),
            filter_key: wire.string("FilterKey"),
            time_shift: wire.string("TimeShift"),
        })
    }
}

/// `1` or `0`, the wire form of the integer flags of this family.
fn wire_flag(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

/// An optional `1`/`0` flag.
fn wire_flag_param(wire: WireParams<'_>, name: &str) -> Result<Option<bool>, ParamError> {
    match wire.optional(name) {
        None => Ok(None),
        Some("1") => Ok(Some(true)),
        Some("0") => Ok(Some(false)),
        Some(value) => Err(invalid(name, value)),
    }
}

/// An optional signed integer.
fn wire_i64(wire: WireParams<'_>, name: &str) -> Result<Option<i64>, ParamError> {
    wire.optional(name)
        .map(|value| value.trim().parse().map_err(|_| invalid(name, value)))
        .transpose()
}

fn invalid(name: &str, value: &str) -> ParamError {
    ParamError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn modify_backup_policy_round_trips_through_the_wire() {
        let request = ModifyBackupPolicy {
            instance_id: "r-1".into(),
            preferred_backup_time: "02:00Z-03:00Z".into(),
            preferred_backup_period: "Monday,Friday".into(),
            backup_retention_period: Some(14),
            enable_backup_log: Some(true),
        };
        let wire = request.params().expose();
        assert_eq!(wire["EnableBackupLog"], "1");
        assert_eq!(wire["BackupRetentionPeriod"], "14");
        assert_eq!(
            ModifyBackupPolicy::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn flags_other_than_one_and_zero_are_invalid() {
        let wire: BTreeMap<String, String> = [
            ("InstanceId", "r-1"),
            ("PreferredBackupTime", "02:00Z-03:00Z"),
            ("PreferredBackupPeriod", "Monday"),
            ("EnableBackupLog", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert!(matches!(
            ModifyBackupPolicy::from_wire(WireParams(&wire)),
            Err(ParamError::Invalid { name, .. }) if name == "EnableBackupLog"
        ));
    }

    #[test]
    fn describe_backups_defaults_to_the_first_page_of_30() {
        let wire: BTreeMap<String, String> = [
            ("InstanceId", "r-1"),
            ("StartTime", "2019-03-11T10:00Z"),
            ("EndTime", "2019-03-14T18:00Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let request = DescribeBackups::from_wire(WireParams(&wire)).unwrap();
        assert_eq!((request.page_number, request.page_size), (1, 30));
        assert_eq!(request.params().expose()["PageSize"], "30");
    }

    #[test]
    fn backup_job_id_is_a_string_in_create_and_an_integer_in_listings() {
        let created = serde_json::to_value(CreateBackupResponse {
            request_id: "r".into(),
            backup_job_id: "42".into(),
        })
        .unwrap();
        assert_eq!(created["BackupJobID"], "42");
        let listed = serde_json::to_value(BackupSet {
            backup_job_id: 42,
            ..BackupSet::default()
        })
        .unwrap();
        assert_eq!(listed["BackupJobID"], 42);
        for key in [
            "BackupId",
            "BackupDBNames",
            "BackupDownloadURL",
            "BackupIntranetDownloadURL",
            "NodeInstanceId",
            "RecoverConfigMode",
        ] {
            assert!(listed.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn policy_answer_types_follow_the_sdk_models() {
        let json = serde_json::to_value(DescribeBackupPolicyResponse {
            backup_retention_period: "7".into(),
            enable_backup_log: 1,
            ..DescribeBackupPolicyResponse::default()
        })
        .unwrap();
        assert!(json["BackupRetentionPeriod"].is_string());
        assert!(json["EnableBackupLog"].is_i64());
        assert!(json["DbsInstance"].is_string());
        assert!(json.get("AccessDeniedDetail").is_none());
    }
}
