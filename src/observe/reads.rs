//! Which detail calls the manifests need (a pure function of desired and listed state), how
//! each is made, and how its answer is normalised into [`ObservedInstance`] fields.

use crate::values::{InstanceStatus, Ipv4Net, Reported};
use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::Observed;
use super::observed::{
    ObservedAccount, ObservedArchitecture, ObservedBackupPolicy, ObservedClassicEndpoint,
    ObservedEndpoint, ObservedInstance,
};
use crate::api::actions::account::DescribeAccounts;
use crate::api::actions::backup::DescribeBackupPolicy;
use crate::api::actions::instance::{DbInstanceAttribute, DescribeInstanceAttribute};
use crate::api::actions::manage::DescribeDbInstanceNetInfo;
use crate::api::actions::security::{DescribeInstanceSsl, DescribeSecurityIps, SecurityIpGroup};
use crate::api::{self, Client};
use crate::manifest::desired::{Disruption, Privilege, Stack, Weekday};
use crate::manifest::{Desired, DesiredInstance};

/// The detail calls, one per managed aspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aspect {
    /// `DescribeInstanceAttribute`: release protection, maintenance window, VPC auth, config.
    Attribute,
    /// `DescribeSecurityIps`: whitelists.
    SecurityIps,
    /// `DescribeAccounts`: accounts.
    Accounts,
    /// `DescribeBackupPolicy`: the backup policy.
    BackupPolicy,
    /// `DescribeInstanceSSL`: TLS.
    Ssl,
    /// `DescribeDBInstanceNetInfo`: a classic endpoint kept after a switch into a VPC.
    NetInfo,
}

impl Aspect {
    /// What the call reads, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Aspect::Attribute => "attributes",
            Aspect::SecurityIps => "whitelists",
            Aspect::Accounts => "accounts",
            Aspect::BackupPolicy => "backup policy",
            Aspect::Ssl => "TLS settings",
            Aspect::NetInfo => "endpoints",
        }
    }
}

/// One detail call to make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Read {
    /// The instance's region.
    pub region: String,
    /// The instance.
    pub id: String,
    /// What to read.
    pub aspect: Aspect,
}

/// The aspects a manifest manages that need a detail call. The attribute also carries the
/// maintenance window, which the policy `window` needs when the manifest manages an aspect
/// whose change restarts the instance.
fn needed(desired: &DesiredInstance, stack: &Stack) -> Vec<Aspect> {
    let mut aspects = Vec::new();
    let restartable = desired.instance_class.is_some()
        || desired.engine_version.is_some()
        || desired.ssl.is_some()
        || desired.network.is_some();
    let needs_window = restartable && desired.disruption_policy(stack) == Disruption::Window;
    if desired.release_protection.is_some()
        || desired.maintenance_window.is_some()
        || desired.vpc_auth_mode.is_some()
        || desired.config.is_some()
        || desired.architecture.is_managed()
        || desired.endpoint.is_some()
        || needs_window
    {
        aspects.push(Aspect::Attribute);
    }
    if desired.whitelists.is_some() {
        aspects.push(Aspect::SecurityIps);
    }
    if desired.accounts.is_some() {
        aspects.push(Aspect::Accounts);
    }
    if desired.backup_policy.is_some() {
        aspects.push(Aspect::BackupPolicy);
    }
    if desired.ssl.is_some() {
        aspects.push(Aspect::Ssl);
    }
    if desired.classic_retention_days.is_some() {
        aspects.push(Aspect::NetInfo);
    }
    aspects
}

/// The detail calls a plan needs: per matched instance only those its manifest manages, and
/// the attribute of every prune candidate (its release protection decides whether it may go).
/// Nothing is read for aspects no manifest manages.
pub fn plan_reads(desired: &Desired, observed: &Observed) -> Vec<Read> {
    let mut reads = BTreeSet::new();
    let index = observed.index();
    for instance in &desired.instances {
        let region = &instance.key.region;
        let matched: Vec<&ObservedInstance> = match &instance.instance_id {
            Some(id) => index.by_id(region, id).into_iter().collect(),
            None => index.named(region, &instance.key.name).collect(),
        };
        for found in matched {
            for aspect in needed(instance, &desired.stack) {
                reads.insert(Read {
                    region: region.clone(),
                    id: found.id.clone(),
                    aspect,
                });
            }
        }
    }
    if desired.stack.prune {
        // What the manifests describe: (region, name), and (region, pinned ID).
        let names: HashSet<(&str, &str)> = desired
            .instances
            .iter()
            .map(|d| (d.key.region.as_str(), d.key.name.as_str()))
            .collect();
        let pinned: HashSet<(&str, &str)> = desired
            .instances
            .iter()
            .filter_map(|d| Some((d.key.region.as_str(), d.instance_id.as_deref()?)))
            .collect();
        for (region, instances) in &observed.regions {
            for instance in instances {
                let described = names.contains(&(region.as_str(), instance.name.as_str()))
                    || pinned.contains(&(region.as_str(), instance.id.as_str()));
                if instance.owned_by(&desired.stack.name) && !described {
                    reads.insert(Read {
                        region: region.clone(),
                        id: instance.id.clone(),
                        aspect: Aspect::Attribute,
                    });
                }
            }
        }
    }
    reads.into_iter().collect()
}

