//! Network security: IP whitelists, TLS and VPC password-free access.
//!
//! Whitelist groups change at once; TLS changes put the instance in `SSLModifying` for the
//! change duration and take effect at its end. The system groups (`ali_dms_group`,
//! `hdm_security_ips`) are listed but never changed.

use std::net::Ipv4Addr;

use jiff::SignedDuration;
use serde_json::json;

use super::catalog;
use super::endpoints::connection_domain;
use super::errors::VendorError;
use super::lifecycle::Status;
use super::state::{
    Context, Handled, Instance, Pending, SYSTEM_IP_GROUPS, SecurityIpGroup, State, to_body,
};
use kvsync_wire::actions::security::{
    self as wire, DEFAULT_IP_GROUP, DescribeInstanceSsl, DescribeInstanceSslResponse,
    DescribeSecurityIps, DescribeSecurityIpsResponse, ModifyInstanceSsl, ModifyInstanceSslResponse,
    ModifyInstanceVpcAuthMode, ModifySecurityIps, SecurityIpGroups,
};

/// At most this many entries in all of an instance's own (non-system) groups together.
pub(crate) const MAX_SECURITY_IPS: usize = 1000;

/// How long a TLS certificate is valid.
const CERT_VALIDITY: SignedDuration = SignedDuration::from_hours(365 * 24);

/// A whitelist entry: an IPv4 address (`10.0.0.1`) or CIDR block (`10.0.0.0/24`) with a prefix
/// of 1–32; `0.0.0.0/0` (everyone) is the one block with prefix 0. Octets and prefixes have no
/// leading zeros. Host bits may be set (`10.23.12.24/24`), as the vendor's examples show.
pub(crate) fn valid_security_ip(entry: &str) -> bool {
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (entry, None),
    };
    let Ok(address) = address.parse::<Ipv4Addr>() else {
        return false;
    };
    match prefix {
        None => true,
        Some(text) => match parse_prefix(text) {
            Some(0) => address.is_unspecified(),
            Some(bits) => bits <= 32,
            None => false,
        },
    }
}

/// A prefix length written as plain decimal digits without leading zeros.
fn parse_prefix(text: &str) -> Option<u8> {
    let plain = !text.is_empty()
        && text.len() <= 2
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    plain.then(|| text.parse().ok()).flatten()
}

/// The whitelist-group-name rule: 2–32 characters, a lower-case letter first, a lower-case
/// letter or digit last, lower-case letters, digits and underscores between.
pub(crate) fn valid_group_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    (2..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(allowed)
}

/// The `SecurityIpGroupAttribute` rule: at most 120 letters and digits (`hidden` hides a group
/// from the console).
pub(crate) fn valid_group_attribute(attribute: &str) -> bool {
    attribute.len() <= 120 && attribute.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The entries of a `SecurityIps` list: trimmed, each valid, duplicates dropped (first kept).
pub(crate) fn parse_security_ips(entries: &[String]) -> Result<Vec<String>, VendorError> {
    let mut ips: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries.iter().map(|entry| entry.trim()) {
        if !valid_security_ip(entry) {
            return Err(VendorError::security_ip_format());
        }
        if !ips.iter().any(|ip| ip == entry) {
            ips.push(entry.to_owned());
        }
    }
    Ok(ips)
}

/// How `ModifySecurityIps` combines the given entries with the group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModifyMode {
    /// Replace the group's entries.
    Cover,
    /// Add entries the group does not have yet.
    Append,
    /// Remove entries the group has.
    Delete,
}

impl ModifyMode {
    /// The mode for a `ModifyMode` value (exact spelling; absent means `Cover`).
    pub(crate) fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("Cover") => Some(ModifyMode::Cover),
            Some("Append") => Some(ModifyMode::Append),
            Some("Delete") => Some(ModifyMode::Delete),
            Some(_) => None,
        }
    }

    /// The group's entries after applying `ips` to `current`.
    pub(crate) fn apply(
        self,
        current: &[String],
        ips: Vec<String>,
    ) -> Result<Vec<String>, VendorError> {
        match self {
            ModifyMode::Cover => Ok(ips),
            ModifyMode::Append => {
                if ips.iter().any(|ip| current.contains(ip)) {
                    return Err(VendorError::security_ip_duplicate());
                }
                Ok(current.iter().cloned().chain(ips).collect())
            }
            ModifyMode::Delete => {
                if ips.iter().any(|ip| !current.contains(ip)) {
                    return Err(VendorError::security_ip_not_found());
                }
                Ok(current
                    .iter()
                    .filter(|ip| !ips.contains(ip))
                    .cloned()
                    .collect())
            }
        }
    }
}

