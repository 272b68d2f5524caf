//! Backup policy, backup sets and restores.
//!
//! A manual backup snapshots the instance's dataset and parameters when it starts, runs for
//! the backup duration (the instance stays `Normal` meanwhile, as on the cloud) and is listed
//! by `DescribeBackups` once it has finished, until it expires. A backup armed to fail (the
//! `fail_backups` fault) is accepted alike and listed as `Failed` once it ends; it holds no
//! space and is never restored. `RestoreInstance` shows `BackupRecovering` for the change duration and then puts the
//! backup's dataset back. The emulator keeps no write log: a point-in-time restore (data
//! flashback) restores the newest backup set taken at or before the requested time. It takes
//! no automatic backups; the policy is stored and reported. `CreateInstance` with
//! `SrcDBInstanceId` and `BackupId` (or `RestoreTime`) starts a new instance with the data and
//! parameters of the set `RestoreInstance` would restore; `RecoverConfigMode` is not declared,
//! so parameters are always carried over and accounts and whitelists never.

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::errors::VendorError;
use super::lifecycle::Status;
use super::state::{Backup, Context, Handled, Instance, Pending, State, to_body};
use super::times;
use kvsync_wire::actions::backup::{
    BackupSet, Backups, CreateBackup, CreateBackupResponse, DescribeBackupPolicy,
    DescribeBackupPolicyResponse, DescribeBackups, DescribeBackupsResponse, ModifyBackupPolicy,
    RestoreInstance,
};

/// The page sizes `DescribeBackups` accepts.
pub(crate) const BACKUP_PAGE_SIZES: &[u64] = &[30, 50, 100, 200, 300];

/// The days a backup may be kept for (`BackupRetentionPeriod`).
pub(crate) const RETENTION_DAYS: std::ops::RangeInclusive<i64> = 7..=730;

/// The weekdays in week order with their wire names.
const WEEKDAYS: [(&str, Weekday); 7] = [
    ("Monday", Weekday::Monday),
    ("Tuesday", Weekday::Tuesday),
    ("Wednesday", Weekday::Wednesday),
    ("Thursday", Weekday::Thursday),
    ("Friday", Weekday::Friday),
    ("Saturday", Weekday::Saturday),
    ("Sunday", Weekday::Sunday),
];

/// Why a `PreferredBackupTime` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WindowError {
    /// Not `HH:mmZ-HH:mmZ` with valid hours and minutes.
    #[error("the backup time is not of the form HH:mmZ-HH:mmZ")]
    Format,
    /// Well formed, but not one hour starting on the hour.
    #[error("the backup time must start and end on the hour and last one hour")]
    NotOneHour,
}

/// The start hour of a backup window `HH:mmZ-HH:mmZ` that starts on the hour and lasts one hour
/// (`23:00Z-00:00Z` included).
pub(crate) fn parse_backup_window(text: &str) -> Result<u8, WindowError> {
    let (start, end) = text.split_once('-').ok_or(WindowError::Format)?;
    let (start_hour, start_minute) = parse_clock(start).ok_or(WindowError::Format)?;
    let (end_hour, end_minute) = parse_clock(end).ok_or(WindowError::Format)?;
    if start_minute != 0 || end_minute != 0 || end_hour != (start_hour + 1) % 24 {
        return Err(WindowError::NotOneHour);
    }
    Ok(start_hour)
}

/// `HH:mmZ` as hour and minute.
fn parse_clock(text: &str) -> Option<(u8, u8)> {
    let bytes = text.as_bytes();
    let digits_at = |i: usize| bytes[i].is_ascii_digit() && bytes[i + 1].is_ascii_digit();
    if bytes.len() != 6 || !digits_at(0) || bytes[2] != b':' || !digits_at(3) || bytes[5] != b'Z' {
        return None;
    }
    let hour: u8 = text[0..2].parse().ok()?;
    let minute: u8 = text[3..5].parse().ok()?;
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// Why a `PreferredBackupPeriod` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PeriodError {
    /// No day at all.
    #[error("the backup period names no day")]
    Empty,
    /// An item is not an English weekday.
    #[error("{0:?} is not one of Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday")]
    UnknownDay(String),
}

/// The days of a comma-separated list of English weekdays, in week order without repeats.
/// Spaces around items are ignored; names are case-sensitive.
pub(crate) fn parse_weekdays(text: &str) -> Result<Vec<Weekday>, PeriodError> {
    let mut days = Vec::new();
    for item in text.split(',').map(str::trim) {
        let day = WEEKDAYS
            .iter()
            .find(|(name, _)| *name == item)
            .map(|(_, day)| *day)
            .ok_or_else(|| PeriodError::UnknownDay(item.to_owned()))?;
        if !days.contains(&day) {
            days.push(day);
        }
    }
    if days.is_empty() {
        return Err(PeriodError::Empty);
    }
    days.sort_by_key(|day| day.to_monday_one_offset());
    Ok(days)
}