/// What one detail call found, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// From `DescribeInstanceAttribute`.
    Attribute(Box<DbInstanceAttribute>),
    /// From `DescribeSecurityIps`.
    Whitelists(BTreeMap<String, BTreeSet<Reported<Ipv4Net>>>),
    /// From `DescribeAccounts`.
    Accounts(BTreeMap<String, ObservedAccount>),
    /// From `DescribeBackupPolicy`.
    BackupPolicy(ObservedBackupPolicy),
    /// From `DescribeInstanceSSL`.
    Ssl(bool),
    /// From `DescribeDBInstanceNetInfo`: the retained classic endpoint, if any.
    NetInfo(Option<ObservedClassicEndpoint>),
}

/// Makes one detail call.
pub async fn perform(client: &Client, read: &Read) -> Result<Detail, api::Error> {
    let id = read.id.clone();
    let region = read.region.as_str();
    Ok(match read.aspect {
        Aspect::Attribute => {
            let response = client
                .call(region, &DescribeInstanceAttribute { instance_id: id })
                .await?;
            let attribute = response.instances.db_instance_attribute.into_iter().next();
            match attribute {
                Some(attribute) => Detail::Attribute(Box::new(attribute)),
                None => return Err(not_found(read)),
            }
        }
        Aspect::SecurityIps => {
            let response = client
                .call(region, &DescribeSecurityIps { instance_id: id })
                .await?;
            Detail::Whitelists(whitelists(response.security_ip_groups.security_ip_group))
        }
        Aspect::Accounts => {
            let request = DescribeAccounts {
                instance_id: id,
                account_name: None,
                search_account_name: None,
                page_number: None,
                page_size: None,
            };
            let response = client.call(region, &request).await?;
            Detail::Accounts(
                response
                    .accounts
                    .account
                    .into_iter()
                    .map(|entry| {
                        let privilege_text = entry
                            .database_privileges
                            .database_privilege
                            .first()
                            .map(|p| p.account_privilege.clone())
                            .unwrap_or_default();
                        (
                            entry.account_name,
                            ObservedAccount {
                                account_type: entry.account_type,
                                status: entry.account_status,
                                privilege: parse_privilege(&privilege_text),
                                privilege_text,
                                description: entry.account_description,
                            },
                        )
                    })
                    .collect(),
            )
        }
        Aspect::BackupPolicy => {
            let response = client
                .call(region, &DescribeBackupPolicy { instance_id: id })
                .await?;
            Detail::BackupPolicy(ObservedBackupPolicy {
                time: Reported::from_cloud(&response.preferred_backup_time),
                period: parse_weekdays(&response.preferred_backup_period),
                retention_days: response.backup_retention_period.trim().parse().ok(),
                backup_log: response.enable_backup_log == 1,
            })
        }
        Aspect::Ssl => {
            match client
                .call(region, &DescribeInstanceSsl { instance_id: id })
                .await
            {
                Ok(response) => Detail::Ssl(response.ssl_enabled.eq_ignore_ascii_case("Enable")),
                // Engines before Redis 4.0 have no TLS settings to read: TLS is off.
                Err(err) if err.code() == Some(NO_TLS_ENGINE) => Detail::Ssl(false),
                Err(err) => return Err(err),
            }
        }
        Aspect::NetInfo => {
            let response = client
                .call(
                    region,
                    &DescribeDbInstanceNetInfo {
                        instance_id: id,
                        net_type: None,
                    },
                )
                .await?;
            Detail::NetInfo(
                response
                    .net_info_items
                    .instance_net_info
                    .into_iter()
                    // `1`: the classic network, kept beside the VPC endpoint.
                    .find(|item| {
                        item.db_instance_net_type == "1" && response.instance_network_type == "VPC"
                    })
                    .map(|item| ObservedClassicEndpoint {
                        connection_string: item.connection_string,
                        remaining_secs: item.expired_time.trim().parse().unwrap_or(0),
                    }),
            )
        }
    })
}