/// Entries in the instance's own groups, with `group` counted as holding `ips`.
fn own_entries_with(instance: &Instance, group: &str, ips: &[String]) -> usize {
    let others: usize = instance
        .security_ip_groups
        .iter()
        .filter(|(name, _)| name.as_str() != group && !SYSTEM_IP_GROUPS.contains(&name.as_str()))
        .map(|(_, group)| group.ips.len())
        .sum();
    others + ips.len()
}

/// `DescribeSecurityIps`: every group, system groups included, in name order.
pub(crate) fn describe_security_ips(
    state: &State,
    request: DescribeSecurityIps,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let groups = instance
        .security_ip_groups
        .iter()
        .map(|(name, group)| wire::SecurityIpGroup {
            security_ip_group_name: name.clone(),
            security_ip_group_attribute: group.attribute.clone(),
            security_ip_list: group.ips.join(","),
        })
        .collect();
    Ok(Handled::read(to_body(&DescribeSecurityIpsResponse {
        request_id: String::new(),
        security_ip_groups: SecurityIpGroups {
            security_ip_group: groups,
        },
    })))
}

/// A checked `ModifySecurityIps` request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupChange {
    /// The group's name.
    name: String,
    mode: ModifyMode,
    /// The attribute to set; `None` keeps the group's.
    attribute: Option<String>,
    /// The valid, de-duplicated entries.
    ips: Vec<String>,
}

impl GroupChange {
    /// Checks a request's values in the vendor's order: group, mode, attribute, entries.
    fn check(request: ModifySecurityIps) -> Result<Self, VendorError> {
        let name = request
            .security_ip_group_name
            .unwrap_or_else(|| DEFAULT_IP_GROUP.to_owned());
        if SYSTEM_IP_GROUPS.contains(&name.as_str()) {
            return Err(VendorError::system_group());
        }
        if !valid_group_name(&name) {
            return Err(VendorError::group_name_format());
        }
        let mode = ModifyMode::parse(request.modify_mode.as_deref())
            .ok_or_else(|| VendorError::invalid_parameter("ModifyMode"))?;
        if let Some(attribute) = &request.security_ip_group_attribute
            && !valid_group_attribute(attribute)
        {
            return Err(VendorError::invalid_parameter("SecurityIpGroupAttribute"));
        }
        Ok(GroupChange {
            name,
            mode,
            attribute: request.security_ip_group_attribute,
            ips: parse_security_ips(&request.security_ips)?,
        })
    }

    /// The group after the change; `None` when `Delete` emptied it and it goes. `default`
    /// must keep an entry, and the instance's own groups at most [`MAX_SECURITY_IPS`].
    fn outcome(self, instance: &Instance) -> Result<Option<SecurityIpGroup>, VendorError> {
        let existing = instance.security_ip_groups.get(&self.name);
        if self.mode == ModifyMode::Delete && existing.is_none() {
            return Err(VendorError::security_ip_not_found());
        }
        let current = existing
            .map(|group| group.ips.as_slice())
            .unwrap_or_default();
        let ips = self.mode.apply(current, self.ips)?;
        if ips.is_empty() && self.name == DEFAULT_IP_GROUP {
            return Err(VendorError::security_ip_not_found());
        }
        if own_entries_with(instance, &self.name, &ips) > MAX_SECURITY_IPS {
            return Err(VendorError::security_ip_quota());
        }
        let attribute = self
            .attribute
            .or_else(|| existing.map(|group| group.attribute.clone()))
            .unwrap_or_default();
        Ok((!ips.is_empty()).then_some(SecurityIpGroup { ips, attribute }))
    }
}

/// `ModifySecurityIps`: `Cover`, `Append` or `Delete` on one group, at once.
pub(crate) fn modify_security_ips(
    state: &mut State,
    request: ModifySecurityIps,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    let change = GroupChange::check(request)?;
    instance.require_normal()?;
    let name = change.name.clone();
    match change.outcome(instance)? {
        Some(group) => instance.security_ip_groups.insert(name, group),
        None => instance.security_ip_groups.remove(&name),
    };
    Ok(Handled::wrote(json!({})))
}