/// The wire form of weekdays: their names joined by commas.
pub(crate) fn format_weekdays(days: &[Weekday]) -> String {
    WEEKDAYS
        .iter()
        .filter(|(_, day)| days.contains(day))
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

/// The first start of the backup window (at `start_hour`:00 UTC on one of `days`) after `now`.
pub(crate) fn next_backup_start(
    now: Timestamp,
    start_hour: u8,
    days: &[Weekday],
) -> Option<Timestamp> {
    let mut day = now.to_zoned_datetime(TimeZone::UTC).date();
    for _ in 0..=7 {
        let start = day
            .at(i8::try_from(start_hour).ok()?, 0, 0, 0)
            .to_zoned_datetime(TimeZone::UTC)
            .ok()?
            .timestamp();
        if start > now && days.contains(&day.weekday()) {
            return Some(start);
        }
        day = day.tomorrow().ok()?;
    }
    None
}

/// `ModifyBackupPolicy`.
pub(crate) fn modify_policy(
    state: &mut State,
    request: ModifyBackupPolicy,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    parse_backup_window(&request.preferred_backup_time).map_err(|err| match err {
        WindowError::Format => VendorError::backup_time_format(),
        WindowError::NotOneHour => VendorError::backup_time_window(),
    })?;
    let days = parse_weekdays(&request.preferred_backup_period)
        .map_err(|_| VendorError::backup_period_malformed())?;
    let retention = request
        .backup_retention_period
        .map(retention_days)
        .transpose()?;
    instance.require_normal()?;

    let policy = &mut instance.backup_policy;
    policy.preferred_time = request.preferred_backup_time;
    policy.preferred_period = format_weekdays(&days);
    if let Some(days) = retention {
        policy.retention_days = days;
    }
    match request.enable_backup_log {
        Some(true) => {
            policy.backup_log_since.get_or_insert(ctx.now);
        }
        Some(false) => policy.backup_log_since = None,
        None => {}
    }
    Ok(Handled::wrote(json!({})))
}

/// A policy's retention in days, or the vendor's error when out of range.
fn retention_days(days: i64) -> Result<u32, VendorError> {
    if RETENTION_DAYS.contains(&days) {
        u32::try_from(days).map_err(|_| VendorError::backup_retention_malformed())
    } else {
        Err(VendorError::backup_retention_malformed())
    }
}

/// `DescribeBackupPolicy`.
pub(crate) fn describe_policy(
    state: &State,
    request: DescribeBackupPolicy,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let policy = &state.instance(&request.instance_id)?.backup_policy;
    let next = parse_backup_window(&policy.preferred_time)
        .ok()
        .zip(parse_weekdays(&policy.preferred_period).ok())
        .and_then(|(hour, days)| next_backup_start(ctx.now, hour, &days));
    Ok(Handled::read(to_body(&DescribeBackupPolicyResponse {
        request_id: String::new(),
        preferred_backup_time: policy.preferred_time.clone(),
        preferred_backup_period: policy.preferred_period.clone(),
        preferred_next_backup_time: next.map(times::to_minutes).unwrap_or_default(),
        backup_retention_period: policy.retention_days.to_string(),
        enable_backup_log: i64::from(policy.backup_log_since.is_some()),
        backup_log_start_time: policy
            .backup_log_since
            .map(times::to_seconds)
            .unwrap_or_default(),
        dbs_instance: "0".into(),
        access_denied_detail: None,
    })))
}

/// `CreateBackup`: snapshots the dataset and parameters now; the set is listed once finished.
pub(crate) fn create(
    state: &mut State,
    request: CreateBackup,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let keep_days = match request.backup_retention_period {
        None => Some(i64::from(instance.backup_policy.retention_days)),
        Some(-1) => None,
        Some(days) if RETENTION_DAYS.contains(&days) => Some(days),
        Some(_) => return Err(VendorError::backup_retention_malformed()),
    };
    instance.require_normal()?;
    if running_backup(state, &instance.id, ctx.now) {
        return Err(VendorError::backup_job_exists());
    }
    let end = ctx.now + ctx.durations.backup;
    let (instance_id, dataset, config) = (
        instance.id.clone(),
        instance.dataset.clone(),
        instance.config.clone(),
    );
    let job_id = state.next_sequence();
    let id = state.next_sequence();
    state.backups.insert(
        id,
        Backup {
            id,
            job_id,
            instance_id,
            start: ctx.now,
            end,
            mode: "Manual".into(),
            dataset,
            config,
            expires: keep_days.map(|days| end + SignedDuration::from_hours(days * 24)),
            failed: ctx.fail_backup,
        },
    );
    Ok(Handled::wrote(to_body(&CreateBackupResponse {
        request_id: String::new(),
        backup_job_id: job_id.to_string(),
    })))
}

/// Whether a backup of the instance is still being taken at `now`.
fn running_backup(state: &State, instance_id: &str, now: Timestamp) -> bool {
    state
        .backups
        .values()
        .any(|backup| backup.instance_id == instance_id && backup.end > now)
}

/// Whether a backup set is listed at `now`: finished and not expired.
fn listed(backup: &Backup, now: Timestamp) -> bool {
    backup.end <= now && backup.expires.is_none_or(|expires| expires > now)
}

/// Whether a backup set can be restored at `now`: listed and not failed.
fn available(backup: &Backup, now: Timestamp) -> bool {
    !backup.failed && listed(backup, now)
}

/// The listed backup sets of an instance (failed ones included), newest first.
fn listed_backups<'a>(
    state: &'a State,
    instance_id: &'a str,
    now: Timestamp,
) -> impl Iterator<Item = &'a Backup> + 'a {
    state
        .backups
        .values()
        .rev()
        .filter(move |backup| backup.instance_id == instance_id && listed(backup, now))
}

