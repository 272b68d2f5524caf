//! Validation of an instance's managed aspects: maintenance window, whitelists, accounts,
//! backup policy and parameters.

use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};

use super::{FileContext, Sites};
use crate::manifest::desired::{
    BackupPolicy, DesiredAccount, MaintenanceWindow, Privilege, SecretSite, Weekday,
};
use crate::manifest::diagnostics::Collector;
use crate::manifest::raw;
use crate::manifest::rules::{
    MAX_WHITELIST_ENTRIES, SYSTEM_GROUPS, account_name_problem, backup_time_problem,
    description_problem, group_name_problem, normalize_ip, one_hour_window_problem,
    parameter_name_problem, reference_problem, shown,
};
use crate::values::Ipv4Net;
use kvsync_secrets::reference::{RawSecretRef, SecretRef, confinement_problem};

/// The most normal accounts an instance may have.
pub(super) const MAX_ACCOUNTS: usize = 18;

/// A secret reference: its variable name or path checked, a relative path anchored at the
/// manifest's directory and confined to the directories secrets may be read from; with where
/// it is written.
pub(super) fn secret(
    c: &mut Collector<'_>,
    raw: RawSecretRef,
    files: &FileContext<'_>,
) -> (SecretRef, SecretSite) {
    let problem = reference_problem(&raw.reference);
    let reference = raw.reference.anchored_at(files.dir);
    if let Some(problem) = problem {
        c.error(raw.value_at, "secret-reference", problem);
    } else if let SecretRef::File(path) = &reference
        && let Some(problem) = confinement_problem(path, &files.roots, files.resolver)
    {
        c.error(raw.value_at, "secret-file", problem);
    }
    let site = SecretSite {
        at: Some(c.source(raw.value_at)),
        roots: files.roots.clone(),
    };
    (reference, site)
}

/// `spec.maintenanceWindow`: `HH:mmZ` times one hour apart.
pub(super) fn maintenance_window(
    c: &mut Collector<'_>,
    window: Spanned<raw::MaintenanceWindow>,
) -> Option<MaintenanceWindow> {
    let raw::MaintenanceWindow { start, end } = window.value;
    let problem = one_hour_window_problem(&start.value, &end.value);
    match (problem, start.value.parse(), end.value.parse()) {
        (None, Ok(start), Ok(end)) => Some(MaintenanceWindow { start, end }),
        (problem, ..) => {
            let problem = problem.unwrap_or_else(|| {
                format!(
                    "{}-{} is not a window of HH:mmZ times such as 02:00Z-03:00Z",
                    shown(&start.value),
                    shown(&end.value)
                )
            });
            c.error(
                start.referenced,
                "maintenance-window",
                format!("spec.maintenanceWindow: {problem}"),
            );
            None
        }
    }
}

/// One whitelist group's entries, normalised; problems recorded.
pub(super) fn ip_entries(
    c: &mut Collector<'_>,
    entries: Spanned<Vec<Spanned<String>>>,
) -> BTreeSet<Ipv4Net> {
    if entries.value.is_empty() {
        c.error(
            entries.referenced,
            "whitelist",
            "a whitelist group needs at least one entry (leave the group out to leave it unmanaged)",
        );
    }
    let mut set = BTreeSet::new();
    for entry in entries.value {
        match normalize_ip(&entry.value) {
            Ok(ip) => {
                set.insert(ip);
            }
            Err(problem) => c.error(entry.referenced, "ip", problem),
        }
    }
    set
}

/// Checks a whitelist group name, including that it is not a system group.
pub(super) fn group_name(c: &mut Collector<'_>, name: &Spanned<String>) {
    if SYSTEM_GROUPS.contains(&name.value.as_str()) {
        c.error(
            name.referenced,
            "whitelist",
            format!(
                "{} is a system whitelist group that kvsync never touches; remove it from the manifest",
                shown(&name.value)
            ),
        );
    } else if let Some(problem) = group_name_problem(&name.value) {
        c.error(name.referenced, "whitelist", problem);
    }
}

/// `spec.whitelists`: group → normalised entries; where each group is goes to `sites`.
pub(super) fn whitelists(
    c: &mut Collector<'_>,
    groups: Spanned<raw::Entries<raw::IpList>>,
    sites: &mut Sites,
) -> BTreeMap<String, BTreeSet<Ipv4Net>> {
    sites.whitelists = Some(c.source(groups.referenced));
    let mut result = BTreeMap::new();
    for (name, entries) in groups.value.0 {
        group_name(c, &name);
        sites
            .groups
            .insert(name.value.clone(), c.source(name.referenced));
        result.insert(name.value, ip_entries(c, entries));
    }
    let total: usize = result.values().map(BTreeSet::len).sum();
    if total > MAX_WHITELIST_ENTRIES {
        c.error(
            groups.referenced,
            "whitelist",
            format!(
                "{total} whitelist entries; an instance allows at most {MAX_WHITELIST_ENTRIES}"
            ),
        );
    }
    result
}

fn privilege(value: Option<Spanned<raw::Privilege>>) -> Privilege {
    match value.map(|p| p.value) {
        None | Some(raw::Privilege::RoleReadWrite) => Privilege::RoleReadWrite,
        Some(raw::Privilege::RoleReadOnly) => Privilege::RoleReadOnly,
        Some(raw::Privilege::RoleRepl) => Privilege::RoleRepl,
    }
}