/// Whether the instance's engine offers TLS (Redis 4.0 or later).
pub(crate) fn supports_ssl(instance: &Instance) -> bool {
    catalog::engine_at_least(&instance.engine_version, 4)
}

/// What `ModifyInstanceSSL` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslChange {
    /// Switch TLS on.
    Enable,
    /// Switch TLS off.
    Disable,
    /// Issue a new certificate.
    Update,
}

impl SslChange {
    /// The change for an `SSLEnabled` value (exact spelling).
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "Enable" => Some(SslChange::Enable),
            "Disable" => Some(SslChange::Disable),
            "Update" => Some(SslChange::Update),
            _ => None,
        }
    }

    /// Whether the change means anything for an instance whose TLS is `enabled`: enabling
    /// needs it off, disabling and renewing need it on.
    pub(crate) fn applies_to(self, enabled: bool) -> bool {
        match self {
            SslChange::Enable => !enabled,
            SslChange::Disable | SslChange::Update => enabled,
        }
    }
}

/// `ModifyInstanceSSL`: `SSLModifying` for the change duration, then TLS on or off (a renewed
/// certificate for `Update`).
pub(crate) fn modify_ssl(
    state: &mut State,
    request: ModifyInstanceSsl,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    if !supports_ssl(instance) {
        return Err(VendorError::incorrect_engine_version());
    }
    let change =
        SslChange::parse(&request.ssl_enabled).ok_or_else(VendorError::ssl_parameters_format)?;
    if !instance.lifecycle.is_normal() {
        return Err(VendorError::incorrect_state_forbidden());
    }
    if !change.applies_to(instance.ssl_enabled) {
        return Err(VendorError::incorrect_ssl_status());
    }
    let task_id = 300_000_000 + state.next_sequence();
    let instance = state.instance_mut(&request.instance_id)?;
    let pending = Pending::Ssl(change != SslChange::Disable);
    instance.begin(
        Status::SslModifying,
        ctx,
        ctx.durations.change,
        vec![pending],
    );
    Ok(Handled::wrote(to_body(&ModifyInstanceSslResponse {
        request_id: String::new(),
        instance_id: instance.id.clone(),
        task_id: task_id.to_string(),
    })))
}

/// `DescribeInstanceSSL`: the certificate fields are empty while TLS is off.
pub(crate) fn describe_ssl(
    state: &State,
    request: DescribeInstanceSsl,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    if !supports_ssl(instance) {
        return Err(VendorError::incorrect_engine_version());
    }
    let response = if instance.ssl_enabled {
        DescribeInstanceSslResponse {
            ssl_enabled: "Enable".into(),
            ssl_expired_time: instance
                .ssl_since
                .and_then(|since| since.checked_add(CERT_VALIDITY).ok())
                .map(|expiry| expiry.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            cert_common_name: connection_domain(instance),
            cert_download_url: format!(
                "https://apsaradb-public.oss-{}.aliyuncs.com/ApsaraDB-CA-Chain.zip",
                instance.region_id
            ),
            ..DescribeInstanceSslResponse::default()
        }
    } else {
        DescribeInstanceSslResponse {
            ssl_enabled: "Disable".into(),
            ..DescribeInstanceSslResponse::default()
        }
    };
    Ok(Handled::read(to_body(&DescribeInstanceSslResponse {
        instance_id: instance.id.clone(),
        ..response
    })))
}

/// The stored spelling of a `VpcAuthMode` value; the vendor also accepts `OPEN` and `CLOSE`.
pub(crate) fn vpc_auth_mode(value: &str) -> Option<&'static str> {
    match value {
        "Open" | "OPEN" => Some("Open"),
        "Close" | "CLOSE" => Some("Close"),
        _ => None,
    }
}