/// The available (restorable) backup sets of an instance, newest first.
fn available_backups<'a>(
    state: &'a State,
    instance_id: &'a str,
    now: Timestamp,
) -> impl Iterator<Item = &'a Backup> + 'a {
    state
        .backups
        .values()
        .rev()
        .filter(move |backup| backup.instance_id == instance_id && available(backup, now))
}

/// `DescribeBackups`: the sets that started within the range, newest first, one page.
pub(crate) fn describe(
    state: &State,
    request: DescribeBackups,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let (start, end) = times::query_range(&request.start_time, &request.end_time)?;
    if request.page_number == 0 {
        return Err(VendorError::invalid_parameter("PageNumber"));
    }
    if !BACKUP_PAGE_SIZES.contains(&request.page_size) {
        return Err(VendorError::invalid_parameter("PageSize"));
    }
    let all: Vec<&Backup> = listed_backups(state, &instance.id, ctx.now).collect();
    let matching: Vec<&Backup> = all
        .iter()
        .copied()
        .filter(|backup| backup.start >= start && backup.start <= end)
        .filter(|backup| request.backup_id.is_none_or(|id| backup.id == id))
        .filter(|backup| request.backup_job_id.is_none_or(|id| backup.job_id == id))
        .collect();
    let skip = (request.page_number - 1).saturating_mul(request.page_size);
    let page = matching
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(request.page_size).unwrap_or(usize::MAX))
        .map(|backup| backup_set(backup, instance))
        .collect();
    Ok(Handled::read(to_body(&DescribeBackupsResponse {
        request_id: String::new(),
        page_number: request.page_number,
        page_size: request.page_size,
        total_count: matching.len() as u64,
        backups: Backups { backup: page },
        free_size: 0,
        full_storage_size: all.iter().copied().map(backup_size).sum(),
        log_storage_size: 0,
        access_denied_detail: None,
    })))
}

/// The size of a backup's file, in bytes: none for a failed backup.
fn backup_size(backup: &Backup) -> i64 {
    if backup.failed {
        0
    } else {
        i64::try_from(backup.dataset.used_memory).unwrap_or(i64::MAX)
    }
}

/// A backup set as `DescribeBackups` lists it.
fn backup_set(backup: &Backup, instance: &Instance) -> BackupSet {
    BackupSet {
        backup_id: i64::try_from(backup.id).unwrap_or(i64::MAX),
        backup_job_id: i64::try_from(backup.job_id).unwrap_or(i64::MAX),
        backup_start_time: times::to_seconds(backup.start),
        backup_end_time: times::to_seconds(backup.end),
        backup_status: if backup.failed { "Failed" } else { "Success" }.into(),
        backup_mode: backup.mode.clone(),
        backup_method: "Physical".into(),
        backup_type: "FullBackup".into(),
        backup_size: backup_size(backup),
        backup_db_names: "all".into(),
        backup_download_url: String::new(),
        backup_intranet_download_url: String::new(),
        engine_version: instance.engine_version.clone(),
        expect_expire_time: backup.expires.map(times::to_seconds).unwrap_or_default(),
        node_instance_id: backup.instance_id.clone(),
        recover_config_mode: r#"{"whitelist":false,"config":true,"account":false}"#.into(),
    }
}