/// What `DescribeInstanceSSL` answers for an engine without TLS (before Redis 4.0).
const NO_TLS_ENGINE: &str = "IncorrectEngineVersion";

/// The error a vanished instance gives, for a detail call that answered with no instance.
fn not_found(read: &Read) -> api::Error {
    api::Error::from(api::ApiError {
        action: "DescribeInstanceAttribute",
        status: 404,
        code: "InvalidInstanceId.NotFound".into(),
        message: format!("instance {} is not listed", read.id),
        request_id: String::new(),
    })
}

fn parse_privilege(text: &str) -> Option<Privilege> {
    match text {
        "RoleReadWrite" => Some(Privilege::RoleReadWrite),
        "RoleReadOnly" => Some(Privilege::RoleReadOnly),
        "RoleRepl" => Some(Privilege::RoleRepl),
        _ => None,
    }
}

/// Weekdays from a comma-separated list (unknown names are dropped).
pub(super) fn parse_weekdays(text: &str) -> BTreeSet<Weekday> {
    text.split(',').filter_map(Weekday::parse).collect()
}

/// Whitelist groups with their entries normalised as the manifests' are.
pub(super) fn whitelists(
    groups: Vec<SecurityIpGroup>,
) -> BTreeMap<String, BTreeSet<Reported<Ipv4Net>>> {
    groups
        .into_iter()
        .map(|group| {
            let entries = group
                .security_ip_list
                .split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(Reported::from_cloud)
                .collect();
            (group.security_ip_group_name, entries)
        })
        .collect()
}

/// Parameters from the `Config` JSON string: values as the API's strings (`512` = `"512"`).
pub(super) fn parse_config(text: &str) -> BTreeMap<String, String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(true) => "yes".into(),
                serde_json::Value::Bool(false) => "no".into(),
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

impl Detail {
    /// Stores what was read in the instance.
    pub fn apply_to(self, instance: &mut ObservedInstance) {
        match self {
            Detail::Attribute(attribute) => {
                instance.release_protection = Some(attribute.instance_release_protection);
                instance.maintenance_window = Some(Reported::from_cloud(&format!(
                    "{}-{}",
                    attribute.maintain_start_time, attribute.maintain_end_time
                )));
                instance.vpc_auth_mode = Some(attribute.vpc_auth_mode.clone());
                instance.config = Some(parse_config(&attribute.config));
                instance.status = InstanceStatus::from_cloud(&attribute.instance_status);
                instance.endpoint = Some(ObservedEndpoint {
                    connection_string: attribute.connection_domain.clone(),
                    port: attribute.port,
                });
                instance.architecture = Some(ObservedArchitecture {
                    node_type: attribute.node_type.clone(),
                    shard_count: attribute.shard_count,
                    replica_count: attribute.replica_count,
                    read_only_count: attribute.read_only_count,
                    secondary_zone_id: attribute.secondary_zone_id.clone(),
                });
                instance.change_order_pending = attribute
                    .has_renew_change_order
                    .eq_ignore_ascii_case("true");
            }
            Detail::Whitelists(groups) => instance.whitelists = Some(groups),
            Detail::Accounts(accounts) => instance.accounts = Some(accounts),
            Detail::BackupPolicy(policy) => instance.backup_policy = Some(policy),
            Detail::Ssl(enabled) => instance.ssl = Some(enabled),
            Detail::NetInfo(classic) => instance.classic_endpoint = Some(classic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_become_strings() {
        let parsed = parse_config(
            r#"{"maxmemory-policy":"allkeys-lru","hash-max-ziplist-entries":512,"x":true}"#,
        );
        assert_eq!(parsed["maxmemory-policy"], "allkeys-lru");
        assert_eq!(parsed["hash-max-ziplist-entries"], "512");
        assert_eq!(parsed["x"], "yes");
        assert!(parse_config("not json").is_empty());
    }

    #[test]
    fn whitelist_entries_are_normalised_like_manifests() {
        let groups = whitelists(vec![SecurityIpGroup {
            security_ip_group_name: "app".into(),
            security_ip_group_attribute: String::new(),
            security_ip_list: "10.0.2.15/32, 010.0.1.0/24,,".into(),
        }]);
        assert_eq!(
            groups["app"],
            BTreeSet::from([
                Reported::from_cloud("10.0.2.15"),
                Reported::from_cloud("10.0.1.0/24")
            ])
        );
    }

    #[test]
    fn weekdays_parse_in_any_order() {
        assert_eq!(
            parse_weekdays("Friday,Monday,Nonsense"),
            BTreeSet::from([Weekday::Monday, Weekday::Friday])
        );
    }
}
