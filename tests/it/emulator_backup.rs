//! The backup and recovery family against the in-process emulator: policy, backup sets,
//! restores, the answers' shapes and JSON types, and every error code the family returns.

use std::path::PathBuf;

use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use kvsync::emulator::state::Durations;
use kvsync::emulator::{self, EmulatorConfig, RunningEmulator};
use serde_json::Value;

use crate::support::{Request, call, create_normal_instance, wait_normal};

/// Starts an emulator with separate create and change durations (seconds), optionally
/// persisting to `state_path`.
async fn start(create: f64, change: f64, state_path: Option<PathBuf>) -> RunningEmulator {
    let config = EmulatorConfig {
        durations: Durations {
            create: SignedDuration::from_secs_f64(create),
            change: SignedDuration::from_secs_f64(change),
            token_memory: None,
            backup: SignedDuration::from_secs_f64(change),
        },
        state_path,
        ..EmulatorConfig::default()
    };
    emulator::start("127.0.0.1:0", config).await.unwrap()
}

/// `now + offset` as `yyyy-MM-ddTHH:mmZ`.
fn minutes_from_now(offset: i64) -> String {
    (Timestamp::now() + SignedDuration::from_mins(offset))
        .strftime("%Y-%m-%dT%H:%MZ")
        .to_string()
}

/// `DescribeBackups` of `id` over the last and next hour, with extra parameters.
fn list(id: &str) -> Request {
    Request::new("DescribeBackups")
        .param("InstanceId", id)
        .param("StartTime", &minutes_from_now(-60))
        .param("EndTime", &minutes_from_now(60))
}