/// What a `RestoreInstance` restores from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RestoreSource<'a> {
    /// `RestoreType` `0`: the backup set with this `BackupId`.
    Set(&'a str),
    /// `RestoreType` `1`: the data at this `RestoreTime`.
    PointInTime(&'a str),
}

impl<'a> RestoreSource<'a> {
    /// The source a request names, with the parameter its type needs.
    fn of(request: &'a RestoreInstance) -> Result<Self, VendorError> {
        match request.restore_type.as_deref().unwrap_or("0") {
            "0" => request
                .backup_id
                .as_deref()
                .map(RestoreSource::Set)
                .ok_or_else(|| VendorError::missing_parameter("BackupId")),
            "1" => request
                .restore_time
                .as_deref()
                .map(RestoreSource::PointInTime)
                .ok_or_else(|| VendorError::missing_parameter("RestoreTime")),
            _ => Err(VendorError::invalid_parameter("RestoreType")),
        }
    }
}

/// `RestoreInstance`: `BackupRecovering` for the change duration, then the chosen data is back.
pub(crate) fn restore(
    state: &mut State,
    request: RestoreInstance,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let source = RestoreSource::of(&request)?;
    instance.require_normal()?;
    let dataset = match source {
        RestoreSource::Set(backup_id) => restorable_set(state, instance, backup_id, ctx.now)?
            .dataset
            .clone(),
        RestoreSource::PointInTime(at) => {
            point_in_time(state, instance, at, ctx.now)?.dataset.clone()
        }
    };
    let instance = state.instance_mut(&request.instance_id)?;
    instance.begin(
        Status::BackupRecovering,
        ctx,
        ctx.durations.change,
        vec![Pending::Dataset(dataset)],
    );
    Ok(Handled::wrote(json!({})))
}

/// The backup set `backup_id` of `instance`, if it is available; sets of other instances are
/// restored by creating an instance from them, so they count as not found here.
fn restorable_set<'a>(
    state: &'a State,
    instance: &Instance,
    backup_id: &str,
    now: Timestamp,
) -> Result<&'a Backup, VendorError> {
    backup_id
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| state.backups.get(&id))
        .filter(|backup| backup.instance_id == instance.id && available(backup, now))
        .ok_or_else(VendorError::backup_set_not_found)
}

/// The backup set that holds the data of `instance` at `restore_time` for a point-in-time
/// restore: the newest available one taken at or before it, within the data flashback range.
fn point_in_time<'a>(
    state: &'a State,
    instance: &'a Instance,
    restore_time: &str,
    now: Timestamp,
) -> Result<&'a Backup, VendorError> {
    let since = instance
        .backup_policy
        .backup_log_since
        .ok_or_else(VendorError::backup_log_disabled)?;
    let at = times::parse_utc(restore_time).ok_or_else(|| {
        VendorError::restore_time_invalid("Specify it as yyyy-MM-ddTHH:mm:ssZ in UTC.")
    })?;
    if at < since || at > now {
        return Err(VendorError::restore_time_invalid(
            "It must lie between BackupLogStartTime and now.",
        ));
    }
    available_backups(state, &instance.id, now)
        .find(|backup| backup.start <= at)
        .ok_or_else(|| {
            VendorError::restore_time_invalid("No backup data exists at or before that time.")
        })
}

/// The backup set a new instance starts from (`CreateInstance` with `SrcDBInstanceId` and
/// `BackupId` or `RestoreTime`), `None` for an empty new instance. The source must be an
/// instance of `region_id`; the set is found as `RestoreInstance` finds it.
pub(crate) fn clone_source<'a>(
    state: &'a State,
    source: &CloneSource<'_>,
    region_id: &str,
    now: Timestamp,
) -> Result<Option<&'a Backup>, VendorError> {
    let Some(source_id) = source.instance_id else {
        return match (source.backup_id, source.restore_time) {
            (None, None) => Ok(None),
            _ => Err(VendorError::missing_parameter("SrcDBInstanceId")),
        };
    };
    let instance = state
        .instance(source_id)
        .ok()
        .filter(|instance| instance.region_id == region_id)
        .ok_or_else(VendorError::instance_not_found)?;
    match (source.backup_id, source.restore_time) {
        (Some(backup_id), None) => restorable_set(state, instance, backup_id, now).map(Some),
        (None, Some(at)) => point_in_time(state, instance, at, now).map(Some),
        (Some(_), Some(_)) => Err(VendorError::invalid_parameter_because(
            "RestoreTime",
            "Specify either BackupId or RestoreTime, not both.",
        )),
        (None, None) => Err(VendorError::missing_parameter("BackupId")),
    }
}

