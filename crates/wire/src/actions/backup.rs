//! Backup and recovery actions: the automatic backup policy, backup sets and restores.
//!
//! The SDK models give some fields different JSON types in different actions on purpose:
//! `BackupJobID` is a string in [`CreateBackupResponse`] but an integer in [`BackupSet`];
//! `BackupRetentionPeriod` is a string in [`DescribeBackupPolicyResponse`] while
//! `EnableBackupLog` there is an integer.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

pub use super::{
    CreateBackup, DescribeBackupPolicy, DescribeBackups, ModifyBackupPolicy, RestoreInstance,
};

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

/// The answer to `CreateBackup`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBackupResponse {
    pub request_id: String,
    /// The backup job's ID, as a **string** (an integer in `DescribeBackups`).
    #[serde(rename = "BackupJobID")]
    pub backup_job_id: String,
}

/// The page size `DescribeBackups` uses unless told otherwise.
pub const DESCRIBE_BACKUPS_DEFAULT_PAGE_SIZE: u64 = 30;

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::actions::{Action, ParamError, WireParams};

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