/// Starts a backup and waits until it is listed; returns its job ID and the listed set.
async fn backup_and_wait(url: &str, id: &str) -> (String, Value) {
    let (status, created) = call(url, Request::new("CreateBackup").param("InstanceId", id)).await;
    assert_eq!(status, 200, "{created}");
    let job = created["BackupJobID"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        let (_, body) = call(url, list(id).param("BackupJobId", &job)).await;
        if body["TotalCount"] == 1 {
            return (job, body["Backups"]["Backup"][0].clone());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("backup job {job} was never listed");
}

/// The `Keys` metric of the newest monitoring point; `None` when it is 0 (left out).
async fn keys_now(url: &str, id: &str) -> Option<u64> {
    let (status, body) = call(
        url,
        Request::new("DescribeHistoryMonitorValues")
            .param("InstanceId", id)
            .param("StartTime", &minutes_from_now(-5))
            .param("EndTime", &minutes_from_now(1))
            .param("IntervalForHistory", "01m")
            .param("MonitorKeys", "Keys"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let history: serde_json::Map<String, Value> =
        serde_json::from_str(body["MonitorHistory"].as_str().unwrap()).unwrap();
    let (_, newest) = history.iter().next_back().expect("at least one point");
    newest
        .get("Keys")
        .map(|keys| keys.as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn the_backup_policy_is_stored_normalised_and_reported_with_sdk_types() {
    let emu = start(0.2, 0.2, None).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "policy").await;
    let describe = || Request::new("DescribeBackupPolicy").param("InstanceId", &id);

    let (status, policy) = call(&url, describe()).await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["PreferredBackupTime"], "02:00Z-03:00Z");
    assert_eq!(
        policy["PreferredBackupPeriod"],
        "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday"
    );
    assert_eq!(policy["BackupRetentionPeriod"], "7");
    assert_eq!(policy["EnableBackupLog"], 0);
    assert_eq!(policy["BackupLogStartTime"], "");
    assert_eq!(policy["DbsInstance"], "0");

    let (status, body) = call(
        &url,
        Request::new("ModifyBackupPolicy")
            .param("InstanceId", &id)
            .param("PreferredBackupTime", "23:00Z-00:00Z")
            .param("PreferredBackupPeriod", "Friday, Monday,Friday")
            .param("BackupRetentionPeriod", "14")
            .param("EnableBackupLog", "1"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "only RequestId: {body}");

    let before = Timestamp::now();
    let (_, policy) = call(&url, describe()).await;
    assert_eq!(policy["PreferredBackupTime"], "23:00Z-00:00Z");
    assert_eq!(policy["PreferredBackupPeriod"], "Monday,Friday");
    assert!(policy["BackupRetentionPeriod"].is_string());
    assert_eq!(policy["BackupRetentionPeriod"], "14");
    assert!(policy["EnableBackupLog"].is_i64());
    assert_eq!(policy["EnableBackupLog"], 1);
    let log_start = policy["BackupLogStartTime"].as_str().unwrap();
    assert!(
        DateTime::strptime("%Y-%m-%dT%H:%M:%SZ", log_start).is_ok(),
        "{log_start}"
    );

    let next = policy["PreferredNextBackupTime"].as_str().unwrap();
    let next = DateTime::strptime("%Y-%m-%dT%H:%MZ", next).unwrap();
    assert_eq!((next.hour(), next.minute()), (23, 0));
    assert!(matches!(next.weekday(), Weekday::Monday | Weekday::Friday));
    let next = next.to_zoned_datetime(TimeZone::UTC).unwrap().timestamp();
    assert!(next > before && next <= before + SignedDuration::from_hours(24 * 7));
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn a_backup_is_listed_with_the_sdk_shape_and_filtered_by_id_range_and_page() {
    let emu = start(0.2, 0.3, None).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "backed-up").await;

    let (status, created) = call(&url, Request::new("CreateBackup").param("InstanceId", &id)).await;
    assert_eq!(status, 200, "{created}");
    assert!(
        created["BackupJobID"].is_string(),
        "a string in CreateBackup"
    );
    let job: i64 = created["BackupJobID"].as_str().unwrap().parse().unwrap();
    wait_normal(&url, &id).await;

    let mut listed = Value::Null;
    for _ in 0..100 {
        let (status, body) = call(&url, list(&id)).await;
        assert_eq!(status, 200, "{body}");
        if body["TotalCount"] == 1 {
            listed = body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(listed["PageNumber"], 1);
    assert_eq!(listed["PageSize"], 30);
    assert!(listed["FreeSize"].is_i64());
    assert!(listed["LogStorageSize"].is_i64());
    let set = &listed["Backups"]["Backup"][0];
    assert!(set["BackupId"].is_i64());
    assert_eq!(set["BackupJobID"], job, "an integer in DescribeBackups");
    assert_eq!(set["BackupStatus"], "Success");
    assert_eq!(set["BackupMode"], "Manual");
    assert_eq!(set["BackupMethod"], "Physical");
    assert_eq!(set["BackupType"], "FullBackup");
    assert_eq!(set["BackupDBNames"], "all");
    assert_eq!(set["NodeInstanceId"], id.as_str());
    assert_eq!(set["EngineVersion"], "5.0");
    let size = set["BackupSize"].as_i64().unwrap();
    assert!(size > 0);
    assert_eq!(listed["FullStorageSize"], size);
    for key in [
        "BackupDownloadURL",
        "BackupIntranetDownloadURL",
        "RecoverConfigMode",
    ] {
        assert!(set[key].is_string(), "{key}");
    }
    let start = set["BackupStartTime"].as_str().unwrap();
    let end = set["BackupEndTime"].as_str().unwrap();
    let expires = set["ExpectExpireTime"].as_str().unwrap();
    let parse = |text: &str| {
        DateTime::strptime("%Y-%m-%dT%H:%M:%SZ", text).unwrap_or_else(|err| panic!("{text}: {err}"))
    };
    assert!(parse(start) <= parse(end));
    let kept = parse(end).duration_until(parse(expires));
    assert_eq!(
        kept,
        SignedDuration::from_hours(7 * 24),
        "the policy's 7 days"
    );
    let backup_id = set["BackupId"].as_i64().unwrap().to_string();

    let (_, second) = backup_and_wait(&url, &id).await;
    let (_, all) = call(&url, list(&id)).await;
    assert_eq!(all["TotalCount"], 2);
    assert_eq!(
        all["Backups"]["Backup"][0]["BackupId"], second["BackupId"],
        "newest first"
    );
    let (_, only) = call(&url, list(&id).param("BackupId", &backup_id)).await;
    assert_eq!(only["TotalCount"], 1);
    assert_eq!(only["Backups"]["Backup"][0]["BackupJobID"], job);
    let (_, page_two) = call(&url, list(&id).param("PageNumber", "2")).await;
    assert_eq!(page_two["TotalCount"], 2);
    assert_eq!(page_two["Backups"]["Backup"].as_array().unwrap().len(), 0);
    let (_, later) = call(&url, list(&id).param("StartTime", &minutes_from_now(30))).await;
    assert_eq!(later["TotalCount"], 0);
    let (_, never_expiring) = call(
        &url,
        Request::new("CreateBackup")
            .param("InstanceId", &id)
            .param("BackupRetentionPeriod", "-1"),
    )
    .await;
    assert!(never_expiring["BackupJobID"].is_string());
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn restore_brings_back_the_data_as_it_was_when_the_backup_was_taken() {
    let dir = tempfile::tempdir().unwrap();
    let state_path = dir.path().join("state.json");
    let emu = start(0.2, 2.0, Some(state_path.clone())).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "restored").await;
    let keys_at_backup = keys_now(&url, &id)
        .await
        .expect("a new instance holds keys");
    let (_, set) = backup_and_wait(&url, &id).await;
    let backup_id = set["BackupId"].as_i64().unwrap().to_string();
    emu.stop().await.unwrap();

    // The data changes behind the API's back (as a flush would), in the persisted state.
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    state["instances"][&id]["dataset"] = serde_json::json!({"keys": 0, "used_memory": 0});
    std::fs::write(&state_path, state.to_string()).unwrap();

    let emu = start(0.2, 2.0, Some(state_path)).await;
    let url = emu.url();
    assert_eq!(keys_now(&url, &id).await, None, "no keys: left out as 0");

    let (status, body) = call(
        &url,
        Request::new("RestoreInstance")
            .param("InstanceId", &id)
            .param("BackupId", &backup_id),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, attribute) = call(
        &url,
        Request::new("DescribeInstanceAttribute").param("InstanceId", &id),
    )
    .await;
    assert_eq!(
        attribute["Instances"]["DBInstanceAttribute"][0]["InstanceStatus"],
        "BackupRecovering"
    );
    assert_eq!(
        keys_now(&url, &id).await,
        None,
        "not back before the restore ends"
    );
    wait_normal(&url, &id).await;
    assert_eq!(keys_now(&url, &id).await, Some(keys_at_backup));
    emu.stop().await.unwrap();
}

#[tokio::test]
async fn every_backup_family_error_code() {
    // Backups and restores run for a minute; one instance stays Creating on a second emulator.
    let emu = start(0.2, 60.0, None).await;
    let url = emu.url();
    let id = create_normal_instance(&url, "cn-hangzhou", "table").await;
    let (status, _) = call(&url, Request::new("CreateBackup").param("InstanceId", &id)).await;
    assert_eq!(status, 200);
    let flashback = create_normal_instance(&url, "cn-hangzhou", "flashback").await;
    let (status, _) = call(
        &url,
        Request::new("ModifyBackupPolicy")
            .param("InstanceId", &flashback)
            .param("PreferredBackupTime", "02:00Z-03:00Z")
            .param("PreferredBackupPeriod", "Monday")
            .param("EnableBackupLog", "1"),
    )
    .await;
    assert_eq!(status, 200);
    let slow = start(60.0, 60.0, None).await;
    let slow_url = slow.url();
    let (_, created) = call(
        &slow_url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default"),
    )
    .await;
    let creating = created["InstanceId"].as_str().unwrap().to_owned();

    let policy = |instance: &str| {
        Request::new("ModifyBackupPolicy")
            .param("InstanceId", instance)
            .param("PreferredBackupTime", "02:00Z-03:00Z")
            .param("PreferredBackupPeriod", "Monday")
    };
    let backup = |instance: &str| Request::new("CreateBackup").param("InstanceId", instance);
    let restore = |instance: &str| {
        Request::new("RestoreInstance")
            .param("InstanceId", instance)
            .param("BackupId", "424242")
    };
    let pitr = || {
        Request::new("RestoreInstance")
            .param("InstanceId", &flashback)
            .param("RestoreType", "1")
    };
    let now_seconds = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let unknown = "r-doesnotexist0000";

    let cases: Vec<(&str, &str, Request, u16, &str)> = vec![
        // ModifyBackupPolicy
        (
            "policy without time",
            &url,
            Request::new("ModifyBackupPolicy")
                .param("InstanceId", &id)
                .param("PreferredBackupPeriod", "Monday"),
            400,
            "MissingParameter",
        ),
        (
            "policy of unknown instance",
            &url,
            policy(unknown),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "time without Z",
            &url,
            policy(&id).param("PreferredBackupTime", "02:00-03:00"),
            400,
            "InvalidPreferredBackupTime.Format",
        ),
        (
            "four-hour window",
            &url,
            policy(&id).param("PreferredBackupTime", "00:00Z-04:00Z"),
            400,
            "InvalidPreferredBackupTime",
        ),
        (
            "half-past window",
            &url,
            policy(&id).param("PreferredBackupTime", "02:30Z-03:30Z"),
            400,
            "InvalidPreferredBackupTime",
        ),
        (
            "unknown weekday",
            &url,
            policy(&id).param("PreferredBackupPeriod", "Monday,Funday"),
            400,
            "InvalidPreferredBackupPeriod.Malformed",
        ),
        (
            "lower-case weekday",
            &url,
            policy(&id).param("PreferredBackupPeriod", "monday"),
            400,
            "InvalidPreferredBackupPeriod.Malformed",
        ),
        (
            "policy retention 6",
            &url,
            policy(&id).param("BackupRetentionPeriod", "6"),
            400,
            "InvalidBackupRetentionPeriod.Malformed",
        ),
        (
            "policy retention not a number",
            &url,
            policy(&id).param("BackupRetentionPeriod", "seven"),
            400,
            "InvalidParameter",
        ),
        (
            "backup log flag 2",
            &url,
            policy(&id).param("EnableBackupLog", "2"),
            400,
            "InvalidParameter",
        ),
        (
            "policy of a creating instance",
            &slow_url,
            policy(&creating),
            400,
            "IncorrectDBInstanceState",
        ),
        // DescribeBackupPolicy
        (
            "describe policy without instance",
            &url,
            Request::new("DescribeBackupPolicy"),
            400,
            "MissingParameter",
        ),
        (
            "describe policy of unknown instance",
            &url,
            Request::new("DescribeBackupPolicy").param("InstanceId", unknown),
            404,
            "InvalidInstanceId.NotFound",
        ),
        // CreateBackup
        (
            "backup without instance",
            &url,
            Request::new("CreateBackup"),
            400,
            "MissingParameter",
        ),
        (
            "backup of unknown instance",
            &url,
            backup(unknown),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "backup retention 731",
            &url,
            backup(&flashback).param("BackupRetentionPeriod", "731"),
            400,
            "InvalidBackupRetentionPeriod.Malformed",
        ),
        (
            "backup retention not a number",
            &url,
            backup(&flashback).param("BackupRetentionPeriod", "x"),
            400,
            "InvalidParameter",
        ),
        (
            "backup of a creating instance",
            &slow_url,
            backup(&creating),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "backup while one runs",
            &url,
            backup(&id),
            400,
            "BackupJobExists",
        ),
        // DescribeBackups
        (
            "list without start",
            &url,
            Request::new("DescribeBackups")
                .param("InstanceId", &id)
                .param("EndTime", "2019-03-14T18:00Z"),
            400,
            "MissingParameter",
        ),
        (
            "list of unknown instance",
            &url,
            list(unknown),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "start with offset",
            &url,
            list(&id).param("StartTime", "2019-03-11T10:00+08:00"),
            400,
            "InvalidStartTime.Malformed",
        ),
        (
            "end not a date",
            &url,
            list(&id).param("EndTime", "tomorrow"),
            400,
            "InvalidEndTime.Malformed",
        ),
        (
            "end before start",
            &url,
            list(&id)
                .param("StartTime", "2019-03-14T18:00Z")
                .param("EndTime", "2019-03-11T10:00Z"),
            400,
            "InvalidEndTime.Format",
        ),
        (
            "page size 10",
            &url,
            list(&id).param("PageSize", "10"),
            400,
            "InvalidParameter",
        ),
        (
            "page number 0",
            &url,
            list(&id).param("PageNumber", "0"),
            400,
            "InvalidParameter",
        ),
        (
            "backup id not a number",
            &url,
            list(&id).param("BackupId", "abc"),
            400,
            "InvalidParameter",
        ),
        // RestoreInstance
        (
            "restore without backup",
            &url,
            Request::new("RestoreInstance").param("InstanceId", &id),
            400,
            "MissingParameter",
        ),
        (
            "restore of unknown instance",
            &url,
            restore(unknown),
            404,
            "InvalidInstanceId.NotFound",
        ),
        (
            "restore type 2",
            &url,
            restore(&id).param("RestoreType", "2"),
            400,
            "InvalidParameter",
        ),
        (
            "restore of a creating instance",
            &slow_url,
            restore(&creating),
            400,
            "IncorrectDBInstanceState",
        ),
        (
            "unknown backup set",
            &url,
            restore(&id),
            400,
            "InvalidBackupSetID.NotFound",
        ),
        (
            "backup id not a number",
            &url,
            restore(&id).param("BackupId", "not-a-number"),
            400,
            "InvalidBackupSetID.NotFound",
        ),
        (
            "point in time without time",
            &url,
            pitr(),
            400,
            "MissingParameter",
        ),
        (
            "point in time without data flashback",
            &url,
            pitr()
                .param("InstanceId", &id)
                .param("RestoreTime", &now_seconds),
            400,
            "IncorrectBackupLogState",
        ),
        (
            "point in time malformed",
            &url,
            pitr().param("RestoreTime", "2019-03-11 10:00:00"),
            400,
            "InvalidRestoreTime.Format",
        ),
        (
            "point in time before flashback",
            &url,
            pitr().param("RestoreTime", "2019-03-11T10:00:00Z"),
            400,
            "InvalidRestoreTime.Format",
        ),
    ];
    for (name, target, request, status, code) in cases {
        let (got_status, body) = call(target, request).await;
        assert_eq!(
            (got_status, body["Code"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {body}"
        );
    }
    slow.stop().await.unwrap();
    emu.stop().await.unwrap();
}

/// `DescribeInstanceConfig`'s `Config` of `id`, parsed.
async fn config_of(url: &str, id: &str) -> Value {
    let (status, body) = call(
        url,
        Request::new("DescribeInstanceConfig").param("InstanceId", id),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(body["Config"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_clone_from_a_backup_set_starts_with_the_sources_parameters() {
    let emu = start(0.2, 0.2, None).await;
    let url = emu.url();
    let source = create_normal_instance(&url, "cn-hangzhou", "source").await;
    let (status, body) = call(
        &url,
        Request::new("ModifyInstanceConfig")
            .param("InstanceId", &source)
            .param("Config", r#"{"maxmemory-policy":"allkeys-lfu"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    wait_normal(&url, &source).await;
    let (_, set) = backup_and_wait(&url, &source).await;
    let backup_id = set["BackupId"].to_string();

    let (status, created) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default")
            .param("SrcDBInstanceId", &source)
            .param("BackupId", &backup_id),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let clone = created["InstanceId"].as_str().unwrap().to_owned();
    wait_normal(&url, &clone).await;
    let cloned = config_of(&url, &clone).await;
    assert_eq!(cloned["maxmemory-policy"], "allkeys-lfu");
    assert_eq!(cloned, config_of(&url, &source).await);

    let (status, body) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default")
            .param("BackupId", &backup_id),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("MissingParameter"))
    );
    let (status, body) = call(
        &url,
        Request::new("CreateInstance")
            .param("RegionId", "cn-hangzhou")
            .param("InstanceClass", "redis.master.small.default")
            .param("SrcDBInstanceId", &clone)
            .param("BackupId", &backup_id),
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (400, Some("InvalidBackupSetID.NotFound")),
        "the set is the source's, not the clone's"
    );
    emu.stop().await.unwrap();
}