/// What a new instance is cloned from, as `CreateInstance` names it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CloneSource<'a> {
    /// `SrcDBInstanceId`.
    pub instance_id: Option<&'a str>,
    /// `BackupId`.
    pub backup_id: Option<&'a str>,
    /// `RestoreTime`.
    pub restore_time: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::state::Dataset;
    use crate::state::Durations;

    #[test]
    fn backup_windows_are_one_hour_on_the_hour() {
        assert_eq!(parse_backup_window("02:00Z-03:00Z"), Ok(2));
        assert_eq!(parse_backup_window("23:00Z-00:00Z"), Ok(23));
        assert_eq!(parse_backup_window("00:00Z-01:00Z"), Ok(0));
        for wide_or_off in [
            "00:00Z-04:00Z",
            "02:30Z-03:30Z",
            "03:00Z-02:00Z",
            "02:00Z-02:00Z",
        ] {
            assert_eq!(
                parse_backup_window(wide_or_off),
                Err(WindowError::NotOneHour),
                "{wide_or_off}"
            );
        }
        for malformed in [
            "",
            "02:00-03:00",
            "02:00Z",
            "2:00Z-3:00Z",
            "24:00Z-01:00Z",
            "02:60Z-03:00Z",
            "02:00Z_03:00Z",
            "02:00Z-03:00Z-04:00Z",
            "ab:cdZ-ef:ghZ",
        ] {
            assert_eq!(
                parse_backup_window(malformed),
                Err(WindowError::Format),
                "{malformed}"
            );
        }
    }

    #[test]
    fn weekdays_come_back_in_week_order_without_repeats() {
        let days = parse_weekdays("Friday, Monday,Friday").unwrap();
        assert_eq!(days, vec![Weekday::Monday, Weekday::Friday]);
        assert_eq!(format_weekdays(&days), "Monday,Friday");
        assert_eq!(
            parse_weekdays("monday"),
            Err(PeriodError::UnknownDay("monday".into()))
        );
        assert_eq!(
            parse_weekdays("Monday,,Tuesday"),
            Err(PeriodError::UnknownDay(String::new()))
        );
        assert_eq!(
            parse_weekdays("Mon"),
            Err(PeriodError::UnknownDay("Mon".into()))
        );
    }

    #[test]
    fn the_next_backup_starts_at_the_next_chosen_day_after_now() {
        // 2024-01-03 is a Wednesday.
        let at = |text: &str| times::parse_utc(text).unwrap();
        let weekdays = [Weekday::Monday, Weekday::Wednesday];
        assert_eq!(
            next_backup_start(at("2024-01-03T01:59:59Z"), 2, &weekdays),
            Some(at("2024-01-03T02:00Z"))
        );
        assert_eq!(
            next_backup_start(at("2024-01-03T02:00Z"), 2, &weekdays),
            Some(at("2024-01-08T02:00Z"))
        );
        assert_eq!(
            next_backup_start(at("2024-01-03T12:00Z"), 2, &[Weekday::Wednesday]),
            Some(at("2024-01-10T02:00Z"))
        );
    }

    #[test]
    fn policy_retention_is_7_to_730_days() {
        assert_eq!(retention_days(7), Ok(7));
        assert_eq!(retention_days(730), Ok(730));
        assert!(retention_days(6).is_err());
        assert!(retention_days(731).is_err());
        assert!(retention_days(-1).is_err());
    }

    fn ctx(seconds: i64) -> Context {
        Context {
            now: Timestamp::from_second(1_700_000_000 + seconds).unwrap(),
            durations: Durations {
                create: SignedDuration::from_secs(3),
                change: SignedDuration::from_secs(2),
                token_memory: None,
                backup: SignedDuration::from_secs(2),
            },
            fail_backup: false,
        }
    }

    fn handle(
        state: &mut State,
        action: &str,
        params: &[(&str, &str)],
        at: i64,
    ) -> Result<Handled, VendorError> {
        let wire: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        state.handle(action, &wire, &ctx(at))
    }

    fn new_instance(state: &mut State) -> String {
        let created = handle(
            state,
            "CreateInstance",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceClass", "redis.master.small.default"),
            ],
            0,
        )
        .unwrap();
        created.body["InstanceId"].as_str().unwrap().to_owned()
    }

    #[test]
    fn backup_flush_restore_brings_the_data_of_backup_time_back() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let taken = state.instances[&id].dataset.clone();
        assert!(taken.keys > 0, "a new instance holds data");

        let created = handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 10).unwrap();
        assert!(created.changed);
        let job: u64 = created.body["BackupJobID"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let backup = state.backups.values().find(|b| b.job_id == job).unwrap();
        assert_eq!(backup.dataset, taken);
        assert_eq!(backup.config, state.instances[&id].config);
        let backup_id = backup.id.to_string();

        // FlushInstance belongs to another family; start its transition directly.
        let flush_ctx = ctx(20);
        let instance = state.instances.get_mut(&id).unwrap();
        instance.begin(
            Status::Flushing,
            &flush_ctx,
            flush_ctx.durations.change,
            vec![Pending::Flush],
        );
        state.settle(ctx(22).now);
        assert_eq!(state.instances[&id].dataset, Dataset::default());

        let restored = handle(
            &mut state,
            "RestoreInstance",
            &[("InstanceId", &id), ("BackupId", &backup_id)],
            30,
        )
        .unwrap();
        assert!(restored.changed);
        assert_eq!(
            state.instances[&id].lifecycle.status,
            Status::BackupRecovering
        );
        assert_eq!(state.instances[&id].dataset, Dataset::default());
        state.settle(ctx(31).now);
        assert_eq!(
            state.instances[&id].lifecycle.status,
            Status::BackupRecovering
        );
        state.settle(ctx(32).now);
        assert_eq!(state.instances[&id].lifecycle.status, Status::Normal);
        assert_eq!(state.instances[&id].dataset, taken);
    }

    #[test]
    fn a_running_backup_is_neither_listed_nor_restorable_and_blocks_another() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 10).unwrap();
        let err = handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 11).unwrap_err();
        assert_eq!(err.code, "BackupJobExists");
        let backup_id = state.backups.keys().next().unwrap().to_string();
        let err = handle(
            &mut state,
            "RestoreInstance",
            &[("InstanceId", &id), ("BackupId", &backup_id)],
            11,
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidBackupSetID.NotFound");
        let range = [
            ("InstanceId", id.as_str()),
            ("StartTime", "2023-11-14T00:00Z"),
            ("EndTime", "2023-11-16T00:00Z"),
        ];
        let listed = handle(&mut state, "DescribeBackups", &range, 11).unwrap();
        assert_eq!(listed.body["TotalCount"], 0);
        let listed = handle(&mut state, "DescribeBackups", &range, 12).unwrap();
        assert_eq!(listed.body["TotalCount"], 1);
        assert!(!listed.changed);
    }

    /// `DescribeBackups` over the test days at `at`.
    fn list_backups(state: &mut State, id: &str, extra: &[(&str, &str)], at: i64) -> Value {
        let mut params = vec![
            ("InstanceId", id),
            ("StartTime", "2023-11-14T00:00Z"),
            ("EndTime", "2023-11-16T00:00Z"),
        ];
        params.extend_from_slice(extra);
        handle(state, "DescribeBackups", &params, at).unwrap().body
    }

    #[test]
    fn a_backup_runs_for_the_backup_duration_and_keeps_the_instance_normal() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let slow = Context {
            durations: Durations {
                backup: SignedDuration::from_secs(30),
                ..ctx(10).durations
            },
            ..ctx(10)
        };
        let wire = BTreeMap::from([("InstanceId".to_owned(), id.clone())]);
        state.handle("CreateBackup", &wire, &slow).unwrap();
        assert_eq!(state.instances[&id].lifecycle.status, Status::Normal);
        assert_eq!(list_backups(&mut state, &id, &[], 39)["TotalCount"], 0);
        let listed = list_backups(&mut state, &id, &[], 40);
        assert_eq!(listed["TotalCount"], 1);
        assert_eq!(
            listed["Backups"]["Backup"][0]["BackupEndTime"],
            times::to_seconds(ctx(40).now)
        );
    }

    #[test]
    fn a_failed_backup_is_listed_as_failed_with_its_job_id_and_never_restored() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let failing = Context {
            fail_backup: true,
            ..ctx(10)
        };
        let wire = BTreeMap::from([("InstanceId".to_owned(), id.clone())]);
        let created = state.handle("CreateBackup", &wire, &failing).unwrap();
        let job = created.body["BackupJobID"].as_str().unwrap().to_owned();
        handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 20).unwrap();

        let listed = list_backups(&mut state, &id, &[], 30);
        assert_eq!(listed["TotalCount"], 2);
        let by_job = list_backups(&mut state, &id, &[("BackupJobId", &job)], 30);
        assert_eq!(by_job["TotalCount"], 1);
        let set = &by_job["Backups"]["Backup"][0];
        assert_eq!(set["BackupStatus"], "Failed");
        assert_eq!(set["BackupJobID"].to_string(), job);
        assert_eq!(set["BackupSize"], 0);
        let good = &listed["Backups"]["Backup"][0];
        assert_eq!(good["BackupStatus"], "Success");
        assert_eq!(listed["FullStorageSize"], good["BackupSize"]);

        let failed_id = set["BackupId"].to_string();
        let by_id = list_backups(&mut state, &id, &[("BackupId", &failed_id)], 30);
        assert_eq!(by_id["Backups"]["Backup"][0]["BackupStatus"], "Failed");
        let err = handle(
            &mut state,
            "RestoreInstance",
            &[("InstanceId", &id), ("BackupId", &failed_id)],
            30,
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidBackupSetID.NotFound");
    }

    #[test]
    fn a_backup_set_of_another_instance_is_not_found() {
        let mut state = State::default();
        let owner = new_instance(&mut state);
        let other = new_instance(&mut state);
        handle(&mut state, "CreateBackup", &[("InstanceId", &owner)], 10).unwrap();
        let backup_id = state.backups.keys().next().unwrap().to_string();
        let err = handle(
            &mut state,
            "RestoreInstance",
            &[("InstanceId", &other), ("BackupId", &backup_id)],
            20,
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidBackupSetID.NotFound");
        assert!(
            handle(
                &mut state,
                "RestoreInstance",
                &[("InstanceId", &owner), ("BackupId", &backup_id)],
                20,
            )
            .is_ok()
        );
    }

    #[test]
    fn data_flashback_keeps_its_start_until_switched_off() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let flashback = |flag: &'static str| {
            [
                ("PreferredBackupTime", "02:00Z-03:00Z"),
                ("PreferredBackupPeriod", "Monday"),
                ("EnableBackupLog", flag),
            ]
        };
        let set = |state: &mut State, flag: &'static str, at: i64| {
            let mut params = flashback(flag).to_vec();
            params.push(("InstanceId", id.as_str()));
            handle(state, "ModifyBackupPolicy", &params, at).unwrap();
        };
        let describe = |state: &mut State| {
            handle(state, "DescribeBackupPolicy", &[("InstanceId", &id)], 9)
                .unwrap()
                .body
        };
        set(&mut state, "1", 5);
        set(&mut state, "1", 8);
        let policy = describe(&mut state);
        assert_eq!(policy["EnableBackupLog"], 1);
        assert_eq!(policy["BackupLogStartTime"], times::to_seconds(ctx(5).now));
        set(&mut state, "0", 9);
        let policy = describe(&mut state);
        assert_eq!(policy["EnableBackupLog"], 0);
        assert_eq!(policy["BackupLogStartTime"], "");
    }

    #[test]
    fn backups_expire_after_their_retention() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        handle(
            &mut state,
            "CreateBackup",
            &[("InstanceId", &id), ("BackupRetentionPeriod", "7")],
            10,
        )
        .unwrap();
        let backup = state.backups.values().next().unwrap();
        let seven_days = 7 * 24 * 3600;
        assert_eq!(
            backup.expires,
            Some(backup.end + SignedDuration::from_secs(seven_days))
        );
        let backup_id = backup.id.to_string();
        let restore = [
            ("InstanceId", id.as_str()),
            ("BackupId", backup_id.as_str()),
        ];
        let err = handle(&mut state, "RestoreInstance", &restore, 12 + seven_days).unwrap_err();
        assert_eq!(err.code, "InvalidBackupSetID.NotFound");
        assert!(handle(&mut state, "RestoreInstance", &restore, 11 + seven_days).is_ok());
    }

    #[test]
    fn point_in_time_restores_the_newest_set_taken_by_then() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        handle(
            &mut state,
            "ModifyBackupPolicy",
            &[
                ("InstanceId", &id),
                ("PreferredBackupTime", "02:00Z-03:00Z"),
                ("PreferredBackupPeriod", "Monday"),
                ("EnableBackupLog", "1"),
            ],
            5,
        )
        .unwrap();
        handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 10).unwrap();
        let taken = state.instances[&id].dataset.clone();
        state.instances.get_mut(&id).unwrap().dataset = Dataset::default();
        let restore_at = times::to_seconds(ctx(60).now);
        handle(
            &mut state,
            "RestoreInstance",
            &[
                ("InstanceId", &id),
                ("RestoreType", "1"),
                ("RestoreTime", &restore_at),
            ],
            100,
        )
        .unwrap();
        state.settle(ctx(102).now);
        assert_eq!(state.instances[&id].dataset, taken);

        let before_any = times::to_seconds(ctx(7).now);
        let err = handle(
            &mut state,
            "RestoreInstance",
            &[
                ("InstanceId", &id),
                ("RestoreType", "1"),
                ("RestoreTime", &before_any),
            ],
            200,
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidRestoreTime.Format");
    }

    /// `CreateInstance` of a clone of `source` with `extra` parameters, at `at`.
    fn clone_of(
        state: &mut State,
        source: &str,
        extra: &[(&str, &str)],
        at: i64,
    ) -> Result<Handled, VendorError> {
        let mut params = vec![
            ("RegionId", "cn-hangzhou"),
            ("InstanceClass", "redis.master.small.default"),
            ("SrcDBInstanceId", source),
        ];
        params.extend_from_slice(extra);
        handle(state, "CreateInstance", &params, at)
    }

    #[test]
    fn a_clone_from_a_backup_set_starts_with_its_data_and_parameters() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        state
            .instances
            .get_mut(&id)
            .unwrap()
            .config
            .insert("maxmemory-policy".into(), "allkeys-lru".into());
        handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 10).unwrap();
        let backup_id = state.backups.keys().next().unwrap().to_string();
        let taken = state.instances[&id].dataset.clone();
        // Changed after the backup: the clone has the backup's values, not these.
        let source = state.instances.get_mut(&id).unwrap();
        source.config.insert("timeout".into(), "300".into());
        source.dataset = Dataset::default();

        let created = clone_of(&mut state, &id, &[("BackupId", &backup_id)], 20).unwrap();
        let clone_id = created.body["InstanceId"].as_str().unwrap();
        let clone = &state.instances[clone_id];
        assert_eq!(clone.dataset, taken);
        assert_eq!(clone.config["maxmemory-policy"], "allkeys-lru");
        assert_eq!(clone.config["timeout"], "0");
    }

    #[test]
    fn a_clone_at_a_point_in_time_needs_data_flashback() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        handle(&mut state, "CreateBackup", &[("InstanceId", &id)], 10).unwrap();
        let at = times::to_seconds(ctx(60).now);
        let err = clone_of(&mut state, &id, &[("RestoreTime", &at)], 100).unwrap_err();
        assert_eq!(err.code, "IncorrectBackupLogState");

        handle(
            &mut state,
            "ModifyBackupPolicy",
            &[
                ("InstanceId", &id),
                ("PreferredBackupTime", "02:00Z-03:00Z"),
                ("PreferredBackupPeriod", "Monday"),
                ("EnableBackupLog", "1"),
            ],
            5,
        )
        .unwrap();
        let taken = state.instances[&id].dataset.clone();
        let created = clone_of(&mut state, &id, &[("RestoreTime", &at)], 100).unwrap();
        let clone_id = created.body["InstanceId"].as_str().unwrap();
        assert_eq!(state.instances[clone_id].dataset, taken);
    }

    #[test]
    fn a_clone_names_one_existing_source_and_one_usable_set() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let other = new_instance(&mut state);
        handle(&mut state, "CreateBackup", &[("InstanceId", &other)], 10).unwrap();
        let others_set = state.backups.keys().next().unwrap().to_string();
        let code = |result: Result<Handled, VendorError>| result.unwrap_err().code;

        let without_source = handle(
            &mut state,
            "CreateInstance",
            &[
                ("RegionId", "cn-hangzhou"),
                ("InstanceClass", "redis.master.small.default"),
                ("BackupId", &others_set),
            ],
            20,
        );
        assert_eq!(code(without_source), "MissingParameter");
        assert_eq!(
            code(clone_of(
                &mut state,
                "r-nosuch",
                &[("BackupId", &others_set)],
                20
            )),
            "InvalidInstanceId.NotFound"
        );
        assert_eq!(
            code(clone_of(&mut state, &id, &[("BackupId", &others_set)], 20)),
            "InvalidBackupSetID.NotFound",
            "a set of another instance"
        );
        assert_eq!(
            code(clone_of(
                &mut state,
                &other,
                &[("BackupId", &others_set)],
                11
            )),
            "InvalidBackupSetID.NotFound",
            "a set still being taken"
        );
        assert_eq!(
            code(clone_of(&mut state, &other, &[("BackupId", "12345")], 20)),
            "InvalidBackupSetID.NotFound"
        );
        assert_eq!(
            code(clone_of(&mut state, &other, &[], 20)),
            "MissingParameter"
        );
        let both = [
            ("BackupId", others_set.as_str()),
            ("RestoreTime", "2023-11-14T22:13:30Z"),
        ];
        let err = clone_of(&mut state, &other, &both, 20).unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
        assert!(err.message.contains("RestoreTime"));
        assert!(clone_of(&mut state, &other, &[("BackupId", &others_set)], 20).is_ok());
    }

    #[test]
    fn a_failed_set_is_never_cloned() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let failing = Context {
            fail_backup: true,
            ..ctx(10)
        };
        let wire: BTreeMap<String, String> = [("InstanceId".to_owned(), id.clone())].into();
        state.handle("CreateBackup", &wire, &failing).unwrap();
        let set = state.backups.keys().next().unwrap().to_string();
        let err = clone_of(&mut state, &id, &[("BackupId", &set)], 20).unwrap_err();
        assert_eq!(err.code, "InvalidBackupSetID.NotFound");
    }

    #[test]
    fn the_policy_retention_set_is_the_one_reported() {
        let mut state = State::default();
        let id = new_instance(&mut state);
        let set = |state: &mut State, days: &str| {
            handle(
                state,
                "ModifyBackupPolicy",
                &[
                    ("InstanceId", &id),
                    ("PreferredBackupTime", "02:00Z-03:00Z"),
                    ("PreferredBackupPeriod", "Monday"),
                    ("BackupRetentionPeriod", days),
                ],
                10,
            )
        };
        set(&mut state, "730").unwrap();
        let err = set(&mut state, "731").unwrap_err();
        assert_eq!(err.code, "InvalidBackupRetentionPeriod.Malformed");
        let policy = handle(
            &mut state,
            "DescribeBackupPolicy",
            &[("InstanceId", &id)],
            11,
        )
        .unwrap()
        .body;
        assert_eq!(policy["BackupRetentionPeriod"], "730");
        assert_eq!(policy["EnableBackupLog"], 0, "left as it was");
    }
}