/// `ModifyInstanceVpcAuthMode`: VPC instances only; takes effect at once.
pub(crate) fn modify_vpc_auth_mode(
    state: &mut State,
    request: ModifyInstanceVpcAuthMode,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    if instance.network_type != "VPC" {
        return Err(VendorError::incorrect_net_type());
    }
    let mode = vpc_auth_mode(&request.vpc_auth_mode)
        .ok_or_else(|| VendorError::invalid_parameter("VpcAuthMode"))?;
    instance.require_normal()?;
    instance.vpc_auth_mode = mode.to_owned();
    Ok(Handled::wrote(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_blocks_are_accepted() {
        for entry in [
            "127.0.0.1",
            "0.0.0.0/0",
            "10.23.12.24/24",
            "10.0.0.0/8",
            "192.168.1.1/32",
            "1.1.1.1/1",
            "255.255.255.255",
        ] {
            assert!(valid_security_ip(entry), "{entry}");
        }
    }

    #[test]
    fn malformed_entries_are_refused() {
        for entry in [
            "",
            "10.0.0",
            "10.0.0.256",
            "10.0.0.1.2",
            "010.0.0.1",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "10.0.0.0/0",
            "10.0.0.0/24/1",
            "::1",
            "2001:db8::/32",
            "%",
            "localhost",
            " 10.0.0.1",
        ] {
            assert!(!valid_security_ip(entry), "{entry:?}");
        }
    }

    #[test]
    fn lists_are_trimmed_deduplicated_and_checked_whole() {
        let list = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            parse_security_ips(&list("1.1.1.1, 2.2.2.0/24,1.1.1.1")).unwrap(),
            vec!["1.1.1.1", "2.2.2.0/24"]
        );
        let err = parse_security_ips(&list("1.1.1.1,,2.2.2.2")).unwrap_err();
        assert_eq!(err.code, "InvalidSecurityIPList.Format");
    }

    #[test]
    fn group_names_follow_the_rule() {
        for name in ["default", "app", "ab", "team_2", "a1", &"a".repeat(32)] {
            assert!(valid_group_name(name), "{name}");
        }
        for name in [
            "a",
            "App",
            "1app",
            "_app",
            "app_",
            "app-1",
            &"a".repeat(33),
            "",
        ] {
            assert!(!valid_group_name(name), "{name}");
        }
    }

    #[test]
    fn group_attributes_are_short_and_alphanumeric() {
        assert!(valid_group_attribute(""));
        assert!(valid_group_attribute("hidden"));
        assert!(!valid_group_attribute("not hidden"));
        assert!(!valid_group_attribute(&"a".repeat(121)));
    }

    #[test]
    fn modes_combine_lists_like_the_cloud() {
        let ips = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let current = ips(&["1.1.1.1", "2.2.2.2"]);
        assert_eq!(
            ModifyMode::Cover
                .apply(&current, ips(&["3.3.3.3"]))
                .unwrap(),
            ips(&["3.3.3.3"])
        );
        assert_eq!(
            ModifyMode::Append
                .apply(&current, ips(&["3.3.3.3"]))
                .unwrap(),
            ips(&["1.1.1.1", "2.2.2.2", "3.3.3.3"])
        );
        assert_eq!(
            ModifyMode::Delete
                .apply(&current, ips(&["1.1.1.1"]))
                .unwrap(),
            ips(&["2.2.2.2"])
        );
        let duplicate = ModifyMode::Append.apply(&current, ips(&["2.2.2.2"]));
        assert_eq!(duplicate.unwrap_err().code, "SecurityIPList.Duplicate");
        let missing = ModifyMode::Delete.apply(&current, ips(&["9.9.9.9"]));
        assert_eq!(missing.unwrap_err().code, "InvalidSecurityIPList.NotFound");
    }

    #[test]
    fn enum_values_are_exact_except_documented_variants() {
        assert_eq!(ModifyMode::parse(None), Some(ModifyMode::Cover));
        assert_eq!(ModifyMode::parse(Some("append")), None);
        assert_eq!(SslChange::parse("Enable"), Some(SslChange::Enable));
        assert_eq!(SslChange::parse("enable"), None);
        assert_eq!(vpc_auth_mode("CLOSE"), Some("Close"));
        assert_eq!(vpc_auth_mode("Open"), Some("Open"));
        assert_eq!(vpc_auth_mode("open"), None);
    }

    #[test]
    fn ssl_changes_need_the_opposite_state() {
        assert!(SslChange::Enable.applies_to(false));
        assert!(!SslChange::Enable.applies_to(true));
        assert!(SslChange::Disable.applies_to(true));
        assert!(!SslChange::Disable.applies_to(false));
        assert!(SslChange::Update.applies_to(true));
        assert!(!SslChange::Update.applies_to(false));
    }
}
