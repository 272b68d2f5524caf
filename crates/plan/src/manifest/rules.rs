//! The vendor's rules for names, times, IPs and the like, as pure functions.
//!
//! Each `*_problem` function returns `None` when the value is allowed, or a sentence that says
//! what is wrong and what is allowed.

use crate::values::{HourMinute, HourWindow, Ipv4Net};
use kvsync_secrets::reference::SecretRef;

/// Instance names: 2–128 characters, starting with a letter or a Chinese character, without
/// `@ / : = " < > { } [ ]` or whitespace.
pub fn instance_name_problem(name: &str) -> Option<String> {
    let count = name.chars().count();
    let first = name.chars().next();
    if !(2..=128).contains(&count) {
        return Some(format!(
            "is {} long; 2 to 128 are allowed",
            characters(count)
        ));
    }
    if !first.is_some_and(|c| c.is_ascii_alphabetic() || is_cjk(c)) {
        return Some("must start with a letter or a Chinese character".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| "@/:=\"<>{}[]".contains(*c) || c.is_whitespace() || c.is_control())
    {
        return Some(format!(
            "contains {bad:?}; the characters @ / : = \" < > {{ }} [ ] and whitespace are not allowed"
        ));
    }
    None
}

fn is_cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// `1 character`, `2 characters`.
pub fn characters(count: usize) -> String {
    if count == 1 {
        "1 character".to_owned()
    } else {
        format!("{count} characters")
    }
}

/// The most characters of a value a message repeats.
pub const SHOWN_CHARACTERS: usize = 40;

/// A value as messages quote it: in double quotes, cut to [`SHOWN_CHARACTERS`] with `…` so
/// that a long value does not drown the message.
pub fn shown(value: &str) -> String {
    if value.chars().count() <= SHOWN_CHARACTERS {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(SHOWN_CHARACTERS).collect();
    let quoted = format!("{head:?}");
    format!("{}…\"", &quoted[..quoted.len() - 1])
}

/// Region IDs such as `cn-hangzhou` or `ap-southeast-1`, of a region R-KVStore is offered in
/// (`api::regions::KNOWN`).
pub fn region_problem(region: &str) -> Option<String> {
    let mut parts = region.split('-');
    let valid = parts
        .next()
        .is_some_and(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_lowercase()))
        && region.split('-').count() >= 2
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !valid {
        return Some(format!(
            "{} is not a region ID such as cn-hangzhou or ap-southeast-1",
            shown(region)
        ));
    }
    (!kvsync_wire::regions::is_known(region)).then(|| {
        format!(
            "{} is not a region R-KVStore is offered in; known regions: {}",
            shown(region),
            kvsync_wire::regions::KNOWN.join(", ")
        )
    })
}

/// Zone IDs of `region`: the region and one more letter, after a dash (`cn-hangzhou-h`) or not
/// (`ap-southeast-1a`, `cn-shanghai-finance-1f`). A zone of another region that merely starts
/// with this region's name (`cn-shanghai-finance-1f` for `cn-shanghai`) is refused.
pub fn zone_problem(zone: &str, region: &str) -> Option<String> {
    let suffix = zone
        .strip_prefix(region)
        .map(|rest| rest.strip_prefix('-').unwrap_or(rest));
    let valid = suffix
        .is_some_and(|letter| letter.len() == 1 && letter.chars().all(|c| c.is_ascii_lowercase()));
    (!valid).then(|| {
        let example = if region.ends_with(|c: char| c.is_ascii_digit()) {
            format!("{region}a")
        } else {
            format!("{region}-b")
        };
        format!(
            "spec.zoneId {} is not a zone of region {region}; its zones are the region and one letter, such as {example}",
            shown(zone)
        )
    })
}

/// Subscription periods: 1–9, 12, 24 or 36 months.
pub fn period_allowed(months: u32) -> bool {
    matches!(months, 1..=9 | 12 | 24 | 36)
}

/// Tag keys (`min` 1) and values (`min` 0): up to 128 characters, not starting with `aliyun`,
/// `acs:`, `http://` or `https://`.
pub fn tag_text_problem(text: &str, what: &str, min: usize) -> Option<String> {
    let count = text.chars().count();
    if count < min || count > 128 {
        return Some(format!(
            "label {what} {} is {}; it must be {min} to 128 characters",
            shown(text),
            characters(count)
        ));
    }
    for prefix in ["aliyun", "acs:", "http://", "https://"] {
        if text.to_ascii_lowercase().starts_with(prefix) {
            return Some(format!(
                "label {what} {} may not start with {prefix:?}",
                shown(text)
            ));
        }
    }
    None
}

/// Reserved words no account may be named (the cloud answers `InvalidAccountName.Forbid`).
pub const RESERVED_ACCOUNT_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "aliyun_root",
    "default",
    "replicator",
    "root",
    "sysadmin",
    "system",
];