/// Validates one account's fields (shared by `spec.accounts` and `kind: Account`).
pub(super) fn account(
    c: &mut Collector<'_>,
    name: Spanned<String>,
    privilege_value: Option<Spanned<raw::Privilege>>,
    password: Option<Spanned<RawSecretRef>>,
    description: Option<Spanned<String>>,
    files: &FileContext<'_>,
) -> DesiredAccount {
    if let Some(problem) = account_name_problem(&name.value) {
        c.error(name.referenced, "account-name", problem);
    }
    if let Some(description) = &description
        && let Some(problem) = description_problem(&description.value)
    {
        c.error(description.referenced, "account-description", problem);
    }
    let (password, password_site) = match password {
        Some(p) => {
            let (reference, site) = secret(c, p.value, files);
            (Some(reference), site)
        }
        None => (None, SecretSite::default()),
    };
    DesiredAccount {
        source: c.source(name.referenced),
        name: name.value,
        privilege: privilege(privilege_value),
        password,
        password_site,
        description: description.map(|d| d.value),
    }
}

/// `spec.accounts`: unique names, at most 18; where the list and each privilege are goes to
/// `sites`.
pub(super) fn accounts(
    c: &mut Collector<'_>,
    entries: Spanned<Vec<Spanned<raw::AccountEntry>>>,
    files: &FileContext<'_>,
    sites: &mut Sites,
) -> BTreeMap<String, DesiredAccount> {
    sites.accounts = Some(c.source(entries.referenced));
    let mut result = BTreeMap::new();
    if entries.value.len() > MAX_ACCOUNTS {
        c.error(
            entries.referenced,
            "accounts",
            format!(
                "{} accounts; an instance allows at most {MAX_ACCOUNTS}",
                entries.value.len()
            ),
        );
    }
    for entry in entries.value {
        let raw::AccountEntry {
            name,
            privilege,
            password,
            description,
        } = entry.value;
        let at = name.referenced;
        let privilege_at = privilege.as_ref().map(|p| c.source(p.referenced));
        let validated = account(c, name, privilege, password, description, files);
        if result.contains_key(&validated.name) {
            c.error(
                at,
                "accounts",
                format!("account {} is listed twice", shown(&validated.name)),
            );
            continue;
        }
        if let Some(privilege_at) = privilege_at {
            sites
                .privileges
                .insert(validated.name.clone(), privilege_at);
        }
        result.insert(validated.name.clone(), validated);
    }
    result
}

fn weekday(day: raw::Weekday) -> Weekday {
    match day {
        raw::Weekday::Monday => Weekday::Monday,
        raw::Weekday::Tuesday => Weekday::Tuesday,
        raw::Weekday::Wednesday => Weekday::Wednesday,
        raw::Weekday::Thursday => Weekday::Thursday,
        raw::Weekday::Friday => Weekday::Friday,
        raw::Weekday::Saturday => Weekday::Saturday,
        raw::Weekday::Sunday => Weekday::Sunday,
    }
}

/// `spec.backupPolicy`: a one-hour window on the hour and at least one weekday.
pub(super) fn backup_policy(
    c: &mut Collector<'_>,
    policy: Spanned<raw::BackupPolicy>,
) -> Option<BackupPolicy> {
    let raw::BackupPolicy {
        time,
        period,
        retention_days,
        backup_log,
    } = policy.value;
    let mut ok = true;
    let retention_days = retention_days.map(|days| {
        if !(BACKUP_RETENTION_DAYS).contains(&days.value.0) {
            c.error(
                days.referenced,
                "backup-retention",
                format!(
                    "spec.backupPolicy.retentionDays must be {} to {} days, not {}",
                    BACKUP_RETENTION_DAYS.start(),
                    BACKUP_RETENTION_DAYS.end(),
                    days.value.0
                ),
            );
            ok = false;
        }
        days.value.0
    });
    if let Some(problem) = backup_time_problem(&time.value) {
        c.error(
            time.referenced,
            "backup-window",
            format!("spec.backupPolicy.time: {problem}"),
        );
        ok = false;
    }
    if period.value.is_empty() {
        c.error(
            period.referenced,
            "backup-period",
            "spec.backupPolicy.period needs at least one weekday (Monday to Sunday)",
        );
        ok = false;
    }
    let days: BTreeSet<Weekday> = period.value.into_iter().map(|d| weekday(d.value)).collect();
    let time = time.value.parse().ok()?;
    ok.then_some(BackupPolicy {
        time,
        period: days,
        retention_days,
        backup_log: backup_log.map(|on| on.value.0),
    })
}

/// The days `BackupRetentionPeriod` allows.
const BACKUP_RETENTION_DAYS: std::ops::RangeInclusive<u32> = 7..=730;

/// `spec.config`: parameter names checked, values kept as the API's strings.
pub(super) fn config(
    c: &mut Collector<'_>,
    entries: Spanned<raw::Entries<Spanned<raw::ConfigValue>>>,
) -> BTreeMap<String, String> {
    let mut result = BTreeMap::new();
    for (name, value) in entries.value.0 {
        if let Some(problem) = parameter_name_problem(&name.value) {
            c.error(name.referenced, "config", problem);
        }
        result.insert(name.value, value.value.0);
    }
    result
}