/// Account names: 1–16 characters, starting with a lowercase letter, then lowercase letters,
/// digits and underscores; not a reserved word.
pub fn account_name_problem(name: &str) -> Option<String> {
    let valid = (1..=16).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Some(format!(
            "account name {} must be 1 to 16 characters: a lowercase letter first, then lowercase letters, digits and _",
            shown(name)
        ));
    }
    RESERVED_ACCOUNT_NAMES.contains(&name).then(|| {
        format!(
            "account name {name:?} is a reserved word; these are not allowed: {}",
            RESERVED_ACCOUNT_NAMES.join(", ")
        )
    })
}

/// Account descriptions: 2–256 characters, starting with a letter or a Chinese character;
/// letters, digits, Chinese characters, spaces, `_` and `-` (so never `http://`).
pub fn description_problem(text: &str) -> Option<String> {
    let count = text.chars().count();
    let valid = (2..=256).contains(&count)
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || is_cjk(c))
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || is_cjk(c) || c == '_' || c == '-' || c == ' ');
    (!valid).then(|| {
        format!(
            "description {} must be 2 to 256 characters, start with a letter, and contain only letters, digits, spaces, _ and -",
            shown(text)
        )
    })
}

/// Whitelist group names: 2–32 characters of lowercase letters, digits and `_`, starting
/// with a letter and ending with a letter or digit.
pub fn group_name_problem(name: &str) -> Option<String> {
    let valid = (2..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (!valid).then(|| {
        format!(
            "whitelist group name {} must be 2 to 32 characters of a-z, 0-9 and _, starting with a letter and ending with a letter or digit",
            shown(name)
        )
    })
}

/// Whitelist groups kvsync never touches.
pub const SYSTEM_GROUPS: &[&str] = &["ali_dms_group", "hdm_security_ips"];

/// The most whitelist entries an instance may have.
pub const MAX_WHITELIST_ENTRIES: usize = 1000;

/// Parses an IPv4 address or CIDR block (`a.b.c.d` or `a.b.c.d/n`, `n` 0–32), which prints
/// normalised: leading zeros dropped, `/32` dropped. `Err` says what is wrong.
pub fn normalize_ip(entry: &str) -> Result<Ipv4Net, String> {
    let bad = || {
        format!(
            "{} is not an IPv4 address or CIDR block such as 10.0.1.15 or 10.0.1.0/24",
            shown(entry)
        )
    };
    entry.parse::<Ipv4Net>().map_err(|_| bad())
}

/// A one-hour window `start`–`end` (`HH:mmZ` each; it may wrap past midnight).
pub fn one_hour_window_problem(start: &str, end: &str) -> Option<String> {
    match (start.parse::<HourMinute>(), end.parse::<HourMinute>()) {
        (Ok(s), Ok(e)) if HourWindow { start: s, end: e }.length_minutes() == 60 => None,
        (Ok(_), Ok(_)) => Some(format!(
            "the window {start}-{end} must be exactly one hour long (e.g. 02:00Z-03:00Z)"
        )),
        _ => Some(format!(
            "{}-{} is not a window of HH:mmZ times such as 02:00Z-03:00Z",
            shown(start),
            shown(end)
        )),
    }
}

/// Backup windows: `HH:mmZ-HH:mmZ`, one hour on the hour.
pub fn backup_time_problem(window: &str) -> Option<String> {
    let Some((start, end)) = window.split_once('-') else {
        return Some(format!(
            "{} is not a backup window such as 02:00Z-03:00Z",
            shown(window)
        ));
    };
    if let Some(problem) = one_hour_window_problem(start, end) {
        return Some(problem);
    }
    let on_the_hour = start
        .parse::<HourMinute>()
        .is_ok_and(HourMinute::on_the_hour);
    (!on_the_hour).then(|| format!("the backup window {window} must start on the hour"))
}

/// Parameter names: lowercase letters, digits, `-` and `_` (Redis configuration names).
pub fn parameter_name_problem(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
    (!valid).then(|| {
        format!(
            "{} is not a parameter name such as maxmemory-policy",
            shown(name)
        )
    })
}

/// The special characters passwords may contain.
pub const PASSWORD_SPECIALS: &str = "!@#$%^&*()_+-=";

/// Passwords (instance and accounts): 8–32 characters, at least three of upper case, lower
/// case, digits and `!@#$%^&*()_+-=`, nothing else. The message never contains the password,
/// nor its length.
pub fn password_problem(password: &str) -> Option<String> {
    let count = password.chars().count();
    if !(8..=32).contains(&count) {
        return Some("the password must be 8 to 32 characters long".to_owned());
    }
    if password
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || PASSWORD_SPECIALS.contains(c)))
    {
        return Some(format!(
            "the password contains a character that is not allowed; allowed: letters, digits and {PASSWORD_SPECIALS}"
        ));
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| PASSWORD_SPECIALS.contains(c)),
    ];
    (kinds.iter().filter(|k| **k).count() < 3).then(|| {
        format!(
            "the password needs at least three of: upper case, lower case, digits, special characters ({PASSWORD_SPECIALS})"
        )
    })
}

/// Whether an instance class is a cluster (sharded) one.
pub fn is_cluster_class(class: &str) -> bool {
    class.contains("sharding") || class.contains(".cluster")
}

/// What is wrong with a reference's variable name or path, if anything: environment variable
/// names are letters, digits and `_`, not starting with a digit, and not one of kvsync's own
/// credential variables; a path is not empty.
pub fn reference_problem(reference: &SecretRef) -> Option<String> {
    match reference {
        SecretRef::Env(name) if !valid_env_name(name) => Some(format!(
            "{} is not an environment variable name; allowed: letters, digits and _, not starting with a digit",
            shown(name)
        )),
        SecretRef::Env(name) if kvsync_wire::env_vars::CREDENTIALS.contains(&name.as_str()) => {
            Some(format!(
                "{name} holds kvsync's own cloud credentials, which a manifest may not send as a password; name another variable"
            ))
        }
        SecretRef::File(path) if path.as_os_str().is_empty() => Some(
            "the secret file path is empty; write {file: PATH} with a path relative to the manifest"
                .to_owned(),
        ),
        _ => None,
    }
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn instance_names_follow_the_vendor_rule() {
        assert_eq!(instance_name_problem("orders-cache"), None);
        assert_eq!(instance_name_problem("订单缓存"), None);
        assert!(instance_name_problem("a").unwrap().contains("2 to 128"));
        assert!(
            instance_name_problem("1cache")
                .unwrap()
                .contains("start with a letter")
        );
        assert!(
            instance_name_problem("orders cache")
                .unwrap()
                .contains("whitespace")
        );
        assert!(
            instance_name_problem("orders/cache")
                .unwrap()
                .contains("'/'")
        );
        assert!(instance_name_problem(&"a".repeat(129)).is_some());
    }

    #[test]
    fn regions_look_like_region_ids() {
        assert_eq!(region_problem("cn-hangzhou"), None);
        assert_eq!(region_problem("ap-southeast-1"), None);
        assert!(region_problem("hangzhou").is_some());
        assert!(region_problem("CN-hangzhou").is_some());
        assert!(region_problem("cn-").is_some());
        let unknown = region_problem("cn-mars").unwrap();
        assert!(
            unknown.contains("not a region R-KVStore is offered in"),
            "{unknown}"
        );
    }

    #[test]
    fn zones_are_the_region_and_one_letter() {
        assert_eq!(zone_problem("cn-hangzhou-h", "cn-hangzhou"), None);
        assert_eq!(zone_problem("ap-southeast-1a", "ap-southeast-1"), None);
        assert_eq!(
            zone_problem("cn-shanghai-finance-1f", "cn-shanghai-finance-1"),
            None
        );
        for (zone, region) in [
            ("cn-shanghai-finance-1f", "cn-shanghai"),
            ("cn-shanghai-b", "cn-hangzhou"),
            ("cn-hangzhou", "cn-hangzhou"),
            ("cn-hangzhou-", "cn-hangzhou"),
            ("cn-hangzhou-bb", "cn-hangzhou"),
            ("cn-hangzhou-B", "cn-hangzhou"),
            ("cn-hangzhou-1", "cn-hangzhou"),
            ("ap-southeast-1a-b", "ap-southeast-1"),
        ] {
            let problem = zone_problem(zone, region).unwrap_or_else(|| panic!("{zone}"));
            assert!(
                problem.starts_with(&format!(
                    "spec.zoneId \"{zone}\" is not a zone of region {region}"
                )),
                "{problem}"
            );
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        assert_eq!(shown("team"), "\"team\"");
        let forty = "k".repeat(SHOWN_CHARACTERS);
        assert_eq!(shown(&forty), format!("\"{forty}\""));
        assert_eq!(shown(&"k".repeat(129)), format!("\"{forty}…\""));
        assert_eq!(shown(&"订".repeat(50)), format!("\"{}…\"", "订".repeat(40)));
        assert_eq!(shown("a\"b"), "\"a\\\"b\"");
        let problem = tag_text_problem(&"k".repeat(129), "key", 1).unwrap();
        assert!(problem.contains("is 129 characters"), "{problem}");
        assert!(problem.len() < 120, "{problem}");
    }

    #[test]
    fn counts_of_characters_are_singular_or_plural() {
        assert_eq!(characters(1), "1 character");
        assert_eq!(characters(0), "0 characters");
        assert_eq!(characters(129), "129 characters");
        assert_eq!(
            instance_name_problem("a").unwrap(),
            "is 1 character long; 2 to 128 are allowed"
        );
    }

    #[test]
    fn periods_are_the_vendor_set() {
        let allowed: Vec<u32> = (0..=40).filter(|m| period_allowed(*m)).collect();
        assert_eq!(allowed, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36]);
    }

    #[test]
    fn account_names_and_descriptions() {
        assert_eq!(account_name_problem("app_rw"), None);
        assert_eq!(account_name_problem("a"), None);
        for bad in ["", "App", "1app", "app-rw", "a_very_long_account"] {
            assert!(account_name_problem(bad).is_some(), "{bad}");
        }
        for reserved in RESERVED_ACCOUNT_NAMES {
            let problem = account_name_problem(reserved).unwrap();
            assert!(problem.contains("reserved"), "{problem}");
        }
        assert_eq!(account_name_problem("replicator1"), None);
        assert_eq!(description_problem("orders-service_1"), None);
        assert_eq!(description_problem("orders service"), None);
        for bad in ["o", "1orders", "http://x", "orders/cache"] {
            assert!(description_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn group_names() {
        assert_eq!(group_name_problem("app"), None);
        assert_eq!(group_name_problem("app_2"), None);
        for bad in ["a", "App", "2app", "app_", "app-x", &"a".repeat(33)] {
            assert!(group_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn ips_and_cidrs_are_checked_and_normalised() {
        assert_eq!(
            normalize_ip("10.0.1.0/24").unwrap().to_string(),
            "10.0.1.0/24"
        );
        assert_eq!(
            normalize_ip("010.000.001.015").unwrap().to_string(),
            "10.0.1.15"
        );
        assert_eq!(
            normalize_ip("10.0.2.15/32").unwrap().to_string(),
            "10.0.2.15"
        );
        assert_eq!(normalize_ip("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        for bad in [
            "10.0.1",
            "10.0.1.256",
            "10.0.1.0/33",
            "10.0.1.0/",
            "a.b.c.d",
            "10.0.1.0/+8",
            "::1",
            "10..1.1",
        ] {
            assert!(normalize_ip(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_one_hour() {
        assert!(one_hour_window_problem("23:30Z", "00:30Z").is_none());
        assert!(one_hour_window_problem("24:00Z", "01:00Z").is_some());
        assert!(one_hour_window_problem("2:00Z", "3:00Z").is_some());
        assert_eq!(one_hour_window_problem("02:00Z", "03:00Z"), None);
        assert_eq!(one_hour_window_problem("23:30Z", "00:30Z"), None);
        assert!(one_hour_window_problem("02:00Z", "04:00Z").is_some());
        assert_eq!(backup_time_problem("02:00Z-03:00Z"), None);
        assert!(backup_time_problem("02:30Z-03:30Z").is_some());
        assert!(backup_time_problem("02:00Z").is_some());
    }

    #[test]
    fn passwords_follow_the_vendor_rule_and_never_echo() {
        assert_eq!(password_problem("Passw0rd"), None);
        assert_eq!(password_problem("passw0rd!"), None);
        for bad in [
            "Sh0rt!",
            "alllowercase",
            "NoDigitsOrSpecial",
            "Has space 1A",
            &"Aa1!".repeat(9),
        ] {
            let problem = password_problem(bad).unwrap_or_else(|| panic!("{bad}"));
            assert!(!problem.contains(bad), "{problem}");
            let length = bad.chars().count().to_string();
            assert!(!problem.contains(&length), "{problem} states the length");
        }
    }

    #[test]
    fn names_and_paths_are_checked() {
        assert_eq!(reference_problem(&SecretRef::Env("PW_1".into())), None);
        assert_eq!(reference_problem(&SecretRef::Env("_PW".into())), None);
        assert_eq!(reference_problem(&SecretRef::File("pw".into())), None);
        for bad in ["1BAD", "orders-redis-password", "", "PW X"] {
            let problem =
                reference_problem(&SecretRef::Env(bad.into())).unwrap_or_else(|| panic!("{bad}"));
            assert!(
                problem.contains("is not an environment variable name"),
                "{problem}"
            );
        }
        assert!(
            reference_problem(&SecretRef::File(PathBuf::new()))
                .unwrap()
                .starts_with("the secret file path is empty")
        );
    }

    #[test]
    fn credential_variables_are_refused() {
        for name in kvsync_wire::env_vars::CREDENTIALS {
            let problem = reference_problem(&SecretRef::Env((*name).into())).unwrap();
            assert!(
                problem.contains("kvsync's own cloud credentials"),
                "{problem}"
            );
        }
    }

    #[test]
    fn every_known_region_is_a_region_id_once() {
        let mut seen = std::collections::BTreeSet::new();
        for region in kvsync_wire::regions::KNOWN {
            assert!(seen.insert(*region), "{region} twice");
            assert_eq!(region_problem(region), None, "{region}");
        }
    }
}
